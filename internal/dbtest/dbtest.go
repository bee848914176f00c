// Package dbtest gives each test a fresh, migrated database: a SQLite file
// always, and a PostgreSQL schema of its own when CIVICO_TEST_POSTGRES_URL is
// set, so one suite proves the same behaviour on both engines.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/jobs"
)

// PostgresEnv names the variable holding the PostgreSQL server for tests.
const PostgresEnv = "CIVICO_TEST_POSTGRES_URL"

// SkipMessage is what a skipped PostgreSQL run says; CI fails when it sees it.
const SkipMessage = "PostgreSQL runs skipped: set " + PostgresEnv + " to run them"

// Each runs fn as a subtest on every available engine, each with a fresh,
// migrated database that is removed when the subtest ends.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// EachB is Each for a benchmark: fn as a sub-benchmark on every available
// engine, each with a fresh, migrated database.
func EachB(b *testing.B, fn func(b *testing.B, d *db.DB)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) { fn(b, SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, Postgres(b)) })
}

// SQLite returns a migrated database in a new file under t.TempDir().
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	return open(t, db.Target{Dialect: db.SQLite, Path: filepath.Join(t.TempDir(), "civico.db")})
}

// Postgres returns a migrated database in a new schema of the server named by
// CIVICO_TEST_POSTGRES_URL, dropped at the end of the test; it skips the test
// when the variable is unset.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	return open(t, postgresTarget(t))
}

// Handles opens one fresh, migrated database n times, as n processes sharing
// it would: on SQLite one file, on PostgreSQL one schema.
func Handles(t testing.TB, dialect db.Dialect, n int) []*db.DB {
	t.Helper()
	var target db.Target
	if dialect == db.SQLite {
		target = db.Target{Dialect: db.SQLite, Path: filepath.Join(t.TempDir(), "civico.db")}
	} else {
		target = postgresTarget(t)
	}
	out := make([]*db.DB, n)
	for i := range out {
		out[i] = open(t, target)
	}
	return out
}

// postgresTarget creates a schema for the test, dropped at its end.
func postgresTarget(t testing.TB) db.Target {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(SkipMessage)
	}
	schema := "t_" + randomHex(8)
	admin, err := db.Open(context.Background(), db.Target{Dialect: db.Postgres, URL: base})
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	if _, err := admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
		_ = admin.Close()
	})
	return db.Target{Dialect: db.Postgres, URL: WithSearchPath(t, base, schema)}
}

// WithSearchPath returns the PostgreSQL URL with its search_path set to schema.
func WithSearchPath(t testing.TB, raw, schema string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t testing.TB, target db.Target) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), target)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(context.Background(), Schema(t)); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return d
}

// Schema is every migration in the source tree: each package's
// migrations folder (internal/*/migrations), read from disk, and the
// steps written in Go (river's schema, package jobs). The binary
// builds its schema from cmd/civico's explicit list of features instead;
// a test there checks that the two are the same, so a feature missing from
// the list fails it.
func Schema(t testing.TB) db.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		_, self, _, ok := runtime.Caller(0)
		if !ok {
			schemaErr = errors.New("dbtest: cannot find the source tree")
			return
		}
		dirs, err := filepath.Glob(filepath.Join(filepath.Dir(self), "..", "*", "migrations"))
		if err != nil {
			schemaErr = err
			return
		}
		for _, dir := range dirs {
			schema = append(schema, db.Source{Owner: filepath.Base(filepath.Dir(dir)), FS: os.DirFS(dir)})
		}
		schema = append(schema, db.Source{Owner: "jobs", Steps: jobs.Migrations})
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schema
}

var (
	schemaOnce sync.Once
	schema     db.Schema
	schemaErr  error
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
