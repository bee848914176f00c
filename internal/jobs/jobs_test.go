package jobs_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/jobs"
)

// countArgs is a job that records that it ran.
type countArgs struct {
	N int `json:"n"`
}

func (countArgs) Kind() string { return "test.count" }

// counter records the jobs that ran to their end, by N.
type counter struct {
	mu   sync.Mutex
	runs map[int]int
	// work, when set, is what each job does before it counts.
	work func(ctx context.Context) error
}

func newCounter() *counter { return &counter{runs: map[int]int{}} }

func (c *counter) kind() jobs.Kind {
	return jobs.Work(func(ctx context.Context, job *river.Job[countArgs]) error {
		if c.work != nil {
			if err := c.work(ctx); err != nil {
				return err
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.runs[job.Args.N]++
		return nil
	})
}

// distinct is how many different jobs ran.
func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.runs)
}

func (c *counter) times(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[n]
}

// twice lists the jobs that ran more than once.
func (c *counter) twice() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for n, k := range c.runs {
		if k > 1 {
			out = append(out, n)
		}
	}
	return out
}

// newJobs is a process's queue on d with what register adds, ready.
func newJobs(t testing.TB, d *db.DB, cfg jobs.Config, register func(j *jobs.Jobs)) *jobs.Jobs {
	t.Helper()
	cfg.Test = true
	cfg.PollInterval = 100 * time.Millisecond
	j := jobs.New(d, cfg)
	register(j)
	if err := j.Ready(); err != nil {
		t.Fatal(err)
	}
	return j
}

// start works j's jobs until the test ends.
func start(t testing.TB, j *jobs.Jobs) {
	t.Helper()
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, j) })
}

func stop(t testing.TB, j *jobs.Jobs) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func insert(t testing.TB, d *db.DB, j jobs.Enqueuer, args ...river.JobArgs) {
	t.Helper()
	ctx := context.Background()
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		for _, a := range args {
			if _, err := j.InsertTx(ctx, tx, a, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// The schema built by civico's migrations is the one river expects, with
// river's tables (a river upgrade without its migration step fails here).
func TestRiverSchemaIsComplete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if err := jobs.Check(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		for _, table := range jobs.Tables {
			var n int
			if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
	})
}

// A job inserted in a transaction that rolls back does not exist and
// never runs; one inserted in a committed transaction runs.
func TestAJobRunsOnlyIfItsTransactionCommits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newCounter()
		j := newJobs(t, d, jobs.Config{}, func(j *jobs.Jobs) { j.Add(c.kind()) })
		failed := errors.New("the business write failed")
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := j.InsertTx(ctx, tx, countArgs{N: 1}, nil); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("rolled-back transaction: %v", err)
		}
		insert(t, d, j, countArgs{N: 2})
		start(t, j)
		// Jobs are taken oldest first: had the first existed, it would
		// have run before the second.
		waitFor(t, 10*time.Second, "the committed job ran", func() bool { return c.times(2) == 1 })
		stop(t, j)
		if n := c.times(1); n != 0 {
			t.Errorf("the job of the rolled-back transaction ran %d times", n)
		}
		all, err := j.List(ctx, jobs.Filter{Limit: jobs.MaxList})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || string(all[0].EncodedArgs) != `{"n": 2}` && string(all[0].EncodedArgs) != `{"n":2}` || all[0].State != rivertype.JobStateCompleted {
			t.Errorf("jobs in the database: %v", describe(all))
		}
		// A completed job is not done twice at an operator's word.
		if _, err := j.Retry(ctx, all[0].ID); !errors.Is(err, jobs.ErrNotFailed) {
			t.Errorf("retry of a completed job: %v", err)
		}
	})
}

func describe(rows []*rivertype.JobRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d %s %s %s", r.ID, r.Kind, r.State, r.EncodedArgs))
	}
	return out
}

