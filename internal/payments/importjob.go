package payments

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/jobs"
	tokens "github.com/civico-pa/civico/internal/token"
)

// The back office's import runs in the background: Accept validates a
// file line by line and, if every line is right, keeps it and queues its
// job in one transaction; the job (RunImport) creates every position in
// one transaction, or none, telling its progress on the way; the import
// page shows it (ImportRun). The command line's import (Import) goes
// through the same creation (importLines), in its own process.

// Statuses of an import.
const (
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// Limits and pauses of imports.
const (
	// ImportAttempts is how often the job of an import is tried before
	// the import is recorded as failed (a database that was away, a
	// process that stopped): river's pauses grow between attempts.
	ImportAttempts = 8
	// ImportTimeout is how long one attempt may run: the largest file
	// (MaxImportLines) takes about a minute on either database.
	ImportTimeout = 30 * time.Minute
	// ImportFilesKept is how long an import's file is kept after it
	// ended (done or failed), for the finance office to check it; a
	// periodic job deletes it then, and the import's row stays.
	ImportFilesKept = 30 * 24 * time.Hour
	// ImportsPerPage are the imports the import page lists at once.
	ImportsPerPage = 20
	// progressLines and progressPause throttle the writes of a running
	// import's progress: one at most every progressLines lines, and one
	// at least every progressPause when a line was done since.
	progressLines = 200
	progressPause = 500 * time.Millisecond
	// maxStoredErrors bounds the wrong lines kept with a failed import.
	maxStoredErrors = 1000
)

// ImportArgs is the job of an accepted import.
type ImportArgs struct {
	ID string `json:"id"`
}

// Kind names the job.
func (ImportArgs) Kind() string { return "payments.import" }

// InsertOpts are the job's attempts.
func (ImportArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: ImportAttempts} }

// ImportRun is an import: the file accepted, its progress and its outcome.
type ImportRun struct {
	ID, SHA256, Name string
	// Lines are the positions the file holds; Done those created so far.
	Lines, Done int
	Status      string
	// Positions, Notices and Amount are what a done import created.
	Positions, Notices int
	Amount             int64
	// Failure is why a failed import created nothing (a message id), and
	// Errors its wrong lines, if any.
	Failure string
	Errors  []LineError
	// By is who sent it (an actor); ByName names them for people.
	By, ByName string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// Pending is whether the import still runs (or waits to).
func (r *ImportRun) Pending() bool { return r.Status == ImportQueued || r.Status == ImportRunning }

// Percent is how much of the import is done, 0 to 100.
func (r *ImportRun) Percent() int {
	if r.Status == ImportDone {
		return 100
	}
	if r.Lines <= 0 {
		return 0
	}
	return min(100, r.Done*100/r.Lines)
}

// Step is Percent rounded down to a multiple of 5: the progress bar's
// width class (progress-<step>, the page's style allows no inline style).
func (r *ImportRun) Step() int { return r.Percent() / 5 * 5 }

// DuplicateImport refuses a file that was imported, or is being imported,
// before: Earlier is that import. It is ErrDuplicate (errors.Is).
type DuplicateImport struct {
	Earlier *ImportRun
}

func (e *DuplicateImport) Error() string {
	return fmt.Sprintf("payments: this file was accepted before (import %s, %s)", e.Earlier.ID, e.Earlier.Status)
}

// Is makes a DuplicateImport ErrDuplicate.
func (e *DuplicateImport) Is(target error) bool { return target == ErrDuplicate }

func fileSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Accept validates a file line by line (ParseImport: every wrong line is
// returned, ImportErrors, and nothing is kept) and refuses a file imported
// or being imported before (DuplicateImport). A valid new file is kept with
// its import, queued, and its job, in one transaction, audited: nothing
// accepted is lost, since the job exists if and only if the file does.
func (s *Service) Accept(ctx context.Context, name string, data []byte, rates *Rates, by Actor, byName string) (*ImportRun, error) {
	if s.Jobs == nil {
		return nil, errors.New("payments: no job queue to run imports on")
	}
	lines, err := s.ParseImport(ctx, data, rates)
	if err != nil {
		return nil, err
	}
	now := s.now()
	run := &ImportRun{ID: tokens.ID(), SHA256: fileSum(data), Name: db.CleanText(name, 200), Lines: len(lines), Status: ImportQueued,
		By: by.Name, ByName: db.Clip(byName, 200), CreatedAt: now, UpdatedAt: now}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		earlier, err := earlierImport(ctx, tx, run.SHA256, "")
		if err != nil {
			return err
		}
		if earlier != nil {
			return &DuplicateImport{Earlier: earlier}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments_import_runs (id, sha256, name, lines, done, status, by_actor, by_name, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $8)`, run.ID, run.SHA256, run.Name, run.Lines, ImportQueued, run.By, run.ByName, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments_import_files (run_id, data) VALUES ($1, $2)`, run.ID, data); err != nil {
			return err
		}
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: by.Name, Action: "payments.import.accepted", Subject: "import:" + run.ID, Remote: by.Remote,
			Details: map[string]string{"file": run.Name, "lines": strconv.Itoa(run.Lines), "sha256": run.SHA256}}); err != nil {
			return err
		}
		_, err = s.Jobs.InsertTx(ctx, tx, ImportArgs{ID: run.ID}, nil)
		return err
	})
	if err != nil && db.IsUniqueViolation(err) {
		// Another operator's same file, accepted a moment before.
		if earlier, e2 := earlierImport(ctx, s.DB, run.SHA256, ""); e2 == nil && earlier != nil {
			return nil, &DuplicateImport{Earlier: earlier}
		}
	}
	if err != nil {
		return nil, err
	}
	return run, nil
}

