package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// icsEvents reads an iCalendar feed's events: UID -> DTSTART.
func icsEvents(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ev := range strings.Split(body, "BEGIN:VEVENT\r\n")[1:] {
		uid := regexp.MustCompile(`(?m)^UID:(.*)\r$`).FindStringSubmatch(ev)
		start := regexp.MustCompile(`(?m)^DTSTART:(.*)\r$`).FindStringSubmatch(ev)
		if uid == nil || start == nil {
			t.Fatalf("event without UID or DTSTART:\n%s", ev)
		}
		if _, twice := out[uid[1]]; twice {
			t.Errorf("UID %s twice in one feed", uid[1])
		}
		out[uid[1]] = start[1]
	}
	return out
}

// A subscribed calendar reads the feed again and again: each opening must
// keep its UID, and start when the office opens, whenever it is read.
func TestOfficeCalendarIsStableAcrossReads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		// Wednesday 25 November 2026, 10:17:42 in Rome: the Anagrafe opened
		// at 08:30 and closes at 12:30.
		now := time.Date(2026, 11, 25, 10, 17, 42, 0, hours.Rome)
		s.apps.civico.catalog.Now = func() time.Time { return now }
		_, first := get(t, s.portal.URL+"/offices/anagrafe/hours.ics")
		a := icsEvents(t, first)
		opening := "20261125T073000Z" // 08:30 in Rome
		found := false
		for uid, start := range a {
			if start == opening {
				found = true
			}
			if start == now.UTC().Format("20060102T150405Z") {
				t.Errorf("an event starts now, not at an opening: %s", uid)
			}
			if regexp.MustCompile(`[0-9]{9,}`).MatchString(uid) {
				t.Errorf("UID %s carries an instant", uid)
			}
		}
		if !found {
			t.Errorf("today's opening at 08:30 is not in the feed: %v", a)
		}

		// Two seconds, then two hours later: the same openings, the same UIDs.
		for _, later := range []time.Duration{2 * time.Second, 2 * time.Hour} {
			now = now.Add(later)
			b := icsEvents(t, mustGet(t, s.portal.URL+"/offices/anagrafe/hours.ics"))
			for uid, start := range a {
				if got, ok := b[uid]; !ok && start < "20270101" {
					t.Errorf("%v later, %s (%s) is gone", later, uid, start)
				} else if ok && got != start {
					t.Errorf("%v later, %s starts at %s instead of %s", later, uid, got, start)
				}
			}
		}
	})
}
