package identity

import (
	"context"
	"database/sql"
	"errors"
	"time"

	tokens "github.com/civico-pa/civico/internal/token"
)

// DeviceCookie names the browsers where a resident logged in: the lockout
// that strangers' wrong passwords cause on an account does not reach its
// owner there.
const DeviceCookie = "civico_device"

const (
	deviceTTL        = 180 * 24 * time.Hour
	devicesPerPerson = 20
)

// trustedDevice reports whether the browser's device token belongs to the
// account with this address.
func (s *Service) trustedDevice(ctx context.Context, token, email string) bool {
	if token == "" || len(token) > 100 || email == "" {
		return false
	}
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM trusted_devices d JOIN accounts a ON a.id = d.account_id
		WHERE d.hash = $1 AND a.email = $2 AND d.expires_at > $3`, tokens.Hash(token), email, s.now()).Scan(&n)
	return err == nil && n > 0
}

// trustDevice gives the browser a new device token for the account in tx
// (replacing the one it had), keeping the newest few per account.
func (s *Service) trustDevice(ctx context.Context, tx *sql.Tx, accountID, old string) (string, error) {
	if old != "" && len(old) <= 100 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM trusted_devices WHERE hash = $1`, tokens.Hash(old)); err != nil {
			return "", err
		}
	}
	token, hash := tokens.New()
	now := s.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO trusted_devices (hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, accountID, now, now.Add(deviceTTL)); err != nil {
		return "", err
	}
	// The oldest beyond the newest few go: a bounded list per account.
	var cutoff time.Time
	err := tx.QueryRowContext(ctx, `SELECT created_at FROM trusted_devices WHERE account_id = $1 ORDER BY created_at DESC LIMIT 1 OFFSET $2`,
		accountID, devicesPerPerson).Scan(&cutoff)
	if errors.Is(err, sql.ErrNoRows) {
		return token, nil
	}
	if err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM trusted_devices WHERE account_id = $1 AND created_at <= $2`, accountID, cutoff)
	return token, err
}
