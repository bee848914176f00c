package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Batch runs fn in a write transaction, as Tx does, for the moments when
// many people write at once (a school enrolment opening, a consultation's
// last evening). On SQLite, whose single writer commits one transaction at
// a time and waits for the disk at each commit (synchronous=FULL), the
// calls made while a transaction is being written share the next one
// (group commit): the first caller to find none in progress leads, runs
// every call queued so far (at most maxBatch) one after the other in one
// transaction, each inside a savepoint of its own, and commits once; then
// it hands the lead to the first call queued meanwhile. On PostgreSQL, which
// commits concurrent transactions itself, Batch is Tx.
//
// For the caller nothing changes but the speed:
//   - fn's calls run one after the other, as separate transactions would, so
//     each sees the writes of those before it (the same order a queue at the
//     writer would give), and a check and its record stay one atomic step.
//   - fn's error undoes its writes only (ROLLBACK TO its savepoint) and is
//     returned to its caller alone, unchanged (errors.Is and errors.As see
//     it, IsUniqueViolation too); the others commit.
//   - Batch returns nil only once the transaction holding fn's writes has
//     committed. If the commit fails, or the transaction cannot go on (its
//     savepoint cannot be undone), every call whose writes it held gets the
//     error, and nothing of theirs is kept.
//   - A panic in fn undoes its writes and is raised again in its caller.
//   - fn must use the context it is given, not its caller's: it is the
//     caller's (values and all) without its cancellation, so a caller who
//     goes away while fn runs cannot interrupt a statement of a transaction
//     shared with others (SQLite would roll the whole transaction back). A
//     caller whose context ends while still queued gets its error, and fn
//     never runs.
func (d *DB) Batch(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if d.Dialect != SQLite {
		return d.Tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	defer counted(ctx, time.Now())
	b := &d.batch
	b.calls.Add(1)
	c := &batchCall{ctx: ctx, fn: fn, done: make(chan batchResult, 1), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	leading := !b.leading
	if leading {
		b.leading = true
		c.state.Store(callLeading)
	}
	b.mu.Unlock()
	if !leading {
		select {
		case r := <-c.done:
			return r.result()
		case <-c.lead:
		case <-ctx.Done():
			if c.state.CompareAndSwap(callQueued, callAbandoned) {
				return ctx.Err()
			}
			// Taken into a transaction, or handed the lead: either way it
			// goes on.
			select {
			case r := <-c.done:
				return r.result()
			case <-c.lead:
			}
		}
	}
	// The lead: this call is the first of the queue, so of the transaction.
	d.runBatch(b.take())
	b.handOff()
	return (<-c.done).result()
}

// maxBatch bounds the calls of one transaction, so the first of them does
// not wait for hundreds after it.
const maxBatch = 128

// batchTimeout bounds one shared transaction.
const batchTimeout = time.Minute

// batchSavepoint is the savepoint each call runs in.
const batchSavepoint = "civico_batch"

// The states of a call: queued, leading (handed the lead, not yet taken),
// taken into a transaction, or abandoned by its caller before it was.
const (
	callQueued int32 = iota
	callLeading
	callTaken
	callAbandoned
)

type batchCall struct {
	ctx   context.Context
	fn    func(context.Context, *sql.Tx) error
	state atomic.Int32
	done  chan batchResult
	lead  chan struct{}
}

type batchResult struct {
	err      error
	panicked bool
	panicVal any
}

func (r batchResult) result() error {
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// batcher is a DB's queue of Batch calls (SQLite).
type batcher struct {
	mu      sync.Mutex
	queue   []*batchCall
	leading bool
	// calls and transactions count Batch calls and their transactions.
	calls, transactions atomic.Int64
}

// BatchStats returns how many Batch calls were made and in how many
// transactions they were written (SQLite; on PostgreSQL both are 0).
func (d *DB) BatchStats() (calls, transactions int64) {
	return d.batch.calls.Load(), d.batch.transactions.Load()
}

// take removes from the queue the calls of the next transaction: the
// leader, first, and those queued after it, abandoned ones dropped.
func (b *batcher) take() []*batchCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*batchCall
	i := 0
	for ; i < len(b.queue) && len(out) < maxBatch; i++ {
		c := b.queue[i]
		if c.state.CompareAndSwap(callLeading, callTaken) || c.state.CompareAndSwap(callQueued, callTaken) {
			out = append(out, c)
		}
	}
	b.queue = append(b.queue[:0], b.queue[i:]...)
	return out
}

// handOff gives the lead to the first call still queued, or leaves nobody
// leading when there is none.
func (b *batcher) handOff() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.queue) > 0 {
		c := b.queue[0]
		if c.state.CompareAndSwap(callQueued, callLeading) {
			c.lead <- struct{}{}
			return
		}
		b.queue = b.queue[1:] // abandoned
	}
	b.queue = nil
	b.leading = false
}

// runBatch writes calls in one transaction and answers each of them.
func (d *DB) runBatch(calls []*batchCall) {
	if len(calls) == 0 {
		return
	}
	d.batch.transactions.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(calls[0].ctx), batchTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// answer gives err (nil: committed) to every call of cs.
	answer := func(cs []*batchCall, err error) {
		for _, c := range cs {
			c.done <- batchResult{err: err}
		}
	}
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		answer(calls, err)
		return
	}
	var held []*batchCall // calls whose writes the transaction holds
	for i, c := range calls {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT `+batchSavepoint); err != nil {
			_ = tx.Rollback()
			answer(append(held, calls[i:]...), err)
			return
		}
		cctx, ccancel := context.WithDeadline(context.WithoutCancel(c.ctx), deadline)
		r := runCall(cctx, c.fn, tx)
		ccancel()
		if r.err == nil && !r.panicked {
			if _, err := tx.ExecContext(ctx, `RELEASE `+batchSavepoint); err != nil {
				_ = tx.Rollback()
				answer(append(held, calls[i:]...), err)
				return
			}
			held = append(held, c)
			continue
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO `+batchSavepoint); err != nil {
			// The transaction is gone (SQLite rolls some failures back
			// whole): nothing of anyone's is kept.
			_ = tx.Rollback()
			if !r.panicked {
				r.err = errors.Join(r.err, fmt.Errorf("db: the shared transaction could not undo this call: %w", err))
			}
			c.done <- r
			answer(append(held, calls[i+1:]...), fmt.Errorf("db: a shared transaction was lost (another call in it failed: %v): %w", r.err, err))
			return
		}
		if _, err := tx.ExecContext(ctx, `RELEASE `+batchSavepoint); err != nil {
			_ = tx.Rollback()
			c.done <- r
			answer(append(held, calls[i+1:]...), err)
			return
		}
		c.done <- r
	}
	answer(held, tx.Commit())
}

// runCall runs fn, catching a panic to raise it again in its caller.
func runCall(ctx context.Context, fn func(context.Context, *sql.Tx) error, tx *sql.Tx) (r batchResult) {
	defer func() {
		if v := recover(); v != nil {
			r = batchResult{panicked: true, panicVal: v}
		}
	}()
	return batchResult{err: fn(ctx, tx)}
}
