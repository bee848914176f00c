package partecipa

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
)

// States of a consultation, as the office moves it.
const (
	StateDraft  = "draft"
	StateOpen   = "open"
	StateClosed = "closed"
)

// Consultation is a questionnaire the town puts to residents.
type Consultation struct {
	ID, Title, Summary string
	// Source is the questionnaire as the office wrote it; Questions, as
	// it reads.
	Source    string
	Questions []Question
	// MinLevel is the least assurance of a login that may answer; at low
	// the consultation is an open survey.
	MinLevel      assurance.Level
	ResidentsOnly bool
	// Districts and AgeBands, when given, are the only ones that may
	// answer (proven claims).
	Districts, AgeBands []string
	// Editable: answers may be changed until closing, with the receipt.
	Editable bool
	// LiveResults: results are public while the consultation is open.
	LiveResults       bool
	OpensAt, ClosesAt time.Time
	State             string
	PublishedAt       *time.Time
}

// Survey reports whether the consultation is an open survey: open at
// low, where one person may hold many accounts.
func (c *Consultation) Survey() bool { return c.MinLevel == assurance.Low }

// AcceptsAt reports whether ballots are accepted at now.
func (c *Consultation) AcceptsAt(now time.Time) bool {
	return c.State == StateOpen && !now.Before(c.OpensAt) && now.Before(c.ClosesAt)
}

// Status is what the consultation is at now, in the words pages use:
// draft, scheduled, open, closed or published.
func (c *Consultation) Status(now time.Time) string {
	switch {
	case c.PublishedAt != nil:
		return "published"
	case c.State == StateDraft:
		return "draft"
	case c.State == StateOpen && now.Before(c.OpensAt):
		return "scheduled"
	case c.AcceptsAt(now):
		return "open"
	}
	return "closed"
}

// ResultsPublic reports whether anyone may read the results.
func (c *Consultation) ResultsPublic(now time.Time) bool {
	return c.PublishedAt != nil || c.LiveResults && c.State != StateDraft && !now.Before(c.OpensAt)
}

// Eligible says whether the resident logged in as v may answer, and if
// not, why (a message id). Only proven claims count: the provider gives
// residence, district and age band only for a login that proved who the
// person is.
func (c *Consultation) Eligible(v *Viewer) (bool, string) {
	switch {
	case v == nil:
		return false, "partecipa.c.login"
	case !v.Level.Satisfies(c.MinLevel):
		return false, "partecipa.c.level"
	case c.MinLevel.ProvesIdentity() && !v.ResidentKnown:
		// One person, one voice goes by the fiscal code: the provider
		// answers residence exactly when a login proved it. A European
		// logged in with eIDAS alone is someone else for every other
		// login, so they answer open polls, not these (outside review
		// of eIDAS, M3).
		return false, "partecipa.c.fiscal_code"
	case c.ResidentsOnly && !(v.ResidentKnown && v.Resident):
		return false, "partecipa.c.not_resident"
	case len(c.Districts) > 0 && !slices.Contains(c.Districts, v.District):
		return false, "partecipa.c.not_district"
	case len(c.AgeBands) > 0 && !slices.Contains(c.AgeBands, v.AgeBand):
		return false, "partecipa.c.not_age"
	}
	return true, ""
}

