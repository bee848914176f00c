package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/spid"
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

	// Single sign-on: Partecipa's "Accedi" logs him in there without a
	// second login, at the level SPID proved (the portal's acr for
	// Partecipa is substantial).
	b.open(d.Partecipa+"/", 200)
	clickAndLoad(b, "Partecipa's Accedi", chromedp.CSS(`header [data-element="personal-area-login"]`), 200)
	if loc := b.location(); !strings.HasPrefix(loc, d.Partecipa+"/") {
		t.Fatalf("after Accedi on Partecipa the page is %s, want Partecipa logged in (no second login)", loc)
	}
	b.wantText(`header [data-element="personal-area-login"]`, "Luca Ferrari")
	clickAndLoad(b, "Partecipa's personal area", chromedp.CSS(`header [data-element="personal-area-login"]`), 200)
	b.wantText("main", "Significativo: SPID o carta d'identità elettronica di livello 2")
}

// A resident logged in with SPID level 1 opens his payments, which need a
// login that proves who he is: the portal asks for more (the step-up page,
// which offers SPID at level 2), the provider asks again, and the payments
// page opens. JavaScript off.
func TestSPIDStepUp(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	b.scriptsOff()
	code, err := cf.Complete("FRRLCU78H15C707")
	if err != nil {
		t.Fatal(err)
	}
	provider := func(level string) {
		b.t.Helper()
		b.wantText("main", "Solo per la demo")
		b.tick("/spid-test-idp/sso", "person", "TINIT-"+string(code))
		b.tick("/spid-test-idp/sso", "level", level)
		clickAndLoad(b, "logging in at the test provider", `//main//button[normalize-space(.)="Accedi"]`, 200)
		clickAndLoad(b, "going back to the town", `//main//button[normalize-space(.)="Torna al Comune"]`, 200)
	}

	// The login page asks SPID for level 2; a level 1 login is one a page
	// asking for less starts: the same link, at livello=low.
	b.open(d.Portal+"/accedi", 200)
	link := eval[string](b, `[...document.querySelectorAll('main a')].find(a => a.textContent.trim() === "SPID di prova (solo demo)").href`)
	if !strings.Contains(link, "livello=substantial") {
		t.Fatalf("the login page's SPID link %s does not ask for level 2", link)
	}
	b.open(strings.Replace(link, "livello=substantial", "livello=low", 1), 200)
	provider(spid.SpidL1)
	b.wantText("header", "Luca Ferrari")

	b.open(d.Portal+payments.AreaPath, 200)
	if p := b.path(); !strings.HasPrefix(p, "/accedi/carta?") {
		t.Fatalf("SPID level 1 at the payments page ends on %s, want the step-up page", b.location())
	}
	b.wantText("main h1", "Serve un accesso più sicuro")
	b.wantText("main .lead", "SPID di livello 2 o 3")
	b.step(`opening "Entra con SPID" on the step-up page`, chromedp.Click(`//main//summary[normalize-space(.)="Entra con SPID"]`, chromedp.NodeVisible))
	clickAndLoad(b, "choosing the test provider at level 2", `//main//a[normalize-space(.)="SPID di prova (solo demo)"]`, 200)
	if !eval[bool](b, `document.querySelector('main input[name="level"][value="`+spid.SpidL2+`"]').checked`) {
		t.Fatal("the step-up's request does not ask the provider for level 2")
	}
	// Answering level 1 again is refused, with the page and a 4xx status.
	b.tick("/spid-test-idp/sso", "person", "TINIT-"+string(code))
	b.tick("/spid-test-idp/sso", "level", spid.SpidL1)
	clickAndLoad(b, "logging in at the test provider, level 1 again", `//main//button[normalize-space(.)="Accedi"]`, 200)
	clickAndLoad(b, "going back to the town with level 1", `//main//button[normalize-space(.)="Torna al Comune"]`, 403)

	b.open(d.Portal+payments.AreaPath, 200)
	b.step(`opening "Entra con SPID" on the step-up page again`, chromedp.Click(`//main//summary[normalize-space(.)="Entra con SPID"]`, chromedp.NodeVisible))
	clickAndLoad(b, "choosing the test provider at level 2 again", `//main//a[normalize-space(.)="SPID di prova (solo demo)"]`, 200)
	provider(spid.SpidL2)
	if p := b.path(); p != payments.AreaPath {
		t.Fatalf("after the step-up the page is %s, want %s", b.location(), payments.AreaPath)
	}
	b.wantText("main h1", "I miei pagamenti")
}
