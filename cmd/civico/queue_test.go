package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/dashboard"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
)

// queueSite is the demo town's offices and offers at a clock the test
// moves (the booking's and the catalogue's).
func queueSite(t *testing.T, d *db.DB, at time.Time) (*sportelloSite, func(time.Time)) {
	t.Helper()
	s := newSportelloSite(t, d)
	if err := (&booking.Store{DB: d}).SeedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := at
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s.apps.civico.booking.Now = clock
	s.apps.civico.catalog.Now = clock
	return s, func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
}

var ticketLink = regexp.MustCompile(`/coda/biglietti/([A-Za-z0-9_-]+)$`)

// take takes a ticket for a service at an office as b, and returns its
// token.
func take(t *testing.T, b *browser, base, office, service string) string {
	t.Helper()
	res, body := b.do("POST", base+"/coda/uffici/"+office+"/biglietto", url.Values{"service": {service}})
	m := ticketLink.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("take a ticket at %s for %s: %d %s\n%s", office, service, res.StatusCode, res.Header.Get("Location"), section(body))
	}
	return m[1]
}

type ticketState struct {
	Number, State, Counter, Text string
	Ahead                        int `json:"ahead"`
}

func ticketNow(t *testing.T, b *browser, base, token string) ticketState {
	t.Helper()
	res, body := b.do("GET", base+"/coda/biglietti/"+token+"/stato", nil)
	var s ticketState
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &s) != nil {
		t.Fatalf("ticket state: %d %s", res.StatusCode, body)
	}
	return s
}

