package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/db"
)

// States are river's states of a job, in the order a job goes through them.
var States = []rivertype.JobState{
	rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateAvailable, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded,
}

// Views are the groups of states an operator asks for.
var Views = map[string][]rivertype.JobState{
	// failed: waiting for a retry, given up, or cancelled by their worker.
	"failed": {rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled},
	// pending: not done yet.
	"pending": {rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable},
	"done":    {rivertype.JobStateCompleted},
	"all":     States,
}

// Counts are the jobs in the database by state.
func Counts(ctx context.Context, d *db.DB) (map[rivertype.JobState]int64, error) {
	rows, err := d.QueryContext(ctx, `SELECT state, COUNT(*) FROM river_job GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[rivertype.JobState]int64{}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[rivertype.JobState(state)] = n
	}
	return out, rows.Err()
}

// MaxList is the most jobs one List returns.
const MaxList = 50

// Filter chooses the jobs List returns, newest first.
type Filter struct {
	States []rivertype.JobState
	Kind   string
	// Before is a job id: only older jobs (the next page).
	Before int64
	Limit  int
}

// List returns the jobs that match f, newest first.
func (j *Jobs) List(ctx context.Context, f Filter) ([]*rivertype.JobRow, error) {
	c, err := j.get()
	if err != nil {
		return nil, err
	}
	if f.Limit < 1 || f.Limit > MaxList {
		return nil, fmt.Errorf("a list holds 1 to %d jobs", MaxList)
	}
	p := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(f.Limit)
	if len(f.States) > 0 {
		p = p.States(f.States...)
	}
	if f.Kind != "" {
		p = p.Kinds(f.Kind)
	}
	if f.Before > 0 {
		p = p.Where("id < @before", river.NamedArgs{"before": f.Before})
	}
	res, err := c.JobList(ctx, p)
	if err != nil {
		return nil, err
	}
	return res.Jobs, nil
}

// ErrNoJob means no job has the id asked for.
var ErrNoJob = errors.New("no job with this id")

// Get returns a job.
func (j *Jobs) Get(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	c, err := j.get()
	if err != nil {
		return nil, err
	}
	job, err := c.JobGet(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, ErrNoJob
	}
	return job, err
}

// ErrNotFailed means a job that has not failed was asked to be retried.
var ErrNotFailed = errors.New("only a failed job (retryable, discarded or cancelled) can be retried")

// Retry runs a failed job again at once: one waiting for its next attempt
// stops waiting, one given up or cancelled gets one more attempt. A job
// that did not fail is left alone (ErrNotFailed): a completed one is not
// done twice, and a running or waiting one will run anyway.
func (j *Jobs) Retry(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	c, err := j.get()
	if err != nil {
		return nil, err
	}
	job, err := j.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(Views["failed"], job.State) {
		return job, fmt.Errorf("job %d is %s: %w", id, job.State, ErrNotFailed)
	}
	job, err = c.JobRetry(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, ErrNoJob
	}
	return job, err
}
