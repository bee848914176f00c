package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// The booking journey through the server as built: from a service's page,
// only its competent offices; the reason, then a free time; the details
// prefilled from the card; a wrong phone kept beside its field; the
// booking, its mail with the .ics through real SMTP; another resident
// gets 404; the mailed link's GET changes nothing, its POST cancels.
func TestBookingJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		if err := (&booking.Store{DB: d}).SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		base := s.tls.URL
		const mailbox = "giulia.conti@example.org"
		b, _ := s.resident("CNTGLI85M41F205", "GIULIA", "CONTI", mailbox)
		const service = "carta-identita-elettronica"

		// Place: from the service's page, only its competent offices.
		res, body := b.do("GET", base+"/servizi/anagrafe-e-stato-civile/"+service, nil)
		if res.StatusCode == 200 && !strings.Contains(body, `href="/prenota-appuntamento?servizio=`+service+`"`) {
			t.Errorf("the service page does not lead to its booking")
		}
		res, body = b.do("GET", base+"/prenota-appuntamento?servizio="+service, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `value="anagrafe"`) || !strings.Contains(body, `value="sportello-unico-cittadino"`) ||
			strings.Contains(body, `value="tributi"`) {
			t.Fatalf("place step: %d", res.StatusCode)
		}
		// An office that does not receive for the service: refused, said so.
		res, body = b.do("GET", base+"/prenota-appuntamento/motivo?ufficio=tributi&servizio="+service, nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Scegli uno degli uffici elencati") {
			t.Fatalf("a forged office: %d", res.StatusCode)
		}
		// Reason: the page says why it comes before the time.
		res, body = b.do("GET", base+"/prenota-appuntamento/motivo?ufficio=anagrafe", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "La durata dell&#39;appuntamento dipende dal motivo") || !strings.Contains(body, "20 minuti") {
			t.Fatalf("reason step: %d", res.StatusCode)
		}
		choice := url.Values{"ufficio": {"anagrafe"}, "servizio": {service}}
		times := base + "/prenota-appuntamento/orario?" + choice.Encode()
		res, body = b.do("GET", times, nil)
		m := regexp.MustCompile(`name="inizio" id="f-slot-0" value="(\d+)"`).FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("time step: %d", res.StatusCode)
		}
		// The first slot's free places, as the step shows them (its
		// content shared by everyone who asks the same until a place is
		// taken).
		placesOf := func(body, start string) string {
			p := regexp.MustCompile(`value="` + start + `">\s*<label[^>]*>[^<]*<span class="visually-hidden">, </span><span class="small text-secondary">(\d+) liberi`).FindStringSubmatch(body)
			if p == nil {
				return ""
			}
			return p[1]
		}
		if got := placesOf(body, m[1]); got != "2" {
			t.Fatalf("the first slot of the office's two counters: %q free", got)
		}
		choice.Set("inizio", m[1])
		// A time off the grid is refused at the next step.
		bad := url.Values{"ufficio": {"anagrafe"}, "servizio": {service}, "inizio": {"12345"}}
		if res, body = b.do("GET", base+"/prenota-appuntamento/richiedente?"+bad.Encode(), nil); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "Questo orario non è disponibile") {
			t.Fatalf("a forged time: %d", res.StatusCode)
		}
		res, body = b.do("GET", base+"/prenota-appuntamento/richiedente?"+choice.Encode(), nil)
		if res.StatusCode != 200 || !strings.Contains(strings.ToUpper(body), "GIULIA") || !strings.Contains(body, mailbox) {
			t.Fatalf("applicant step: %d", res.StatusCode)
		}
		form := url.Values{"phone": {"non è un numero"}, "notes": {"Rinnovo"}}
		for k, v := range choice {
			form[k] = v
		}
		res, body = b.do("POST", base+"/prenota-appuntamento/riepilogo", form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="non è un numero"`) || !strings.Contains(body, `id="f-phone-error"`) {
			t.Fatalf("a wrong phone: %d", res.StatusCode)
		}
		form.Set("phone", "+39 333 1234567")
		res, body = b.do("POST", base+"/prenota-appuntamento/riepilogo", form)
		if res.StatusCode != 200 || !strings.Contains(body, "Conferma la prenotazione") || !strings.Contains(body, "Rinnovo") {
			t.Fatalf("summary: %d", res.StatusCode)
		}
		res, _ = b.do("POST", base+"/prenota-appuntamento/conferma", form)
		loc := regexp.MustCompile(`^/area-personale/appuntamenti/([0-9a-f]{32})\?prenotato=1$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || loc == nil {
			t.Fatalf("book: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		page := base + booking.AreaPath + "/" + loc[1]
		// The step shows the place taken at once, to her and to anyone.
		if _, body = b.do("GET", times, nil); placesOf(body, m[1]) != "1" {
			t.Errorf("the booked slot after the booking: %q free, want 1", placesOf(body, m[1]))
		}
		if _, body = s.browser(t, nil).do("GET", times, nil); placesOf(body, m[1]) != "1" {
			t.Errorf("the booked slot after the booking, to a visitor: %q free, want 1", placesOf(body, m[1]))
		}
		// The card proved her fiscal code: her sex is kept for the figures.
		var sex string
		if err := d.QueryRowContext(ctx, `SELECT sex FROM bookings WHERE id = $1`, loc[1]).Scan(&sex); err != nil || sex != "F" {
			t.Fatalf("the booking's sex: %q %v", sex, err)
		}
		res, body = b.do("GET", page+"?prenotato=1", nil)
		code := regexp.MustCompile(`AP-[A-Z2-9]{8}`).FindString(body)
		if res.StatusCode != 200 || code == "" || !strings.Contains(body, "Appuntamento confermato") {
			t.Fatalf("confirmation page: %d", res.StatusCode)
		}
		// The same booking again: the limit per person and service (1).
		if res, body = b.do("POST", base+"/prenota-appuntamento/conferma", form); res.StatusCode != http.StatusConflict ||
			!strings.Contains(body, "numero massimo di appuntamenti futuri") {
			t.Fatalf("a second booking: %d", res.StatusCode)
		}

		// The mail, with the appointment as an iCalendar file.
		mails := s.deliverTo(t, mailbox)
		var link string
		for _, msg := range mails {
			if !strings.Contains(msg.Subject, "Appuntamento confermato "+code) {
				continue
			}
			if len(msg.Attachments) != 2 || msg.Attachments[0].Name != "appuntamento.ics" || !strings.HasPrefix(msg.Attachments[0].MediaType, "text/calendar") {
				t.Fatalf("attachments: %+v", msg.Attachments)
			}
			// The code as a QR code, the page's, with the code in the text.
			if qr, err := booking.CodePNG(code); err != nil || msg.Attachments[1].Name != booking.QRFile || msg.Attachments[1].MediaType != "image/png" ||
				!bytes.Equal(msg.Attachments[1].Content, qr) || !strings.Contains(msg.Text, "Codice: "+code) || !strings.Contains(msg.Text, "QR code") {
				t.Fatalf("the QR code: %s %s %v\n%s", msg.Attachments[1].Name, msg.Attachments[1].MediaType, err, msg.Text)
			}
			ics := string(msg.Attachments[0].Content)
			if !strings.Contains(ics, "BEGIN:VEVENT\r\n") || !strings.Contains(ics, "UID:"+loc[1]+"@booking.civico") || !strings.Contains(ics, "Codice "+code) {
				t.Fatalf("ics:\n%s", ics)
			}
			link = regexp.MustCompile(`/prenota-appuntamento/link/([A-Za-z0-9_-]{43})`).FindString(msg.Text)
		}
		if link == "" {
			t.Fatalf("no confirmation mail with a link: %+v", mails)
		}

		// Another resident: not found, and nothing cancelled.
		other, _ := s.resident("RSSMRA80A01F205", "MARIO", "ROSSI", "mario.rossi@example.org")
		if res, _ = other.do("GET", page, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("another's booking: %d", res.StatusCode)
		}
		if res, _ = other.do("POST", page+"/annulla", url.Values{}); res.StatusCode != http.StatusNotFound {
			t.Fatalf("another cancels: %d", res.StatusCode)
		}
		if res, _ = other.do("GET", page+"/appuntamento.ics", nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("another's calendar file: %d", res.StatusCode)
		}
		res, body = b.do("GET", page+"/appuntamento.ics", nil)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(body, "DTSTART:") {
			t.Fatalf("calendar file: %d", res.StatusCode)
		}
		// The personal area's panel counts it.
		if res, body = b.do("GET", base+"/area-personale", nil); res.StatusCode != 200 || !strings.Contains(body, "I miei appuntamenti") || !strings.Contains(body, loc[1]) {
			t.Fatalf("the desk: %d", res.StatusCode)
		}

		// The mailed link: its GET (a mail scanner's) changes nothing.
		anon := s.browser(t, nil)
		for range 2 {
			if res, body = anon.do("GET", base+link, nil); res.StatusCode != 200 || !strings.Contains(body, code) || !strings.Contains(body, "Annulla l&#39;appuntamento") {
				t.Fatalf("link page: %d", res.StatusCode)
			}
		}
		state := func() string {
			var st string
			if err := d.QueryRowContext(ctx, `SELECT state FROM bookings WHERE id = $1`, loc[1]).Scan(&st); err != nil {
				t.Fatal(err)
			}
			return st
		}
		if state() != "confirmed" {
			t.Fatalf("after the link's GET: %s", state())
		}
		if res, _ = anon.do("POST", base+link+"x/annulla", url.Values{}); res.StatusCode != http.StatusNotFound {
			t.Fatalf("a forged link: %d", res.StatusCode)
		}
		if res, body = anon.do("POST", base+link+"/annulla", url.Values{}); res.StatusCode != 200 || !strings.Contains(body, "è stato annullato") {
			t.Fatalf("cancel by link: %d", res.StatusCode)
		}
		if state() != "cancelled" {
			t.Fatalf("after the link's POST: %s", state())
		}
		if res, _ = anon.do("POST", base+link+"/annulla", url.Values{}); res.StatusCode != http.StatusConflict {
			t.Fatalf("cancelled twice: %d", res.StatusCode)
		}
		cancelled := false
		for _, msg := range s.deliverTo(t, mailbox) {
			cancelled = cancelled || strings.Contains(msg.Subject, "Appuntamento annullato "+code)
		}
		if !cancelled {
			t.Error("no mail of the cancellation")
		}
		// Its place is free again: the resident books it once more.
		if res, _ = b.do("POST", base+"/prenota-appuntamento/conferma", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("booking the freed time: %d", res.StatusCode)
		}
		again := regexp.MustCompile(`/area-personale/appuntamenti/([0-9a-f]{32})`).FindStringSubmatch(res.Header.Get("Location"))[1]

		// Moving it: the detail leads to the times with the booking to
		// replace; the new time booked, the old one cancelled, in one step
		// (the limit of one per person holds throughout).
		res, body = b.do("GET", base+booking.AreaPath+"/"+again, nil)
		move := regexp.MustCompile(`href="(/prenota-appuntamento/orario\?[^"]*sposta=` + again + `[^"]*)"`).FindStringSubmatch(body)
		if res.StatusCode != 200 || move == nil {
			t.Fatalf("detail without a way to move: %d", res.StatusCode)
		}
		res, body = b.do("GET", base+strings.ReplaceAll(move[1], "&amp;", "&"), nil)
		res, body = dayWithRoom(t, b, base+strings.ReplaceAll(move[1], "&amp;", "&"), res, body)
		m = regexp.MustCompile(`name="inizio" id="f-slot-1" value="(\d+)"`).FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil || !strings.Contains(body, `name="sposta" value="`+again+`"`) {
			t.Fatalf("times to move to: %d", res.StatusCode)
		}
		form.Set("inizio", m[1])
		form.Set("sposta", again)
		res, _ = b.do("POST", base+"/prenota-appuntamento/conferma", form)
		moved := regexp.MustCompile(`^/area-personale/appuntamenti/([0-9a-f]{32})\?spostato=1$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || moved == nil || moved[1] == again {
			t.Fatalf("move: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		var oldState, newState string
		if err := d.QueryRowContext(ctx, `SELECT state FROM bookings WHERE id = $1`, again).Scan(&oldState); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRowContext(ctx, `SELECT state FROM bookings WHERE id = $1`, moved[1]).Scan(&newState); err != nil {
			t.Fatal(err)
		}
		if oldState != "cancelled" || newState != "confirmed" {
			t.Fatalf("after the move: old %s, new %s", oldState, newState)
		}
		// Another resident cannot move it.
		form.Set("sposta", moved[1])
		if res, _ = other.do("POST", base+"/prenota-appuntamento/conferma", form); res.StatusCode != http.StatusNotFound {
			t.Fatalf("another moves it: %d", res.StatusCode)
		}
	})
}

// Without an account: a service that allows it is booked with a mail
// address, held until the mailed link's POST confirms it; one that does
// not sends to the login.
func TestBookingWithoutAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		if err := (&booking.Store{DB: d}).SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		base := s.tls.URL
		anon := s.browser(t, nil)
		res, body := anon.do("GET", base+"/prenota-appuntamento/orario?ufficio=anagrafe&servizio=carta-identita-elettronica", nil)
		m := regexp.MustCompile(`name="inizio" id="f-slot-0" value="(\d+)"`).FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("time step: %d", res.StatusCode)
		}
		if res, _ = anon.do("GET", base+"/prenota-appuntamento/richiedente?ufficio=anagrafe&servizio=carta-identita-elettronica&inizio="+m[1], nil); res.StatusCode != http.StatusSeeOther ||
			!strings.HasPrefix(res.Header.Get("Location"), "/accedi?") {
			t.Fatalf("a service that needs a login: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		const service = "autentica-firme-copie"
		res, body = anon.do("GET", base+"/prenota-appuntamento/orario?ufficio=anagrafe&servizio="+service, nil)
		if m = regexp.MustCompile(`name="inizio" id="f-slot-0" value="(\d+)"`).FindStringSubmatch(body); res.StatusCode != 200 || m == nil {
			t.Fatalf("time step: %d", res.StatusCode)
		}
		// Moving a booking needs the login even where booking does not.
		if res, _ = anon.do("GET", base+"/prenota-appuntamento/richiedente?ufficio=anagrafe&servizio="+service+"&inizio="+m[1]+"&sposta=0123456789abcdef0123456789abcdef", nil); res.StatusCode != http.StatusSeeOther ||
			!strings.HasPrefix(res.Header.Get("Location"), "/accedi?") {
			t.Fatalf("a move without a login: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		const mailbox = "anna.neri@example.org"
		form := url.Values{"ufficio": {"anagrafe"}, "servizio": {service}, "inizio": {m[1]}, "given_name": {"Anna"}, "family_name": {"Neri"}, "email": {"anna.neri@"}}
		if res, body = anon.do("POST", base+"/prenota-appuntamento/riepilogo", form); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-email-error"`) ||
			!strings.Contains(body, `value="Anna"`) {
			t.Fatalf("a wrong address: %d", res.StatusCode)
		}
		form.Set("email", mailbox)
		if res, body = anon.do("POST", base+"/prenota-appuntamento/conferma", form); res.StatusCode != 200 || !strings.Contains(body, "Controlla la tua email") {
			t.Fatalf("booked without an account: %d", res.StatusCode)
		}
		var link string
		for _, msg := range s.deliverTo(t, mailbox) {
			if strings.HasPrefix(msg.Subject, "Conferma la prenotazione") {
				link = regexp.MustCompile(`/prenota-appuntamento/link/[A-Za-z0-9_-]{43}`).FindString(msg.Text)
			}
		}
		if link == "" {
			t.Fatal("no mail with the confirmation link")
		}
		state := func() string {
			var st string
			if err := d.QueryRowContext(ctx, `SELECT state FROM bookings WHERE email = $1`, mailbox).Scan(&st); err != nil {
				t.Fatal(err)
			}
			return st
		}
		if res, body = anon.do("GET", base+link, nil); res.StatusCode != 200 || !strings.Contains(body, "Conferma la prenotazione") || state() != "pending" {
			t.Fatalf("link page: %d %s", res.StatusCode, state())
		}
		// Without an account it is moved from the link's own pages.
		if other := `href="` + link + `/orario">Scegli un altro orario`; !strings.Contains(body, other) || strings.Contains(body, "sposta=") {
			t.Errorf("the link page's other time: %s", body)
		}
		var sex string
		if err := d.QueryRowContext(ctx, `SELECT sex FROM bookings WHERE email = $1`, mailbox).Scan(&sex); err != nil || sex != "" {
			t.Fatalf("a booking without an account has a sex: %q %v", sex, err)
		}
		if res, _ = anon.do("POST", base+link+"/conferma", url.Values{}); res.StatusCode != 200 || state() != "confirmed" {
			t.Fatalf("confirm by link: %d %s", res.StatusCode, state())
		}
		confirmed := false
		for _, msg := range s.deliverTo(t, mailbox) {
			confirmed = confirmed || strings.HasPrefix(msg.Subject, "Appuntamento confermato") && len(msg.Attachments) == 2 && msg.Attachments[1].Name == booking.QRFile
		}
		if !confirmed {
			t.Error("no confirmation mail with the .ics")
		}

		// Moved from the link: the times of its office and service, with
		// a POST to the link's own address; the same code and link.
		var code, start string
		if err := d.QueryRowContext(ctx, `SELECT code FROM bookings WHERE email = $1`, mailbox).Scan(&code); err != nil {
			t.Fatal(err)
		}
		res, body = anon.do("GET", base+link+"/orario", nil)
		res, body = dayWithRoom(t, anon, base+link+"/orario", res, body)
		slots := regexp.MustCompile(`name="inizio" id="f-slot-\d+" value="(\d+)"`).FindAllStringSubmatch(body, -1)
		if res.StatusCode != 200 || len(slots) < 2 || !strings.Contains(body, `action="`+link+`/sposta"`) || strings.Contains(body, `action="/prenota-appuntamento/richiedente"`) ||
			res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("the link's time step: %d %d slots\n%s", res.StatusCode, len(slots), body)
		}
		for _, sl := range slots {
			if sl[1] != m[1] {
				start = sl[1]
				break
			}
		}
		if res, body = anon.do("POST", base+link+"/sposta", url.Values{"inizio": {"123"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-slot-error"`) {
			t.Fatalf("a time that is no slot: %d", res.StatusCode)
		}
		if res, body = anon.do("POST", base+link+"/sposta", url.Values{"inizio": {start}}); res.StatusCode != 200 || !strings.Contains(body, "l&#39;appuntamento è spostato") {
			t.Fatalf("the move by link: %d\n%s", res.StatusCode, body)
		}
		var now int64
		var nowCode string
		if err := d.QueryRowContext(ctx, `SELECT start_unix, code FROM bookings WHERE email = $1`, mailbox).Scan(&now, &nowCode); err != nil || strconv.FormatInt(now, 10) != start || nowCode != code {
			t.Fatalf("after the move: %d %s (%v), want %s %s", now, nowCode, err, start, code)
		}
		moved := false
		for _, msg := range s.deliverTo(t, mailbox) {
			moved = moved || strings.HasPrefix(msg.Subject, "Appuntamento "+code+" spostato") && strings.Contains(msg.Text, link) && len(msg.Attachments) == 2
		}
		if !moved {
			t.Error("no mail of the move with the link and the .ics")
		}
		// Once cancelled, the link moves nothing.
		if res, _ = anon.do("POST", base+link+"/annulla", url.Values{}); res.StatusCode != 200 {
			t.Fatalf("cancel by link: %d", res.StatusCode)
		}
		if res, _ = anon.do("POST", base+link+"/sposta", url.Values{"inizio": {m[1]}}); res.StatusCode != http.StatusConflict {
			t.Errorf("a cancelled booking's link moves: %d", res.StatusCode)
		}
	})
}

// The public API of free places: RFC 3339 instants, 400 for a malformed or
// inverted range, 404 for an office or a service it does not book, each
// slot with its free places (the booking just made counted).
func TestBookingSlotsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		if err := (&booking.Store{DB: d}).SeedDemo(ctx); err != nil {
			t.Fatal(err)
		}
		base := s.tls.URL + "/api/v1/offices/"
		anon := s.browser(t, nil)
		for _, c := range []struct {
			path   string
			status int
			field  string
		}{
			{"anagrafe/slots?service=carta-identita-elettronica&from=ieri", 400, "from"},
			{"anagrafe/slots?service=carta-identita-elettronica&from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z", 400, "to"},
			{"anagrafe/slots?service=carta-identita-elettronica&from=2027-03-01T00:00:00Z&to=2027-06-01T00:00:00Z", 400, "to"},
			{"anagrafe/slots", 400, "service"},
			{"nessuno/slots?service=carta-identita-elettronica", 404, "id"},
			{"tributi/slots?service=carta-identita-elettronica", 404, "service"},
		} {
			res, body := anon.do("GET", base+c.path, nil)
			var e struct{ Error, Field, Message string }
			if res.StatusCode != c.status || json.Unmarshal([]byte(body), &e) != nil || e.Field != c.field || e.Message == "" {
				t.Errorf("%s: %d %s", c.path, res.StatusCode, body)
			}
		}
		res, body := anon.do("GET", base+"anagrafe/slots?service=carta-identita-elettronica", nil)
		var got booking.SlotsJSON
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Slots) == 0 || got.Minutes != 20 {
			t.Fatalf("slots: %d %s", res.StatusCode, body)
		}
		first := got.Slots[0]
		if first.Free != 2 || first.Capacity != 2 || first.End.Sub(first.Start) != 20*time.Minute || first.Start.Before(time.Now()) {
			t.Fatalf("first slot %+v", first)
		}
		// Booked once, it has one place left.
		b, _ := s.resident("CNTGLI85M41F205", "GIULIA", "CONTI", "giulia.conti@example.org")
		form := url.Values{"ufficio": {"anagrafe"}, "servizio": {"carta-identita-elettronica"}, "inizio": {strconv.FormatInt(first.Start.Unix(), 10)}}
		if res, _ = b.do("POST", s.tls.URL+"/prenota-appuntamento/conferma", form); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("book: %d", res.StatusCode)
		}
		_, body = anon.do("GET", base+"anagrafe/slots?service=carta-identita-elettronica&from="+url.QueryEscape(first.Start.Format(time.RFC3339))+
			"&to="+url.QueryEscape(first.End.Format(time.RFC3339)), nil)
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Slots) != 1 || got.Slots[0].Free != 1 {
			t.Fatalf("after a booking: %s", body)
		}
		// The first free evening or Saturday time across the competent
		// offices: shown at the time step of the office that has it.
		res, _ = anon.do("GET", s.tls.URL+"/prenota-appuntamento/primo-libero?servizio=carta-identita-elettronica&sera=1", nil)
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/prenota-appuntamento/orario" || loc.Query().Get("sera") != "1" ||
			(loc.Query().Get("ufficio") != "anagrafe" && loc.Query().Get("ufficio") != "sportello-unico-cittadino") || loc.Query().Get("giorno") == "" {
			t.Fatalf("first free: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res, body = anon.do("GET", s.tls.URL+loc.String(), nil); res.StatusCode != 200 || !strings.Contains(body, `id="f-slot-0"`) {
			t.Fatalf("first free's times: %d", res.StatusCode)
		}
		if _, body = anon.do("GET", s.tls.URL+"/api/v1/openapi.json", nil); !strings.Contains(body, `"/offices/{id}/slots"`) {
			t.Error("the OpenAPI document lacks the slots")
		}
	})
}

