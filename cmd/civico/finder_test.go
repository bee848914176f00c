package main

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// demoWednesday is when the tests of the catalogue's pages happen:
// Wednesday 25 November 2026 at 09:35:20 in Rome, the Anagrafe open, the
// finder's questions about that week still to come.
var demoWednesday = time.Date(2026, 11, 25, 9, 35, 20, 0, hours.Rome)

// atDemoWednesday sets the catalogue's clock to demoWednesday; set moves it.
func atDemoWednesday(a *apps) (set func(time.Time)) {
	now := demoWednesday
	a.civico.catalog.Now = func() time.Time { return now }
	return func(t time.Time) { now = t }
}

// finderSite is the demo town at demoWednesday, as the catalogue's pages
// see it; set moves its clock.
func finderSite(t *testing.T, d *db.DB) (s *site, set func(time.Time)) {
	t.Helper()
	s = newCatalogSite(t, d)
	return s, atDemoWednesday(s.apps)
}

// The finder says what it understood: a window typed without its choice
// ticked is searched, "now" is now, a day gone by is refused, and a date of
// another year says which.
func TestFinderSaysWhatItMeans(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := finderSite(t, d)
		base := s.portal.URL + "/dove-e-quando"

		// Day and times filled, "In un giorno…" not ticked: searched as that window.
		res, body := get(t, base+"?giorno=2026-11-27&dalle=17:00&alle=20:00")
		if res.StatusCode != 200 || !strings.Contains(body, "Aperti tra 27/11 17:00 e 20:00") || !strings.Contains(body, `value="libero" checked`) {
			t.Errorf("a window without its choice ticked: %d\n%s", res.StatusCode, section(body))
		}

		// Now: open now, until when; not a one-minute window.
		res, body = get(t, base+"?quando=ora")
		if res.StatusCode != 200 || !strings.Contains(body, "Aperti adesso") {
			t.Errorf("now: %d\n%s", res.StatusCode, section(body))
		}
		for _, bad := range []string{"09:35–09:36", "e 09:36", "Aperti tra"} {
			if strings.Contains(body, bad) {
				t.Errorf("now says %q", bad)
			}
		}
		if !regexp.MustCompile(`href="/amministrazione/uffici/anagrafe">[^<]+</a>: aperto fino alle 12:30`).MatchString(body) {
			t.Errorf("now: the Anagrafe is not open until 12:30\n%s", section(body))
		}

		// A day gone by, or a window of today already over, is refused beside its field.
		for q, field := range map[string]string{"giorno=2026-11-24&dalle=09:00&alle=12:00": "giorno", "giorno=2026-11-25&dalle=08:00&alle=09:00": "alle"} {
			res, body := get(t, base+"?quando=libero&"+q)
			msg := regexp.MustCompile(`id="f-` + field + `-error">([^<]+)<`).FindStringSubmatch(body)
			if res.StatusCode != http.StatusBadRequest || msg == nil || !strings.Contains(msg[1], "passat") {
				t.Errorf("%s: %d %v", q, res.StatusCode, msg)
			}
			if strings.Contains(body, `id="finder-results"`) {
				t.Errorf("%s: searched anyway", q)
			}
		}
		// Today, a window under way: from now.
		if _, body := get(t, base+"?quando=libero&giorno=2026-11-25&dalle=09:00&alle=12:00"); !strings.Contains(body, "Aperti tra 25/11 09:35 e 12:00") {
			t.Errorf("a window under way:\n%s", section(body))
		}

		// Another year: the date says which.
		if _, body := get(t, base+"?quando=libero&giorno=2027-01-05&dalle=09:00&alle=12:00"); !strings.Contains(body, "Aperti tra 05/01/2027 09:00 e 12:00") {
			t.Errorf("next year:\n%s", section(body))
		}
		if _, body := get(t, base+"?quando=libero&giorno=2027-01-06&dalle=09:00&alle=12:00"); !strings.Contains(body, "07/01/2027") {
			t.Errorf("the next chance after Epiphany does not give its year:\n%s", section(body))
		}
	})
}

func section(body string) string {
	if m := regexp.MustCompile(`(?s)<section aria-labelledby="finder-results".*?</section>`).FindString(body); m != "" {
		return m
	}
	return regexp.MustCompile(`(?s)<form method="get" action="/dove-e-quando".*?</form>`).FindString(body)
}

