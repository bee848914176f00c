package db

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
)

// SQLite's connections keep their statements prepared.
//
// modernc's driver parses a statement's text at every Exec or Query it is
// given directly; a profile of the schools enrolment rush put about 30% of
// its time there, inside write transactions, which database/sql runs on
// the transaction's own connection, where a *sql.Stmt prepared on the
// pool cannot reach (reads used one; parsing was a fifth of a service
// page). So both pools open their connections through cachingConnector: each connection holds an LRU of its own prepared
// statements, keyed by the SQL text, and ExecContext/QueryContext run the
// cached statement instead of parsing the text again. It works the same
// inside and outside a transaction because it sits below database/sql:
// a statement belongs to exactly one connection, is used only by the
// goroutine database/sql has given that connection to, and is finalized
// when it is evicted or when the connection closes.
//
// A statement whose rows are still being read (a query inside a loop over
// another query with the same text) is busy: a second use of the same
// text prepares a throwaway statement instead of resetting the first one's
// rows. A statement evicted while busy is finalized when its rows close.
//
// PostgreSQL needs none of this: pgx keeps a per-connection cache of
// prepared statements itself (512 by default).

// stmtCacheSize bounds the statements each connection keeps prepared.
// civico's statements are constants, a few hundred in all.
const stmtCacheSize = 512

// cachingConnector opens connections of drv with a statement cache.
type cachingConnector struct {
	drv  driver.Driver
	dsn  string
	size int
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, c.size)
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// sqliteDriver is modernc's registered driver, found without connecting.
func sqliteDriver() (driver.Driver, error) {
	d, err := sql.Open("sqlite", "")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Driver(), nil
}

// innerConn is what cachingConn needs of the driver's connection: every
// interface modernc's connection implements that database/sql uses.
type innerConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachedStmt is one prepared statement of a connection.
type cachedStmt struct {
	query string
	st    driver.Stmt
	busy  bool // rows of it are open
	gone  bool // evicted or the connection closed: finalize when not busy
	elem  *list.Element
}

type cachingConn struct {
	innerConn
	size  int
	byKey map[string]*cachedStmt
	lru   *list.List // front: most recently used
	// prepares counts the statements this connection prepared for the
	// cache (tests read it).
	prepares int
}

var errDriverInterfaces = errors.New("db: the SQLite driver's connection lacks an interface the statement cache needs")

func newCachingConn(c driver.Conn, size int) (*cachingConn, error) {
	ic, ok := c.(innerConn)
	if !ok {
		_ = c.Close()
		return nil, errDriverInterfaces
	}
	return &cachingConn{innerConn: ic, size: size, byKey: map[string]*cachedStmt{}, lru: list.New()}, nil
}

// stmt returns the cached statement of query, preparing it when missing,
// or a throwaway statement (gone from the start) when the cached one is
// busy. The caller marks it busy while using it, then releases it.
func (c *cachingConn) stmt(ctx context.Context, query string) (s *cachedStmt, err error) {
	if s := c.byKey[query]; s != nil {
		if !s.busy {
			c.lru.MoveToFront(s.elem)
			return s, nil
		}
		st, err := c.innerConn.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		return &cachedStmt{query: query, st: st, gone: true}, nil
	}
	st, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.prepares++
	s = &cachedStmt{query: query, st: st}
	s.elem = c.lru.PushFront(s)
	c.byKey[query] = s
	for c.lru.Len() > c.size {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byKey, old.query)
		old.gone, old.elem = true, nil
		if !old.busy {
			_ = old.st.Close()
		}
	}
	return s, nil
}

// release ends a use of s: a statement no longer in the cache is finalized.
func (c *cachingConn) release(s *cachedStmt) {
	s.busy = false
	if s.gone {
		_ = s.st.Close()
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	s.busy = true
	defer c.release(s)
	return s.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	s.busy = true
	r, err := s.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(s)
		return nil, err
	}
	inner, ok := r.(innerRows)
	if !ok {
		_ = r.Close()
		c.release(s)
		return nil, errDriverInterfaces
	}
	return &cachedRows{innerRows: inner, c: c, s: s}, nil
}

// Close finalizes every cached statement, then closes the connection.
// database/sql has closed the connection's rows before.
func (c *cachingConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		s := e.Value.(*cachedStmt)
		s.gone = true
		if !s.busy {
			_ = s.st.Close()
		}
	}
	c.byKey, c.lru = map[string]*cachedStmt{}, list.New()
	return c.innerConn.Close()
}

// cached is the number of statements the connection keeps prepared.
func (c *cachingConn) cached() int { return c.lru.Len() }

// innerRows is what database/sql uses of modernc's rows.
type innerRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows gives its statement back to the cache when closed.
type cachedRows struct {
	innerRows
	c      *cachingConn
	s      *cachedStmt
	closed bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.innerRows.Close()
	r.c.release(r.s)
	return err
}
