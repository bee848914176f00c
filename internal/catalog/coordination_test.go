package catalog

import (
	"reflect"
	"slices"
	"testing"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/taxonomy"
)

// referenceRows is the grid as the coverage view first computed it: each
// half hour intersected with each office's openings.
func referenceRows(offices []*Office, override map[string]*hours.Hours, monday hours.Date) [][]Cell {
	from, to := monday.At(0), monday.AddDays(7).At(0)
	spansOf := map[string][]hours.Span{}
	var names []string
	for _, o := range offices {
		h := o.Hours
		if alt, ok := override[o.ID]; ok {
			h = alt
		}
		spansOf[o.Name] = h.Spans(from, to)
		names = append(names, o.Name)
	}
	slices.Sort(names)
	var rows [][]Cell
	for m := gridFrom; m < gridTo; m += int(slot.Minutes()) {
		row := make([]Cell, 7)
		for d := range 7 {
			start := monday.AddDays(d).At(hours.Clock(m))
			cell := []hours.Span{{Start: start, End: start.Add(slot)}}
			for _, n := range names {
				if len(hours.Intersect(spansOf[n], cell)) > 0 {
					row[d].Open++
					row[d].Offices = append(row[d].Offices, n)
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// The grid marks a half hour for an office exactly when the office is open
// for some of it: for every category of the demo town, in ordinary weeks,
// the weeks the clocks change, the summer period and Christmas, and with
// proposals whose openings end on, start on or fall inside a half hour,
// or run past midnight.
func TestCoverageGridMatchesIntersection(t *testing.T) {
	c, err := Demo()
	if err != nil {
		t.Fatal(err)
	}
	proposals := []map[string][]string{
		{"monday": {"08:30-09:00", "09:00-09:01", "10:15-10:45"}, "tuesday": {"06:00-07:00", "20:59-21:30"}, "saturday": {"22:00-26:00"}, "sunday": {"07:00-07:30", "07:45-07:46"}},
		{"wednesday": {"00:00-24:00"}, "friday": {"12:29-12:31"}},
	}
	weeks := []string{"2026-11-23", "2026-03-23", "2026-10-19", "2027-08-09", "2026-12-21"}
	for _, term := range taxonomy.ServiceCategories {
		cat := term.Slug
		var offices []*Office
		seen := map[string]bool{}
		for _, s := range c.In(cat) {
			for _, o := range c.OfficesOf(s) {
				if !seen[o.ID] {
					seen[o.ID] = true
					offices = append(offices, o)
				}
			}
		}
		if len(offices) == 0 {
			continue
		}
		for _, w := range weeks {
			monday, err := hours.ParseDate(w)
			if err != nil {
				t.Fatal(err)
			}
			overrides := []map[string]*hours.Hours{nil}
			for _, p := range proposals {
				alt, err := hours.Spec{Week: p}.Hours(offices[0].Hours.Holidays)
				if err != nil {
					t.Fatal(err)
				}
				overrides = append(overrides, map[string]*hours.Hours{offices[0].ID: alt})
			}
			for i, ov := range overrides {
				got := coverage(offices, ov, monday).Rows
				if want := referenceRows(offices, ov, monday); !reflect.DeepEqual(got, want) {
					t.Errorf("%s, week of %s, proposal %d: the grid differs from the intersections", cat, w, i)
				}
			}
		}
	}
}
