package identity

import (
	"context"
	"database/sql"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// process is one civico process's view of the identity tables: its own
// handle on the shared database and its own cache.
type process struct {
	store    *Store
	sessions *Sessions
	cache    *SessionCache
}

func newProcess(d *db.DB) *process {
	c := NewSessionCache(d, 100, time.Minute)
	c.HotFor = 300 * time.Millisecond
	return &process{store: &Store{DB: d, Cache: c}, sessions: &Sessions{DB: d, Idle: time.Hour, Absolute: 12 * time.Hour, Cache: c}, cache: c}
}

// cached waits until the process answers the token from its cache (its
// watcher has read the changes once, and the session has been kept).
func (p *process) cached(t *testing.T, token string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		hits, _ := p.cache.Stats()
		if _, _, err := p.sessions.LookupAccount(context.Background(), token); err != nil {
			t.Fatal(err)
		}
		if now, _ := p.cache.Stats(); now > hits {
			return
		}
	}
	t.Fatal("the session was never answered from the cache")
}

// eventually waits until ok holds for the process's lookup of token.
func eventually(t *testing.T, p *process, token, what string, ok func(*Account, error) bool) {
	t.Helper()
	var a *Account
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, a, err = p.sessions.LookupAccount(context.Background(), token); ok(a, err) {
			return
		}
	}
	t.Fatalf("%s: never seen (last: %+v, %v)", what, a, err)
}

