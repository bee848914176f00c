package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/jobs"
)

// periodicKinds are the periodic jobs civico's features register: the
// housekeeping that once ran in every process, and the news digest.
var periodicKinds = []string{
	"throttle.spent-budgets",
	"booking.unconfirmed-bookings",
	"cie.expired-logins",
	"booking.reminders",
	"booking.tickets-sexes",
	"booking.bookings-the-hours-no-longer-hold",
	"dashboard.figures",
	"certificates.paid-stamp-duties",
	"attachments.collect-unreferenced-attachments",
	"protocol.daily-protocol-registers",
	"identity.expired-sessions",
	"identity.sessions-of-revoked-cards",
	"identity.expired-registration-links",
	"mail.old-mail",
	"forms.collect-unreferenced-files",
	"news.digest",
	"oidcop.back-channel-logout-retries",
	"oidcop.expired-requests-and-tokens",
	"partecipa.expired-sessions",
	"partecipa.mix",
	"payments.expired-notices",
	"payments.import-files-retention",
	"payments.payment-receipts-to-their-debtors",
	"payments.payment-reminders",
	"payments.payment-reminders-delivery",
	"payments.reconciliation",
	"payments.sandbox-gateway-delayed-outcomes",
	"schools.monthly-bills",
	"schools.rankings-at-window-close",
	"segnala.purge-unconfirmed",
	"sportello.expired-applications",
	"spid.expired-requests",
	"timeuse.expired-invitations",
	"timeuse.mix",
	"timeuse.results",
	"upstream.expired-logins",
}

// workKinds are the kinds of jobs features insert with their writes
// (feature.Host.Job).
var workKinds = []string{
	"payments.import",
	"cards.import",
}

// Two processes built as serve builds them share one database: each
// periodic job runs once a period across them (a process that becomes
// leader runs them at start), and runs cleanly.
func TestPeriodicJobsRunOnceAcrossProcessesAsWired(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			h := dbtest.Handles(t, dialect, 2)
			ctx := context.Background()
			var queues []*jobs.Jobs
			// period is each periodic job's period; the daily ones' is a day.
			period := map[string]time.Duration{"news.digest": 24 * time.Hour, "booking.reminders": 24 * time.Hour, "booking.tickets-sexes": 24 * time.Hour, "sportello.expired-applications": 24 * time.Hour,
				"schools.monthly-bills": 24 * time.Hour}
			for _, d := range h {
				a := newApps(t, d)
				kinds := a.jobs.Kinds()
				slices.Sort(kinds)
				want := slices.Sorted(slices.Values(append(slices.Clone(periodicKinds), workKinds...)))
				if !slices.Equal(kinds, want) {
					t.Fatalf("job kinds registered: %v, want %v", kinds, want)
				}
				for _, task := range a.tasks {
					period[jobs.KindOf(task.Feature, task.Name)] = task.Every
				}
				queues = append(queues, a.jobs)
			}
			for _, q := range queues {
				if err := q.Start(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// Wait until every kind has completed and no job is left
			// to do (a short period may have started another meanwhile).
			deadline := time.Now().Add(60 * time.Second)
			var list []*rivertype.JobRow
			for {
				counts, err := jobs.Counts(ctx, h[0])
				if err != nil {
					t.Fatal(err)
				}
				list, err = queues[1].List(ctx, jobs.Filter{Limit: jobs.MaxList})
				if err != nil {
					t.Fatal(err)
				}
				done := map[string]bool{}
				for _, j := range list {
					done[j.Kind] = done[j.Kind] || j.State == rivertype.JobStateCompleted
				}
				if len(counts) == 1 && counts[rivertype.JobStateCompleted] > 0 && len(done) == len(periodicKinds) && !slices.Contains(slices.Collect(maps.Values(done)), false) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the periodic jobs did not all complete: %v, kinds %v", counts, done)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, q := range queues {
				stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
				if err := q.Stop(stopCtx); err != nil {
					t.Error(err)
				}
				cancel()
			}
			// Once a period: no two jobs of a kind in one period.
			ran := map[string]int{}
			slot := map[string]string{}
			for _, j := range list {
				ran[j.Kind]++
				if j.State != rivertype.JobStateCompleted || len(j.Errors) > 0 {
					t.Errorf("job %d (%s): %s, errors %v", j.ID, j.Kind, j.State, j.Errors)
				}
				p := period[j.Kind]
				if p == 0 {
					t.Errorf("job %d of an unknown kind %s", j.ID, j.Kind)
					continue
				}
				key := fmt.Sprintf("%s %d", j.Kind, j.CreatedAt.Truncate(p).Unix())
				if other, twice := slot[key]; twice {
					t.Errorf("%s ran twice in one period (jobs %s and %d)", j.Kind, other, j.ID)
				}
				slot[key] = fmt.Sprint(j.ID)
			}
			for _, k := range periodicKinds {
				if ran[k] < 1 {
					t.Errorf("%s never ran", k)
				}
			}
		})
	}
}

