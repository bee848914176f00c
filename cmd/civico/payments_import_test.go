package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// canteenImport is an import file of n canteen positions of € 4,50.
func canteenImport(prefix string, n int) []byte {
	var b strings.Builder
	b.WriteString("id;codice_fiscale;nominativo;categoria;causale;anno;importo;scadenza;rate\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%05d;RSSMRA85T10A562S;Mario Rossi;mensa;Mensa ottobre;2026;4,50;2026-11-30;\n", prefix, i)
	}
	return []byte(b.String())
}

// The finance office uploads a file: checked at once (a wrong one refused
// whole, nothing kept), then imported by river's job while the import's
// page shows its progress, without JavaScript, and then its outcome; the
// same file is refused while it waits and once it is done; the job run
// again changes nothing; the import page lists the imports.
func TestBackOfficeImportRunsAsAJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newIDSite(t, d)
		op := operatorBrowser(t, s, "ragioneria@comune.example.it", "finance")
		base := s.plain.URL + "/backoffice/pagamenti/importa"
		rows := func(q string) int {
			var n int
			if err := d.QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		bad := append(canteenImport("X", 3), []byte("X-9;RSSMRA85T10A562S;;mensa;Mensa;2026;;2026-11-30;\n")...)
		res, body := op.upload(base, "file", "sbagliato.csv", bad)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<th scope="row">5</th><td>importo</td>`) ||
			!strings.Contains(body, `aria-describedby="import-alert"`) {
			t.Fatalf("a wrong file: %d\n%s", res.StatusCode, body)
		}
		if n := rows(`SELECT COUNT(*) FROM payments_import_runs`) + rows(`SELECT COUNT(*) FROM payments_import_files`); n != 0 {
			t.Fatalf("a wrong file left %d rows", n)
		}

		data := canteenImport("OTT", 250)
		res, _ = op.upload(base, "file", "mensa-ottobre.csv", data)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/backoffice/pagamenti/importa/") {
			t.Fatalf("upload: %d %q", res.StatusCode, loc)
		}
		id := strings.TrimPrefix(loc, "/backoffice/pagamenti/importa/")
		// The waiting import's page: the bar, the words, a refresh button,
		// and the progress updating in place with JavaScript; reloading
		// by itself without only when asked (a time limit otherwise).
		res, body = op.do("GET", s.plain.URL+loc, nil)
		for _, want := range []string{`data-element="import-progress" data-live-refresh="2000"`, `/live-refresh.js" defer></script>`,
			`class="progress-bar progress-0" role="progressbar" aria-valuenow="0" aria-valuemin="0" aria-valuemax="250"`,
			"0 di 250 righe", "mensa-ottobre.csv", `href="/backoffice/pagamenti/importa/` + id + `" data-element="import-refresh"`,
			`href="/backoffice/pagamenti/importa/` + id + `?aggiorna=auto" data-element="import-auto-refresh"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the waiting import's page lacks %q", want)
			}
		}
		if res.StatusCode != 200 || strings.Contains(body, `http-equiv="refresh"`) || t.Failed() {
			t.Fatalf("%d\n%s", res.StatusCode, body)
		}
		if _, body = op.do("GET", s.plain.URL+loc+"?aggiorna=auto", nil); !strings.Contains(body, `<meta http-equiv="refresh" content="2">`) ||
			!strings.Contains(body, `href="/backoffice/pagamenti/importa/`+id+`?aggiorna=auto" data-element="import-refresh"`) {
			t.Fatalf("refreshing by itself, asked:\n%s", body)
		}
		if _, body = op.do("GET", base, nil); !strings.Contains(body, `data-element="import-list"`) || !strings.Contains(body, ">mensa-ottobre.csv</a>") || !strings.Contains(body, "In attesa") {
			t.Fatalf("the list of imports:\n%s", body)
		}

		// Another operator, the same file, while it waits.
		other := operatorBrowser(t, s, "economato@comune.example.it", "finance")
		res, body = other.upload(base, "file", "copia.csv", data)
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, `data-element="import-refused"`) || !strings.Contains(body, `href="/backoffice/pagamenti/importa/`+id+`"`) {
			t.Fatalf("the same file twice: %d\n%s", res.StatusCode, body)
		}

		// River works it.
		if err := s.apps.jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(90 * time.Second)
		for {
			_, body = op.do("GET", s.plain.URL+loc, nil)
			if strings.Contains(body, `data-element="import-done"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the import did not end:\n%s", body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := s.apps.jobs.Stop(stopCtx); err != nil {
			t.Error(err)
		}
		cancel()
		for _, want := range []string{"Importate 250 posizioni per € 1.125,00.", "Creati 250 avvisi di pagamento.", `data-element="import-summary"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the done import's page lacks %q", want)
			}
		}
		if _, body := op.do("GET", s.plain.URL+loc+"?aggiorna=auto", nil); strings.Contains(body, `http-equiv="refresh"`) || strings.Contains(body, `role="progressbar"`) ||
			strings.Contains(body, "live-refresh.js") {
			t.Error("a done import's page still refreshes")
		}
		if n := rows(`SELECT COUNT(*) FROM payments_positions WHERE external_id LIKE 'OTT-%'`); n != 250 {
			t.Fatalf("%d positions imported", n)
		}
		// The job once more: nothing changes.
		pay := s.apps.civico.payments
		if _, err := pay.Service.RunImport(ctx, id, pay.Rates, nil); err != nil {
			t.Fatal(err)
		}
		if n := rows(`SELECT COUNT(*) FROM payments_positions`); n != 250 {
			t.Fatalf("%d positions after the job ran again", n)
		}
		if n := rows(`SELECT COUNT(*) FROM audit_log WHERE action IN ('payments.import.accepted', 'payments.import')`); n != 2 {
			t.Fatalf("%d audit entries of the upload and the completion", n)
		}
		// Done: the same file is refused still.
		if res, body := other.upload(base, "file", "copia.csv", data); res.StatusCode != http.StatusConflict || !strings.Contains(body, "Completata") {
			t.Fatalf("the same file once imported: %d\n%s", res.StatusCode, body)
		}
		if _, body = op.do("GET", base, nil); !strings.Contains(body, "Completata") {
			t.Fatalf("the list after the import:\n%s", body)
		}
		if res, _ := op.do("GET", base+"/00000000000000000000000000000000", nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("an unknown import: %d", res.StatusCode)
		}
	})
}
