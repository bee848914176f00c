package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
)

// The back office's journeys: what a town needs to run the portal alone.

// operatorLogin logs b in as an operator with a password and the code of
// an authenticator app, enrolling it when the page asks to (the secret
// read from the page, as the app would from the QR code).
func operatorLogin(b *browser, d *demo, email, password string) {
	t := b.t
	t.Helper()
	passwordLogin(b, d.Portal, email, password, 200)
	b.wantText("main h1", "Codice di verifica")
	secret := b.text(`main form[action="/accedi/codice"] code.fs-5`)
	code, err := identity.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatalf("the enrolment page's secret %q: %v", secret, err)
	}
	b.step("typing the one-time code", chromedp.SendKeys(chromedp.CSS("#f-code"), code))
	b.submit("sending the one-time code", `main form[action="/accedi/codice"] button[type="submit"]`, 200)
}

// fill puts value into the field named name of the form at action: typed
// into a text field, set as a picker would for a date, a time or a list.
func (b *browser) fill(action, name, value string) {
	b.t.Helper()
	sel := `main form[action="` + action + `"] [name="` + name + `"]`
	switch typ := eval[string](b, `(() => { const f = document.querySelector(`+strconv.Quote(sel)+`); return f ? (f.type || f.tagName) : ""; })()`); typ {
	case "":
		b.t.Fatalf("no field %s in the form %s on %s", name, action, b.location())
	case "date", "time", "select-one":
		eval[bool](b, `(() => { const f = document.querySelector(`+strconv.Quote(sel)+`); f.value = `+strconv.Quote(value)+`;
			f.dispatchEvent(new Event("input", {bubbles: true})); f.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)
		if got := eval[string](b, `document.querySelector(`+strconv.Quote(sel)+`).value`); got != value {
			b.t.Fatalf("%s holds %q after choosing %q", name, got, value)
		}
	default:
		// Emptied first (chromedp.Clear fails on an empty text area), then typed.
		eval[bool](b, `(() => { document.querySelector(`+strconv.Quote(sel)+`).value = ""; return true; })()`)
		b.step("typing "+name, chromedp.SendKeys(chromedp.CSS(sel), value))
	}
}

// tick clicks the box (or round button) of the choice value of the field
// named name, by its label.
func (b *browser) tick(action, name, value string) {
	b.t.Helper()
	id := eval[string](b, `(() => { const f = document.querySelector(`+strconv.Quote(`main form[action="`+action+`"] input[name="`+name+`"][value="`+value+`"]`)+`);
		return f ? f.id : ""; })()`)
	if id == "" {
		b.t.Fatalf("no choice %s=%s in the form %s", name, value, action)
	}
	b.clickBox("choosing "+name+" "+value, `label[for="`+id+`"]`)
	if !eval[bool](b, `document.getElementById(`+strconv.Quote(id)+`).checked`) {
		b.t.Fatalf("clicking the label of %s=%s did not choose it", name, value)
	}
}

// submit clicks the button css of a long form and waits for the page it
// leads to: scrolled to first, and clicked once the (smooth) scrolling has
// ended, or the press and the release land on different places.
func (b *browser) submit(what, css string, wantStatus int64) {
	b.t.Helper()
	b.step(what+": scrolling to the button", chromedp.ScrollIntoView(chromedp.CSS(css), chromedp.NodeVisible))
	evalAsync[bool](b, `(async () => { const sleep = ms => new Promise(r => setTimeout(r, ms));
		for (let i = 0, y = -1; i < 40 && y !== scrollY; i++) { y = scrollY; await sleep(50); } return true; })()`)
	clickAndLoad(b, what, chromedp.CSS(css), wantStatus)
}

// fetch reads a page or feed of the demo outside the browser.
func fetch(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u) // #nosec G107 -- the demo's own address
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, res.StatusCode)
	}
	return string(body)
}

// weekdayFrom is the first Monday-to-Friday day at least n days after
// today, in Rome, that is not 24 December.
func weekdayFrom(n int) hours.Date {
	d := hours.DateOf(time.Now()).AddDays(n)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || (d.Month == time.December && d.Day == 24) {
		d = d.AddDays(1)
	}
	return d
}

// An administrator creates an office with a summer timetable, a Christmas
// Eve opening and a closure for stocktaking, and a service handled there;
// both appear on the portal, in the finder and in the office's calendar
// feed. Every back-office page on the way passes axe-core.
func TestBackOfficeCreatesOfficeAndService(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	r := newAxeRun(t, b, loadAxe(t))
	email, password := demoLogin(t, d, demoOperatorEmail)
	operatorLogin(b, d, email, password)

	today := hours.DateOf(time.Now())
	summer := hours.Date{Year: today.Year, Month: time.July, Day: 1}
	if !today.Before(summer) {
		summer.Year++
	}
	summerEnd := hours.Date{Year: summer.Year, Month: time.August, Day: 31}
	eve := hours.Date{Year: today.Year, Month: time.December, Day: 24}
	if eve.Before(today) {
		eve.Year++
	}
	stocktaking := weekdayFrom(6)
	const (
		officeForm = "/backoffice/uffici/nuovo"
		office     = "sportello-di-quartiere-crocetta"
		officeName = "Sportello di quartiere Crocetta"
	)

	b.open(d.Portal+"/backoffice", 200)
	clickAndLoad(b, "opening the catalogue", `//main//a[@href="/backoffice/catalogo"]`, 200)
	r.check("the catalogue's back office")
	b.open(d.Portal+officeForm, 200)
	r.check("the new office form")

	// A postcode of letters first: the error beside it, nothing lost.
	fields := [][2]string{{"name", officeName}, {"description", "Certificati, carta d'identità e informazioni vicino a casa, anche il giovedì sera."},
		{"address", "Via Crocetta 12"}, {"postal_code", "ABCDE"}, {"phone", "02 6602 1234"}, {"email", "crocetta@comune.example.it"},
		{"lat", "45.5512"}, {"lon", "9.2301"}, {"accessibility", "Ingresso senza gradini."},
		{"hours.week.monday", "08:30-12:30"}, {"hours.week.tuesday", "08:30-12:30"}, {"hours.week.wednesday", "08:30-12:30"},
		{"hours.week.thursday", "08:30-12:30, 17:00-20:00"}, {"hours.week.friday", "08:30-12:30"},
		{"hours.periods[0].from", summer.String()}, {"hours.periods[0].to", summerEnd.String()},
		{"hours.periods[0].week.monday", "09:00-12:00"}, {"hours.periods[0].week.tuesday", "09:00-12:00"}, {"hours.periods[0].week.wednesday", "09:00-12:00"},
		{"hours.periods[0].week.thursday", "09:00-12:00"}, {"hours.periods[0].week.friday", "09:00-12:00"},
		{"hours.exceptions[0].date", eve.String()}, {"hours.exceptions[0].kind", "open"}, {"hours.exceptions[0].hours", "09:00-11:30"},
		{"hours.exceptions[0].note", "Vigilia di Natale"},
		{"hours.exceptions[1].date", stocktaking.String()}, {"hours.exceptions[1].kind", "closed"}, {"hours.exceptions[1].note", "Inventario"}}
	for _, f := range fields {
		if strings.HasSuffix(f[0], ".kind") {
			if eval[string](b, `document.querySelector('main form [name="`+f[0]+`"]').tagName`) != "SELECT" {
				b.tick(officeForm, f[0], f[1])
				continue
			}
		}
		b.fill(officeForm, f[0], f[1])
	}
	b.submit("creating the office with a wrong postcode", `main form button[name="action"][value="save"]`, 422)
	b.wantText("#f-postal-code-error", "Il CAP è di 5 cifre")
	wantErrorBeside(t, b, "f-postal-code", "ABCDE")
	if got := eval[string](b, `document.querySelector('[name="hours.exceptions[0].note"]').value`); got != "Vigilia di Natale" {
		t.Errorf("after the error the Christmas Eve note holds %q", got)
	}
	r.check("the office form with an error")
	b.fill(officeForm, "postal_code", "20092")
	b.submit("creating the office", `main form button[name="action"][value="save"]`, 200)
	if p := b.path(); p != "/backoffice/uffici/"+office+"?creato=1" {
		t.Fatalf("after creating the office the page is %s", p)
	}
	r.check("the office just created")

	const serviceForm = "/backoffice/servizi/nuovo"
	service := "ritiro-dei-sacchi-per-la-raccolta-differenziata"
	serviceTitle := "Ritiro dei sacchi per la raccolta differenziata"
	b.open(d.Portal+serviceForm, 200)
	r.check("the new service form")
	for _, f := range [][2]string{{"title", serviceTitle}, {"en.title", "Collecting bags for recycling"}, {"category", "ambiente"},
		{"summary", "I sacchi gialli e il mastello dell'umido per chi risiede in città, gratis, allo sportello di quartiere."},
		{"audience", "A chi risiede in città e paga la TARI."}, {"how_to", "Vai allo sportello con la tessera sanitaria."},
		{"needed", "La tessera sanitaria dell'intestatario della TARI."}, {"outcome", "Un rotolo di sacchi gialli ogni sei mesi."},
		{"deadlines", "Subito, allo sportello."}, {"max_days", "0"}, {"conditions", "Un ritiro ogni sei mesi per famiglia."}} {
		b.fill(serviceForm, f[0], f[1])
	}
	b.tick(serviceForm, "status", "active")
	b.tick(serviceForm, "channel", "desk")
	b.tick(serviceForm, "offices", office)
	b.tick(serviceForm, "topics", "gestione-rifiuti")
	b.submit("creating the service", `main form[action="`+serviceForm+`"] button[type="submit"]`, 200)
	if p := b.path(); p != "/backoffice/servizi/"+service+"?creato=1" {
		t.Fatalf("after creating the service the page is %s", p)
	}
	r.check("the service just created")

	// The portal: the office with its service and its closure in the
	// coming days; the service with its office.
	b.open(d.Portal+"/amministrazione/uffici/"+office, 200)
	b.wantText("main h1", officeName)
	b.wantText("main", "Inventario")
	clickAndLoad(b, "opening the office's service", `//main//a[@href="/servizi/ambiente/`+service+`"]`, 200)
	b.wantText(`[data-element="service-title"]`, serviceTitle)
	if n := eval[int](b, `document.querySelectorAll('main a[href="/amministrazione/uffici/`+office+`"]').length`); n == 0 {
		t.Error("the service page does not lead to its office")
	}

	// The finder: open on an ordinary weekday at 08:30, not on a summer
	// one (the summer timetable opens at 9); open on Christmas Eve
	// morning, closed there at noon; closed on the stocktaking day.
	ordinary := weekdayFrom(1)
	if ordinary == stocktaking {
		ordinary = weekdayFrom(2)
	}
	summerDay := summer
	for summerDay.Weekday() == time.Saturday || summerDay.Weekday() == time.Sunday {
		summerDay = summerDay.AddDays(1)
	}
	for _, c := range []struct {
		day      hours.Date
		from, to string
		open     bool
	}{
		{ordinary, "08:30", "09:00", true}, {summerDay, "08:30", "09:00", false}, {summerDay, "09:00", "10:00", true},
		{eve, "09:00", "11:00", true}, {eve, "12:00", "12:30", false}, {stocktaking, "09:00", "10:00", false},
	} {
		q := url.Values{"quando": {"libero"}, "giorno": {c.day.String()}, "dalle": {c.from}, "alle": {c.to}}
		b.open(d.Portal+"/dove-e-quando?"+q.Encode(), 200)
		results := `document.querySelector("#finder-results").parentElement`
		listed := eval[bool](b, results+`.querySelector('a[href="/amministrazione/uffici/`+office+`"]') !== null`)
		if listed != c.open {
			t.Errorf("the finder on %s %s-%s lists the office: %v, want %v", c.day, c.from, c.to, listed, c.open)
		}
		if service := eval[bool](b, results+`.innerText.includes(`+strconv.Quote(serviceTitle)+`)`); c.open && !service {
			t.Errorf("the finder on %s %s-%s does not list the service", c.day, c.from, c.to)
		}
	}
	r.check("the finder")

	// The calendar feed (the next 60 days): an opening at 08:30 on an
	// ordinary weekday, none on the stocktaking day, the Christmas Eve
	// morning when it is within the feed's days.
	feed := fetch(t, d.Portal+"/offices/"+office+"/hours.ics")
	starts := regexp.MustCompile(`DTSTART:(\d{8}T\d{6}Z)`).FindAllStringSubmatch(feed, -1)
	startsOn := func(day hours.Date, clock hours.Clock) bool {
		want := day.At(clock).UTC().Format("20060102T150405Z")
		for _, s := range starts {
			if s[1] == want {
				return true
			}
		}
		return false
	}
	dayIn := func(day hours.Date) bool {
		for _, s := range starts {
			if strings.HasPrefix(s[1], day.At(12*60).UTC().Format("20060102")) {
				return true
			}
		}
		return false
	}
	if !startsOn(ordinary, 8*60+30) {
		t.Errorf("the feed has no opening at 08:30 on %s:\n%s", ordinary, feed)
	}
	if dayIn(stocktaking) {
		t.Errorf("the feed opens the office on the stocktaking day %s", stocktaking)
	}
	if time.Until(eve.At(0)) < 59*24*time.Hour && !startsOn(eve, 9*60) {
		t.Errorf("the feed has no Christmas Eve opening at 09:00 on %s", eve)
	}
	r.finish()
}

// An administrator adds an operator from the web (a mistake first); the
// operator logs in with the password shown once, enrols an authenticator,
// must choose a password of their own, and reaches the back office. Every
// page on the way passes axe-core.
func TestOperatorAddedFromTheWeb(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	admin := newBrowser(t)
	r := newAxeRun(t, admin, loadAxe(t))
	email, password := demoLogin(t, d, demoOperatorEmail)
	operatorLogin(admin, d, email, password)
	const form = "/backoffice/operatori/nuovo"

	admin.open(d.Portal+"/backoffice/operatori", 200)
	r.check("the operators and their roles")
	clickAndLoad(admin, "adding an operator", `//main//a[@href="/backoffice/operatori/nuovo"]`, 200)
	r.check("the new operator form")
	admin.fill(form, "email", "anna.neri@")
	admin.fill(form, "given_name", "Anna")
	admin.fill(form, "family_name", "Neri")
	admin.submit("adding an operator without roles and with a wrong address", `main form button[type="submit"]`, 422)
	admin.wantText("#f-email-error", "Scrivi un indirizzo email valido")
	wantErrorBeside(t, admin, "f-email", "anna.neri@")
	admin.wantText("#f-role-error", "Ruolo sconosciuto")
	r.check("the new operator form with errors")
	admin.fill(form, "email", "anna.neri@comune.example.it")
	admin.tick(form, "role", "urp")
	admin.submit("adding the operator", `main form button[type="submit"]`, 200)
	initial := admin.text(`main [data-element="initial-password"]`)
	if len(initial) != 20 {
		t.Fatalf("the initial password shown is %q", initial)
	}
	r.check("the initial password, shown once")
	clickAndLoad(admin, "opening the operator's page", `//main//a[starts-with(@href, "/backoffice/operatori/")]`, 200)
	admin.wantText("main h1", "anna.neri@comune.example.it")
	r.check("an operator's page")

	op := newBrowser(t)
	rOp := newAxeRun(t, op, loadAxe(t))
	operatorLogin(op, d, "anna.neri@comune.example.it", initial)
	if p := op.path(); p != "/profilo/password?next=%2F" {
		t.Fatalf("after the first login the page is %s, want the password change", p)
	}
	op.wantText("main .lead", "La tua password è stata scelta da un amministratore")
	rOp.check("the first password change")
	op.open(d.Portal+"/backoffice", 200)
	if p := op.path(); p != "/profilo/password?next=%2Fbackoffice" {
		t.Fatalf("the back office before the change shows %s", p)
	}
	own := "Biblioteca-di-Sesto-2026"
	op.fill("/profilo/password", "current", initial)
	op.fill("/profilo/password", "password", own)
	op.fill("/profilo/password", "password2", own+"!")
	op.submit("two different new passwords", `main form[action="/profilo/password"] button[type="submit"]`, 422)
	op.wantText("#f-password2-error", "Le due password non coincidono")
	wantErrorBeside(t, op, "f-password2", "")
	rOp.check("the password change with an error")
	op.fill("/profilo/password", "current", initial)
	op.fill("/profilo/password", "password", own)
	op.fill("/profilo/password", "password2", own)
	op.submit("choosing her own password", `main form[action="/profilo/password"] button[type="submit"]`, 200)
	if p := op.path(); p != "/backoffice" {
		t.Fatalf("after choosing her password the page is %s, want the back office", p)
	}
	if n := eval[int](op, `document.querySelectorAll('main a[href="/backoffice/notizie"]').length`); n != 1 {
		t.Error("the back office does not open the news to an urp operator")
	}
	rOp.check("the back office of a new operator")

	// Logged out and in again with her own password: straight in.
	clickAndLoad(op, "opening the personal area", `//header//a[@data-element="personal-area-login"]`, 200)
	clickAndLoad(op, "logging out", `//main//form[@action="/esci"]//button`, 200)
	passwordLogin(op, d.Portal, "anna.neri@comune.example.it", own, 200)
	op.wantText("main h1", "Codice di verifica")
	r.finish()
	rOp.finish()
}
