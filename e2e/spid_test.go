package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/cf"
)

// A resident logs in with SPID through the demo's TEST provider, with
// JavaScript off: "Entra con SPID" opens the list of providers (a
// <details>), the provider asks whom and at which level, its signed answer
// goes back to the town, and the personal area opens at level 2.
func TestSPIDLoginThroughTheDemoProvider(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	b.scriptsOff()
	b.open(d.Portal+"/accedi", 200)
	b.step(`opening "Entra con SPID"`, chromedp.Click(`//summary[normalize-space(.)="Entra con SPID"]`, chromedp.NodeVisible))
	clickAndLoad(b, "choosing the test provider", `//a[normalize-space(.)="SPID di prova (solo demo)"]`, 200)
	b.wantText("main", "Solo per la demo")
	code, err := cf.Complete("FRRLCU78H15C707")
	if err != nil {
		t.Fatal(err)
	}
	b.tick("/spid-test-idp/sso", "person", "TINIT-"+string(code))
	clickAndLoad(b, "logging in at the test provider", `//main//button[normalize-space(.)="Accedi"]`, 200)
	clickAndLoad(b, "going back to the town", `//main//button[normalize-space(.)="Torna al Comune"]`, 200)
	if p := b.path(); p != "/area-personale" {
		t.Fatalf("after the SPID login the page is %s, want /area-personale", p)
	}
	b.wantText("header", "Luca Ferrari")
}
