package news_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/mail/mailtest"
	"github.com/civico-pa/civico/internal/news"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// clock is a settable time for the news rules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// site is the news pages in a portal-like application of their own, with
// identity's sessions and roles, and a real SMTP server for the mail.
type site struct {
	d      *db.DB
	app    *web.App
	srv    *httptest.Server
	news   *news.Service
	ids    *identity.Service
	clock  *clock
	smtp   *mailtest.Server
	worker *mail.Worker
	log    *audit.Log
}

// start is a Tuesday morning in Rome.
var start = time.Date(2026, 5, 12, 9, 0, 0, 0, time.UTC)

func newSite(t testing.TB, d *db.DB) *site {
	t.Helper()
	ctx := context.Background()
	towns := town.NewStore(d, time.Minute)
	if err := towns.Put(ctx, town.Demo()); err != nil {
		t.Fatal(err)
	}
	i18n, err := web.NewI18n(web.Messages, news.Messages)
	if err != nil {
		t.Fatal(err)
	}
	r, err := web.NewRenderer(news.Templates)
	if err != nil {
		t.Fatal(err)
	}
	static, err := web.NewStatic()
	if err != nil {
		t.Fatal(err)
	}
	app := &web.App{
		Chrome: web.Chrome{App: "portal", Feedback: true, Login: "/accedi", Menu: []web.MenuItem{
			{Label: "menu.management", Href: "/amministrazione", Element: "management"},
			{Label: "menu.news", Href: "/novita", Element: "news"},
			{Label: "menu.services", Href: "/servizi", Element: "all-services"},
			{Label: "menu.live", Href: "/vivere-il-comune", Element: "live"},
		}},
		Mux: http.NewServeMux(), Render: r, I18n: i18n, Static: static, Town: towns, DB: d,
		Metrics: web.NewMetrics(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	app.Routes()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	lg := &audit.Log{DB: d}
	ids := &identity.Service{DB: d, Store: &identity.Store{DB: d}, Sessions: &identity.Sessions{DB: d, Idle: time.Hour, Absolute: 12 * time.Hour},
		Limiter: &throttle.Limiter{DB: d}, Limits: identity.DefaultLimits(), Hasher: identity.NewHasher(4), Audit: lg}
	id := &identity.Web{App: app, Svc: ids, BaseURL: base}
	app.Middleware = append(app.Middleware, id.Middleware)
	app.Viewer = identity.Viewer
	app.Guard = id.Require
	c := &clock{t: start}
	svc := &news.Service{DB: d, Outbox: &mail.Outbox{DB: d}, Audit: lg, I18n: i18n, Towns: towns, BaseURL: base, Now: c.Now,
		Limiter: ids.Limiter, MailBudget: ids.MailBudget}
	(&news.Web{App: app, News: svc}).Routes()
	srv.Config.Handler = app.Handler()
	srv.Start()
	t.Cleanup(srv.Close)

	return &site{d: d, app: app, srv: srv, news: svc, ids: ids, clock: c, log: lg}
}

// deliver sends the outbox to the SMTP server and returns all that arrived.
// The server starts with the first delivery: mailtest's cleanup can wait
// forever for a server stopped before it began accepting.
func (s *site) deliver(t testing.TB, want int) []mailtest.Received {
	t.Helper()
	if s.smtp == nil {
		s.smtp = mailtest.Start(t)
		sender, err := mail.NewSMTPSender(s.smtp.URL(), "noreply@comune.example.it")
		if err != nil {
			t.Fatal(err)
		}
		s.worker = &mail.Worker{Outbox: &mail.Outbox{DB: s.d}, Sender: sender, From: "noreply@comune.example.it"}
	}
	if _, _, err := s.worker.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.smtp.WaitFor(t, want, 5*time.Second)
}

// browser is a client with its own cookies that shows redirects.
type browser struct {
	t    testing.TB
	c    *http.Client
	base string
}

func (s *site) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// operator is a browser logged in as a new operator with the roles.
func (s *site) operator(t testing.TB, email string, roles ...string) (*browser, *identity.Account) {
	t.Helper()
	ctx := context.Background()
	a, err := s.ids.CreateOperator(ctx, identity.NewOperator{Email: email, Roles: roles}, "Sportello-Prima-Volta-1", "test")
	if err != nil {
		t.Fatal(err)
	}
	var token string
	if err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		token, err = s.ids.Sessions.Create(ctx, tx, a.ID, assurance.Low, "password", "", "test")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	u, _ := url.Parse(s.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: identity.SessionCookie, Value: token, Path: "/"}})
	return b, a
}

func (b *browser) do(method, path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

func (b *browser) get(path string, header ...string) (*http.Response, string) {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil, header...)
}

// publish creates an item through the rules, as an operator would.
func (s *site) publish(t testing.TB, in news.Input) *news.Item {
	t.Helper()
	if in.Summary == "" {
		in.Summary = "Il riassunto di " + in.Title
	}
	if in.Body == "" {
		in.Body = "Primo paragrafo.\n\nSecondo paragrafo."
	}
	if in.Category == "" {
		in.Category = "notizie"
	}
	if len(in.Topics) == 0 {
		in.Topics = []string{"mobilita-sostenibile"}
	}
	if in.Action == "" {
		in.Action = news.ActionPublish
	}
	it, err := s.news.Create(context.Background(), in, news.Actor{AccountID: "test"})
	if err != nil {
		t.Fatalf("create %q: %v", in.Title, err)
	}
	return it
}

var tokenRE = regexp.MustCompile(`https?://\S+token=([A-Za-z0-9_-]+)`)

// tokenIn returns the token of the link, in a mail, to path.
func tokenIn(t testing.TB, text, path string) string {
	t.Helper()
	for _, m := range tokenRE.FindAllStringSubmatch(text, -1) {
		if strings.Contains(m[0], path+"?token=") {
			return m[1]
		}
	}
	t.Fatalf("no %s link in %q", path, text)
	return ""
}

func count(t testing.TB, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
