package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw     string
		dialect db.Dialect
		path    string
		bad     bool
	}{
		{raw: "", dialect: db.SQLite, path: filepath.Join("data", "civico.db")},
		{raw: "sqlite:/var/lib/civico/x.db", dialect: db.SQLite, path: "/var/lib/civico/x.db"},
		{raw: "sqlite:rel.db", dialect: db.SQLite, path: "rel.db"},
		{raw: "postgres://u@h/db", dialect: db.Postgres},
		{raw: "postgresql://u@h/db", dialect: db.Postgres},
		{raw: "mysql://u@h/db", bad: true},
		{raw: "sqlite:", bad: true},
		{raw: "sqlite:x.db?mode=ro", bad: true},
		{raw: "civico.db", bad: true},
	}
	for _, tt := range tests {
		got, err := db.ParseURL(tt.raw, "data")
		if tt.bad {
			if !errors.Is(err, db.ErrBadURL) {
				t.Errorf("ParseURL(%q) error = %v, want ErrBadURL", tt.raw, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.raw, err)
			continue
		}
		if got.Dialect != tt.dialect || got.Path != tt.path {
			t.Errorf("ParseURL(%q) = %+v, want dialect %s path %q", tt.raw, got, tt.dialect, tt.path)
		}
	}
}

// Translate keeps one engine's blocks, drops the other's, and turns
// PostgreSQL's words into SQLite's; a malformed block is an error.
func TestTranslate(t *testing.T) {
	text := "CREATE TABLE x (\n    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    at TIMESTAMPTZ NOT NULL\n);\n-- +sqlite\nCREATE VIRTUAL TABLE f USING fts5(a);\n-- +postgres\nCREATE INDEX g ON x USING GIN (a);\n-- +end\nSELECT 1;\n"
	lite, err := db.Translate(text, db.SQLite)
	if err != nil || lite != "CREATE TABLE x (\n    id INTEGER PRIMARY KEY,\n    at TIMESTAMP NOT NULL\n);\nCREATE VIRTUAL TABLE f USING fts5(a);\nSELECT 1;\n" {
		t.Errorf("SQLite: %v\n%s", err, lite)
	}
	pg, err := db.Translate(text, db.Postgres)
	if err != nil || pg != "CREATE TABLE x (\n    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    at TIMESTAMPTZ NOT NULL\n);\nCREATE INDEX g ON x USING GIN (a);\nSELECT 1;\n" {
		t.Errorf("PostgreSQL: %v\n%s", err, pg)
	}
	for _, bad := range []string{"-- +sqlite\nx\n", "-- +end\n", "-- +sqlite\n-- +postgres\n"} {
		if _, err := db.Translate(bad, db.SQLite); err == nil {
			t.Errorf("Translate(%q) accepted", bad)
		}
	}
}

// The schema refuses two migrations with one version, even from two owners.
func TestSchemaRefusesADuplicateVersion(t *testing.T) {
	a := fstest.MapFS{"0001_a.sql": {Data: []byte("SELECT 1;")}}
	b := fstest.MapFS{"0001_b.sql": {Data: []byte("SELECT 2;")}}
	if _, err := (db.Schema{{Owner: "a", FS: a}, {Owner: "b", FS: b}}).Migrations(db.SQLite); err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("two owners with version 1: %v", err)
	}
}

func TestMigrateIsIdempotentAndVersioned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		current, known, err := d.SchemaStatus(ctx, dbtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		if current != known || known == 0 {
			t.Fatalf("after migration: current %d, known %d", current, known)
		}
		applied, err := d.Migrate(ctx, dbtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Errorf("second migration applied %v, want nothing", applied)
		}
	})
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			9999, "9999_future", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		_, err := d.Migrate(ctx, dbtest.Schema(t))
		if !errors.Is(err, db.ErrSchemaTooNew) {
			t.Fatalf("Migrate on a newer schema: %v, want ErrSchemaTooNew", err)
		}
		current, known, err := d.SchemaStatus(ctx, dbtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		if current != 9999 || known >= current {
			t.Errorf("SchemaStatus = %d, %d", current, known)
		}
	})
}

