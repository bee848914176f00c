package cards

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/token"
)

// The kinds of file the back office uploads.
const (
	KindRegistry  = "registry"
	KindEnvelopes = "envelopes"
)

// The states of an upload.
const (
	UploadQueued = "queued"
	UploadDone   = "done"
	UploadFailed = "failed"
)

// UploadArgs is the job that imports an accepted upload.
type UploadArgs struct {
	ID string `json:"id"`
}

// Kind names the job.
func (UploadArgs) Kind() string { return "cards.import" }

// InsertOpts are the job's attempts: river's pauses grow between them.
func (UploadArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

// Upload is a file sent from the back office and its outcome.
type Upload struct {
	ID, Kind, FileName, SHA256 string
	Lines                      int
	Status, Failure            string
	Actor, ActorName           string
	CreatedAt                  time.Time
	FinishedAt                 *time.Time
}

// ErrUploadedBefore is a file uploaded or imported before.
var ErrUploadedBefore = problem.New(problem.Conflict, "cards.error.duplicate", errors.New("cards: this file was sent before"))

// check reads a file of kind as its import would, returning its lines.
func (s *Service) check(ctx context.Context, kind, name string, data []byte) (int, error) {
	switch kind {
	case KindRegistry:
		list, err := ParseRegistry(name, data, s.now())
		return len(list), err
	case KindEnvelopes:
		list, err := s.ParseEnvelopes(ctx, name, data)
		return len(list), err
	}
	return 0, problem.Fields{"kind": "cards.error.kind"}
}

// Accept checks an uploaded file line by line and, if every line is right,
// keeps it and queues its job in one transaction: the job exists if and
// only if the file was accepted. A wrong line refuses it whole
// (LineErrors); a file sent or imported before is ErrUploadedBefore.
func (s *Service) Accept(ctx context.Context, kind, name string, data []byte, actor, actorName string) (*Upload, error) {
	if s.Jobs == nil {
		return nil, errors.New("cards: no job queue")
	}
	name = db.CleanText(name, 200)
	n, err := s.check(ctx, kind, name, data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	u := &Upload{ID: token.ID(), Kind: kind, FileName: name, SHA256: hex.EncodeToString(sum[:]), Lines: n, Status: UploadQueued,
		Actor: actor, ActorName: actorName, CreatedAt: s.now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var dup int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM card_uploads WHERE sha256 = $1) + (SELECT COUNT(*) FROM card_imports WHERE sha256 = $1)`,
			u.SHA256).Scan(&dup); err != nil {
			return err
		}
		if dup > 0 {
			return ErrUploadedBefore
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_uploads (id, kind, file_name, sha256, data, lines, status, actor, actor_name, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, u.ID, u.Kind, u.FileName, u.SHA256, string(data), u.Lines, u.Status, u.Actor, u.ActorName, u.CreatedAt); err != nil {
			return err
		}
		if _, err := s.Jobs.InsertTx(ctx, tx, UploadArgs{ID: u.ID}, nil); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "cards.upload.accepted", Subject: "card_upload:" + u.ID,
			Details: map[string]string{"kind": kind, "file": name, "sha256": u.SHA256, "lines": fmt.Sprint(n)}})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// RunUpload is the job: it imports the upload's file through the same
// functions as the command line, once. Run again (a retry, a process
// killed after the import committed) it finds the file imported and only
// records the end. A file whose lines became wrong since it was accepted
// (an envelope's card not in the registry any more) fails, nothing
// imported.
func (s *Service) RunUpload(ctx context.Context, id string) (*Upload, error) {
	u, data, err := s.upload(ctx, id)
	if err != nil || u.Status != UploadQueued {
		return u, err
	}
	// Imported already (the job ran and its process stopped before it
	// recorded the end): only the end is recorded.
	var imported int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_imports WHERE sha256 = $1`, u.SHA256).Scan(&imported); err != nil {
		return u, err
	}
	switch {
	case imported > 0:
		err = ErrDuplicate
	case u.Kind == KindRegistry:
		var list []Card
		if list, err = ParseRegistry(u.FileName, data, s.now()); err == nil {
			_, err = s.Registry.Import(ctx, u.FileName, data, list, u.Actor, nil)
		}
	case u.Kind == KindEnvelopes:
		var list []envelopeFile
		if list, err = s.ParseEnvelopes(ctx, u.FileName, data); err == nil {
			_, err = s.ImportEnvelopes(ctx, u.FileName, data, list, u.Actor, nil)
		}
	}
	status, failure := UploadDone, ""
	var le LineErrors
	switch {
	case err == nil, errors.Is(err, ErrDuplicate):
	case errors.As(err, &le):
		status, failure = UploadFailed, le[0].Message
	default:
		return u, err // retried by river
	}
	now := s.now()
	_, err = s.DB.ExecContext(ctx, `UPDATE card_uploads SET status = $1, failure = $2, data = NULL, finished_at = $3 WHERE id = $4 AND status = 'queued'`,
		status, failure, now, id)
	u.Status, u.Failure, u.FinishedAt = status, failure, &now
	return u, err
}

func (s *Service) upload(ctx context.Context, id string) (*Upload, []byte, error) {
	u := &Upload{}
	var data sql.NullString
	err := s.DB.QueryRowContext(ctx, `SELECT id, kind, file_name, sha256, data, lines, status, failure, actor, actor_name, created_at, finished_at
		FROM card_uploads WHERE id = $1`, id).Scan(&u.ID, &u.Kind, &u.FileName, &u.SHA256, &data, &u.Lines, &u.Status, &u.Failure, &u.Actor, &u.ActorName,
		&u.CreatedAt, &u.FinishedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, problem.New(problem.NotFound, "", errors.New("cards: no such upload"))
	}
	return u, []byte(data.String), err
}

// Upload reads one upload (without its file).
func (s *Service) Upload(ctx context.Context, id string) (*Upload, error) {
	u, _, err := s.upload(ctx, id)
	return u, err
}

// Uploads lists the latest uploads, newest first.
func (s *Service) Uploads(ctx context.Context, limit int) ([]*Upload, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, kind, file_name, sha256, lines, status, failure, actor, actor_name, created_at, finished_at
		FROM card_uploads ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Upload
	for rows.Next() {
		u := &Upload{}
		if err := rows.Scan(&u.ID, &u.Kind, &u.FileName, &u.SHA256, &u.Lines, &u.Status, &u.Failure, &u.Actor, &u.ActorName, &u.CreatedAt, &u.FinishedAt); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// uploadJob is the job's kind, as the feature registers it.
func (s *Service) uploadJob() jobs.Kind {
	return jobs.Work(func(ctx context.Context, job *river.Job[UploadArgs]) error {
		_, err := s.RunUpload(ctx, job.Args.ID)
		return err
	})
}
