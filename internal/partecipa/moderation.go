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

	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Comment is one comment of a proposal's discussion, with its replies.
type Comment struct {
	ID, ProposalID, ParentID, RootID string
	Depth                            int
	Author, Body, HiddenReason       string
	HiddenAt                         *time.Time
	CreatedAt                        time.Time
	Replies                          []*Comment
}

// Hidden reports whether the office hid it.
func (c *Comment) Hidden() bool { return c.HiddenAt != nil }

// Replyable reports whether a reply to it may be written.
func (c *Comment) Replyable() bool { return !c.Hidden() && c.Depth < maxDepth }

// Kinds of what a resident reports and the office hides.
const (
	KindProposal = "proposal"
	KindComment  = "comment"
)

// Reasons of a report (messages partecipa.report.reason_<key>).
var Reasons = []string{"spam", "offensive", "personal", "offtopic", "other"}

func checkComment(body string) (string, error) {
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	if n := utf8.RuneCountInString(body); n < 2 || n > maxComment {
		return "", problem.Fields{"body": "partecipa.comment.bad_body"}
	}
	return body, nil
}

// AddComment records v's comment on a proposal, or a reply to the comment
// parent of the same proposal; it returns its id.
func (s *Store) AddComment(ctx context.Context, proposalID, parentID string, v *Viewer, body string) (string, error) {
	if v == nil {
		return "", problem.New(problem.Forbidden, "partecipa.comment.login", nil)
	}
	body, err := checkComment(body)
	if err != nil {
		return "", err
	}
	id, now := tokens.ID(), s.now()
	return id, s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var hidden sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT hidden_at FROM partecipa_proposals WHERE id = $1`, proposalID).Scan(&hidden); errors.Is(err, sql.ErrNoRows) {
			return problem.ErrNotFound
		} else if err != nil {
			return err
		}
		if hidden.Valid {
			return problem.New(problem.Conflict, "partecipa.comment.closed", nil)
		}
		root, depth := id, 0
		var parent sql.NullString
		if parentID != "" {
			var of string
			var pdepth int
			var phidden sql.NullTime
			err := tx.QueryRowContext(ctx, `SELECT proposal_id, root_id, depth, hidden_at FROM partecipa_comments WHERE id = $1`, parentID).Scan(&of, &root, &pdepth, &phidden)
			if errors.Is(err, sql.ErrNoRows) || err == nil && of != proposalID {
				return problem.ErrNotFound
			}
			if err != nil {
				return err
			}
			if phidden.Valid || pdepth >= maxDepth {
				return problem.New(problem.Conflict, "partecipa.comment.no_reply", nil)
			}
			depth, parent = pdepth+1, sql.NullString{String: parentID, Valid: true}
		}
		if err := s.take(ctx, tx, "comment", v.Subject, CommentRule); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO partecipa_comments (id, proposal_id, parent_id, root_id, depth, author, body, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, proposalID, parent, root, depth, v.Subject, body, now); err != nil {
			return err
		}
		return s.recordProposal(ctx, tx, v.Subject, "comment.create", "comment:"+id, map[string]string{"proposal": proposalID})
	})
}

const commentColumns = `id, proposal_id, parent_id, root_id, depth, author, body, hidden_reason, hidden_at, created_at`

func scanComments(rows *sql.Rows) ([]*Comment, error) {
	defer rows.Close()
	var out []*Comment
	for rows.Next() {
		var c Comment
		var parent sql.NullString
		var hidden sql.NullTime
		if err := rows.Scan(&c.ID, &c.ProposalID, &parent, &c.RootID, &c.Depth, &c.Author, &c.Body, &c.HiddenReason, &hidden, &c.CreatedAt); err != nil {
			return nil, err
		}
		c.ParentID = parent.String
		if hidden.Valid {
			t := hidden.Time.UTC()
			c.HiddenAt = &t
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, &c)
	}
	return out, rows.Err()
}

// Threads is how many threads a proposal's discussion has.
func (s *Store) Threads(ctx context.Context, proposalID string) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_comments WHERE proposal_id = $1 AND depth = 0`, proposalID).Scan(&n)
	return n, err
}

