// Package cards is the town's smart cards (CRS/CNS): the registry of the
// cards the regional authority issued to residents, imported from its
// file and linked to accounts by fiscal code (a card the registry says is
// suspended or revoked is refused at login, through identity's
// CardCheck), and the delivery of their PIN/PUK envelopes at the URP:
// imported encrypted for the town with age, decrypted only at delivery,
// printed once, destroyed in the transaction that records the delivery
// (docs/CARDS.md).
package cards

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/sealed"
)

// Templates and Messages are the cards' pages and translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the cards' tables (see db.Source).
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// Roles hand PINs out at the URP.
var Roles = []string{"urp"}

// UploadRoles load the registry's and the envelopes' files: not the
// URP's role, so that whoever hands a PIN out cannot also have placed
// the envelope, or revoked a card (docs/CARDS.md, "Threat model").
var UploadRoles = []string{"admin"}

// Need is what a PIN's delivery asks of the operator: logged in with
// their card (a password and a one-time code are not enough to open a
// resident's PIN).
const Need = assurance.High

// Module is the cards as civico wires them.
type Module struct {
	// Place is where PINs are handed out (CIVICO_CARDS_PLACE).
	Place string
	// Svc is set when the feature is wired.
	Svc *Service
}

// DefaultPlace is the URP when the configuration names none.
const DefaultPlace = "URP – Ufficio relazioni con il pubblico"

// Feature is the cards: the URP's pages, the resident's, the panel.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "cards", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			box, err := sealed.New(h.Key(KeyPurpose))
			if err != nil {
				return err
			}
			place := m.Place
			if place == "" {
				place = DefaultPlace
			}
			m.Svc = &Service{DB: h.DB, Registry: &Registry{DB: h.DB, Audit: h.Audit}, Keys: &Keys{DB: h.DB, Box: box}, Audit: h.Audit,
				Attachments: h.Attachments, Jobs: h.Jobs, Place: place, Town: func(ctx context.Context) string {
					if t, err := h.Towns.Get(ctx); err == nil {
						return t.FullName()
					}
					return "Comune"
				}}
			(&Web{App: h.Portal, Svc: m.Svc}).Routes()
			h.Job(m.Svc.uploadJob())
			h.BackOffice(identity.Section{Label: "cards.bo.title", Href: BOPath, Roles: Roles})
			h.Panel(area.Of(area.Activities, m))
			h.Export("cards", m.export)
			return nil
		},
	}
}

// CheckCard refuses at login a card the registry says is suspended or
// revoked (identity.CardCheck). A card the registry does not hold passes:
// the registry is the town's copy, and the certificate's own checks
// (authority, validity, CRL) come first.
func (m *Module) CheckCard(ctx context.Context, h identity.CardHolder) error {
	if m.Svc == nil || h.CardNumber == "" {
		return nil
	}
	c, err := m.Svc.Registry.Card(ctx, h.CardNumber)
	if errors.Is(err, ErrNoCard) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Status.Refused() {
		return &identity.CardRefusal{Reason: "registry_" + string(c.Status), MessageID: "cards.refused." + string(c.Status),
			Detail: "the town's card registry says card " + c.Serial + " is " + string(c.Status)}
	}
	return nil
}

// refusedBatch is how many card numbers one query of RefusedCards asks
// about.
const refusedBatch = 500

// RefusedCards returns those of numbers the registry says are suspended or
// revoked (identity.CardRegistry): the minute's sweep of live card
// sessions ends theirs, so a card the authority's file stops is refused
// at once at login and within a minute where it is already logged in.
func (m *Module) RefusedCards(ctx context.Context, numbers []string) ([]string, error) {
	if m.Svc == nil {
		return nil, nil
	}
	return m.Svc.Registry.Refused(ctx, numbers)
}

// Panel is "PIN della carta" on the resident's desk: where and when the
// PINs of their cards were handed out.
func (m *Module) Panel(ctx context.Context, r area.Resident) (area.Summary, error) {
	s := area.Summary{Title: "cards.area.title", Href: AreaPath, Needs: assurance.Substantial, Empty: "cards.area.empty", Kind: area.Documents}
	if r.FiscalCode == "" {
		// The deliveries are the proven fiscal code's: without one there
		// is nothing to read.
		return s, nil
	}
	list, err := m.Svc.Mine(ctx, r.FiscalCode, area.MaxItems)
	if err != nil {
		return s, err
	}
	for _, d := range list {
		s.Items = append(s.Items, area.Item{Label: d.Place + " – " + d.Serial, Href: AreaPath, Status: "cards.collector." + d.Collector, When: d.DeliveredAt})
	}
	return s, nil
}

// export is what the cards hold of a person: their cards and the
// deliveries of their PINs (never a PIN: none is kept).
func (m *Module) export(ctx context.Context, a *identity.Account) (any, error) {
	if a.FiscalCode == "" || !a.FiscalCodeSource.Proven() {
		return nil, nil
	}
	cards, err := m.Svc.Registry.Of(ctx, a.FiscalCode)
	if err != nil {
		return nil, err
	}
	deliveries, err := m.Svc.Mine(ctx, a.FiscalCode, 100)
	if err != nil {
		return nil, err
	}
	type delivery struct {
		Serial      string    `json:"serial"`
		DeliveredAt time.Time `json:"delivered_at"`
		Place       string    `json:"place"`
		Collector   string    `json:"collector"`
		Delegate    string    `json:"delegate,omitempty"`
		DocType     string    `json:"document_type"`
	}
	out := struct {
		Cards      []*Card    `json:"cards"`
		Deliveries []delivery `json:"pin_deliveries"`
	}{Cards: cards}
	for _, d := range deliveries {
		out.Deliveries = append(out.Deliveries, delivery{Serial: d.Serial, DeliveredAt: d.DeliveredAt, Place: d.Place, Collector: d.Collector,
			Delegate: d.DelegateName, DocType: d.DocType})
	}
	return out, nil
}
