package sportello

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Form is one version of a service's application form.
type Form struct {
	ID        string
	ServiceID string
	Version   int
	// Status is "draft" (being written, changes in place) or "published"
	// (what residents fill; never changed again).
	Status      string
	Def         *Definition
	CreatedAt   time.Time
	CreatedBy   string
	UpdatedAt   time.Time
	PublishedAt *time.Time
	PublishedBy string
}

// Published reports whether the version is published.
func (f *Form) Published() bool { return f.Status == "published" }

// Form statuses.
const (
	FormDraft     = "draft"
	FormPublished = "published"
)

// Errors of the forms.
var (
	ErrNoForm = problem.New(problem.NotFound, "sportello.error.no_form", errors.New("no published form for the service"))
	// ErrNoDraft: the service has no draft to publish or discard.
	ErrNoDraft = problem.New(problem.Conflict, "sportello.error.no_draft", errors.New("no draft version"))
)

// Forms keeps the forms' versions. A published version never changes, so
// versions read by id are kept in memory (cached, below) for as long as
// the process lives, within its bound: what residents fill and what an
// application was filled with are read at every page.
type Forms struct {
	DB    *db.DB
	Audit audit.Writer
	Now   func() time.Time

	// cached holds published versions by id. Key: the version's id.
	// Purge rule: none needed, a published version is immutable (the
	// database's triggers refuse any change); drafts are never kept.
	cached *cache.Cache[string, *Form]
}

// NewForms returns the forms store, keeping up to 1024 published versions
// in memory.
func NewForms(d *db.DB, a audit.Writer) *Forms {
	return &Forms{DB: d, Audit: a, cached: cache.New[string, *Form](24*time.Hour, 1024)}
}

func (s *Forms) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

const formColumns = `id, service_id, version, status, definition, created_at, created_by, updated_at, published_at, published_by`

type scanner interface{ Scan(...any) error }

func scanForm(r scanner) (*Form, error) {
	f := &Form{}
	var def string
	var published sql.NullTime
	if err := r.Scan(&f.ID, &f.ServiceID, &f.Version, &f.Status, &def, &f.CreatedAt, &f.CreatedBy, &f.UpdatedAt, &published, &f.PublishedBy); err != nil {
		return nil, err
	}
	d, err := ParseDefinition([]byte(def))
	if err != nil {
		return nil, fmt.Errorf("stored form %s: %w", f.ID, err)
	}
	f.Def = d
	if published.Valid {
		t := published.Time.UTC()
		f.PublishedAt = &t
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return f, nil
}

// ByID reads a version; a published one from memory after the first time.
func (s *Forms) ByID(ctx context.Context, id string) (*Form, error) {
	if f, ok := s.cached.Get(id); ok {
		return f, nil
	}
	stamp := s.cached.Stamp()
	f, err := scanForm(s.DB.QueryRowContext(ctx, `SELECT `+formColumns+` FROM sportello_forms WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.New(problem.NotFound, "", fmt.Errorf("form version %s: %w", id, err))
	}
	if err != nil {
		return nil, err
	}
	if f.Published() {
		s.cached.Put(stamp, id, f)
	}
	return f, nil
}

// Current is the newest published version of a service's form, what a
// new application is filled with (ErrNoForm when there is none).
func (s *Forms) Current(ctx context.Context, serviceID string) (*Form, error) {
	var id string
	err := s.DB.QueryRowContext(ctx, `SELECT id FROM sportello_forms WHERE service_id = $1 AND status = 'published' ORDER BY version DESC LIMIT 1`, serviceID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoForm
	}
	if err != nil {
		return nil, err
	}
	return s.ByID(ctx, id)
}

// Versions lists a service's versions, newest first.
func (s *Forms) Versions(ctx context.Context, serviceID string) ([]*Form, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+formColumns+` FROM sportello_forms WHERE service_id = $1 ORDER BY version DESC`, serviceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Form
	for rows.Next() {
		f, err := scanForm(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Online lists the services with a published form, and the newest
// version's number of each.
func (s *Forms) Online(ctx context.Context) (map[string]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT service_id, MAX(version) FROM sportello_forms WHERE status = 'published' GROUP BY service_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var v int
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

// Drafts lists the services with a draft version, and its number.
func (s *Forms) Drafts(ctx context.Context) (map[string]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT service_id, version FROM sportello_forms WHERE status = 'draft'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var v int
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

// Edit changes a service's draft version with fn, in one transaction:
// when the service has no draft, the draft is made first, a copy of the
// newest version (or, for a service without any, of start). The changed
// definition must validate, or nothing is saved and the DefinitionError
// comes back. by is the account id of the author.
func (s *Forms) Edit(ctx context.Context, serviceID, by, remote string, start *Definition, fn func(*Definition) error) (*Form, error) {
	var out *Form
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		draft, err := s.draftTx(ctx, tx, serviceID, by, start)
		if err != nil {
			return err
		}
		def := draft.Def.Clone()
		if err := fn(def); err != nil {
			return err
		}
		if err := def.Validate(); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE sportello_forms SET definition = $1, updated_at = $2 WHERE id = $3 AND status = 'draft'`,
			string(def.JSON()), now, draft.ID); err != nil {
			return err
		}
		draft.Def, draft.UpdatedAt = def, now
		out = draft
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + by, Action: "sportello.form.edited", Subject: "service:" + serviceID,
			Remote: remote, Details: map[string]string{"version": strconv.Itoa(draft.Version)}})
	})
	return out, err
}