// Comments is a page of a proposal's threads, oldest first (PageSize
// first comments at offset, each with all its replies in a tree), and how
// many threads there are.
func (s *Store) Comments(ctx context.Context, proposalID string, offset int) ([]*Comment, int, error) {
	total, err := s.Threads(ctx, proposalID)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+commentColumns+` FROM partecipa_comments WHERE proposal_id = $1 AND depth = 0
		ORDER BY created_at, id LIMIT $2 OFFSET $3`, proposalID, PageSize, max(0, offset))
	if err != nil {
		return nil, 0, err
	}
	roots, err := scanComments(rows)
	if err != nil || len(roots) == 0 {
		return roots, total, err
	}
	ids := make([]any, len(roots))
	marks := make([]string, len(roots))
	byID := map[string]*Comment{}
	for i, c := range roots {
		ids[i], marks[i], byID[c.ID] = c.ID, "$"+strconv.Itoa(i+1), c
	}
	rows, err = s.DB.QueryContext(ctx, `SELECT `+commentColumns+` FROM partecipa_comments WHERE depth > 0 AND root_id IN (`+strings.Join(marks, ", ")+`) ORDER BY created_at, id LIMIT `+strconv.Itoa(MaxReplies), ids...) // #nosec G202 -- placeholders and a constant only
	if err != nil {
		return nil, 0, err
	}
	replies, err := scanComments(rows)
	if err != nil {
		return nil, 0, err
	}
	for _, c := range replies {
		byID[c.ID] = c
	}
	for _, c := range replies {
		if p := byID[c.ParentID]; p != nil {
			p.Replies = append(p.Replies, c)
		}
	}
	return roots, total, nil
}

// MaxReplies bounds the replies one page of threads reads and shows, the
// oldest first: a flood of replies to one thread (accounts are cheap)
// cannot make every view of the proposal slow (outside review).
const MaxReplies = 1000

// ErrReported: the resident has already reported this.
var ErrReported = problem.New(problem.Conflict, "partecipa.report.already", nil)

// ReportInput is a report as the resident's form sends it.
type ReportInput struct {
	Kind, Target, Reason, Note string
}

// Report records v's report of a proposal or a comment of proposalID for
// the office, once per resident and thing, within their budget.
func (s *Store) Report(ctx context.Context, proposalID string, v *Viewer, in ReportInput) error {
	if v == nil {
		return problem.New(problem.Forbidden, "partecipa.report.login", nil)
	}
	in.Note = strings.TrimSpace(in.Note)
	bad := problem.Fields{}
	if !slices.Contains(Reasons, in.Reason) {
		bad["reason"] = "partecipa.report.bad_reason"
	}
	if utf8.RuneCountInString(in.Note) > maxNote {
		bad["note"] = "partecipa.report.bad_note"
	}
	if in.Kind != KindProposal && in.Kind != KindComment || in.Kind == KindProposal && in.Target != proposalID {
		return problem.ErrNotFound
	}
	if len(bad) > 0 {
		return bad
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		q := `SELECT COUNT(*) FROM partecipa_proposals WHERE id = $1 AND id = $2`
		if in.Kind == KindComment {
			q = `SELECT COUNT(*) FROM partecipa_comments WHERE id = $1 AND proposal_id = $2`
		}
		if err := tx.QueryRowContext(ctx, q, in.Target, proposalID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return problem.ErrNotFound
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO partecipa_reports (kind, target_id, proposal_id, subject, reason, note, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, target_id, subject) DO NOTHING`, in.Kind, in.Target, proposalID, v.Subject, in.Reason, in.Note, s.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrReported
		}
		if err := s.take(ctx, tx, "report", v.Subject, ReportRule); err != nil {
			return err
		}
		return s.recordProposal(ctx, tx, v.Subject, "report", in.Kind+":"+in.Target, map[string]string{"reason": in.Reason})
	})
}

func moderationTable(kind string) (string, bool) {
	switch kind {
	case KindProposal:
		return "partecipa_proposals", true
	case KindComment:
		return "partecipa_comments", true
	}
	return "", false
}

// Hide hides a proposal or a comment with a public reason, settles its
// reports, and records who did it.
func (s *Store) Hide(ctx context.Context, kind, id, reason, actor string) error {
	table, ok := moderationTable(kind)
	if !ok || len(id) != 32 {
		return problem.ErrNotFound
	}
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 5 || n > maxNote {
		return problem.Fields{"reason": "partecipa.mod.bad_reason"}
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET hidden_at = $1, hidden_reason = $2 WHERE id = $3 AND hidden_at IS NULL`, now, reason, id) // #nosec G202 -- table is one of two names
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.missingOr(ctx, tx, table, id, "partecipa.mod.already_hidden")
		}
		if err := settle(ctx, tx, kind, id, now); err != nil {
			return err
		}
		return s.recordProposal(ctx, tx, actor, "moderation.hide", kind+":"+id, map[string]string{"reason": reason})
	})
}

