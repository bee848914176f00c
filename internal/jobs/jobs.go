// Package jobs is civico's background work that must happen once, whatever
// the number of processes: river (github.com/riverqueue/river) on civico's
// own database, SQLite or PostgreSQL.
//
// A feature registers kinds of jobs with their workers (Kind, Work) and
// periodic jobs (Every, Daily); its store inserts a job in its own
// transaction (Enqueuer), so the job exists if and only if the business
// write it belongs to committed. River runs each job once across all
// processes, retries a failed one with growing pauses, and discards it,
// logged, after its last attempt. Periodic jobs are inserted by the one
// process river elected leader, each unique for its period, so a change of
// leader does not run one twice.
//
// river's tables (river_job, river_leader, river_queue, river_migration,
// river_notification) belong to this package: river's own migrator builds
// them as civico's migration steps (Migrations), and only river's API and
// this package read them.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
)

// Enqueuer inserts a job in the caller's write transaction (db.DB.Tx): the
// job is there once tx commits, and never if it rolls back. *Jobs is one;
// a store that asks for background work keeps one.
//
// On SQLite the insert runs on the transaction's connection, the one
// writer, inside its BEGIN IMMEDIATE; on PostgreSQL on the transaction's
// pgx connection. Nothing else is written outside tx, so the job and the
// business write commit together on both engines.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Config is how a process runs jobs.
type Config struct {
	// Workers is how many jobs this process runs at once (CIVICO_JOB_WORKERS).
	Workers int
	// StopGrace is how long Stop lets running jobs finish before their
	// contexts are cancelled: a job cancelled so is retried later.
	StopGrace time.Duration
	// Log receives river's warnings, each failed attempt and each job given
	// up; nil discards them.
	Log *slog.Logger
	// Metrics is where the counters of jobs worked are registered (the
	// /metrics registry); nil registers nothing.
	Metrics prometheus.Registerer
	// PollInterval is the longest a job waits to be noticed when no
	// notification told of it; zero is one second.
	PollInterval time.Duration
	// Test shortens river's staggered start of its maintenance (tests only).
	Test bool
}

// Defaults.
const (
	DefaultWorkers   = 10
	DefaultStopGrace = 20 * time.Second
	// JobTimeout is how long one attempt may run unless its worker says
	// otherwise (river.Worker's Timeout).
	JobTimeout = 5 * time.Minute
	// CompletedRetention is how long a completed job stays: uniqueness is
	// checked against the jobs still there, and a daily job must find the
	// previous day's, which is 25 hours back on the day clocks go back.
	CompletedRetention = 48 * time.Hour
	// DiscardedRetention is how long a job given up stays for the operators
	// (civico jobs list --state failed) before it is deleted.
	DiscardedRetention = 30 * 24 * time.Hour
	// PeriodicAttempts is how often a periodic job is tried: its next
	// period runs it again anyway.
	PeriodicAttempts = 3
)

// Jobs is one process's job queue: the kinds it knows, its periodic jobs
// and, once Ready, river's client.
type Jobs struct {
	db      *db.DB
	cfg     Config
	log     *slog.Logger
	workers *river.Workers
	kinds   map[string]bool
	// periodic are the periodic jobs, by kind (the river ids).
	periodic []*river.PeriodicJob
	errs     []error
	metrics  *metrics

	mu     sync.Mutex
	client *river.Client[*sql.Tx]
	ready  bool
}

// New is the job queue of a process on d. Register the kinds and periodic
// jobs, then call Ready.
func New(d *db.DB, cfg Config) *Jobs {
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	cfg.StopGrace = cmp.Or(cfg.StopGrace, DefaultStopGrace)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, time.Second)
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Jobs{db: d, cfg: cfg, log: log, workers: river.NewWorkers(), kinds: map[string]bool{}, metrics: newMetrics(cfg.Metrics, d)}
}

// Kind is a kind of job and its worker, ready to register (Jobs.Add,
// feature.Host.Job).
type Kind struct {
	name string
	add  func(*river.Workers) error
}

// Name is the kind's name: what its args' Kind method returns.
func (k Kind) Name() string { return k.name }

// Worker is a kind of job worked by w, as river.AddWorker registers it:
// w may set its own retry pauses (NextRetry) and time limit (Timeout).
func Worker[T river.JobArgs](w river.Worker[T]) Kind {
	var args T
	return Kind{name: args.Kind(), add: func(ws *river.Workers) error { return river.AddWorkerSafely(ws, w) }}
}

