package schools

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Parent is who enrols: the account and the fiscal code its session
// proved.
type Parent struct {
	AccountID, FiscalCode, Email, Lang string
}

// Request is the enrolment form.
type Request struct {
	ServiceID, UnitID         string
	ChildFC                   string
	ChildGiven, ChildFamily   string
	School, Class, Stop, Diet string
	// ISEE is the declared value in euro; NoISEE says there is none (the
	// last band).
	ISEE    string
	NoISEE  bool
	Privacy bool
	// Sibling and WorkingParents are the ranking's declarations (read
	// only for a service by ranking).
	Sibling, WorkingParents bool
}

// Certificate is a medical certificate staged for the enrolment (a diet
// needs one).
type Certificate = attachments.Staged

// maxText bounds the form's free texts.
const maxText = 200

// check validates the request against the service; the fields' message
// ids say what is wrong.
func (r *Request) check(svc *Service, hasCertificate bool, today time.Time) (unit *Unit, isee *int64, fe problem.Fields) {
	fe = problem.Fields{}
	if !r.Privacy {
		fe["privacy"] = "schools.error.privacy"
	}
	code, err := cf.Parse(r.ChildFC)
	switch {
	case err != nil:
		fe["child_fc"] = "schools.error.child_fc"
	case code.BirthDate(today).After(today.AddDate(-2, 0, 0)):
		// A child under two is not of school age.
		fe["child_fc"] = "schools.error.child_age"
	default:
		r.ChildFC = code.String()
	}
	r.ChildGiven, r.ChildFamily = strings.TrimSpace(r.ChildGiven), strings.TrimSpace(r.ChildFamily)
	r.School, r.Diet = strings.TrimSpace(r.School), strings.TrimSpace(r.Diet)
	for field, v := range map[string]string{"child_given": r.ChildGiven, "child_family": r.ChildFamily, "school": r.School} {
		if n := len([]rune(v)); n < 2 || n > maxText {
			fe[field] = "schools.error." + field
		}
	}
	if len([]rune(r.Diet)) > 1000 {
		fe["diet"] = "schools.error.diet_long"
	} else if r.Diet != "" && !hasCertificate {
		fe["certificate"] = "schools.error.certificate"
	}
	if !contains(Classes, r.Class) {
		fe["class"] = "schools.error.class"
	} else if !svc.Admits(r.Class) {
		fe["class"] = "schools.error.class_not_admitted"
	}
	var ok bool
	if unit, ok = svc.Unit(r.UnitID); !ok {
		fe["unit"] = "schools.error.unit"
	} else if svc.Kind == Bus {
		if !contains(unit.Stops, r.Stop) {
			fe["stop"] = "schools.error.stop"
		}
	} else {
		r.Stop = ""
	}
	switch {
	case r.NoISEE && strings.TrimSpace(r.ISEE) != "":
		fe["isee"] = "schools.error.isee_both"
	case r.NoISEE:
	default:
		v, err := ParseEuro(r.ISEE)
		if err != nil {
			fe["isee"] = "schools.error.isee"
		} else {
			isee = &v
		}
	}
	if len(fe) == 0 {
		fe = nil
	}
	return unit, isee, fe
}

// Errors of an enrolment.
var (
	// ErrWindow: the window is not open.
	ErrWindow = problem.New(problem.Conflict, "schools.error.window", errors.New("schools: the window is not open"))
	// ErrNotResident: the service is for residents and the child is not
	// in the register.
	ErrNotResident = problem.New(problem.Conflict, "schools.error.not_resident", errors.New("schools: not a resident"))
	// ErrTaken: another parent enrolled the child.
	ErrTaken    = problem.New(problem.Conflict, "schools.error.taken", errors.New("schools: the child is enrolled by another account"))
	errNoParent = problem.New(problem.Forbidden, "schools.error.no_fiscal_code", errors.New("schools: no proven fiscal code"))
)

// Outcome is what an enrolment got: accepted, or waiting at Position; Again
// says the child was already enrolled by this parent (a second submission),
// and Enrolment is that first one.
type Outcome struct {
	*Enrolment
	Again bool
}