// Two processes on one database (on SQLite two clients on one file, each
// with its own writer) run each committed job once.
func TestEachJobRunsOnceWithTwoProcesses(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			h := dbtest.Handles(t, dialect, 2)
			c := newCounter()
			c.work = func(context.Context) error { time.Sleep(time.Millisecond); return nil }
			a := newJobs(t, h[0], jobs.Config{Workers: 4}, func(j *jobs.Jobs) { j.Add(c.kind()) })
			b := newJobs(t, h[1], jobs.Config{Workers: 4}, func(j *jobs.Jobs) { j.Add(c.kind()) })
			const n = 150
			for i := 0; i < n; i += 10 {
				var batch []river.JobArgs
				for k := i; k < i+10; k++ {
					batch = append(batch, countArgs{N: k})
				}
				// Half from each process.
				if i%20 == 0 {
					insert(t, h[0], a, batch...)
				} else {
					insert(t, h[1], b, batch...)
				}
			}
			start(t, a)
			start(t, b)
			waitFor(t, 60*time.Second, fmt.Sprintf("all %d jobs ran", n), func() bool { return c.distinct() == n })
			stop(t, a)
			stop(t, b)
			if twice := c.twice(); len(twice) > 0 {
				t.Errorf("jobs run more than once: %v", twice)
			}
			counts, err := jobs.Counts(context.Background(), h[0])
			if err != nil {
				t.Fatal(err)
			}
			if counts[rivertype.JobStateCompleted] != n || len(counts) != 1 {
				t.Errorf("jobs by state: %v", counts)
			}
		})
	}
}

// failArgs is a job whose worker always fails.
type failArgs struct{}

func (failArgs) Kind() string { return "test.fail" }

type failWorker struct {
	river.WorkerDefaults[failArgs]
	mu       sync.Mutex
	attempts []time.Time
}

func (w *failWorker) Work(ctx context.Context, job *river.Job[failArgs]) error {
	w.mu.Lock()
	w.attempts = append(w.attempts, time.Now())
	w.mu.Unlock()
	return errors.New("the registry does not answer")
}

// retryPause is the worker's pause after its nth failure: growing.
func retryPause(n int) time.Duration { return time.Duration(n) * 300 * time.Millisecond }

func (w *failWorker) NextRetry(job *river.Job[failArgs]) time.Time {
	return time.Now().Add(retryPause(job.Attempt))
}

func (w *failWorker) times() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.attempts)
}

// lockedBuffer is a log the test reads while river writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A failing job is retried after growing pauses, then given up after its
// last attempt: discarded, logged, counted, listed for the operators, and
// an operator's retry gives it one more attempt.
func TestAFailingJobIsRetriedThenDiscarded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := &failWorker{}
		logs := &lockedBuffer{}
		reg := prometheus.NewRegistry()
		j := newJobs(t, d, jobs.Config{Log: slog.New(slog.NewTextHandler(logs, nil)), Metrics: reg},
			func(j *jobs.Jobs) { j.Add(jobs.Worker[failArgs](w)) })
		var id int64
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			res, err := j.InsertTx(ctx, tx, failArgs{}, &river.InsertOpts{MaxAttempts: 3})
			if err == nil {
				id = res.Job.ID
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		start(t, j)
		state := func() rivertype.JobState {
			job, err := j.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return job.State
		}
		waitFor(t, 20*time.Second, "the job was discarded", func() bool { return state() == rivertype.JobStateDiscarded })
		at := w.times()
		if len(at) != 3 {
			t.Fatalf("%d attempts, want 3", len(at))
		}
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < retryPause(i) {
				t.Errorf("attempt %d came %s after the previous, before the pause of %s", i+1, gap, retryPause(i))
			}
		}
		job, err := j.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(job.Errors) != 3 || !strings.Contains(job.Errors[2].Error, "the registry does not answer") {
			t.Errorf("recorded errors: %+v", job.Errors)
		}
		if log := logs.String(); !strings.Contains(log, "given up") || !strings.Contains(log, "kind=test.fail") || strings.Count(log, "will retry") != 2 {
			t.Errorf("log:\n%s", log)
		}
		for outcome, want := range map[string]float64{"failed": 2, "discarded": 1, "completed": 0} {
			c, err := counterValue(reg, "jobs_worked_total", map[string]string{"kind": "test.fail", "outcome": outcome})
			if err != nil || c != want {
				t.Errorf("jobs_worked_total{outcome=%q} = %v (%v), want %v", outcome, c, err, want)
			}
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(queuedText(map[string]int{"discarded": 1})), "jobs_queued"); err != nil {
			t.Error(err)
		}
		failed, err := j.List(ctx, jobs.Filter{States: jobs.Views["failed"], Limit: 10})
		if err != nil || len(failed) != 1 || failed[0].ID != id {
			t.Errorf("failed jobs: %v %v", describe(failed), err)
		}
		if _, err := j.Retry(ctx, id); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the retried job ran once more", func() bool { return len(w.times()) == 4 })
		waitFor(t, 10*time.Second, "the retried job was discarded again", func() bool { return state() == rivertype.JobStateDiscarded })
		if _, err := j.Retry(ctx, id+1000); !errors.Is(err, jobs.ErrNoJob) {
			t.Errorf("retry of a job that does not exist: %v", err)
		}
	})
}