// Store keeps consultations, drafts, the roll, the ballot box and the
// tallies.
type Store struct {
	DB    *db.DB
	Audit audit.Writer
	// Outbox sends the notifications, in T's words (Italian), with links
	// to BaseURL (Partecipa's).
	Outbox  *mail.Outbox
	T       func(id string, args ...any) string
	BaseURL string
	// MinCell is the fewest answers a published group may stand for
	// (DefaultMinCell when 0): the counter's column, a breakdown's cell.
	MinCell int
	Now     func() time.Time
	// Limiter keeps residents' budgets of proposals, comments and
	// reports.
	Limiter *throttle.Limiter
	// Threshold is the supports a new proposal needs for the
	// administration to owe it an answer, within AnswerWithin of
	// reaching them (DefaultThreshold, DefaultAnswerWithin when zero).
	Threshold    int64
	AnswerWithin time.Duration
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Input is a consultation as the office's form sends it.
type Input struct {
	Title, Summary, Source string
	MinLevel               string
	ResidentsOnly          bool
	Districts, AgeBands    string
	Editable, LiveResults  bool
	OpensAt, ClosesAt      time.Time
}

// Invalid is an office's form that does not hold: errors by field, and
// the questionnaire's errors by line.
type Invalid struct {
	Fields problem.Fields
	Source []SourceError
}

func (e *Invalid) Error() string {
	return fmt.Sprintf("%d invalid fields", len(e.Fields)+len(e.Source))
}

// Is makes an Invalid a problem.ErrInvalid.
func (e *Invalid) Is(target error) bool { return errors.Is(problem.Fields{}, target) }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// build checks the office's input and makes the consultation of it.
func build(in Input) (*Consultation, error) {
	bad := &Invalid{Fields: problem.Fields{}}
	c := &Consultation{Title: strings.TrimSpace(in.Title), Summary: strings.TrimSpace(in.Summary), Source: in.Source,
		ResidentsOnly: in.ResidentsOnly, Districts: splitList(in.Districts), AgeBands: splitList(in.AgeBands),
		Editable: in.Editable, LiveResults: in.LiveResults, OpensAt: in.OpensAt.UTC(), ClosesAt: in.ClosesAt.UTC()}
	if c.Title == "" || len(c.Title) > 200 {
		bad.Fields["title"] = "partecipa.office.bad_title"
	}
	if len(c.Summary) > 4000 {
		bad.Fields["summary"] = "partecipa.office.bad_summary"
	}
	level, ok := assurance.Parse(in.MinLevel)
	if !ok {
		bad.Fields["min_level"] = "partecipa.office.bad_level"
	}
	c.MinLevel = level
	if ok && !level.ProvesIdentity() && (c.ResidentsOnly || len(c.Districts) > 0 || len(c.AgeBands) > 0) {
		bad.Fields["residents_only"] = "partecipa.office.restrict_needs_proof"
	}
	if len(c.Districts) > 50 || len(in.Districts) > 2000 {
		bad.Fields["districts"] = "partecipa.office.bad_list"
	}
	if len(c.AgeBands) > 20 || len(in.AgeBands) > 500 {
		bad.Fields["age_bands"] = "partecipa.office.bad_list"
	}
	if in.OpensAt.IsZero() {
		bad.Fields["opens_at"] = "partecipa.office.bad_instant"
	}
	if in.ClosesAt.IsZero() {
		bad.Fields["closes_at"] = "partecipa.office.bad_instant"
	} else if !in.OpensAt.IsZero() && !in.ClosesAt.After(in.OpensAt) {
		bad.Fields["closes_at"] = "partecipa.office.closes_before"
	}
	c.Questions, bad.Source = ParseQuestions(in.Source)
	if len(bad.Fields) > 0 || len(bad.Source) > 0 {
		return nil, bad
	}
	return c, nil
}

const consultationColumns = `id, title, summary, source, questions, min_level, residents_only, districts, age_bands, editable, live_results,
	opens_at, closes_at, state, published_at`

type scanner interface{ Scan(...any) error }

func scanConsultation(r scanner) (*Consultation, error) {
	var c Consultation
	var questions, level, districts, bands string
	var published sql.NullTime
	if err := r.Scan(&c.ID, &c.Title, &c.Summary, &c.Source, &questions, &level, &c.ResidentsOnly, &districts, &bands, &c.Editable,
		&c.LiveResults, &c.OpensAt, &c.ClosesAt, &c.State, &published); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(questions), &c.Questions); err != nil {
		return nil, err
	}
	c.MinLevel = assurance.Level(level)
	c.Districts, c.AgeBands = splitList(districts), splitList(bands)
	c.OpensAt, c.ClosesAt = c.OpensAt.UTC(), c.ClosesAt.UTC()
	if published.Valid {
		t := published.Time.UTC()
		c.PublishedAt = &t
	}
	return &c, nil
}

