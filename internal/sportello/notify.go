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

// recipient is whom a step's mail goes to, found before the step's
// transaction: reading the account or the town's profile inside it would
// hold one connection while asking the pool for another, and enough
// steps at once would wait for each other for ever.
type recipient struct {
	to, lang, town string
}

// recipient finds the address of an application's resident: the
// account's when it is confirmed, or the one the desk wrote down for a
// counter application; nobody without an address.
func (n *Notifier) recipient(ctx context.Context, accountID, notifyEmail string) (recipient, error) {
	if n == nil || n.Outbox == nil {
		return recipient{}, nil
	}
	r := recipient{to: notifyEmail, lang: "it", town: "civico"}
	if accountID != "" && n.Accounts != nil {
		acc, err := n.Accounts.ByID(ctx, accountID)
		switch {
		case errors.Is(err, identity.ErrNotFound):
		case err != nil:
			return recipient{}, err
		case acc.ClosedAt == nil && acc.Email != "" && acc.EmailVerifiedAt != nil:
			r.to = acc.Email
			if acc.Lang != "" {
				r.lang = acc.Lang
			}
		}
	}
	if r.to == "" || mail.ValidateAddress(r.to) != nil {
		return recipient{}, nil
	}
	if n.Towns != nil {
		if p, err := n.Towns.Get(ctx); err == nil {
			r.town = p.FullName()
		}
	}
	return r, nil
}

// notifyTx queues the mail of event for the application's resident, in
// the step's transaction, so it leaves if and only if the step commits.
func (n *Notifier) notifyTx(ctx context.Context, tx *sql.Tx, to recipient, a *Application, event string) error {
	if n == nil || n.Outbox == nil || to.to == "" {
		return nil
	}
	t := func(id string, args ...any) string {
		if n.I18n == nil {
			return id
		}
		return n.I18n.T(to.lang, id, args...)
	}
	link := n.BaseURL + AreaPath + "/" + a.ID
	what := t("sportello.mail.event." + event)
	_, err := n.Outbox.Enqueue(ctx, tx, mail.Message{To: to.to,
		Subject: t("sportello.mail.subject", "Protocol", a.Protocol, "Town", to.town),
		Text:    t("sportello.mail.text", "Protocol", a.Protocol, "What", what, "Link", link, "Town", to.town)})
	return err
}
