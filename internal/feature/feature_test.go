package feature_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/jobs"
)

// exportArgs is a job a feature "applications" inserts with its writes.
type exportArgs struct {
	Ref string `json:"ref"`
}

func (exportArgs) Kind() string { return "applications.export" }

// strayArgs is a kind named after another feature.
type strayArgs struct{}

func (strayArgs) Kind() string { return "news.export" }

// A feature declares its jobs on the Host as docs/ARCHITECTURE.md says: a
// kind it inserts in its own transaction runs, a periodic job is listed
// with its kind, and a kind outside the feature's name is refused.
func TestAFeatureDeclaresItsJobs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ran := make(chan string, 1)
		h := &feature.Host{DB: d, Jobs: jobs.New(d, jobs.Config{Test: true, PollInterval: 100 * time.Millisecond})}
		err := h.Wire([]feature.Feature{{Name: "applications", Wire: func(h *feature.Host) error {
			h.Job(jobs.Work(func(_ context.Context, job *river.Job[exportArgs]) error {
				ran <- job.Args.Ref
				return nil
			}))
			h.Every("expired drafts", time.Hour, func(context.Context) error { return nil })
			return nil
		}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Jobs.Ready(); err != nil {
			t.Fatal(err)
		}
		if tasks := h.Tasks(); len(tasks) != 1 || tasks[0].Feature != "applications" || tasks[0].Name != "expired drafts" || tasks[0].Every != time.Hour {
			t.Errorf("tasks: %+v", tasks)
		}
		kinds := strings.Join(h.Jobs.Kinds(), " ")
		if !strings.Contains(kinds, "applications.export") || !strings.Contains(kinds, "applications.expired-drafts") {
			t.Errorf("kinds: %s", kinds)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := h.Jobs.InsertTx(ctx, tx, exportArgs{Ref: "2026/41"}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := h.Jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := h.Jobs.Stop(sctx); err != nil {
				t.Error(err)
			}
		}()
		select {
		case ref := <-ran:
			if ref != "2026/41" {
				t.Errorf("the job ran with %q", ref)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the feature's job did not run")
		}
		list, err := h.Jobs.List(ctx, jobs.Filter{Kind: "applications.export", States: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateCompleted}, Limit: 10})
		if err != nil || len(list) != 1 {
			t.Errorf("the feature's jobs: %d, %v", len(list), err)
		}

		stray := &feature.Host{DB: d, Jobs: jobs.New(d, jobs.Config{})}
		if err := stray.Wire([]feature.Feature{{Name: "applications", Wire: func(h *feature.Host) error {
			h.Job(jobs.Work(func(context.Context, *river.Job[strayArgs]) error { return nil }))
			return nil
		}}}); err != nil {
			t.Fatal(err)
		}
		if err := stray.Jobs.Ready(); err == nil || !strings.Contains(err.Error(), `job kind "news.export" must start with "applications."`) {
			t.Errorf("a kind named after another feature: %v", err)
		}
	})
}
