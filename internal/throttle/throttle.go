// Package throttle keeps budgets of attempts in the database: login
// failures, one-time codes, mails sent, ratings. A request draws on one or
// more budgets at once; whether it may go ahead and the record that it did
// are one transaction, so requests racing in parallel, on any number of
// civico processes, cannot slip past a limit.
package throttle

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
)

// Rule is the policy of a budget. Within Window (counted from the first
// attempt), Free attempts go ahead at once; after them, with Backoff, each
// attempt waits 2^(n-Free) seconds after the previous one (at most
// MaxDelay), and without it the budget is spent until the window ends. At
// LockAt attempts the key is locked for LockFor. Zero LockAt never locks.
type Rule struct {
	Free     int
	Window   time.Duration
	Backoff  bool
	MaxDelay time.Duration
	LockAt   int
	LockFor  time.Duration
}

// Key is one budget a request draws on: its name ("login:pair:...") and its
// rule. A budget of a client is made by ClientKey, so that an IPv6 client
// draws on its /48's as well.
type Key struct {
	Name string
	Rule Rule
	// network is the name of the /48's budget an IPv6 client's key also
	// draws on ("" for any other key).
	network string
}

// Refused is returned when a budget is spent: Wait says how long until the
// next attempt may go ahead.
type Refused struct {
	Wait time.Duration
	// Key is the name of the budget that refused (for logs, never shown):
	// when it is a /48's, the name of the client key that drew on it.
	Key string
}

func (r *Refused) Error() string { return fmt.Sprintf("throttled for %s", r.Wait) }

// ErrRefused matches every *Refused with errors.Is.
var ErrRefused = errors.New("throttled")

func (r *Refused) Is(target error) bool { return target == ErrRefused }

// As reads a refusal as a problem.Throttled with its wait, so that a
// handler passing it to App.Fail answers 429 with Retry-After (a bare
// refusal was a 500 wherever the caller forgot to wrap it).
func (r *Refused) As(target any) bool {
	if p, ok := target.(**problem.Error); ok {
		*p = &problem.Error{Kind: problem.Throttled, Retry: r.Wait, Err: errors.New(r.Error())}
		return true
	}
	return false
}

