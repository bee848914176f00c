package db

import (
	"context"
	"sync/atomic"
	"time"
)

// QueryCount counts the statements one piece of work (a web request) sends
// to the database through a DB and the time it waited for them: every
// QueryContext, QueryRowContext and ExecContext, and each transaction (Tx)
// as one, with the time of the whole transaction. The statements inside a
// transaction are not counted one by one: a page that reads does so outside
// transactions, and a loop of reads shows as many queries.
//
// A QueryRowContext's time ends when the row is ready for Scan; a
// QueryContext's when the first rows are, not when the caller has read them.
// Safe for concurrent use: the personal area's panels query at once.
type QueryCount struct {
	n  atomic.Int64
	ns atomic.Int64
}

type queryCountKey struct{}

// CountQueries returns a context whose queries are counted in the returned
// QueryCount (and in any QueryCount of ctx's, which they replace).
func CountQueries(ctx context.Context) (context.Context, *QueryCount) {
	c := new(QueryCount)
	return context.WithValue(ctx, queryCountKey{}, c), c
}

// Queries is the number of statements and transactions counted so far.
func (c *QueryCount) Queries() int { return int(c.n.Load()) }

// Elapsed is the time spent waiting for them.
func (c *QueryCount) Elapsed() time.Duration { return time.Duration(c.ns.Load()) }

// counted records one statement begun at start, if ctx counts them.
func counted(ctx context.Context, start time.Time) {
	if c, ok := ctx.Value(queryCountKey{}).(*QueryCount); ok {
		c.n.Add(1)
		c.ns.Add(int64(time.Since(start)))
	}
}
