package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/jobs"
)

// benchArgs is a job that does nothing: the figure is river's and the
// database's own cost of a job (insert in a transaction, fetch, run,
// record completed).
type benchArgs struct {
	N int `json:"n"`
}

func (benchArgs) Kind() string { return "bench.noop" }

// BenchmarkJobs is jobs inserted (in batches of 100, one transaction each)
// and worked to completion by one process: the throughput of the queue on
// each engine, reported as jobs/s. With the default workers a process
// takes at most that many jobs per fetch, and river fetches at most every
// 100 ms; with 100 workers the database is what limits.
func BenchmarkJobs(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		for _, workers := range []int{jobs.DefaultWorkers, 100} {
			b.Run(fmt.Sprintf("%s/workers=%d", dialect, workers), func(b *testing.B) { benchJobs(b, dialect, workers) })
		}
	}
}

func benchJobs(b *testing.B, dialect db.Dialect, workers int) {
	var d *db.DB
	if dialect == db.SQLite {
		d = dbtest.SQLite(b)
	} else {
		d = dbtest.Postgres(b)
	}
	var done atomic.Int64
	j := newJobs(b, d, jobs.Config{Workers: workers}, func(j *jobs.Jobs) {
		j.Add(jobs.Work(func(context.Context, *river.Job[benchArgs]) error {
			done.Add(1)
			return nil
		}))
	})
	start(b, j)
	ctx := context.Background()
	b.ResetTimer()
	began := time.Now()
	for n := 0; n < b.N; n += 100 {
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			for k := n; k < min(n+100, b.N); k++ {
				if _, err := j.InsertTx(ctx, tx, benchArgs{N: k}, nil); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	for done.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "jobs/s")
}
