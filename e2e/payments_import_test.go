package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// importFile writes an import file of n canteen positions, ids from prefix.
func importFile(t *testing.T, name, prefix string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id;codice_fiscale;nominativo;categoria;causale;anno;importo;scadenza;rate\n")
	for i := range n {
		fmt.Fprintf(&b, "%s-%05d;RSSMRA85T10A562S;Mario Rossi;mensa;Mensa scolastica, ottobre;2026;4,50;2026-11-30;\n", prefix, i)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitDone waits, without touching the page, until it shows the import
// done: whatever updates it (the script, or the page reloading itself).
func (b *browser) waitDone(what, page string) {
	b.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !eval[bool](b, `document.querySelector('main [data-element="import-done"]') !== null`) {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: the import's page did not show it done (page: %s)", what, b.location())
		}
		time.Sleep(250 * time.Millisecond)
	}
	if loc, _, _ := strings.Cut(b.location(), "?"); loc != page {
		b.t.Fatalf("%s: the page went to %s", what, b.location())
	}
}

// The finance office imports files in the background: a wrong file is
// refused at once with its lines; a right one leads to the import's page,
// which follows the import by itself until its summary, with JavaScript
// (the progress updated in place) and without (the page reloading itself
// when the operator asks); axe-core checks every page on the way.
func TestBackOfficeImportsPositionsInTheBackground(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	r := newAxeRun(t, b, loadAxe(t))
	email, password := demoLogin(t, d, demoOperatorEmail)
	operatorLogin(b, d, email, password)
	const form = `main form[action="/backoffice/pagamenti/importa"]`
	send := func(what, file string, status int64) {
		b.t.Helper()
		b.open(d.Portal+"/backoffice/pagamenti/importa", 200)
		b.step("choosing "+what, chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{file}))
		clickAndLoad(b, "sending "+what, chromedp.CSS(form+` button[type="submit"]`), status)
	}
	idPage := regexp.MustCompile(`^` + regexp.QuoteMeta(d.Portal) + `/backoffice/pagamenti/importa/[0-9a-f]{32}$`)

	b.open(d.Portal+"/backoffice/pagamenti/importa", 200)
	r.check("the import page")
	// Line 5's fiscal code has a wrong check letter.
	bad := importFile(t, "sbagliato.csv", "BAD", 3)
	f, err := os.OpenFile(bad, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("BAD-9;RSSMRA85T10A562X;;mensa;Mensa;2026;4,50;2026-11-30;\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	send("a wrong file", bad, 422)
	if line := b.text(`main [data-element="import-errors"] tbody th`); line != "5" {
		t.Fatalf("the wrong file's line: %q", line)
	}
	r.check("a wrong file refused, its lines named")

	// With JavaScript: the page follows the import in place.
	send("a file of 10,000 lines", importFile(t, "mensa-ottobre.csv", "OTT", 10000), 200)
	page := b.location()
	if !idPage.MatchString(page) {
		t.Fatalf("the upload led to %s", page)
	}
	if n := eval[int](b, `document.querySelectorAll('main [role="progressbar"][aria-valuemax="10000"]').length`); n != 1 {
		t.Fatalf("the import's page shows no progress bar of 10,000 lines")
	}
	b.waitDone("with JavaScript", page)
	b.wantText(`main [data-element="import-done"]`, "Importate 10000 posizioni per € 45.000,00")
	r.check("a done import's page")

	// Without JavaScript: a refresh button, and the page reloading itself
	// every 2 seconds once asked to.
	b.block(d.Portal + "/static/*live-refresh.js")
	send("another file", importFile(t, "mensa-novembre.csv", "NOV", 10000), 200)
	page = b.location()
	if !idPage.MatchString(page) {
		t.Fatalf("the upload led to %s", page)
	}
	if n := eval[int](b, `document.querySelectorAll('main [role="progressbar"]').length`); n != 1 {
		t.Fatal("the second import's page shows no progress bar")
	}
	r.check("a waiting or running import's page")
	clickAndLoad(b, "asking the page to refresh by itself", chromedp.CSS(`main [data-element="import-auto-refresh"]`), 200)
	b.waitDone("without JavaScript", page)
	b.wantText(`main [data-element="import-done"]`, "Importate 10000 posizioni")

	b.open(d.Portal+"/backoffice/pagamenti/importa", 200)
	b.wantText(`main [data-element="import-list"]`, "mensa-novembre.csv")
	r.check("the list of imports")
	r.finish()
}
