package sportello

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the Sportello's tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// Module is the Sportello as civico wires it.
type Module struct {
	// Services lists the catalogue's services (cmd/civico joins them).
	Services Services
	// Tokens checks the API's bearer tokens (the OpenID Connect
	// provider; cmd/civico joins them).
	Tokens Tokens
	// Files and Uploads keep the applications' files: the platform's
	// attachments (Attachments) when the feature is wired.
	Files   Files
	Uploads Uploads
	// CountsTTL is how long the back office's queue counts are kept
	// (Store.CountsTTL; zero: counted at every request).
	CountsTTL time.Duration
	// Store and Forms are set when the feature is wired.
	Store *Store
	Forms *Forms
}

// Feature is the Sportello: the online application of services, the
// desk's back office, the forms' editor, the API and the resident's panel.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "sportello", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			m.Forms = NewForms(h.DB, h.Audit)
			if h.Attachments != nil {
				files := &Attachments{DB: h.DB, Store: h.Attachments}
				m.Files, m.Uploads = files, files
			}
			notifier := &Notifier{Outbox: h.Outbox, Accounts: h.ID.Svc.Store, I18n: h.Portal.I18n, Towns: h.Towns, BaseURL: h.BaseURL}
			m.Store = &Store{DB: h.DB, Audit: h.Audit, Forms: m.Forms, Protocol: h.Protocol, Services: m.Services, Notifier: notifier, Files: m.Files,
				CountsTTL: m.CountsTTL}
			(&Web{App: h.Portal, Store: m.Store, Forms: m.Forms, Identity: h.ID, Uploads: m.Uploads, Tokens: m.Tokens,
				PDF: &Receipts{Towns: h.Towns, I18n: h.Portal.I18n}}).Routes()
			h.BackOffice(identity.Section{Label: "sportello.bo.title", Href: boPath, Roles: DeskRoles})
			h.BackOffice(identity.Section{Label: "sportello.counter.title", Href: "/backoffice/sportello", Roles: DeskRoles})
			h.BackOffice(identity.Section{Label: "sportello.delegations.title", Href: dgPath, Roles: DeskRoles})
			h.BackOffice(identity.Section{Label: "sportello.editor.title", Href: edPath, Roles: EditorRoles})
			h.Panel(area.Of(area.Activities, m))
			h.Export("sportello_applications", m.export)
			// Applications past their retention, and stale drafts: at night.
			h.Daily("expired applications", 3, 30, func(ctx context.Context, _ time.Time) error {
				concluded, drafts, err := m.Store.Purge(ctx)
				if concluded+drafts > 0 {
					h.Log.Info("sportello: applications purged", "concluded", concluded, "drafts", drafts)
				}
				return err
			})
			return nil
		},
	}
}

// Panel is the Sportello's panel on the resident's desk (area.Panel):
// what waits for them (drafts to finish, integrations asked, notices to
// answer) and the latest applications.
func (m *Module) Panel(ctx context.Context, r area.Resident) (area.Summary, error) {
	n, list, err := m.Store.Awaiting(ctx, Owner{AccountID: r.AccountID, FiscalCode: r.FiscalCode}, area.MaxItems)
	if err != nil {
		return area.Summary{}, err
	}
	s := area.Summary{Title: "sportello.area", Href: AreaPath, Awaiting: n, Empty: "sportello.list.empty"}
	for _, a := range list {
		label := a.ServiceTitle
		if a.Protocol != "" {
			label += " – " + a.Protocol
		}
		s.Items = append(s.Items, area.Item{Label: label, Href: AreaPath + "/" + a.ID, Status: "sportello.state." + string(a.State),
			Awaiting: a.State == Draft || a.State.AwaitsResident(), When: a.UpdatedAt})
	}
	return s, nil
}

// export is what the Sportello holds about a person, for the download of
// their data: their applications, with answers, history and messages,
// and those made in their name (by the desk, or under a delegation) when
// the account's fiscal code is proven. An application the person made
// for someone else under a delegation is that person's, not theirs: it
// is left out.
func (m *Module) export(ctx context.Context, a *identity.Account) (any, error) {
	o := Owner{AccountID: a.ID}
	if a.FiscalCode != "" && a.FiscalCodeSource.Proven() {
		o.FiscalCode = a.FiscalCode
	}
	type item struct {
		Application *Application   `json:"application"`
		History     []HistoryEntry `json:"history"`
		Messages    []Note         `json:"messages"`
		Documents   []Document     `json:"documents"`
	}
	var out []item
	for page := 1; ; page++ {
		list, total, err := m.Store.Mine(ctx, o, page)
		if err != nil {
			return nil, err
		}
		// The page's applications, histories, messages and files: a
		// statement each, not four for every application.
		ids := make([]string, len(list))
		for i, s := range list {
			ids[i] = s.ID
		}
		apps, err := m.Store.GetMany(ctx, ids, o)
		if err != nil {
			return nil, err
		}
		history, err := m.Store.Histories(ctx, ids)
		if err != nil {
			return nil, err
		}
		messages, err := m.Store.MessagesOf(ctx, ids)
		if err != nil {
			return nil, err
		}
		documents, err := m.Store.DocumentsOf(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			app, ok := apps[s.ID]
			if !ok {
				return nil, ErrNotFound
			}
			if app.DelegationID != "" && app.FiscalCode != o.FiscalCode {
				continue
			}
			out = append(out, item{Application: app, History: history[s.ID], Messages: messages[s.ID], Documents: documents[s.ID]})
		}
		if page*PageSize >= total {
			return out, nil
		}
	}
}
