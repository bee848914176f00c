package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/jobs"
)

const jobsUsage = "expected `civico jobs list [--state failed|pending|done|all] [--kind K] [--limit N] [--before ID]`, `civico jobs show ID` or `civico jobs retry ID`"

// jobs runs `civico jobs list|show|retry`: the background jobs for the
// town's IT office, failed ones first of all.
func (c *cli) jobs(args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "show" && args[0] != "retry") {
		return usagef("%s", jobsUsage)
	}
	verb := args[0]
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("jobs " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	view := "failed"
	filter := jobs.Filter{Limit: jobs.MaxList}
	if verb == "list" {
		fs.StringVar(&view, "state", view, "failed (retryable, discarded, cancelled), pending (not done yet), done, or all")
		fs.StringVar(&filter.Kind, "kind", "", "only jobs of this kind, e.g. forms.collect-unreferenced-files")
		fs.IntVar(&filter.Limit, "limit", jobs.MaxList, fmt.Sprintf("most jobs to print, newest first (at most %d)", jobs.MaxList))
		fs.Int64Var(&filter.Before, "before", 0, "only jobs older than this id (the next page)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return usagef("%v", err)
	}
	var id int64
	switch {
	case verb == "list" && fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	case verb != "list":
		if fs.NArg() != 1 {
			return usagef("expected `civico jobs %s ID`", verb)
		}
		if id, err = strconv.ParseInt(fs.Arg(0), 10, 64); err != nil || id <= 0 {
			return usagef("%q is not a job id (a number, as `civico jobs list` prints)", fs.Arg(0))
		}
	}
	if verb == "list" {
		states, ok := jobs.Views[view]
		if !ok {
			return usagef("--state must be failed, pending, done or all, not %q", view)
		}
		filter.States = states
		if filter.Limit < 1 || filter.Limit > jobs.MaxList {
			return usagef("--limit must be from 1 to %d", jobs.MaxList)
		}
	}
	ctx := context.Background()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), true)
	if err != nil {
		return err
	}
	defer d.Close()
	q := jobs.New(d, jobs.Config{})
	if err := q.Ready(); err != nil {
		return err
	}
	switch verb {
	case "list":
		counts, err := jobs.Counts(ctx, d)
		if err != nil {
			return err
		}
		list, err := q.List(ctx, filter)
		if err != nil {
			return err
		}
		c.printJobs(counts, list, view, filter)
		return nil
	case "show":
		job, err := q.Get(ctx, id)
		if errors.Is(err, jobs.ErrNoJob) {
			return fmt.Errorf("no job %d: `civico jobs list --state all` lists them", id)
		}
		if err != nil {
			return err
		}
		c.printJob(job)
		return nil
	}
	job, err := q.Retry(ctx, id)
	switch {
	case errors.Is(err, jobs.ErrNoJob):
		return fmt.Errorf("no job %d: `civico jobs list` lists the failed ones", id)
	case errors.Is(err, jobs.ErrNotFailed):
		return fmt.Errorf("%w; nothing changed", err)
	case err != nil:
		return err
	}
	if err := (&audit.Log{DB: d}).RecordNow(ctx, audit.Entry{Actor: "cli", Action: "jobs.retried", Subject: fmt.Sprintf("job:%d", id),
		Details: map[string]string{"kind": job.Kind}}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "job %d (%s) will run again at once: %s, attempt %d of %d so far\n", job.ID, job.Kind, job.State, job.Attempt, job.MaxAttempts)
	return nil
}

func (c *cli) printJobs(counts map[rivertype.JobState]int64, list []*rivertype.JobRow, view string, filter jobs.Filter) {
	var parts []string
	for _, s := range jobs.States {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(c.stdout, "jobs in the database: %s\n", strings.Join(parts, ", "))
	if len(list) == 0 {
		fmt.Fprintf(c.stdout, "no %s jobs match\n", view)
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPTS\tWHEN (UTC)\tLAST ERROR")
	for _, j := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts, when(j), lastError(j, 80))
	}
	_ = tw.Flush()
	if len(list) == filter.Limit {
		fmt.Fprintf(c.stdout, "more jobs may follow: add --before %d\n", list[len(list)-1].ID)
	}
	if view == "failed" {
		fmt.Fprintln(c.stdout, "`civico jobs show ID` prints a job's errors; `civico jobs retry ID` runs it again at once")
	}
}

// when is the time that matters in a job's state: when it ended, when it
// started running, or when it is due.
func when(j *rivertype.JobRow) string {
	var at time.Time
	switch {
	case j.FinalizedAt != nil:
		at = *j.FinalizedAt
	case j.State == rivertype.JobStateRunning && j.AttemptedAt != nil:
		at = *j.AttemptedAt
	default:
		at = j.ScheduledAt
	}
	prefix := ""
	if j.FinalizedAt == nil && j.State != rivertype.JobStateRunning {
		prefix = "due "
	}
	return prefix + at.UTC().Format(time.DateTime)
}

// lastError is the first line of the latest attempt's error, cut at n
// runes, without control characters (the last column: nothing to quote).
func lastError(j *rivertype.JobRow, n int) string {
	if len(j.Errors) == 0 {
		return "-"
	}
	msg, _, _ := strings.Cut(j.Errors[len(j.Errors)-1].Error, "\n")
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, msg)
	if r := []rune(msg); len(r) > n {
		msg = string(r[:n-1]) + "…"
	}
	return dash(msg)
}

func (c *cli) printJob(j *rivertype.JobRow) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "job\t%d\n", j.ID)
	fmt.Fprintf(tw, "kind\t%s\n", j.Kind)
	fmt.Fprintf(tw, "state\t%s\n", j.State)
	fmt.Fprintf(tw, "attempts\t%d of %d\n", j.Attempt, j.MaxAttempts)
	fmt.Fprintf(tw, "created (UTC)\t%s\n", j.CreatedAt.UTC().Format(time.DateTime))
	fmt.Fprintf(tw, "scheduled (UTC)\t%s\n", j.ScheduledAt.UTC().Format(time.DateTime))
	if j.FinalizedAt != nil {
		fmt.Fprintf(tw, "ended (UTC)\t%s\n", j.FinalizedAt.UTC().Format(time.DateTime))
	}
	if len(j.AttemptedBy) > 0 {
		fmt.Fprintf(tw, "run by\t%s\n", strings.Join(j.AttemptedBy, ", "))
	}
	fmt.Fprintf(tw, "args\t%s\n", j.EncodedArgs)
	_ = tw.Flush()
	if len(j.Errors) == 0 {
		fmt.Fprintln(c.stdout, "no errors")
		return
	}
	errs := j.Errors
	sort.Slice(errs, func(a, b int) bool { return errs[a].Attempt < errs[b].Attempt })
	fmt.Fprintln(c.stdout, "errors:")
	for _, e := range errs {
		fmt.Fprintf(c.stdout, "  attempt %d at %s UTC: %s\n", e.Attempt, e.At.UTC().Format(time.DateTime), strings.ReplaceAll(e.Error, "\n", "\n    "))
	}
}
