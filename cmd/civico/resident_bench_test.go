package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/web"
)

// residentPages are the pages a logged-in resident opens, as bench/http.sh
// measures them over the network; "{application}" is the path of the
// resident's submitted application.
var residentPages = []struct{ name, path string }{
	{"home", "/"},
	{"service", "/servizi/anagrafe-e-stato-civile/carta-identita-elettronica"},
	{"office", "/amministrazione/uffici/anagrafe"},
	{"finder", "/dove-e-quando?quando=libero&giorno=2026-11-25&dalle=17:00&alle=20:00"},
	{"coordination", "/coordinamento-orari?categoria=anagrafe-e-stato-civile&settimana=2026-11-25"},
	{"profile", "/profilo"},
	{"area", "/area-personale"},
	{"area-messages", "/area-personale/messaggi"},
	{"area-services", "/area-personale/servizi"},
	{"area-documents", "/area-personale/documenti"},
	{"area-activities", "/area-personale/attivita"},
	{"applications", "/area-personale/pratiche"},
	{"application", "{application}"},
	{"payments", "/area-personale/pagamenti"},
	{"api-offices", "/api/v1/offices"},
	{"api-services", "/api/v1/services"},
	{"booking-place", "/prenota-appuntamento"},
	{"booking-times", "/prenota-appuntamento/orario?ufficio=anagrafe&servizio=carta-identita-elettronica"},
	{"dashboard", "/dati/cruscotto"},
	// The back office's dashboard, as a statistics officer gets it.
	{"dashboard-office", "/backoffice/cruscotto"},
}

// BenchmarkResidentPages measures every page of residentPages as the demo's
// card holder Luca Ferrari gets them (a card session, high assurance: the
// payments page needs substantial), rendered at every request (a session
// never reads the page cache), through the portal's whole middleware
// chain, on SQLite and, with CIVICO_TEST_POSTGRES_URL, PostgreSQL. Besides
// time and allocations it reports the process's CPU time and the database
// queries of one request (the X-Civico-Queries header), and on PostgreSQL
// the CPU time its server processes spent (db-cpu-ns/op; bench/capacity.sh).
//
//	go test ./cmd/civico -run XXX -bench ResidentPages -benchmem
func BenchmarkResidentPages(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s, cookie, app := newResidentSite(b, d)
		officer := statisticsSession(b, s)
		h := s.apps.portal.Handler()
		for _, p := range residentPages {
			path := strings.ReplaceAll(p.path, "{application}", app)
			who := cookie
			if strings.HasPrefix(path, "/backoffice/") {
				who = officer
			}
			b.Run(p.name, func(b *testing.B) { benchPage(b, d, h, path, who) })
		}
	})
}

// benchPage measures GET path with a session cookie through handler h:
// time and allocations, the process's CPU time and the database statements
// of a request (the X-Civico-Queries header), and on PostgreSQL the CPU
// time its server processes spent (db-cpu-ns/op).
func benchPage(b *testing.B, d *db.DB, h http.Handler, path, cookie string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Cookie", cookie)
	b.ReportAllocs()
	cpu, queries := processCPU(), 0
	dbCPU, dbOK := databaseCPU(d)
	// One body for every answer, as a server writes each into the same
	// connection's buffer: a new recorder's body grows from nothing at
	// every request, a cost of the recorder (12% of the home page's CPU)
	// that a server does not have.
	var body bytes.Buffer
	for b.Loop() {
		body.Reset()
		w := httptest.NewRecorder()
		w.Body = &body
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s = %d", path, w.Code)
		}
		n, _ := strconv.Atoi(w.Header().Get(web.QueriesHeader))
		queries += n
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(queries)/float64(b.N), "queries/op")
	if after, ok := databaseCPU(d); ok && dbOK {
		b.ReportMetric(float64(after-dbCPU)/float64(b.N), "db-cpu-ns/op")
	}
}

// statisticsSession is the session cookie of an operator of the
// statistics office (the back office's dashboard), logged in with a
// password and an authenticator.
func statisticsSession(b *testing.B, s *idSite) string {
	return operatorSession(b, s, "statistica@example.org", "statistics")
}