// Two processes on one database, each with its own cache: a change made
// through one, or behind both (a command, the SQL prompt), reaches the
// other through identity_changes; the one that made it sees it at once.
func TestSessionCacheSeesEveryChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, _ *db.DB) {
		dialect := db.SQLite
		if strings.HasSuffix(t.Name(), "postgres") {
			dialect = db.Postgres
		}
		h := dbtest.Handles(t, dialect, 2)
		a, b := newProcess(h[0]), newProcess(h[1])
		ctx := context.Background()
		acc := &Account{Kind: "resident", Email: "cache@example.org", GivenName: "Anna"}
		var token string
		err := h[0].Tx(ctx, func(tx *sql.Tx) error {
			if err := a.store.insert(ctx, tx, acc); err != nil {
				return err
			}
			var err error
			token, err = a.sessions.Create(ctx, tx, acc.ID, assurance.Low, "password", "", "test")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		a.cached(t, token)
		b.cached(t, token)

		// What a lookup returns is the caller's own: changing it changes
		// nothing kept.
		_, got, err := a.sessions.LookupAccount(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		got.GivenName, got.Roles = "Mallory", append(got.Roles, "admin")
		if _, again, _ := a.sessions.LookupAccount(ctx, token); again.GivenName != "Anna" || len(again.Roles) != 0 {
			t.Fatalf("a caller's change reached the cache: %+v", again)
		}

		// A role granted through process a: a sees it at the next lookup,
		// b once its watcher has read the change.
		if err := h[0].Tx(ctx, func(tx *sql.Tx) error { return a.store.GrantRole(ctx, tx, acc.ID, "admin", "test") }); err != nil {
			t.Fatal(err)
		}
		if _, got, err := a.sessions.LookupAccount(ctx, token); err != nil || !slices.Contains(got.Roles, "admin") {
			t.Fatalf("the process that granted the role does not see it: %+v, %v", got, err)
		}
		eventually(t, b, token, "the role granted by the other process", func(got *Account, err error) bool {
			return err == nil && slices.Contains(got.Roles, "admin")
		})
		a.cached(t, token)
		b.cached(t, token)

		// A change at the SQL prompt, which no process made: both see it.
		if _, err := h[1].ExecContext(ctx, `UPDATE accounts SET given_name = 'Bice' WHERE id = $1`, acc.ID); err != nil {
			t.Fatal(err)
		}
		for _, p := range []*process{a, b} {
			eventually(t, p, token, "a name changed at the SQL prompt", func(got *Account, err error) bool { return err == nil && got.GivenName == "Bice" })
		}
		a.cached(t, token)
		b.cached(t, token)

		// Marking the session seen records no change: it would empty the
		// cache of every active person once a minute.
		var before, after int
		if err := h[0].QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_changes`).Scan(&before); err != nil {
			t.Fatal(err)
		}
		if _, err := h[0].ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1`, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if err := h[0].QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_changes`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("marking a session seen recorded %d changes", after-before)
		}

		// A logout through a: a knows at once, b soon after.
		if err := a.sessions.End(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.sessions.LookupAccount(ctx, token); !errors.Is(err, ErrNoSession) {
			t.Fatalf("the process that ended the session still answers it: %v", err)
		}
		eventually(t, b, token, "the logout through the other process", func(_ *Account, err error) bool { return errors.Is(err, ErrNoSession) })
	})
}

// A watcher that cannot read identity_changes turns the cache off: every
// lookup reads the database, so no change is missed meanwhile.
func TestSessionCacheOffWithoutItsWatcher(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newProcess(d)
		ctx := context.Background()
		acc := &Account{Kind: "resident", Email: "blind@example.org", GivenName: "Anna"}
		var token string
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if err := p.store.insert(ctx, tx, acc); err != nil {
				return err
			}
			var err error
			token, err = p.sessions.Create(ctx, tx, acc.ID, assurance.Low, "password", "", "test")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		p.cached(t, token)
		if _, err := d.ExecContext(ctx, `ALTER TABLE identity_changes RENAME TO identity_changes_away`); err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = d.ExecContext(ctx, `ALTER TABLE identity_changes_away RENAME TO identity_changes`) }()
		// Once the watcher has failed, nothing is served from memory.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			p.cache.mu.Lock()
			off := p.cache.freshUntil.IsZero()
			p.cache.mu.Unlock()
			if off {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the watcher's failure never turned the cache off")
			}
		}
		hits, _ := p.cache.Stats()
		// A change no trigger records now (the table is away): seen at
		// once all the same.
		if _, err := d.ExecContext(ctx, `DROP TRIGGER accounts_changed`+map[db.Dialect]string{db.Postgres: ` ON accounts`}[d.Dialect]); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `UPDATE accounts SET given_name = 'Bice' WHERE id = $1`, acc.ID); err != nil {
			t.Fatal(err)
		}
		if _, got, err := p.sessions.LookupAccount(ctx, token); err != nil || got.GivenName != "Bice" {
			t.Fatalf("with its watcher failing, the cache answered %+v, %v", got, err)
		}
		if now, _ := p.cache.Stats(); now != hits {
			t.Errorf("the cache answered %d lookups with its watcher failing", now-hits)
		}
	})
}

// A lookup that read the database before a change, and keeps what it read
// after the change reached the cache, keeps nothing: it could be the state
// before the change's commit.
func TestSessionCacheKeepsNothingReadAcrossAChange(t *testing.T) {
	c := NewSessionCache(nil, 10, time.Minute)
	c.freshUntil = time.Now().Add(time.Hour)
	se := &Session{Hash: "h", AccountID: "acc", ExpiresAt: time.Now().Add(time.Hour)}
	epoch := c.begin()
	c.Invalidate("other")
	c.put(epoch, se, &Account{ID: "acc"})
	if len(c.entries) != 0 {
		t.Fatal("a read that began before a change was kept")
	}
	// The account being changed is kept out while it is hot.
	c.Invalidate("acc")
	c.put(c.begin(), se, &Account{ID: "acc"})
	if len(c.entries) != 0 {
		t.Fatal("an account this process is changing was kept")
	}
	c.hot = nil
	c.put(c.begin(), se, &Account{ID: "acc"})
	if len(c.entries) != 1 {
		t.Fatal("a read with no change meanwhile was not kept")
	}
	// Full: one entry makes room for the next, never more than Size.
	for i := range 30 {
		c.put(c.begin(), &Session{Hash: strings.Repeat("x", i+1), AccountID: "acc"}, &Account{ID: "acc"})
	}
	if len(c.entries) != c.Size {
		t.Fatalf("%d entries kept, the bound is %d", len(c.entries), c.Size)
	}
	c.Invalidate("acc")
	if len(c.entries) != 0 || len(c.byAccount) != 0 {
		t.Fatalf("an account's invalidation left %d entries", len(c.entries))
	}
}

// writeSQL matches a statement that changes what the cache keeps.
var writeSQL = regexp.MustCompile(`(?i)(UPDATE|INSERT INTO|DELETE FROM)\s+(accounts|account_roles|sessions)\b`)

// Every function of the package that writes an account, its roles or its
// sessions tells this process's cache (Invalidate), so that the person
// sees the change at their next request; the triggers tell every process
// later. New rows are the exceptions: no session of theirs can be kept.
func TestEveryIdentityWriteInvalidates(t *testing.T) {
	exempt := map[string]string{
		"insert":        "a new account has no session yet",
		"ImportHistory": "historic accounts, which nobody can log in to",
		"Create":        "a new session is not kept until it is read",
		"live":          "ends a session it calls Invalidate for first",
		"SweepSignups":  "unconfirmed accounts, which cannot log in",
		"Sweep":         "sessions already past their time, which no lookup serves",
		"LookupAccount": "marks the session seen (no change for the cache)",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			writes, invalidates := false, false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if n.Kind == token.STRING && writeSQL.MatchString(n.Value) {
						writes = true
					}
				case *ast.SelectorExpr:
					if n.Sel.Name == "Invalidate" {
						invalidates = true
					}
				}
				return true
			})
			if !writes {
				continue
			}
			checked++
			if _, ok := exempt[fn.Name.Name]; !ok && !invalidates {
				t.Errorf("%s: %s writes an account, its roles or a session without SessionCache.Invalidate", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d writing functions found: the pattern no longer matches the package's statements", checked)
	}
}
