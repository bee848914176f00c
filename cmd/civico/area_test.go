package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/town"
)

// areaSite is the portal with features that contribute panels to the
// personal area, as later features will (Host.Panel).
type areaSite struct {
	d    *db.DB
	apps *apps
	srv  *httptest.Server
}

func newAreaSite(t testing.TB, d *db.DB, panels ...feature.Feature) *areaSite {
	t.Helper()
	ctx := context.Background()
	towns := town.NewStore(d, time.Minute)
	if err := ensureDemo(ctx, towns); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoCatalog(ctx, d); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.DataDir, cfg.BaseURL, cfg.PartecipaBaseURL = t.TempDir(), "http://portal.test", "http://partecipa.test"
	a, err := buildApps(cfg, d, towns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, panels...)
	if err != nil {
		t.Fatal(err)
	}
	s := &areaSite{d: d, apps: a, srv: httptest.NewServer(a.portal.Handler())}
	t.Cleanup(s.srv.Close)
	return s
}

// resident creates a password account and logs it in through the login
// form, returning the account's id and the session cookie.
func (s *areaSite) resident(t testing.TB, email, given string) (string, string) {
	t.Helper()
	a, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: email, Password: "tram-per-Sesto-alle-7",
		GivenName: given, FamilyName: "Test"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	res, err := noRedirect.PostForm(s.srv.URL+"/accedi", url.Values{"email": {email}, "password": {"tram-per-Sesto-alle-7"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != area.Home {
		t.Fatalf("a login without a return address leads to %d %q, want the personal area", res.StatusCode, loc)
	}
	for _, c := range res.Cookies() {
		if c.Name == identity.SessionCookie {
			return a.ID, c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return "", ""
}

func (s *areaSite) post(t testing.TB, accountID string, m area.Message) string {
	t.Helper()
	var id string
	if err := s.d.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = s.apps.inbox.Post(context.Background(), tx, accountID, m)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *areaSite) do(t testing.TB, method, path, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if method == http.MethodPost {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func outboxTo(t testing.TB, d *db.DB, to string) []mail.Stored {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), `SELECT id FROM mail_outbox WHERE to_addr = $1 ORDER BY id`, to)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var out []mail.Stored
	for _, id := range ids {
		m, err := (&mail.Outbox{DB: d}).Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// The header leads to the personal area, a login without a return address
// lands there, and a login that asked for one goes back to it.
func TestPersonalAreaIsTheHome(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newAreaSite(t, d)
		_, home := s.do(t, "GET", "/", "")
		if !strings.Contains(home, `href="/accedi" data-element="personal-area-login"`) {
			t.Error("the home page's header lacks the login link without a return address")
		}
		if _, page := s.do(t, "GET", "/servizi", ""); !strings.Contains(page, `href="/accedi?next=%2fservizi" data-element="personal-area-login"`) {
			t.Error("another page's login link does not come back to it")
		}
		_, cookie := s.resident(t, "lucia@example.org", "Lucia")
		for _, path := range []string{"/", "/servizi", "/faq"} {
			_, page := s.do(t, "GET", path, cookie)
			if !strings.Contains(page, `href="/area-personale" data-element="personal-area-login"`) || !strings.Contains(page, "Area personale · Lucia Test") {
				t.Errorf("%s: the header does not lead a logged-in resident to the personal area", path)
			}
		}
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7",
			GivenName: "Anna", FamilyName: "Test"}, "test"); err != nil {
			t.Fatal(err)
		}
		for next, want := range map[string]string{"/servizi": "/servizi", "/": "/", "https://evil.example/": area.Home} {
			res, err := noRedirect.PostForm(s.srv.URL+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {"tram-per-Sesto-alle-7"}, "next": {next}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if loc := res.Header.Get("Location"); loc != want {
				t.Errorf("login with next=%q leads to %q, want %q", next, loc, want)
			}
		}
		// An operator's login without a return address leads home, as before.
		if _, err := s.apps.identity.CreateOperator(context.Background(), identity.NewOperator{Email: "urp@comune.example.it", Roles: []string{"urp"}},
			"Sportello-Prima-Volta-1", "test"); err != nil {
			t.Fatal(err)
		}
		res, err := noRedirect.PostForm(s.srv.URL+"/accedi", url.Values{"email": {"urp@comune.example.it"}, "password": {"Sportello-Prima-Volta-1"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(string(body))
		secret := regexp.MustCompile(`<code class="fs-5">([A-Z2-7]+)</code>`).FindStringSubmatch(string(body))
		if token == nil || secret == nil {
			t.Fatal("no TOTP enrolment for the operator")
		}
		code, _ := identity.TOTPCode(secret[1], time.Now())
		if res, err = noRedirect.PostForm(s.srv.URL+"/accedi/codice", url.Values{"token": {token[1]}, "code": {code}}); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("an operator's login leads to %d %q, want /", res.StatusCode, loc)
		}
		if res, _ := s.do(t, "GET", area.Home, ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/accedi?next=") {
			t.Errorf("anonymous at the personal area: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// Messages: posted by a feature in its transaction, announced by mail
// (without the content when personal), read and unread, paginated, each
// resident's own.
func TestPersonalAreaMessages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newAreaSite(t, d)
		lucia, cookie := s.resident(t, "lucia@example.org", "Lucia")
		_, other := s.resident(t, "marco@example.org", "Marco")
		_, desk := s.do(t, "GET", area.Home, cookie)
		if !strings.Contains(desk, "Non hai messaggi.") || !strings.Contains(desk, "Non c&#39;è nulla che aspetti una tua azione.") {
			t.Fatal("the empty desk does not say so")
		}
		personal := s.post(t, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "La tua domanda di contrassegno",
			Body: "Il contrassegno n. 4411 è pronto: passa a ritirarlo.", Link: "/servizi"})
		s.post(t, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Chiusura uffici il 2 giugno",
			Body: "Gli uffici restano chiusi per la Festa della Repubblica.", Public: true})
		// A message whose feature's transaction rolls back does not exist,
		// nor does its mail.
		errLater := errors.New("later")
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := s.apps.inbox.Post(ctx, tx, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Mai inviato", Body: "x"}); err != nil {
				return err
			}
			return errLater
		}); !errors.Is(err, errLater) {
			t.Fatal(err)
		}
		mails := outboxTo(t, d, "lucia@example.org")
		if len(mails) != 2 {
			t.Fatalf("%d mails, want 2", len(mails))
		}
		if strings.Contains(mails[0].Text, "4411") || strings.Contains(mails[0].Subject+mails[0].Text, "contrassegno") ||
			!strings.Contains(mails[0].Text, "http://portal.test/area-personale/messaggi/"+personal) {
			t.Errorf("the personal message's mail: %q %q", mails[0].Subject, mails[0].Text)
		}
		if !strings.Contains(mails[1].Text, "Festa della Repubblica") {
			t.Errorf("the public message's mail lacks its text: %q", mails[1].Text)
		}
		_, desk = s.do(t, "GET", area.Home, cookie)
		if !strings.Contains(desk, "La tua domanda di contrassegno") || !strings.Contains(desk, "2 cose aspettano") || strings.Contains(desk, "Mai inviato") {
			t.Fatal("the desk does not show the latest messages and what awaits")
		}
		if !regexp.MustCompile(`Messaggi <span class="badge bg-primary ms-1">2<span class="visually-hidden"> da leggere`).MatchString(desk) {
			t.Error("the Messages tab does not count the unread ones")
		}
		// Another resident cannot read, or mark, Lucia's message.
		if res, _ := s.do(t, "GET", "/area-personale/messaggi/"+personal, other); res.StatusCode != http.StatusNotFound {
			t.Errorf("another resident's message: %d", res.StatusCode)
		}
		if res, _ := s.do(t, "POST", "/area-personale/messaggi/"+personal+"/non-letto", other); res.StatusCode != http.StatusNotFound {
			t.Errorf("marking another resident's message: %d", res.StatusCode)
		}
		res, page := s.do(t, "GET", "/area-personale/messaggi/"+personal, cookie)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "è pronto: passa a ritirarlo.") || !strings.Contains(page, `href="/servizi"`) {
			t.Fatalf("opening a message: %d", res.StatusCode)
		}
		if _, unread, _ := s.apps.inbox.Counts(ctx, lucia); unread != 1 {
			t.Fatalf("after opening one, %d unread", unread)
		}
		if _, desk := s.do(t, "GET", area.Home, cookie); !strings.Contains(desk, "Una cosa aspetta una tua azione o lettura.") {
			t.Error("the desk does not say one thing awaits")
		}
		req, _ := http.NewRequest("GET", s.srv.URL+"/area-personale/messaggi", nil)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Accept-Language", "en")
		if res, err := noRedirect.Do(req); err != nil {
			t.Fatal(err)
		} else {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(b), "2 messages, 1 unread.") || !strings.Contains(string(b), "Mark all as read") {
				t.Error("the inbox in English")
			}
		}
		// The messages are in the download of the resident's data, and
		// only theirs.
		if _, data := s.do(t, "GET", "/profilo/dati.json", cookie); !strings.Contains(data, "Il contrassegno n. 4411") || !strings.Contains(data, `"area_messages"`) {
			t.Error("the data download lacks the messages")
		}
		// The message's words, not its number alone: "4411" turns up by chance in
		// ids and timestamps (it failed once so).
		if _, data := s.do(t, "GET", "/profilo/dati.json", other); strings.Contains(data, "Il contrassegno n. 4411") {
			t.Error("another resident's download holds Lucia's message")
		}
		if res, _ := s.do(t, "POST", "/area-personale/messaggi/"+personal+"/non-letto", cookie); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("mark unread: %d", res.StatusCode)
		}
		if _, unread, _ := s.apps.inbox.Counts(ctx, lucia); unread != 2 {
			t.Fatalf("after marking unread, %d unread", unread)
		}
		if res, _ := s.do(t, "POST", "/area-personale/messaggi/letti", cookie); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("mark all read: %d", res.StatusCode)
		}
		if _, unread, _ := s.apps.inbox.Counts(ctx, lucia); unread != 0 {
			t.Fatalf("after marking all read, %d unread", unread)
		}
		for _, bad := range []string{"nonesiste", strings.Repeat("0", 32)} {
			if res, _ := s.do(t, "GET", "/area-personale/messaggi/"+bad, cookie); res.StatusCode != http.StatusNotFound {
				t.Errorf("message %s: %d", bad, res.StatusCode)
			}
		}
		// Pages of at most 20, newest first.
		for i := range 25 {
			s.post(t, lucia, area.Message{Sender: "test", Category: "area.tab.activities", Subject: fmt.Sprintf("Avviso numero %02d", i), Body: "Testo."})
		}
		_, first := s.do(t, "GET", "/area-personale/messaggi", cookie)
		if n := strings.Count(first, `<li class="list-item py-3 border-bottom">`); n != 20 || !strings.Contains(first, "Avviso numero 24") || !strings.Contains(first, "Pagina 1 di 2") {
			t.Fatalf("first page: %d messages", n)
		}
		_, second := s.do(t, "GET", "/area-personale/messaggi?pagina=2", cookie)
		if n := strings.Count(second, `<li class="list-item py-3 border-bottom">`); n != 7 || !strings.Contains(second, "La tua domanda di contrassegno") {
			t.Fatalf("second page: %d messages", n)
		}
		if res, _ := s.do(t, "GET", "/area-personale/messaggi?pagina=9", cookie); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != "/area-personale/messaggi?pagina=2" {
			t.Errorf("a page past the last: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		_, unreadOnly := s.do(t, "GET", "/area-personale/messaggi?non-letti=1", cookie)
		if strings.Contains(unreadOnly, "La tua domanda di contrassegno") || strings.Count(unreadOnly, `<li class="list-item py-3 border-bottom">`) != 20 {
			t.Fatal("the unread filter")
		}
		// Invalid messages are refused: the feature's mistake, not stored.
		for _, m := range []area.Message{{Sender: "test", Category: "c", Subject: ""}, {Sender: "test", Category: "c", Subject: "x", Link: "https://evil.example/"},
			{Sender: "test", Category: "c", Subject: "a\nb"}, {Category: "c", Subject: "x"}} {
			err := d.Tx(ctx, func(tx *sql.Tx) error { _, err := s.apps.inbox.Post(ctx, tx, lucia, m); return err })
			if !errors.Is(err, area.ErrInvalid) {
				t.Errorf("%+v: %v", m, err)
			}
		}
	})
}

// panelFeature is a feature that contributes one panel.
func panelFeature(name string, p area.PanelFunc) feature.Feature {
	return feature.Feature{Name: name, Wire: func(h *feature.Host) error { h.Panel(p); return nil }}
}

// The desk shows every panel with its count and items; one that needs
// more assurance shows only why, with a step-up link; one that fails or
// panics or is late shows an error box, and the desk still works.
func TestPersonalAreaPanels(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		when := time.Date(2027, 3, 14, 9, 30, 0, 0, time.UTC)
		// A panel declared of the documents' kind is called by the
		// Documents tab only: the other pages do not pay its queries.
		var archiveCalls atomic.Int32
		archive := feature.Feature{Name: "archivio", Wire: func(h *feature.Host) error {
			h.Panel(area.Of(area.Documents, area.PanelFunc(func(ctx context.Context, r area.Resident) (area.Summary, error) {
				archiveCalls.Add(1)
				return area.Summary{Title: "area.tab.documents", Items: []area.Item{{Label: "Atto di archivio", Href: "/archivio/1"}}}, nil
			})))
			return nil
		}}
		s := newAreaSite(t, d, archive,
			panelFeature("pratiche", func(ctx context.Context, r area.Resident) (area.Summary, error) {
				return area.Summary{Title: "area.tab.activities", Href: "/pratiche", Awaiting: 2, Items: []area.Item{
					{Label: "Domanda di contrassegno " + r.AccountID[:6], Href: "/pratiche/1", Status: "area.messages.new", Awaiting: true, When: when},
					{Label: "Accesso agli atti", Href: "/pratiche/2", When: when.Add(-time.Hour)}}}, nil
			}),
			panelFeature("pagamenti", func(ctx context.Context, r area.Resident) (area.Summary, error) {
				return area.Summary{Title: "area.tab.services", Needs: assurance.Substantial, Awaiting: 1,
					Items: []area.Item{{Label: "Avviso TARI segreto", Href: "/pagamenti/1"}}}, nil
			}),
			panelFeature("rotto", func(ctx context.Context, r area.Resident) (area.Summary, error) {
				return area.Summary{}, errors.New("database on fire")
			}),
			panelFeature("panico", func(ctx context.Context, r area.Resident) (area.Summary, error) { panic("boom") }),
			panelFeature("lento", func(ctx context.Context, r area.Resident) (area.Summary, error) {
				<-ctx.Done()
				return area.Summary{Title: "area.tab.desk"}, ctx.Err()
			}),
			panelFeature("certificati", func(ctx context.Context, r area.Resident) (area.Summary, error) {
				return area.Summary{Title: "area.tab.documents", Kind: area.Documents, Items: []area.Item{{Label: "Certificato di residenza", Href: "/certificati/1"}}}, nil
			}),
		)
		lucia, cookie := s.resident(t, "lucia@example.org", "Lucia")
		start := time.Now()
		res, desk := s.do(t, "GET", area.Home, cookie)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("desk: %d", res.StatusCode)
		}
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Fatalf("a late panel held the desk %v", elapsed)
		}
		for _, want := range []string{"Domanda di contrassegno " + lucia[:6], `href="/pratiche/1"`, `href="/pratiche"`,
			"Per vedere questa sezione serve un accesso che provi la tua identità", `href="/accedi/carta?next=%2Farea-personale"`,
			"2 cose aspettano"} {
			if !strings.Contains(desk, want) {
				t.Errorf("the desk lacks %q", want)
			}
		}
		if strings.Contains(desk, "Avviso TARI segreto") {
			t.Error("a panel that needs more assurance shows its items")
		}
		if n := strings.Count(desk, "Questa sezione non è disponibile in questo momento"); n != 3 {
			t.Errorf("%d error boxes, want 3 (error, panic, late)", n)
		}
		if strings.Contains(desk, "Certificato di residenza") {
			t.Error("a documents panel on the desk")
		}
		_, acts := s.do(t, "GET", "/area-personale/attivita", cookie)
		if !strings.Contains(acts, "Accesso agli atti") || !strings.Contains(acts, `href="/pratiche/2"`) {
			t.Error("the Activities tab lacks a panel's items")
		}
		if n := archiveCalls.Load(); n != 0 || strings.Contains(desk+acts, "Atto di archivio") {
			t.Errorf("the desk and the Activities tab called a documents panel %d times", n)
		}
		_, docs := s.do(t, "GET", "/area-personale/documenti", cookie)
		if !strings.Contains(docs, "Certificato di residenza") || strings.Contains(docs, "Accesso agli atti") {
			t.Error("the Documents tab")
		}
		if n := archiveCalls.Load(); n != 1 || !strings.Contains(docs, "Atto di archivio") {
			t.Errorf("the Documents tab called the documents panel %d times, or does not show it", n)
		}
		// A catalogue with no service online: the tab says so; one made
		// requestable online (card login) appears, with the step-up for a
		// password session. (The demo's online services lead to the
		// national portals: none is left online here.)
		if _, err := d.ExecContext(context.Background(), `UPDATE services SET channel = 'desk', online_url = ''`); err != nil {
			t.Fatal(err)
		}
		s.apps.civico.catalog.Store.Forget()
		if _, services := s.do(t, "GET", "/area-personale/servizi", cookie); !strings.Contains(services, "Non ci sono ancora servizi da richiedere online.") {
			t.Error("the Services tab without online services")
		}
		if _, err := d.ExecContext(context.Background(), `UPDATE services SET channel = 'both', online_url = '/sportello/carta-identita', assurance = 'substantial'
			WHERE id = 'carta-identita-elettronica'`); err != nil {
			t.Fatal(err)
		}
		s.apps.civico.catalog.Store.Forget()
		_, services := s.do(t, "GET", "/area-personale/servizi", cookie)
		if !strings.Contains(services, `href="/servizi/anagrafe-e-stato-civile/carta-identita-elettronica"`) || !strings.Contains(services, "Anagrafe e stato civile") ||
			!strings.Contains(services, "serve un accesso che provi la tua identità") {
			t.Error("the Services tab does not list the online service, or its step-up")
		}
		// The cards are kept for the next residents of the same
		// assurance: a session that proved who the person is, on the
		// same page, gets them without the step-up.
		var token string
		if err := d.Tx(context.Background(), func(tx *sql.Tx) (err error) {
			token, err = s.apps.identity.Sessions.Create(context.Background(), tx, lucia, assurance.Substantial, "spid", "", "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, proved := s.do(t, "GET", "/area-personale/servizi", identity.SessionCookie+"="+token)
		if !strings.Contains(proved, `href="/servizi/anagrafe-e-stato-civile/carta-identita-elettronica"`) || strings.Contains(proved, "serve un accesso che provi la tua identità") {
			t.Error("a substantial session gets the Services tab of a password one")
		}
		if _, again := s.do(t, "GET", "/area-personale/servizi", cookie); again != services {
			t.Error("the Services tab changed between two visits of the same session")
		}
		// Every service online: pages of 24.
		if _, err := d.ExecContext(context.Background(), `UPDATE services SET channel = 'online', online_url = '/sportello/x'`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM services WHERE status = 'active'`).Scan(&n); err != nil || n <= 24 {
			t.Fatalf("the demo catalogue has %d active services (%v): too few to page", n, err)
		}
		s.apps.civico.catalog.Store.Forget()
		pages := (n + 23) / 24
		seen := 0
		for p := 1; p <= pages; p++ {
			_, page := s.do(t, "GET", fmt.Sprintf("/area-personale/servizi?pagina=%d", p), cookie)
			seen += strings.Count(page, `<div class="card card-bg shadow-sm mb-4">`)
			if !strings.Contains(page, fmt.Sprintf("Pagina %d di %d", p, pages)) {
				t.Errorf("services page %d lacks its position", p)
			}
		}
		if seen != n {
			t.Errorf("the pages of Servizi show %d services, want %d", seen, n)
		}
		if res, _ := s.do(t, "GET", "/area-personale/servizi?pagina=99", cookie); res.StatusCode != http.StatusSeeOther {
			t.Errorf("a page of services past the last: %d", res.StatusCode)
		}
	})
}

// The desk's cost with six panels, each one indexed query (the residents'
// messages), for a resident with 200 messages, against the home page as
// the same resident gets it.
func BenchmarkPersonalArea(b *testing.B) {
	var panels []feature.Feature
	var inbox *area.Inbox
	for i := range 6 {
		panels = append(panels, panelFeature(fmt.Sprintf("panel%d", i), func(ctx context.Context, r area.Resident) (area.Summary, error) {
			page, err := inbox.List(ctx, r.AccountID, area.MaxItems, 0, false)
			if err != nil {
				return area.Summary{}, err
			}
			s := area.Summary{Title: "area.tab.activities", Href: "/pratiche", Awaiting: page.Unread}
			for _, m := range page.Messages {
				s.Items = append(s.Items, area.Item{Label: m.Subject, Href: area.Path(m.ID), Status: "area.messages.new", When: m.CreatedAt})
			}
			return s, nil
		}))
	}
	s := newAreaSite(b, dbtest.SQLite(b), panels...)
	inbox = s.apps.inbox
	lucia, cookie := s.resident(b, "lucia@example.org", "Lucia")
	for i := range 200 {
		s.post(b, lucia, area.Message{Sender: "bench", Category: "area.tab.activities", Subject: fmt.Sprintf("Pratica %d aggiornata", i), Body: "Testo."})
	}
	h := s.apps.portal.Handler()
	for name, path := range map[string]string{"desk": area.Home, "messages": area.Home + "/messaggi", "home": "/"} {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Cookie", cookie)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Lucia Test") {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// Linking a password account to a card's moves its messages to the card's
// account; closing an account erases them, and only its own.
func TestPersonalAreaMessagesFollowTheAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newAreaSite(t, d)
		from, _ := s.resident(t, "lucia@example.org", "Lucia")
		into, _ := s.resident(t, "lucia.carta@example.org", "Lucia")
		other, _ := s.resident(t, "marco@example.org", "Marco")
		id := s.post(t, from, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Pratica registrata", Body: "Testo."})
		s.post(t, other, area.Message{Sender: "test", Category: "area.tab.activities", Subject: "Di Marco", Body: "Testo."})
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			for _, m := range s.apps.identity.Mergers {
				if err := m(ctx, tx, from, into); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.apps.inbox.Get(ctx, into, id); err != nil {
			t.Fatalf("the message did not follow the link: %v", err)
		}
		if _, err := s.apps.inbox.Get(ctx, from, id); !errors.Is(err, area.ErrNotFound) {
			t.Fatalf("the linked account still reads the message: %v", err)
		}
		a, err := s.apps.identity.Store.ByID(ctx, into)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.apps.identity.CloseAccount(ctx, a, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		for acc, want := range map[string]int{into: 0, other: 1} {
			if total, _, err := s.apps.inbox.Counts(ctx, acc); err != nil || total != want {
				t.Errorf("after closing: %d messages (%v), want %d", total, err, want)
			}
		}
	})
}

// The demo puts one message from the town in the personal area of each
// resident with a password account, once however often it starts.
func TestDemoWelcomesResidents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		cfg := testConfig(t)
		cfg.DataDir, cfg.SecretKey = t.TempDir(), ""
		for range 2 {
			if err := prepareDemo(ctx, &cfg, d, town.NewStore(d, 0)); err != nil {
				t.Fatal(err)
			}
		}
		accounts := &identity.Store{DB: d}
		inbox := &area.Inbox{DB: d}
		for _, p := range demoPeople {
			if p.email == "" {
				continue
			}
			a, err := accounts.ByEmail(ctx, p.email)
			if errors.Is(err, identity.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if p.password && len(p.operator) == 0 {
				want = 1
			}
			if total, unread, err := inbox.Counts(ctx, a.ID); err != nil || total != want || unread != want {
				t.Errorf("%s: %d messages, %d unread (%v), want %d", p.email, total, unread, err, want)
			}
		}
	})
}

// Every feature's panel declares its kind (area.Of): a panel without one
// is called by every tab of the personal area, and its queries paid by
// pages that do not show it.
func TestEveryPanelDeclaresItsKind(t *testing.T) {
	a := newApps(t, dbtest.SQLite(t))
	if len(a.panels) < 5 {
		t.Fatalf("%d panels registered, want the features' (at least 5)", len(a.panels))
	}
	for _, p := range a.panels {
		if _, ok := area.KindOf(p.Panel); !ok {
			t.Errorf("the panel of %s declares no kind: register it with h.Panel(area.Of(kind, p))", p.Feature)
		}
	}
}