// Restore shows again what the office hid.
func (s *Store) Restore(ctx context.Context, kind, id, actor string) error {
	table, ok := moderationTable(kind)
	if !ok || len(id) != 32 {
		return problem.ErrNotFound
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET hidden_at = NULL, hidden_reason = '' WHERE id = $1 AND hidden_at IS NOT NULL`, id) // #nosec G202 -- table is one of two names
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.missingOr(ctx, tx, table, id, "partecipa.mod.not_hidden")
		}
		return s.recordProposal(ctx, tx, actor, "moderation.restore", kind+":"+id, nil)
	})
}

// Dismiss settles the reports of something the office leaves shown.
func (s *Store) Dismiss(ctx context.Context, kind, id, actor string) error {
	if _, ok := moderationTable(kind); !ok || len(id) != 32 {
		return problem.ErrNotFound
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE partecipa_reports SET settled_at = $1 WHERE kind = $2 AND target_id = $3 AND settled_at IS NULL`, s.now(), kind, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return problem.New(problem.Conflict, "partecipa.mod.no_reports", nil)
		}
		return s.recordProposal(ctx, tx, actor, "moderation.dismiss", kind+":"+id, nil)
	})
}

func settle(ctx context.Context, tx *sql.Tx, kind, id string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE partecipa_reports SET settled_at = $1 WHERE kind = $2 AND target_id = $3 AND settled_at IS NULL`, now, kind, id)
	return err
}

func (s *Store) missingOr(ctx context.Context, tx *sql.Tx, table, id, msg string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = $1`, id).Scan(&n); err != nil { // #nosec G202 -- table is one of two names
		return err
	}
	if n == 0 {
		return problem.ErrNotFound
	}
	return problem.New(problem.Conflict, msg, nil)
}

// ReportGroup is what the office reads of one reported thing: the thing,
// its open reports' reasons and notes.
type ReportGroup struct {
	Kind, Target, ProposalID string
	// Text is the proposal's title or the comment's words.
	Text    string
	Hidden  bool
	Reports int
	First   time.Time
	Reasons map[string]int
	Notes   []string
}

// OpenReports is a page of the things reported and not yet settled, the
// longest waiting first, and how many there are.
func (s *Store) OpenReports(ctx context.Context, offset int) ([]*ReportGroup, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT DISTINCT kind, target_id FROM partecipa_reports WHERE settled_at IS NULL) t`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT kind, target_id, proposal_id, COUNT(*) FROM partecipa_reports WHERE settled_at IS NULL
		GROUP BY kind, target_id, proposal_id ORDER BY MIN(created_at), target_id LIMIT $1 OFFSET $2`, PageSize, max(0, offset))
	if err != nil {
		return nil, 0, err
	}
	var out []*ReportGroup
	byTarget := map[string]*ReportGroup{}
	func() {
		defer rows.Close()
		for rows.Next() {
			g := &ReportGroup{Reasons: map[string]int{}}
			if err = rows.Scan(&g.Kind, &g.Target, &g.ProposalID, &g.Reports); err != nil {
				return
			}
			out = append(out, g)
			byTarget[g.Kind+":"+g.Target] = g
		}
		err = rows.Err()
	}()
	if err != nil || len(out) == 0 {
		return out, total, err
	}
	var targets []any
	var marks []string
	for _, g := range out {
		targets = append(targets, g.Target)
		marks = append(marks, "$"+strconv.Itoa(len(targets)))
	}
	in := strings.Join(marks, ", ")
	if err := s.eachRow(ctx, `SELECT kind, target_id, reason, note, created_at FROM partecipa_reports WHERE settled_at IS NULL AND target_id IN (`+in+`) ORDER BY created_at`, targets, func(r *sql.Rows) error { // #nosec G202 -- placeholders only
		var kind, target, reason, note string
		var at time.Time
		if err := r.Scan(&kind, &target, &reason, &note, &at); err != nil {
			return err
		}
		if g := byTarget[kind+":"+target]; g != nil {
			if g.First.IsZero() {
				g.First = at.UTC()
			}
			g.Reasons[reason]++
			if note != "" {
				g.Notes = append(g.Notes, note)
			}
		}
		return nil
	}); err != nil {
		return nil, 0, err
	}
	for _, q := range []struct{ kind, sql string }{
		{KindProposal, `SELECT id, title, hidden_at IS NOT NULL FROM partecipa_proposals WHERE id IN (` + in + `)`}, // #nosec G202 -- placeholders only,
		{KindComment, `SELECT id, body, hidden_at IS NOT NULL FROM partecipa_comments WHERE id IN (` + in + `)`},
	} {
		if err := s.eachRow(ctx, q.sql, targets, func(r *sql.Rows) error {
			var id, text string
			var hidden bool
			if err := r.Scan(&id, &text, &hidden); err != nil {
				return err
			}
			if g := byTarget[q.kind+":"+id]; g != nil {
				g.Text, g.Hidden = text, hidden
			}
			return nil
		}); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

func (s *Store) eachRow(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