// The offices list says "today" for an opening later today.
func TestOfficesReopenToday(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, set := finderSite(t, d)
		card := regexp.MustCompile(`(?s)href="/amministrazione/uffici/anagrafe"[^>]*>.*?</li>`)
		set(time.Date(2026, 11, 25, 7, 0, 0, 0, hours.Rome))
		if _, body := get(t, s.portal.URL+"/amministrazione/uffici"); !strings.Contains(card.FindString(body), "riapre oggi alle 08:30") {
			t.Errorf("at 7:00: %s", card.FindString(body))
		}
		set(time.Date(2026, 11, 25, 13, 0, 0, 0, hours.Rome))
		if _, body := get(t, s.portal.URL+"/amministrazione/uffici"); !strings.Contains(card.FindString(body), "riapre oggi alle 17:00") {
			t.Errorf("at 13:00: %s", card.FindString(body))
		}
		set(time.Date(2026, 11, 25, 20, 0, 0, 0, hours.Rome))
		if _, body := get(t, s.portal.URL+"/amministrazione/uffici"); !strings.Contains(card.FindString(body), "riapre giovedì 26/11 alle 08:30") {
			t.Errorf("at 20:00: %s", card.FindString(body))
		}
	})
}

// The coordination view says what its columns and colours mean: the
// timetable in force, dates as the rest of the site writes them, and a grid
// shaded by how many offices are open, explained by a legend, with the
// number in every cell and a contrast WCAG AA accepts.
func TestCoordinationGridIsExplained(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := finderSite(t, d)
		_, body := get(t, s.portal.URL+"/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25&ufficio=anagrafe&sunday=09:00-12:00")
		if strings.Contains(body, `<th scope="col">Oggi</th>`) || !strings.Contains(body, `<th scope="col">Orario in vigore</th>`) {
			t.Error(`the current timetable's column is not named "Orario in vigore"`)
		}
		if strings.Contains(body, "2026-11-23") && !strings.Contains(body, `value="2026-11-23"`) || !strings.Contains(body, "dal 23/11/2026") {
			t.Error("the week is not written dd/mm/yyyy")
		}
		legend := regexp.MustCompile(`(?s)<ul class="coverage-legend[^"]*"[^>]*>(.*?)</ul>`).FindStringSubmatch(body)
		if legend == nil {
			t.Fatal("no legend")
		}
		for level := range 5 {
			if !strings.Contains(legend[1], `class="coverage-swatch cov-`+strconv.Itoa(level)+`"`) {
				t.Errorf("the legend lacks level %d", level)
			}
		}
		cells := regexp.MustCompile(`<td class="cov-([0-9])"[^>]*>(.*?)</td>`).FindAllStringSubmatch(body, -1)
		if len(cells) < 2*28*7 {
			t.Fatalf("%d shaded cells", len(cells))
		}
		levels := map[string]bool{}
		for _, c := range cells {
			levels[c[1]] = true
			n, err := strconv.Atoi(c[2])
			if c[1] == "0" {
				if !strings.Contains(c[2], "Chiuso") {
					t.Errorf("a closed cell says %q", c[2])
				}
				continue
			}
			if err != nil || strconv.Itoa(min(n, 4)) != c[1] {
				t.Errorf("cell %q shaded as level %s", c[2], c[1])
			}
		}
		if len(levels) < 3 {
			t.Errorf("the grid uses %d shades", len(levels))
		}

		// Every shade's text reads at WCAG AA contrast (4.5:1).
		css := mustGet(t, s.portal.URL+regexp.MustCompile(`href="(/static/[^"]+/civico\.css)"`).FindStringSubmatch(body)[1])
		for level := range 5 {
			rule := regexp.MustCompile(`\.cov-` + strconv.Itoa(level) + `\{([^}]*)\}`).FindStringSubmatch(css)
			if rule == nil {
				t.Errorf("no rule for level %d", level)
				continue
			}
			bg := regexp.MustCompile(`background(?:-color)?:(#[0-9a-fA-F]{6})`).FindStringSubmatch(rule[1])
			fg := regexp.MustCompile(`(?:^|;)color:(#[0-9a-fA-F]{6})`).FindStringSubmatch(rule[1])
			if bg == nil || fg == nil {
				t.Errorf("level %d: no colours in %q", level, rule[1])
				continue
			}
			if c := contrast(bg[1], fg[1]); c < 4.5 {
				t.Errorf("level %d: contrast %.2f", level, c)
			}
		}
	})
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var l float64
		for i, w := range []float64{0.2126, 0.7152, 0.0722} {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			c := float64(v) / 255
			if c <= 0.03928 {
				c /= 12.92
			} else {
				c = math.Pow((c+0.055)/1.055, 2.4)
			}
			l += w * c
		}
		return l
	}
	x, y := lum(a), lum(b)
	return (max(x, y) + 0.05) / (min(x, y) + 0.05)
}
