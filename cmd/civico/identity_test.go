package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
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

func newIDSite(t testing.TB, d *db.DB) *idSite {
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
	cfg := config{
		BaseURL: "http://" + plain.Listener.Addr().String(), PartecipaBaseURL: "http://" + part.Listener.Addr().String(),
		TLSBaseURL: "https://" + tlsSrv.Listener.Addr().String(), CRSCAFile: f.CA, CRSCRLFile: f.CRL,
		SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, SecretKey: testSecretKey,
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
type browser struct {
	t *testing.T
	c *http.Client
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

func TestRegistrationVerificationAndLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := s.browser(t, nil)
		base := s.plain.URL
		form := url.Values{"email": {"Sara.Galli@Example.org"}, "password": {"tram-per-Sesto-alle-7"}, "password2": {"tram-per-Sesto-alle-7"},
			"fiscal_code": {"glls ra85t50 f205x"}, "given_name": {"Sara"}, "family_name": {"Galli"}, "privacy": {"1"}}

		// Bad input: a message beside each wrong field, input kept, nothing created.
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("fiscal_code", "GLLSRA85T50F205A")
		bad.Set("password", "password123")
		bad.Set("password2", "password123")
		res, body := b.do("POST", base+"/registrati", bad)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-fiscal_code-error"`) ||
			!strings.Contains(body, "L&#39;ultimo carattere del codice fiscale") || !strings.Contains(body, `id="f-password-error"`) ||
			!strings.Contains(body, `value="Sara.Galli@Example.org"`) || strings.Contains(body, "password123") {
			t.Fatalf("invalid registration: %d\n%s", res.StatusCode, body)
		}

		code, _ := cf.Complete("GLLSRA85T50F205")
		form.Set("fiscal_code", strings.ToLower(string(code)))
		res, body = b.do("POST", base+"/registrati", form)
		if res.StatusCode != 200 || !strings.Contains(body, "Ti abbiamo scritto") {
			t.Fatalf("registration: %d", res.StatusCode)
		}
		// Not verified yet: a right password is told to verify, and gets the link again.
		res, _ = b.do("POST", base+"/accedi", url.Values{"email": {"sara.galli@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("login before verification: %d", res.StatusCode)
		}
		msgs := s.deliver(t, 2)
		if msgs[0].To[0] != "sara.galli@example.org" || !strings.Contains(msgs[0].Subject, "Conferma il tuo indirizzo — Comune di Cinisello Balsamo") {
			t.Fatalf("verification mail: %+v", msgs[0])
		}
		// The first link stopped working when the second was sent.
		if res, _ := b.do("POST", base+"/verifica-email", url.Values{"token": {tokenOf(t, msgs[0])}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("superseded link: %d", res.StatusCode)
		}
		tok := tokenOf(t, msgs[1])
		// Opening the link only shows a button: a mail scanner's GET verifies nothing.
		if res, body := b.do("GET", base+"/verifica-email?token="+tok, nil); res.StatusCode != 200 || !strings.Contains(body, `name="token" value="`+tok+`"`) {
			t.Errorf("verification page: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", base+"/verifica-email", url.Values{"token": {tok}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("verification: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", base+"/verifica-email", url.Values{"token": {tok}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a used link worked twice: %d", res.StatusCode)
		}

		res, _ = b.do("POST", base+"/accedi", url.Values{"email": {"SARA.GALLI@example.org"}, "password": {"tram-per-Sesto-alle-7"}, "next": {"/profilo"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profilo" {
			t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		c := res.Cookies()[0]
		if c.Name != identity.SessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
			t.Errorf("session cookie %+v", c)
		}
		status, me := b.me(base)
		if status != 200 || me.FiscalCode != string(code) || me.Assurance != "low" || me.GivenName != "Sara" {
			t.Fatalf("/api/v1/me = %d %+v", status, me)
		}
		res, body = b.do("GET", base+"/profilo", nil)
		if res.StatusCode != 200 || !strings.Contains(body, `value="1985-12-10"`) || !strings.Contains(body, "Sara Galli") ||
			!strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			t.Errorf("profile with the birth date from the fiscal code: %d", res.StatusCode)
		}
		// One account per address and per fiscal code, without telling a stranger so.
		other := s.browser(t, nil)
		res, body = other.do("POST", base+"/registrati", form)
		if res.StatusCode != 200 || !strings.Contains(body, "Ti abbiamo scritto") {
			t.Errorf("duplicate registration answered %d", res.StatusCode)
		}
		form2 := url.Values{}
		for k, v := range form {
			form2[k] = v
		}
		form2.Set("email", "sara.g@example.org")
		other.do("POST", base+"/registrati", form2)
		msgs = s.deliver(t, 4)
		if !strings.Contains(msgs[2].Text, "ha già un account") || msgs[3].To[0] != "sara.g@example.org" || !strings.Contains(msgs[3].Text, "esiste già un account con il codice fiscale") {
			t.Errorf("duplicate notices: %q / %q", msgs[2].Text, msgs[3].Text)
		}
		var n int
		d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM accounts`).Scan(&n)
		if n != 1 {
			t.Errorf("%d accounts after duplicate registrations", n)
		}

		if res, _ := b.do("POST", base+"/esci", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("logout: %d", res.StatusCode)
		}
		if status, _ := b.me(base); status != http.StatusUnauthorized {
			t.Errorf("after logout /api/v1/me = %d", status)
		}
	})
}

func TestLoginThrottlingDoesNotRevealAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		svc := s.apps.identity
		now := time.Now()
		svc.Throttle.Now = func() time.Time { return now }
		code, _ := cf.Complete("RSSMRA85T10A562")
		if _, err := svc.ImportResident(context.Background(), identity.Registration{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7",
			Password2: "tram-per-Sesto-alle-7", FiscalCode: string(code), GivenName: "Mario", FamilyName: "Rossi", AcceptPrivacy: true}, "test"); err != nil {
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
		// Even the right password waits its turn.
		res, body := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "riprova tra") {
			t.Errorf("right password while throttled: %d", res.StatusCode)
		}
		now = now.Add(3 * time.Second)
		if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("right password after the wait: %d", res.StatusCode)
		}
		// Ten failures lock the address for the window.
		// Each attempt after its delay (at most 64 s by the ninth), all within the window.
		for range 10 {
			now = now.Add(70 * time.Second)
			if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"nobody2@example.org"}, "password": {"x"}}); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("an attempt after its delay: %d", res.StatusCode)
			}
		}
		wait, err := svc.Throttle.Wait(context.Background(), "nobody2@example.org", "")
		if err != nil || wait < 10*time.Minute {
			t.Errorf("after ten failures the wait is %v, %v", wait, err)
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
		code, _ := cf.Complete("CLMNNA82M62F205")
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.Registration{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7",
			Password2: "tram-per-Sesto-alle-7", FiscalCode: string(code), GivenName: "Anna", FamilyName: "Colombo", AcceptPrivacy: true}, "test"); err != nil {
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
		msgs := s.deliver(t, 1)
		tok := tokenOf(t, msgs[0])
		if res, body := b.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tok}, "password": {"qwertyuiop123"}, "password2": {"qwertyuiop123"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "troppo comune") {
			t.Errorf("weak new password: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tok}, "password": {"nuova-Password-del-2026"}, "password2": {"nuova-Password-del-2026"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tok}, "password": {"altra-Password-del-2026"}, "password2": {"altra-Password-del-2026"}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a reset link worked twice: %d", res.StatusCode)
		}
		if st, _ := old.me(s.plain.URL); st != http.StatusUnauthorized {
			t.Error("the session opened with the old password survived the reset")
		}
		if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {"nuova-Password-del-2026"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("login with the new password: %d", res.StatusCode)
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
		if status != 200 || me.Assurance != "high" || me.FiscalCode != string(code) || me.GivenName != "Luca" || me.Method != "crs" {
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
		records, err := (&audit.Log{DB: d}).List(context.Background(), audit.ListFilter{Action: "login.crs.refused", Limit: 50})
		if err != nil || len(records) != len(cases) {
			t.Errorf("%d refusals in the audit log, want %d (%v)", len(records), len(cases), err)
		}
	})
}

type asn1OID = asn1.ObjectIdentifier

func htmlEscape(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

// A page that needs the card sends a password session to the card login
// and brings the resident back.
func TestStepUpToTheCard(t *testing.T) {
	s := newIDSite(t, dbtest.SQLite(t))
	id := &identity.Web{App: s.apps.portal, Svc: s.apps.identity}
	s.apps.portal.Mux.HandleFunc("GET /test/riservato", id.Require(assurance.High)(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "riservato") }))
	code, _ := cf.Complete("BNCGLI90A41F205")
	if _, err := s.apps.identity.ImportResident(context.Background(), identity.Registration{Email: "giulia@example.org", Password: "tram-per-Sesto-alle-7",
		Password2: "tram-per-Sesto-alle-7", FiscalCode: string(code), GivenName: "Giulia", FamilyName: "Bianchi", AcceptPrivacy: true}, "test"); err != nil {
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
	res, _ = b.do("GET", base+"/test/riservato", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accedi/carta?next=%2Ftest%2Friservato" {
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
	if _, me := b.me(base); me.Assurance != "high" || me.Email != "giulia@example.org" {
		t.Errorf("the card login did not reach the password account: %+v", me)
	}
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
		secret := regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`).FindStringSubmatch(body)
		token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body)
		if secret == nil || token == nil {
			t.Fatalf("no enrolment form:\n%s", body)
		}
		if res, _ := b.do("POST", base+"/accedi/codice", url.Values{"token": {token[1]}, "secret": {secret[1]}, "code": {"000000"}}); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong code: %d", res.StatusCode)
		}
		// The pending login is spent: start again.
		_, body = b.do("POST", base+"/accedi", url.Values{"email": {"admin@comune.example.it"}, "password": {"Sportello-Prima-Volta-1"}})
		token = regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(body)
		secret = regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`).FindStringSubmatch(body)
		totp, _ := identity.TOTPCode(secret[1], time.Now())
		res, _ = b.do("POST", base+"/accedi/codice", url.Values{"token": {token[1]}, "secret": {secret[1]}, "code": {totp}})
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
		code, _ := cf.Complete("RSSMRA85T10A562")
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.Registration{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7",
			Password2: "tram-per-Sesto-alle-7", FiscalCode: string(code), GivenName: "Mario", FamilyName: "Rossi", AcceptPrivacy: true}, "test"); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t, nil)
		b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		res, body := b.do("GET", s.plain.URL+"/profilo/dati.json", nil)
		var export struct {
			Account map[string]any `json:"account"`
		}
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &export) != nil || export.Account["fiscal_code"] != string(code) {
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
		if _, err := s.apps.identity.Store.ByFiscalCode(context.Background(), string(code)); err == nil {
			t.Error("the fiscal code survived the closure")
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
		code, _ := cf.Complete("RSSMRA85T10A562")
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.Registration{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7",
			Password2: "tram-per-Sesto-alle-7", FiscalCode: string(code), GivenName: "Mario", FamilyName: "Rossi", AcceptPrivacy: true}, "bench"); err != nil {
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
		s := newIDSiteB(b)
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
