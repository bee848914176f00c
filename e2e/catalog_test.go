package e2e

import (
	"strings"
	"testing"
)

// A resident opens a service page from its category, reads where and when
// the office is open, and asks the finder which offices they can reach on
// Saturday, without JavaScript.
func TestServicePageAndFinder(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)

	b.open(d.Portal+"/servizi/anagrafe-e-stato-civile", 200)
	clickAndLoad(b, `clicking the service "Carta d'identità elettronica"`,
		`//main//a[@data-element="service-link"][normalize-space(.)="Carta d'identità elettronica"]`, 200)
	b.wantText(`[data-element="service-title"]`, "Carta d'identità elettronica")
	index := b.text(`[data-element="page-index"]`)
	for _, entry := range []string{"A chi è rivolto", "Come fare", "Cosa serve", "Cosa si ottiene", "Tempi e scadenze", "Accedi al servizio", "Condizioni di servizio", "Contatti"} {
		if !strings.Contains(index, entry) {
			t.Errorf("the page index lacks %q", entry)
		}
	}
	access := b.text(`#accedi-al-servizio`)
	if !strings.Contains(access, "Aperto ora") && !strings.Contains(access, "Chiuso ora") {
		t.Errorf("the service page does not say whether its office is open now: %q", access)
	}

	// The finder, without JavaScript: Saturday.
	b.scriptsOff()
	b.open(d.Portal+"/dove-e-quando", 200)
	if b.scripting() {
		t.Fatal("JavaScript is still on in the page")
	}
	b.clickBox(`choosing "Sabato"`, `label[for="q-sabato"]`)
	clickAndLoad(b, "submitting the finder", `//main//form//button[@type="submit"]`, 200)
	if p := b.location(); !strings.Contains(p, "quando=sabato") {
		t.Fatalf("the finder's form went to %s", p)
	}
	results := b.text(`#finder-results`)
	if !strings.HasPrefix(results, "Aperti tra") {
		t.Errorf("finder heading %q", results)
	}
	if n := eval[int](b, `document.querySelectorAll('main a[href^="/amministrazione/uffici/"]').length`); n == 0 {
		t.Error("no office is open on Saturday in the demo town, or the finder does not list them")
	}
}