// Enrol enrols a child for p. The place is taken, or the waiting list's
// number drawn, by one UPDATE of the unit's row in the transaction that
// inserts the enrolment: the row is held until the commit, so enrolments
// of a unit take their places one after another in commit order, and no
// more are accepted than the capacity (docs/SCHOOLS.md). The mail is
// written in the same transaction.
func (s *Store) Enrol(ctx context.Context, p Parent, r Request, cert *Certificate) (*Outcome, error) {
	if p.AccountID == "" || p.FiscalCode == "" {
		return nil, errNoParent
	}
	svc, err := s.Service(ctx, r.ServiceID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if cert != nil && s.Files == nil {
		return nil, errors.New("schools: a certificate without a store")
	}
	unit, isee, fe := r.check(svc, cert != nil, now)
	if fe != nil {
		return nil, fe
	}
	if svc.Window(now) != "open" {
		return nil, ErrWindow
	}
	if svc.ResidentsOnly && s.Resident != nil {
		ok, err := s.Resident(ctx, r.ChildFC)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotResident
		}
	}
	band, cents, exempt := svc.Tariff(isee)
	e := &Enrolment{ID: tokens.ID(), ServiceID: svc.ID, UnitID: unit.ID, AccountID: p.AccountID, ParentFC: p.FiscalCode, Email: p.Email, Lang: p.Lang,
		ChildFC: r.ChildFC, ChildGiven: r.ChildGiven, ChildFamily: r.ChildFamily, School: r.School, Class: r.Class, Stop: r.Stop, Diet: r.Diet,
		ISEE: isee, Band: band, AmountCents: cents, Exempt: exempt, Sibling2: svc.Sibling2, Sibling3: svc.Sibling3,
		CreatedAt: now, UpdatedAt: now, Service: svc.Title, Unit: unit.Label, ISEEDeclared: isee, ISEECheck: ISEEDeclaredOnly}
	if isee == nil {
		e.ISEECheck = ISEENone
	}
	if svc.Mode == Ranking {
		e.SiblingDeclared, e.WorkingParents = r.Sibling, r.WorkingParents
	}
	slot := svc.slotKey(unit.ID)
	var again *Enrolment
	// Batch: on opening day thousands of parents send in the same minute;
	// their enrolments share transactions (group commit), each one still
	// its own check and record.
	err = s.DB.Batch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// The certificate first: its file is placed before the unit's row
		// is held.
		if cert != nil {
			a, err := s.Files.Add(ctx, tx, attachments.Record("schools", "enrolment", e.ID), cert)
			if err != nil {
				return err
			}
			e.CertificateID = a.ID
		}
		// The window again, the unit's row held (outside review S3): the
		// ranking holds it too, so it either ranked before (ranked_at is
		// read set: the places go first come) or waits for this enrolment
		// to commit and ranks it. A request that saw the window open before
		// the close and gets here after is refused, not left pending.
		var held string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM schools_units WHERE id = $1`+s.DB.ForUpdate(), unit.ID).Scan(&held); err != nil {
			return err
		}
		var opens, closes time.Time
		var mode string
		var ranked sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT opens_at, closes_at, mode, ranked_at FROM schools_services WHERE id = $1`, svc.ID).Scan(&opens, &closes,
			&mode, &ranked); err != nil {
			return err
		}
		if at := s.now(); at.Before(opens) || !at.Before(closes) {
			return ErrWindow
		}
		// Before the ranking, an enrolment only draws its order number: the
		// ranking gives the places when the window closes.
		decide := `UPDATE schools_units SET
			last_outcome = CASE WHEN taken < capacity THEN 'accepted' ELSE 'waiting' END,
			waiting = CASE WHEN taken < capacity THEN waiting ELSE waiting + 1 END,
			taken = CASE WHEN taken < capacity THEN taken + 1 ELSE taken END,
			queued = queued + 1
			WHERE id = $1 RETURNING last_outcome, queued, waiting`
		if Mode(mode) == Ranking && !ranked.Valid {
			decide = `UPDATE schools_units SET last_outcome = 'pending', queued = queued + 1 WHERE id = $1 RETURNING last_outcome, queued, waiting`
		}
		// The place: one UPDATE that takes it while one is free, or else
		// the next place on the waiting list (every waiting enrolment has a
		// lower seq: their count is the position). The row stays held until
		// the commit. A second submission of the same child is stopped by
		// the unique index at the insert, and the transaction undone.
		var status string
		err := tx.QueryRowContext(ctx, decide, unit.ID).Scan(&status, &e.Seq, &e.Position)
		if err != nil {
			return err
		}
		if e.Status = Status(status); e.Status != Waiting {
			e.Position = 0
		}
		var acceptedAt any // when it was accepted, the bills' (NULL: not yet)
		if e.Status == Accepted {
			acceptedAt = now
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schools_enrolments (id, service_id, unit_id, slot_key, account_id, parent_fc, email, lang,
			child_fc, child_given, child_family, school, class, stop, diet, certificate_id, isee_cents, band, amount_cents, status, seq, created_at, updated_at,
			exempt, sibling2_percent, sibling3_percent, sibling_declared, working_parents, accepted_at, isee_declared_cents, isee_check)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, $23, $24, $25, $26, $27, $28, $17, $29)`,
			e.ID, e.ServiceID, e.UnitID, slot, e.AccountID, e.ParentFC, e.Email, e.Lang, e.ChildFC, e.ChildGiven, e.ChildFamily, e.School,
			e.Class, e.Stop, e.Diet, nullString(e.CertificateID), e.ISEE, e.Band, e.AmountCents, string(e.Status), e.Seq, now,
			e.Exempt, e.Sibling2, e.Sibling3, e.SiblingDeclared, e.WorkingParents, acceptedAt, e.ISEECheck); err != nil {
			return err
		}
		if s.Letters != nil {
			return s.Letters(ctx, tx, e, string(e.Status))
		}
		return nil
	})
	if db.IsUniqueViolation(err) {
		// The same child's enrolment committed by a concurrent submission.
		prev, err := s.live(ctx, s.DB, slot, r.ChildFC)
		if err != nil {
			return nil, err
		}
		if prev == nil || prev.AccountID != p.AccountID {
			return nil, ErrTaken
		}
		again = prev
	} else if err != nil {
		return nil, fmt.Errorf("schools: enrol: %w", err)
	}
	if again != nil {
		return &Outcome{Enrolment: again, Again: true}, nil
	}
	return &Outcome{Enrolment: e}, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// querier is a transaction or the database.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// position is the place on the unit's waiting list of the enrolment
// numbered seq.
func position(ctx context.Context, q querier, unitID string, seq int) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_enrolments WHERE unit_id = $1 AND status = 'waiting' AND seq <= $2`, unitID, seq).Scan(&n)
	return n, err
}

