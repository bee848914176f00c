package catalog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/hours"
)

// A service's week of reach, hand-counted: the registry office opens
// weekdays 08:30-12:30 and Thursday 14:00-19:00, the URP Monday
// 07:30-09:00 and Saturday 09:00-12:00, and both handle the identity card:
// open 4 h × 5 + 5 h + 3 h + the URP's Monday 1 h before 08:30 = 29 h,
// of which outside 08:00-18:00 on weekdays: Thursday 18:00-19:00, Monday
// 07:30-08:00, Saturday 3 h = 4 h 30. The registry's exception (closed on
// a Wednesday) and a Tuesday's public holiday do not count: the regular
// timetable does. A summer period applies in its weeks.
func TestReach(t *testing.T) {
	office := func(id, week, extra string) string {
		return `{"id": "` + id + `", "name": "` + id + `", "description": "Ufficio", "address": "Via XXV Aprile 4", "postal_code": "20092", "lat": 45.5, "lon": 9.2,
			"phone": "02 660231", "email": "", "accessibility": "", "hours": {"week": {` + week + `}` + extra + `}}`
	}
	service := func(id, offices string) string {
		return `{"id": "` + id + `", "category": "anagrafe-e-stato-civile", "title": "` + id + `", "status": "active", "status_reason": "",
			"summary": "La carta", "audience": "Tutti", "how_to": "Prenota", "needed": "Foto", "outcome": "La carta", "deadlines": "6 giorni",
			"max_days": 10, "online_url": "", "assurance": "", "channel": "desk", "fees": "", "conditions": "Nessuna", "topics": ["anagrafe"],
			"audiences": ["cittadini"], "offices": [` + offices + `]}`
	}
	weekdays := `"monday": ["08:30-12:30"], "tuesday": ["08:30-12:30"], "wednesday": ["08:30-12:30"], "thursday": ["08:30-12:30", "14:00-19:00"], "friday": ["08:30-12:30"]`
	js := `{"offices": [` + strings.Join([]string{
		office("anagrafe", weekdays, `, "periods": [{"from": "2026-07-01", "to": "2026-08-31", "week": {"monday": ["08:00-13:00"]}}], "exceptions": [{"date": "2026-12-09", "closed": true}]`),
		office("urp", `"monday": ["07:30-09:00"], "saturday": ["09:00-12:00"]`, ""),
	}, ", ") + `], "services": [` + service("cie", `"anagrafe", "urp"`) + `, ` + service("tari", `"anagrafe"`) + `]}`
	c, err := catalog.ParseJSON([]byte(js), hours.Holidays{})
	if err != nil {
		t.Fatal(err)
	}
	// The week of Monday 7 December 2026: Tuesday the 8th is the
	// Immacolata, Wednesday the registry's closure.
	if h := c.Offices[0].Hours.On(hours.Date{Year: 2026, Month: 12, Day: 8}); h.Holiday == "" {
		t.Fatal("8 December is no holiday")
	}
	got := c.Reach(hours.Date{Year: 2026, Month: 12, Day: 7})
	want := []catalog.Reach{{"cie", 29 * time.Hour, 4*time.Hour + 30*time.Minute}, {"tari", 25 * time.Hour, time.Hour}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("reach: %+v, want %+v", got, want)
	}
	// A week of the summer period: the registry opens Monday 08:00-13:00 only.
	got = c.Reach(hours.Date{Year: 2026, Month: 7, Day: 6})
	if len(got) != 2 || got[1] != (catalog.Reach{Service: "tari", Total: 5 * time.Hour}) || got[0].Outside != 3*time.Hour+30*time.Minute {
		t.Errorf("reach in the summer: %+v", got)
	}
}
