package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/dashboard"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/payments"
)

// openData sums the public JSON's rows of figure whose period is in
// [from, to], by sex; "withheld" counts the rows withheld.
func openData(t *testing.T, rows []dashboard.Row, figure, from, to string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, r := range rows {
		if r.Figure == figure && r.Period >= from && r.Period <= to {
			if r.Value == nil {
				out["withheld"]++
				continue
			}
			out[r.Sex] += *r.Value
		}
	}
	return out
}

// The demo's history, through the server as built and on both engines,
// gives the dashboard the seed's figures exactly: 2,027 residents
// registered by November 2009 (841 women, 1,186 men) and 1,552 PINs
// handed out in 2009-2010, and the demo's appointments since 2022 by sex
// and days waited, on the public page, in the open data (JSON and
// CSV) and on the statistics office's page; loading the history again or
// collecting again counts nothing twice; a resident's registration and
// login today are counted at the next collection, by method and as
// active; a resident cannot open the office's page.
func TestDashboardDemoHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newIDSite(t, d)
		now := time.Now()
		na, np, err := ensureDemoHistory(ctx, d, now)
		if err != nil || na < 30000 || np < 1552 {
			t.Fatalf("history: %d accounts, %d PINs, %v", na, np, err)
		}
		nb, err := ensureDemoAppointments(ctx, d, now)
		if err != nil || nb < 6000 {
			t.Fatalf("history of appointments: %d, %v", nb, err)
		}
		// The appointments the demo made: by sex and class of wait.
		wantAppts := map[string]int64{}
		for _, a := range demoAppointments(now) {
			days := booking.DaysBetween(hours.DateOf(a.Created), hours.DateOf(a.Start))
			wantAppts[a.Sex+"|"+dashboard.DaysBucket(days)]++
		}
		runTask(t, s, "dashboard", "figures")
		store := s.apps.civico.dashboard.Store
		check := func() {
			t.Helper()
			counts, err := store.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			appts := map[string]int64{}
			for _, c := range counts {
				if c.Figure == dashboard.AppointmentWaits {
					_, bucket, _ := strings.Cut(c.Key, ":")
					appts[c.Sex+"|"+bucket] += c.N
				}
			}
			if len(appts) != len(wantAppts) {
				t.Errorf("appointments by sex and wait: %v, want %v", appts, wantAppts)
			}
			for k, n := range wantAppts {
				if appts[k] != n {
					t.Errorf("appointments %s: %d, want %d", k, appts[k], n)
				}
			}
			regs, err := store.Total(ctx, dashboard.Registrations, "", "2009-11")
			if err != nil || regs["F"] != 841 || regs["M"] != 1186 || regs[""] != 0 {
				t.Fatalf("registrations by November 2009: %v, %v; want 841 women, 1,186 men", regs, err)
			}
			pins, err := store.Total(ctx, dashboard.PINs, "2009-01", "2010-12")
			if err != nil || pins["F"]+pins["M"]+pins[""] != 1552 || pins[""] != 0 {
				t.Fatalf("PINs in 2009-2010: %v, %v; want 1,552", pins, err)
			}
		}
		check()
		anon := s.browser(t, nil)
		base := s.plain.URL
		res, body := anon.do("GET", base+dashboard.JSONPath, nil)
		var set dashboard.Dataset
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &set) != nil || set.Licence != "CC-BY-4.0" {
			t.Fatalf("the open data in JSON: %d\n%.300s", res.StatusCode, body)
		}
		// The public data are by year: 2008 and 2009 have the seed's
		// registrations and December 2009's 70 (some by password, sex
		// unknown), none withheld.
		reg0809, _ := store.Total(ctx, dashboard.Registrations, "2008-01", "2009-12")
		if got := openData(t, set.Rows, dashboard.Registrations, "2008", "2009"); got["F"] != reg0809["F"] || got["M"] != reg0809["M"] || got[""] != reg0809[""] ||
			got["withheld"] != 0 || got["F"]+got["M"]+got[""] != 2027+70 {
			t.Errorf("open data, registrations in 2008-2009: %v, want %v", got, reg0809)
		}
		if got := openData(t, set.Rows, dashboard.PINs, "2009", "2010"); got["F"]+got["M"] != 1552 || got["withheld"] != 0 {
			t.Errorf("open data, PINs in 2009-2010: %v", got)
		}
		res, body = anon.do("GET", base+dashboard.CSVPath, nil)
		lines, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if res.StatusCode != 200 || err != nil || strings.Join(lines[0], ",") != "figure,period,key,sex,value" || len(lines) != len(set.Rows)+1 {
			t.Fatalf("the open data in CSV: %d, %v, %d lines for %d rows", res.StatusCode, err, len(lines), len(set.Rows))
		}
		var pinsCSV int64
		for _, l := range lines[1:] {
			if l[0] == dashboard.PINs && l[1] >= "2009" && l[1] <= "2010" {
				n, _ := strconv.ParseInt(l[4], 10, 64)
				pinsCSV += n
			}
		}
		if pinsCSV != 1552 {
			t.Errorf("CSV, PINs in 2009-2010: %d", pinsCSV)
		}
		// The public page: the seed's years in the tables, charts that
		// need no script.
		res, body = anon.do("GET", base+dashboard.PublicPath, nil)
		for _, want := range []string{`<svg role="img" aria-labelledby="chart-registrazioni-t chart-registrazioni-d"`, `<caption>Registrazioni per anno e sesso</caption>`,
			`<th scope="row">2008</th>`, `<th scope="row">2010</th><td>`, `href="/dati/cruscotto.csv"`, "CC BY 4.0", "SOCITM", "Ipotesi: 20 minuti (la coda non ha ancora misurato 30 biglietti serviti)"} {
			if res.StatusCode != 200 || !strings.Contains(body, want) {
				t.Fatalf("the public page: %d, no %s\n%s", res.StatusCode, want, body)
			}
		}
		if strings.Contains(body, "<script") && strings.Contains(body, "chart") {
			t.Error("a chart that needs JavaScript")
		}
		if v, err := store.View(ctx); err != nil || len(v.Public.Missing()) > 0 {
			t.Errorf("the public page asked for figures the release does not know: %v, %v", v.Public.Missing(), err)
		}
		// 2009's PINs: the seed's 812 of the 1,552, women and men.
		pins2009, _ := store.Total(ctx, dashboard.PINs, "2009-01", "2009-12")
		row := `<th scope="row">2009</th><td>` + strconv.FormatInt(pins2009["F"], 10) + `</td><td>` + strconv.FormatInt(pins2009["M"], 10) + `</td><td>0</td><td>812</td>`
		if !strings.Contains(body, row) {
			t.Errorf("the PINs' table has no %s", row)
		}

		// Again: nothing counted twice.
		if na, np, err := ensureDemoHistory(ctx, d, now); err != nil || na != 0 || np != 0 {
			t.Fatalf("history again: %d accounts, %d PINs, %v", na, np, err)
		}
		if nb, err := ensureDemoAppointments(ctx, d, now); err != nil || nb != 0 {
			t.Fatalf("appointments again: %d, %v", nb, err)
		}
		runTask(t, s, "dashboard", "figures")
		check()

		// A resident registers and logs in today: counted once the
		// collection reaches that minute (here at once).
		store.Lag = time.Nanosecond
		month := dashboard.Month(time.Now())
		before, _ := store.Total(ctx, dashboard.Registrations, month, month)
		byPassword := func() int64 {
			t.Helper()
			counts, err := store.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, c := range counts {
				if c.Figure == dashboard.Registrations && c.Month == month && c.Key == "password" {
					n += c.N
				}
			}
			return n
		}
		passwords := byPassword()
		resident := s.browser(t, nil)
		s.passwordResident(t, resident, "giulia@example.org")
		if res, _ := resident.do("GET", base+dashboard.BOPath, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a resident at the office's dashboard: %d", res.StatusCode)
		}
		runTask(t, s, "dashboard", "figures")
		after, _ := store.Total(ctx, dashboard.Registrations, month, month)
		if after[""] != before[""]+1 {
			t.Errorf("this month's registrations of unknown sex: %d then %d, want one more", before[""], after[""])
		}
		if n := byPassword(); n != passwords+1 {
			t.Errorf("this month's registrations by password: %d then %d, want one more", passwords, n)
		}
		v, err := store.View(ctx)
		if err != nil || v.Active30.Total() == 0 || v.Active90.Total() < v.Active30.Total() {
			t.Fatalf("active residents: %+v / %+v, %v", v.Active30, v.Active90, err)
		}
		office := operatorBrowser(t, s, "istat@comune.example.it", "statistics")
		res, body = office.do("GET", base+dashboard.BOPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `data-element="dashboard-key"`) || !strings.Contains(body, "Password") || strings.Contains(body, ">riservato<") {
			t.Fatalf("the office's dashboard: %d\n%.2000s", res.StatusCode, body)
		}
		// The office's exact data, month by month: the seed's figures to
		// November 2009.
		res, body = office.do("GET", base+dashboard.BOCSVPath, nil)
		lines, err = csv.NewReader(strings.NewReader(body)).ReadAll()
		if res.StatusCode != 200 || err != nil {
			t.Fatalf("the exact CSV: %d, %v", res.StatusCode, err)
		}
		bySex := map[string]int64{}
		for _, l := range lines[1:] {
			if l[0] == dashboard.Registrations && l[1] <= "2009-11" {
				n, _ := strconv.ParseInt(l[4], 10, 64)
				bySex[l[3]] += n
			}
		}
		if bySex["F"] != 841 || bySex["M"] != 1186 || len(bySex) != 2 {
			t.Errorf("exact CSV, registrations by November 2009: %v", bySex)
		}
		if res, _ := anon.do("GET", base+dashboard.BOCSVPath, nil); res.StatusCode == 200 {
			t.Error("the exact CSV served to a visitor")
		}
	})
}

