package e2e

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The dashboard's public open-data page, with JavaScript (axe-core on it)
// and without, and its CSV under disclosure control; then the statistics
// office's page (the demo operator is an admin) with the exact figures
// and its exact CSV.
func TestDashboardOpenData(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	const page = "/dati/cruscotto"
	// The first collection of the demo's history runs as the demo starts:
	// the page shows the registrations once it is done.
	collected := func(b *browser) {
		t.Helper()
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(2 * time.Second) {
			b.open(d.Portal+page, 200)
			if eval[bool](b, `document.querySelector('#registrazioni table') !== null && document.querySelector('#orari table') !== null`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the dashboard shows no registrations or hours after 90 s: %s", shorten(b.text("main"), 500))
			}
		}
	}

	t.Run("with JavaScript", func(t *testing.T) {
		b := newBrowser(t)
		r := newAxeRun(t, b, loadAxe(t))
		collected(b)
		r.check("the public dashboard")
		for _, want := range []string{"Attesa degli appuntamenti per anno", "Ore settimanali di apertura fuori dall'orario di lavoro, per servizio",
			"Tutela della riservatezza", "Carta d'identità elettronica"} {
			b.wantText("main", want)
		}
		if n := eval[int](b, `document.querySelectorAll('main a[href="/backoffice/cruscotto.csv"]').length`); n != 0 {
			t.Error("the public page links the office's exact CSV")
		}
		r.finish()
	})

	t.Run("without JavaScript", func(t *testing.T) {
		b := newBrowser(t)
		b.scriptsOff()
		collected(b)
		if b.scripting() {
			t.Fatal("JavaScript is still on in the page")
		}
		// Charts are SVG drawn by the server, each with its table.
		// (registrations and PINs at least: the demo's history).
		if n := eval[int](b, `document.querySelectorAll('main svg[role="img"]').length`); n < 2 {
			t.Errorf("%d charts without JavaScript", n)
		}
		b.wantText(`#registrazioni table caption`, "Registrazioni per anno e sesso")
		href := eval[string](b, `document.querySelector('main a[href$=".csv"]').getAttribute("href")`)
		if href != "/dati/cruscotto.csv" {
			t.Fatalf("the CSV link: %q", href)
		}
		// The file the link gives: by year, no count from 1 to 4.
		res, err := http.Get(d.Portal + href)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if res.StatusCode != 200 || err != nil || len(rows) < 10 || strings.Join(rows[0], ",") != "figure,period,key,sex,value" {
			t.Fatalf("the CSV: %d, %v, %d rows", res.StatusCode, err, len(rows))
		}
		reach := 0
		for _, r := range rows[1:] {
			switch {
			case r[0] == "reach_outside_minutes":
				reach++
			case r[0] == "registrations" && len(r[1]) != 4:
				t.Errorf("a registrations row not by year: %v", r)
			case r[0] != "reach_total_minutes" && len(r[4]) == 1 && r[4] >= "1" && r[4] <= "4":
				t.Errorf("a small count published: %v", r)
			}
		}
		if reach == 0 {
			t.Error("the CSV has no weeks of reach")
		}
	})

	t.Run("the statistics office", func(t *testing.T) {
		b := newBrowser(t)
		r := newAxeRun(t, b, loadAxe(t))
		email, password := demoLogin(t, d, demoOperatorEmail)
		operatorLogin(b, d, email, password)
		b.open(d.Portal+"/backoffice/cruscotto", 200)
		r.check("the office's dashboard")
		if eval[bool](b, `document.querySelector("main").innerHTML.includes(">riservato<")`) {
			t.Error("the office's page withholds a figure")
		}
		b.wantText("main", "Scarica i dati esatti, mese per mese, in CSV")
		csvText := evalAsync[string](b, `fetch("/backoffice/cruscotto.csv").then(r => r.ok ? r.text() : "status " + r.status)`)
		if !strings.HasPrefix(csvText, "figure,period,key,sex,value\n") || !strings.Contains(csvText, "registrations,2009-11,crs,F,") {
			t.Errorf("the exact CSV: %s", shorten(csvText, 300))
		}
		r.finish()
	})
}
