package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// areaFeature is the resident's personal area. It belongs to no feature:
// the features' panels (Host.Panel) and the messages they post
// (Host.Messages) are what it shows, and the catalogue's online services.
// Its package is a platform package (features import it for Panel and
// Message), so its feature is described here.
func areaFeature(services area.Services) feature.Feature {
	return feature.Feature{
		Name: "area", Messages: area.Messages, Portal: area.Templates, Migrations: area.Migrations,
		Wire: func(h *feature.Host) error {
			desk := &area.Desk{
				// Read at each visit: the features after the area in the
				// list register their panels once it is wired.
				Panels: func() []area.Named {
					list := h.Panels()
					out := make([]area.Named, len(list))
					for i, p := range list {
						out[i] = area.Named{Feature: p.Feature, Panel: p.Panel}
					}
					return out
				},
				Failed: func(name string, err error) { h.Log.Warn("personal area: a panel failed", "feature", name, "err", err) },
			}
			(&area.Web{App: h.Portal, Inbox: h.Messages, Desk: desk, Services: services, StepUp: "/accedi/carta"}).Routes()
			// The header's personal-area link, and where a login without a
			// return address lands.
			h.Portal.Chrome.Profile = area.Home
			h.ID.Landing = area.Home
			h.Export("area_messages", func(ctx context.Context, a *identity.Account) (any, error) {
				return h.Messages.All(ctx, a.ID)
			})
			// Linking a password account to a card's moves its messages;
			// closing an account erases them.
			h.ID.Svc.Mergers = append(h.ID.Svc.Mergers, h.Messages.MergeAccounts)
			h.ID.Svc.Closers = append(h.ID.Svc.Closers, h.Messages.Erase)
			return nil
		},
	}
}

// newInbox is the residents' inbox, announcing each message by mail in
// the resident's language.
func newInbox(h *feature.Host, i18n *web.I18n, accounts *identity.Store, towns *town.Store) *area.Inbox {
	return &area.Inbox{DB: h.DB, Outbox: h.Outbox, BaseURL: h.BaseURL,
		Recipients: func(ctx context.Context, id string) (area.Recipient, bool, error) {
			a, err := accounts.ByID(ctx, id)
			if errors.Is(err, identity.ErrNotFound) {
				return area.Recipient{}, false, nil
			}
			if err != nil || a.ClosedAt != nil {
				return area.Recipient{}, false, err
			}
			return area.Recipient{Email: a.Email, Name: a.DisplayName(), Lang: a.Lang}, true, nil
		},
		Notice: func(ctx context.Context, to area.Recipient, m area.Message, link string) mail.Message {
			lang := to.Lang
			if !web.Supported(lang) {
				lang = web.Languages[0]
			}
			name := to.Name
			if strings.TrimSpace(name) == "" {
				name = i18n.T(lang, "area.mail.resident")
			}
			townName := ""
			if t, err := towns.Get(ctx); err == nil {
				townName = t.FullName()
			}
			text := i18n.T(lang, "area.mail.personal", "Name", name, "Town", townName, "Link", link)
			if m.Public {
				text = i18n.T(lang, "area.mail.public", "Name", name, "Town", townName, "Link", link, "Subject", m.Subject, "Body", m.Body)
			}
			return mail.Message{To: to.Email, Subject: i18n.T(lang, "area.mail.subject"), Text: text}
		}}
}

// onlineServices lists the catalogue's services a resident can request
// online, in the personal area's words, with the catalogue's version: the
// list is made once per catalogue loaded, not at every request.
func onlineServices(c *catalog.Store) area.Services {
	type made struct {
		version int64
		list    []area.Service
	}
	var last atomic.Pointer[made]
	return func(ctx context.Context) ([]area.Service, int64, error) {
		cat, err := c.Get(ctx)
		if err != nil {
			return nil, 0, err
		}
		if m := last.Load(); m != nil && m.version == cat.Version {
			return m.list, m.version, nil
		}
		titles := map[string]string{}
		for _, t := range taxonomy.ServiceCategories {
			titles[t.Slug] = t.Title
		}
		var out []area.Service
		for _, s := range cat.Services {
			if !s.Active() || s.OnlineURL == "" || (s.Channel != "online" && s.Channel != "both") {
				continue
			}
			needs, _ := assurance.Parse(s.Assurance)
			out = append(out, area.Service{Title: s.Title, Summary: s.Summary, Href: "/servizi/" + s.Category + "/" + s.ID,
				Category: titles[s.Category], Needs: needs})
		}
		last.Store(&made{version: cat.Version, list: out})
		return out, cat.Version, nil
	}
}
