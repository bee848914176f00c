package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/crs"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/mail/mailtest"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// idSite is the portal served over plain HTTP and over TLS with smart-card
// login, with a real SMTP server receiving its mail.
type idSite struct {
	d        *db.DB
	apps     *apps
	plain    *httptest.Server
	tls      *httptest.Server
	part     *httptest.Server // Partecipa
	smtp     *mailtest.Server
	worker   *mail.Worker
	ca       *cardca.Authority
	roots    *x509.CertPool
	cfg      config
	verifier *crs.Verifier
}

func newIDSiteB(b *testing.B) *idSite { return newIDSite(b, dbtest.SQLite(b)) }

func newTunedIDSiteB(b *testing.B, tune func(*config)) *idSite {
	return newTunedIDSite(b, dbtest.SQLite(b), tune)
}

func newIDSite(t testing.TB, d *db.DB) *idSite { return newTunedIDSite(t, d, nil) }

// newTunedIDSite is newIDSite with some settings changed, as an
// installation would change them.
func newTunedIDSite(t testing.TB, d *db.DB, tune func(*config)) *idSite {
	t.Helper()
	ctx := context.Background()
	towns := town.NewStore(d, time.Minute)
	if err := ensureDemo(ctx, towns); err != nil {
		t.Fatal(err)
	}
	ca, err := cardca.Init(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := ca.Files()
	plain := httptest.NewUnstartedServer(nil)
	tlsSrv := httptest.NewUnstartedServer(nil)
	part := httptest.NewUnstartedServer(nil)
	cfg := testConfig(t)
	cfg.BaseURL, cfg.PartecipaBaseURL = "http://"+plain.Listener.Addr().String(), "http://"+part.Listener.Addr().String()
	cfg.TLSBaseURL, cfg.CRSCAFile, cfg.CRSCRLFile = "https://"+tlsSrv.Listener.Addr().String(), f.CA, f.CRL
	// Tests speak through a trusted proxy (127.0.0.1) when they need to
	// be many clients: X-Forwarded-For then names each one.
	cfg.TrustedProxies, _ = web.ParseProxies("127.0.0.1")
	if tune != nil {
		tune(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cards, err := newCardReader(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	a, err := buildApps(cfg, d, towns, log, cards)
	if err != nil {
		t.Fatal(err)
	}
	h := a.portal.Handler()
	plain.Config.Handler = h
	plain.Start()
	tlsSrv.Config.Handler = h
	if tlsSrv.TLS, err = crs.TLSConfig(f.ServerCert, f.ServerKey); err != nil {
		t.Fatal(err)
	}
	tlsSrv.StartTLS()
	part.Config.Handler = a.partecipa.Handler()
	part.Start()
	t.Cleanup(func() { plain.Close(); tlsSrv.Close(); part.Close() })

	smtpSrv := mailtest.Start(t)
	sender, err := mail.NewSMTPSender(smtpSrv.URL(), "noreply@comune.example.it")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert())
	return &idSite{d: d, apps: a, plain: plain, tls: tlsSrv, part: part, smtp: smtpSrv, ca: ca, roots: roots, cfg: cfg, verifier: cards.verifier,
		worker: &mail.Worker{Outbox: &mail.Outbox{DB: d}, Sender: sender, From: "noreply@comune.example.it"}}
}

// browser is a client with its own cookies; with a card it presents it.
// from, when set, is the client address it appears to come from, through
// the trusted proxy the test sites are configured with.
type browser struct {
	t    *testing.T
	c    *http.Client
	from string
}

func (s *idSite) browser(t *testing.T, card *cardca.Card) *browser {
	jar, _ := cookiejar.New(nil)
	tc := &tls.Config{RootCAs: s.roots}
	if card != nil {
		tc.Certificates = []tls.Certificate{{Certificate: [][]byte{card.Cert.Raw}, PrivateKey: card.Key, Leaf: card.Cert}}
	}
	return &browser{t: t, c: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// formFile is a file a test browser sends in a multipart form.
type formFile struct {
	Field, Name string
	Data        []byte
}

// postFiles posts a multipart form, its fields and files, as a browser
// does.
func (b *browser) postFiles(u string, values url.Values, files ...formFile) (*http.Response, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range values {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, _ := mw.CreateFormFile(f.Field, f.Name)
		_, _ = fw.Write(f.Data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", u, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

func (b *browser) do(method, u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.from != "" {
		req.Header.Set("X-Forwarded-For", b.from)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

func (b *browser) me(base string) (int, identity.Me) {
	res, body := b.do("GET", base+"/api/v1/me", nil)
	var me identity.Me
	if res.StatusCode == 200 {
		if err := json.Unmarshal([]byte(body), &me); err != nil {
			b.t.Fatalf("/api/v1/me: %v in %q", err, body)
		}
	}
	return res.StatusCode, me
}

// deliver sends the outbox to the SMTP server and returns what arrived.
func (s *idSite) deliver(t *testing.T, want int) []mailtest.Received {
	t.Helper()
	if _, _, err := s.worker.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.smtp.WaitFor(t, want, 5*time.Second)
}

var linkRE = regexp.MustCompile(`https?://\S+token=[A-Za-z0-9_-]+`)

func tokenOf(t *testing.T, m mailtest.Received) string {
	t.Helper()
	link := linkRE.FindString(m.Text)
	if link == "" {
		t.Fatalf("no link in mail %q", m.Text)
	}
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}

func (s *idSite) card(t *testing.T, first15, given, family string, edit func(*cardca.CardRequest)) *cardca.Card {
	t.Helper()
	code, err := cf.Complete(first15)
	if err != nil {
		t.Fatal(err)
	}
	req := cardca.CardRequest{FiscalCode: string(code), GivenName: given, FamilyName: family}
	if edit != nil {
		edit(&req)
	}
	c, err := s.ca.IssueCard(req)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// register asks for a registration link and completes it, returning the
// browser logged in.
func (s *idSite) register(t *testing.T, b *browser, email, given, family, password string) {
	t.Helper()
	if res, _ := b.do("POST", s.plain.URL+"/registrati", url.Values{"email": {email}, "privacy": {"1"}}); res.StatusCode != 200 {
		t.Fatalf("registration request: %d", res.StatusCode)
	}
	msgs := s.deliverTo(t, email)
	res, _ := b.do("POST", s.plain.URL+"/registrati/completa", url.Values{"token": {tokenOf(t, msgs[len(msgs)-1])}, "given_name": {given},
		"family_name": {family}, "password": {password}, "password2": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("completing the registration: %d", res.StatusCode)
	}
}

// linkByCard links the password account of email into the account of the
// card logged in on b, as its holder does from the profile: the address and
// password, then the link mailed to that address, followed in b.
func (s *idSite) linkByCard(t *testing.T, b *browser, email, password string) {
	t.Helper()
	s.askLink(t, b, email, password)
	s.followLink(t, b, email, s.linkToken(t, email))
}

// askLink gives the address and password of the account to link in the
// card session of b.
func (s *idSite) askLink(t *testing.T, b *browser, email, password string) {
	t.Helper()
	res, _ := b.do("POST", s.tls.URL+"/profilo/collega", url.Values{"link_email": {email}, "link_password": {password}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profilo?collegamento=inviato" {
		t.Fatalf("asking to link %s: %d to %q", email, res.StatusCode, res.Header.Get("Location"))
	}
}

// linkToken is the token of the last linking link mailed to email.
func (s *idSite) linkToken(t *testing.T, email string) string {
	t.Helper()
	msgs := s.deliverTo(t, email)
	m := msgs[len(msgs)-1]
	if !strings.Contains(m.Text, "/profilo/collega/conferma?token=") {
		t.Fatalf("the last mail to %s holds no linking link: %q", email, m.Text)
	}
	return tokenOf(t, m)
}

// followLink follows a linking link in b and confirms it.
func (s *idSite) followLink(t *testing.T, b *browser, email, token string) {
	t.Helper()
	if res, body := b.do("GET", s.tls.URL+"/profilo/collega/conferma?token="+token, nil); res.StatusCode != http.StatusOK || !strings.Contains(body, email) {
		t.Fatalf("the linking link: %d %s", res.StatusCode, body)
	}
	if res, _ := b.do("POST", s.tls.URL+"/profilo/collega/conferma", url.Values{"token": {token}}); res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != "/profilo?collegato=1" {
		t.Fatalf("confirming the link: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// inRegister puts a person in the population register, the fiscal code
// given by its first 15 characters, and returns the whole code.
func (s *idSite) inRegister(t *testing.T, p population.Person) cf.Code {
	t.Helper()
	code, _ := cf.Complete(p.FiscalCode)
	p.FiscalCode = string(code)
	if err := (&population.Register{DB: s.d}).Put(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return code
}

// download fetches the download of the logged-in person's data.
func (b *browser) download(t *testing.T, base string) (string, map[string]json.RawMessage) {
	t.Helper()
	res, body := b.do("GET", base+"/profilo/dati.json", nil)
	var out map[string]json.RawMessage
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("download: %d %s", res.StatusCode, body)
	}
	return body, out
}

// deliverTo sends the outbox and returns what arrived for one address.
func (s *idSite) deliverTo(t *testing.T, to string) []mailtest.Received {
	t.Helper()
	if _, _, err := s.worker.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []mailtest.Received
	deadline := time.Now().Add(5 * time.Second)
	for len(out) == 0 && time.Now().Before(deadline) {
		out = out[:0]
		for _, m := range s.smtp.Messages() {
			if len(m.To) > 0 && m.To[0] == to {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no mail for %s", to)
	}
	return out
}

func (s *idSite) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Registration proves the address first: the account exists only once
// someone who reads the mailbox completes it, and it carries no fiscal code.
func TestRegistrationByLinkAndLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := s.browser(t, nil)
		base := s.plain.URL

		// Bad input: a message beside each wrong field, input kept, nothing sent.
		res, body := b.do("POST", base+"/registrati", url.Values{"email": {"not an address"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-email-error"`) || !strings.Contains(body, `id="f-privacy-error"`) ||
			!strings.Contains(body, `value="not an address"`) {
			t.Fatalf("invalid registration: %d\n%s", res.StatusCode, body)
		}
		if n := s.count(t, "mail_outbox"); n != 0 {
			t.Fatalf("a refused form queued %d mails", n)
		}
		// A fiscal code sent along is not a field any more: ignored.
		form := url.Values{"email": {"Sara.Galli@Example.org"}, "privacy": {"1"}, "fiscal_code": {"GLLSRA85T50F205K"}, "given_name": {"<a href=x>"}}
		res, body = b.do("POST", base+"/registrati", form)
		if res.StatusCode != 200 || !strings.Contains(body, "riceverai a breve un messaggio") {
			t.Fatalf("registration: %d", res.StatusCode)
		}
		if n := s.count(t, "accounts"); n != 0 {
			t.Fatalf("%d accounts before the address was proven", n)
		}
		// Asked again while the link lives: the same page, no second mail.
		b.do("POST", base+"/registrati", form)
		msgs := s.deliverTo(t, "sara.galli@example.org")
		if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "Completa la registrazione — Comune di Cinisello Balsamo") {
			t.Fatalf("registration mails: %d %+v", len(msgs), msgs)
		}
		if strings.Contains(msgs[0].Text, "<a") || strings.Contains(msgs[0].Text, "GLLSRA") {
			t.Errorf("the mail to an unproven address carries what the requester typed: %q", msgs[0].Text)
		}
		tok := tokenOf(t, msgs[0])
		// Opening the link shows the form with the address; a dead link
		// says so before anyone types a password.
		if res, body := b.do("GET", base+"/registrati/completa?token="+tok, nil); res.StatusCode != 200 || !strings.Contains(body, "sara.galli@example.org") {
			t.Errorf("completion page: %d", res.StatusCode)
		}
		if res, body := b.do("GET", base+"/registrati/completa?token=nope", nil); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "/registrati") || strings.Contains(body, `name="password"`) {
			t.Errorf("dead link page: %d", res.StatusCode)
		}
		complete := url.Values{"token": {tok}, "given_name": {"Sara"}, "family_name": {"Galli"}, "password": {"password123"}, "password2": {"password123"}}
		if res, body := b.do("POST", base+"/registrati/completa", complete); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-password-error"`) || !strings.Contains(body, `value="Sara"`) || strings.Contains(body, "password123") {
			t.Fatalf("weak password: %d", res.StatusCode)
		}
		complete.Set("password", "tram-per-Sesto-alle-7")
		complete.Set("password2", "tram-per-Sesto-alle-7")
		res, _ = b.do("POST", base+"/registrati/completa", complete)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profilo?benvenuto=1" {
			t.Fatalf("completion: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := s.browser(t, nil).do("POST", base+"/registrati/completa", complete); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a registration link worked twice: %d", res.StatusCode)
		}
		status, me := b.me(base)
		if status != 200 || me.FiscalCode != "" || me.Assurance != "low" || me.GivenName != "Sara" || me.Sources["name"] != "self" || me.Sources["email"] != "email_link" {
			t.Fatalf("/api/v1/me = %d %+v", status, me)
		}
		if res, body := b.do("GET", base+"/profilo?benvenuto=1", nil); res.StatusCode != 200 || !strings.Contains(body, "Benvenuto") || strings.Contains(body, `name="birth_date"`) ||
			!strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			t.Errorf("profile: %d", res.StatusCode)
		}
		b.do("POST", base+"/esci", url.Values{})
		if status, _ := b.me(base); status != http.StatusUnauthorized {
			t.Errorf("after logout /api/v1/me = %d", status)
		}
		res, _ = b.do("POST", base+"/accedi", url.Values{"email": {"SARA.GALLI@example.org"}, "password": {"tram-per-Sesto-alle-7"}, "next": {"/profilo"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profilo" {
			t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		var session, device *http.Cookie
		for _, c := range res.Cookies() {
			switch c.Name {
			case identity.SessionCookie:
				session = c
			case identity.DeviceCookie:
				device = c
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || device == nil || !device.HttpOnly {
			t.Errorf("cookies %+v %+v", session, device)
		}
		// The address has an account now: registering it again gives the
		// same page, and its owner a mail saying so, with a reset link.
		if res, body := s.browser(t, nil).do("POST", base+"/registrati", form); res.StatusCode != 200 || !strings.Contains(body, "riceverai a breve un messaggio") {
			t.Errorf("registering a taken address: %d", res.StatusCode)
		}
		msgs = s.deliverTo(t, "sara.galli@example.org")
		last := msgs[len(msgs)-1]
		if len(msgs) != 2 || !strings.Contains(last.Text, "ha già un account") || !strings.Contains(last.Text, "/reimposta-password?token=") {
			t.Errorf("notice to the address's owner: %q", last.Text)
		}
		if n := s.count(t, "accounts"); n != 1 {
			t.Errorf("%d accounts", n)
		}
	})
}

func TestLoginThrottlingDoesNotRevealAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		svc := s.apps.identity
		now := time.Now()
		svc.Limiter.Now = func() time.Time { return now }
		if _, err := svc.ImportResident(context.Background(), identity.NewResident{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Mario", FamilyName: "Rossi"}, "test"); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t, nil)
		for _, email := range []string{"mario@example.org", "nobody@example.org"} {
			var statuses []int
			for range 4 {
				res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {email}, "password": {"wrong-password-xyz"}})
				statuses = append(statuses, res.StatusCode)
			}
			// Three free attempts, then a wait: the same for a real and an unknown address.
			if want := []int{401, 401, 401, 429}; !equalInts(statuses, want) {
				t.Errorf("%s: statuses %v, want %v", email, statuses, want)
			}
		}
		// Even the right password waits its turn, and is told how long.
		res, body := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "riprova tra") || res.Header.Get("Retry-After") == "" {
			t.Errorf("right password while throttled: %d", res.StatusCode)
		}
		now = now.Add(3 * time.Second)
		if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("right password after the wait: %d", res.StatusCode)
		}
		// Ten failures lock the address from this client for the window,
		// each attempt after its delay (at most 64 s by the ninth).
		for range 10 {
			now = now.Add(70 * time.Second)
			if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"nobody2@example.org"}, "password": {"x"}}); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("an attempt after its delay: %d", res.StatusCode)
			}
		}
		now = now.Add(70 * time.Second)
		res, _ = b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"nobody2@example.org"}, "password": {"x"}})
		if wait, _ := strconv.Atoi(res.Header.Get("Retry-After")); res.StatusCode != http.StatusTooManyRequests || wait < 10*60 {
			t.Errorf("after ten failures: %d, Retry-After %s", res.StatusCode, res.Header.Get("Retry-After"))
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPasswordReset(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Anna", FamilyName: "Colombo"}, "test"); err != nil {
			t.Fatal(err)
		}
		old := s.browser(t, nil)
		old.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		if st, _ := old.me(s.plain.URL); st != 200 {
			t.Fatal("login before reset failed")
		}
		b := s.browser(t, nil)
		_, known := b.do("POST", s.plain.URL+"/password-dimenticata", url.Values{"email": {"anna@example.org"}})
		_, unknown := b.do("POST", s.plain.URL+"/password-dimenticata", url.Values{"email": {"nessuno@example.org"}})
		strip := regexp.MustCompile(`(?s)<head>.*</head>|X-Request-Id`)
		if strip.ReplaceAllString(known, "") != strip.ReplaceAllString(unknown, "") {
			t.Error("the reset page answers differently for a known and an unknown address")
		}
		// Asking again while the link lives sends nothing and kills nothing.
		b.do("POST", s.plain.URL+"/password-dimenticata", url.Values{"email": {"anna@example.org"}})
		msgs := s.deliverTo(t, "anna@example.org")
		if len(msgs) != 1 {
			t.Fatalf("%d reset mails, want 1", len(msgs))
		}
		if strings.Contains(msgs[0].Text, "Anna") {
			t.Errorf("the reset mail carries the account's name: %q", msgs[0].Text)
		}
		tok := tokenOf(t, msgs[0])
		if res, body := b.do("GET", s.plain.URL+"/reimposta-password?token="+tok, nil); res.StatusCode != 200 || !strings.Contains(body, `name="password"`) {
			t.Errorf("reset page: %d", res.StatusCode)
		}
		if res, body := b.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tok}, "password": {"qwertyuiop123"}, "password2": {"qwertyuiop123"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "troppo comune") {
			t.Errorf("weak new password: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tok}, "password": {"nuova-Password-del-2026"}, "password2": {"nuova-Password-del-2026"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tok}, "password": {"altra-Password-del-2026"}, "password2": {"altra-Password-del-2026"}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a reset link worked twice: %d", res.StatusCode)
		}
		// A used link says so when opened, before anyone types a password.
		if res, body := b.do("GET", s.plain.URL+"/reimposta-password?token="+tok, nil); res.StatusCode != http.StatusBadRequest || strings.Contains(body, `name="password"`) ||
			!strings.Contains(body, `href="/password-dimenticata"`) {
			t.Errorf("used link page: %d", res.StatusCode)
		}
		if st, _ := old.me(s.plain.URL); st != http.StatusUnauthorized {
			t.Error("the session opened with the old password survived the reset")
		}
		// The browsers logged in before are forgotten; the one that
		// followed the link is trusted (it reads the mailbox).
		if n := s.count(t, "trusted_devices"); n != 1 {
			t.Errorf("%d browsers trusted after the reset, want 1: the one that reset the password", n)
		}
		if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {"nuova-Password-del-2026"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("login with the new password: %d", res.StatusCode)
		}
		// The unknown address got a mail of the same shape: one link, to
		// registration.
		if m := s.deliverTo(t, "nessuno@example.org"); len(m) != 1 || !strings.Contains(m[0].Text, "/registrati/completa?token=") {
			t.Errorf("mail to an address without account: %+v", m)
		}
	})
}

func TestSmartCardLoginOverTLS(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		base := s.tls.URL
		valid := s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
		b := s.browser(t, valid)
		res, _ := b.do("GET", base+"/login/crs?next=/profilo", nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profilo" {
			t.Fatalf("card login: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if c := res.Cookies()[0]; !c.Secure || !c.HttpOnly {
			t.Errorf("over TLS the session cookie must be Secure: %+v", c)
		}
		status, me := b.me(base)
		code, _ := cf.Complete("FRRLCU78H15C707")
		if status != 200 || me.Assurance != "high" || me.FiscalCode != string(code) || me.GivenName != "Luca" || me.Method != "crs" ||
			me.Sources["fiscal_code"] != "cns" || me.Sources["name"] != "cns" || me.Sources["sex_and_birth_date"] != "fiscal_code" {
			t.Fatalf("/api/v1/me after card login = %d %+v", status, me)
		}
		// A second login links to the same account.
		b2 := s.browser(t, valid)
		b2.do("GET", base+"/login/crs", nil)
		if _, me2 := b2.me(base); me2.ID != me.ID {
			t.Error("a second card login created another account")
		}

		past := time.Now().AddDate(-2, 0, 0)
		other, err := cardca.NewOther(filepath.Join(t.TempDir(), "other"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		foreign, err := other.IssueCard(cardca.CardRequest{FiscalCode: string(code)})
		if err != nil {
			t.Fatal(err)
		}
		revoked := s.card(t, "BNCGLI90A41F205", "GIULIA", "BIANCHI", nil)
		if err := s.ca.Revoke(revoked.Cert.SerialNumber, time.Now()); err != nil {
			t.Fatal(err)
		}
		// The verifier looks at the CRL file at most once a second.
		time.Sleep(1100 * time.Millisecond)
		cases := []struct {
			name, reason string
			card         *cardca.Card
		}{
			{"expired", "expired", s.card(t, "CLMNNA82M62F205", "", "", func(r *cardca.CardRequest) { r.NotBefore, r.NotAfter = past, past.AddDate(1, 0, 0) })},
			{"not yet valid", "not_yet_valid", s.card(t, "CLMNNA82M62F205", "", "", func(r *cardca.CardRequest) {
				r.NotBefore, r.NotAfter = time.Now().AddDate(0, 1, 0), time.Now().AddDate(1, 0, 0)
			})},
			{"other authority", "unknown_authority", foreign},
			{"revoked", "revoked", revoked},
			{"without the CNS policy", "no_policy", s.card(t, "CLMNNA82M62F205", "", "", func(r *cardca.CardRequest) { r.Policies = []asn1OID{} })},
			{"malformed CN", "bad_subject", s.card(t, "CLMNNA82M62F205", "", "", func(r *cardca.CardRequest) { r.CommonName = "CLMNNA82M62F205K" })},
			{"wrong check character", "bad_fiscal_code", s.card(t, "CLMNNA82M62F205", "", "", func(r *cardca.CardRequest) {
				r.CommonName = "CLMNNA82M62F205A/1234567890123456.aGFzaA=="
			})},
			{"no card", "no_certificate", nil},
		}
		var before int
		d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM accounts`).Scan(&before)
		for _, tt := range cases {
			b := s.browser(t, tt.card)
			res, body := b.do("GET", base+"/login/crs", nil)
			msg := s.apps.portal.I18n.T("it", "crs.refused."+tt.reason)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, htmlEscape(msg)) {
				t.Errorf("%s: %d, want 403 saying %q", tt.name, res.StatusCode, msg)
			}
			if len(res.Cookies()) > 0 {
				t.Errorf("%s: a refused card got a cookie", tt.name)
			}
		}
		var after int
		d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM accounts`).Scan(&after)
		if after != before {
			t.Errorf("refused cards created %d accounts", after-before)
		}
		// Every certificate refused is in the audit log; a visit without
		// any card presented nothing and is not.
		records, err := (&audit.Log{DB: d}).List(context.Background(), audit.ListFilter{Action: "login.crs.refused", Limit: 50})
		if err != nil || len(records) != len(cases)-1 {
			t.Errorf("%d refusals in the audit log, want %d (%v)", len(records), len(cases)-1, err)
		}
	})
}

type asn1OID = asn1.ObjectIdentifier

func htmlEscape(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

// A page that needs the card sends a password session to the card login
// and brings the resident back. The card opens the card holder's own
// account, never the password account that asked; the resident may then
// link the two by proving, in the same browser, that the password account
// is theirs.
func TestStepUpToTheCardAndLinking(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		id := &identity.Web{App: s.apps.portal, Svc: s.apps.identity}
		s.apps.portal.Mux.HandleFunc("GET /test/riservato", id.Require(assurance.High)(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "riservato") }))
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "giulia@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Giulia", FamilyName: "Bianchi"}, "test"); err != nil {
			t.Fatal(err)
		}
		card := s.card(t, "BNCGLI90A41F205", "GIULIA", "BIANCHI", nil)
		b := s.browser(t, card)
		base := s.tls.URL
		res, _ := b.do("GET", base+"/test/riservato", nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accedi?next=%2Ftest%2Friservato" {
			t.Fatalf("anonymous: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		b.do("POST", base+"/accedi", url.Values{"email": {"giulia@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		_, passwordMe := b.me(base)
		res, _ = b.do("GET", base+"/test/riservato", nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accedi/carta?livello=high&next=%2Ftest%2Friservato" {
			t.Fatalf("password session: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		_, body := b.do("GET", base+"/accedi/carta?next=%2Ftest%2Friservato", nil)
		link := regexp.MustCompile(`href="(https://[^"]+/login/crs\?next=[^"]+)"`).FindStringSubmatch(body)
		if link == nil {
			t.Fatal("the step-up page has no card login link")
		}
		res, _ = b.do("GET", strings.ReplaceAll(link[1], "&amp;", "&"), nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/test/riservato" {
			t.Fatalf("card login from step-up: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, body = b.do("GET", base+"/test/riservato", nil)
		if res.StatusCode != 200 || body != "riservato" {
			t.Errorf("after the card: %d %q", res.StatusCode, body)
		}
		_, cardMe := b.me(base)
		if cardMe.Assurance != "high" || cardMe.Email != "" || cardMe.ID == passwordMe.ID || cardMe.FiscalCode == "" {
			t.Fatalf("the card entered the password account: %+v", cardMe)
		}
		// Linking: a wrong password changes nothing...
		_, body = b.do("GET", base+"/profilo", nil)
		if !strings.Contains(body, `action="/profilo/collega"`) {
			t.Fatal("the card holder's profile offers no linking")
		}
		if res, body := b.do("POST", base+"/profilo/collega", url.Values{"link_email": {"giulia@example.org"}, "link_password": {"sbagliata-davvero"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-link_email-error"`) {
			t.Fatalf("linking with a wrong password: %d", res.StatusCode)
		}
		// ...the right one mails the address a link and changes nothing
		// yet; asking again while it lives sends nothing more...
		s.askLink(t, b, "giulia@example.org", "tram-per-Sesto-alle-7")
		s.askLink(t, b, "giulia@example.org", "tram-per-Sesto-alle-7")
		if _, me := b.me(base); me.Email != "" {
			t.Fatalf("linked before the mailed link was followed: %+v", me)
		}
		if msgs := s.deliverTo(t, "giulia@example.org"); len(msgs) != 1 {
			t.Errorf("%d linking mails for two asks", len(msgs))
		}
		_, body = b.do("GET", base+"/profilo?collegamento=inviato", nil)
		if !strings.Contains(body, "Abbiamo scritto all&#39;indirizzo") {
			t.Error("the profile does not say a link was mailed")
		}
		// ...and the link, followed in the card's session, moves the
		// address and the password to the card's account.
		s.followLink(t, b, "giulia@example.org", s.linkToken(t, "giulia@example.org"))
		if _, me := b.me(base); me.ID != cardMe.ID || me.Email != "giulia@example.org" || me.Assurance != "high" {
			t.Errorf("after linking: %+v", me)
		}
		// A password login now reaches that account, at the low level and
		// without the fiscal code the card proved.
		pw := s.browser(t, nil)
		pw.do("POST", base+"/accedi", url.Values{"email": {"giulia@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		if _, me := pw.me(base); me.ID != cardMe.ID || me.Assurance != "low" || me.FiscalCode != "" {
			t.Errorf("password login after linking: %+v", me)
		}
		if old, err := s.apps.identity.Store.ByID(context.Background(), passwordMe.ID); err != nil || old.ClosedAt == nil {
			t.Errorf("the password account was not closed: %v", err)
		}
		// A password session cannot link anything.
		if res, _ := pw.do("POST", base+"/profilo/collega", url.Values{"link_email": {"x@example.org"}, "link_password": {"whatever-xyz"}}); res.StatusCode != http.StatusSeeOther ||
			!strings.HasPrefix(res.Header.Get("Location"), "/accedi/carta") {
			t.Errorf("linking from a password session: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func TestOperatorsNeedASecondFactorAndRolesAreChecked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		svc := s.apps.identity
		if _, err := svc.CreateOperator(ctx, identity.NewOperator{Email: "admin@comune.example.it", Roles: []string{"admin"}}, "Sportello-Prima-Volta-1", "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateOperator(ctx, identity.NewOperator{Email: "desk@comune.example.it", Roles: []string{"desk"}}, "Sportello-Prima-Volta-2", "test"); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t, nil)
		base := s.plain.URL
		res, body := b.do("POST", base+"/accedi", url.Values{"email": {"admin@comune.example.it"}, "password": {"Sportello-Prima-Volta-1"}})
		if res.StatusCode != 200 || len(res.Cookies()) != 0 {
			t.Fatalf("an operator's password alone: %d, cookies %v", res.StatusCode, res.Cookies())
		}
		secretRE := regexp.MustCompile(`<code class="fs-5">([A-Z2-7]+)</code>`)
		tokenRE := regexp.MustCompile(`name="token" value="([^"]+)"`)
		secret, token := secretRE.FindStringSubmatch(body), tokenRE.FindStringSubmatch(body)
		if secret == nil || token == nil || !strings.Contains(body, "<svg") || strings.Contains(body, `name="secret"`) {
			t.Fatalf("no enrolment form with a QR code:\n%s", body)
		}
		// A wrong code asks again, with the same secret: the one the
		// operator already added to the app.
		res, body = b.do("POST", base+"/accedi/codice", url.Values{"token": {token[1]}, "code": {"000000"}})
		if again := secretRE.FindStringSubmatch(body); res.StatusCode != http.StatusUnauthorized || again == nil || again[1] != secret[1] || tokenRE.FindStringSubmatch(body)[1] != token[1] {
			t.Fatalf("wrong code: %d, the secret kept: %v", res.StatusCode, again)
		}
		// A new password login shows the same secret too, until a code succeeds.
		_, body = b.do("POST", base+"/accedi", url.Values{"email": {"admin@comune.example.it"}, "password": {"Sportello-Prima-Volta-1"}})
		token = tokenRE.FindStringSubmatch(body)
		if again := secretRE.FindStringSubmatch(body); again == nil || again[1] != secret[1] {
			t.Fatalf("the enrolment secret changed at the next login: %v", again)
		}
		totp, _ := identity.TOTPCode(secret[1], time.Now())
		res, _ = b.do("POST", base+"/accedi/codice", url.Values{"token": {token[1]}, "code": {totp}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("right code: %d", res.StatusCode)
		}
		if _, me := b.me(base); len(me.Roles) != 1 || me.Roles[0] != "admin" {
			t.Errorf("operator /api/v1/me: %+v", me)
		}
		// The same code again, from another browser with the password: refused.
		other := s.browser(t, nil)
		_, body = other.do("POST", base+"/accedi", url.Values{"email": {"admin@comune.example.it"}, "password": {"Sportello-Prima-Volta-1"}})
		if token = regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body); token == nil {
			t.Fatalf("no code form for an enrolled operator:\n%s", body)
		}
		if res, _ := other.do("POST", base+"/accedi/codice", url.Values{"token": {token[1]}, "code": {totp}}); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("a one-time code used twice: %d", res.StatusCode)
		}
		res, body = b.do("GET", base+"/backoffice/operatori", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "desk@comune.example.it") {
			t.Fatalf("operators page: %d", res.StatusCode)
		}
		desk, _ := svc.Store.ByEmail(ctx, "desk@comune.example.it")
		if res, _ := b.do("POST", base+"/backoffice/operatori/"+desk.ID+"/ruoli", url.Values{"role": {"finance"}, "action": {"grant"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("grant: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", base+"/backoffice/operatori/"+desk.ID+"/ruoli", url.Values{"role": {"king"}, "action": {"grant"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("unknown role: %d", res.StatusCode)
		}
		me, _ := svc.Store.ByEmail(ctx, "admin@comune.example.it")
		if res, _ := b.do("POST", base+"/backoffice/operatori/"+me.ID+"/ruoli", url.Values{"role": {"admin"}, "action": {"revoke"}}); res.StatusCode != http.StatusConflict {
			t.Errorf("the last admin removed their own role: %d", res.StatusCode)
		}
		desk, _ = svc.Store.ByEmail(ctx, "desk@comune.example.it")
		if !desk.HasRole("finance") {
			t.Error("the role was not granted")
		}
		// A resident or an operator without the role is refused.
		if res, _ := s.browser(t, nil).do("GET", base+"/backoffice/operatori", nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("anonymous back office: %d", res.StatusCode)
		}
		records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "role.granted", Limit: 10})
		if len(records) != 3 {
			t.Errorf("%d role grants in the audit log, want 3", len(records))
		}
		if n, err := (&audit.Log{DB: d}).Verify(ctx); err != nil || n == 0 {
			t.Errorf("audit chain: %d, %v", n, err)
		}
	})
}

func TestPrivacyExportAndClosure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Mario", FamilyName: "Rossi"}, "test"); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t, nil)
		b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		res, body := b.do("GET", s.plain.URL+"/profilo/dati.json", nil)
		var export struct {
			Account map[string]any `json:"account"`
		}
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &export) != nil || export.Account["email"] != "mario@example.org" ||
			export.Account["sources"] == nil {
			t.Fatalf("export: %d %s", res.StatusCode, body)
		}
		if strings.Contains(body, "argon2") {
			t.Error("the export contains the password hash")
		}
		if res, _ := b.do("POST", s.plain.URL+"/profilo/chiudi", url.Values{}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("closure without confirmation: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", s.plain.URL+"/profilo/chiudi", url.Values{"confirm": {"1"}}); res.StatusCode != 200 {
			t.Fatalf("closure: %d", res.StatusCode)
		}
		if st, _ := b.me(s.plain.URL); st != http.StatusUnauthorized {
			t.Error("still logged in after closing the account")
		}
		if _, err := s.apps.identity.Store.ByEmail(context.Background(), "mario@example.org"); err == nil {
			t.Error("the address survived the closure")
		}
		msgs := s.deliver(t, 1)
		if !strings.Contains(msgs[0].Subject, "Account chiuso") {
			t.Errorf("closure mail: %q", msgs[0].Subject)
		}
	})
}

// Every reason a card can be refused for has a message in every language.
func TestCardRefusalsAreTranslated(t *testing.T) {
	x, err := web.NewI18n(web.Messages, identity.Messages)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range crs.Reasons {
		for _, lang := range web.Languages {
			if !x.Has(lang, r.MessageID()) {
				t.Errorf("%s lacks %s", lang, r.MessageID())
			}
		}
	}
}

// BenchmarkLogin measures whole logins through the portal: a password
// (argon2id dominates) and a smart card over TLS (a new TLS connection each
// time, as a browser logging in makes).
func BenchmarkLogin(b *testing.B) {
	b.Run("password", func(b *testing.B) {
		s := newIDSiteB(b)
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Mario", FamilyName: "Rossi"}, "bench"); err != nil {
			b.Fatal(err)
		}
		form := url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}}.Encode()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := client.Post(s.plain.URL+"/accedi", "application/x-www-form-urlencoded", strings.NewReader(form))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusSeeOther {
					b.Fatalf("login: %d", res.StatusCode)
				}
			}
		})
	})
	b.Run("card", func(b *testing.B) {
		// One card logs in b.N times: its budget of logins an hour raised.
		s := newTunedIDSiteB(b, func(c *config) { c.Limits.CardLogins = 1 << 30 })
		code, _ := cf.Complete("FRRLCU78H15C707")
		card, err := s.ca.IssueCard(cardca.CardRequest{FiscalCode: string(code), GivenName: "LUCA", FamilyName: "FERRARI"})
		if err != nil {
			b.Fatal(err)
		}
		tc := &tls.Config{RootCAs: s.roots, Certificates: []tls.Certificate{{Certificate: [][]byte{card.Cert.Raw}, PrivateKey: card.Key, Leaf: card.Cert}}}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true},
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				res, err := client.Get(s.tls.URL + "/login/crs")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusSeeOther {
					b.Fatalf("card login: %d", res.StatusCode)
				}
			}
		})
	})
}

// The download of one's data holds everything civico keeps about the
// person, from every feature: the account with its sources, sessions, the
// audit entries, the applications allowed and logged into, the news
// subscription, and the population register's record when a login proved
// the fiscal code.
func TestExportHoldsEverythingAboutThePerson(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		s.inRegister(t, population.Person{FiscalCode: "FRRLCU78H15C707", District: "Crocetta", Sex: "M", BirthDate: "1978-06-15"})
		card := s.ssoBrowser(t, s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil))
		card.do("GET", s.tls.URL+"/login/crs", nil)
		c, secret := s.addClient(t, newTrustedClient())
		s.relyingParty(t, c.ID, secret, outsideRedirect, "openid", "profile").login(t, card)
		_, got := card.download(t, s.tls.URL)
		for key, want := range map[string]string{"account": `"cns"`, "sessions": `"crs"`, "audit_log": `"login.crs.ok"`,
			"single_sign_on": `"Ufficio tributi"`, "population_register": `"Crocetta"`} {
			if !strings.Contains(string(got[key]), want) {
				t.Errorf("the card holder's export: %s lacks %s: %s", key, want, got[key])
			}
		}
		// A password resident: no register record, their subscription.
		b := s.browser(t, nil)
		s.passwordResident(t, b, "anna@example.org")
		if res, _ := b.do("POST", s.plain.URL+"/novita/iscriviti", url.Values{"email": {"anna@example.org"}, "topics": {"trasporto-pubblico"}}); res.StatusCode != 200 {
			t.Fatalf("subscription: %d", res.StatusCode)
		}
		_, got = b.download(t, s.plain.URL)
		if !strings.Contains(string(got["news_subscription"]), "trasporto-pubblico") || string(got["population_register"]) != "null" {
			t.Errorf("the password resident's export: subscription %s, register %s", got["news_subscription"], got["population_register"])
		}
	})
}

