package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/db"
)

// Outcomes of an attempt, as the metrics and logs name them.
const (
	outcomeCompleted = "completed"
	outcomeFailed    = "failed"    // to be retried
	outcomeDiscarded = "discarded" // the last attempt failed: given up
	outcomeCancelled = "cancelled" // the worker said never to retry
	outcomeSnoozed   = "snoozed"   // the worker asked to be run later
)

// metrics are the job queue's Prometheus series.
type metrics struct {
	worked   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(r prometheus.Registerer, d *db.DB) *metrics {
	m := &metrics{
		worked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobs_worked_total",
			Help: "Attempts at background jobs in this process, by kind and outcome (completed, failed: to be retried, discarded: given up after the last attempt, cancelled, snoozed).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "job_duration_seconds",
			Help:    "Time an attempt at a background job took in this process, by kind.",
			Buckets: []float64{.001, .005, .025, .1, .5, 2.5, 10, 60, 300},
		}, []string{"kind"}),
	}
	if r != nil {
		r.MustRegister(m.worked, m.duration, &queued{db: d})
	}
	return m
}

// observe is river's middleware around every attempt: it counts the
// outcome, logs failures, and turns a panic into the attempt's error (river
// would retry it the same way) so that it is counted and logged here too.
type observe struct {
	river.MiddlewareDefaults
	m   *metrics
	log *slog.Logger
}

func (o *observe) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
		o.m.duration.WithLabelValues(job.Kind).Observe(time.Since(start).Seconds())
		outcome := outcomeOf(job, err)
		o.m.worked.WithLabelValues(job.Kind, outcome).Inc()
		switch outcome {
		case outcomeFailed:
			o.log.Warn("job failed, will retry", "kind", job.Kind, "job", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "err", err)
		case outcomeDiscarded:
			o.log.Error("job failed for the last time, given up", "kind", job.Kind, "job", job.ID, "attempts", job.Attempt, "err", err)
		case outcomeCancelled:
			o.log.Error("job cancelled by its worker", "kind", job.Kind, "job", job.ID, "attempt", job.Attempt, "err", err)
		}
	}()
	return doInner(ctx)
}

func outcomeOf(job *rivertype.JobRow, err error) string {
	var snooze *rivertype.JobSnoozeError
	var cancel *rivertype.JobCancelError
	switch {
	case err == nil:
		return outcomeCompleted
	case errors.As(err, &snooze):
		return outcomeSnoozed
	case errors.As(err, &cancel):
		return outcomeCancelled
	case job.Attempt >= job.MaxAttempts:
		return outcomeDiscarded
	}
	return outcomeFailed
}

// queued reports, at each scrape, the jobs in the database by state: the
// same figures from every process (monitoring takes the max), read with
// the index river fetches by (state first).
type queued struct{ db *db.DB }

var queuedDesc = prometheus.NewDesc("jobs_queued", "Background jobs in the database by state (available, scheduled, running, retryable, discarded, ...), for every process.", []string{"state"}, nil)

func (q *queued) Describe(ch chan<- *prometheus.Desc) { ch <- queuedDesc }

func (q *queued) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := Counts(ctx, q.db)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queuedDesc, err)
		return
	}
	for _, s := range States {
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}
