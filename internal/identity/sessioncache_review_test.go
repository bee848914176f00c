package identity

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// lateSetup makes an operator with the "admin" role and a session, and
// two processes a and b on the same database, both answering the session
// from their caches.
func lateSetup(t *testing.T, h []*db.DB) (a, b *process, acc *Account, token string) {
	t.Helper()
	a, b = newProcess(h[0]), newProcess(h[1])
	ctx := context.Background()
	acc = &Account{Kind: "operator", Email: "rev@example.org", GivenName: "Anna"}
	err := h[0].Tx(ctx, func(tx *sql.Tx) error {
		if err := a.store.insert(ctx, tx, acc); err != nil {
			return err
		}
		if err := a.store.GrantRole(ctx, tx, acc.ID, "admin", "test"); err != nil {
			return err
		}
		var err error
		token, err = a.sessions.Create(ctx, tx, acc.ID, assurance.Low, "password+totp", "", "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Past a's HotFor (the grant above).
	time.Sleep(400 * time.Millisecond)
	a.cached(t, token)
	b.cached(t, token)
	return a, b, acc, token
}

// PostgreSQL: a transaction that commits more than Window after its change
// (a lock wait on the audit chain, a paused process...), while a later
// change committed first, is seen all the same: its rows take their seq at
// the commit (deferred triggers). Before, they were behind every watcher's
// cursor and out of its window, and the revoked role was served until the
// entry's TTL (outside review).
func TestSessionCacheSeesALateCommit(t *testing.T) {
	h := dbtest.Handles(t, db.Postgres, 2)
	a, b, acc, token := lateSetup(t, h)
	ctx := context.Background()

	// "Process c" revokes the role and ends the session, then waits
	// (e.g. for db.LockAudit) before committing.
	started, release, done := make(chan error, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- h[0].Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM account_roles WHERE account_id = $1`, acc.ID); err != nil {
				started <- err
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1`, acc.ID); err != nil {
				started <- err
				return err
			}
			started <- nil
			<-release
			return nil
		})
	}()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	// Meanwhile anybody's ordinary change commits (a login, a profile
	// edit): its higher seq moves every watcher's cursor past c's rows.
	other := &Account{Kind: "resident", Email: "other@example.org"}
	if err := h[1].Tx(ctx, func(tx *sql.Tx) error { return a.store.insert(ctx, tx, other) }); err != nil {
		t.Fatal(err)
	}
	if _, err := h[1].ExecContext(ctx, `UPDATE accounts SET given_name = 'X' WHERE id = $1`, other.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(b.cache.Window + time.Second)
	// Both processes still answer the (uncommitted) old state from memory,
	// as they should.
	a.cached(t, token)
	b.cached(t, token)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, p := range []*process{a, b} {
		eventually(t, p, token, "the session ended by a late commit", func(_ *Account, err error) bool { return errors.Is(err, ErrNoSession) })
	}
}

// PostgreSQL: TRUNCATE (the SQL prompt's "log everybody out") fires no
// row trigger; a statement trigger records it for every account, and every
// process empties its cache (before, each served every session it kept
// until its TTL).
func TestSessionCacheSeesATruncate(t *testing.T) {
	h := dbtest.Handles(t, db.Postgres, 2)
	a, b, _, token := lateSetup(t, h)
	ctx := context.Background()
	if _, err := h[1].ExecContext(ctx, `TRUNCATE sessions`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*process{a, b} {
		eventually(t, p, token, "the sessions TRUNCATE removed", func(_ *Account, err error) bool { return errors.Is(err, ErrNoSession) })
	}
}
