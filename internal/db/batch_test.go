package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// batchTable is a table of the test's own.
func batchTable(t *testing.T, d *db.DB) {
	t.Helper()
	if err := d.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(context.Background(), `CREATE TABLE batch_test (k TEXT PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func batchKeys(t *testing.T, d *db.DB) map[string]bool {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), `SELECT k FROM batch_test`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys[k] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// Calls made at once keep each their own outcome: a failing call's writes
// are undone and its error (unchanged) is its own, a panic is raised again
// in its caller, a unique violation is seen as one, and every other call's
// writes commit. On SQLite they share transactions.
func TestBatchKeepsEachCallsOwnOutcome(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		batchTable(t, d)
		ctx := context.Background()
		const n = 64
		calls0, txs0 := d.BatchStats()
		started := make(chan struct{})
		errs := make([]error, n)
		panics := make([]any, n)
		sentinels := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			sentinels[i] = fmt.Errorf("call %d refused", i)
			wg.Go(func() {
				defer func() { panics[i] = recover() }()
				errs[i] = d.Batch(ctx, func(ctx context.Context, tx *sql.Tx) error {
					if i == 0 {
						close(started)
						// Hold the writer until every other call is queued
						// (on SQLite each counts itself, then queues).
						for j := 0; j < 1000 && d.Dialect == db.SQLite; j++ {
							if c, _ := d.BatchStats(); c-calls0 == n {
								break
							}
							time.Sleep(2 * time.Millisecond)
						}
						time.Sleep(20 * time.Millisecond)
					}
					key := fmt.Sprintf("k%d", i)
					if i%5 == 1 {
						key = "dup"
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ($1)`, key); err != nil {
						return err
					}
					switch i % 5 {
					case 0:
						if i > 0 {
							return sentinels[i]
						}
					case 2:
						panic(sentinels[i])
					}
					return nil
				})
			})
			if i == 0 {
				<-started
			}
		}
		wg.Wait()
		keys := batchKeys(t, d)
		dups := 0
		for i := range n {
			key := fmt.Sprintf("k%d", i)
			switch {
			case i%5 == 0 && i > 0:
				if !errors.Is(errs[i], sentinels[i]) || keys[key] {
					t.Errorf("call %d: error %v, row kept %v; want its own error and no row", i, errs[i], keys[key])
				}
			case i%5 == 1:
				if errs[i] == nil {
					dups++
				} else if !db.IsUniqueViolation(errs[i]) {
					t.Errorf("call %d: %v, want a unique violation", i, errs[i])
				}
			case i%5 == 2:
				if panics[i] != sentinels[i] || keys[key] {
					t.Errorf("call %d: panic %v, row kept %v; want its own panic and no row", i, panics[i], keys[key])
				}
			default:
				if errs[i] != nil || panics[i] != nil || !keys[key] {
					t.Errorf("call %d: error %v, panic %v, row kept %v; want committed", i, errs[i], panics[i], keys[key])
				}
			}
		}
		if dups != 1 || !keys["dup"] {
			t.Errorf("%d calls inserted the same key, want 1", dups)
		}
		calls, txs := d.BatchStats()
		if d.Dialect == db.SQLite {
			// The first call alone, then the 63 queued behind it in one.
			if calls-calls0 != n || txs-txs0 != 2 {
				t.Errorf("%d calls in %d transactions, want %d in 2", calls-calls0, txs-txs0, n)
			}
		} else if calls != 0 || txs != 0 {
			t.Errorf("PostgreSQL: %d calls, %d transactions counted; want Tx, uncounted", calls, txs)
		}
	})
}