// Work is a kind of job worked by a function.
func Work[T river.JobArgs](fn func(ctx context.Context, job *river.Job[T]) error) Kind {
	return Worker(river.WorkFunc(fn))
}

// Add registers a kind of job. It fails (at Ready) for a kind registered
// twice or a name river refuses.
func (j *Jobs) Add(k Kind) {
	if err := j.register(k.name); err != nil {
		j.errs = append(j.errs, err)
		return
	}
	if err := k.add(j.workers); err != nil {
		j.errs = append(j.errs, fmt.Errorf("job kind %s: %w", k.name, err))
	}
}

// Fail records a mistake in a registration, returned by Ready.
func (j *Jobs) Fail(err error) { j.errs = append(j.errs, err) }

func (j *Jobs) register(kind string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.ready:
		return fmt.Errorf("job kind %s registered after the queue was ready", kind)
	case kind == "":
		return errors.New("a job kind needs a name: its args' Kind method returns none")
	case j.kinds[kind]:
		return fmt.Errorf("job kind %s registered twice", kind)
	}
	j.kinds[kind] = true
	return nil
}

// Every runs fn once every period across all the processes on the
// database: the process river elected leader inserts the job, any process
// may work it, and the job is unique within its period (by the UTC clock),
// so a new leader's first run does not repeat the period's. A process that
// becomes leader runs it at once, then every period. A failed run is
// retried (PeriodicAttempts in all), then left to the next period.
func (j *Jobs) Every(kind string, period time.Duration, fn func(context.Context) error) {
	if period < time.Second {
		j.Fail(fmt.Errorf("periodic job %s: a period under a second (%s)", kind, period))
		return
	}
	args := periodicArgs{kind: kind}
	if err := j.register(kind); err != nil {
		j.Fail(err)
		return
	}
	if err := addPeriodic(j.workers, args, func(ctx context.Context, _ *river.Job[periodicArgs]) error {
		return fn(ctx)
	}); err != nil {
		j.Fail(fmt.Errorf("periodic job %s: %w", kind, err))
		return
	}
	opts := &river.InsertOpts{MaxAttempts: PeriodicAttempts, UniqueOpts: river.UniqueOpts{ByPeriod: period}}
	j.periodic = append(j.periodic, river.NewPeriodicJob(river.PeriodicInterval(period),
		func() (river.JobArgs, *river.InsertOpts) { return args, opts },
		&river.PeriodicJobOpts{ID: kind, RunOnStart: true}))
}

// Daily runs fn once a day at hour:minute, Rome time, across all the
// processes on the database, told which day (midnight in Rome) it is for.
// The job of a day is unique: a process that becomes leader runs the
// day's job at once if its time has passed and no process ran it, so a day
// is not missed when no process was up at the time, and none is run twice.
func (j *Jobs) Daily(kind string, hour, minute int, fn func(ctx context.Context, day time.Time) error) {
	if hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		j.Fail(fmt.Errorf("daily job %s: %02d:%02d is not a time of day", kind, hour, minute))
		return
	}
	if err := j.register(kind); err != nil {
		j.Fail(err)
		return
	}
	if err := addPeriodic(j.workers, periodicArgs{kind: kind}, func(ctx context.Context, job *river.Job[periodicArgs]) error {
		day, err := time.ParseInLocation(time.DateOnly, job.Args.Day, hours.Rome)
		if err != nil {
			return river.JobCancel(fmt.Errorf("daily job %s: day %q: %w", kind, job.Args.Day, err))
		}
		return fn(ctx, day)
	}); err != nil {
		j.Fail(fmt.Errorf("daily job %s: %w", kind, err))
		return
	}
	at := daily{hour: hour, minute: minute}
	j.periodic = append(j.periodic, river.NewPeriodicJob(at, func() (river.JobArgs, *river.InsertOpts) {
		// The day's slot is the latest one due: the enqueuer fires at most
		// a moment early, and on start any time after it.
		slot := at.last(time.Now().Add(time.Second))
		return periodicArgs{kind: kind, Day: slot.Format(time.DateOnly)},
			&river.InsertOpts{MaxAttempts: PeriodicAttempts, ScheduledAt: slot, UniqueOpts: river.UniqueOpts{ByArgs: true}}
	}, &river.PeriodicJobOpts{ID: kind, RunOnStart: true}))
}

// periodicArgs are the args of every periodic job: its kind (not stored:
// the row has it) and, for a daily job, its day in Rome.
type periodicArgs struct {
	kind string
	Day  string `json:"day,omitempty"`
}

