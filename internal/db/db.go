// Package db opens civico's one relational database: an embedded SQLite file by
// default, PostgreSQL when several processes share the load. Features write the
// same SQL text for both ($1 placeholders, RETURNING); the few differences in
// dialect live here.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// Dialect names the database engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Target is a parsed CIVICO_DATABASE_URL: which engine, and where.
type Target struct {
	Dialect Dialect
	// Path is the SQLite file (SQLite only).
	Path string
	// URL is the PostgreSQL connection string (PostgreSQL only).
	URL string
}

// ErrBadURL is returned by ParseURL for a value civico cannot use.
var ErrBadURL = errors.New("unsupported database URL")

// ParseURL reads a CIVICO_DATABASE_URL value: empty means the SQLite file
// civico.db in dataDir, "sqlite:PATH" a SQLite file, "postgres://" or
// "postgresql://" a PostgreSQL server.
func ParseURL(raw, dataDir string) (Target, error) {
	switch {
	case raw == "":
		return Target{Dialect: SQLite, Path: filepath.Join(dataDir, "civico.db")}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(raw, "sqlite:")
		p = strings.TrimPrefix(p, "//")
		if p == "" || strings.ContainsAny(p, "?#") {
			return Target{}, fmt.Errorf("%w: sqlite:PATH needs a file path without '?' or '#'", ErrBadURL)
		}
		return Target{Dialect: SQLite, Path: p}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return Target{Dialect: Postgres, URL: raw}, nil
	default:
		return Target{}, fmt.Errorf("%w: use sqlite:PATH or a postgres:// URL", ErrBadURL)
	}
}

// DB is the database handle every feature receives. On SQLite, writes go
// through a single connection (so concurrent writers queue in Go instead of
// failing with "database is locked") and reads through a pool of read-only
// connections, every connection keeping its statements prepared
// (stmtcache.go); on PostgreSQL both are the same pool, and pgx keeps the
// statements prepared.
type DB struct {
	Dialect Dialect
	read    *sql.DB
	write   *sql.DB
	target  Target
	// batch is the queue of Batch's calls (SQLite).
	batch batcher

	// listen is the pgx pool of river's LISTEN connections (PostgreSQL),
	// opened by the first call to River.
	listenOnce sync.Once
	listen     *pgxpool.Pool
	listenErr  error

	// done is closed by Close (Done).
	doneOnce, closeOnce sync.Once
	done                chan struct{}
}

// Done is closed when the handle is closed: what a goroutine that lives
// as long as the handle (identity's watcher of changed sessions) waits for.
func (d *DB) Done() <-chan struct{} {
	d.doneOnce.Do(func() { d.done = make(chan struct{}) })
	return d.done
}

// Open connects to the target and checks that it answers. It does not migrate.
func Open(ctx context.Context, t Target) (*DB, error) {
	switch t.Dialect {
	case SQLite:
		return openSQLite(ctx, t)
	case Postgres:
		return openPostgres(ctx, t)
	}
	return nil, fmt.Errorf("%w: unknown dialect %q", ErrBadURL, t.Dialect)
}

// sqlitePragmas are set on every connection. synchronous=FULL: a commit the
// server acknowledged survives a crash of the machine, not only of the process.
// temp_store=MEMORY: temporary b-trees (a sort, a DISTINCT) and the
// sub-journal of each savepoint (Batch runs every call in one) stay in
// memory instead of a temporary file written page by page.
// mmap_size: the database file is read through a shared memory map, not
// copied by a system call into each connection's own page cache. Under load
// the readers' 2 MB caches could not hold a town's applications: every
// visit read its pages again, a pread each (see the README's figures).
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_pragma=temp_store(2)" +
	"&_pragma=mmap_size(1073741824)"

func openSQLite(ctx context.Context, t Target) (*DB, error) {
	if dir := filepath.Dir(t.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create the directory of the database file: %w", err)
		}
	}
	// BEGIN IMMEDIATE takes the write lock at the start of a transaction, so a
	// transaction never fails half-way when it first writes.
	drv, err := sqliteDriver()
	if err != nil {
		return nil, err
	}
	w := sql.OpenDB(cachingConnector{drv: drv, dsn: "file:" + t.Path + "?" + sqlitePragmas + "&_txlock=immediate", size: stmtCacheSize})
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", t.Path, err)
	}
	r := sql.OpenDB(cachingConnector{drv: drv, dsn: "file:" + t.Path + "?" + sqlitePragmas + "&_pragma=query_only(1)", size: stmtCacheSize})
	n := max(4, 2*runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{Dialect: SQLite, read: r, write: w, target: t}, nil
}

