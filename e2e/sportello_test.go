package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/mail/mailtest"
	"github.com/civico-pa/civico/internal/sportello"
)

// The demo's desk operator: a password and a one-time code.
const demoDeskEmail = "marco.galli@demo.civico.invalid"

// protocolNumber is a registry number as the receipt shows it.
var protocolNumber = regexp.MustCompile(`\d{4}/\d{7}`)

// The whole life of an application, in browsers, against the demo as it
// runs: the card holder Luca Ferrari gives his account a mail address
// (confirmed through the mailed link); he starts the resident parking
// permit, his phone number is saved by the page's autosave, his first
// answers by "Salva"; in a new browser session (another device) he finds
// the draft in his applications, with his answers, attaches the vehicle's
// registration and sends it: the receipt has the protocol number. The
// desk operator Marco Galli finds it in the queue to assign, takes it in
// charge and asks for an integration; Luca integrates with a document;
// the operator accepts, a reply document required (told beside its field,
// the motivation kept), and Luca downloads the reply. Each step mails him
// through the test's SMTP server, saying only the protocol number, the
// step and the link. axe-core checks the pages on the way.
func TestApplicationJourney(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)
	const mailbox = "luca.ferrari@example.org"
	const service = "permesso-sosta-residenti"

	// A mail address for the card account, confirmed from the mail.
	b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(b, d)
	r := newAxeRun(t, b, axeJS)
	b.open(d.TLS+"/profilo", 200)
	b.fill("/profilo/email", "new_email", mailbox)
	b.submit("asking to use "+mailbox, `main form[action="/profilo/email"] button[type="submit"]`, 200)
	link, err := linkIn(d.mailTo(t, mailbox).Text, d.Portal+"/profilo/email/conferma?token=")
	if err != nil {
		t.Fatal(err)
	}
	b.open(d.TLS+strings.TrimPrefix(link, d.Portal), 200)
	b.submit("confirming the address", `main form[action="/profilo/email/conferma"] button[type="submit"]`, 200)
	b.wantText("main", mailbox)
	mails := newMailbox(t, d, mailbox)

	// The privacy notice, then the applicant's data, saved by the page.
	start := sportello.StartPath(service)
	b.open(d.TLS+start, 200)
	r.check("the privacy notice")
	b.submit("starting without accepting the notice", `main form[action="`+start+`"] button[type="submit"]`, 422)
	wantErrorBeside(t, b, "f-privacy", "1")
	b.tick(start, "privacy", "1")
	b.submit("starting", `main form[action="`+start+`"] button[type="submit"]`, 200)
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(sportello.AreaPath) + `/([0-9a-f]{32})/richiedente$`).FindStringSubmatch(b.path())
	if m == nil {
		t.Fatalf("starting led to %s, want the applicant's step of a new draft", b.path())
	}
	id := m[1]
	app := sportello.AreaPath + "/" + id
	b.wantText("main", demoCardFiscalCode)
	r.check("the applicant's step")
	b.fill(app+"/richiedente", "phone", "+39 333 1234567")
	b.waitText("the autosave", `main form[action="`+app+`/richiedente"] [role="status"]`, "Bozza salvata alle")
	b.submit("going on to the form", `main form[action="`+app+`/richiedente"] button[value="next"]`, 200)

	// The form, half filled, saved with the button.
	form := app + "/modulo"
	if b.path() != form {
		t.Fatalf("the applicant's step led to %s, want %s", b.path(), form)
	}
	b.tick(form, "zona", "crocetta")
	b.fill(form, "targa", "AB123CD")
	b.tick(form, "disponibilita", "proprieta")
	b.submit("saving the draft", `main form[action="`+form+`"] button[value="save"]`, 200)
	b.wantText(`main .alert-success`, "Richiesta salvata con successo")
	r.check("the form, saved")
	r.finish()

	// Another device: a new browser, a new card login; the draft is in
	// the list, where it was left.
	b2 := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(b2, d)
	r2 := newAxeRun(t, b2, axeJS)
	b2.open(d.TLS+sportello.AreaPath, 200)
	b2.wantText("main table", "Bozza")
	r2.check("the resident's applications with a draft")
	clickAndLoad(b2, "resuming the draft", `main a[href="`+app+`"]`, 200)
	if b2.path() != app+"/richiedente" {
		t.Fatalf("the draft opens on %s, want its first step", b2.path())
	}
	if got := eval[string](b2, `document.getElementById("f-phone").value`); got != "+39 333 1234567" {
		t.Fatalf("the autosaved phone reads %q in the new session", got)
	}
	b2.submit("going on to the form", `main form[action="`+app+`/richiedente"] button[value="next"]`, 200)
	for _, want := range []struct{ id, value string }{{"f-targa", "AB123CD"}} {
		if got := eval[string](b2, `document.getElementById(`+strconv.Quote(want.id)+`).value`); got != want.value {
			t.Fatalf("%s reads %q in the new session, want %q", want.id, got, want.value)
		}
	}
	for _, checked := range []string{`input[name="zona"][value="crocetta"]`, `input[name="disponibilita"][value="proprieta"]`} {
		if !eval[bool](b2, `document.querySelector(`+strconv.Quote(`main form[action="`+form+`"] `+checked)+`).checked`) {
			t.Fatalf("%s is not chosen in the new session", checked)
		}
	}
	libretto := pdfFile(t, "libretto.pdf", "Libretto di circolazione AB123CD")
	b2.tick(form, "secondo", "no")
	b2.fill(form, "inizio", weekdayFrom(3).String())
	b2.upload(form, "libretto", libretto)
	b2.submit("going on to the summary", `main form[action="`+form+`"] button[value="next"]`, 200)
	if b2.path() != app+"/riepilogo" {
		t.Fatalf("the form led to %s, want the summary (%s)", b2.path(), b2.text("main"))
	}
	b2.wantText("main", "AB123CD")
	b2.wantText("main", "libretto.pdf")
	r2.check("the summary")
	b2.tick(app+"/invia", "confirm", "1")
	b2.submit("sending", `main form[action="`+app+`/invia"] button[type="submit"]`, 200)
	if b2.path() != app+"/ricevuta" {
		t.Fatalf("sending led to %s, want the receipt", b2.path())
	}
	b2.wantText("main h1", "Richiesta inviata")
	protocol := protocolNumber.FindString(b2.text("main"))
	if protocol == "" {
		t.Fatalf("the receipt shows no protocol number: %s", b2.text("main"))
	}
	r2.check("the receipt")
	mails.next("la domanda è stata ricevuta e protocollata", protocol, app)

	// The desk: the queue to assign, take in charge, ask for an
	// integration.
	op := newBrowser(t)
	email, password := demoLogin(t, d, demoDeskEmail)
	operatorLogin(op, d, email, password)
	ro := newAxeRun(t, op, axeJS)
	op.open(d.Portal+"/backoffice/pratiche?coda=da-assegnare", 200)
	op.wantText("main table", protocol)
	ro.check("the queue to assign")
	bo := "/backoffice/pratiche/" + id
	clickAndLoad(op, "opening the application", `main table a[href="`+bo+`"]`, 200)
	op.wantText("main", "AB123CD")
	ro.check("the office's page of the application")
	op.submit("taking it in charge", `main form[action="`+bo+`/presa-in-carico"] button`, 200)
	op.wantText("main .alert-success", "Pratica presa in carico.")
	mails.next("un ufficio l'ha presa in carico", protocol, app)

	op.open(d.Portal+bo, 200)
	op.step("opening the request for integration", chromedp.Click(`//main//details[.//form[@action="`+bo+`/integrazione"]]/summary`, chromedp.NodeVisible))
	op.fill(bo+"/integrazione", "note", "Il veicolo risulta intestato a due persone: allega il consenso del cointestatario.")
	op.fill(bo+"/integrazione", "days", "10")
	op.submit("asking for an integration", `main form[action="`+bo+`/integrazione"] button[type="submit"]`, 200)
	op.wantText("main .alert-success", "Integrazione chiesta")
	ro.check("the application awaiting its integration")
	mails.next("l'ufficio ti chiede un'integrazione", protocol, app)

	// The resident integrates, with a document.
	b2.open(d.TLS+app, 200)
	b2.wantText("main .alert-warning", "L'ufficio ha chiesto un'integrazione")
	b2.wantText("main", "consenso del cointestatario")
	r2.check("the application with a request for integration")
	b2.wantUniqueIDs()
	b2.submit("integrating with nothing", `main form[action="`+app+`/integrazione"] button[type="submit"]`, 422)
	b2.wantText("#f-integrate-note-error", "Scrivi la tua risposta o allega un documento")
	b2.fill(app+"/integrazione", "note", "Allego il consenso di mia moglie, cointestataria.")
	b2.upload(app+"/integrazione", "file", pdfFile(t, "consenso.pdf", "Consenso della cointestataria"))
	b2.submit("integrating", `main form[action="`+app+`/integrazione"] button[type="submit"]`, 200)
	b2.wantText("main .alert-success", "Integrazione inviata")
	mails.next("la tua integrazione è stata ricevuta", protocol, app)

	// The office accepts: without a reply document it is told beside the
	// file, the motivation kept; with it, the application is accepted.
	accept := bo + "/accoglimento"
	op.open(d.Portal+bo, 200)
	op.wantText("main", "Allego il consenso di mia moglie")
	op.step("opening the acceptance", chromedp.Click(`//main//details[.//form[@action="`+accept+`"]]/summary`, chromedp.NodeVisible))
	op.fill(accept, "note", "Requisiti verificati: permesso rilasciato per la zona Crocetta.")
	op.submit("accepting without a reply document", `main form[action="`+accept+`"] button[type="submit"]`, 422)
	op.wantText("#f-accept-file-error", "Allega il documento di risposta")
	if got := eval[string](op, `document.getElementById("f-accept-note").value`); !strings.Contains(got, "zona Crocetta") {
		t.Fatalf("the motivation was not kept: %q", got)
	}
	ro.check("the acceptance refused beside its file")
	reply := pdfFile(t, "permesso.pdf", "Permesso di sosta n. 42 zona Crocetta AB123CD")
	op.upload(accept, "file", reply)
	op.submit("accepting with the permit", `main form[action="`+accept+`"] button[type="submit"]`, 200)
	op.wantText("main .alert-success", "Domanda accolta")
	ro.check("the accepted application")
	ro.finish()
	mails.next("la domanda è stata accolta", protocol, app)

	// The resident reads the outcome and downloads the permit.
	b2.open(d.TLS+app, 200)
	b2.wantText("main dl", "Accolta")
	r2.check("the accepted application")
	r2.finish()
	href := eval[string](b2, `(() => { const a = [...document.querySelectorAll('main a[href*="/documenti/"]')].find(a => a.textContent.trim() === "permesso.pdf");
		return a ? a.getAttribute("href") : ""; })()`)
	if href == "" {
		t.Fatal("the accepted application lists no permesso.pdf")
	}
	got := downloadPDF(t, b2, "the reply", `main a[href="`+href+`"]`)
	want, err := os.ReadFile(reply)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.data) != string(want) {
		t.Fatalf("the reply downloaded (%d bytes) is not the one the office attached (%d bytes)", len(got.data), len(want))
	}
	mails.none()
}

