package identity

import (
	"context"
	"database/sql"
	"errors"
	"time"

	tokens "github.com/civico-pa/civico/internal/token"
)

// Purposes of single-use tokens sent by mail, and how long each lives.
const (
	PurposeVerify = "verify"
	PurposeReset  = "reset"
	PurposeTOTP   = "totp"
	PurposeLink   = "link"
	// PurposeEmail moves an account to a new address: the token's row
	// holds the address (RequestEmailChange).
	PurposeEmail = "email"
)

// MailEvery is the least time between two mails of one kind that
// strangers' forms may send to one address: a reset link lives this long
// and a second ask while it lives sends nothing, so at most two such mails
// an hour reach an address, whoever asks. The news subscription's
// confirmation keeps the same pace.
const MailEvery = 30 * time.Minute

var tokenTTL = map[string]time.Duration{
	PurposeVerify: 48 * time.Hour,
	PurposeReset:  MailEvery,
	PurposeLink:   MailEvery,
	PurposeTOTP:   5 * time.Minute,
	PurposeEmail:  2 * time.Hour,
}

// NewToken creates a single-use token for the account in tx; the caller
// mails it. Earlier unused tokens of the same purpose stop working.
func (s *Store) NewToken(ctx context.Context, tx *sql.Tx, accountID, purpose string) (string, error) {
	ttl, ok := tokenTTL[purpose]
	if !ok {
		return "", errors.New("unknown token purpose " + purpose)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE account_id = $1 AND purpose = $2`, accountID, purpose); err != nil {
		return "", err
	}
	token, hash := tokens.New()
	_, err := tx.ExecContext(ctx, `INSERT INTO account_tokens (hash, account_id, purpose, expires_at) VALUES ($1, $2, $3, $4)`,
		hash, accountID, purpose, s.now().Add(ttl))
	return token, err
}

// UseToken consumes a token in tx and returns its account: one statement
// marks it used, so two clicks racing on one link cannot both succeed.
func (s *Store) UseToken(ctx context.Context, tx *sql.Tx, token, purpose string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", ErrTokenInvalid
	}
	now := s.now()
	var id string
	err := tx.QueryRowContext(ctx, `UPDATE account_tokens SET used_at = $1
		WHERE hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 RETURNING account_id`,
		now, tokens.Hash(token), purpose).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrTokenInvalid
	}
	return id, err
}

// hasLiveToken reports whether the account has an unused token of purpose
// still in time: a reset link is kept until it is used or expires, and a
// second request sends nothing new (so nobody can kill a resident's link,
// or fill their mailbox, by asking again and again).
func (s *Store) hasLiveToken(ctx context.Context, tx *sql.Tx, accountID, purpose string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_tokens WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3`,
		accountID, purpose, s.now()).Scan(&n)
	return n > 0, err
}

// PeekToken returns the account of a live token without using it: a page
// can say at once that a link is dead, and expensive work (a password
// hash) is done only for a live one.
func (s *Store) PeekToken(ctx context.Context, token, purpose string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", ErrTokenInvalid
	}
	var id string
	err := s.DB.QueryRowContext(ctx, `SELECT account_id FROM account_tokens WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3`,
		tokens.Hash(token), purpose, s.now()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrTokenInvalid
	}
	return id, err
}

// FailToken counts a wrong answer given with a token (a one-time code
// against a pending login); at limit wrong answers the token is spent.
func (s *Store) FailToken(ctx context.Context, tx *sql.Tx, token string, limit int) error {
	_, err := tx.ExecContext(ctx, `UPDATE account_tokens SET attempts = attempts + 1,
		used_at = CASE WHEN attempts + 1 >= $1 THEN $2 ELSE used_at END WHERE hash = $3`, limit, s.now(), tokens.Hash(token))
	return err
}

// dropPasswordTokens removes, in tx, the links a new password voids: a
// reset, a linking link asked with the old password, and a change of
// address, which asked for the old password too (outside review: a
// session stolen with the password could ask to move the account to the
// thief's address, and confirm it after the owner changed the password,
// since the confirmation needs no session).
func (s *Store) dropPasswordTokens(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE account_id = $1 AND purpose IN ($2, $3, $4)`, id, PurposeReset, PurposeLink, PurposeEmail)
	return err
}