// The walk-in queue through the server as built: two residents take
// numbers online and see who is ahead; a booked resident checks in with
// the booking's code and is called at the appointment's time ahead of the
// walk-ins; the operator calls, recalls, serves and marks absent from the
// back office; the display shows the call; bad input (a service the
// office does not handle, a code of no appointment today, a closed office)
// is refused with the reason and changes nothing.
func TestQueueJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		// Wednesday, before the office opens: the resident books the
		// morning's appointment.
		morning := time.Date(2026, 11, 25, 7, 0, 0, 0, hours.Rome)
		s, set := queueSite(t, d, morning)
		ctx := context.Background()
		base := s.tls.URL
		const office, service = "anagrafe", "carta-identita-elettronica"

		giulia, _ := s.resident("CNTGLI85M41F205", "GIULIA", "CONTI", "giulia.conti@example.org")
		res, body := giulia.do("GET", base+"/prenota-appuntamento/orario?ufficio="+office+"&servizio="+service, nil)
		var start string
		for _, m := range regexp.MustCompile(`name="inizio" id="f-slot-\d+" value="(\d+)"`).FindAllStringSubmatch(body, -1) {
			unix, _ := strconv.ParseInt(m[1], 10, 64)
			if at := time.Unix(unix, 0).In(hours.Rome); at.Day() == 25 && at.Hour() == 9 && at.Minute() >= 30 {
				start = m[1]
				break
			}
		}
		if res.StatusCode != 200 || start == "" {
			t.Fatalf("no 9:30-10:00 slot on Wednesday morning: %d", res.StatusCode)
		}
		res, _ = giulia.do("POST", base+"/prenota-appuntamento/conferma", url.Values{"ufficio": {office}, "servizio": {service}, "inizio": {start}})
		id := regexp.MustCompile(`appuntamenti/([0-9a-f]{32})`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || id == nil {
			t.Fatalf("book: %d", res.StatusCode)
		}
		var code string
		if err := d.QueryRowContext(ctx, `SELECT code FROM bookings WHERE id = $1`, id[1]).Scan(&code); err != nil {
			t.Fatal(err)
		}

		// Closed: no number, said so, nothing stored.
		anna := s.browser(t, nil)
		res, body = anna.do("POST", base+"/coda/uffici/"+office+"/biglietto", url.Values{"service": {service}})
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "non è aperto ora") {
			t.Fatalf("a ticket at a closed office: %d\n%s", res.StatusCode, section(body))
		}
		countTickets := func() int {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_tickets`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := countTickets(); n != 0 {
			t.Fatalf("%d tickets after a refusal", n)
		}

		set(time.Date(2026, 11, 25, 9, 20, 0, 0, hours.Rome))
		res, body = anna.do("GET", base+"/coda/uffici/"+office, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Persone in attesa: 0") || !strings.Contains(body, `value="`+service+`"`) {
			t.Fatalf("the office's queue: %d\n%s", res.StatusCode, section(body))
		}
		// A service the office does not handle: refused beside the field.
		res, body = anna.do("POST", base+"/coda/uffici/"+office+"/biglietto", url.Values{"service": {"tari"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-service-error"`) || countTickets() != 0 {
			t.Fatalf("a service the office does not handle: %d", res.StatusCode)
		}
		a1 := take(t, anna, base, office, service)
		marco := s.browser(t, nil)
		a2 := take(t, marco, base, office, service)
		if st := ticketNow(t, marco, base, a2); st.Number != "A002" || st.State != "waiting" || st.Ahead != 1 {
			t.Fatalf("the second ticket: %+v", st)
		}
		res, body = anna.do("GET", base+"/coda/biglietti/"+a1, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "A001") || !strings.Contains(body, "Persone prima di te: 0") {
			t.Fatalf("the first ticket's page: %d\n%s", res.StatusCode, section(body))
		}
		// A made-up ticket: not found.
		if res, _ := anna.do("GET", base+"/coda/biglietti/inventato", nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("a made-up ticket: %d", res.StatusCode)
		}

		// The booked resident arrives and checks in: a wrong code is
		// refused; the right one puts her ahead of the walk-ins at her time.
		res, body = giulia.do("POST", base+"/coda/uffici/"+office+"/arrivo", url.Values{"code": {"ZZZZZZ"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Non c&#39;è un appuntamento di oggi") {
			t.Fatalf("a code of no appointment: %d\n%s", res.StatusCode, section(body))
		}
		set(time.Date(2026, 11, 25, 9, 29, 0, 0, hours.Rome))
		res, _ = giulia.do("POST", base+"/coda/uffici/"+office+"/arrivo", url.Values{"code": {strings.ToLower(code)}})
		m := ticketLink.FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("check in: %d", res.StatusCode)
		}
		p3 := m[1]
		if st := ticketNow(t, giulia, base, p3); st.Number != "P003" || st.Ahead != 0 {
			t.Fatalf("the checked-in booking: %+v", st)
		}
		if st := ticketNow(t, anna, base, a1); st.Ahead != 1 {
			t.Fatalf("the walk-in ahead of a booking due now: %+v", st)
		}
		// Checking in twice gives the same number.
		res, body = giulia.do("POST", base+"/coda/uffici/"+office+"/arrivo", url.Values{"code": {code}})
		if res.StatusCode != 200 || !strings.Contains(body, "il tuo numero è P003") || countTickets() != 3 {
			t.Fatalf("a second check-in: %d", res.StatusCode)
		}

		// The operator's console: a resident may not open it.
		if res, _ := anna.do("GET", base+"/backoffice/appuntamenti/coda/"+office, nil); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a visitor in the console: %d", res.StatusCode)
		}
		desk := operatorBrowser(t, s.idSite, "desk1@comune.example.it", "desk")
		bo := s.plain.URL + "/backoffice/appuntamenti/coda/" + office
		if res, body := desk.do("POST", bo+"/chiama", url.Values{"counter": {""}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-counter-error"`) {
			t.Fatalf("a call without a counter: %d", res.StatusCode)
		}
		if res, _ := desk.do("POST", bo+"/chiama", url.Values{"counter": {"Sportello 1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("call: %d", res.StatusCode)
		}
		if st := ticketNow(t, giulia, base, p3); st.State != "called" || !strings.Contains(st.Text, "vai allo sportello Sportello 1") {
			t.Fatalf("the booking was not called first: %+v", st)
		}
		res, body = anna.do("GET", base+"/coda/uffici/"+office+"/schermo", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "P003 → Sportello 1") {
			t.Fatalf("the display: %d\n%s", res.StatusCode, section(body))
		}
		var p3id string
		if err := d.QueryRowContext(ctx, `SELECT id FROM queue_tickets WHERE number = 3`).Scan(&p3id); err != nil {
			t.Fatal(err)
		}
		if res, _ := desk.do("POST", bo+"/"+p3id+"/richiama", url.Values{"counter": {"Sportello 1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("recall: %d", res.StatusCode)
		}
		set(time.Date(2026, 11, 25, 9, 41, 0, 0, hours.Rome))
		if res, _ := desk.do("POST", bo+"/"+p3id+"/servito", url.Values{"counter": {"Sportello 1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("served: %d", res.StatusCode)
		}
		// Served twice: the second is refused, nothing changes.
		if res, _ := desk.do("POST", bo+"/"+p3id+"/servito", nil); res.StatusCode != http.StatusConflict {
			t.Fatalf("served twice: %d", res.StatusCode)
		}
		var outcome string
		if err := d.QueryRowContext(ctx, `SELECT outcome FROM booking_outcomes WHERE booking_id = $1`, id[1]).Scan(&outcome); err != nil || outcome != "served" {
			t.Fatalf("the booking's outcome: %q %v", outcome, err)
		}
		// The agenda shows the appointment's outcome; a second word on it
		// changes nothing.
		agenda := s.plain.URL + "/backoffice/appuntamenti/uffici/" + office
		if res, body := desk.do("GET", agenda+"?giorno=2026-11-25", nil); res.StatusCode != 200 || !strings.Contains(body, `<span class="badge bg-success">Servito</span>`) {
			t.Fatalf("the agenda's outcome: %d", res.StatusCode)
		}
		if res, _ := desk.do("POST", agenda+"/"+id[1]+"/esito", url.Values{"outcome": {"no_show"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a second outcome: %d", res.StatusCode)
		}
		if err := d.QueryRowContext(ctx, `SELECT outcome FROM booking_outcomes WHERE booking_id = $1`, id[1]).Scan(&outcome); err != nil || outcome != "served" {
			t.Fatalf("the outcome was rewritten: %q %v", outcome, err)
		}
		// The estimate now follows the service just given (12 minutes).
		if st := ticketNow(t, marco, base, a2); st.Ahead != 1 || !strings.Contains(st.Text, "circa 18 minuti") {
			t.Fatalf("the estimate after a service of 12 minutes: %+v", st)
		}
		// Anna gives up her number; Marco is called next, then marked absent.
		if res, _ := anna.do("POST", base+"/coda/biglietti/"+a1+"/ritira", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("withdraw: %d", res.StatusCode)
		}
		if res, _ := anna.do("POST", base+"/coda/biglietti/"+a1+"/ritira", url.Values{}); res.StatusCode != http.StatusConflict {
			t.Fatalf("withdraw twice: %d", res.StatusCode)
		}
		if res, _ := desk.do("POST", bo+"/chiama", url.Values{"counter": {"Sportello 2"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("call: %d", res.StatusCode)
		}
		if st := ticketNow(t, marco, base, a2); st.State != "called" || st.Counter != "Sportello 2" {
			t.Fatalf("the next walk-in: %+v", st)
		}
		var a2id string
		if err := d.QueryRowContext(ctx, `SELECT id FROM queue_tickets WHERE number = 2`).Scan(&a2id); err != nil {
			t.Fatal(err)
		}
		if res, _ := desk.do("POST", bo+"/"+a2id+"/assente", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("absent: %d", res.StatusCode)
		}
		if st := ticketNow(t, marco, base, a2); st.State != "skipped" {
			t.Fatalf("the absent: %+v", st)
		}
		res, _ = desk.do("POST", bo+"/chiama", url.Values{"counter": {"Sportello 2"}})
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "esito=nobody") {
			t.Fatalf("a call with nobody waiting: %d %s", res.StatusCode, res.Header.Get("Location"))
		}

		// The day's figures: three tickets (the booking called at once and
		// served in 12 minutes, Marco called after 21 and absent, Anna
		// withdrawn), one appointment served; a wrong period refused.
		figures := s.plain.URL + "/backoffice/appuntamenti/cifre?dal=2026-11-25&al=2026-11-25"
		if res, body := desk.do("GET", figures, nil); res.StatusCode != 200 || !strings.Contains(body, "Anagrafe") || !strings.Contains(body, ">21 min<") {
			t.Fatalf("the figures: %d\n%s", res.StatusCode, section(body))
		}
		if res, body := desk.do("GET", s.plain.URL+"/backoffice/appuntamenti/cifre.csv?dal=2026-11-25&al=2026-11-25", nil); res.StatusCode != 200 ||
			!strings.Contains(body, "all,,3,1,1,1,0.0,21.0,12.0,") || !strings.Contains(body, ",1,0,1,0,0.000,") {
			t.Fatalf("the figures' CSV: %d\n%s", res.StatusCode, body)
		}
		// By sex: the one appointment is a small count, hidden with another.
		if res, body := desk.do("GET", figures, nil); res.StatusCode != 200 || !strings.Contains(body, "Appuntamenti per sesso") || strings.Count(body, "dato nascosto: troppo piccolo") < 2 {
			t.Fatalf("the figures by sex: %d\n%s", res.StatusCode, section(body))
		}
		if _, body := desk.do("GET", s.plain.URL+"/backoffice/appuntamenti/cifre.csv?dal=2026-11-25&al=2026-11-25", nil); !strings.Contains(body, "\nsex,unknown,,,,,,,,0,0,0,0,0.000,0,0.000") ||
			!regexp.MustCompile(`\nsex,[FM],,,,,,,,c,`).MatchString(body) || strings.Count(body, "\nsex,") != 3 {
			t.Fatalf("the figures' CSV by sex:\n%s", body)
		}
		if res, body := desk.do("GET", s.plain.URL+"/backoffice/appuntamenti/cifre?dal=2026-11-25&al=2026-11-01", nil); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-al-error"`) {
			t.Fatalf("an inverted period: %d", res.StatusCode)
		}

		// Who waits, for the dashboard's waits by sex: the check-in as its
		// booker (her card proves F), the anonymous walk-ins as unknown,
		// and a ticket she takes online logged in as her account proves.
		take(t, giulia, base, office, service)
		rows, err := d.QueryContext(ctx, `SELECT number, sex FROM queue_tickets ORDER BY number`)
		if err != nil {
			t.Fatal(err)
		}
		var sexes []string
		for rows.Next() {
			var n int
			var sex string
			if err := rows.Scan(&n, &sex); err != nil {
				t.Fatal(err)
			}
			sexes = append(sexes, strconv.Itoa(n)+":"+sex)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(sexes, " "); got != "1: 2: 3:F 4:F" {
			t.Errorf("the tickets' sexes: %s, want 1: 2: 3:F 4:F", got)
		}
		// An operator taking a ticket (for a caller, or a kiosk left on
		// their login) gives it no sex, though her card proves hers: who
		// waits is not the operator.
		opCode, _ := cf.Complete("RSSLRA80A41F205")
		if _, err := s.apps.identity.CreateOperator(ctx, identity.NewOperator{Email: "laura.rossi@comune.example.it", FiscalCode: string(opCode),
			GivenName: "LAURA", FamilyName: "ROSSI", Roles: []string{"desk"}}, identity.GeneratePassword(), "test"); err != nil {
			t.Fatal(err)
		}
		opCard := s.card(t, "RSSLRA80A41F205", "LAURA", "ROSSI", func(r *cardca.CardRequest) { r.NotAfter = time.Now().AddDate(1, 0, 0) })
		laura := s.browser(t, opCard)
		if res, _ := laura.do("GET", s.cardLogin(t, laura, "/coda/uffici/"+office), nil); res.StatusCode != 200 {
			t.Fatalf("the operator's card login: %d", res.StatusCode)
		}
		take(t, laura, base, office, service)
		var opSex string
		if err := d.QueryRowContext(ctx, `SELECT sex FROM queue_tickets WHERE number = 5`).Scan(&opSex); err != nil || opSex != "" {
			t.Errorf("an operator's ticket: %q, %v; want no sex", opSex, err)
		}
		// The dashboard counts the one ticket served (hers, called at once)
		// as a woman's, and the statistics office's page shows it by sex.
		runTask(t, s.idSite, "dashboard", "figures")
		counts, err := s.apps.civico.dashboard.Store.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var waits []string
		for _, c := range counts {
			if c.Figure == dashboard.QueueWaits {
				waits = append(waits, fmt.Sprintf("%s|%s|%s|%d", c.Month, c.Key, c.Sex, c.N))
			}
		}
		if want := "2026-11|" + service + ":0-10|F|1"; len(waits) != 1 || waits[0] != want {
			t.Errorf("the dashboard's queue waits: %v, want [%s]", waits, want)
		}
		stats := operatorBrowser(t, s.idSite, "istat@comune.example.it", "statistics")
		if res, body := stats.do("GET", s.plain.URL+dashboard.BOPath, nil); res.StatusCode != 200 || !strings.Contains(body, `<caption>Attesa in coda per sesso</caption>`) ||
			!strings.Contains(body, `aria-labelledby="chart-attese-sesso-t chart-attese-sesso-d"`) {
			t.Errorf("the dashboard's waits by sex: %d\n%s", res.StatusCode, section(body))
		}
	})
}

// Operators calling at once never call the same ticket twice: 8 calls for
// 3 waiting tickets call each once, and the other 5 hear that nobody
// waits.
func TestQueueCallsAreNeverDoubled(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := queueSite(t, d, time.Date(2026, 11, 25, 10, 0, 0, 0, hours.Rome))
		ctx := context.Background()
		store := s.apps.civico.booking.Store
		dir, err := bookingCatalogue(s.apps.civico.catalog.Store)(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := dir.Office("anagrafe")
		for range 3 {
			if _, _, err := store.TakeTicket(ctx, o, "carta-identita-elettronica", booking.ChannelOnline, ""); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		called, nobody := map[string]int{}, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tk, err := store.CallNext(ctx, "anagrafe", "Sportello "+strconv.Itoa(i), "op")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, booking.ErrNobody):
					nobody++
				case err != nil:
					t.Error(err)
				default:
					called[tk.ID]++
				}
			}()
		}
		wg.Wait()
		if len(called) != 3 || nobody != 5 {
			t.Fatalf("called %v, nobody %d", called, nobody)
		}
		for id, n := range called {
			if n != 1 {
				t.Errorf("ticket %s called %d times", id, n)
			}
		}
	})
}

// The display's live connection sends the office's marker at once and
// again at each call.
func TestQueueDisplayEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := queueSite(t, d, time.Date(2026, 11, 25, 10, 0, 0, 0, hours.Rome))
		poll := booking.DisplayPoll
		booking.DisplayPoll = 20 * time.Millisecond
		t.Cleanup(func() { booking.DisplayPoll = poll })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.plain.URL+"/coda/uffici/anagrafe/eventi", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		lines := bufio.NewScanner(res.Body)
		next := func() string {
			for lines.Scan() {
				if v, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
					return v
				}
			}
			t.Fatalf("the stream ended: %v", lines.Err())
			return ""
		}
		if v := next(); v != "0" {
			t.Fatalf("the first event: %q", v)
		}
		store := s.apps.civico.booking.Store
		dir, err := bookingCatalogue(s.apps.civico.catalog.Store)(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := dir.Office("anagrafe")
		if _, _, err := store.TakeTicket(ctx, o, "carta-identita-elettronica", booking.ChannelOnline, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CallNext(ctx, "anagrafe", "Sportello 1", "op"); err != nil {
			t.Fatal(err)
		}
		if v := next(); v != "1" {
			t.Fatalf("the event after a call: %q", v)
		}
	})
}

// GET /api/v1/bookings: a token with the bookings scope reads its
// resident's appointments only; without the scope, without a token or with
// a made-up one, nothing.
func TestBookingsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := queueSite(t, d, time.Date(2026, 11, 25, 7, 0, 0, 0, hours.Rome))
		giulia, card := s.resident("CNTGLI85M41F205", "GIULIA", "CONTI", "giulia.conti@example.org")
		_, body := giulia.do("GET", s.tls.URL+"/prenota-appuntamento/orario?ufficio=anagrafe&servizio=carta-identita-elettronica", nil)
		m := regexp.MustCompile(`name="inizio" id="f-slot-0" value="(\d+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no slot")
		}
		res, _ := giulia.do("POST", s.tls.URL+"/prenota-appuntamento/conferma", url.Values{"ufficio": {"anagrafe"}, "servizio": {"carta-identita-elettronica"}, "inizio": {m[1]}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("book: %d", res.StatusCode)
		}
		// Its page shows the code as a QR code for the kiosk.
		if res, body := giulia.do("GET", s.tls.URL+res.Header.Get("Location"), nil); res.StatusCode != 200 ||
			!regexp.MustCompile(`aria-labelledby="code-qr-caption"[^>]*><rect[^>]*/><path d="M\d+ \d+h1v1h-1z`).MatchString(body) {
			t.Fatalf("the booking's QR code: %d\n%s", res.StatusCode, section(body))
		}
		_, card2 := s.resident("RSSMRA80A01F205", "MARIO", "ROSSI", "mario.rossi@example.org")

		token := s.apiToken(card, "Agenda personale", "openid", oidcop.ScopeBookings)
		status, _, body := s.api(token, "/api/v1/bookings")
		var got struct {
			Bookings []booking.BookingJSON `json:"bookings"`
			Total    int                   `json:"total"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Total != 1 || len(got.Bookings) != 1 ||
			got.Bookings[0].OfficeName == "" || got.Bookings[0].State != booking.Confirmed {
			t.Fatalf("her bookings: %d %s", status, body)
		}
		other := s.apiToken(card2, "Agenda di Mario", "openid", oidcop.ScopeBookings)
		if status, _, body := s.api(other, "/api/v1/bookings"); status != 200 || !strings.Contains(body, `"total": 0`) {
			t.Fatalf("another resident's token: %d %s", status, body)
		}
		if status, _, _ := s.api(token, "/api/v1/bookings?page=x"); status != http.StatusBadRequest {
			t.Fatalf("a wrong page: %d", status)
		}
		plain := s.apiToken(card, "Biblioteca", "openid")
		if status, auth, _ := s.api(plain, "/api/v1/bookings"); status != http.StatusForbidden || !strings.Contains(auth, "insufficient_scope") {
			t.Fatalf("a token without the scope: %d %s", status, auth)
		}
		for _, tok := range []string{"", "inventato"} {
			if status, auth, _ := s.api(tok, "/api/v1/bookings"); status != http.StatusUnauthorized || !strings.Contains(auth, "Bearer") {
				t.Fatalf("token %q: %d %s", tok, status, auth)
			}
		}
	})
}

// An office's calendar feed: made by an operator and shown once, read by
// a calendar program without a login, holding the code and the service
// but not the resident's name; a new one turns the old off.
func TestOfficeCalendarFeed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := queueSite(t, d, time.Date(2026, 11, 25, 7, 0, 0, 0, hours.Rome))
		giulia, _ := s.resident("CNTGLI85M41F205", "GIULIA", "CONTI", "giulia.conti@example.org")
		_, body := giulia.do("GET", s.tls.URL+"/prenota-appuntamento/orario?ufficio=anagrafe&servizio=carta-identita-elettronica", nil)
		m := regexp.MustCompile(`name="inizio" id="f-slot-0" value="(\d+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no slot")
		}
		res, _ := giulia.do("POST", s.tls.URL+"/prenota-appuntamento/conferma", url.Values{"ufficio": {"anagrafe"}, "servizio": {"carta-identita-elettronica"}, "inizio": {m[1]}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("book: %d", res.StatusCode)
		}
		var code string
		if err := d.QueryRowContext(context.Background(), `SELECT code FROM bookings`).Scan(&code); err != nil {
			t.Fatal(err)
		}
		desk := operatorBrowser(t, s.idSite, "desk1@comune.example.it", "desk")
		feedURL := regexp.MustCompile(`<code class="text-break">(http[^<]+\.ics)</code>`)
		newFeed := func() string {
			t.Helper()
			res, body := desk.do("POST", s.plain.URL+"/backoffice/appuntamenti/uffici/anagrafe/calendario", url.Values{})
			m := feedURL.FindStringSubmatch(body)
			if res.StatusCode != 200 || m == nil {
				t.Fatalf("make the feed: %d\n%s", res.StatusCode, section(body))
			}
			return m[1]
		}
		first := newFeed()
		path := first[strings.Index(first, "/appuntamenti/calendario/"):]
		anon := s.browser(t, nil)
		res, body = anon.do("GET", s.plain.URL+path, nil)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(body, "SUMMARY:Carta d") ||
			!strings.Contains(body, code) || strings.Contains(strings.ToUpper(body), "CONTI") || strings.Contains(body, "giulia") {
			t.Fatalf("the feed: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		// The agenda says a feed exists, without showing its address again.
		if res, body := desk.do("GET", s.plain.URL+"/backoffice/appuntamenti/uffici/anagrafe", nil); res.StatusCode != 200 ||
			!strings.Contains(body, "Un indirizzo del calendario è attivo") || strings.Contains(body, path) {
			t.Fatalf("the agenda after: %d", res.StatusCode)
		}
		second := newFeed()
		if second == first {
			t.Fatal("the same address twice")
		}
		if res, _ := anon.do("GET", s.plain.URL+path, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("the replaced feed: %d", res.StatusCode)
		}
		if res, _ := anon.do("GET", s.plain.URL+"/appuntamenti/calendario/inventato.ics", nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("a made-up feed: %d", res.StatusCode)
		}
	})
}

// A client address takes at most 4 tickets an hour: the fifth is refused
// with 429 and Retry-After, and nothing is stored.
func TestQueueTicketBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := queueSite(t, d, time.Date(2026, 11, 25, 10, 0, 0, 0, hours.Rome))
		b := s.browser(t, nil)
		for range 4 {
			take(t, b, s.tls.URL, "anagrafe", "carta-identita-elettronica")
		}
		res, _ := b.do("POST", s.tls.URL+"/coda/uffici/anagrafe/biglietto", url.Values{"service": {"carta-identita-elettronica"}})
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("the fifth ticket: %d %q", res.StatusCode, res.Header.Get("Retry-After"))
		}
		var n int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM queue_tickets`).Scan(&n); err != nil || n != 4 {
			t.Fatalf("%d tickets stored: %v", n, err)
		}
	})
}