// Closing an account never gives a second voice: the person's next account,
// made by their next proven login, takes the closed one's subject (the
// pairwise subject Partecipa counts people by), once; a claimed fiscal
// code leaves nothing behind.
func TestClosedAccountsSubjectGoesToTheNextAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		code, _ := cf.Complete("FRRLCU78H15C707")
		login := func() *identity.Account {
			card, err := s.ca.IssueCard(cardca.CardRequest{FiscalCode: string(code), GivenName: "LUCA", FamilyName: "FERRARI"})
			if err != nil {
				t.Fatal(err)
			}
			holder, err := s.verifier.Verify([]*x509.Certificate{card.Cert}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.apps.identity.LoginCard(ctx, identity.CardHolder{FiscalCode: string(holder.FiscalCode), Proof: holder.Proof}, holder.Proof, "192.0.2.1", "test")
			if err != nil {
				t.Fatal(err)
			}
			return r.Account
		}
		first := login()
		if first.Subject() != first.ID {
			t.Fatalf("a first account's subject %q, want its id", first.Subject())
		}
		if err := s.apps.identity.CloseAccount(ctx, first, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		var macs int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_successors WHERE fiscal_code_mac = $1 OR fiscal_code_mac LIKE '%' || $1 || '%'`, string(code)).Scan(&macs); err != nil || macs != 0 {
			t.Fatalf("the fiscal code is stored in clear among the successors (%d, %v)", macs, err)
		}
		second := login()
		if second.ID == first.ID || second.Subject() != first.ID {
			t.Fatalf("the next account: id %s, subject %s; want a new id with the closed account's subject %s", second.ID, second.Subject(), first.ID)
		}
		again, err := s.apps.identity.Store.ByID(ctx, second.ID)
		if err != nil || again.Subject() != first.ID {
			t.Fatalf("the next account as stored: %v, %v", again, err)
		}
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_successors`).Scan(&macs); err != nil || macs != 0 {
			t.Errorf("%d successions left after the next account took it (%v)", macs, err)
		}
		// Closed again, and again a new account: still the same subject.
		if err := s.apps.identity.CloseAccount(ctx, second, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		third := login()
		if third.Subject() != first.ID {
			t.Errorf("the third account's subject %s, want %s", third.Subject(), first.ID)
		}
		// A fiscal code only claimed (an old registration form's) leaves
		// nothing behind when its account closes.
		if _, err := d.ExecContext(ctx, `UPDATE accounts SET fiscal_code_source = 'self' WHERE id = $1`, third.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.apps.identity.CloseAccount(ctx, third, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_successors`).Scan(&macs); err != nil || macs != 0 {
			t.Errorf("a claimed fiscal code's closure left %d successions (%v)", macs, err)
		}
		// An account an administrator makes with the proven code (the
		// town hires the person: an operator whose card opens the back
		// office) is the same person too (outside review: it had a
		// subject of its own, and a second answer and voice).
		fourth := login()
		if err := s.apps.identity.CloseAccount(ctx, fourth, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		op, err := s.apps.identity.CreateOperator(ctx, identity.NewOperator{Email: "luca.ferrari@comune.example.it", FiscalCode: string(code),
			GivenName: "Luca", FamilyName: "Ferrari", Roles: []string{"desk"}}, "Sportello-Prima-Volta-1", "test")
		if err != nil {
			t.Fatal(err)
		}
		if op.Subject() != fourth.Subject() {
			t.Errorf("the operator account of the person: subject %s, want %s", op.Subject(), fourth.Subject())
		}
		if byCard := login(); byCard.ID != op.ID || byCard.Subject() != fourth.Subject() {
			t.Errorf("the card opens %s (subject %s), want the operator %s with subject %s", byCard.ID, byCard.Subject(), op.ID, fourth.Subject())
		}
	})
}

// passwordSession imports a resident with a password and logs them in
// through the login form; it returns the session's cookie ("name=value").
func (s *idSite) passwordSession(t testing.TB, email, given string) string {
	t.Helper()
	if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: email, Password: "tram-per-Sesto-alle-7",
		GivenName: given, FamilyName: "Test"}, "test"); err != nil {
		t.Fatal(err)
	}
	login, err := noRedirect.PostForm(s.plain.URL+"/accedi", url.Values{"email": {email}, "password": {"tram-per-Sesto-alle-7"}})
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	for _, c := range login.Cookies() {
		if c.Name == identity.SessionCookie {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session after login")
	return ""
}
