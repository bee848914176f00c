// Package content is the town's own pages beyond services and news: the
// places and events of "Vivere il Comune", and the bodies (organi di
// governo, aree amministrative, enti e fondazioni), people (politici,
// personale amministrativo) and documents (documenti e dati) of
// "Amministrazione", as the Designers Italia municipal model lists them;
// and what the home page puts in evidence.
//
// Operators write each entry in Italian and, optionally, in English beside
// it; an English page whose text has no English version shows the Italian,
// says so and marks it lang="it". An entry is a draft, published or
// retired (withdrawn, kept); it can be deleted unless another entry still
// points at it (an event at its place, a person at their body). Every
// change is written to the audit log in its transaction, and purges the
// pages this process keeps.
package content

import (
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// Statuses of an entry.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
	StatusRetired   = "retired"
)

// Text is a text in Italian and, when written, in English.
type Text struct {
	IT, EN string
}

// Shown is a text as a page in one language shows it: Lang is the language
// the text is really in ("it" when the English version is missing), and
// Fallback says the page's language had none.
type Shown struct {
	Text, Lang string
	Fallback   bool
}

// In is the text for a page in lang: the English version on an English
// page when there is one, the Italian otherwise.
func (t Text) In(lang string) Shown {
	if lang == "en" && strings.TrimSpace(t.EN) != "" {
		return Shown{Text: t.EN, Lang: "en"}
	}
	return Shown{Text: t.IT, Lang: "it", Fallback: lang != "it"}
}

// Empty reports whether there is no Italian text (the English one is
// never without it).
func (t Text) Empty() bool { return strings.TrimSpace(t.IT) == "" }

// Entry is one place, event, body, person or document. Kind says which of
// the fields it uses (kinds.go).
type Entry struct {
	ID       string
	Kind     string
	Category string
	Slug     string
	Status   string

	Title, Summary, Body Text
	// Role is a person's office ("Sindaco", "Assessora al bilancio").
	Role Text
	// Opening is a place's opening times, as the town writes them.
	Opening Text
	// Cost is what an event costs ("Ingresso libero").
	Cost Text

	Address, PostalCode string
	// Lat and Lon are a place's coordinates; HasCoords says they are set.
	Lat, Lon  float64
	HasCoords bool
	Phone     string
	Email     string
	Website   string

	// StartsAt and EndsAt are an event's, in UTC.
	StartsAt, EndsAt time.Time
	// DocDate is a document's date, YYYY-MM-DD.
	DocDate string
	// PlaceID is an event's place; UnitID a person's body, or the body
	// responsible for a document.
	PlaceID, UnitID string

	CreatedAt, UpdatedAt time.Time
}

// Published reports whether the public may see the entry.
func (e Entry) Published() bool { return e.Status == StatusPublished }

// Path is the entry's public page.
func (e Entry) Path() string {
	switch e.Kind {
	case KindPlace:
		return PlacesPath + "/" + e.Slug
	case KindEvent:
		return EventsPath + "/" + e.Slug
	case KindDocument:
		// A document's category is its type: its section is one.
		return ManagementPath + "/" + DocumentCategories[0].Slug + "/" + e.Slug
	}
	return ManagementPath + "/" + e.Category + "/" + e.Slug
}

// AdminPath is the entry's page in the back office.
func (e Entry) AdminPath() string { return kindOf(e.Kind).AdminPath + "/" + e.ID }

// Start and End are an event's times in Rome.
func (e Entry) Start() time.Time { return e.StartsAt.In(hours.Rome) }

// End is the event's end in Rome.
func (e Entry) End() time.Time { return e.EndsAt.In(hours.Rome) }

// SameDay reports whether an event starts and ends on one day in Rome.
func (e Entry) SameDay() bool { return hours.DateOf(e.StartsAt) == hours.DateOf(e.EndsAt) }

// Upcoming reports whether an event has not ended at now.
func (e Entry) Upcoming(now time.Time) bool { return e.EndsAt.After(now) }

// DocDay is a document's date as 02/01/2006.
func (e Entry) DocDay() string {
	t, err := time.Parse("2006-01-02", e.DocDate)
	if err != nil {
		return e.DocDate
	}
	return t.Format("02/01/2006")
}
