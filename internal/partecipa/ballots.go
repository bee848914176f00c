package partecipa

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// The roll, the ballot box and drafts: see docs/PARTECIPA.md. Nothing
// here logs or audits a resident's answers or participation.

// ErrAnswered: the resident has already taken part.
var ErrAnswered = problem.New(problem.Conflict, "partecipa.c.answered", nil)

// Draft returns the resident's saved answers to a consultation.
func (s *Store) Draft(ctx context.Context, cid, subject string) (Answers, bool, error) {
	var raw string
	err := s.DB.QueryRowContext(ctx, `SELECT answers FROM partecipa_drafts WHERE consultation_id = $1 AND subject = $2`, cid, subject).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var a Answers
	return a, true, json.Unmarshal([]byte(raw), &a)
}

// SaveDraft keeps the resident's answers, complete or not, until they
// send them; only while the consultation accepts answers and they have
// not taken part.
func (s *Store) SaveDraft(ctx context.Context, c *Consultation, v *Viewer, a Answers) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.open(ctx, tx, c.ID, v); err != nil {
			return err
		}
		if took, err := onRoll(ctx, tx, c.ID, v.Subject); err != nil || took {
			if err == nil {
				err = ErrAnswered
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO partecipa_drafts (consultation_id, subject, answers, saved_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (consultation_id, subject) DO UPDATE SET answers = excluded.answers, saved_at = excluded.saved_at`,
			c.ID, v.Subject, string(raw), s.now())
		return err
	})
}

// Participated reports whether the subject is on the consultation's roll.
func (s *Store) Participated(ctx context.Context, cid, subject string) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll WHERE consultation_id = $1 AND subject = $2`, cid, subject).Scan(&n)
	return n > 0, err
}

// Participants is how many took part in a consultation.
func (s *Store) Participants(ctx context.Context, cid string) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll WHERE consultation_id = $1`, cid).Scan(&n)
	return n, err
}

func onRoll(ctx context.Context, tx *sql.Tx, cid, subject string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll WHERE consultation_id = $1 AND subject = $2`, cid, subject).Scan(&n)
	return n > 0, err
}

// open checks, inside tx, that the consultation accepts answers now and
// that v may give them: the consultation as it is at this instant, not
// as the page saw it, its row held shared until tx ends (closing and the
// mix wait for the ballots being cast).
func (s *Store) open(ctx context.Context, tx *sql.Tx, cid string, v *Viewer) error {
	c, err := getTx(ctx, tx, cid, s.DB.ForShare())
	if err != nil {
		return err
	}
	if c.State == StateDraft {
		return problem.ErrNotFound
	}
	if !c.AcceptsAt(s.now()) {
		return problem.New(problem.Conflict, "partecipa.c.not_open", nil)
	}
	if ok, why := c.Eligible(v); !ok {
		return problem.New(problem.Forbidden, why, nil)
	}
	return nil
}

// Channels of the roll and the ballot box: online, or recorded by an
// operator at a counter.
const (
	ChannelOnline  = "online"
	ChannelCounter = "counter"
)

// Cast records that v took part and their ballot, in one transaction: the
// roll's primary key lets one of two submissions at once through. It
// returns the receipt, which alone finds the ballot again (only worth
// showing when the consultation is editable). The answers must have been
// checked against the consultation's questions (Check, complete).
func (s *Store) Cast(ctx context.Context, c *Consultation, v *Viewer, a Answers) (string, error) {
	receipt := newReceipt()
	if err := s.cast(ctx, c, v, a, ChannelOnline, receipt, nil); err != nil {
		return "", err
	}
	return receipt, nil
}

// CounterResident is the resident v an operator identified at a counter,
// as the provider's counter endpoint described them: their subject for
// Partecipa and their residence. A person identified by a document in
// front of an operator is as sure as a card login: High.
func CounterResident(subject string, resident bool, district, ageBand, sex string) *Viewer {
	return &Viewer{Subject: subject, ResidentKnown: true, Resident: resident, District: district, AgeBand: ageBand, Sex: sex, Level: assurance.High}
}

// CastCounter records the answers an operator took at a counter for
// resident (CounterResident): the same roll as online, so one who took
// part at the counter cannot online and the reverse, in one transaction
// with the ballot (channel counter) and the office's audit entry (the
// operator and the consultation, not the resident: the provider's audit
// has the look-up). Nobody keeps a receipt: a counter answer is not
// edited.
func (s *Store) CastCounter(ctx context.Context, c *Consultation, operator, resident *Viewer, a Answers) error {
	if operator == nil || resident == nil || resident.Subject == "" || operator.Subject == resident.Subject {
		return problem.ErrForbidden
	}
	return s.cast(ctx, c, resident, a, ChannelCounter, newReceipt(), func(tx *sql.Tx) error {
		if s.Audit == nil {
			return nil
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "partecipa:" + operator.Subject, Action: "partecipa.counter.recorded", Subject: "consultation:" + c.ID})
	})
}