// draftTx returns the service's draft, making it when there is none.
func (s *Forms) draftTx(ctx context.Context, tx *sql.Tx, serviceID, by string, start *Definition) (*Form, error) {
	f, err := scanForm(tx.QueryRowContext(ctx, `SELECT `+formColumns+` FROM sportello_forms WHERE service_id = $1 AND status = 'draft'`, serviceID))
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	// The newest version is copied; the version numbers are taken in this
	// transaction (two authors at once: the unique index on the draft
	// refuses the second, who tries again).
	var latest int
	var def string
	err = tx.QueryRowContext(ctx, `SELECT version, definition FROM sportello_forms WHERE service_id = $1 ORDER BY version DESC LIMIT 1`, serviceID).Scan(&latest, &def)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if start == nil {
			return nil, ErrNoForm
		}
		def = string(start.JSON())
	case err != nil:
		return nil, err
	}
	d, err := ParseDefinition([]byte(def))
	if err != nil {
		return nil, err
	}
	now := s.now()
	f = &Form{ID: tokens.ID(), ServiceID: serviceID, Version: latest + 1, Status: FormDraft, Def: d, CreatedAt: now, CreatedBy: by, UpdatedAt: now}
	_, err = tx.ExecContext(ctx, `INSERT INTO sportello_forms (`+formColumns+`) VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, NULL, '')`,
		f.ID, serviceID, f.Version, def, now, by, now)
	return f, err
}

// Publish makes the service's draft the version residents fill. It is
// never changed again.
func (s *Forms) Publish(ctx context.Context, serviceID, by, remote string) (*Form, error) {
	var out *Form
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		f, err := scanForm(tx.QueryRowContext(ctx, `SELECT `+formColumns+` FROM sportello_forms WHERE service_id = $1 AND status = 'draft'`+s.DB.ForUpdate(), serviceID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoDraft
		}
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE sportello_forms SET status = 'published', published_at = $1, published_by = $2, updated_at = $1 WHERE id = $3 AND status = 'draft'`,
			now, by, f.ID); err != nil {
			return err
		}
		f.Status, f.PublishedAt, f.PublishedBy, f.UpdatedAt = FormPublished, &now, by, now
		out = f
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + by, Action: "sportello.form.published", Subject: "service:" + serviceID,
			Remote: remote, Details: map[string]string{"version": strconv.Itoa(f.Version), "form": f.ID}})
	})
	return out, err
}

// DiscardDraft removes the service's draft version.
func (s *Forms) DiscardDraft(ctx context.Context, serviceID, by, remote string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sportello_forms WHERE service_id = $1 AND status = 'draft'`, serviceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoDraft
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + by, Action: "sportello.form.draft_discarded", Subject: "service:" + serviceID, Remote: remote})
	})
}

// Seed publishes def as version 1 of a service's form unless the service
// has a version already (the demo's forms). It reports whether it did.
func (s *Forms) Seed(ctx context.Context, serviceID string, def *Definition, by string) (bool, error) {
	if err := def.Validate(); err != nil {
		return false, err
	}
	seeded := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sportello_forms WHERE service_id = $1`, serviceID).Scan(&n); err != nil || n > 0 {
			return err
		}
		now := s.now()
		id := tokens.ID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO sportello_forms (`+formColumns+`) VALUES ($1, $2, 1, 'published', $3, $4, $5, $4, $4, $5)`,
			id, serviceID, string(def.JSON()), now, by); err != nil {
			return err
		}
		seeded = true
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: by, Action: "sportello.form.published", Subject: "service:" + serviceID,
			Details: map[string]string{"version": "1", "form": id}})
	})
	return seeded, err
}
