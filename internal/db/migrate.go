package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Source is one owner's migrations: a folder of NNNN_name.sql files. Each
// file is one SQL text for both databases, in PostgreSQL's words; for SQLite
// the few types that differ are translated (Translate), and what cannot be
// translated (full-text search) goes in blocks for one engine only:
//
//	-- +sqlite
//	CREATE VIRTUAL TABLE ... USING fts5 (...);
//	-- +postgres
//	ALTER TABLE ... ADD COLUMN search tsvector ...;
//	-- +end
//
// Version numbers are one sequence across owners: a number is taken once.
// Steps are migrations written in Go, numbered in the same sequence: a
// schema that another library builds with its own migrator (river's, for
// package jobs), run in the same transaction as the SQL texts.
type Source struct {
	Owner string
	FS    fs.FS
	Steps []Step
}

// Step is a migration written in Go. Apply runs in the migration's
// transaction, under the migration lock, like a SQL text; it must leave
// the same schema whatever the engine's own words for it.
type Step struct {
	Version int
	Name    string
	Apply   func(ctx context.Context, d *DB, tx *sql.Tx) error
}

// Schema is every owner's migrations: what the database is built from.
type Schema []Source

// Migration is one schema change, ready for one engine: a SQL text, or a
// Step's Apply.
type Migration struct {
	Version int
	Name    string
	Owner   string
	SQL     string
	Apply   func(ctx context.Context, d *DB, tx *sql.Tx) error
}

// ErrSchemaTooNew means the database was migrated by a newer civico.
var ErrSchemaTooNew = errors.New("database schema is newer than this civico")

// Migrations lists the schema's migrations for an engine in version order.
func (s Schema) Migrations(d Dialect) ([]Migration, error) {
	var ms []Migration
	for _, src := range s {
		for _, st := range src.Steps {
			if st.Version <= 0 || st.Name == "" || st.Apply == nil {
				return nil, fmt.Errorf("step %d %q of %s: a step needs a positive version, a name and Apply", st.Version, st.Name, src.Owner)
			}
			ms = append(ms, Migration{Version: st.Version, Name: fmt.Sprintf("%04d_%s", st.Version, st.Name), Owner: src.Owner, Apply: st.Apply})
		}
		if src.FS == nil {
			continue
		}
		entries, err := fs.ReadDir(src.FS, ".")
		if err != nil {
			return nil, fmt.Errorf("migrations of %s: %w", src.Owner, err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".sql") {
				continue
			}
			num, _, ok := strings.Cut(name, "_")
			v, err := strconv.Atoi(num)
			if !ok || err != nil || v <= 0 {
				return nil, fmt.Errorf("migration %s of %s: the name must start with a positive version number and '_'", name, src.Owner)
			}
			body, err := fs.ReadFile(src.FS, name)
			if err != nil {
				return nil, err
			}
			text, err := Translate(string(body), d)
			if err != nil {
				return nil, fmt.Errorf("migration %s of %s: %w", name, src.Owner, err)
			}
			ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), Owner: src.Owner, SQL: text})
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("two migrations with version %d: %s of %s and %s of %s", ms[i].Version, ms[i-1].Name, ms[i-1].Owner, ms[i].Name, ms[i].Owner)
		}
	}
	return ms, nil
}

// sqliteTypes are the words PostgreSQL's text says differently from what
// civico's SQLite schema has always said: an identity column is SQLite's
// rowid alias, 64-bit integers are INTEGER, instants TIMESTAMP (which
// modernc's driver reads back as time.Time).
var sqliteTypes = strings.NewReplacer(
	"BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "INTEGER PRIMARY KEY",
	"BIGINT PRIMARY KEY", "INTEGER PRIMARY KEY",
	"TIMESTAMPTZ", "TIMESTAMP",
)

// Translate turns a migration's text into one engine's: it keeps the
// blocks for that engine, drops the other's, and for SQLite translates the
// types that differ.
func Translate(text string, d Dialect) (string, error) {
	var out strings.Builder
	keep, in := true, ""
	for line := range strings.SplitAfterSeq(text, "\n") {
		switch strings.TrimSpace(line) {
		case "-- +sqlite", "-- +postgres":
			// A block ends where the next begins, or at -- +end.
			in = strings.TrimPrefix(strings.TrimSpace(line), "-- +")
			keep = in == string(d)
			continue
		case "-- +end":
			if in == "" {
				return "", errors.New("-- +end without a block")
			}
			in, keep = "", true
			continue
		}
		if keep {
			out.WriteString(line)
		}
	}
	if in != "" {
		return "", fmt.Errorf("a %s block is not closed with -- +end", in)
	}
	if d == SQLite {
		return sqliteTypes.Replace(out.String()), nil
	}
	return out.String(), nil
}

// SchemaStatus reports the version the database is at and the newest version
// the schema knows. An empty database is at version 0.
func (d *DB) SchemaStatus(ctx context.Context, schema Schema) (current, known int, err error) {
	ms, err := schema.Migrations(d.Dialect)
	if err != nil {
		return 0, 0, err
	}
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	current, err = schemaVersion(ctx, d.read)
	return current, known, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		// A database without the bookkeeping table is an empty database.
		if isMissingTable(err) {
			return 0, nil
		}
		return 0, err
	}
	return int(v.Int64), nil
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "SQLSTATE 42P01")
}

// Migrate applies every pending migration in one transaction and returns the
// versions it applied. Several processes may call it at once: on PostgreSQL an
// advisory lock, on SQLite the write lock, lets one of them do the work.
func (d *DB) Migrate(ctx context.Context, schema Schema) ([]int, error) {
	ms, err := schema.Migrations(d.Dialect)
	if err != nil {
		return nil, err
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	var applied []int
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		if err := d.Hold(ctx, tx, LockMigrations); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at TIMESTAMP NOT NULL)`); err != nil {
			return err
		}
		current, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if current > known {
			return fmt.Errorf("%w: the database is at version %d, this civico knows up to %d; run a newer civico", ErrSchemaTooNew, current, known)
		}
		// Every known migration not yet applied runs, even one numbered
		// below the newest applied: branches developed side by side land in
		// any order.
		done := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				_ = rows.Close()
				return err
			}
			done[v] = true
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, m := range ms {
			if done[m.Version] {
				continue
			}
			if m.Apply != nil {
				err = m.Apply(ctx, d, tx)
			} else {
				_, err = tx.ExecContext(ctx, m.SQL)
			}
			if err != nil {
				return fmt.Errorf("migration %s of %s: %w", m.Name, m.Owner, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UTC()); err != nil {
				return err
			}
			applied = append(applied, m.Version)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return applied, nil
}