const enrolmentColumns = `e.id, e.service_id, e.unit_id, e.account_id, e.parent_fc, e.email, e.lang, e.child_fc, e.child_given, e.child_family,
	e.school, e.class, e.stop, e.diet, COALESCE(e.certificate_id, ''), e.isee_cents, e.band, e.amount_cents, e.status, e.seq, e.created_at, e.updated_at,
	s.title, u.label, e.exempt, e.sibling2_percent, e.sibling3_percent, e.sibling_declared, e.working_parents, e.points,
	e.isee_declared_cents, e.isee_check`

const enrolmentFrom = ` FROM schools_enrolments e JOIN schools_services s ON s.id = e.service_id JOIN schools_units u ON u.id = e.unit_id `

func scanEnrolment(row interface{ Scan(...any) error }) (*Enrolment, error) {
	var e Enrolment
	var status string
	var isee, declared sql.NullInt64
	if err := row.Scan(&e.ID, &e.ServiceID, &e.UnitID, &e.AccountID, &e.ParentFC, &e.Email, &e.Lang, &e.ChildFC, &e.ChildGiven, &e.ChildFamily,
		&e.School, &e.Class, &e.Stop, &e.Diet, &e.CertificateID, &isee, &e.Band, &e.AmountCents, &status, &e.Seq, &e.CreatedAt, &e.UpdatedAt,
		&e.Service, &e.Unit, &e.Exempt, &e.Sibling2, &e.Sibling3, &e.SiblingDeclared, &e.WorkingParents, &e.Points,
		&declared, &e.ISEECheck); err != nil {
		return nil, err
	}
	e.Status = Status(status)
	if isee.Valid {
		e.ISEE = &isee.Int64
	}
	if declared.Valid {
		e.ISEEDeclared = &declared.Int64
	}
	return &e, nil
}

