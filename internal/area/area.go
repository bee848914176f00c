// Package area is the resident's personal area (the national model's "Area
// personale": Scrivania, Messaggi, Attività, Servizi): their home after
// login. It belongs to no feature. A feature that holds something of the
// resident's (applications, payments, bookings, enrolments, diaries,
// documents) contributes a Panel through feature.Host.Panel; the area calls
// every panel registered and shows what they return, without knowing the
// features.
package area

import (
	"context"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
)

// Resident is who the area is shown to: the logged-in account and what
// its session proved. A panel reads only rows owned by AccountID (or, where
// the feature keys them by fiscal code, by FiscalCode, which is set only
// when the session proved it: empty otherwise).
type Resident struct {
	AccountID string
	// Subject is the account's identity.Account.Subject: the person across
	// a closed account and their next one (what one-answer rules count).
	Subject    string
	FiscalCode string
	Level      assurance.Level
	Lang       string
}

// Panel is what a feature shows on the resident's desk.
type Panel interface {
	// Panel summarises the resident's things in this feature. It is called
	// on every visit to the desk and the Activities tab: keep it to one
	// indexed statement (the count of what awaits as a column of the list,
	// an uncorrelated subquery, or a window over a short list), and to none
	// when the resident cannot have anything in the feature (no proven
	// fiscal code for a feature keyed by it).
	Panel(ctx context.Context, r Resident) (Summary, error)
}

// PanelFunc adapts a function to Panel.
type PanelFunc func(ctx context.Context, r Resident) (Summary, error)

// Panel calls f.
func (f PanelFunc) Panel(ctx context.Context, r Resident) (Summary, error) { return f(ctx, r) }

// Summary is one panel of the desk.
type Summary struct {
	// Title is a message id of the feature's translations; Href its page
	// in the area (all of the resident's things in this feature).
	Title, Href string
	// Awaiting counts the things that wait for the resident (a notice to
	// pay, an integration asked for, a diary day to fill): the desk shows
	// it as a badge and adds them up.
	Awaiting int
	// Items are the most recent things, at most MaxItems (the area cuts
	// the rest).
	Items []Item
	// Needs is the assurance the feature's things require; below it the
	// desk shows the panel's title with the reason and a step-up link
	// instead of the items (a password account sees that payments need
	// SPID, CIE or the card).
	Needs assurance.Level
	// Empty is a message id shown when there are no items.
	Empty string
	// Kind says which tab of the area shows the panel: Activities (the
	// default: requests, payments, bookings) or Documents (what the town
	// issued to the resident: certificates, receipts, decisions).
	Kind Kind
}

// Kind is the tab of the area a panel belongs to.
type Kind string

const (
	// Activities are the resident's requests, payments, bookings.
	Activities Kind = ""
	// Documents are the documents issued to the resident.
	Documents Kind = "documents"
)

// Of declares that p's summaries are of kind: the pages of the other kind
// do not call it (a panel registered without Of is called on every page,
// and shown where its summary's Kind says).
func Of(kind Kind, p Panel) Panel { return kinded{kind: kind, p: p} }

type kinded struct {
	kind Kind
	p    Panel
}

func (k kinded) Panel(ctx context.Context, r Resident) (Summary, error) { return k.p.Panel(ctx, r) }

// KindOf is the kind Of gave p, if any.
func KindOf(p Panel) (Kind, bool) { return declaredKind(p) }

// declaredKind is the kind Of gave p, if any.
func declaredKind(p Panel) (Kind, bool) {
	k, ok := p.(kinded)
	return k.kind, ok
}

// Named is a panel with the name of the feature that registered it.
type Named struct {
	Feature string
	Panel   Panel
}

// MaxItems is the most items a panel shows on the desk.
const MaxItems = 5

// Item is one thing of the resident's on a panel.
type Item struct {
	// Label is shown as is (a service's title, a notice's subject): the
	// feature translates it.
	Label string
	Href  string
	// Status is a message id (the feature's) and Awaiting marks an item
	// that waits for the resident.
	Status   string
	Awaiting bool
	When     time.Time
}
