package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/schools"
)

// The demo's card holder, Luca Ferrari, enrols his daughter Sofia in the
// demo's school canteen: from the list of services to the service's page
// and its form; a wrong fiscal code is told in the index at the top and
// beside its field, what he wrote kept; corrected, the enrolment is
// accepted at once; it is in his personal area, and he withdraws it.
// axe-core checks every page.
func TestSchoolEnrolment(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)
	b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(b, d)
	r := newAxeRun(t, b, axeJS)

	b.open(d.TLS+schools.Path, 200)
	b.wantText("main h1", "Servizi scolastici")
	r.check("the list of school services")
	href := eval[string](b, `(() => { const a = [...document.querySelectorAll("main a")].find(a => a.textContent.includes("Refezione scolastica")); return a ? a.getAttribute("href") : ""; })()`)
	if href == "" {
		t.Fatal("no canteen in the list")
	}
	b.open(d.TLS+href, 200)
	r.check("the canteen's page")
	clickAndLoad(b, "Iscrivi", `main a[href="`+href+`/iscrizione"]`, 200)
	b.wantText("main h1", "Iscrizione: Refezione scolastica")
	r.check("the enrolment form")

	action := href + "/iscrizione"
	unit := eval[string](b, `document.querySelector('main input[name="unit"]').value`)
	sofia, err := cf.Make("Ferrari", "Sofia", "F", time.Date(2018, time.September, 5, 0, 0, 0, 0, time.UTC), "C707")
	if err != nil {
		t.Fatal(err)
	}
	wrong := sofia.String()[:15] + strconv.Itoa(0)
	b.tick(action, "privacy", "1")
	b.tick(action, "unit", unit)
	b.fill(action, "child_given", "Sofia")
	b.fill(action, "child_family", "Ferrari")
	b.fill(action, "child_fc", wrong)
	b.fill(action, "school", "Primaria Garibaldi")
	b.fill(action, "class", "P2")
	b.fill(action, "isee", "6.500,00")
	pressAndLoad(b, "sending with a wrong fiscal code", `main form[action="`+action+`"] button[type="submit"]`, 422)
	b.wantText("#errori", "Codice fiscale del bambino")
	b.wantText("#f-child_fc-error", "Il codice fiscale non è valido")
	if got := eval[string](b, `document.getElementById("f-school").value`); got != "Primaria Garibaldi" {
		t.Errorf("the school written was not kept: %q", got)
	}
	r.check("the form with an error")

	b.fill(action, "child_fc", sofia.String())
	press(b, "sending", `main form[action="`+action+`"] button[type="submit"]`)
	b.wantText("main .alert-success", "l'iscrizione è accolta")
	b.wantText("main dl", "€ 3,50")
	r.check("the answer")
	page := b.path()

	b.open(d.TLS+schools.AreaPath, 200)
	b.wantText("main table", "Sofia Ferrari")
	r.check("the parent's enrolments")
	b.open(d.TLS+page, 200)
	press(b, "withdrawing", `main form[action$="/ritira"] button`)
	b.wantText("main .alert-success", "Iscrizione ritirata")
	r.check("the withdrawn enrolment")
}
