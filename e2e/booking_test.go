package e2e

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/mail/mailtest"
)

// mailAbout waits for the demo's mail to addr whose subject holds subject.
func (d *demo) mailAbout(t *testing.T, addr, subject string) mailtest.Received {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var seen []string
		for _, m := range d.Mail.Messages() {
			if slices.Contains(m.To, addr) {
				if strings.Contains(m.Subject, subject) {
					return m
				}
				seen = append(seen, m.Subject)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s about %q within 30 s; it got: %q", addr, subject, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// appointmentCode is the booking code (AP-XXXXXXXX) the page shows.
var appointmentCode = regexp.MustCompile(`AP-[A-Z2-9]{8}`)

// wantICS checks the mail's calendar file (one event, the booking's, at
// start) and its QR code of the booking's code.
func wantICS(t *testing.T, m mailtest.Received, code string, start time.Time) {
	t.Helper()
	var ics string
	for _, a := range m.Attachments {
		if strings.HasPrefix(a.MediaType, "text/calendar") {
			if a.Name != "appuntamento.ics" || ics != "" {
				t.Errorf("the mail %q carries a calendar file %q (or two)", m.Subject, a.Name)
			}
			ics = string(a.Content)
		}
	}
	if ics == "" {
		t.Fatalf("the mail %q has no calendar file: %+v", m.Subject, m.Attachments)
	}
	// The code as a QR code too, the booking page's, and in the text.
	qr, err := booking.CodePNG(code)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(m.Attachments, func(a mailtest.Attachment) bool { return a.Name == booking.QRFile }); i < 0 ||
		m.Attachments[i].MediaType != "image/png" || !bytes.Equal(m.Attachments[i].Content, qr) || !strings.Contains(m.Text, code) {
		t.Errorf("the mail %q lacks the code's QR code or the code", m.Subject)
	}
	for _, want := range []string{"BEGIN:VEVENT\r\n", "Codice " + code, "DTSTART:" + start.UTC().Format("20060102T150405Z") + "\r\n", "STATUS:CONFIRMED"} {
		if !strings.Contains(ics, want) {
			t.Errorf("the calendar file of %q lacks %q:\n%s", m.Subject, want, ics)
		}
	}
}

// chosenSlot is the start of the slot ticked on the time step.
func chosenSlot(b *browser, id string) time.Time {
	b.t.Helper()
	v := eval[string](b, `document.getElementById(`+strconv.Quote(id)+`).value`)
	unix, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		b.t.Fatalf("the slot %s holds %q", id, v)
	}
	return time.Unix(unix, 0)
}

// The demo's resident Mario Rossi books an identity card appointment from
// the service's booking page: the registry office, the service already
// chosen (the page says why it comes before the time), the first free
// time, his details prefilled, the summary, the confirmation with the code
// and its QR code. The mail brings the code and the .ics at that time. He
// moves it to another time (the old one is cancelled, a new mail with its
// .ics) and cancels it from the personal area (a mail says so). axe-core
// checks each step.
func TestBookMoveAndCancelAnAppointment(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	r := newAxeRun(t, b, loadAxe(t))
	email, password := demoLogin(t, d, demoResidentEmail)
	passwordLogin(b, d.Portal, email, password, 200)
	const (
		service = "carta-identita-elettronica"
		office  = "anagrafe"
		start   = "/prenota-appuntamento"
	)

	b.open(d.Portal+start+"?servizio="+service, 200)
	r.check("the booking's place")
	b.tick(start+"/motivo", "ufficio", office)
	b.submit("choosing the registry office", `main form[action="`+start+`/motivo"] button[type="submit"]`, 200)
	b.wantText("main", "La durata dell'appuntamento dipende dal motivo")
	if !eval[bool](b, `document.querySelector('main form[action="`+start+`/orario"] input[name="servizio"][value="`+service+`"]').checked`) {
		t.Error("the service the booking started from is not chosen")
	}
	r.check("the booking's reason")
	b.submit("the reason", `main form[action="`+start+`/orario"] button[type="submit"]`, 200)
	r.check("the booking's time")
	first := chosenSlot(b, "f-slot-0")
	b.tick(start+"/richiedente", "inizio", strconv.FormatInt(first.Unix(), 10))
	b.submit("the first free time", `main form[action="`+start+`/richiedente"] button[type="submit"]`, 200)
	if got := eval[string](b, `document.getElementById("f-email") ? document.getElementById("f-email").value : document.querySelector("main").textContent`); !strings.Contains(got, email) {
		t.Errorf("the applicant's step does not hold his address: %q", shorten(got, 200))
	}
	r.check("the booking's applicant")
	b.fill(start+"/riepilogo", "notes", "Rinnovo per scadenza")
	b.submit("the applicant's details", `main form[action="`+start+`/riepilogo"] button[type="submit"]`, 200)
	b.wantText("main", "Rinnovo per scadenza")
	r.check("the booking's summary")
	b.submit("booking", `main form[action="`+start+`/conferma"] button[type="submit"]`, 200)
	if p := b.path(); !strings.HasSuffix(p, "?prenotato=1") || !strings.HasPrefix(p, "/area-personale/appuntamenti/") {
		t.Fatalf("after booking the page is %s", p)
	}
	b.wantText(`main .alert-success[role="status"]`, "Appuntamento confermato")
	code := appointmentCode.FindString(b.text("main h1"))
	if code == "" {
		t.Fatalf("the confirmation has no code: %q", b.text("main h1"))
	}
	if n := eval[int](b, `document.querySelectorAll("main svg").length`); n == 0 {
		t.Error("the confirmation shows no QR code of the booking's code")
	}
	r.check("the booking's confirmation")

	booked := d.mailAbout(t, email, "Appuntamento confermato "+code)
	wantICS(t, booked, code, first)
	if !strings.Contains(booked.Text, "Codice: "+code) || !strings.Contains(booked.Text, first.In(hours.Rome).Format("02/01/2006")) {
		t.Errorf("the confirmation mail lacks the code or the day:\n%s", booked.Text)
	}

	// Moving it: the detail's link leads to the times, the booking to
	// replace kept along; another time, and the old one goes.
	clickAndLoad(b, "moving the appointment", `//main//a[normalize-space(.)="Sposta l'appuntamento"]`, 200)
	b.wantText("main", "Stai spostando l'appuntamento")
	second := chosenSlot(b, "f-slot-1")
	b.tick(start+"/richiedente", "inizio", strconv.FormatInt(second.Unix(), 10))
	b.submit("another time", `main form[action="`+start+`/richiedente"] button[type="submit"]`, 200)
	b.submit("the details again", `main form[action="`+start+`/riepilogo"] button[type="submit"]`, 200)
	r.check("the summary of a move")
	b.submit("moving", `main form[action="`+start+`/conferma"] button[type="submit"]`, 200)
	if p := b.path(); !strings.HasSuffix(p, "?spostato=1") {
		t.Fatalf("after moving the page is %s", p)
	}
	b.wantText(`main .alert-success[role="status"]`, "L'appuntamento è stato spostato")
	moved := appointmentCode.FindString(b.text("main h1"))
	if moved == "" || moved == code {
		t.Fatalf("the moved appointment's code is %q (was %s)", moved, code)
	}
	d.mailAbout(t, email, "Appuntamento annullato "+code)
	wantICS(t, d.mailAbout(t, email, "Appuntamento confermato "+moved), moved, second)

	// Cancelling it from its page; the list shows both, cancelled.
	b.submit("cancelling", `main form[action$="/annulla"] button[type="submit"]`, 200)
	b.wantText(`main .alert-success[role="status"]`, "L'appuntamento è stato annullato")
	if n := eval[int](b, `document.querySelectorAll('main form[action$="/annulla"]').length`); n != 0 {
		t.Error("a cancelled appointment still offers to cancel it")
	}
	r.check("a cancelled appointment")
	d.mailAbout(t, email, "Appuntamento annullato "+moved)
	b.open(d.Portal+"/area-personale/appuntamenti", 200)
	b.wantText("main", code)
	b.wantText("main", moved)
	r.check("the resident's appointments")
	r.finish()
}

// openToday has an operator open the office all of today (an exception of
// its hours, from the back office): the queue gives tickets only while
// the office is open, and the journey runs at any hour.
func openToday(t *testing.T, op *browser, d *demo, office string) {
	t.Helper()
	form := "/backoffice/uffici/" + office
	op.open(d.Portal+form, 200)
	i := eval[int](op, `(() => { for (let i = 0; ; i++) { const f = document.querySelector('main [name="hours.exceptions[' + i + '].date"]');
		if (!f) return -1; if (f.value === "") return i; } })()`)
	if i < 0 {
		t.Fatalf("the office form has no empty exception row")
	}
	p := "hours.exceptions[" + strconv.Itoa(i) + "]."
	op.fill(form, p+"date", hours.DateOf(time.Now()).String())
	if eval[string](op, `document.querySelector('main form [name="`+p+`kind"]').tagName`) == "SELECT" {
		op.fill(form, p+"kind", "open")
	} else {
		op.tick(form, p+"kind", "open")
	}
	op.fill(form, p+"hours", "00:00-24:00")
	op.fill(form, p+"note", "Apertura straordinaria")
	op.submit("opening the office all day", `main form button[name="action"][value="save"]`, 200)
}

// A walk-in takes a number online at the registry office and is called
// on the waiting-room display, with JavaScript (the display follows the
// calls live) and without it (the refresh link): the operator calls the
// next number to a counter from the back office; the ticket's page says
// where to go.
func TestQueueTicketCalledOnTheDisplay(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	const office = "anagrafe"
	op := newBrowser(t)
	email, password := demoLogin(t, d, demoOperatorEmail)
	operatorLogin(op, d, email, password)
	openToday(t, op, d, office)
	console := "/backoffice/appuntamenti/coda/" + office
	call := func(counter string) {
		t.Helper()
		op.open(d.Portal+console, 200)
		op.fill(console+"/chiama", "counter", counter)
		op.submit("calling the next number to "+counter, `main form[action="`+console+`/chiama"] button[type="submit"]`, 200)
	}
	take := func(b *browser) (label, page string) {
		t.Helper()
		b.open(d.Portal+"/coda/uffici/"+office, 200)
		b.wantText("main", "Prendi il numero")
		clickAndLoad(b, "taking a number", chromedp.CSS(`main form[action="/coda/uffici/`+office+`/biglietto"] button[type="submit"]`), 200)
		m := regexp.MustCompile(`Il tuo numero: ([A-Z]\d{3})`).FindStringSubmatch(b.text("main h1"))
		if m == nil || !strings.HasPrefix(b.path(), "/coda/biglietti/") {
			t.Fatalf("after taking a number: %s, %q", b.path(), b.text("main h1"))
		}
		b.wantText("[data-queue-text]", "Persone prima di te: 0")
		return m[1], b.location()
	}

	t.Run("with JavaScript", func(t *testing.T) {
		b := newBrowser(t)
		r := newAxeRun(t, b, loadAxe(t))
		label, ticket := take(b)
		r.check("a ticket")
		b.open(d.Portal+"/coda/uffici/"+office+"/schermo", 200)
		r.check("the display")
		// Wait for the live connection: its first event is the state shown.
		evalAsync[bool](b, `new Promise(ok => { const s = new EventSource("/coda/uffici/`+office+`/eventi"); s.addEventListener("queue", () => { s.close(); ok(true); }); })`)
		call("Sportello 1")
		// The display reloads by itself at the call.
		want := label + " → Sportello 1"
		// The page reloads itself: its text is read again until then (an
		// evaluation the reload interrupts is tried again).
		got := ""
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(got, want); time.Sleep(200 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
			if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('main [role="status"]') || {textContent: ""}).textContent`)); err == nil {
				got = text
			}
			cancel()
		}
		if !strings.Contains(got, want) {
			t.Fatalf("the display did not show %q within 20 s: %q", want, shorten(got, 300))
		}
		r.check("the display after a call")
		b.open(ticket, 200)
		b.wantText("[data-queue-text]", "È il tuo turno: vai allo sportello Sportello 1.")
		r.finish()
	})

	t.Run("without JavaScript", func(t *testing.T) {
		b := newBrowser(t)
		b.scriptsOff()
		label, ticket := take(b)
		if b.scripting() {
			t.Fatal("JavaScript is still on in the page")
		}
		b.open(d.Portal+"/coda/uffici/"+office+"/schermo", 200)
		if strings.Contains(b.text("main"), label+" →") {
			t.Fatalf("%s is on the display before its call", label)
		}
		call("Sportello 2")
		clickAndLoad(b, "refreshing the display", `//main//a[normalize-space(.)="Aggiorna"]`, 200)
		b.wantText(`main [role="status"]`, label+" → Sportello 2")
		b.open(ticket, 200)
		b.wantText("[data-queue-text]", "È il tuo turno: vai allo sportello Sportello 2.")
	})
}
