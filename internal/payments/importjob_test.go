package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/jobs"
)

// canteenFile is an import file of n canteen positions, ids from prefix.
func canteenFile(prefix string, n int) []byte {
	var b strings.Builder
	b.WriteString("id,codice_fiscale,nominativo,categoria,causale,anno,importo,scadenza,rate\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%05d,RSSMRA85T10A562S,Mario Rossi,mensa,Mensa ottobre,2026,\"4,50\",2026-11-30,\n", prefix, i)
	}
	return []byte(b.String())
}

func importJob(id string, attempt int) *river.Job[ImportArgs] {
	return &river.Job[ImportArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: ImportAttempts}, Args: ImportArgs{ID: id}}
}

// An accepted file waits with its job; the job, stopped half-way (the
// process killed), created nothing and runs again from the start; its
// progress is written in throttled steps (PostgreSQL) or kept in memory
// (SQLite's one writer is the import's transaction); run again after its
// commit it does nothing; the same file is refused while it is queued,
// running or done, and sent again after a failure; ended imports' files
// are deleted after ImportFilesKept.
func TestImportJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newService(t, d)
		rates, _ := DemoRates()
		q := jobs.New(d, jobs.Config{})
		q.Add(s.ImportJob(rates))
		if err := q.Ready(); err != nil {
			t.Fatal(err)
		}
		s.Jobs = q
		op := Actor{Name: "operator:ragioneria", Remote: "192.0.2.7"}

		// A wrong file: nothing kept.
		bad := append(canteenFile("B", 3), []byte("B-9,RSSMRA85T10A562S,,mensa,Mensa,2026,abc,2026-11-30,\n")...)
		if _, err := s.Accept(ctx, "bad.csv", bad, rates, op, "Ragioneria"); !errors.As(err, new(ImportErrors)) {
			t.Fatalf("a wrong file accepted: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_import_runs`) + count(t, d, `SELECT COUNT(*) FROM payments_import_files`); n != 0 {
			t.Fatalf("a wrong file left %d rows", n)
		}

		data := canteenFile("M", 1000)
		run, err := s.Accept(ctx, "ottobre.csv", data, rates, op, "Ragioneria")
		if err != nil || run.Status != ImportQueued || run.Lines != 1000 {
			t.Fatalf("accept: %+v %v", run, err)
		}
		queued, err := q.List(ctx, jobs.Filter{Kind: "payments.import", Limit: 10})
		if err != nil || len(queued) != 1 || !strings.Contains(string(queued[0].EncodedArgs), run.ID) {
			t.Fatalf("the import's job: %d %v", len(queued), err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'payments.import.accepted' AND subject = $1`, "import:"+run.ID); n != 1 {
			t.Fatalf("%d audit entries of the upload", n)
		}

		// The same file by another operator while it waits.
		_, err = s.Accept(ctx, "ottobre-copia.csv", data, rates, Actor{Name: "operator:altro"}, "Altro")
		var dup *DuplicateImport
		if !errors.As(err, &dup) || dup.Earlier.ID != run.ID || !errors.Is(err, ErrDuplicate) {
			t.Fatalf("the same file twice: %v", err)
		}

		// Killed half-way: nothing created; its progress on the way.
		stopped, stop := context.WithCancel(ctx)
		_, err = s.RunImport(stopped, run.ID, rates, func(done, total int) {
			if done != 450 {
				return
			}
			seen, err := s.ImportRun(ctx, run.ID)
			if err != nil || seen.Status != ImportRunning || seen.Done != 450 || seen.Lines != 1000 || seen.Percent() != 45 || seen.Step() != 45 {
				t.Errorf("half-way: %+v %v", seen, err)
			}
			persisted := count(t, d, `SELECT done FROM payments_import_runs WHERE id = $1`, run.ID)
			if d.WritesBesideTx() && (persisted < progressLines || persisted >= 450) || !d.WritesBesideTx() && persisted != 0 {
				t.Errorf("progress written: %d at line 450", persisted)
			}
			stop()
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_positions`); n != 0 {
			t.Fatalf("a stopped import created %d positions", n)
		}
		if r, _ := s.ImportRun(ctx, run.ID); r.Status != ImportRunning {
			t.Fatalf("a stopped import is %s", r.Status)
		}

		// The job again: all of it.
		w := &importWorker{svc: s, rates: rates}
		if err := w.Work(ctx, importJob(run.ID, 2)); err != nil {
			t.Fatal(err)
		}
		done, err := s.ImportRun(ctx, run.ID)
		if err != nil || done.Status != ImportDone || done.Done != 1000 || done.Positions != 1000 || done.Notices != 1000 || done.Amount != 450000 || done.FinishedAt == nil {
			t.Fatalf("done: %+v %v", done, err)
		}
		// Run twice: after its commit, nothing more; and a worker that
		// read the import as running before that commit finds it under
		// the lock and creates nothing either.
		if err := w.Work(ctx, importJob(run.ID, 3)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `UPDATE payments_import_runs SET status = 'running' WHERE id = $1`, run.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.Work(ctx, importJob(run.ID, 4)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_positions`); n != 1000 {
			t.Fatalf("%d positions after running the job three times", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'payments.import'`); n != 1 {
			t.Fatalf("%d audit entries of the completion", n)
		}
		// Done: the same file is refused, on the web and the command line.
		if _, err := s.Accept(ctx, "ottobre.csv", data, rates, op, "Ragioneria"); !errors.As(err, &dup) || dup.Earlier.Status != ImportDone {
			t.Fatalf("a file imported before: %v", err)
		}
		lines, _ := s.ParseImport(ctx, data, rates)
		if _, err := s.Import(ctx, "ottobre.csv", data, lines, Actor{Name: "cli"}, nil); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("the command line, a file imported before: %v", err)
		}

		// A file whose ids were loaded meanwhile fails whole, with its
		// lines; the same file may then be sent again.
		clash := append(canteenFile("N", 2), []byte("M-00007,RSSMRA85T10A562S,,mensa,Mensa,2026,1,2026-11-30,\n")...)
		second, err := s.Accept(ctx, "novembre.csv", clash, rates, op, "Ragioneria")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Work(ctx, importJob(second.ID, 1)); err != nil {
			t.Fatal(err)
		}
		failed, _ := s.ImportRun(ctx, second.ID)
		if failed.Status != ImportFailed || failed.Failure != "payments.import.failure.lines" || len(failed.Errors) != 1 || failed.Errors[0].Line != 4 ||
			failed.Errors[0].Message != "payments.import.error.loaded" {
			t.Fatalf("a file with loaded ids: %+v", failed)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_positions`); n != 1000 {
			t.Fatalf("%d positions after a failed import", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'payments.import.failed'`); n != 1 {
			t.Fatalf("%d audit entries of the failure", n)
		}
		third, err := s.Accept(ctx, "novembre.csv", clash, rates, op, "Ragioneria")
		if err != nil {
			t.Fatalf("a failed file sent again: %v", err)
		}
		// Its job out of attempts: failed, not left running.
		dead, cancel := context.WithCancel(ctx)
		cancel()
		if err := w.Work(dead, importJob(third.ID, ImportAttempts)); err == nil {
			t.Fatal("a job on a cancelled context succeeded")
		}
		if r, _ := s.ImportRun(ctx, third.ID); r.Status != ImportFailed || r.Failure != "payments.import.failure.gave_up" {
			t.Fatalf("out of attempts: %+v", r)
		}

		runs, total, err := s.ImportRuns(ctx, 1)
		if err != nil || total != 3 || len(runs) != 3 || runs[0].ID != third.ID || runs[2].ID != run.ID {
			t.Fatalf("the list: %d %d %v", total, len(runs), err)
		}

		// Retention: the files of imports ended ImportFilesKept ago.
		if n, err := s.PurgeImportFiles(ctx); err != nil || n != 0 {
			t.Fatalf("purged at once: %d %v", n, err)
		}
		s.Now = func() time.Time { return time.Now().Add(ImportFilesKept + time.Hour) }
		if n, err := s.PurgeImportFiles(ctx); err != nil || n != 3 {
			t.Fatalf("purged: %d %v", n, err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_import_runs`); n != 3 {
			t.Fatalf("%d imports after the files went", n)
		}
	})
}

// Operators sending the same file at the same moment: one import is
// accepted, every other is told of it.
func TestOperatorsSendTheSameFileAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newService(t, d)
		rates, _ := DemoRates()
		q := jobs.New(d, jobs.Config{})
		q.Add(s.ImportJob(rates))
		if err := q.Ready(); err != nil {
			t.Fatal(err)
		}
		s.Jobs = q
		data := canteenFile("S", 50)
		const n = 8
		type result struct {
			run *ImportRun
			err error
		}
		results := make(chan result, n)
		start := make(chan struct{})
		for i := range n {
			go func() {
				<-start
				run, err := s.Accept(ctx, "dicembre.csv", data, rates, Actor{Name: fmt.Sprintf("operator:%d", i)}, "")
				results <- result{run, err}
			}()
		}
		close(start)
		var accepted *ImportRun
		dups := 0
		for range n {
			r := <-results
			var dup *DuplicateImport
			switch {
			case r.err == nil && accepted == nil:
				accepted = r.run
			case errors.As(r.err, &dup):
				dups++
			default:
				t.Errorf("a send: %+v %v", r.run, r.err)
			}
		}
		if accepted == nil || dups != n-1 {
			t.Fatalf("accepted %v, %d told of it", accepted, dups)
		}
		if c := count(t, d, `SELECT COUNT(*) FROM payments_import_runs`) + count(t, d, `SELECT COUNT(*) FROM payments_import_files`); c != 2 {
			t.Fatalf("%d rows for one accepted file", c)
		}
		if list, err := q.List(ctx, jobs.Filter{Kind: "payments.import", Limit: 10}); err != nil || len(list) != 1 {
			t.Fatalf("%d jobs, %v", len(list), err)
		}
	})
}