// Get reads a consultation; a draft only when drafts is true (the office).
func (s *Store) Get(ctx context.Context, id string, drafts bool) (*Consultation, error) {
	if len(id) != 32 {
		return nil, problem.ErrNotFound
	}
	c, err := scanConsultation(s.DB.QueryRowContext(ctx, `SELECT `+consultationColumns+` FROM partecipa_consultations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && c.State == StateDraft && !drafts {
		return nil, problem.ErrNotFound
	}
	return c, err
}

// getTx reads a consultation in tx, its row locked with lock (the
// ballot lock: d.ForShare() to cast or edit, d.ForUpdate() to mix).
func getTx(ctx context.Context, tx *sql.Tx, id, lock string) (*Consultation, error) {
	c, err := scanConsultation(tx.QueryRowContext(ctx, `SELECT `+consultationColumns+` FROM partecipa_consultations WHERE id = $1`+lock, id)) // #nosec G202 -- lock is db.ForShare or db.ForUpdate
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.ErrNotFound
	}
	return c, err
}

// PageSize is the longest list a page shows.
const PageSize = 50

// List is the office's list of consultations, newest first, a page of
// PageSize at offset, and how many there are.
func (s *Store) List(ctx context.Context, offset int) ([]*Consultation, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_consultations`).Scan(&total); err != nil {
		return nil, 0, err
	}
	out, err := s.query(ctx, `SELECT `+consultationColumns+` FROM partecipa_consultations ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`, PageSize, offset)
	return out, total, err
}

// Public lists what residents see: consultations opened by the office
// (scheduled, open, closed), the open and scheduled first, at most
// PageSize.
func (s *Store) Public(ctx context.Context) ([]*Consultation, error) {
	return s.query(ctx, `SELECT `+consultationColumns+` FROM partecipa_consultations WHERE state <> 'draft'
		ORDER BY CASE WHEN closes_at > $1 THEN 0 ELSE 1 END, closes_at DESC, id LIMIT $2`, s.now(), PageSize)
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]*Consultation, error) {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Consultation
	for rows.Next() {
		c, err := scanConsultation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) record(ctx context.Context, tx *sql.Tx, actor, action, id string, details map[string]string) error {
	return s.Audit.Write(ctx, tx, audit.Entry{Actor: "partecipa:" + actor, Action: "partecipa." + action, Subject: "consultation:" + id, Details: details})
}

// Create records a new consultation, a draft, and returns its id.
func (s *Store) Create(ctx context.Context, in Input, actor string) (string, error) {
	c, err := build(in)
	if err != nil {
		return "", err
	}
	questions, _ := json.Marshal(c.Questions)
	id, now := tokens.ID(), s.now()
	return id, s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_consultations (id, title, summary, source, questions, min_level, residents_only,
			districts, age_bands, editable, live_results, opens_at, closes_at, state, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $14)`,
			id, c.Title, c.Summary, c.Source, string(questions), string(c.MinLevel), c.ResidentsOnly, strings.Join(c.Districts, ","),
			strings.Join(c.AgeBands, ","), c.Editable, c.LiveResults, c.OpensAt, c.ClosesAt, now); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, "create", id, map[string]string{"title": c.Title})
	})
}

// Update changes a consultation the office has not opened yet.
func (s *Store) Update(ctx context.Context, id string, in Input, actor string) error {
	c, err := build(in)
	if err != nil {
		return err
	}
	questions, _ := json.Marshal(c.Questions)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partecipa_consultations SET title = $1, summary = $2, source = $3, questions = $4, min_level = $5,
			residents_only = $6, districts = $7, age_bands = $8, editable = $9, live_results = $10, opens_at = $11, closes_at = $12, updated_at = $13
			WHERE id = $14 AND state = 'draft'`,
			c.Title, c.Summary, c.Source, string(questions), string(c.MinLevel), c.ResidentsOnly, strings.Join(c.Districts, ","),
			strings.Join(c.AgeBands, ","), c.Editable, c.LiveResults, c.OpensAt, c.ClosesAt, s.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.New(problem.Conflict, "partecipa.office.not_draft", nil)
		}
		return s.record(ctx, tx, actor, "update", id, map[string]string{"title": c.Title})
	})
}

