package partecipa

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// Categories of a proposal: the town's areas of work, in the order the
// form lists them (messages partecipa.cat.<key>).
var Categories = []string{"verde", "mobilita", "ambiente", "scuola", "cultura", "sport", "sociale", "sicurezza", "urbanistica", "altro"}

// Statuses of a proposal, as the participation office sets them
// (messages partecipa.pstatus.<key>).
const (
	StatusEvaluation = "evaluation"
	StatusAccepted   = "accepted"
	StatusRejected   = "rejected"
	StatusProgress   = "progress"
	StatusDone       = "done"
)

// Statuses lists them in their order.
var Statuses = []string{StatusEvaluation, StatusAccepted, StatusRejected, StatusProgress, StatusDone}

// Defaults of the proposals' rules (Store.Threshold, Store.AnswerWithin).
const (
	DefaultThreshold    = 100
	DefaultAnswerWithin = 60 * 24 * time.Hour
)

// Budgets of a resident's writes: proposals a day, comments an hour,
// reports a day (each check and its record one transaction).
var (
	ProposalRule = throttle.Rule{Free: 5, Window: 24 * time.Hour}
	CommentRule  = throttle.Rule{Free: 30, Window: time.Hour}
	ReportRule   = throttle.Rule{Free: 10, Window: 24 * time.Hour}
)

// Limits of what a resident writes, in characters.
const (
	maxTitle   = 150
	minTitle   = 5
	maxBody    = 5000
	minBody    = 20
	maxAddress = 200
	maxComment = 2000
	maxNote    = 500
	maxAnswer  = 5000
	// maxDepth is the deepest reply: a comment, a reply, a reply to that,
	// and one more.
	maxDepth = 3
)

// Proposal is a resident's proposal to the administration.
type Proposal struct {
	ID, Author, Title, Body, Category, Address string
	// Lat and Lon are its point on the map, when HasPoint.
	Lat, Lon            float64
	HasPoint            bool
	Status              string
	Supports, Threshold int64
	// ReachedAt is when supports reached the threshold; AnswerDue the
	// date by which the administration must answer from then.
	ReachedAt, AnswerDue, AnsweredAt, HiddenAt *time.Time
	Answer, HiddenReason                       string
	CreatedAt                                  time.Time
}

// Reached reports whether the proposal has reached its threshold.
func (p *Proposal) Reached() bool { return p.ReachedAt != nil }

// Overdue reports whether its answer is due and late at now.
func (p *Proposal) Overdue(now time.Time) bool {
	return p.AnswerDue != nil && p.AnsweredAt == nil && now.After(*p.AnswerDue)
}

// Hidden reports whether the office hid it.
func (p *Proposal) Hidden() bool { return p.HiddenAt != nil }

// Percent is its supports as a share of the threshold, at most 100.
func (p *Proposal) Percent() int {
	if p.Threshold <= 0 {
		return 100
	}
	return int(min(100, p.Supports*100/p.Threshold))
}

// Supportable reports whether residents may still support it: shown, and
// not yet decided by the office.
func (p *Proposal) Supportable() bool { return !p.Hidden() && p.Status == StatusEvaluation }

// ProposalInput is a proposal as the resident's form sends it.
type ProposalInput struct {
	Title, Body, Category, Address, Lat, Lon string
}