// live is the child's live enrolment in slot, or nil.
func (s *Store) live(ctx context.Context, q querier, slot, childFC string) (*Enrolment, error) {
	e, err := scanEnrolment(q.QueryRowContext(ctx, `SELECT `+enrolmentColumns+enrolmentFrom+`
		WHERE e.slot_key = $1 AND e.child_fc = $2 AND e.status <> 'withdrawn'`, slot, childFC))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return e, s.withPosition(ctx, q, e)
}

func (s *Store) withPosition(ctx context.Context, q querier, e *Enrolment) error {
	if e.Status != Waiting {
		return nil
	}
	var err error
	e.Position, err = position(ctx, q, e.UnitID, e.Seq)
	return err
}

// get reads an enrolment, the account's only when accountID is set.
func (s *Store) get(ctx context.Context, q querier, id, accountID string) (*Enrolment, error) {
	query := `SELECT ` + enrolmentColumns + enrolmentFrom + ` WHERE e.id = $1`
	args := []any{id}
	if accountID != "" {
		query += ` AND e.account_id = $2`
		args = append(args, accountID)
	}
	e, err := scanEnrolment(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("schools: enrolment: %w", err)
	}
	return e, s.withPosition(ctx, q, e)
}

// Get reads the account's enrolment id: another's is not found.
func (s *Store) Get(ctx context.Context, id, accountID string) (*Enrolment, error) {
	if accountID == "" {
		return nil, ErrNotFound
	}
	return s.get(ctx, s.DB, id, accountID)
}