// brokenArgs is a job whose worker always fails: an operator's case.
type brokenArgs struct {
	Protocol string `json:"protocol"`
}

func (brokenArgs) Kind() string { return "test.broken" }

// discardedJob leaves in d a job that failed its only attempt.
func discardedJob(t *testing.T, d *db.DB) int64 {
	t.Helper()
	ctx := context.Background()
	q := jobs.New(d, jobs.Config{Test: true, PollInterval: 100 * time.Millisecond})
	q.Add(jobs.Work(func(context.Context, *river.Job[brokenArgs]) error {
		return errors.New("the protocol register refused the export:\nHTTP 503")
	}))
	if err := q.Ready(); err != nil {
		t.Fatal(err)
	}
	res, err := q.Insert(ctx, brokenArgs{Protocol: "2025/123"}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := q.Stop(stopCtx); err != nil {
			t.Error(err)
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		job, err := q.Get(ctx, res.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if job.State == rivertype.JobStateDiscarded {
			return job.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job is %s", job.State)
		}
	}
}

// `civico jobs`: the failed jobs for the town's IT office, one job's
// errors, and a retry, audited; bad input is refused with a clear word.
func TestJobsCommand(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir)
	env := map[string]string{"CIVICO_DATA_DIR": dir}
	if code, out, errOut := runCLI(t, env, "jobs", "list"); code != 0 || !strings.Contains(out, "jobs in the database: none") || !strings.Contains(out, "no failed jobs match") {
		t.Fatalf("list on an empty queue: %d %q %q", code, out, errOut)
	}
	id := discardedJob(t, d)
	code, out, errOut := runCLI(t, env, "jobs", "list")
	row := regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+test\.broken\s+discarded\s+1/1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+the protocol register refused the export:$`, id))
	if code != 0 || !strings.Contains(out, "jobs in the database: discarded 1") || !row.MatchString(out) {
		t.Errorf("jobs list: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, env, "jobs", "list", "--state", "done"); code != 0 || !strings.Contains(out, "no done jobs match") {
		t.Errorf("jobs list --state done: %d %q", code, out)
	}
	code, out, _ = runCLI(t, env, "jobs", "show", fmt.Sprint(id))
	if code != 0 || !strings.Contains(out, "kind             test.broken") || !strings.Contains(out, `{"protocol": "2025/123"}`) && !strings.Contains(out, `{"protocol":"2025/123"}`) ||
		!strings.Contains(out, "attempt 1 at ") || !strings.Contains(out, "refused the export:\n    HTTP 503") {
		t.Errorf("jobs show: %d %q", code, out)
	}
	code, out, errOut = runCLI(t, env, "jobs", "retry", fmt.Sprint(id))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("job %d (test.broken) will run again at once: available", id)) {
		t.Fatalf("jobs retry: %d %q %q", code, out, errOut)
	}
	recs, err := (&audit.Log{DB: d}).List(context.Background(), audit.ListFilter{Action: "jobs.retried", Limit: 10})
	if err != nil || len(recs) != 1 || recs[0].Subject != fmt.Sprintf("job:%d", id) || recs[0].Actor != "cli" || recs[0].Details["kind"] != "test.broken" {
		t.Errorf("audit of the retry: %+v %v", recs, err)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"jobs", "retry", fmt.Sprint(id)}, 1, "is available: only a failed job"},
		{[]string{"jobs", "retry", "999999"}, 1, "no job 999999"},
		{[]string{"jobs", "show", "999999"}, 1, "no job 999999"},
		{[]string{"jobs", "show", "abc"}, 2, `"abc" is not a job id`},
		{[]string{"jobs", "retry"}, 2, "expected `civico jobs retry ID`"},
		{[]string{"jobs", "list", "--state", "broken"}, 2, "--state must be failed, pending, done or all"},
		{[]string{"jobs", "list", "--limit", "51"}, 2, "--limit must be from 1 to 50"},
		{[]string{"jobs"}, 2, "expected `civico jobs list"},
	} {
		code, _, errOut := runCLI(t, env, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "goroutine ") {
			t.Errorf("civico %s: exit %d, %q; want %d and %q", strings.Join(tt.args, " "), code, errOut, tt.code, tt.want)
		}
	}
	// Nothing changed by the refusals: the retried job waits, once.
	if code, out, _ := runCLI(t, env, "jobs", "list", "--state", "pending"); code != 0 || strings.Count(out, "test.broken") != 1 {
		t.Errorf("pending jobs: %q", out)
	}
}