// checkProposal validates a proposal; points says whether the town shows
// maps (a point is accepted only then).
func checkProposal(in ProposalInput, points bool) (*Proposal, error) {
	bad := problem.Fields{}
	p := &Proposal{Title: strings.TrimSpace(in.Title), Body: strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n")),
		Category: in.Category, Address: strings.TrimSpace(in.Address)}
	if n := utf8.RuneCountInString(p.Title); n < minTitle || n > maxTitle {
		bad["title"] = "partecipa.p.bad_title"
	}
	if n := utf8.RuneCountInString(p.Body); n < minBody || n > maxBody {
		bad["body"] = "partecipa.p.bad_body"
	}
	if !slices.Contains(Categories, p.Category) {
		bad["category"] = "partecipa.p.bad_category"
	}
	if utf8.RuneCountInString(p.Address) > maxAddress {
		bad["address"] = "partecipa.p.bad_address"
	}
	if points {
		var field, msg string
		if p.Lat, p.Lon, p.HasPoint, field, msg = web.ParsePoint(in.Lat, in.Lon); field != "" {
			bad[field] = msg
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	return p, nil
}

// MayPropose says whether v may propose and support, and if not why (a
// message id): a resident whose residence a proven login told.
func MayPropose(v *Viewer) (bool, string) {
	switch {
	case v == nil:
		return false, "partecipa.p.login"
	case !v.Level.ProvesIdentity():
		return false, "partecipa.p.level"
	case !(v.ResidentKnown && v.Resident):
		return false, "partecipa.p.not_resident"
	}
	return true, ""
}

func (s *Store) threshold() int64 {
	if s.Threshold > 0 {
		return s.Threshold
	}
	return DefaultThreshold
}

func (s *Store) answerWithin() time.Duration {
	if s.AnswerWithin > 0 {
		return s.AnswerWithin
	}
	return DefaultAnswerWithin
}

// take draws on a resident's budget in tx (none without a limiter: the
// package's own tests).
func (s *Store) take(ctx context.Context, tx *sql.Tx, name, subject string, r throttle.Rule) error {
	if s.Limiter == nil {
		return nil
	}
	return s.Limiter.Take(ctx, tx, throttle.Key{Name: "partecipa:" + name + ":" + subject, Rule: r})
}

func (s *Store) recordProposal(ctx context.Context, tx *sql.Tx, actor, action, subject string, details map[string]string) error {
	return s.Audit.Write(ctx, tx, audit.Entry{Actor: "partecipa:" + actor, Action: "partecipa." + action, Subject: subject, Details: details})
}

// CreateProposal records v's proposal and returns its id.
func (s *Store) CreateProposal(ctx context.Context, v *Viewer, in ProposalInput, points bool) (string, error) {
	if ok, why := MayPropose(v); !ok {
		return "", problem.New(problem.Forbidden, why, nil)
	}
	p, err := checkProposal(in, points)
	if err != nil {
		return "", err
	}
	id, now := tokens.ID(), s.now()
	var lat, lon sql.NullFloat64
	if p.HasPoint {
		lat, lon = sql.NullFloat64{Float64: p.Lat, Valid: true}, sql.NullFloat64{Float64: p.Lon, Valid: true}
	}
	return id, s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.take(ctx, tx, "proposal", v.Subject, ProposalRule); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_proposals (id, author, title, body, category, address, lat, lon, threshold, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`, id, v.Subject, p.Title, p.Body, p.Category, p.Address, lat, lon, s.threshold(), now); err != nil {
			return err
		}
		return s.recordProposal(ctx, tx, v.Subject, "proposal.create", "proposal:"+id, map[string]string{"title": p.Title})
	})
}

const proposalColumns = `id, author, title, body, category, address, lat, lon, status, supports, threshold, reached_at, answer_due, answer, answered_at,
	hidden_reason, hidden_at, created_at`

func scanProposal(r scanner) (*Proposal, error) {
	var p Proposal
	var lat, lon sql.NullFloat64
	var reached, due, answered, hidden sql.NullTime
	if err := r.Scan(&p.ID, &p.Author, &p.Title, &p.Body, &p.Category, &p.Address, &lat, &lon, &p.Status, &p.Supports, &p.Threshold,
		&reached, &due, &p.Answer, &answered, &p.HiddenReason, &hidden, &p.CreatedAt); err != nil {
		return nil, err
	}
	if lat.Valid && lon.Valid {
		p.Lat, p.Lon, p.HasPoint = lat.Float64, lon.Float64, true
	}
	at := func(t sql.NullTime) *time.Time {
		if !t.Valid {
			return nil
		}
		u := t.Time.UTC()
		return &u
	}
	p.ReachedAt, p.AnswerDue, p.AnsweredAt, p.HiddenAt = at(reached), at(due), at(answered), at(hidden)
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// Proposal reads one proposal, hidden or not (its page then shows why).
func (s *Store) Proposal(ctx context.Context, id string) (*Proposal, error) {
	if len(id) != 32 {
		return nil, problem.ErrNotFound
	}
	p, err := scanProposal(s.DB.QueryRowContext(ctx, `SELECT `+proposalColumns+` FROM partecipa_proposals WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.ErrNotFound
	}
	return p, err
}

// ProposalQuery is a page of the public list: a category and a status, or
// "" for all.
type ProposalQuery struct {
	Category, Status string
	Offset           int
	Limit            int
}

// Proposals is a page of the proposals shown (hidden ones left out),
// newest first, and how many match: each read from an index.
func (s *Store) Proposals(ctx context.Context, q ProposalQuery) ([]*Proposal, int, error) {
	where, args := `hidden_at IS NULL`, []any{}
	if q.Category != "" {
		args = append(args, q.Category)
		where += ` AND category = $` + strconv.Itoa(len(args))
	}
	if q.Status != "" {
		args = append(args, q.Status)
		where += ` AND status = $` + strconv.Itoa(len(args))
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_proposals WHERE `+where, args...).Scan(&total); err != nil { // #nosec G202 -- where is built of fixed clauses; values are parameters
		return nil, 0, err
	}
	limit := q.Limit
	if limit <= 0 || limit > PageSize {
		limit = PageSize
	}
	n := len(args)
	rows, err := s.DB.QueryContext(ctx, `SELECT `+proposalColumns+` FROM partecipa_proposals WHERE `+where+ // #nosec G202 -- as above
		` ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), append(args, limit, max(0, q.Offset))...)
	if err != nil {
		return nil, 0, err
	}
	out, err := scanProposals(rows)
	return out, total, err
}

func scanProposals(rows *sql.Rows) ([]*Proposal, error) {
	defer rows.Close()
	var out []*Proposal
	for rows.Next() {
		p, err := scanProposal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ErrSupported: the resident already supports the proposal.
var ErrSupported = problem.New(problem.Conflict, "partecipa.p.already_supported", nil)

// Support adds v's support to a proposal, once: the supports' primary key
// lets one of two at once through, and the count and the threshold's
// instant change in the same transaction. Reaching the threshold starts
// the time the administration has to answer.
func (s *Store) Support(ctx context.Context, id string, v *Viewer) error {
	if ok, why := MayPropose(v); !ok {
		return problem.New(problem.Forbidden, why, nil)
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		p, err := scanProposal(tx.QueryRowContext(ctx, `SELECT `+proposalColumns+` FROM partecipa_proposals WHERE id = $1`+s.DB.ForUpdate(), id)) // #nosec G202 -- ForUpdate is a fixed clause
		if errors.Is(err, sql.ErrNoRows) {
			return problem.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !p.Supportable() {
			return problem.New(problem.Conflict, "partecipa.p.closed", nil)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO partecipa_supports (proposal_id, subject) VALUES ($1, $2) ON CONFLICT (proposal_id, subject) DO NOTHING`, id, v.Subject)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrSupported
		}
		now := s.now()
		reached := p.ReachedAt == nil && p.Supports+1 >= p.Threshold
		if !reached {
			_, err = tx.ExecContext(ctx, `UPDATE partecipa_proposals SET supports = supports + 1 WHERE id = $1`, id)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE partecipa_proposals SET supports = supports + 1, reached_at = $1, answer_due = $2 WHERE id = $3`,
			now, now.Add(s.answerWithin()), id); err != nil {
			return err
		}
		return s.recordProposal(ctx, tx, "system", "proposal.threshold", "proposal:"+id, map[string]string{"supports": strconv.FormatInt(p.Supports+1, 10)})
	})
}

// ErrNotSupported: the resident does not support the proposal (any more).
var ErrNotSupported = problem.New(problem.Conflict, "partecipa.p.not_supported", nil)

// Withdraw takes back the resident's support of a proposal, while it is
// still open to supports, in one transaction with the proposal's row
// locked (PostgreSQL; SQLite's one writer serialises): the support's row
// is deleted and only a deleted row lowers the counter, so two
// withdrawals at once (two sessions) count once, and a support and a
// withdrawal at once leave the counter equal to the rows. A threshold
// once reached stays reached: the answer is owed.
func (s *Store) Withdraw(ctx context.Context, id string, v *Viewer) error {
	if v == nil || v.Subject == "" {
		return problem.ErrForbidden
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		p, err := scanProposal(tx.QueryRowContext(ctx, `SELECT `+proposalColumns+` FROM partecipa_proposals WHERE id = $1`+s.DB.ForUpdate(), id)) // #nosec G202 -- ForUpdate is a fixed clause
		if errors.Is(err, sql.ErrNoRows) {
			return problem.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !p.Supportable() {
			return problem.New(problem.Conflict, "partecipa.p.closed", nil)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM partecipa_supports WHERE proposal_id = $1 AND subject = $2`, id, v.Subject)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotSupported
		}
		_, err = tx.ExecContext(ctx, `UPDATE partecipa_proposals SET supports = supports - 1 WHERE id = $1 AND supports > 0`, id)
		return err
	})
}

// Supports reports whether subject supports the proposal.
func (s *Store) Supports(ctx context.Context, id, subject string) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_supports WHERE proposal_id = $1 AND subject = $2`, id, subject).Scan(&n)
	return n > 0, err
}

// Decision is what the office decides of a proposal: its status and its
// public answer.
type Decision struct {
	Status, Answer string
}

// Decide sets a proposal's status and publishes the office's answer. A
// status other than under evaluation needs an answer that explains it;
// a proposal that reached its threshold is answered by this.
func (s *Store) Decide(ctx context.Context, id string, d Decision, actor string) error {
	d.Answer = strings.TrimSpace(strings.ReplaceAll(d.Answer, "\r\n", "\n"))
	bad := problem.Fields{}
	if !slices.Contains(Statuses, d.Status) {
		bad["status"] = "partecipa.p.bad_status"
	}
	if utf8.RuneCountInString(d.Answer) > maxAnswer {
		bad["answer"] = "partecipa.p.bad_answer"
	} else if d.Answer == "" && d.Status != StatusEvaluation {
		bad["answer"] = "partecipa.p.answer_needed"
	}
	if len(bad) > 0 {
		return bad
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		p, err := scanProposal(tx.QueryRowContext(ctx, `SELECT `+proposalColumns+` FROM partecipa_proposals WHERE id = $1`+s.DB.ForUpdate(), id)) // #nosec G202 -- ForUpdate is a fixed clause
		if errors.Is(err, sql.ErrNoRows) {
			return problem.ErrNotFound
		}
		if err != nil {
			return err
		}
		now := s.now()
		answered := p.AnsweredAt
		if d.Answer != "" && (d.Answer != p.Answer || answered == nil) {
			answered = &now
		}
		if d.Answer == "" {
			answered = nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE partecipa_proposals SET status = $1, answer = $2, answered_at = $3, updated_at = $4 WHERE id = $5`,
			d.Status, d.Answer, answered, now, id); err != nil {
			return err
		}
		// A new or changed answer is news for the supporters who asked.
		if answered != nil && (p.AnsweredAt == nil || !answered.Equal(*p.AnsweredAt)) {
			if err := s.notifyAnswered(ctx, tx, id, p.Title); err != nil {
				return err
			}
		}
		return s.recordProposal(ctx, tx, actor, "proposal.decide", "proposal:"+id, map[string]string{"status": d.Status, "from": p.Status,
			"answered": strconv.FormatBool(d.Answer != "")})
	})
}

// OfficeQuery is a page of the office's list: Due keeps the proposals
// whose answer is due and not given, the earliest deadline first.
type OfficeQuery struct {
	Due    bool
	Offset int
}

// OfficeProposals is a page of every proposal, hidden ones too.
func (s *Store) OfficeProposals(ctx context.Context, q OfficeQuery) ([]*Proposal, int, error) {
	where, order := `1 = 1`, `created_at DESC, id DESC`
	if q.Due {
		where, order = `answered_at IS NULL AND answer_due IS NOT NULL`, `answer_due, id`
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_proposals WHERE `+where).Scan(&total); err != nil { // #nosec G202 -- fixed clauses
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+proposalColumns+` FROM partecipa_proposals WHERE `+where+` ORDER BY `+order+` LIMIT $1 OFFSET $2`, // #nosec G202 -- fixed clauses
		PageSize, max(0, q.Offset))
	if err != nil {
		return nil, 0, err
	}
	out, err := scanProposals(rows)
	return out, total, err
}

// AnswersDue is how many proposals wait for the answer they are owed.
func (s *Store) AnswersDue(ctx context.Context) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_proposals WHERE answered_at IS NULL AND answer_due IS NOT NULL`).Scan(&n)
	return n, err
}
