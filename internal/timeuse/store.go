package timeuse

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/sealed"
	tokens "github.com/civico-pa/civico/internal/token"
)

// The participation mark, the anonymous dataset and the drafts: see
// docs/TIMEUSE.md. Nothing here logs or audits a resident's answers or
// participation.

// ErrAnswered: the account has already taken part.
var ErrAnswered = problem.New(problem.Conflict, "timeuse.error.answered", nil)

// ErrIncomplete: the answers sent are not complete (a questionnaire field
// or a diary day still to fix).
var ErrIncomplete = problem.New(problem.Invalid, "timeuse.error.incomplete", nil)

// Store keeps the survey's drafts, participation marks and dataset.
type Store struct {
	DB *db.DB
	// Box seals the drafts (nil outside the server: the command line
	// touches no draft).
	Box  *sealed.Box
	Acts *Activities
	Now  func() time.Time
	// Recheck is how long Results trusts the version it read before
	// reading it again (zero: at every call). Results computed or
	// published through this store show at once, through another process
	// within Recheck. It is read at the first call that uses the results.
	Recheck time.Duration
	// kept and decoded are the results kept (Results, resultsCaches).
	cacheOnce sync.Once
	kept      *cache.Cache[string, *Summary]
	decoded   *cache.Cache[string, decodedResults]
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// draftID binds a sealed draft to its owner's row.
func (sub Subject) draftID() string {
	if sub.Invitation != "" {
		return "timeuse-invitation:" + sub.Invitation
	}
	return "timeuse-draft:" + sub.Account
}

// Draft returns the subject's saved answers (empty ones if none).
func (s *Store) Draft(ctx context.Context, sub Subject) (*Answers, error) {
	var enc sql.NullString
	var err error
	if sub.Invitation != "" {
		err = s.DB.QueryRowContext(ctx, `SELECT sealed FROM timeuse_invitations WHERE token_hash = $1`, sub.Invitation).Scan(&enc)
	} else {
		err = s.DB.QueryRowContext(ctx, `SELECT sealed FROM timeuse_drafts WHERE account_id = $1`, sub.Account).Scan(&enc)
	}
	if errors.Is(err, sql.ErrNoRows) || err == nil && !enc.Valid {
		return &Answers{Diaries: map[string]*Diary{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return s.open(sub, enc.String)
}

func (s *Store) open(sub Subject, enc string) (*Answers, error) {
	plain, err := s.Box.Open(enc, sub.draftID())
	if err != nil {
		return nil, err
	}
	a := &Answers{}
	if err := json.Unmarshal(plain, a); err != nil {
		return nil, err
	}
	if a.Diaries == nil {
		a.Diaries = map[string]*Diary{}
	}
	return a, nil
}

// Participated reports whether the subject has sent its answers.
func (s *Store) Participated(ctx context.Context, sub Subject) (bool, error) {
	var n int
	var err error
	if sub.Invitation != "" {
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_invitations WHERE token_hash = $1 AND used = TRUE`, sub.Invitation).Scan(&n)
	} else {
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_participants WHERE account_id IN ($1, $2)`, sub.Account, sub.mark()).Scan(&n)
	}
	return n > 0, err
}

// SaveDraft keeps the subject's answers, complete or not, until it sends
// them; refused once it has taken part.
func (s *Store) SaveDraft(ctx context.Context, sub Subject, a *Answers) error {
	plain, err := json.Marshal(a)
	if err != nil {
		return err
	}
	enc := s.Box.Seal(plain, sub.draftID())
	if sub.Invitation != "" {
		res, err := s.DB.ExecContext(ctx, `UPDATE timeuse_invitations SET sealed = $1, saved_at = $2 WHERE token_hash = $3 AND used = FALSE`, enc, s.now(), sub.Invitation)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = ErrAnswered
			}
			return err
		}
		return nil
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_participants WHERE account_id IN ($1, $2)`, sub.Account, sub.mark()).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAnswered
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO timeuse_drafts (account_id, sealed, saved_at) VALUES ($1, $2, $3)
			ON CONFLICT (account_id) DO UPDATE SET sealed = excluded.sealed, saved_at = excluded.saved_at`, sub.Account, enc, s.now())
		return err
	})
}

// Complete says whether answers can be sent: the questionnaire without
// errors and both diary days without issues.
func (s *Store) Complete(a *Answers) bool {
	if len(a.Q.Check()) > 0 {
		return false
	}
	for _, day := range Days {
		d := a.Diaries[day]
		if d == nil || !validDayType(day, d.DayType) || len(d.Check(s.Acts)) > 0 {
			return false
		}
	}
	return true
}

func validDayType(day, t string) bool {
	if day == Weekday {
		return t == "weekday"
	}
	return t == "saturday" || t == "sunday"
}

