package catalog_test

import (
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/hours"
)

func openingsCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.ParseJSON([]byte(`{"offices": [
		{"id": "giorno", "name": "Giorno", "description": "Sportello al pubblico.", "address": "Via A 1", "postal_code": "20092", "lat": 45.5, "lon": 9.2, "phone": "02 660231",
		 "email": "", "accessibility": "", "hours": {"week": {"monday": ["08:30-12:30", "14:00-17:00"], "tuesday": ["08:30-12:30"]}}},
		{"id": "sera", "name": "Sera", "description": "Sportello al pubblico.", "address": "Via B 2", "postal_code": "20092", "lat": 45.5, "lon": 9.2, "phone": "02 660231",
		 "email": "", "accessibility": "", "hours": {"week": {"monday": ["16:00-19:30"], "tuesday": ["20:00-23:00"]}}},
		{"id": "chiuso", "name": "Chiuso", "description": "Sportello al pubblico.", "address": "Via C 3", "postal_code": "20092", "lat": 45.5, "lon": 9.2, "phone": "02 660231",
		 "email": "", "accessibility": "", "hours": {"week": {"saturday": ["09:00-12:00"]}}}],
		"services": []}`), hours.Holidays{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(list []catalog.OfficeOpening) []string {
	var out []string
	for _, o := range list {
		out = append(out, o.ID+" "+o.Start.Format("15:04")+"-"+o.End.Format("15:04"))
	}
	return out
}

// Which offices are open now and this evening (after 18:00), on the
// town's clock, including across the change to summer time.
func TestOpeningsNowAndThisEvening(t *testing.T) {
	c := openingsCatalog(t)
	at := func(y int, m time.Month, d, hh, mm int) time.Time {
		return time.Date(y, m, d, hh, mm, 0, 0, hours.Rome)
	}
	tests := []struct {
		name         string
		now          time.Time
		open, eve    []string
		next         string
		eveningStart string
	}{
		// Monday 30 November 2026.
		{"monday morning", at(2026, 11, 30, 9, 0), []string{"giorno 09:00-12:30"}, []string{"sera 18:00-19:30"}, "", "18:00"},
		{"monday at lunch", at(2026, 11, 30, 13, 0), nil, []string{"sera 18:00-19:30"}, "giorno 14:00", "18:00"},
		{"monday 16:30", at(2026, 11, 30, 16, 30), []string{"giorno 16:30-17:00", "sera 16:30-19:30"}, []string{"sera 18:00-19:30"}, "", "18:00"},
		// After 18:00 the evening starts now; at 19:30 the evening office has just closed.
		{"monday 19:00", at(2026, 11, 30, 19, 0), []string{"sera 19:00-19:30"}, []string{"sera 19:00-19:30"}, "", "19:00"},
		{"monday 19:30", at(2026, 11, 30, 19, 30), nil, nil, "giorno 08:30", "19:30"},
		{"tuesday evening", at(2026, 12, 1, 17, 0), nil, []string{"sera 20:00-23:00"}, "sera 20:00", "18:00"},
		// Summer time begins on Sunday 29 March 2026; Monday's hours are wall-clock hours.
		{"after the clock change", at(2026, 3, 30, 18, 15), []string{"sera 18:15-19:30"}, []string{"sera 18:15-19:30"}, "", "18:15"},
	}
	for _, tt := range tests {
		o := c.Openings(tt.now)
		if got := ids(o.Now); !equal(got, tt.open) {
			t.Errorf("%s: open now %v, want %v", tt.name, got, tt.open)
		}
		if got := ids(o.Evening); !equal(got, tt.eve) {
			t.Errorf("%s: this evening %v, want %v", tt.name, got, tt.eve)
		}
		next := ""
		if o.Next != nil {
			next = o.Next.ID + " " + o.Next.Start.Format("15:04")
		}
		if next != tt.next {
			t.Errorf("%s: next %q, want %q", tt.name, next, tt.next)
		}
		if got := o.EveningStart.Format("15:04"); got != tt.eveningStart || o.EveningStart.Location() != hours.Rome {
			t.Errorf("%s: evening from %s, want %s in Rome", tt.name, got, tt.eveningStart)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
