package partecipa

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"unicode"

	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
)

// Notifications for residents who opt in (docs/PARTECIPA.md,
// "Notifications"): a new consultation in their district, the answer to
// a proposal they support; mail through the outbox, in the transaction of
// what they announce.

// Subscription is what a resident asked to be told.
type Subscription struct {
	Consultations, Answers bool
	Email                  string
}

// Subscription reads the resident's choices.
func (s *Store) Subscription(ctx context.Context, subject string) (Subscription, error) {
	var sub Subscription
	err := s.DB.QueryRowContext(ctx, `SELECT consultations, answers, email FROM partecipa_subscriptions WHERE subject = $1`, subject).
		Scan(&sub.Consultations, &sub.Answers, &sub.Email)
	if err == sql.ErrNoRows {
		return Subscription{}, nil
	}
	return sub, err
}

// Subscribe records the resident's choices, with the confirmed address
// and proven district of their login; neither choice forgets them.
func (s *Store) Subscribe(ctx context.Context, v *Viewer, consultations, answers bool) error {
	if v == nil || v.Subject == "" {
		return problem.ErrForbidden
	}
	if !consultations && !answers {
		_, err := s.DB.ExecContext(ctx, `DELETE FROM partecipa_subscriptions WHERE subject = $1`, v.Subject)
		return err
	}
	if mail.ValidateAddress(v.Email) != nil {
		return problem.Fields{"notify": "partecipa.notify.no_email"}
	}
	district := ""
	if v.ResidentKnown && v.Resident {
		district = v.District
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO partecipa_subscriptions (subject, email, district, consultations, answers, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (subject) DO UPDATE SET email = excluded.email, district = excluded.district, consultations = excluded.consultations,
		answers = excluded.answers, updated_at = excluded.updated_at`, v.Subject, v.Email, district, consultations, answers, s.now())
	return err
}

// MailSubjectText is a title as a mail's subject may carry it: no control
// characters, no line breaks (a header cannot be split by a title), runs
// of spaces as one, at most 120 characters.
func MailSubjectText(title string) string {
	title = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, title)
	title = strings.Join(strings.Fields(title), " ")
	if r := []rune(title); len(r) > 120 {
		title = string(r[:119]) + "…"
	}
	return title
}

func (s *Store) t(id string, args ...any) string {
	if s.T == nil {
		return id
	}
	return s.T(id, args...)
}

// sendTx enqueues one message per address of rows (a query of emails).
func (s *Store) sendTx(ctx context.Context, tx *sql.Tx, rows *sql.Rows, subject, text string) error {
	var to []string
	for rows.Next() {
		var addr string
		if err := rows.Scan(&addr); err != nil {
			_ = rows.Close()
			return err
		}
		to = append(to, addr)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, addr := range to {
		if _, err := s.Outbox.Enqueue(ctx, tx, mail.Message{To: addr, Subject: subject, Text: text}); err != nil {
			return err
		}
	}
	return nil
}

// notifyOpened, in the transaction that opens c, tells the subscribers of
// c's districts (everyone subscribed, when c names none).
func (s *Store) notifyOpened(ctx context.Context, tx *sql.Tx, c *Consultation) error {
	if s.Outbox == nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT email, district FROM partecipa_subscriptions WHERE consultations = TRUE ORDER BY subject`)
	if err != nil {
		return err
	}
	var to []string
	for rows.Next() {
		var addr, district string
		if err := rows.Scan(&addr, &district); err != nil {
			_ = rows.Close()
			return err
		}
		if len(c.Districts) == 0 || slices.Contains(c.Districts, district) {
			to = append(to, addr)
		}
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	title := MailSubjectText(c.Title)
	subject := s.t("partecipa.notify.opened_subject", "Title", title)
	text := s.t("partecipa.notify.opened_text", "Title", title, "Link", s.BaseURL+"/consultazioni/"+c.ID, "Profile", s.BaseURL+"/profilo")
	for _, addr := range to {
		if _, err := s.Outbox.Enqueue(ctx, tx, mail.Message{To: addr, Subject: subject, Text: text}); err != nil {
			return err
		}
	}
	return nil
}

// notifyAnswered, in the transaction that publishes the office's answer
// to a proposal, tells its subscribed supporters.
func (s *Store) notifyAnswered(ctx context.Context, tx *sql.Tx, id, title string) error {
	if s.Outbox == nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT n.email FROM partecipa_subscriptions n JOIN partecipa_supports p ON p.subject = n.subject
		WHERE p.proposal_id = $1 AND n.answers = TRUE ORDER BY n.subject`, id)
	if err != nil {
		return err
	}
	title = MailSubjectText(title)
	return s.sendTx(ctx, tx, rows, s.t("partecipa.notify.answered_subject", "Title", title),
		s.t("partecipa.notify.answered_text", "Title", title, "Link", s.BaseURL+"/proposte/"+id, "Profile", s.BaseURL+"/profilo"))
}
