package identity

import (
	"context"
	"database/sql"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// Throttle slows down and then stops password guessing, per account name and
// per client address. It keys on the name typed, whether or not an account
// has it, so its answers reveal nothing about which accounts exist.
type Throttle struct {
	DB  *db.DB
	Now func() time.Time
}

// The policy: the window failures are counted in; after FreeAttempts
// failures each new attempt must wait 2^(n-FreeAttempts) seconds after the
// last failure (capped at MaxDelay); at LockAt failures the key is locked
// until the window has passed since the last failure.
type throttlePolicy struct {
	FreeAttempts, LockAt int
}

const (
	failureWindow = 15 * time.Minute
	maxDelay      = 5 * time.Minute
)

var (
	accountPolicy = throttlePolicy{FreeAttempts: 3, LockAt: 10}
	addressPolicy = throttlePolicy{FreeAttempts: 20, LockAt: 100}
)

func (t *Throttle) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

func accountKey(email string) string { return "account:" + NormalizeEmail(email) }
func addressKey(addr string) string  { return "address:" + addr }

// Wait returns how long the caller must wait before trying again: zero if an
// attempt is allowed now.
func (t *Throttle) Wait(ctx context.Context, email, addr string) (time.Duration, error) {
	var wait time.Duration
	for _, k := range []struct {
		key    string
		policy throttlePolicy
	}{{accountKey(email), accountPolicy}, {addressKey(addr), addressPolicy}} {
		if k.key == "address:" {
			continue
		}
		w, err := t.waitFor(ctx, k.key, k.policy)
		if err != nil {
			return 0, err
		}
		wait = max(wait, w)
	}
	return wait, nil
}

func (t *Throttle) waitFor(ctx context.Context, key string, p throttlePolicy) (time.Duration, error) {
	now := t.now()
	since := now.Add(-failureWindow)
	var n int
	if err := t.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at > $2`, key, since).Scan(&n); err != nil || n == 0 {
		return 0, err
	}
	// The latest failure read as a column, not through MAX(), keeps its
	// timestamp type on SQLite.
	var last sql.NullTime
	if err := t.DB.QueryRowContext(ctx, `SELECT at FROM login_failures WHERE key = $1 ORDER BY at DESC LIMIT 1`, key).Scan(&last); err != nil || !last.Valid {
		return 0, err
	}
	var until time.Time
	switch {
	case n >= p.LockAt:
		until = last.Time.Add(failureWindow)
	case n >= p.FreeAttempts:
		until = last.Time.Add(min(maxDelay, time.Duration(1<<min(n-p.FreeAttempts, 20))*time.Second))
	default:
		return 0, nil
	}
	if w := until.Sub(now); w > 0 {
		return w, nil
	}
	return 0, nil
}

// Fail records a failed attempt.
func (t *Throttle) Fail(ctx context.Context, email, addr string) error {
	now := t.now()
	return t.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, key := range []string{accountKey(email), addressKey(addr)} {
			if key == "address:" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $2)`, key, now); err != nil {
				return err
			}
		}
		// Forget what is older than the window, so the table stays small.
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at < $1`, now.Add(-failureWindow))
		return err
	})
}

// Succeed forgets the account's failures after a successful login.
func (t *Throttle) Succeed(ctx context.Context, tx *sql.Tx, email string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, accountKey(email))
	return err
}