// Open makes a draft consultation public: it accepts answers from its
// opening instant to its closing one. Its questions are fixed from then.
func (s *Store) Open(ctx context.Context, id, actor string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partecipa_consultations SET state = 'open', updated_at = $1
			WHERE id = $2 AND state = 'draft' AND closes_at > $1`, s.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.New(problem.Conflict, "partecipa.office.cannot_open", nil)
		}
		c, err := getTx(ctx, tx, id, "")
		if err != nil {
			return err
		}
		if err := s.notifyOpened(ctx, tx, c); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, "open", id, nil)
	})
}

// Close stops a consultation now (or leaves the instant it closed at)
// and mixes its whole ballot box. Its row is the consultation's ballot
// lock: casting and editing read it shared, closing, publishing and the
// mix write it, so no ballot is accepted once this commits.
func (s *Store) Close(ctx context.Context, id, actor string) error {
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE partecipa_consultations SET state = 'closed',
			closes_at = CASE WHEN closes_at > $1 THEN $1 ELSE closes_at END, updated_at = $1 WHERE id = $2 AND state = 'open'`, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.New(problem.Conflict, "partecipa.office.cannot_close", nil)
		}
		if err := remix(ctx, tx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, actor, "close", id, nil)
	})
	if err != nil {
		return err
	}
	// The first chunks at once; the minute's job mixes the rest, and
	// finishes if this fails.
	return s.mixConsultation(ctx, id, officeChunks)
}

// remix, in the transaction that closes a consultation, forgets its
// drafts and marks every ballot of it for the mix again: mixed in chunks
// of random ids drawn from the whole consultation, no ballot is then
// nearer in the database to the participants of its own minute than to
// any other.
func remix(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM partecipa_drafts WHERE consultation_id = $1`, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE partecipa_ballots SET fresh = TRUE WHERE consultation_id = $1`, id)
	return err
}

// officeChunks is how many chunks of the mix closing and publishing each
// do while the office waits (10,000 ballots); a variable for the tests.
var officeChunks = 20

// Publish makes the results of a closed consultation public, once every
// ballot is counted.
func (s *Store) Publish(ctx context.Context, id, actor string) error {
	c, err := s.Get(ctx, id, true)
	if err != nil {
		return err
	}
	// A consultation whose closing instant passed is closed here if the
	// minute's job has not yet.
	if c.State == StateOpen && !s.now().Before(c.ClosesAt) {
		if err := s.closeExpired(ctx, id); err != nil {
			return err
		}
	}
	if err := s.mixConsultation(ctx, id, officeChunks); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := getTx(ctx, tx, id, s.DB.ForUpdate()); err != nil {
			return err
		}
		var fresh int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_ballots WHERE consultation_id = $1 AND fresh = TRUE`, id).Scan(&fresh); err != nil {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE partecipa_consultations SET published_at = $1, updated_at = $1
			WHERE id = $2 AND state = 'closed' AND published_at IS NULL`, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.New(problem.Conflict, "partecipa.office.cannot_publish", nil)
		}
		if fresh > 0 {
			return problem.New(problem.Conflict, "partecipa.office.still_counting", nil)
		}
		return s.record(ctx, tx, actor, "publish", id, nil)
	})
}
