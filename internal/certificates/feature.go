// Package certificates issues the population register's certificates
// (residence, family status, birth) to the resident whose fiscal code a
// login proved, at once, as a PDF sealed by the town (Ed25519 over a
// canonical encoding of the content, keys sealed like the OpenID Connect
// ones and rotatable), which anyone verifies on /verifica-certificato or
// offline with `civico cert verify`; the desk revokes them.
package certificates

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/sealed"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the certificates' tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// KeyPurpose names the key the seal keys are sealed with, derived from
// the installation's secret.
const KeyPurpose = "certificate seal keys"

// Module is the certificates as civico wires them.
type Module struct {
	// Register is the population register (cmd/civico joins it).
	Register Register
	// Payments bills the stamp duty (cmd/civico joins the payments
	// feature); nil, certificates that bear it are not online.
	Payments Payments
	// Store is set when the feature is wired.
	Store *Store
}

// Need is the assurance certificates need: a login that proved the
// fiscal code (a card; later SPID or CIE).
const Need = assurance.Substantial

// Feature is the certificates: the resident's page in the personal area,
// the public verification page and API, the desk's revocation.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "certificates", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			box, err := sealed.New(h.Key(KeyPurpose))
			if err != nil {
				return err
			}
			m.Store = &Store{DB: h.DB, Keys: &Keys{DB: h.DB, Box: box}, Register: m.Register, Towns: h.Towns, Audit: h.Audit, Limiter: h.Limiter,
				Payments: m.Payments}
			if h.Messages != nil {
				m.Store.Inbox = h.Messages
			}
			// The certificates whose stamp duty was paid are sealed within
			// a minute even if the resident does not come back to the page.
			h.Every("paid-stamp-duties", time.Minute, func(ctx context.Context) error {
				_, err := m.Store.Settle(ctx, "")
				return err
			})
			(&Web{App: h.Portal, Store: m.Store, BaseURL: h.BaseURL}).Routes()
			h.BackOffice(identity.Section{Label: "certificates.bo.title", Href: BOPath, Roles: DeskRoles})
			h.Panel(area.Of(area.Documents, m))
			h.Export("certificates", m.export)
			h.Export("certificate_orders", m.exportOrders)
			return nil
		},
	}
}

// Panel is "Certificati" on the resident's desk, in the documents tab:
// the latest certificates issued to them.
func (m *Module) Panel(ctx context.Context, r area.Resident) (area.Summary, error) {
	s := area.Summary{Title: "certificates.area", Href: AreaPath, Needs: Need, Empty: "certificates.list.empty", Kind: area.Documents}
	list, err := m.Store.Latest(ctx, r.FiscalCode, area.MaxItems)
	if err != nil {
		return s, err
	}
	now := m.Store.now()
	for _, c := range list {
		label := kindLabels[r.Lang][c.Kind]
		if label == "" {
			label = kindLabels["it"][c.Kind]
		}
		s.Items = append(s.Items, area.Item{Label: label + " – " + GroupID(c.ID), Href: AreaPath + "/" + c.ID,
			Status: "certificates.status." + string(c.StatusAt(now)), When: c.IssuedAt})
	}
	return s, nil
}

// kindLabels name the kinds on the desk, where a panel's labels are its
// own to translate.
var kindLabels = map[string]map[Kind]string{
	"it": {Residence: "Certificato di residenza", FamilyStatus: "Certificato di stato di famiglia", Birth: "Certificato di nascita"},
	"en": {Residence: "Residence certificate", FamilyStatus: "Family status certificate", Birth: "Birth certificate"},
}

// export is what the certificates hold of a person, for the download of
// their data: the certificates issued to the fiscal code their login
// proved, with the content each states.
func (m *Module) export(ctx context.Context, a *identity.Account) (any, error) {
	if a.FiscalCode == "" || !a.FiscalCodeSource.Proven() {
		return nil, nil
	}
	type item struct {
		ID         string     `json:"id"`
		Content    Content    `json:"content"`
		Disclosure Disclosure `json:"disclosure"`
		Revoked    bool       `json:"revoked"`
		Reason     string     `json:"revocation_reason,omitempty"`
	}
	var out []item
	for page := 1; ; page++ {
		list, total, err := m.Store.Mine(ctx, a.FiscalCode, page, PageSize)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			out = append(out, item{ID: c.ID, Content: c.Content, Disclosure: c.Disclosure, Revoked: c.RevokedAt != nil, Reason: c.Reason})
		}
		if page*PageSize >= total {
			return out, nil
		}
	}
}

// exportOrders is the other half of the download: the certificates asked
// for with the stamp duty, the notice that billed each, and what became of
// them (issued, with the certificate; refused or void, with why).
func (m *Module) exportOrders(ctx context.Context, a *identity.Account) (any, error) {
	if a.FiscalCode == "" || !a.FiscalCodeSource.Proven() {
		return nil, nil
	}
	orders, err := m.Store.OrdersOf(ctx, a.FiscalCode)
	if err != nil || len(orders) == 0 {
		return nil, err
	}
	type item struct {
		ID            string     `json:"id"`
		Kind          Kind       `json:"kind"`
		Disclosure    Disclosure `json:"disclosure"`
		NoticeNumber  string     `json:"notice_number"`
		Status        string     `json:"status"`
		CertificateID string     `json:"certificate_id,omitempty"`
		Reason        string     `json:"reason,omitempty"`
		CreatedAt     time.Time  `json:"created_at"`
		ClosedAt      *time.Time `json:"closed_at,omitempty"`
	}
	out := make([]item, 0, len(orders))
	for _, o := range orders {
		out = append(out, item{ID: o.ID, Kind: o.Kind, Disclosure: o.Disclosure, NoticeNumber: o.NoticeNumber, Status: o.Status,
			CertificateID: o.CertificateID, Reason: o.Reason, CreatedAt: o.CreatedAt, ClosedAt: o.ClosedAt})
	}
	return out, nil
}