// Concurrent writers must queue, never fail with "database is locked".
func TestConcurrentWritesAllCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const writers, each = 16, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := d.Tx(ctx, func(tx *sql.Tx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO page_feedback (path, rating, reason, comment, lang, created_at)
							VALUES ($1, $2, $3, $4, $5, $6)`, fmt.Sprintf("/w%d/%d", w, i), 3, "", "", "it", time.Now().UTC())
						return err
					})
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent write: %v", err)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM page_feedback`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != writers*each {
			t.Errorf("%d rows, want %d", n, writers*each)
		}
	})
}

func TestTxRollsBackOnError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO page_feedback (path, rating, reason, comment, lang, created_at)
				VALUES ($1, 1, '', '', 'it', $2)`, "/x", time.Now().UTC()); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx error = %v", err)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM page_feedback`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("rolled-back insert left %d rows", n)
		}
	})
}

func TestBackupWhileWriting(t *testing.T) {
	d := dbtest.SQLite(t) // civico backup copies SQLite; PostgreSQL is pg_dump's (TestPostgresBackupRefused)
	ctx := context.Background()
	for i := range 50 {
		if _, err := d.ExecContext(ctx, `INSERT INTO page_feedback (path, rating, reason, comment, lang, created_at)
			VALUES ($1, 2, '', '', 'it', $2)`, fmt.Sprintf("/p%d", i), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "copy.db")
	if err := d.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := d.Backup(ctx, out); err == nil {
		t.Error("a second backup over an existing file succeeded")
	}
	c, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: out})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var n int
	var check string
	if err := c.QueryRowContext(ctx, `SELECT COUNT(*) FROM page_feedback`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		t.Fatal(err)
	}
	if n != 50 || check != "ok" {
		t.Errorf("backup has %d rows, integrity %q", n, check)
	}
}

func TestPostgresBackupRefused(t *testing.T) {
	d := dbtest.Postgres(t)
	if err := d.Backup(context.Background(), filepath.Join(t.TempDir(), "x")); !errors.Is(err, db.ErrBackupPostgres) {
		t.Errorf("Backup on PostgreSQL: %v", err)
	}
}

// A migration numbered below the newest applied one (it landed later) still
// runs.
func TestMigrateAppliesAMissingLowerVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ms, err := dbtest.Schema(t).Migrations(d.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		first := ms[0]
		if _, err := d.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = $1`, first.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `DROP TABLE page_feedback`); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `DROP TABLE town_profile`); err != nil {
			t.Fatal(err)
		}
		applied, err := d.Migrate(ctx, dbtest.Schema(t))
		if err != nil || len(applied) != 1 || applied[0] != first.Version {
			t.Fatalf("Migrate = %v, %v; want the missing version %d", applied, err, first.Version)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM page_feedback`).Scan(&n); err != nil {
			t.Errorf("the missing migration's table: %v", err)
		}
	})
}

func TestInList(t *testing.T) {
	in, args := db.InList([]any{"a", "b"}, []string{"x", "y", "z"})
	if in != "($3, $4, $5)" || len(args) != 5 || args[2] != "x" || args[4] != "z" {
		t.Errorf("InList = %q %v", in, args)
	}
	if in, args = db.InList(nil, []int{7}); in != "($1)" || len(args) != 1 || args[0] != 7 {
		t.Errorf("InList of one = %q %v", in, args)
	}
}

// A statement run in write transactions, again and again, works the same
// on both databases; on PostgreSQL pgx keeps it prepared on the
// connection (its statement cache), which the SQLite cache must not
// disturb.
func TestTxStatementsStayPrepared(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.ExecContext(ctx, `CREATE TABLE stmt_probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		const ins = `INSERT INTO stmt_probe (id, v) VALUES ($1, $2)`
		for i := range 5 {
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, ins, i, "x"); err != nil {
					return err
				}
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM stmt_probe WHERE v = $1`, "x").Scan(&n); err != nil {
					return err
				}
				if n != i+1 {
					return fmt.Errorf("count %d, want %d", n, i+1)
				}
				if d.Dialect != db.Postgres {
					return nil
				}
				var prepared int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pg_prepared_statements WHERE statement = $1`, ins).Scan(&prepared); err != nil {
					return err
				}
				if prepared != 1 {
					return fmt.Errorf("the insert is prepared %d times on the transaction's connection, want 1", prepared)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