func openPostgres(ctx context.Context, t Target) (*DB, error) {
	p, err := sql.Open("pgx", t.URL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL URL: %w", err)
	}
	p.SetMaxOpenConns(max(8, 4*runtime.NumCPU()))
	p.SetMaxIdleConns(max(8, 4*runtime.NumCPU()))
	p.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.PingContext(pctx); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL: %w", err)
	}
	return &DB{Dialect: Postgres, read: p, write: p, target: t}, nil
}

// Close releases every connection.
func (d *DB) Close() error {
	d.Done()
	d.closeOnce.Do(func() { close(d.done) })
	err := d.write.Close()
	if d.listen != nil {
		d.listen.Close()
	}
	if d.read != d.write {
		err = errors.Join(err, d.read.Close())
	}
	return err
}

// Ping checks that reads and writes can reach the database.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.read.PingContext(ctx); err != nil {
		return err
	}
	return d.write.PingContext(ctx)
}

// QueryContext runs a read-only query.
func (d *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	defer counted(ctx, time.Now())
	return d.read.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a read-only query that returns at most one row.
func (d *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	defer counted(ctx, time.Now())
	return d.read.QueryRowContext(ctx, query, args...)
}

// ExecContext runs one write statement in its own transaction.
func (d *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer counted(ctx, time.Now())
	return d.write.ExecContext(ctx, query, args...)
}

// Tx runs fn in a write transaction, committed when fn returns nil and rolled
// back otherwise. The commit has happened when Tx returns nil: only then may a
// handler tell the user that their action succeeded.
func (d *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer counted(ctx, time.Now())
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// A panic in fn undoes the transaction and frees its connection (the
	// only writer, on SQLite) before it goes on up.
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Describe names the database for logs and messages, without credentials.
func (d *DB) Describe() string {
	if d.Dialect == SQLite {
		return "SQLite " + d.target.Path
	}
	return "PostgreSQL " + redact(d.target.URL)
}

// redact drops the password from a PostgreSQL URL, in its user part and in
// the query parameters pgx also reads.
func redact(u string) string {
	if base, query, ok := strings.Cut(u, "?"); ok {
		var kept []string
		for _, kv := range strings.Split(query, "&") {
			k, _, _ := strings.Cut(kv, "=")
			if k == "password" || k == "sslpassword" {
				kv = k + "=xxxxx"
			}
			kept = append(kept, kv)
		}
		u = base + "?" + strings.Join(kept, "&")
	}
	return redactUser(u)
}

func redactUser(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "(unparsable URL)"
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return u
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + "@" + rest[at+1:]
}

// NowMillis is an SQL expression of the database's clock in milliseconds
// since 1970, as identity's triggers record changes with it, so that a
// reader compares them with the same clock. On PostgreSQL it is the
// statement's start (statement_timestamp), one value for the whole
// statement, so that a condition on it can use an index (clock_timestamp
// is read again at every row: a watcher's reading was a scan of the
// table, 113 ms on 100,000 rows against 0.16 ms).
func (d *DB) NowMillis() string {
	if d.Dialect == Postgres {
		return `(extract(epoch FROM statement_timestamp()) * 1000)::bigint`
	}
	return `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
}

// ForShare is the clause that locks the rows a SELECT reads against
// writers (not against other sharers) until the transaction ends: " FOR
// SHARE" on PostgreSQL, nothing on SQLite, whose write transaction already
// holds the only write lock.
func (d *DB) ForShare() string {
	if d.Dialect == Postgres {
		return " FOR SHARE"
	}
	return ""
}

// ForUpdate is the clause that locks the rows a SELECT reads inside a
// transaction until it ends: " FOR UPDATE" on PostgreSQL. SQLite needs none:
// a write transaction (BEGIN IMMEDIATE) already holds the only write lock.
func (d *DB) ForUpdate() string {
	if d.Dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// InList appends values to args and returns the list of their placeholders
// for an IN clause, "($3, $4, $5)" after two args: a query's variable list,
// bound as parameters, never spliced into the text.
func InList[T any](args []any, values []T) (string, []any) {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, v)
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(len(args)))
	}
	b.WriteByte(')')
	return b.String(), args
}

// Analyze brings the planner's statistics of a table up to date after a
// bulk load, as a live database has them: on PostgreSQL a VACUUM ANALYZE
// (what autovacuum would do, and the visibility map that lets a count read
// an index alone); on SQLite nothing, since civico never analyzes a SQLite
// database (its planner works from its rules, and with statistics it
// would prepare again every statement whose bound values might change its
// plan: a tenth of a list page's time, measured).
func (d *DB) Analyze(ctx context.Context, table string) error {
	for _, c := range table {
		if (c < 'a' || c > 'z') && c != '_' && (c < '0' || c > '9') {
			return fmt.Errorf("db: analyze: %q is not a table name", table)
		}
	}
	if d.Dialect != Postgres {
		return nil
	}
	_, err := d.ExecContext(ctx, `VACUUM ANALYZE `+table) // #nosec G202 -- table is checked above: lower-case letters, digits and underscores
	return err
}
