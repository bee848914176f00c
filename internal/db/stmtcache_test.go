package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// countingDriver wraps modernc's driver and counts the statements its
// connections hold prepared: prepared and not yet closed.
type countingDriver struct {
	driver.Driver
	open     atomic.Int64
	prepared atomic.Int64
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingConn{innerConn: c.(innerConn), d: d}, nil
}

type countingConn struct {
	innerConn
	d *countingDriver
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.innerConn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.d.open.Add(1)
	c.d.prepared.Add(1)
	return &countingStmt{Stmt: st, d: c.d}, nil
}

type countingStmt struct {
	driver.Stmt
	d      *countingDriver
	closed bool
}

func (s *countingStmt) Close() error {
	if s.closed {
		panic("statement closed twice")
	}
	s.closed = true
	s.d.open.Add(-1)
	return s.Stmt.Close()
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.closed {
		panic("exec on a closed statement")
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.closed {
		panic("query on a closed statement")
	}
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func openCounting(t *testing.T, size, conns int) (*sql.DB, *countingDriver) {
	t.Helper()
	drv, err := sqliteDriver()
	if err != nil {
		t.Fatal(err)
	}
	cd := &countingDriver{Driver: drv}
	path := filepath.Join(t.TempDir(), "c.db")
	d := sql.OpenDB(cachingConnector{drv: cd, dsn: "file:" + path + "?" + sqlitePragmas + "&_txlock=immediate", size: size})
	d.SetMaxOpenConns(conns)
	d.SetMaxIdleConns(conns)
	if _, err := d.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return d, cd
}

func cacheOf(t *testing.T, c *sql.Conn) *cachingConn {
	t.Helper()
	var cc *cachingConn
	if err := c.Raw(func(dc any) error { cc = dc.(*cachingConn); return nil }); err != nil {
		t.Fatal(err)
	}
	return cc
}

// A statement run again, in a transaction or not, is prepared once per
// connection; the cache keeps at most its size, least recently used out,
// and closing the pool finalizes every statement.
func TestStatementCacheReusesAndEvicts(t *testing.T) {
	ctx := context.Background()
	d, cd := openCounting(t, 3, 1)
	for i := range 10 {
		tx, err := d.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE v <> $1`, "x").Scan(&n); err != nil || n != i+1 {
			t.Fatalf("count %d, %v; want %d", n, err, i+1)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `UPDATE t SET v = v WHERE id = $1`, i); err != nil {
			t.Fatal(err)
		}
	}
	// CREATE TABLE, then three texts run 10 times each (BEGIN and
	// COMMIT are the driver's own).
	if got := cd.prepared.Load(); got != 4 {
		t.Fatalf("prepared %d statements for CREATE and 3 texts run 10 times each, want 4", got)
	}
	c, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := c.ExecContext(ctx, fmt.Sprintf(`UPDATE t SET v = v WHERE id = %d`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cacheOf(t, c).cached(); n != 3 {
		t.Fatalf("cache holds %d statements, size 3", n)
	}
	if got := cd.open.Load(); got != 3 {
		t.Fatalf("%d statements open after evictions, want the cache's 3", got)
	}
	// The oldest text was evicted: running it prepares it again.
	before := cd.prepared.Load()
	if _, err := c.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, "again"); err != nil {
		t.Fatal(err)
	}
	if cd.prepared.Load() != before+1 {
		t.Fatal("an evicted statement was not prepared again")
	}
	_ = c.Close()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cd.open.Load(); got != 0 {
		t.Fatalf("%d statements left open after the pool closed", got)
	}
}

// A query run while the rows of the same text are still open gets a
// statement of its own (reusing the open one would reset its rows), and
// a statement evicted while its rows are open is finalized when they close.
func TestStatementCacheBusyStatements(t *testing.T) {
	ctx := context.Background()
	d, cd := openCounting(t, 1, 1)
	for i := range 5 {
		if _, err := d.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const q = `SELECT id FROM t WHERE id >= $1 ORDER BY id`
	outer, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	pairs := 0
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			pairs++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		// Another text evicts the busy outer statement (size 1).
		if _, err := tx.ExecContext(ctx, `UPDATE t SET v = v WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	// ids 1..5: 5+4+3+2+1 pairs.
	if pairs != 15 {
		t.Fatalf("nested queries of one text saw %d pairs, want 15", pairs)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := cd.open.Load(); got != 1 {
		t.Fatalf("%d statements open, want the cache's 1", got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cd.open.Load(); got != 0 {
		t.Fatalf("%d statements left open after the pool closed", got)
	}
}

// A connection database/sql discards (here: its lifetime ends) takes its
// statements with it; the next connection prepares its own.
func TestStatementCacheDiesWithItsConnection(t *testing.T) {
	ctx := context.Background()
	d, cd := openCounting(t, 8, 2)
	c1, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := cd.prepared.Load() // the CREATE TABLE, on one of them
	for _, c := range []*sql.Conn{c1, c2} {
		if _, err := c.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if got := cd.prepared.Load() - base; got != 2 {
		t.Fatalf("two connections prepared %d statements for one text, want one each", got)
	}
	open, mine := cd.open.Load(), int64(cacheOf(t, c1).cached())
	// Raw's driver.ErrBadConn makes database/sql close the connection.
	_ = c1.Raw(func(any) error { return driver.ErrBadConn })
	_ = c1.Close()
	if got := cd.open.Load(); got != open-mine {
		t.Fatalf("%d statements open after a connection holding %d of %d closed", got, mine, open)
	}
	_ = c2.Close()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cd.open.Load(); got != 0 {
		t.Fatalf("%d statements left open", got)
	}
}

// civico's pools on SQLite run through the cache: a transaction's
// statements are prepared once on the writer connection.
func TestPoolsCacheStatements(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Target{Dialect: SQLite, Path: filepath.Join(t.TempDir(), "w.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES ($1)`, fmt.Sprint(i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := d.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := cacheOf(t, c)
	if cc.prepares != 2 || cc.cached() != 2 {
		t.Fatalf("writer prepared %d and keeps %d statements, want 2 (CREATE, INSERT)", cc.prepares, cc.cached())
	}
	// Reads too: the read pool's connections keep theirs.
	rc, err := d.read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	for range 3 {
		var n int
		if err := rc.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE v <> $1`, "x").Scan(&n); err != nil || n != 20 {
			t.Fatalf("count %d, %v", n, err)
		}
	}
	if rcc := cacheOf(t, rc); rcc.prepares != 1 || rcc.cached() != 1 {
		t.Fatalf("a read connection prepared %d and keeps %d statements for one query run 3 times, want 1", rcc.prepares, rcc.cached())
	}
}