// Submit sends the subject's draft: in one transaction it marks the
// account (or the invitation) as having taken part, refused with
// ErrAnswered if it already has (two submissions at once meet at the
// mark's primary key, or at the invitation's row), writes the answers to
// the anonymous dataset under a random respondent id, and deletes the
// draft.
func (s *Store) Submit(ctx context.Context, sub Subject) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var enc sql.NullString
		if sub.Invitation != "" {
			err := tx.QueryRowContext(ctx, `UPDATE timeuse_invitations SET used = TRUE WHERE token_hash = $1 AND used = FALSE RETURNING sealed`, sub.Invitation).Scan(&enc)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrAnswered
			}
			if err != nil {
				return err
			}
		} else {
			// The account's own id may hold the mark too (a linked
			// account's, moved by MergeAccounts); the insert under the
			// person answers two submissions at once.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM timeuse_participants WHERE account_id IN ($1, $2)`, sub.Account, sub.mark()).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return ErrAnswered
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO timeuse_participants (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING`, sub.mark())
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				if err == nil {
					err = ErrAnswered
				}
				return err
			}
			err = tx.QueryRowContext(ctx, `SELECT sealed FROM timeuse_drafts WHERE account_id = $1`+s.DB.ForUpdate(), sub.Account).Scan(&enc) // #nosec G202 -- ForUpdate is a constant clause of the dialect
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if !enc.Valid {
			return ErrIncomplete
		}
		a, err := s.open(sub, enc.String)
		if err != nil {
			return err
		}
		if !s.Complete(a) {
			return ErrIncomplete
		}
		if err := insertRow(ctx, tx, respondentOf(a), false, true); err != nil {
			return err
		}
		if sub.Invitation != "" {
			_, err = tx.ExecContext(ctx, `UPDATE timeuse_invitations SET sealed = NULL, saved_at = NULL WHERE token_hash = $1`, sub.Invitation)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM timeuse_drafts WHERE account_id = $1`, sub.Account)
		}
		return err
	})
}

// Erase removes the account's draft (identity's Closers): the
// participation mark goes with the account (ON DELETE CASCADE); the
// anonymous answers stay, as nothing ties them to it.
func (s *Store) Erase(ctx context.Context, tx *sql.Tx, account string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM timeuse_drafts WHERE account_id = $1`, account)
	return err
}

// Respondent is one respondent of the anonymous dataset.
type Respondent struct {
	ID        string
	Q         Questionnaire
	Diaries   []Diary
	Weight    float64
	Synthetic bool
}

// respondentOf is a draft's answers as a respondent, weekday first.
func respondentOf(a *Answers) *Respondent {
	r := &Respondent{Q: a.Q, Weight: 1}
	for _, day := range Days {
		d := *a.Diaries[day]
		d.Episodes = d.Sorted()
		r.Diaries = append(r.Diaries, d)
	}
	return r
}

// insert writes a respondent and their diaries under new random ids.
func insert(ctx context.Context, tx *sql.Tx, r *Respondent, synthetic bool) error {
	return insertRow(ctx, tx, r, synthetic, false)
}

// insertRow writes a respondent and their diaries under new random ids;
// fresh marks a submission's, for the mix.
func insertRow(ctx context.Context, tx *sql.Tx, r *Respondent, synthetic, fresh bool) error {
	q := r.Q
	q.normalise()
	id := tokens.ID()
	ages := make([]string, len(q.ChildrenAges))
	for i, a := range q.ChildrenAges {
		ages[i] = strconv.Itoa(a)
	}
	weight := r.Weight
	if weight <= 0 {
		weight = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO timeuse_respondents (id, synthetic, fresh, sex, age, employment, work_hours, commuter, commute_destination,
		commute_minutes, commute_mode, household_size, children_ages, education, preferred_times, weight)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		id, synthetic, fresh, q.Sex, q.Age, q.Employment, q.WorkHours, q.Commuter, q.Destination, q.CommuteMinutes, q.CommuteMode, q.HouseholdSize,
		strings.Join(ages, " "), q.Education, strings.Join(q.Preferred, " "), weight); err != nil {
		return err
	}
	for _, d := range r.Diaries {
		did := tokens.ID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO timeuse_diaries (id, respondent_id, day_type, weight) VALUES ($1, $2, $3, $4)`,
			did, id, d.DayType, weight); err != nil {
			return err
		}
		// The day's episodes in one statement (at most MaxEpisodes rows).
		var b strings.Builder
		args := make([]any, 0, 7*len(d.Episodes))
		b.WriteString(`INSERT INTO timeuse_episodes (diary_id, start_min, end_min, activity, secondary, location, with_whom) VALUES `)
		for i, e := range d.Episodes {
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			b.WriteString("($" + strconv.Itoa(n+1))
			for k := 2; k <= 7; k++ {
				b.WriteString(", $" + strconv.Itoa(n+k))
			}
			b.WriteString(")")
			args = append(args, did, e.Start, e.End, e.Activity, e.Secondary, e.Location, e.WithWhom)
		}
		if len(d.Episodes) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil { // #nosec G202 -- only placeholders are joined in
			return err
		}
	}
	return nil
}

// Counts are the dataset's respondents, real and synthetic.
type Counts struct{ Real, Synthetic int }

// Count counts the dataset's respondents.
func (s *Store) Count(ctx context.Context) (Counts, error) {
	var c Counts
	rows, err := s.DB.QueryContext(ctx, `SELECT synthetic, COUNT(*) FROM timeuse_respondents GROUP BY synthetic`)
	if err != nil {
		return c, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var syn bool
		var n int
		if err := rows.Scan(&syn, &n); err != nil {
			return c, err
		}
		if syn {
			c.Synthetic = n
		} else {
			c.Real = n
		}
	}
	return c, rows.Err()
}

// MergeAccounts moves the participation mark of an account linked to a
// card's into the card's account (identity's Mergers), so that linking
// does not open a second answer; the linked account's draft, sealed to
// its id, is dropped (the survey needs a proven fiscal code, which only
// the card's account has).
func (s *Store) MergeAccounts(ctx context.Context, tx *sql.Tx, from, into string) error {
	// The mark is deleted and moved in one step: a submission of from's
	// committing between a count and the delete would otherwise lose its
	// mark, and the person could answer again (outside review).
	res, err := tx.ExecContext(ctx, `DELETE FROM timeuse_participants WHERE account_id = $1`, from)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO timeuse_participants (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING`, into); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM timeuse_drafts WHERE account_id = $1`, into); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM timeuse_drafts WHERE account_id = $1`, from)
	return err
}