// The offices' back office: an operator sets what an office receives by
// appointment (a wrong figure kept beside its field, a service the office
// is not competent for refused), reads the day's agenda and cancels a
// booking with a reason, which the resident receives and the audit log
// keeps; a resident is refused the back office.
func TestBookingBackOffice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		desk := operatorBrowser(t, s.idSite, "desk1@comune.example.it", "desk")
		bo := s.plain.URL + "/backoffice/appuntamenti"
		// Before the offer: the office does not receive for the tax by
		// appointment (the pages keep the offers they read: the save below
		// must show at once).
		if res, _ := s.browser(t, nil).do("GET", s.tls.URL+"/prenota-appuntamento/orario?ufficio=tributi&servizio=tari", nil); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("times of an offer not made yet: %d", res.StatusCode)
		}
		offer := url.Values{"office": {"tributi"}, "service": {"tari"}, "minutes": {"300"}, "counters": {"2"}, "max_future": {"1"}}
		if res, body := desk.do("POST", bo+"/offerte", offer); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-minutes-error"`) ||
			!strings.Contains(body, `value="300"`) {
			t.Fatalf("a wrong length: %d", res.StatusCode)
		}
		offer.Set("minutes", "30")
		offer.Set("service", "carta-identita-elettronica")
		if res, body := desk.do("POST", bo+"/offerte", offer); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "non è competente") {
			t.Fatalf("a service the office does not handle: %d", res.StatusCode)
		}
		offer.Set("service", "tari")
		if res, _ := desk.do("POST", bo+"/offerte", offer); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d", res.StatusCode)
		}
		const mailbox = "giulia.conti@example.org"
		b, _ := s.resident("CNTGLI85M41F205", "GIULIA", "CONTI", mailbox)
		if res, _ := b.do("GET", s.tls.URL+"/backoffice/appuntamenti", nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a resident in the back office: %d", res.StatusCode)
		}
		res, body := b.do("GET", s.tls.URL+"/prenota-appuntamento/orario?ufficio=tributi&servizio=tari", nil)
		m := regexp.MustCompile(`name="inizio" id="f-slot-0" value="(\d+)"`).FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("times: %d", res.StatusCode)
		}
		res, _ = b.do("POST", s.tls.URL+"/prenota-appuntamento/conferma", url.Values{"ufficio": {"tributi"}, "servizio": {"tari"}, "inizio": {m[1]}})
		id := regexp.MustCompile(`appuntamenti/([0-9a-f]{32})`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || id == nil {
			t.Fatalf("book: %d", res.StatusCode)
		}
		unix, _ := strconv.ParseInt(m[1], 10, 64)
		day := time.Unix(unix, 0).In(hours.Rome).Format("2006-01-02")
		agenda := bo + "/uffici/tributi?giorno=" + day
		if res, body = desk.do("GET", agenda, nil); res.StatusCode != 200 || !strings.Contains(body, "/uffici/tributi/"+id[1]+"/annulla") {
			t.Fatalf("agenda: %d", res.StatusCode)
		}
		if res, body = desk.do("POST", bo+"/uffici/tributi/"+id[1]+"/annulla", url.Values{"reason": {" "}, "giorno": {day}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-reason-`+id[1]+`-error"`) {
			t.Fatalf("a cancellation without a reason: %d", res.StatusCode)
		}
		if res, _ = desk.do("POST", bo+"/uffici/tributi/"+id[1]+"/annulla", url.Values{"reason": {"Sportello chiuso per guasto"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("cancel: %d", res.StatusCode)
		}
		told := false
		for _, msg := range s.deliverTo(t, mailbox) {
			told = told || strings.Contains(msg.Subject, "ha annullato") && strings.Contains(msg.Text, "Sportello chiuso per guasto")
		}
		if !told {
			t.Error("the resident was not told why")
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'booking.cancel' AND subject = $1`, "booking:"+id[1]).Scan(&n); err != nil || n != 1 {
			t.Fatalf("audit entries: %d %v", n, err)
		}
	})
}

// dayWithRoom is the times page u answered, or, when its first day (today,
// late in an opening) has fewer than two free times left, the same page for
// the first day offered with more: the tests move a booking to another
// time, whatever the hour they run at.
func dayWithRoom(t *testing.T, b *browser, u string, res *http.Response, body string) (*http.Response, string) {
	t.Helper()
	if len(regexp.MustCompile(`name="inizio" id="f-slot-\d+"`).FindAllString(body, -1)) >= 2 {
		return res, body
	}
	for _, o := range regexp.MustCompile(`<option value="(\d{4}-\d{2}-\d{2})"[^>]*>[^<]*— (\d+) posti liberi`).FindAllStringSubmatch(body, -1) {
		if n, _ := strconv.Atoi(o[2]); n >= 2 {
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			return b.do("GET", u+sep+"giorno="+o[1], nil)
		}
	}
	t.Fatalf("no day with two free times on %s", u)
	return nil, ""
}