// BenchmarkDashboard measures the dashboard with the demo's history (from
// 2008 to today, some 40,000 accounts and 5,000 PINs) counted: the public
// page as served (the view cached until the next collection), the page
// with its view rebuilt from the counters at every request, the open data
// in CSV, and a collection with nothing new.
func BenchmarkDashboard(b *testing.B) {
	s := newIDSiteB(b)
	ctx := context.Background()
	if _, _, err := ensureDemoHistory(ctx, s.d, time.Now()); err != nil {
		b.Fatal(err)
	}
	store := s.apps.civico.dashboard.Store
	if _, err := store.Collect(ctx); err != nil {
		b.Fatal(err)
	}
	h := s.apps.portal.Handler()
	get := func(b *testing.B, path string, before func()) {
		b.ReportAllocs()
		cpu := processCPU()
		n := 0
		for b.Loop() {
			n++
			if before != nil {
				before()
			}
			// A query of its own: the anonymous page cache misses, and the
			// page is rendered.
			req := httptest.NewRequest(http.MethodGet, path+"?b="+b.Name()+strconv.Itoa(n), nil)
			req.RemoteAddr = benchClient(n)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("GET %s = %d", path, w.Code)
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
	b.Run("page", func(b *testing.B) { get(b, dashboard.PublicPath, nil) })
	b.Run("page-rebuilt", func(b *testing.B) { get(b, dashboard.PublicPath, store.Forget) })
	b.Run("csv", func(b *testing.B) { get(b, dashboard.CSVPath, nil) })
	b.Run("collect", func(b *testing.B) {
		cpu := processCPU()
		for b.Loop() {
			if _, err := store.Collect(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	})
}

// A resident's first card login and a checkout of two notices paid on the
// portal reach the dashboard at the next collection: a registration by
// card of a man (the card proves it), and two payments on the portal out
// of two, by category, on the public page too.
func TestDashboardCountsLoginAndPayments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := newPaySite(t, d)
		store := p.apps.civico.dashboard.Store
		store.Lag = time.Nanosecond
		b := p.browser(t, p.card)
		p.cardLogin(t, b, "/")
		page, _ := p.checkout(t, b)
		if res, _ := b.do("POST", page, url.Values{"esito": {"paid"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sandbox: %d", res.StatusCode)
		}
		runTask(t, p.idSite, "dashboard", "figures")
		counts, err := store.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, c := range counts {
			got[c.Figure+"|"+c.Key+"|"+c.Sex] += c.N
		}
		want := map[string]int64{"registrations|crs|M": 1, "payments|" + string(payments.Canteen) + ":checkout|M": 1, "payments|" + string(payments.Fine) + ":checkout|M": 1}
		if len(got) != len(want) {
			t.Errorf("counters %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("counter %s = %d, want %d (all: %v)", k, got[k], n, got)
			}
		}
		// Two payments are too few to publish: the public page withholds
		// the share, the statistics office sees it.
		res, body := p.browser(t, nil).do("GET", p.plain.URL+dashboard.PublicPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `<dt class="col-sm-6">Pagamenti fatti sul portale</dt><dd class="col-sm-6">riservato</dd>`) {
			t.Errorf("the public page: %d, the share of payments on the portal not withheld", res.StatusCode)
		}
		if v, err := store.View(ctx); err != nil || len(v.Public.Missing()) > 0 {
			t.Errorf("the public page asked for figures the release does not know: %v, %v", v.Public.Missing(), err)
		}
		office := operatorBrowser(t, p.idSite, "istat@comune.example.it", "statistics")
		res, body = office.do("GET", p.plain.URL+dashboard.BOPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `<dt class="col-sm-6">Pagamenti fatti sul portale</dt><dd class="col-sm-6">100.0%</dd>`) {
			t.Errorf("the office's page: %d, no share of payments on the portal", res.StatusCode)
		}
	})
}

// bookFirstSlot books the first free time of the service at the office
// through the server, as a resident with an account does, and returns
// the booking's id.
func bookFirstSlot(t *testing.T, b *browser, base, office, service string) string {
	t.Helper()
	choice := url.Values{"ufficio": {office}, "servizio": {service}}
	res, body := b.do("GET", base+"/prenota-appuntamento/orario?"+choice.Encode(), nil)
	m := regexp.MustCompile(`name="inizio" id="f-slot-0" value="(\d+)"`).FindStringSubmatch(body)
	if res.StatusCode != 200 || m == nil {
		t.Fatalf("time step: %d", res.StatusCode)
	}
	choice.Set("inizio", m[1])
	choice.Set("phone", "+39 333 1234567")
	res, _ = b.do("POST", base+"/prenota-appuntamento/conferma", choice)
	loc := regexp.MustCompile(`^/area-personale/appuntamenti/([0-9a-f]{32})\?prenotato=1$`).FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc == nil {
		t.Fatalf("book: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	return loc[1]
}

// Appointments booked through the server as built reach the dashboard on
// their day, on both engines: a woman's and a man's (their cards prove
// their sex) by the days from the booking to the day, in the month of the
// day; one cancelled is not counted, nor one whose day has not come;
// collecting again counts nothing twice; the statistics office's page
// shows them by year and by sex, and the public page's missing figures
// no longer name the appointments.
func TestDashboardAppointmentWaits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		if err := (&booking.Store{DB: d}).SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		base := s.tls.URL
		const cie, tari = "carta-identita-elettronica", "tari"
		woman, _ := s.resident("CNTGLI85M41F205", "GIULIA", "CONTI", "giulia.conti@example.org")
		man, _ := s.resident("RSSMRA80A01F205", "MARIO", "ROSSI", "mario.rossi@example.org")
		ids := []string{bookFirstSlot(t, woman, base, "anagrafe", cie), bookFirstSlot(t, man, base, "anagrafe", cie), bookFirstSlot(t, woman, base, "tributi", tari)}
		// She cancels the second of hers.
		her, _ := accountOf(t, s, "CNTGLI85M41F205")
		if _, err := (&booking.Store{DB: d}).Cancel(ctx, ids[2], her, "test"); err != nil {
			t.Fatal(err)
		}
		var last time.Time
		want := map[string]int64{}
		for i, id := range ids[:2] {
			var start time.Time
			if err := d.QueryRowContext(ctx, `SELECT start_at FROM bookings WHERE id = $1`, id).Scan(&start); err != nil {
				t.Fatal(err)
			}
			if start.After(last) {
				last = start
			}
			days := booking.DaysBetween(hours.DateOf(time.Now()), hours.DateOf(start))
			want[dashboard.Month(start)+"|"+cie+":"+dashboard.DaysBucket(days)+"|"+[]string{"F", "M"}[i]]++
		}
		store := s.apps.civico.dashboard.Store
		counted := func() map[string]int64 {
			t.Helper()
			runTask(t, s.idSite, "dashboard", "figures")
			counts, err := store.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, c := range counts {
				if c.Figure == dashboard.AppointmentWaits {
					got[c.Month+"|"+c.Key+"|"+c.Sex] += c.N
				}
			}
			return got
		}
		if got := counted(); len(got) != 0 {
			t.Fatalf("appointments counted before their day: %v", got)
		}
		// The collection's clock reaches the later appointment's day.
		store.Now = func() time.Time { return last.Add(dashboard.DefaultLag + time.Minute) }
		for range 2 {
			got := counted()
			if len(got) != len(want) {
				t.Errorf("counters %v, want %v", got, want)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("counter %s = %d, want %d (all: %v)", k, got[k], n, got)
				}
			}
		}
		office := operatorBrowser(t, s.idSite, "istat@comune.example.it", "statistics")
		res, body := office.do("GET", s.plain.URL+dashboard.BOPath, nil)
		year := strconv.Itoa(last.In(hours.Rome).Year())
		for _, w := range []string{`<caption>Attesa degli appuntamenti per anno</caption>`, `<th scope="row">` + year + `</th>`,
			`<svg role="img" aria-labelledby="chart-appuntamenti-sesso-t chart-appuntamenti-sesso-d"`, `<caption>Attesa degli appuntamenti per sesso</caption>`} {
			if res.StatusCode != 200 || !strings.Contains(body, w) {
				t.Fatalf("the office's page: %d, no %s", res.StatusCode, w)
			}
		}
		if strings.Contains(body, "Tempi di attesa degli appuntamenti") || strings.Contains(body, "la coda è anonima") {
			t.Error("the page still says the appointments' waits or the queue's by sex are missing")
		}
	})
}

// The weekly hours each service is reachable outside the working day,
// from the demo catalogue through the server as built, on both engines:
// the identity card, at the registry office and the citizens' desk, is
// open 57 h 30 a week, 7 h 30 of them outside weekdays 08:00-18:00
// (18:00-18:30 each weekday at the desk, the registry's Wednesday to
// 19:30, Saturday 08:30-12:30); the registry moving its evening from
// Wednesday to Thursday 17:00-20:00 gives 8 h of 58 from the next collection,
// dated, and the page and the CSV show the week before and after.
func TestDashboardReach(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		store := s.apps.civico.dashboard.Store
		runTask(t, s.idSite, "dashboard", "figures")
		cie := func() []dashboard.ReachSnapshot {
			t.Helper()
			snaps, err := store.Snapshots(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var out []dashboard.ReachSnapshot
			for _, r := range snaps {
				if r.Service == "carta-identita-elettronica" {
					out = append(out, r)
				}
			}
			return out
		}
		if got := cie(); len(got) != 1 || got[0].Outside != 450 || got[0].Total != 3450 {
			t.Fatalf("the identity card's week: %+v; want 7 h 30 outside of 57 h 30", got)
		}
		cat, err := s.apps.civico.catalog.Store.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		old, _ := cat.AnyOffice("anagrafe")
		o := *old
		o.Spec.Week = map[string][]string{}
		for day, list := range old.Spec.Week {
			o.Spec.Week[day] = list
		}
		o.Spec.Week["wednesday"] = []string{"08:30-12:30"}
		o.Spec.Week["thursday"] = []string{"08:30-12:30", "17:00-20:00"}
		if err := s.apps.civico.catalog.Store.UpdateOffice(ctx, catalog.Editor{Audit: &audit.Log{DB: d}, Actor: "account:test"}, &o); err != nil {
			t.Fatal(err)
		}
		s.apps.civico.catalog.Store.Forget()
		later := time.Now().Add(25 * time.Hour)
		store.Now = func() time.Time { return later }
		runTask(t, s.idSite, "dashboard", "figures")
		runTask(t, s.idSite, "dashboard", "figures")
		got := cie()
		if len(got) != 2 || got[1].Outside != 480 || got[1].Total != 3480 || !got[1].Since.After(got[0].Since) {
			t.Fatalf("after the change: %+v; want a second week, 8 h outside of 58 h", got)
		}
		res, body := s.browser(t, nil).do("GET", s.plain.URL+dashboard.PublicPath, nil)
		row := `<th scope="row">Carta d&#39;identità elettronica</th><td>` + got[0].Since.UTC().Format(time.DateOnly) + `</td><td>7 h 30</td><td>8 h</td><td>+0 h 30</td><td>58 h</td>`
		if res.StatusCode != 200 || !strings.Contains(body, row) || !strings.Contains(body, `aria-labelledby="chart-orari-t chart-orari-d"`) {
			t.Fatalf("the public page: %d, no %s", res.StatusCode, row)
		}
		_, body = s.browser(t, nil).do("GET", s.plain.URL+dashboard.CSVPath, nil)
		if !strings.Contains(body, "reach_outside_minutes,"+got[1].Since.UTC().Format(time.DateOnly)+",carta-identita-elettronica,,480\n") {
			t.Errorf("the CSV has no week after the change")
		}
	})
}