func (a periodicArgs) Kind() string { return a.kind }

// addPeriodic registers a periodic job's worker under the kind its args
// carry: every periodic job has the same Go type, so the kind is chosen at
// run time (river.AddWorkerArgs, which panics where AddWorkerSafely would
// return an error).
func addPeriodic(ws *river.Workers, args periodicArgs, fn func(context.Context, *river.Job[periodicArgs]) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	river.AddWorkerArgs(ws, args, river.WorkFunc(fn))
	return nil
}

// Ready builds river's client once every kind and periodic job is
// registered, or says what was registered wrong. Jobs can be inserted from
// then on; Start works them.
func (j *Jobs) Ready() error {
	if err := errors.Join(j.errs...); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ready {
		return nil
	}
	drv, err := j.db.River()
	if err != nil {
		return err
	}
	cfg := &river.Config{
		Workers:                     j.workers,
		PeriodicJobs:                j.periodic,
		Logger:                      j.log,
		Middleware:                  []rivertype.Middleware{&observe{m: j.metrics, log: j.log}},
		JobTimeout:                  JobTimeout,
		CompletedJobRetentionPeriod: CompletedRetention,
		CancelledJobRetentionPeriod: DiscardedRetention,
		DiscardedJobRetentionPeriod: DiscardedRetention,
		SoftStopTimeout:             j.cfg.StopGrace,
		FetchPollInterval:           j.cfg.PollInterval,
		TestOnly:                    j.cfg.Test,
	}
	// A process with nothing registered (a command of the CLI) only
	// inserts, lists and retries: it works no queue and is never leader.
	if len(j.kinds) > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: j.cfg.Workers}}
	}
	c, err := river.NewClient(drv, cfg)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	j.client, j.ready = c, true
	return nil
}

// Kinds are the kinds registered, periodic ones included.
func (j *Jobs) Kinds() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]string, 0, len(j.kinds))
	for k := range j.kinds {
		out = append(out, k)
	}
	return out
}

// ID names this process among those that work jobs (river's client id;
// river_leader names the leader by it).
func (j *Jobs) ID() string {
	c, err := j.get()
	if err != nil {
		return ""
	}
	return c.ID()
}

var errNotReady = errors.New("job queue used before Ready")

func (j *Jobs) get() (*river.Client[*sql.Tx], error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.client == nil {
		return nil, errNotReady
	}
	return j.client, nil
}

// InsertTx inserts a job in tx (see Enqueuer). opts may be nil: the kind's
// own (river.JobArgsWithInsertOpts) or river's defaults apply.
func (j *Jobs) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c, err := j.get()
	if err != nil {
		return nil, err
	}
	return c.InsertTx(ctx, tx, args, opts)
}

// Insert inserts a job in a transaction of its own: for work that belongs
// to no business write (an operator's command). Never call it inside a
// transaction: on SQLite it would wait for the writer that transaction
// holds.
func (j *Jobs) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c, err := j.get()
	if err != nil {
		return nil, err
	}
	return c.Insert(ctx, args, opts)
}

// Start works jobs until Stop. The process takes part in the election of
// the leader, which inserts the periodic jobs and does river's upkeep
// (scheduling retries, rescuing jobs whose process died, deleting old
// jobs). Start refuses a database whose river schema is not complete.
func (j *Jobs) Start(ctx context.Context) error {
	c, err := j.get()
	if err != nil {
		return err
	}
	if err := Check(ctx, j.db); err != nil {
		return err
	}
	// Stop, not the end of ctx, ends the work: running jobs get
	// StopGrace to finish.
	return c.Start(context.WithoutCancel(ctx))
}

// Stop stops taking jobs and waits for the running ones: those still
// running after StopGrace have their contexts cancelled, and a job
// cancelled so (or one whose process dies) is retried later, by this
// process or another. Nothing committed is lost. Stop returns when every
// job has returned and its outcome is recorded, or when ctx ends.
func (j *Jobs) Stop(ctx context.Context) error {
	c, err := j.get()
	if err != nil {
		return err
	}
	err = c.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		// Past ctx: cancel what still runs, and wait a moment for it.
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return errors.Join(err, c.StopAndCancel(hard))
	}
	return err
}

// slug turns a task's name into the part of a kind after the feature's
// name: lower case, words joined by '-'.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return b.String()
}

// KindOf is the kind of a feature's periodic task: "forms" and "collect
// unreferenced files" make "forms.collect-unreferenced-files".
func KindOf(feature, task string) string { return feature + "." + slug(task) }