func (s *Store) cast(ctx context.Context, c *Consultation, v *Viewer, a Answers, channel, receipt string, then func(tx *sql.Tx) error) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.open(ctx, tx, c.ID, v); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO partecipa_roll (consultation_id, subject, channel) VALUES ($1, $2, $3)
			ON CONFLICT (consultation_id, subject) DO NOTHING`, c.ID, v.Subject, channel)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrAnswered
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_ballots (id, consultation_id, verified, answers, channel) VALUES ($1, $2, $3, $4, $5)`,
			ballotID(receipt), c.ID, v.Level.ProvesIdentity(), string(raw), channel); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM partecipa_drafts WHERE consultation_id = $1 AND subject = $2`, c.ID, v.Subject); err != nil {
			return err
		}
		if err := keepBreakdowns(ctx, tx, c, v, a); err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
}

// newReceipt is a ballot's secret: 20 random bytes, written in groups of
// four letters and digits a resident can copy.
func newReceipt() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I
	b := tokens.Bytes(20)
	var sb strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[x%32])
	}
	return sb.String()
}

// normalReceipt reads a receipt as a resident may type it.
func normalReceipt(s string) string {
	s = strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s))
	if len(s) != 20 {
		return ""
	}
	var sb strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			sb.WriteByte('-')
		}
		sb.WriteString(s[i : i+4])
	}
	return sb.String()
}

// ballotID is the key of a ballot: the hash of its receipt.
func ballotID(receipt string) string { return tokens.Hash("partecipa ballot " + receipt) }

// Ballot reads the answers of the ballot a receipt names, for a resident
// on the consultation's roll while it accepts answers and allows editing.
func (s *Store) Ballot(ctx context.Context, c *Consultation, v *Viewer, receipt string) (Answers, error) {
	if err := s.canAmend(ctx, c, v); err != nil {
		return nil, err
	}
	r := normalReceipt(receipt)
	if r == "" {
		return nil, problem.Fields{"receipt": "partecipa.receipt.bad"}
	}
	var raw string
	err := s.DB.QueryRowContext(ctx, `SELECT answers FROM partecipa_ballots WHERE id = $1 AND consultation_id = $2`, ballotID(r), c.ID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.Fields{"receipt": "partecipa.receipt.unknown"}
	}
	if err != nil {
		return nil, err
	}
	var a Answers
	return a, json.Unmarshal([]byte(raw), &a)
}

func (s *Store) canAmend(ctx context.Context, c *Consultation, v *Viewer) error {
	if !c.Editable {
		return problem.New(problem.Conflict, "partecipa.receipt.not_editable", nil)
	}
	if !c.AcceptsAt(s.now()) {
		return problem.New(problem.Conflict, "partecipa.c.not_open", nil)
	}
	took, err := s.Participated(ctx, c.ID, v.Subject)
	if err != nil {
		return err
	}
	if !took {
		return problem.New(problem.Forbidden, "partecipa.receipt.not_participant", nil)
	}
	return nil
}

// Amend replaces the answers of the ballot a receipt names. The roll is
// not touched; the ballot is fresh again, for the next mix.
func (s *Store) Amend(ctx context.Context, c *Consultation, v *Viewer, receipt string, a Answers) error {
	r := normalReceipt(receipt)
	if r == "" {
		return problem.Fields{"receipt": "partecipa.receipt.bad"}
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.open(ctx, tx, c.ID, v); err != nil {
			return err
		}
		if !c.Editable {
			return problem.New(problem.Conflict, "partecipa.receipt.not_editable", nil)
		}
		if took, err := onRoll(ctx, tx, c.ID, v.Subject); err != nil || !took {
			if err == nil {
				err = problem.New(problem.Forbidden, "partecipa.receipt.not_participant", nil)
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE partecipa_ballots SET answers = $1, fresh = TRUE WHERE id = $2 AND consultation_id = $3`,
			string(raw), ballotID(r), c.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.Fields{"receipt": "partecipa.receipt.unknown"}
		}
		return nil
	})
}

// Sweep closes consultations whose closing instant passed (their whole
// ballot box marked for the mix), and mixes every fresh ballot.
func (s *Store) Sweep(ctx context.Context) error {
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM partecipa_consultations WHERE state = 'open' AND closes_at <= $1`, s.now())
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.closeExpired(ctx, id); err != nil {
			return err
		}
	}
	return s.MixFresh(ctx)
}

// closeExpired closes a consultation whose closing instant passed.
func (s *Store) closeExpired(ctx context.Context, id string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partecipa_consultations SET state = 'closed', updated_at = $1 WHERE id = $2 AND state = 'open' AND closes_at <= $1`, s.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return remix(ctx, tx, id)
	})
}