func counterValue(reg *prometheus.Registry, name string, labels map[string]string) (float64, error) {
	families, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue(), nil
		}
	}
	return 0, nil
}

func queuedText(n map[string]int) string {
	var b strings.Builder
	b.WriteString("# HELP jobs_queued Background jobs in the database by state (available, scheduled, running, retryable, discarded, ...), for every process.\n# TYPE jobs_queued gauge\n")
	states := make([]string, 0, len(jobs.States))
	for _, s := range jobs.States {
		states = append(states, string(s))
	}
	slices.Sort(states)
	for _, s := range states {
		fmt.Fprintf(&b, "jobs_queued{state=%q} %d\n", s, n[s])
	}
	return b.String()
}

// leader is the id of the process river elected.
func leader(t testing.TB, d *db.DB) string {
	t.Helper()
	var id string
	err := d.QueryRowContext(context.Background(), `SELECT leader_id FROM river_leader`).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return id
}

// A periodic job runs once per period across the processes, even when the
// leader that inserts it changes within the period; a daily job whose time
// has passed runs on start, once, for its day.
func TestPeriodicJobsRunOncePerPeriodAcrossProcesses(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			// Not across the turn of an hour (the hourly job's period).
			if left := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); left < 45*time.Second {
				time.Sleep(left + time.Second)
			}
			h := dbtest.Handles(t, dialect, 2)
			var hourly atomic.Int64
			var mu sync.Mutex
			var days []time.Time
			now := time.Now().In(hours.Rome)
			due := now.Add(-time.Minute) // today's time has passed (unless just after midnight: then yesterday's)
			register := func(j *jobs.Jobs) {
				j.Every("test.hourly", time.Hour, func(context.Context) error { hourly.Add(1); return nil })
				j.Daily("test.daily", due.Hour(), due.Minute(), func(_ context.Context, day time.Time) error {
					mu.Lock()
					defer mu.Unlock()
					days = append(days, day)
					return nil
				})
			}
			a := newJobs(t, h[0], jobs.Config{}, register)
			var marker atomic.Int64
			b := newJobs(t, h[1], jobs.Config{}, func(j *jobs.Jobs) {
				register(j)
				j.Every("test.marker", time.Hour, func(context.Context) error { marker.Add(1); return nil })
			})
			start(t, a)
			waitFor(t, 20*time.Second, "the first process leads and ran both jobs", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return leader(t, h[0]) == a.ID() && hourly.Load() == 1 && len(days) == 1
			})
			start(t, b)
			stop(t, a) // resigns: the second process becomes leader, and inserts its jobs on start
			waitFor(t, 30*time.Second, "the second process leads", func() bool { return leader(t, h[1]) == b.ID() })
			// Give the new leader's first insertions time to be worked.
			// The new leader inserts its periodic jobs on start in one batch,
			// the marker with them: once the marker ran and nothing is left
			// to run, whatever the new leader inserted has run.
			waitFor(t, 30*time.Second, "the new leader's jobs ran", func() bool {
				counts, err := jobs.Counts(context.Background(), h[1])
				if err != nil {
					t.Fatal(err)
				}
				return marker.Load() == 1 && len(counts) == 1 && counts[rivertype.JobStateCompleted] > 0
			})
			if n := hourly.Load(); n != 1 {
				t.Errorf("the hourly job ran %d times in one hour", n)
			}
			mu.Lock()
			defer mu.Unlock()
			want := time.Date(due.Year(), due.Month(), due.Day(), 0, 0, 0, 0, hours.Rome)
			if len(days) != 1 || !days[0].Equal(want) {
				t.Errorf("the daily job ran for %v, want once for %v", days, want)
			}
		})
	}
}

