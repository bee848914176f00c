package sportello

import (
	"context"
	"database/sql"
	"errors"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Notifier tells a resident that something happened to their
// application: a mail through the outbox, in the step's transaction, so
// it leaves if and only if the step commits. The mail says as little as
// it can (the protocol number, what kind of step, a link to the personal
// area): no answer, no name, no service — a disabled parking badge or a
// diet says something about a person.
type Notifier struct {
	Outbox   *mail.Outbox
	Accounts *identity.Store
	I18n     *web.I18n
	Towns    *town.Store
	// BaseURL is the portal's public address, for the link.
	BaseURL string
}

// notifyTx queues the mail of event for the application's resident: the
// account's address when it is confirmed, or the one the desk wrote down
// for a counter application; nobody without an address.
func (n *Notifier) notifyTx(ctx context.Context, tx *sql.Tx, a *Application, event string) error {
	if n == nil || n.Outbox == nil {
		return nil
	}
	to, lang := a.NotifyEmail, "it"
	if a.AccountID != "" && n.Accounts != nil {
		acc, err := n.Accounts.ByID(ctx, a.AccountID)
		switch {
		case errors.Is(err, identity.ErrNotFound):
		case err != nil:
			return err
		case acc.ClosedAt == nil && acc.Email != "" && acc.EmailVerifiedAt != nil:
			to = acc.Email
			if acc.Lang != "" {
				lang = acc.Lang
			}
		}
	}
	if to == "" || mail.ValidateAddress(to) != nil {
		return nil
	}
	townName := "civico"
	if n.Towns != nil {
		if p, err := n.Towns.Get(ctx); err == nil {
			townName = p.FullName()
		}
	}
	t := func(id string, args ...any) string {
		if n.I18n == nil {
			return id
		}
		return n.I18n.T(lang, id, args...)
	}
	link := n.BaseURL + AreaPath + "/" + a.ID
	what := t("sportello.mail.event." + event)
	_, err := n.Outbox.Enqueue(ctx, tx, mail.Message{To: to,
		Subject: t("sportello.mail.subject", "Protocol", a.Protocol, "Town", townName),
		Text:    t("sportello.mail.text", "Protocol", a.Protocol, "What", what, "Link", link, "Town", townName)})
	return err
}
