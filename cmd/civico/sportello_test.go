package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/sportello"
	"golang.org/x/oauth2"
)

// journeyService is a demo service the journey fills; its form is the
// test's own (with a PDF to attach), published as an editor would.
const journeyService = "permesso-sosta-residenti"

const journeyForm = `{"withdrawable": true, "purpose": {"it": "Rilasciare il permesso di sosta.", "en": "To issue the parking permit."}, "fields": [
 {"name": "zona", "type": "choice", "label": {"it": "Zona di sosta", "en": "Parking zone"}, "required": true,
  "options": [{"value": "centro", "label": {"it": "Centro", "en": "Centre"}}, {"value": "crocetta", "label": {"it": "Crocetta", "en": "Crocetta"}}]},
 {"name": "targa", "type": "text", "label": {"it": "Targa del veicolo", "en": "Number plate"}, "required": true, "max_length": 10},
 {"name": "libretto", "type": "file", "accept": ["pdf"], "label": {"it": "Libretto di circolazione", "en": "Vehicle registration"}, "required": true},
 {"name": "conferma", "type": "consent", "label": {"it": "Dichiaro che i dati sono veri", "en": "I declare the data true"}, "required": true}]}`

type sportelloSite struct {
	*idSite
	t *testing.T
}

func newSportelloSite(t *testing.T, d *db.DB) *sportelloSite {
	t.Helper()
	ctx := context.Background()
	if err := ensureDemoCatalog(ctx, d); err != nil {
		t.Fatal(err)
	}
	def, err := sportello.ParseDefinition([]byte(journeyForm))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sportello.NewForms(d, &audit.Log{DB: d}).Seed(ctx, journeyService, def, "test"); err != nil {
		t.Fatal(err)
	}
	return &sportelloSite{idSite: newIDSite(t, d), t: t}
}

// resident logs a card holder in, with a confirmed mail address on the
// account (as linking a password account gives it).
func (s *sportelloSite) resident(first15, given, family, email string) (*browser, *cardca.Card) {
	s.t.Helper()
	card := s.card(s.t, first15, given, family, func(r *cardca.CardRequest) { r.NotAfter = time.Now().AddDate(1, 0, 0) })
	b := s.login(card)
	if email != "" {
		if _, err := s.d.ExecContext(context.Background(), `UPDATE accounts SET email = $1, email_verified_at = $2 WHERE fiscal_code LIKE $3`,
			email, time.Now().UTC(), first15+"%"); err != nil {
			s.t.Fatal(err)
		}
		s.apps.identity.Store.Cache.Sync() // a change behind the processes' back: seen at their next reading
	}
	return b, card
}

// login opens a new browser session with the card.
func (s *sportelloSite) login(card *cardca.Card) *browser {
	s.t.Helper()
	b := s.browser(s.t, card)
	if res, _ := b.do("GET", s.cardLogin(s.t, b, "/area-personale/pratiche"), nil); res.StatusCode != 200 {
		s.t.Fatalf("after the card login: %d", res.StatusCode)
	}
	return b
}