// operatorSession is the session cookie of an operator with role, logged
// in with a password and an authenticator.
func operatorSession(b *testing.B, s *idSite, email, role string) string {
	ctx := context.Background()
	svc := s.apps.identity
	a, err := svc.CreateOperator(ctx, identity.NewOperator{Email: email, GivenName: "Sara", FamilyName: "Operatrice",
		Roles: []string{role}}, identity.GeneratePassword(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	var token string
	if err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		token, err = svc.Sessions.Create(ctx, tx, a.ID, assurance.Low, "password+totp", "", "bench")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return identity.SessionCookie + "=" + token
}

// newResidentSite is the demo town (catalogue, contents, news, online forms,
// payments, the booking's offers, the dashboard's history since 2008
// collected) served as in production, its card holder Luca Ferrari logged in
// with his card, and one application of his submitted through the pages.
// It returns the session cookie and the application's path.
func newResidentSite(b *testing.B, d *db.DB) (*idSite, string, string) {
	s := newTunedIDSite(b, d, func(c *config) { c.DebugQueries = true })
	ctx := context.Background()
	for _, seed := range []func() error{
		func() error { return ensureDemoCatalog(ctx, d) },
		func() error { return ensureDemoContent(ctx, d, time.Now()) },
		func() error { return ensureDemoNews(ctx, d) },
		func() error { return ensureDemoOnlineForms(ctx, d) },
		func() error { return ensureDemoPayments(ctx, s.cfg, d, s.apps.portal.Town) },
		func() error { return (&booking.Store{DB: d}).SeedDemo(ctx) },
		func() error { _, _, err := ensureDemoHistory(ctx, d, time.Now()); return err },
		func() error { _, err := ensureDemoAppointments(ctx, d, time.Now()); return err },
	} {
		if err := seed(); err != nil {
			b.Fatal(err)
		}
	}
	s.apps.civico.catalog.Store.Forget()
	runTask(b, s, "dashboard", "figures")
	atDemoWednesday(s.apps)
	code, _ := cf.Complete("FRRLCU78H15C707")
	card, err := s.ca.IssueCard(cardca.CardRequest{FiscalCode: string(code), GivenName: "LUCA", FamilyName: "FERRARI"})
	if err != nil {
		b.Fatal(err)
	}
	holder, err := s.verifier.Verify([]*x509.Certificate{card.Cert}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.apps.identity.LoginCard(ctx, identity.CardHolder{FiscalCode: string(holder.FiscalCode), Proof: holder.Proof}, holder.Proof, "192.0.2.1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	var token string
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		token, err = s.apps.identity.Sessions.Create(ctx, tx, a.Account.ID, assurance.High, "crs", holder.Proof, "bench")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	cookie := identity.SessionCookie + "=" + token
	h := s.apps.portal.Handler()
	post := func(path string, form url.Values, want int) string {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			b.Fatalf("POST %s = %d, want %d\n%s", path, w.Code, want, w.Body.String())
		}
		return w.Header().Get("Location")
	}
	// The school canteen's form, filled as a resident fills it.
	next := post("/servizi-online/iscrizione-mensa-scolastica", url.Values{"privacy": {"1"}}, http.StatusSeeOther)
	app := strings.TrimSuffix(next, "/richiedente")
	post(next, url.Values{"given_name": {"Luca"}, "family_name": {"Ferrari"}, "email": {"luca@example.org"}, "phone": {"02 1234567"}, "address": {"Via Frova 12"}, "action": {"next"}}, http.StatusSeeOther)
	post(app+"/modulo", url.Values{"alunno_nome": {"Sara"}, "alunno_cognome": {"Ferrari"}, "alunno_cf": {"RSSMRA85T10A562S"},
		"scuola": {"primaria_parini"}, "classe": {"2B"}, "giorni": {"lun", "mer"}, "dieta": {"normale"}, "action": {"next"}}, http.StatusSeeOther)
	post(app+"/invia", url.Values{"confirm": {"1"}}, http.StatusSeeOther)
	// The login just changed the account: this process keeps it out of
	// its session cache for a few seconds (identity.SessionCache.HotFor).
	// The pages are measured as the resident gets them after that, their
	// session answered from memory, as production does.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		hits, _ := s.apps.identity.Store.Cache.Stats()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Cookie", cookie)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if now, _ := s.apps.identity.Store.Cache.Stats(); now > hits {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the session is never answered from the session cache")
		}
	}
	return s, cookie, app
}

// With CIVICO_DEBUG_QUERIES each answer tells its database statements; a
// logged-in page shows at least its session's lookup, a health check none;
// the metrics count them per route whatever the setting, and without it
// no answer tells them.
func TestQueriesHeader(t *testing.T) {
	for _, debug := range []bool{true, false} {
		s := newTunedIDSite(t, dbtest.SQLite(t), func(c *config) { c.DebugQueries = debug })
		cookie := s.passwordSession(t, "queries@example.org", "Query")
		res, _ := get(t, s.plain.URL+"/healthz")
		home, _ := get(t, s.plain.URL+"/", "Cookie", cookie)
		if !debug {
			if res.Header.Get(web.QueriesHeader) != "" || home.Header.Get(web.QueriesHeader) != "" {
				t.Fatal("the statements told without CIVICO_DEBUG_QUERIES")
			}
			continue
		}
		if res.Header.Get(web.QueriesHeader) != "0" {
			t.Errorf("/healthz: %q statements", res.Header.Get(web.QueriesHeader))
		}
		if n, err := strconv.Atoi(home.Header.Get(web.QueriesHeader)); err != nil || n < 1 || home.Header.Get(web.QueryTimeHeader) == "" {
			t.Errorf("a logged-in home page: %q statements in %q µs", home.Header.Get(web.QueriesHeader), home.Header.Get(web.QueryTimeHeader))
		}
		// Anonymous, twice: the second from the page cache.
		get(t, s.plain.URL+"/")
		get(t, s.plain.URL+"/")
		w := httptest.NewRecorder()
		s.apps.portal.Metrics.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if !strings.Contains(w.Body.String(), `http_request_db_queries_count{app="portal",method="GET",route="GET /{$}"}`) ||
			!strings.Contains(w.Body.String(), `http_request_db_seconds_total{app="portal",method="GET",route="GET /{$}"}`) ||
			!strings.Contains(w.Body.String(), `http_requests_total{app="portal",code="200",method="GET",route="GET /{$}"} 3`) {
			t.Errorf("the metrics do not count the home page's statements:\n%s", w.Body.String())
		}
	}
}

// A session's account read with it in one statement is the account ByID
// reads, roles (sorted) included, with none or several; an unknown or
// ended session is none.
func TestSessionLookupAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		svc := s.apps.identity
		for _, roles := range [][]string{nil, {"urp"}, {"urp", "admin", "desk"}} {
			email := fmt.Sprintf("roles%d@example.org", len(roles))
			a, err := svc.ImportResident(ctx, identity.NewResident{Email: email, Password: "tram-per-Sesto-alle-7", GivenName: "Rosa", FamilyName: "Test"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			var token string
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				for _, r := range roles {
					if err := svc.Store.GrantRole(ctx, tx, a.ID, r, "test"); err != nil {
						return err
					}
				}
				token, err = svc.Sessions.Create(ctx, tx, a.ID, assurance.Low, "password", "", "test")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			se, got, err := svc.Sessions.LookupAccount(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			want, err := svc.Store.ByID(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			alone, err := svc.Sessions.Lookup(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(se, alone) || len(got.Roles) != len(roles) || !slices.IsSorted(got.Roles) {
				t.Errorf("roles %v: the session's account %+v, session %+v; ByID %+v, Lookup %+v", roles, got, se, want, alone)
			}
			if err := svc.Sessions.End(ctx, token); err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Sessions.LookupAccount(ctx, token); !errors.Is(err, identity.ErrNoSession) {
				t.Errorf("an ended session: %v", err)
			}
		}
		if _, _, err := svc.Sessions.LookupAccount(ctx, "no-such-token"); !errors.Is(err, identity.ErrNoSession) {
			t.Errorf("an unknown token: %v", err)
		}
	})
}

// BenchmarkRenderers measures building the portal's and Partecipa's
// templates, as every start does (docs/RENDERING.md), with the memory they
// keep: the heap in use after a collection, per build.
func BenchmarkRenderers(b *testing.B) {
	features := newCivico(testConfig(b), oidcop.Secret{}, nil).features
	b.ReportAllocs()
	var kept uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		p, err := web.NewRenderer(feature.PortalTemplates(features)...)
		if err != nil {
			b.Fatal(err)
		}
		q, err := web.NewRenderer(feature.PartecipaTemplates(features)...)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept += after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
		runtime.KeepAlive(p)
		runtime.KeepAlive(q)
	}
	b.ReportMetric(float64(kept)/float64(b.N)/(1<<20), "MiB-kept/op")
}