// Mine lists the account's enrolments, newest first, PageSize from page,
// and how many there are.
func (s *Store) Mine(ctx context.Context, accountID string, page int) ([]*Enrolment, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_enrolments WHERE account_id = $1`, accountID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("schools: count: %w", err)
	}
	list, err := s.list(ctx, `WHERE e.account_id = $1 ORDER BY e.created_at DESC, e.id LIMIT $2 OFFSET $3`, accountID, PageSize, (max(page, 1)-1)*PageSize)
	return list, total, err
}

// Unit lists a unit's enrolments of a status in order, PageSize from
// page, and how many there are (the office's list).
func (s *Store) Unit(ctx context.Context, unitID string, status Status, page int) ([]*Enrolment, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_enrolments WHERE unit_id = $1 AND status = $2`, unitID, string(status)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("schools: count: %w", err)
	}
	list, err := s.list(ctx, `WHERE e.unit_id = $1 AND e.status = $2 ORDER BY e.seq LIMIT $3 OFFSET $4`, unitID, string(status), PageSize, (max(page, 1)-1)*PageSize)
	return list, total, err
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]*Enrolment, error) {
	out, err := s.rows(ctx, where, args...)
	if err != nil {
		return nil, err
	}
	for _, e := range out {
		if err := s.withPosition(ctx, s.DB, e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rows reads the enrolments where says, without their places on the
// waiting lists (one more statement each).
func (s *Store) rows(ctx context.Context, where string, args ...any) ([]*Enrolment, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+enrolmentColumns+enrolmentFrom+where, args...)
	if err != nil {
		return nil, fmt.Errorf("schools: enrolments: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*Enrolment
	for rows.Next() {
		e, err := scanEnrolment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Withdraw withdraws the account's enrolment id. An accepted one gives its
// place to the waiting list's first in the same transaction. Withdrawing
// again changes nothing.
func (s *Store) Withdraw(ctx context.Context, id, accountID string, by Actor) (*Enrolment, error) {
	if accountID == "" {
		return nil, ErrNotFound
	}
	var out *Enrolment
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.withdraw(ctx, tx, id, accountID, true)
		if err != nil || out.Status != Withdrawn {
			return err
		}
		return s.audit(ctx, tx, by, "schools.enrolment.withdraw", "schools_enrolment:"+id, map[string]string{"unit": out.UnitID})
	})
	if err != nil {
		return nil, fmt.Errorf("schools: withdraw: %w", err)
	}
	return out, nil
}

// withdraw is Withdraw in tx (tell: mail the parent). The unit's row is taken first, as Enrol and
// SetCapacity take it: the one order of locks.
func (s *Store) withdraw(ctx context.Context, tx *sql.Tx, id, accountID string, tell bool) (*Enrolment, error) {
	var unitID string
	err := tx.QueryRowContext(ctx, `SELECT unit_id FROM schools_enrolments WHERE id = $1 AND account_id = $2`, id, accountID).Scan(&unitID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var taken int
	if err := tx.QueryRowContext(ctx, `SELECT taken FROM schools_units WHERE id = $1`+s.DB.ForUpdate(), unitID).Scan(&taken); err != nil {
		return nil, err
	}
	// Then the enrolment's row (a bill being made holds it): the time of
	// the withdrawal is read once it is ours, after any bill it waited for.
	if err := tx.QueryRowContext(ctx, `SELECT unit_id FROM schools_enrolments WHERE id = $1`+s.DB.ForUpdate(), id).Scan(&unitID); err != nil {
		return nil, err
	}
	e, err := s.get(ctx, tx, id, accountID)
	if err != nil {
		return nil, err
	}
	if e.Status == Withdrawn {
		return e, nil
	}
	was := e.Status
	e.Status, e.UpdatedAt, e.Position = Withdrawn, s.now(), 0
	if _, err := tx.ExecContext(ctx, `UPDATE schools_enrolments SET status = 'withdrawn', updated_at = $2 WHERE id = $1`, id, e.UpdatedAt); err != nil {
		return nil, err
	}
	if s.Letters != nil && tell {
		if err := s.Letters(ctx, tx, e, "withdrawn"); err != nil {
			return nil, err
		}
	}
	if was == Waiting {
		if _, err := tx.ExecContext(ctx, `UPDATE schools_units SET waiting = waiting - 1 WHERE id = $1`, unitID); err != nil {
			return nil, err
		}
	}
	if was == Accepted {
		if _, err := tx.ExecContext(ctx, `UPDATE schools_units SET taken = taken - 1 WHERE id = $1`, unitID); err != nil {
			return nil, err
		}
		if _, err := s.promote(ctx, tx, unitID); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Erase withdraws the live enrolments of an account its owner closes
// (their places go to the waiting lists) and deletes them all, with their
// certificates, in the closure's transaction (identity.Closer).
func (s *Store) Erase(ctx context.Context, tx *sql.Tx, accountID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, COALESCE(certificate_id, '') FROM schools_enrolments WHERE account_id = $1`, accountID)
	if err != nil {
		return err
	}
	type row struct{ id, cert string }
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.cert); err != nil {
			_ = rows.Close()
			return err
		}
		list = append(list, r)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, r := range list {
		// The closed account is not written to; the promoted parents are.
		if _, err := s.withdraw(ctx, tx, r.id, accountID, false); err != nil {
			return err
		}
		if r.cert != "" && s.Files != nil {
			if _, err := s.Files.DeleteOwned(ctx, tx, attachments.Record("schools", "enrolment", r.id)); err != nil {
				return err
			}
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM schools_enrolments WHERE account_id = $1`, accountID)
	return err
}

// MergeAccounts moves the enrolments of one account to another when they
// are linked (identity.Merger).
func (s *Store) MergeAccounts(ctx context.Context, tx *sql.Tx, from, into string) error {
	_, err := tx.ExecContext(ctx, `UPDATE schools_enrolments SET account_id = $1 WHERE account_id = $2`, into, from)
	return err
}

// Latest lists the account's n latest enrolments, for the personal
// area's panel, in one statement: without their places on the waiting
// lists (Position is 0), which the panel does not show.
func (s *Store) Latest(ctx context.Context, accountID string, n int) ([]*Enrolment, error) {
	return s.rows(ctx, `WHERE e.account_id = $1 ORDER BY e.created_at DESC, e.id LIMIT $2`, accountID, n)
}