func (s *sportelloSite) mailsTo(to string) []string {
	s.t.Helper()
	if _, _, err := s.worker.DeliverDue(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, m := range s.smtp.Messages() {
		if len(m.To) > 0 && m.To[0] == to {
			out = append(out, m.Subject+"\n"+m.Text)
		}
	}
	return out
}

// multipart posts a form with one file as a browser does.
func (b *browser) multipart(u string, values url.Values, field, name string, data []byte) (*http.Response, string) {
	b.t.Helper()
	return b.postFiles(u, values, formFile{field, name, data})
}

var appIDRE = regexp.MustCompile(`^/area-personale/pratiche/([0-9a-f]{32})/richiedente$`)

// The resident's journey on both engines: start, save, resume from
// another browser session, submit (twice: one application), the receipt
// with its protocol number and its mail; the office takes it (a second
// operator acting on the same page is told), asks for an integration,
// the resident integrates; each step mailed through real SMTP, each on
// the resident's desk; another resident finds nothing.
func TestSportelloJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		base := s.tls.URL
		const mailbox = "luca.ferrari@example.org"
		b, card := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", mailbox)

		// Privacy notice, then the draft.
		res, body := b.do("GET", base+"/servizi-online/"+journeyService, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `name="privacy"`) {
			t.Fatalf("privacy step: %d", res.StatusCode)
		}
		key := regexpFind(t, body, `name="key" value="([0-9a-f]{32})"`)
		res, body = b.do("POST", base+"/servizi-online/"+journeyService, url.Values{"key": {key}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "is-invalid") {
			t.Fatalf("privacy not accepted: %d", res.StatusCode)
		}
		res, _ = b.do("POST", base+"/servizi-online/"+journeyService, url.Values{"key": {key}, "privacy": {"1"}})
		m := appIDRE.FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("start: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		id := m[1]
		app := base + sportello.AreaPath + "/" + id
		// The same privacy form again (a double click): the same draft.
		if res, _ = b.do("POST", base+"/servizi-online/"+journeyService, url.Values{"key": {key}, "privacy": {"1"}}); res.Header.Get("Location") != sportello.AreaPath+"/"+id+"/richiedente" {
			t.Fatalf("a second start: %s", res.Header.Get("Location"))
		}
		// The proven name is not editable; the phone is.
		res, body = b.do("GET", app+"/richiedente", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "LUCA") && !strings.Contains(body, "Luca") {
			t.Fatalf("applicant step: %d", res.StatusCode)
		}
		if res, _ = b.do("POST", app+"/richiedente", url.Values{"given_name": {"Pippo"}, "family_name": {"Ferrari"}, "phone": {"+39 333 1234567"}, "action": {"next"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("applicant saved: %d", res.StatusCode)
		}
		// A NUL in the address, even in a draft saved half filled: refused
		// (it was a failure of PostgreSQL's text). No browser sends one:
		// the form as a whole gets the 400 page (CheckApplicant would
		// refuse it beside its field too).
		res, _ = b.do("POST", app+"/richiedente", url.Values{"phone": {"+39 333 1234567"}, "address": {"Via Frova\x0012"}, "action": {"save"}})
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("a NUL in the address: %d", res.StatusCode)
		}
		// A wrong answer stays beside its field; then saved half-done.
		res, body = b.do("POST", app+"/modulo", url.Values{"zona": {"marte"}, "targa": {"AB123CD"}, "action": {"next"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="AB123CD"`) || !strings.Contains(body, "is-invalid") {
			t.Fatalf("a wrong zone: %d", res.StatusCode)
		}
		if res, _ = b.do("POST", app+"/modulo", url.Values{"zona": {"crocetta"}, "targa": {"AB123CD"}, "action": {"save"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d", res.StatusCode)
		}

		// Another browser session (another device): the draft is there.
		b2 := s.login(card)
		res, body = b2.do("GET", base+sportello.AreaPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, sportello.AreaPath+"/"+id) {
			t.Fatalf("the draft from another session: %d", res.StatusCode)
		}
		res, body = b2.do("GET", app+"/modulo", nil)
		if res.StatusCode != 200 || !strings.Contains(body, `value="AB123CD"`) || !regexp.MustCompile(`value="crocetta" checked`).MatchString(body) {
			t.Fatalf("the saved answers: %d", res.StatusCode)
		}
		// The registration as a program named .pdf: refused beside its
		// field, the answers kept; then the real PDF.
		answers := url.Values{"zona": {"crocetta"}, "targa": {"AB123CD"}, "conferma": {"yes"}, "action": {"next"}}
		res, body = b2.multipart(app+"/modulo", answers, "libretto", "libretto.pdf", attachmentstest.EXE())
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="AB123CD"`) ||
			!regexp.MustCompile(`(?s)id="f-libretto-error"[^>]*>.*?Formato non accettato`).MatchString(body) {
			t.Fatalf("a program as the registration: %d\n%s", res.StatusCode, body)
		}
		libretto := attachmentstest.PDF("Libretto di circolazione AB123CD")
		if res, _ = b2.multipart(app+"/modulo", answers, "libretto", "libretto.pdf", libretto); res.Header.Get("Location") != sportello.AreaPath+"/"+id+"/riepilogo" {
			t.Fatalf("form step: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res, body = b2.do("GET", app+"/riepilogo", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "AB123CD") || !strings.Contains(body, "Crocetta") || strings.Contains(body, "Pippo") {
			t.Fatalf("summary: %d", res.StatusCode)
		}
		if res, _ = b2.do("POST", app+"/invia", url.Values{}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("sent without confirming: %d", res.StatusCode)
		}
		// Two clicks at once: one application, one number.
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", app+"/invia", strings.NewReader("confirm=1"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if res, err := b2.c.Do(req); err != nil || res.StatusCode != http.StatusSeeOther {
					t.Errorf("submit: %v %v", res, err)
				} else {
					res.Body.Close()
				}
			})
		}
		wg.Wait()
		res, body = b2.do("GET", app+"/ricevuta", nil)
		protocolNo := regexp.MustCompile(`\d{4}/\d{7}`).FindString(body)
		if res.StatusCode != 200 || protocolNo == "" {
			t.Fatalf("receipt: %d", res.StatusCode)
		}
		if n := s.count(t, "protocol_entries"); n != 1 {
			t.Fatalf("%d protocol entries", n)
		}
		if res, body = b.do("GET", app+"/ricevuta.pdf", nil); res.StatusCode != 200 || !strings.HasPrefix(body, "%PDF-") {
			t.Fatalf("PDF receipt: %d", res.StatusCode)
		}
		mails := s.mailsTo(mailbox)
		if len(mails) != 1 || !strings.Contains(mails[0], protocolNo) || strings.Contains(mails[0], "AB123CD") {
			t.Fatalf("the receipt's mail: %q", mails)
		}

		// Another resident: not in their list, 404 to read, to act.
		other, _ := s.resident("BNCGLI80A41F205", "GIULIA", "BIANCHI", "")
		if res, body = other.do("GET", base+sportello.AreaPath, nil); res.StatusCode != 200 || strings.Contains(body, id) {
			t.Fatalf("another's list: %d", res.StatusCode)
		}
		for _, p := range []string{"", "/ricevuta", "/ricevuta.pdf", "/modulo"} {
			if res, _ = other.do("GET", app+p, nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("another resident GET %s: %d", p, res.StatusCode)
			}
		}
		if res, _ = other.do("POST", app+"/messaggi", url.Values{"note": {"ciao"}}); res.StatusCode != http.StatusNotFound {
			t.Errorf("another resident's message: %d", res.StatusCode)
		}

		// The office: two operators on the same page; the first takes it.
		desk1 := operatorBrowser(t, s.idSite, "desk1@comune.example.it", "desk")
		desk2 := operatorBrowser(t, s.idSite, "desk2@comune.example.it", "desk")
		if res, body = desk1.do("GET", s.plain.URL+"/backoffice/pratiche?coda=da-assegnare", nil); res.StatusCode != 200 || !strings.Contains(body, protocolNo) {
			t.Fatalf("the queue to assign: %d", res.StatusCode)
		}
		// A search is kept to 100 bytes of whole characters.
		q := "x" + strings.Repeat("è", 60)
		if res, body = desk1.do("GET", s.plain.URL+"/backoffice/pratiche?coda=aperte&q="+url.QueryEscape(q), nil); res.StatusCode != 200 ||
			strings.Contains(body, protocolNo) || !strings.Contains(body, `value="`+q[:99]+`"`) {
			t.Errorf("a long search: %d", res.StatusCode)
		}
		if res, _ = b.do("GET", s.plain.URL+"/backoffice/pratiche/"+id, nil); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
			t.Fatalf("a resident in the back office: %d", res.StatusCode)
		}
		bo := s.plain.URL + "/backoffice/pratiche/" + id
		res, page1 := desk1.do("GET", bo, nil)
		if res.StatusCode != 200 {
			t.Fatalf("the office's page: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		_, page2 := desk2.do("GET", bo, nil)
		seen := regexpFind(t, page1, `name="seen" value="([^"]+)"`)
		if regexpFind(t, page2, `name="seen" value="([^"]+)"`) != seen || !strings.Contains(page1, protocolNo) {
			t.Fatal("the two pages differ")
		}
		if res, _ = desk1.do("POST", bo+"/presa-in-carico", url.Values{"seen": {seen}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("take: %d", res.StatusCode)
		}
		res, body = desk2.do("POST", bo+"/presa-in-carico", url.Values{"seen": {seen}})
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Nel frattempo la pratica è cambiata") {
			t.Fatalf("the second operator: %d", res.StatusCode)
		}
		if a, err := s.apps.civico.sportello.Store.ForOffice(ctx, id); err != nil || a.AssigneeID != accountByEmail(t, s, "desk1@comune.example.it") {
			t.Fatalf("taken by %q (%v), want the first operator", a.AssigneeID, err)
		}
		_, page1 = desk1.do("GET", bo, nil)
		seen = regexpFind(t, page1, `name="seen" value="([^"]+)"`)
		if res, body = desk1.do("POST", bo+"/integrazione", url.Values{"seen": {seen}, "form": {"integration"}, "note": {"Serve il libretto di circolazione"}, "days": {"40"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Serve il libretto di circolazione") {
			t.Fatalf("40 days of integration: %d", res.StatusCode)
		}
		if res, _ = desk1.do("POST", bo+"/integrazione", url.Values{"seen": {seen}, "form": {"integration"}, "note": {"Serve il libretto di circolazione"}, "days": {"10"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("integration: %d", res.StatusCode)
		}

		// The resident: the request on the desk, awaiting them.
		panels := s.apps.civico.sportello
		accID, fc := accountOf(t, s, "FRRLCU78H15C707")
		desk := area.Resident{AccountID: accID, FiscalCode: fc, Level: assurance.High, Lang: "it"}
		sum, err := panels.Panel(ctx, desk)
		if err != nil || sum.Awaiting != 1 || len(sum.Items) != 1 || !sum.Items[0].Awaiting || sum.Items[0].Href != sportello.AreaPath+"/"+id {
			t.Fatalf("the desk's panel: %+v %v", sum, err)
		}
		res, body = b.do("GET", app, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Serve il libretto di circolazione") || !strings.Contains(body, `action="`+sportello.AreaPath+"/"+id+`/integrazione"`) {
			t.Fatalf("the detail with the request: %d", res.StatusCode)
		}
		if res, _ = b.do("POST", app+"/integrazione", url.Values{"note": {"Il veicolo è in comproprietà con mia moglie"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("integrate: %d", res.StatusCode)
		}
		if res, _ = b.do("POST", app+"/integrazione", url.Values{"note": {"Di nuovo"}}); res.StatusCode != http.StatusConflict {
			t.Fatalf("a second integration: %d", res.StatusCode)
		}
		if res, body = b.do("GET", app, nil); res.StatusCode != 200 {
			t.Fatalf("the detail: %d", res.StatusCode)
		}
		for _, want := range []string{protocolNo, "Serve il libretto di circolazione", "Il veicolo è in comproprietà con mia moglie"} {
			if !strings.Contains(body, want) {
				t.Errorf("the detail lacks %q", want)
			}
		}
		mails = s.mailsTo(mailbox)
		if len(mails) != 4 { // registered, taken, integration asked, integrated
			t.Fatalf("%d mails, want 4: %q", len(mails), mails)
		}
		for _, m := range mails {
			if !strings.Contains(m, protocolNo) || strings.Contains(m, "libretto") || !strings.Contains(m, sportello.AreaPath+"/"+id) {
				t.Errorf("mail %q", m)
			}
		}
		sum, _ = panels.Panel(ctx, desk)
		if sum.Awaiting != 0 || len(sum.Items) != 1 || sum.Items[0].Awaiting {
			t.Fatalf("the desk after the integration: %+v", sum)
		}
		// Every step of it in the audit log.
		records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Subject: "application:" + id, Limit: 50})
		var acts []string
		for _, r := range records {
			acts = append(acts, r.Action)
		}
		for _, want := range []string{"sportello.application.submitted", "sportello.application.take", "sportello.application.request_integration", "sportello.application.integrate"} {
			if !strings.Contains(strings.Join(acts, " "), want) {
				t.Errorf("audit lacks %s: %v", want, acts)
			}
		}

		// The registration was the resident's upload until the submit
		// made it the application's, in the same transaction.
		owned := func(owner attachments.Owner) int {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM attachments WHERE owner = $1`, string(owner)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		record := attachments.Record("sportello", "application", id)
		if n, left := owned(record), owned(attachments.Account(accID)); n != 1 || left != 0 { // the PDF moved; the refused program was never kept
			t.Fatalf("the application owns %d files, the resident %d (the refused upload must not be kept either)", n, left)
		}

		// The office accepts: a reply document is needed, a program is
		// refused beside the file input with the reason kept, then the
		// PDF goes through, registered on the way out.
		_, page1 = desk1.do("GET", bo, nil)
		seen = regexpFind(t, page1, `name="seen" value="([^"]+)"`)
		accept := url.Values{"seen": {seen}, "form": {"accept"}, "note": {"Requisiti verificati"}}
		if res, body = desk1.do("POST", bo+"/accoglimento", accept); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Allega il documento di risposta") {
			t.Fatalf("accepted without a reply: %d", res.StatusCode)
		}
		res, body = desk1.multipart(bo+"/accoglimento", accept, "file", "permesso.pdf", attachmentstest.HTML())
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Requisiti verificati") ||
			!regexp.MustCompile(`(?s)id="f-accept-file-error"[^>]*>Formato non accettato`).MatchString(body) {
			t.Fatalf("a web page as the reply: %d\n%s", res.StatusCode, body)
		}
		reply := attachmentstest.PDF("Permesso di sosta n. 42, zona Crocetta")
		if res, _ = desk1.multipart(bo+"/accoglimento", accept, "file", "permesso.pdf", reply); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("accept: %d", res.StatusCode)
		}
		if n := owned(record); n != 2 {
			t.Fatalf("the application owns %d files after the reply, want 2", n)
		}
		if n := s.count(t, "protocol_entries"); n != 2 {
			t.Fatalf("%d protocol entries after the reply, want 2", n)
		}

		// The resident downloads both documents; another resident finds
		// neither.
		res, body = b.do("GET", app, nil)
		docs := regexp.MustCompile(`href="`+regexp.QuoteMeta(sportello.AreaPath+"/"+id)+`/documenti/([0-9a-f]{32})"`).FindAllStringSubmatch(body, -1)
		if res.StatusCode != 200 || len(docs) != 2 {
			t.Fatalf("the accepted application's documents: %d %v", res.StatusCode, docs)
		}
		got := map[string]bool{}
		for _, m := range docs {
			res, body := b.do("GET", app+"/documenti/"+m[1], nil)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("download %s: %d %s", m[1], res.StatusCode, res.Header.Get("Content-Type"))
			}
			got[body] = true
			if res, _ = other.do("GET", app+"/documenti/"+m[1], nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("another resident's download: %d", res.StatusCode)
			}
		}
		if !got[string(reply)] || !got[string(libretto)] {
			t.Fatal("the downloads are not the registration and the reply")
		}
		if a, err := s.apps.civico.sportello.Store.ForOffice(ctx, id); err != nil || a.State != sportello.Accepted {
			t.Fatalf("the application after the reply: %v %v", a, err)
		}
	})
}

func accountOf(t *testing.T, s *sportelloSite, first15 string) (id, fiscalCode string) {
	t.Helper()
	if err := s.d.QueryRowContext(context.Background(), `SELECT id, fiscal_code FROM accounts WHERE fiscal_code LIKE $1`, first15+"%").Scan(&id, &fiscalCode); err != nil {
		t.Fatal(err)
	}
	return id, fiscalCode
}

func accountByEmail(t *testing.T, s *sportelloSite, email string) string {
	t.Helper()
	a, err := s.apps.identity.Store.ByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// apiToken runs an outside application's login with the card and
// returns the access token the provider issued for scopes.
func (s *sportelloSite) apiToken(card *cardca.Card, name string, scopes ...string) string {
	t := s.t
	t.Helper()
	ctx := context.Background()
	c, secret := s.addClient(t, oidcop.NewClient{Name: name, RedirectURIs: []string{outsideRedirect}, Scopes: scopes})
	rp := s.relyingParty(t, c.ID, secret, outsideRedirect, scopes...)
	b := s.ssoBrowser(t, card)
	a := rp.start()
	last, _, _, _ := b.follow(a.url, outsideRedirect)
	next, _ := url.Parse(last)
	last, res, body, _ := b.follow(s.cardLogin(t, b, next.Query().Get("next")), outsideRedirect)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `action="/oidc/consenso"`) {
		t.Fatalf("consent: %d at %s", res.StatusCode, last)
	}
	res, _ = b.do("POST", s.tls.URL+"/oidc/consenso", url.Values{"id": {regexpFind(t, body, `name="id" value="([^"]+)"`)}, "decision": {"allow"}})
	base, _ := url.Parse(s.tls.URL)
	loc, _ := base.Parse(res.Header.Get("Location"))
	last, _, _, _ = b.follow(loc.String(), outsideRedirect)
	tok, err := rp.oauth.Exchange(ctx, rp.callback(a, last).Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok.AccessToken
}

func (s *sportelloSite) api(token, path string) (int, string, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.plain.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("WWW-Authenticate"), string(b)
}

// The API gives a resident's applications to an application they let
// read them (scope applications), and nothing to anyone else.
func TestSportelloAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		_, card := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", "")
		accID, _ := accountOf(t, s, "FRRLCU78H15C707")
		acc, err := s.apps.identity.Store.ByID(ctx, accID)
		if err != nil {
			t.Fatal(err)
		}
		st := s.apps.civico.sportello.Store
		se := &identity.Session{Assurance: assurance.High}
		mine, err := st.Start(ctx, journeyService, acc, se, "0123456789abcdef0123456789abcdef", "")
		if err != nil {
			t.Fatal(err)
		}
		o := sportello.OwnerOf(acc, se)
		libretto, err := s.apps.civico.sportello.Uploads.Put(ctx, accID, "libretto.pdf", bytes.NewReader(attachmentstest.PDF("Libretto ZZ999ZZ")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Save(ctx, mine.ID, o, sportello.DraftEdit{Answers: sportello.Answers{"zona": {"centro"}, "targa": {"ZZ999ZZ"}, "conferma": {"yes"}, "libretto": {libretto.ID}},
			Fields: []string{"zona", "targa", "libretto", "conferma"}}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Submit(ctx, mine.ID, o, ""); err != nil {
			t.Fatal(err)
		}

		token := s.apiToken(card, "Fascicolo del cittadino", "openid", oidcop.ScopeApplications)
		code, _, body := s.api(token, "/api/v1/applications")
		if code != 200 || !strings.Contains(body, mine.ID) || !strings.Contains(body, `"state": "registered"`) || strings.Contains(body, "ZZ999ZZ") {
			t.Fatalf("the list: %d %s", code, body)
		}
		code, _, body = s.api(token, "/api/v1/applications/"+mine.ID)
		if code != 200 || !strings.Contains(body, "ZZ999ZZ") || !strings.Contains(body, `"history"`) {
			t.Fatalf("the detail: %d %s", code, body)
		}
		// Another resident's application, and one that does not exist.
		card2 := s.card(t, "BNCGLI80A41F205", "GIULIA", "BIANCHI", func(r *cardca.CardRequest) { r.NotAfter = time.Now().AddDate(1, 0, 0) })
		token2 := s.apiToken(card2, "Fascicolo di Giulia", "openid", oidcop.ScopeApplications)
		if code, _, body = s.api(token2, "/api/v1/applications/"+mine.ID); code != http.StatusNotFound {
			t.Fatalf("another's application: %d %s", code, body)
		}
		if code, _, body = s.api(token2, "/api/v1/applications"); code != 200 || strings.Contains(body, mine.ID) {
			t.Fatalf("another's list: %d %s", code, body)
		}
		// The OpenAPI document names both, with the scope.
		if code, _, body = s.api("", "/api/v1/openapi.json"); code != 200 || !strings.Contains(body, `"/applications/{id}"`) || !strings.Contains(body, `{"oidc": ["applications"]}`) {
			t.Fatalf("openapi: %d", code)
		}
		// A token without the scope, a tampered one, none.
		plain := s.apiToken(card, "Biblioteca", "openid")
		if code, auth, _ := s.api(plain, "/api/v1/applications"); code != http.StatusForbidden || !strings.Contains(auth, "insufficient_scope") {
			t.Fatalf("without the scope: %d %s", code, auth)
		}
		tampered := []byte(token)
		tampered[len(tampered)/2] ^= 1
		for _, bad := range []string{string(tampered), ""} {
			if code, auth, _ := s.api(bad, "/api/v1/applications"); code != http.StatusUnauthorized || !strings.Contains(auth, "Bearer") {
				t.Fatalf("token %.10q: %d %s", bad, code, auth)
			}
		}
	})
}

// The privacy step is public, so the catalogue can link it: an anonymous
// visitor reads the notice and is offered the login the service needs (the
// card, for a service at "high"), and comes back to it; starting is not
// public. A password session is offered the card, not the form.
func TestSportelloPrivacyStepIsPublic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		base := s.tls.URL
		start := "/servizi-online/" + journeyService
		anon := s.browser(t, nil)
		res, body := anon.do("GET", base+start, nil)
		if res.StatusCode != 200 {
			t.Fatalf("anonymous privacy step: %d", res.StatusCode)
		}
		if strings.Contains(body, `name="privacy"`) || !strings.Contains(body, `href="/accedi/carta?next=`+url.QueryEscape(start)+`"`) {
			t.Errorf("an anonymous visitor is not offered the card login back to the service:\n%s", body)
		}
		if strings.Contains(body, "accedi al portale") {
			t.Error("a service at high offers the password login")
		}
		res, _ = anon.do("POST", base+start, url.Values{"privacy": {"1"}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/accedi") {
			t.Errorf("an anonymous start: %d %s, want the login", res.StatusCode, loc)
		}
		var n int
		if err := d.QueryRowContext(context.Background(), `SELECT count(*) FROM sportello_applications`).Scan(&n); err != nil || n != 0 {
			t.Errorf("an anonymous start left %d applications (%v)", n, err)
		}
		// The catalogue's service page leads here.
		res, body = anon.do("GET", base+"/servizi/mobilita-e-trasporti/"+journeyService, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `href="`+start+`"`) {
			t.Errorf("the service page does not lead to its online request: %d", res.StatusCode)
		}
	})
}
