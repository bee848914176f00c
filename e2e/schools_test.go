package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/hours"
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

// From enrolment to bill to payment: Luca Ferrari enrols his son Marco in
// a week of the demo's summer camp (tariff by the week, € 40,00 with his
// ISEE, shown before sending); the town runs `civico billing run` for the
// month; the enrolment's page shows the pagoPA notice and I miei pagamenti
// lists it; he pays it in the sandbox, with the keyboard, and comes back
// to the outcome. axe-core checks every page.
func TestSchoolBillPaidInTheSandbox(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)
	b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(b, d)
	r := newAxeRun(t, b, axeJS)

	b.open(d.TLS+schools.Path, 200)
	href := eval[string](b, `(() => { const a = [...document.querySelectorAll("main a")].find(a => a.textContent.includes("Centro estivo")); return a ? a.getAttribute("href") : ""; })()`)
	if href == "" {
		t.Fatal("no summer camp in the list")
	}
	action := href + "/iscrizione"
	b.open(d.TLS+action, 200)
	b.wantText("main h1", "Iscrizione: Centro estivo")
	b.wantText("main table", "40,00")
	unit := eval[string](b, `document.querySelector('main input[name="unit"]').value`)
	marco, err := cf.Make("Ferrari", "Marco", "M", time.Date(2017, time.March, 12, 0, 0, 0, 0, time.UTC), "C707")
	if err != nil {
		t.Fatal(err)
	}
	b.tick(action, "privacy", "1")
	b.tick(action, "unit", unit)
	b.fill(action, "child_given", "Marco")
	b.fill(action, "child_family", "Ferrari")
	b.fill(action, "child_fc", marco.String())
	b.fill(action, "school", "Primaria Garibaldi")
	b.fill(action, "class", "P3")
	b.fill(action, "isee", "6.500,00")
	press(b, "sending", `main form[action="`+action+`"] button[type="submit"]`)
	b.wantText("main .alert-success", "l'iscrizione è accolta")
	enrolment := b.path()

	month := time.Now().In(hours.Rome).Format("2006-01")
	cmd := exec.Command(civicoBin, "billing", "run", "--month", month)
	cmd.Dir = d.DataDir
	cmd.Env = append(environWithout("CIVICO_"), "CIVICO_DATA_DIR="+d.DataDir)
	out, err := cmd.CombinedOutput()
	// The demo's daily job may have billed it first: either way, once.
	if err != nil || !strings.Contains(string(out), month+": 1 bills, € 40,00") && !strings.Contains(string(out), "1 billed before") {
		t.Fatalf("civico billing run: %v\n%s", err, out)
	}
	t.Logf("civico billing run: %s", strings.TrimSpace(string(out)))

	b.open(d.TLS+enrolment, 200)
	b.wantText("main table", "€ 40,00")
	r.check("the enrolment with its payment notice")
	b.open(d.TLS+"/area-personale/pagamenti", 200)
	id := noticeRow(b, "Centro estivo", "Marco")
	b.step("ticking the camp's notice", chromedp.Focus(chromedp.CSS("#pay-"+id)), chromedp.KeyEvent(" "))
	if !eval[bool](b, `document.getElementById("pay-`+id+`").checked`) {
		t.Fatal("the space bar did not tick the camp's notice")
	}
	r.check("I miei pagamenti with the camp's notice")
	pressAndLoad(b, "paying the camp", `button[data-element="pay-selected"]`, 200)
	if !strings.Contains(b.location(), "/sandbox-pagamenti/paga/") {
		t.Fatalf("the checkout led to %s, want the sandbox's payment page", b.location())
	}
	b.wantText("main", "€\u00a040,00")
	pressAndLoad(b, "paying on the sandbox", `button[name="esito"][value="paid"]`, 200)
	if !strings.HasPrefix(b.location(), d.TLS+"/area-personale/pagamenti/esito/") {
		t.Fatalf("after the payment the page is %s", b.location())
	}
	b.wantText(`[data-outcome="paid"]`, "40,00")
	r.check("the camp paid")
	r.finish()
}