// pdfFile writes a small real PDF showing text into a file of the test.
func pdfFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, attachmentstest.PDF(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// upload chooses the file at path in the file input named name of the
// form at action, as the file dialog would.
func (b *browser) upload(action, name, path string) {
	b.t.Helper()
	b.step("attaching "+filepath.Base(path), chromedp.SetUploadFiles(chromedp.CSS(`main form[action="`+action+`"] input[type="file"][name="`+name+`"]`), []string{path}))
}

// wantUniqueIDs fails the test when two elements of the page share an id
// (a label, an error or aria-describedby would name the wrong one).
func (b *browser) wantUniqueIDs() {
	b.t.Helper()
	if dup := eval[[]string](b, `(() => { const seen = new Set(), dup = [];
		document.querySelectorAll("[id]").forEach(e => { if (seen.has(e.id)) dup.push(e.id); seen.add(e.id); }); return dup; })()`); len(dup) > 0 {
		b.t.Fatalf("%s: ids used twice: %v", b.location(), dup)
	}
}

// waitText waits until the element's text contains want: what a script
// writes in its own time (the autosave's note).
func (b *browser) waitText(what, css, want string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	expr := `(() => { const e = document.querySelector(` + strconv.Quote(css) + `); return !!e && e.textContent.includes(` + strconv.Quote(want) + `); })()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout))); err != nil {
		b.t.Fatalf("%s: %s says %q, not %q, after %v: %v", what, css, eval[string](b, `(document.querySelector(`+strconv.Quote(css)+`) || {}).textContent || ""`), want, stepTimeout, err)
	}
}

// residentMail follows the Sportello's mails to one address: each step
// of the journey must bring exactly one more.
type residentMail struct {
	t    *testing.T
	d    *demo
	addr string
	seen int
}

func newMailbox(t *testing.T, d *demo, addr string) *residentMail {
	return &residentMail{t: t, d: d, addr: addr, seen: len(sportelloMails(d, addr))}
}

// sportelloMail is in the subject of every mail of the Sportello about an
// application (other features write to the same address: the payment
// notices of the demo's card holder).
const sportelloMail = "Aggiornamento della tua pratica "

// sportelloMails are the Sportello's mails to addr.
func sportelloMails(d *demo, addr string) []mailtest.Received {
	var out []mailtest.Received
	for _, m := range d.Mail.Messages() {
		if slices.Contains(m.To, addr) && strings.HasPrefix(m.Subject, sportelloMail) {
			out = append(out, m)
		}
	}
	return out
}

// next waits for the next mail, which must say what happened, with the
// protocol number and the link to the application, and nothing of what
// was asked (the plate).
func (mb *residentMail) next(what, protocol, app string) {
	t := mb.t
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		got := sportelloMails(mb.d, mb.addr)
		if len(got) > mb.seen {
			m := got[mb.seen]
			mb.seen++
			if !strings.Contains(m.Text, what) || !strings.Contains(m.Subject, protocol) || !strings.Contains(m.Text, mb.d.Portal+app) {
				t.Fatalf("the mail after this step says %q\n%s\nwant %q, %s and the link %s", m.Subject, m.Text, what, protocol, mb.d.Portal+app)
			}
			if strings.Contains(m.Text, "AB123CD") {
				t.Fatalf("the mail tells what was asked:\n%s", m.Text)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s saying %q within %v (%d so far)", mb.addr, what, stepTimeout, len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// none checks that no mail came beyond those expected.
func (mb *residentMail) none() {
	mb.t.Helper()
	if got := sportelloMails(mb.d, mb.addr); len(got) != mb.seen {
		mb.t.Fatalf("%d mails to %s, want %d: the last says %q", len(got), mb.addr, mb.seen, got[len(got)-1].Text)
	}
}

// A parent acts for his daughter: the desk operator records, in the
// browser, that the demo's card holder Luca Ferrari holds parental
// responsibility for Sofia (her birth deed and her document attached),
// for the school canteen only; Luca, with his card, is offered on the
// canteen's privacy step to apply for her, and every step of the draft
// says who acts for whom. axe-core checks the desk's page (with its error
// and with the delegation listed) and the delegate's.
func TestDelegatedApplication(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)
	const service = "iscrizione-mensa-scolastica"
	sofia, err := cf.Make("Ferrari", "Sofia", "F", time.Date(2012, time.September, 5, 0, 0, 0, 0, time.UTC), "C707")
	if err != nil {
		t.Fatal(err)
	}

	op := newBrowser(t)
	email, password := demoLogin(t, d, demoDeskEmail)
	operatorLogin(op, d, email, password)
	ro := newAxeRun(t, op, axeJS)
	const dg = "/backoffice/deleghe"
	op.open(d.Portal+dg, 200)
	op.wantText("main h1", "Deleghe")
	ro.check("the desk's delegations")
	op.fill(dg, "holder_fiscal_code", sofia.String())
	op.fill(dg, "holder_given_name", "Sofia")
	op.fill(dg, "holder_family_name", "Ferrari")
	op.fill(dg, "delegate_fiscal_code", demoCardFiscalCode)
	op.tick(dg, "basis", "parent")
	op.tick(dg, "services", service)
	op.fill(dg, "valid_until", weekdayFrom(200).String())
	op.upload(dg, "form", pdfFile(t, "atto-di-nascita.pdf", "Estratto dell'atto di nascita di Sofia Ferrari"))
	op.submit("recording without the child's document", `main form[action="`+dg+`"] button[type="submit"]`, 422)
	op.wantText("#f-dg-document-error", "Allega il documento")
	if got := eval[string](op, `document.getElementById("f-dg-holder_given_name").value`); got != "Sofia" {
		t.Fatalf("the name typed was not kept: %q", got)
	}
	ro.check("the delegation refused beside its file")
	op.upload(dg, "form", pdfFile(t, "atto-di-nascita.pdf", "Estratto dell'atto di nascita di Sofia Ferrari"))
	op.upload(dg, "document", pdfFile(t, "documento-sofia.pdf", "Carta d'identita di Sofia Ferrari"))
	op.submit("recording the delegation", `main form[action="`+dg+`"] button[type="submit"]`, 200)
	op.wantText("main .alert-success", "Delega registrata.")
	op.wantText("main table", sofia.String())
	ro.check("the delegation listed")
	ro.finish()

	b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(b, d)
	r := newAxeRun(t, b, axeJS)
	start := sportello.StartPath(service)
	b.open(d.TLS+start, 200)
	b.wantText("main fieldset", "Per conto di Sofia Ferrari")
	r.check("the privacy step with the choice of whom to apply for")
	id := eval[string](b, `(() => { const l = [...document.querySelectorAll("main label")].find(l => l.textContent.includes("Sofia Ferrari"));
		return l ? document.getElementById(l.htmlFor).value : ""; })()`)
	b.tick(start, "for", id)
	b.tick(start, "privacy", "1")
	b.submit("starting for Sofia", `main form[action="`+start+`"] button[type="submit"]`, 200)
	b.wantText(`main [data-element="acting"]`, "Presentata da "+demoCardName+" (codice fiscale "+demoCardFiscalCode+") per conto di Sofia Ferrari")
	b.wantText("main", sofia.String())
	r.check("the applicant's step of Sofia's application")
	r.finish()
}
