package news

import (
	"context"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
)

// Module is the news section as civico wires it: Service is set when the
// feature is wired.
type Module struct {
	Service *Service
}

// Feature is the Novità section, its back office and the daily digest.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "news", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			m.Service = &Service{DB: h.DB, Outbox: h.Outbox, Audit: h.Audit, I18n: h.Portal.I18n, Towns: h.Towns, BaseURL: h.BaseURL,
				Limiter: h.Limiter, MailBudget: h.ID.Svc.MailBudget}
			(&Web{App: h.Portal, News: m.Service}).Routes()
			h.BackOffice(identity.Section{Label: "news.admin.title", Href: "/backoffice/notizie", Roles: EditorRoles})
			h.Export("news_subscription", func(ctx context.Context, a *identity.Account) (any, error) {
				return m.Service.Export(ctx, a.Email)
			})
			h.Daily("digest", DigestHour, DigestMinute, (&Digest{News: m.Service, Log: h.Log}).Daily)
			return nil
		},
	}
}