const runColumns = `id, sha256, name, lines, done, status, positions, notices, amount, failure, line_errors, by_actor, by_name, created_at, updated_at, finished_at`

type scanner interface{ Scan(...any) error }

func scanRun(sc scanner) (*ImportRun, error) {
	var r ImportRun
	var errs string
	var fin sql.NullTime
	if err := sc.Scan(&r.ID, &r.SHA256, &r.Name, &r.Lines, &r.Done, &r.Status, &r.Positions, &r.Notices, &r.Amount, &r.Failure, &errs, &r.By, &r.ByName,
		&r.CreatedAt, &r.UpdatedAt, &fin); err != nil {
		return nil, err
	}
	if errs != "" {
		if err := json.Unmarshal([]byte(errs), &r.Errors); err != nil {
			return nil, fmt.Errorf("payments: the wrong lines of import %s: %w", r.ID, err)
		}
	}
	if fin.Valid {
		t := fin.Time.UTC()
		r.FinishedAt = &t
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// earlierImport is the import of the file whose SHA-256 is sum, other
// than the import except, that is queued, running or done.
func earlierImport(ctx context.Context, q querier, sum, except string) (*ImportRun, error) {
	r, err := scanRun(q.QueryRowContext(ctx, `SELECT `+runColumns+` FROM payments_import_runs WHERE sha256 = $1 AND status <> 'failed' AND id <> $2`, sum, except))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

// progress is what imports running in this process have done: the
// import page reads it where the database cannot tell yet (SQLite, whose
// one writer is the import's own transaction until it commits).
type progress struct{ m sync.Map }

func (p *progress) start(id string) *atomic.Int64 {
	v, _ := p.m.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64)
}

func (p *progress) stop(id string) { p.m.Delete(id) }

func (p *progress) done(id string) (int, bool) {
	v, ok := p.m.Load(id)
	if !ok {
		return 0, false
	}
	return int(v.(*atomic.Int64).Load()), true
}

// live completes a running import's progress with this process's own.
func (s *Service) live(r *ImportRun) {
	if r.Status != ImportRunning {
		return
	}
	if n, ok := s.running.done(r.ID); ok && n > r.Done {
		r.Done = n
	}
}

// ImportRun is an import, with its progress: ErrNotFound for none.
func (s *Service) ImportRun(ctx context.Context, id string) (*ImportRun, error) {
	if !tokens.ValidID(id) {
		return nil, ErrNotFound
	}
	r, err := scanRun(s.DB.QueryRowContext(ctx, `SELECT `+runColumns+` FROM payments_import_runs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	s.live(r)
	return r, nil
}

// ImportRuns are the imports, the latest first, a page at a time, and how
// many there are.
func (s *Service) ImportRuns(ctx context.Context, page int) ([]*ImportRun, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_import_runs`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+runColumns+` FROM payments_import_runs ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`,
		ImportsPerPage, (page-1)*ImportsPerPage)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*ImportRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, 0, err
		}
		s.live(r)
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// RunImport runs an accepted import: it validates the kept file again
// and creates every position in one transaction, or none, telling its
// progress (persisted in throttled steps, and to progress when not nil).
// It is the import's job, and safe to run again: an import done, or
// failed, is left as it is (the positions and the import's record commit
// together), and one running elsewhere is waited for (LockPaymentsImport).
// A file that no longer imports (a line loaded meanwhile) fails the import
// with its lines; an error is returned only for what a later attempt may
// overcome (the database away, the process stopping).
func (s *Service) RunImport(ctx context.Context, id string, rates *Rates, progress func(done, total int)) (*ImportRun, error) {
	run, err := s.ImportRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if !run.Pending() {
		return run, nil
	}
	var data []byte
	err = s.DB.QueryRowContext(ctx, `SELECT data FROM payments_import_files WHERE run_id = $1`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return s.failImport(ctx, run, "payments.import.failure.file", nil)
	}
	if err != nil {
		return nil, err
	}
	lines, err := s.ParseImport(ctx, data, rates)
	var ie ImportErrors
	if errors.As(err, &ie) {
		// The rates changed since the file was accepted.
		return s.failImport(ctx, run, "payments.import.failure.lines", ie)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.DB.ExecContext(ctx, `UPDATE payments_import_runs SET status = $2, done = 0, lines = $3, updated_at = $4 WHERE id = $1 AND status IN ('queued', 'running')`,
		id, ImportRunning, len(lines), s.now()); err != nil {
		return nil, err
	}
	run.Status, run.Lines, run.Done = ImportRunning, len(lines), 0
	mem := s.running.start(id)
	defer s.running.stop(id)
	written, at := 0, time.Now()
	_, err = s.importLines(ctx, run, lines, Actor{Name: run.By}, func(done int) {
		mem.Store(int64(done))
		if progress != nil {
			progress(done, len(lines))
		}
		if !s.DB.WritesBesideTx() || done >= len(lines) || done-written < progressLines && (time.Since(at) < progressPause || done == written) {
			return
		}
		if _, err := s.DB.ExecContext(ctx, `UPDATE payments_import_runs SET done = $2, updated_at = $3 WHERE id = $1 AND status = 'running'`, id, done, s.now()); err != nil {
			s.log().Warn("payments: import progress not recorded", "import", id, "err", err)
		}
		written, at = done, time.Now()
	})
	var dup *DuplicateImport
	switch {
	case errors.As(err, &ie):
		return s.failImport(ctx, run, "payments.import.failure.lines", ie)
	case errors.As(err, &dup):
		return s.failImport(ctx, run, "payments.import.failure.duplicate", nil)
	case err != nil:
		return nil, err
	}
	return s.ImportRun(ctx, id)
}

// failImport records that an import created nothing, and why, audited.
func (s *Service) failImport(ctx context.Context, run *ImportRun, reason string, errs ImportErrors) (*ImportRun, error) {
	if len(errs) > maxStoredErrors {
		errs = errs[:maxStoredErrors]
	}
	text := ""
	if len(errs) > 0 {
		b, err := json.Marshal(errs)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	now := s.now()
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payments_import_runs SET status = $2, failure = $3, line_errors = $4, updated_at = $5, finished_at = $5
			WHERE id = $1 AND status IN ('queued', 'running')`, run.ID, ImportFailed, reason, text, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // ended meanwhile
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "payments.import.failed", Subject: "import:" + run.ID,
			Details: map[string]string{"file": run.Name, "reason": reason, "wrong_lines": strconv.Itoa(len(errs))}})
	})
	if err != nil {
		return nil, err
	}
	return s.ImportRun(ctx, run.ID)
}

// GiveUpImport records an import whose job ran out of attempts as failed.
func (s *Service) GiveUpImport(ctx context.Context, id string) error {
	run, err := s.ImportRun(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.failImport(ctx, run, "payments.import.failure.gave_up", nil)
	return err
}

// PurgeImportFiles deletes the files of the imports that ended before
// ImportFilesKept ago: the imports' rows stay.
func (s *Service) PurgeImportFiles(ctx context.Context) (int64, error) {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM payments_import_files WHERE run_id IN
		(SELECT id FROM payments_import_runs WHERE finished_at IS NOT NULL AND finished_at < $1)`, s.now().Add(-ImportFilesKept))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// importWorker is the job of an accepted import.
type importWorker struct {
	river.WorkerDefaults[ImportArgs]
	svc   *Service
	rates *Rates
}

// Timeout lets an attempt run as long as the largest file takes.
func (w *importWorker) Timeout(*river.Job[ImportArgs]) time.Duration { return ImportTimeout }

func (w *importWorker) Work(ctx context.Context, job *river.Job[ImportArgs]) error {
	_, err := w.svc.RunImport(ctx, job.Args.ID, w.rates, nil)
	switch {
	case errors.Is(err, ErrNotFound):
		return river.JobCancel(err)
	case err != nil && job.Attempt >= job.MaxAttempts:
		if gerr := w.svc.GiveUpImport(context.WithoutCancel(ctx), job.Args.ID); gerr != nil {
			return errors.Join(err, gerr)
		}
	}
	return err
}

// ImportJob is the kind of job that runs accepted imports.
func (s *Service) ImportJob(rates *Rates) jobs.Kind {
	return jobs.Worker[ImportArgs](&importWorker{svc: s, rates: rates})
}
