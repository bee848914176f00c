package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// openings writes n openings of one minute, a minute apart (they do not
// merge), as a planner would type them.
func openings(n int) string {
	var day []string
	for i := range n {
		day = append(day, hours.Interval{Start: hours.Clock(8*60 + 2*i), End: hours.Clock(8*60 + 2*i + 1)}.String())
	}
	return strings.Join(day, ", ")
}

const coverageTable = `<table class="table table-sm table-bordered coverage">`

// A proposal is bounded: so many openings a day, each day once, so long a
// query. Beyond a bound the field says so, in the visitor's language, and
// the proposal's coverage is not computed; a query too long is not even
// read.
func TestCoordinationProposalBounds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCatalogSite(t, d)
		base := s.portal.URL + "/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25&ufficio=anagrafe"
		full := url.Values{}
		for _, f := range catalog.Weekdays {
			full.Set(f.Name, openings(catalog.MaxProposalIntervals))
		}
		res, body := get(t, base+"&"+full.Encode())
		if res.StatusCode != http.StatusOK || strings.Count(body, coverageTable) != 2 {
			t.Fatalf("%d openings every day: %d, %d grids", catalog.MaxProposalIntervals, res.StatusCode, strings.Count(body, coverageTable))
		}
		if n := len("/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25&ufficio=anagrafe&" + full.Encode()); n > catalog.MaxCoordinationQuery {
			t.Fatalf("the longest proposal the form allows is %d bytes, beyond MaxCoordinationQuery", n)
		}
		errorOf := func(body, field string) string {
			m := regexp.MustCompile(`<div class="invalid-feedback d-block" id="f-` + field + `-error">([^<]*)</div>`).FindStringSubmatch(body)
			if m == nil {
				return ""
			}
			return m[1]
		}
		tooMany := fmt.Sprintf("al massimo %d fasce orarie al giorno", catalog.MaxProposalIntervals)
		for name, tc := range map[string]struct {
			query, field, want string
		}{
			"one opening too many": {"&monday=" + url.QueryEscape(openings(catalog.MaxProposalIntervals+1)), "monday", tooMany},
			"a day too long":       {"&tuesday=" + url.QueryEscape("09:00-12:00,"+strings.Repeat(" ", catalog.MaxProposalField)+"14:00-16:00"), "tuesday", tooMany},
			"a day given twice":    {"&friday=09:00-12:00&friday=14:00-16:00", "friday", "più di una volta"},
		} {
			res, body := get(t, base+tc.query)
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(errorOf(body, tc.field), tc.want) {
				t.Errorf("%s: %d, error beside %s %q", name, res.StatusCode, tc.field, errorOf(body, tc.field))
			}
			if n := strings.Count(body, coverageTable); n != 1 {
				t.Errorf("%s: %d grids, want only today's", name, n)
			}
		}
		_, body = get(t, base+"&monday="+url.QueryEscape(openings(catalog.MaxProposalIntervals+1)), "Accept-Language", "en")
		if want := fmt.Sprintf("at most %d openings a day", catalog.MaxProposalIntervals); !strings.Contains(errorOf(body, "monday"), want) {
			t.Errorf("English: %q", errorOf(body, "monday"))
		}
		long := base + "&sunday=" + strings.Repeat("x", catalog.MaxCoordinationQuery)
		res, body = get(t, long)
		if res.StatusCode != http.StatusRequestURITooLong || strings.Contains(body, coverageTable) ||
			!strings.Contains(body, fmt.Sprintf("al massimo %d caratteri", catalog.MaxCoordinationQuery)) {
			t.Errorf("a query too long: %d, grids %d", res.StatusCode, strings.Count(body, coverageTable))
		}
	})
}

// Computing a week costs milliseconds: an anonymous client has a budget of
// catalog.CoordinationViews of them per catalog.CoordinationWindow, and is
// then told to wait, with nothing computed. Another client, the bare form,
// and operators (the planners the view is for) are not affected.
func TestCoordinationBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSiteBehindProxy(t, d)
		view := func(client string, week int) (*http.Response, string) {
			// Each week is another page: the page cache would not help.
			day := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC).AddDate(0, 0, 7*week).Format(time.DateOnly)
			return get(t, s.portal.URL+"/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana="+day, "X-Forwarded-For", client)
		}
		const a, b = "203.0.113.7", "198.51.100.20"
		for i := range catalog.CoordinationViews {
			if res, _ := view(a, i); res.StatusCode != http.StatusOK {
				t.Fatalf("view %d: %d", i+1, res.StatusCode)
			}
		}
		res, body := view(a, catalog.CoordinationViews)
		wait := int(catalog.CoordinationWindow.Minutes())
		if res.StatusCode != http.StatusTooManyRequests || strings.Contains(body, coverageTable) || res.Header.Get("Retry-After") == "" ||
			!strings.Contains(body, fmt.Sprintf("riprova tra %d minuti", wait)) || !strings.Contains(body, `<option value="anagrafe-e-stato-civile" selected`) {
			t.Errorf("view %d: %d, Retry-After %q, grids %d", catalog.CoordinationViews+1, res.StatusCode, res.Header.Get("Retry-After"), strings.Count(body, coverageTable))
		}
		if res, _ := view(b, 0); res.StatusCode != http.StatusOK {
			t.Errorf("another client: %d", res.StatusCode)
		}

		if res, _ := get(t, s.portal.URL+"/coordinamento-orari", "X-Forwarded-For", a); res.StatusCode != http.StatusOK {
			t.Errorf("the bare form: %d", res.StatusCode)
		}
	})
}

func TestCoordinationBudgetSparesOperators(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {

		if err := ensureDemoCatalog(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		s := newIDSite(t, d)
		urp := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		u := s.plain.URL + "/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana="
		// A different week each time: the page cache (on by default) answers
		// a week asked before without computing it, and without drawing on the
		// budget.
		week := func(i int) string {
			return time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC).AddDate(0, 0, 7*i).Format(time.DateOnly)
		}
		for i := range catalog.CoordinationViews {
			if res, _ := get(t, u+week(i)); res.StatusCode != http.StatusOK {
				t.Fatalf("anonymous view %d: %d", i+1, res.StatusCode)
			}
		}
		beyond := week(catalog.CoordinationViews)
		if res, _ := get(t, u+beyond); res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("anonymous, beyond the budget: %d", res.StatusCode)
		}
		if res, body := urp.do("GET", u+beyond, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, coverageTable) {
			t.Errorf("an operator from the same address: %d", res.StatusCode)
		}
		// A week computed before is everyone's (the shared contents), even
		// for the spent client: a cookie keeps the page cache out of it.
		for _, w := range []string{week(0), beyond} {
			if res, body := get(t, u+w, "Cookie", "civico_session=none"); res.StatusCode != http.StatusOK || !strings.Contains(body, coverageTable) {
				t.Errorf("the week of %s, computed before, for the spent client: %d", w, res.StatusCode)
			}
		}
		if res, _ := get(t, u+week(catalog.CoordinationViews+1), "Cookie", "civico_session=none"); res.StatusCode != http.StatusTooManyRequests {
			t.Errorf("a week not computed yet, for the spent client: %d", res.StatusCode)
		}
	})
}