// A call whose caller gives up while it is queued never runs; a caller who
// gives up while its call runs does not interrupt the shared transaction:
// its writes commit (SQLite; on PostgreSQL Batch is Tx, and the caller's
// context is the transaction's).
func TestBatchCallerGivesUp(t *testing.T) {
	d := dbtest.SQLite(t)
	batchTable(t, d)
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- d.Batch(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-release
			_, err := tx.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ('first')`)
			return err
		})
	}()
	<-started
	queued, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	gaveUp := make(chan error, 1)
	go func() {
		gaveUp <- d.Batch(queued, func(ctx context.Context, tx *sql.Tx) error {
			ran.Store(true)
			_, err := tx.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ('abandoned')`)
			return err
		})
	}()
	for c, _ := d.BatchStats(); c < 2; c, _ = d.BatchStats() {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // queued after counting itself
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("a call abandoned in the queue: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	running, stop := context.WithCancel(context.Background())
	if err := d.Batch(running, func(ctx context.Context, tx *sql.Tx) error {
		stop() // the caller goes away while its call runs
		_, err := tx.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ('kept')`)
		return err
	}); err != nil {
		t.Errorf("a caller who went away during its call: %v, want its writes committed", err)
	}
	keys := batchKeys(t, d)
	if ran.Load() || keys["abandoned"] || !keys["first"] || !keys["kept"] {
		t.Errorf("abandoned call ran %v; rows %v; want first and kept only", ran.Load(), keys)
	}
	// The queue still works after an abandoned call.
	if err := d.Batch(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ('after')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// holdWriter starts a Batch call that holds the writer until release is
// closed, and returns once it does, with the calls counted so far.
func holdWriter(t *testing.T, d *db.DB) (release chan struct{}, done chan error, calls int64) {
	t.Helper()
	started := make(chan struct{})
	release, done = make(chan struct{}), make(chan error, 1)
	go func() {
		done <- d.Batch(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	calls, _ = d.BatchStats()
	return release, done, calls
}

// queued waits until n more calls than from are counted, and a little
// for them to queue.
func queued(d *db.DB, from, n int64) {
	for c, _ := d.BatchStats(); c-from < n; c, _ = d.BatchStats() {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
}

// An error is answered once the transaction has ended: B's unique
// violation rests on A's row, which a later call's failure rolls back
// whole (INSERT OR ROLLBACK); B must not hear "taken" for a key nobody
// holds, nor A success. Everyone gets ErrBatchLost.
func TestBatchErrorsWaitForTheCommit(t *testing.T) {
	d := dbtest.SQLite(t)
	batchTable(t, d)
	ctx := context.Background()
	if _, err := d.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ('exists')`); err != nil {
		t.Fatal(err)
	}
	release, held, from := holdWriter(t, d)
	stmts := []string{`INSERT INTO batch_test (k) VALUES ('child')`, `INSERT INTO batch_test (k) VALUES ('child')`,
		`INSERT OR ROLLBACK INTO batch_test (k) VALUES ('exists')`}
	errs := make([]error, len(stmts))
	var wg sync.WaitGroup
	for i, q := range stmts {
		wg.Go(func() {
			errs[i] = d.Batch(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, q)
				return err
			})
		})
		queued(d, from, int64(i+1))
	}
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	keys := batchKeys(t, d)
	for i, err := range errs {
		if !errors.Is(err, db.ErrBatchLost) || db.IsUniqueViolation(err) {
			t.Errorf("call %d: %v, want ErrBatchLost and no unique violation", i, err)
		}
	}
	if keys["child"] {
		t.Errorf("rows %v: the lost transaction kept a row", keys)
	}
}

// A call's savepoint is its own: an fn that opens one of Batch's prefix
// cannot make its earlier writes survive its error.
func TestBatchSavepointIsTheCallsOwn(t *testing.T) {
	d := dbtest.SQLite(t)
	batchTable(t, d)
	failed := errors.New("failed")
	err := d.Batch(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{`INSERT INTO batch_test (k) VALUES ('before')`, `SAVEPOINT civico_batch`, `SAVEPOINT civico_batch_0`,
			`INSERT INTO batch_test (k) VALUES ('after')`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("Batch: %v", err)
	}
	if keys := batchKeys(t, d); len(keys) != 0 {
		t.Errorf("a failed call's rows were committed: %v", keys)
	}
}

// A call that ends its goroutine (runtime.Goexit, as t.FailNow does) while
// another call leads, so in the leader's goroutine, loses the transaction
// but not the queue.
func TestBatchLeaderGoneKeepsTheQueue(t *testing.T) {
	d := dbtest.SQLite(t)
	batchTable(t, d)
	release, held, from := holdWriter(t, d)
	// The next leader, whose goroutine the next call's fn ends.
	go func() {
		_ = d.Batch(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ('leader')`)
			return err
		})
	}()
	queued(d, from, 1)
	gone := make(chan error, 1)
	go func() {
		gone <- d.Batch(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			runtime.Goexit()
			return nil
		})
	}()
	queued(d, from, 2)
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-gone; !errors.Is(err, db.ErrBatchLost) {
		t.Errorf("the call whose fn ended the leader: %v, want ErrBatchLost", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Batch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO batch_test (k) VALUES ('later')`)
		return err
	}); err != nil {
		t.Fatalf("a later call: %v (the queue stalled)", err)
	}
	if keys := batchKeys(t, d); keys["leader"] || !keys["later"] {
		t.Errorf("rows %v: want the lost transaction's undone and the later call's kept", keys)
	}
}

// A caller whose context has already ended is refused, as Tx refuses it.
func TestBatchEndedContextNeverRuns(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := d.Batch(ctx, func(context.Context, *sql.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Batch with an ended context: %v, ran %v", err, ran)
	}
}