// slowArgs is a job that takes a while and stops when told.
type slowArgs struct {
	N int `json:"n"`
}

func (slowArgs) Kind() string { return "test.slow" }

// Stopping a process while jobs run and others are being inserted loses
// none: every job whose insertion committed runs to its end exactly once,
// by the stopped process before it stops or by another after.
func TestShutdownUnderLoadLosesNoJob(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			h := dbtest.Handles(t, dialect, 2)
			var mu sync.Mutex
			done := map[int]int{}
			interrupted := 0
			kind := jobs.Work(func(ctx context.Context, job *river.Job[slowArgs]) error {
				select {
				case <-time.After(time.Duration(rand.IntN(40)) * time.Millisecond):
				case <-ctx.Done():
					mu.Lock()
					interrupted++
					mu.Unlock()
					return ctx.Err()
				}
				mu.Lock()
				defer mu.Unlock()
				done[job.Args.N]++
				return nil
			})
			register := func(j *jobs.Jobs) { j.Add(kind) }
			a := newJobs(t, h[0], jobs.Config{Workers: 8, StopGrace: 20 * time.Millisecond}, register)
			start(t, a)
			// An inserter commits jobs one transaction each while the
			// process stops; the jobs it was told are committed count.
			var committed atomic.Int64
			stopInserting := make(chan struct{})
			inserted := make(chan struct{})
			go func() {
				defer close(inserted)
				for n := 0; ; n++ {
					select {
					case <-stopInserting:
						return
					default:
					}
					err := h[0].Tx(context.Background(), func(tx *sql.Tx) error {
						_, err := a.InsertTx(context.Background(), tx, slowArgs{N: n}, nil)
						return err
					})
					if err != nil {
						t.Errorf("insert %d: %v", n, err)
						return
					}
					committed.Store(int64(n + 1))
				}
			}()
			// Stop while jobs run and others arrive: after some have ended
			// (on a loaded machine the first can take seconds), not at a
			// fixed time.
			time.Sleep(500 * time.Millisecond)
			waitFor(t, 60*time.Second, "some jobs done before the stop", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(done) >= 5
			})
			stop(t, a)
			time.Sleep(100 * time.Millisecond)
			close(stopInserting)
			<-inserted
			n := int(committed.Load())
			mu.Lock()
			before := len(done)
			mu.Unlock()
			b := newJobs(t, h[1], jobs.Config{Workers: 8}, register)
			start(t, b)
			waitFor(t, 60*time.Second, fmt.Sprintf("all %d jobs ran", n), func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(done) == n
			})
			stop(t, b)
			mu.Lock()
			defer mu.Unlock()
			for k, times := range done {
				if times != 1 || k >= n {
					t.Errorf("job %d ran to its end %d times", k, times)
				}
			}
			t.Logf("%d jobs: %d done before the stop, %d interrupted by it and run again", n, before, interrupted)
			if before == 0 || before == n {
				t.Errorf("%d of %d jobs done before the stop: the stop was not under load", before, n)
			}
		})
	}
}

// blockArgs is a job that runs until the test lets it end.
type blockArgs struct{}

func (blockArgs) Kind() string { return "test.block" }

// Stop waits for a running job to finish within the grace, and the job
// ends completed, its context never cancelled.
func TestStopWaitsForRunningJobs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		running, release := make(chan struct{}), make(chan struct{})
		var cancelled atomic.Bool
		j := newJobs(t, d, jobs.Config{StopGrace: 30 * time.Second}, func(j *jobs.Jobs) {
			j.Add(jobs.Work(func(ctx context.Context, _ *river.Job[blockArgs]) error {
				close(running)
				select {
				case <-release:
				case <-ctx.Done():
					cancelled.Store(true)
					return ctx.Err()
				}
				return nil
			}))
		})
		res, err := j.Insert(ctx, blockArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		<-running
		stopped := make(chan error, 1)
		go func() {
			sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			stopped <- j.Stop(sctx)
		}()
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned while a job ran: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if cancelled.Load() {
			t.Error("the running job's context was cancelled within the grace")
		}
		job, err := j.Get(ctx, res.Job.ID)
		if err != nil || job.State != rivertype.JobStateCompleted {
			t.Fatalf("the job after Stop: %+v %v", job, err)
		}
	})
}
