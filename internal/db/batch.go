package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
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
//     it, IsUniqueViolation too); the others commit. Every answer, an error
//     too, is given once the transaction has ended: an error that rests on
//     another call's write (a unique violation) is given only once that
//     write has committed, so the caller can read it; if the transaction is
//     lost instead, every call of it gets ErrBatchLost, not its own error.
//   - Savepoints named civico_batch_T_N are Batch's own: fn must not use
//     the prefix.
//   - Batch returns nil only once the transaction holding fn's writes has
//     committed. If the commit fails, or the transaction cannot go on (its
//     savepoint cannot be undone), every call whose writes it held gets the
//     error, and nothing of theirs is kept.
//   - A panic in fn undoes its writes and is raised again in its caller.
//   - fn must use the context it is given, not its caller's: it is the
//     caller's (values and all) without its cancellation, so a caller who
//     goes away while fn runs cannot interrupt a statement of a transaction
//     shared with others (SQLite would roll the whole transaction back). A
//     caller whose context has ended, or ends while still queued, gets its
//     error, and fn never runs.
func (d *DB) Batch(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if d.Dialect != SQLite {
		return d.Tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	if err := ctx.Err(); err != nil {
		return err
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
	// The lead passes on however runBatch ends (a Goexit in another's fn
	// too), or every later call would wait for ever.
	func() {
		defer b.handOff()
		d.runBatch(c.ctx)
	}()
	return (<-c.done).result()
}

// ErrBatchLost is the error of every call of a shared transaction that
// was lost (its commit failed, or a failure rolled it all back): nothing of
// theirs is kept, and the call may be made again.
var ErrBatchLost = errors.New("db: the shared transaction was lost; nothing of it was kept")

// maxBatch bounds the calls of one transaction, so the first of them does
// not wait for hundreds after it.
const maxBatch = 128

// batchTimeout bounds one shared transaction.
const batchTimeout = time.Minute

// batchSavepoint starts the name of the savepoint each call runs in
// (civico_batch_T_N, T the transaction's number and N the call's: each its
// own, so an fn's savepoint cannot stand in for it).
const batchSavepoint = "civico_batch_"

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
	n := copy(b.queue, b.queue[i:])
	clear(b.queue[n:]) // the taken calls' closures are not kept
	b.queue = b.queue[:n]
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

// runBatch takes the calls queued (the leader's first, leaderCtx its
// context), writes them in one transaction and answers each of them once
// the transaction has ended.
func (d *DB) runBatch(leaderCtx context.Context) {
	// The writer first: calls queued while it is busy stay queued, and
	// may still be abandoned.
	tx, err := d.write.BeginTx(context.WithoutCancel(leaderCtx), nil)
	calls := d.batch.take()
	if len(calls) == 0 {
		if err == nil {
			_ = tx.Rollback()
		}
		return
	}
	txn := d.batch.transactions.Add(1)
	if err != nil {
		for _, c := range calls {
			c.done <- batchResult{err: err}
		}
		return
	}
	answers := make([]batchResult, len(calls))
	finished := false
	defer func() {
		if !finished {
			// Left half-way (a Goexit in an fn): nothing is kept.
			_ = tx.Rollback()
			for i := range answers {
				answers[i] = batchResult{err: ErrBatchLost}
			}
		}
		for i, c := range calls {
			c.done <- answers[i]
		}
	}()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(leaderCtx), batchTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// lost ends a transaction that cannot go on: every call gets
	// ErrBatchLost (what has already failed too: its error may rest on
	// another call's write that is now undone).
	lost := func(cause error) {
		_ = tx.Rollback()
		for i := range answers {
			answers[i] = batchResult{err: fmt.Errorf("%w: %w", ErrBatchLost, cause)}
		}
		finished = true
	}
	for i, c := range calls {
		sp := batchSavepoint + strconv.FormatInt(txn, 10) + "_" + strconv.Itoa(i)
		if _, err := tx.ExecContext(ctx, `SAVEPOINT `+sp); err != nil {
			lost(err)
			return
		}
		cctx, ccancel := context.WithDeadline(context.WithoutCancel(c.ctx), deadline)
		r := runCall(cctx, c.fn, tx)
		ccancel()
		if r.err != nil || r.panicked {
			// Undone: ROLLBACK TO keeps the savepoint open, RELEASE ends it
			// (and any an fn left open after it).
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO `+sp); err != nil {
				lost(err)
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE `+sp); err != nil {
			lost(err)
			return
		}
		answers[i] = r
	}
	if err := tx.Commit(); err != nil {
		lost(err)
		return
	}
	finished = true
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