// Limiter keeps the budgets.
type Limiter struct {
	DB  *db.DB
	Now func() time.Time
	// Key, when set, keys the stored names with HMAC-SHA256: a bare
	// SHA-256 of an IPv4 address or a mail address is reversed by trying
	// them all; without the installation's secret it is not.
	Key []byte
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

func (l *Limiter) hashKey(name string) string {
	if len(l.Key) > 0 {
		m := hmac.New(sha256.New, l.Key)
		m.Write([]byte(name))
		return hex.EncodeToString(m.Sum(nil))
	}
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

type state struct {
	count       int
	windowStart time.Time
	last        time.Time
	lockedUntil sql.NullTime
}

// wait is how long an attempt at now must wait under rule, given the state.
func (s state) wait(r Rule, now time.Time) time.Duration {
	if s.lockedUntil.Valid && now.Before(s.lockedUntil.Time) {
		return s.lockedUntil.Time.Sub(now)
	}
	if now.Sub(s.windowStart) >= r.Window || s.count < r.Free {
		return 0
	}
	if !r.Backoff {
		return s.windowStart.Add(r.Window).Sub(now)
	}
	delay := time.Duration(1<<min(s.count-r.Free, 20)) * time.Second
	if r.MaxDelay > 0 {
		delay = min(delay, r.MaxDelay)
	}
	return max(0, s.last.Add(delay).Sub(now))
}

// Take draws one attempt from every key (and the /48 budgets of IPv6
// clients' keys), in tx, or from none: when any must wait it returns a
// *Refused with the longest wait and records nothing. A nil tx runs it in
// a transaction of its own.
func (l *Limiter) Take(ctx context.Context, tx *sql.Tx, keys ...Key) error {
	if tx == nil {
		return l.DB.Tx(ctx, func(tx *sql.Tx) error { return l.Take(ctx, tx, keys...) })
	}
	keys, from := withNetworks(keys)
	now := l.now()
	states := make([]state, len(keys))
	var refused *Refused
	for i, k := range keys {
		s, err := l.load(ctx, tx, k, now)
		if err != nil {
			return err
		}
		states[i] = s
		if w := s.wait(k.Rule, now); w > 0 && (refused == nil || w > refused.Wait) {
			refused = &Refused{Wait: w, Key: keys[from[i]].Name}
		}
	}
	if refused != nil {
		return refused
	}
	for i, k := range keys {
		s := states[i]
		if now.Sub(s.windowStart) >= k.Rule.Window {
			s = state{windowStart: now}
		}
		s.count++
		s.last = now
		if k.Rule.LockAt > 0 && s.count >= k.Rule.LockAt {
			s.lockedUntil = sql.NullTime{Time: now.Add(k.Rule.LockFor), Valid: true}
		}
		if err := l.store(ctx, tx, k, s); err != nil {
			return err
		}
	}
	return nil
}

// load reads (and, on PostgreSQL, locks) a key's state; a key never seen
// gets a row first, so that two first attempts in parallel lock the same one.
func (l *Limiter) load(ctx context.Context, tx *sql.Tx, k Key, now time.Time) (state, error) {
	h := l.hashKey(k.Name)
	if _, err := tx.ExecContext(ctx, `INSERT INTO throttle (key_hash, count, window_start, last_at, expires_at) VALUES ($1, 0, $2, $2, $3)
		ON CONFLICT (key_hash) DO NOTHING`, h, now, now.Add(k.Rule.Window)); err != nil {
		return state{}, err
	}
	var s state
	err := tx.QueryRowContext(ctx, `SELECT count, window_start, last_at, locked_until FROM throttle WHERE key_hash = $1`+l.DB.ForUpdate(), h).
		Scan(&s.count, &s.windowStart, &s.last, &s.lockedUntil)
	return s, err
}

func (l *Limiter) store(ctx context.Context, tx *sql.Tx, k Key, s state) error {
	expires := s.windowStart.Add(k.Rule.Window)
	if s.lockedUntil.Valid && s.lockedUntil.Time.After(expires) {
		expires = s.lockedUntil.Time
	}
	_, err := tx.ExecContext(ctx, `UPDATE throttle SET count = $1, window_start = $2, last_at = $3, locked_until = $4, expires_at = $5 WHERE key_hash = $6`,
		s.count, s.windowStart, s.last, s.lockedUntil, expires, l.hashKey(k.Name))
	return err
}

// Give returns one attempt to each key (a login that succeeded was counted
// as a failure while its password was checked), and to the /48 budgets
// Take drew on with them: the count goes down by one, and a lock the
// returned attempt caused is lifted.
func (l *Limiter) Give(ctx context.Context, tx *sql.Tx, keys ...Key) error {
	keys, _ = withNetworks(keys)
	for _, k := range keys {
		var s state
		err := tx.QueryRowContext(ctx, `SELECT count, window_start, last_at, locked_until FROM throttle WHERE key_hash = $1`+l.DB.ForUpdate(), l.hashKey(k.Name)).
			Scan(&s.count, &s.windowStart, &s.last, &s.lockedUntil)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if s.count > 0 {
			s.count--
		}
		if k.Rule.LockAt > 0 && s.count < k.Rule.LockAt {
			s.lockedUntil = sql.NullTime{}
		}
		if err := l.store(ctx, tx, k, s); err != nil {
			return err
		}
	}
	return nil
}

// Reset forgets keys altogether (only those named: not a /48's budget).
func (l *Limiter) Reset(ctx context.Context, tx *sql.Tx, names ...string) error {
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `DELETE FROM throttle WHERE key_hash = $1`, l.hashKey(n)); err != nil {
			return err
		}
	}
	return nil
}

// Sweep deletes budgets whose window and lock are over; any process may run
// it.
func (l *Limiter) Sweep(ctx context.Context) error {
	_, err := l.DB.ExecContext(ctx, `DELETE FROM throttle WHERE expires_at < $1`, l.now())
	return err
}
