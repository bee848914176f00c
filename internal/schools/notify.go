package schools

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Notifier writes the mail of every change of an enrolment (accepted,
// waiting with the position, promoted, withdrawn) through the outbox, in
// the change's transaction: the mail exists exactly when the change
// committed. It says the child's given name, the service and the status;
// the page in the personal area says the rest.
type Notifier struct {
	Outbox  *mail.Outbox
	I18n    *web.I18n
	Towns   *town.Store
	BaseURL string
}

// Letter is a Letters.
func (n *Notifier) Letter(ctx context.Context, tx *sql.Tx, e *Enrolment, what string) error {
	if n == nil || n.Outbox == nil || e.Email == "" {
		return nil
	}
	m, err := n.Message(ctx, e, what)
	if err != nil {
		return err
	}
	_, err = n.Outbox.Enqueue(ctx, tx, m)
	return err
}

// Message is the mail of what happened to e.
func (n *Notifier) Message(ctx context.Context, e *Enrolment, what string) (mail.Message, error) {
	townName := "civico"
	if n.Towns != nil {
		if p, err := n.Towns.Get(ctx); err == nil {
			townName = p.FullName()
		}
	}
	args := []any{"Child", e.ChildGiven, "Service", e.Service, "Unit", e.Unit, "Position", e.Position,
		"Link", n.BaseURL + AreaPath + "/" + e.ID, "Town", townName}
	t := func(id string) string { return n.I18n.T(e.Lang, id, args...) }
	m := mail.Message{To: e.Email, Subject: t("schools.mail." + what + ".subject"), Text: t("schools.mail." + what + ".text")}
	if strings.HasPrefix(m.Subject, "schools.") {
		return m, fmt.Errorf("schools: no mail for %q", what)
	}
	return m, nil
}

// PaymentsPath is where a parent pays: I miei pagamenti.
const PaymentsPath = "/area-personale/pagamenti"

// BillLetter is a BillLetters: the notice of a bill (its number, amount
// and due date, and where to pay it). An exemption is not mailed: there
// is nothing to pay.
func (n *Notifier) BillLetter(ctx context.Context, tx *sql.Tx, e *Enrolment, b *BillRecord) error {
	if n == nil || n.Outbox == nil || e.Email == "" || b.Exempt() {
		return nil
	}
	townName := "civico"
	if n.Towns != nil {
		if p, err := n.Towns.Get(ctx); err == nil {
			townName = p.FullName()
		}
	}
	period := b.PeriodText()
	if period == "" {
		period = n.I18n.T(e.Lang, "schools.bills.once")
	}
	args := []any{"Child", e.ChildGiven, "Service", e.Service, "Period", period, "Amount", b.Amount(), "Number", b.NoticeNumber,
		"Link", n.BaseURL + PaymentsPath + "/avvisi/" + b.NoticeID, "Town", townName}
	t := func(id string) string { return n.I18n.T(e.Lang, id, args...) }
	m := mail.Message{To: e.Email, Subject: t("schools.mail.billed.subject"), Text: t("schools.mail.billed.text")}
	_, err := n.Outbox.Enqueue(ctx, tx, m)
	return err
}
