package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// site is the demo town served by httptest servers, as a browser meets it.
type site struct {
	d         *db.DB
	portal    *httptest.Server
	partecipa *httptest.Server
	apps      *apps
}

func newApps(t testing.TB, d *db.DB) *apps {
	t.Helper()
	towns := town.NewStore(d, time.Minute)
	if err := ensureDemo(context.Background(), towns); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoCatalog(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoContent(context.Background(), d, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoNews(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoOnlineForms(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.BaseURL, cfg.PartecipaBaseURL, cfg.PageCacheTTL = "http://portal.test", "http://partecipa.test", 0
	a, err := buildApps(cfg, d, towns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newSite(t *testing.T, d *db.DB) *site {
	t.Helper()
	a := newApps(t, d)
	s := &site{d: d, apps: a, portal: httptest.NewServer(a.portal.Handler()), partecipa: httptest.NewServer(a.partecipa.Handler())}
	t.Cleanup(func() { s.portal.Close(); s.partecipa.Close() })
	return s
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, rawURL string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func postForm(t *testing.T, rawURL string, form url.Values, fetchSite string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func countElement(html, element string) int {
	return strings.Count(html, `data-element="`+element+`"`)
}

func TestHomePageFollowsTheMunicipalModel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		res, body := get(t, s.portal.URL+"/")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d", res.StatusCode)
		}
		for _, want := range []string{`<html lang="it">`, "Comune di Cinisello Balsamo", "Via XXV Aprile 4", "02 660231",
			"800 397469", "366 6229188", "comune.cinisellobalsamo@pec.regione.lombardia.it", "01971350150", "00727780967",
			"bootstrap-italia.min.css", `href="#main-container"`} {
			if !strings.Contains(body, want) {
				t.Errorf("home page lacks %q", want)
			}
		}
		// Exactly one link of each of the four national menu entries, with its exact title.
		for element, title := range map[string]string{"management": "Amministrazione", "news": "Novità", "all-services": "Servizi", "live": "Vivere il Comune"} {
			if n := countElement(body, element); n != 1 {
				t.Errorf("data-element %q appears %d times, want 1", element, n)
			}
			re := regexp.MustCompile(`data-element="` + element + `"[^>]*><span>` + title + `</span>`)
			if !re.MatchString(body) {
				t.Errorf("menu entry %q is not titled %q", element, title)
			}
		}
		for _, element := range []string{"all-topics", "appointment-booking", "feedback", "feedback-title", "faq",
			"report-inefficiency", "legal-notes", "privacy-policy-link", "accessibility-link", "feedback-rating-positive", "feedback-rating-negative", "feedback-input-text"} {
			if countElement(body, element) == 0 {
				t.Errorf("home page lacks data-element %q", element)
			}
		}
		for i := 1; i <= 5; i++ {
			if !strings.Contains(body, `<label class="full rating-star" for="rate`+string(rune('0'+i))+`" data-element="feedback-rate-`+string(rune('0'+i))+`"`) {
				t.Errorf("clarity rating lacks the label of %d stars", i)
			}
		}
		if !strings.Contains(body, `data-element="report-inefficiency">Segnala disservizio</a>`) {
			t.Error("the report link is not titled exactly Segnala disservizio")
		}
		if !strings.Contains(body, `data-element="feedback-title" lang="it">Quanto sono chiare le informazioni su questa pagina?</span>`) {
			t.Error("the clarity rating title is not the national wording")
		}
	})
}

func TestSecondLevelPagesUseNationalTitles(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	tests := []struct {
		path, element string
		want          []string
	}{
		{"/amministrazione", "management-category-link", []string{"Organi di governo", "Uffici", "Documenti e dati"}},
		{"/novita", "news-category-link", []string{"Notizie", "Comunicati", "Avvisi"}},
		{"/servizi", "service-category-link", []string{"Anagrafe e stato civile", "Tributi, finanze e contravvenzioni", "Mobilità e trasporti"}},
		{"/argomenti", "topic-element", []string{"Accesso all&#39;informazione", "ZTL", "Spazio Verde"}},
		{"/vivere-il-comune", "live-button-locations", nil},
		{"/vivere-il-comune", "live-button-events", nil},
	}
	for _, tt := range tests {
		res, body := get(t, s.portal.URL+tt.path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", tt.path, res.StatusCode)
			continue
		}
		if countElement(body, tt.element) == 0 {
			t.Errorf("%s lacks %s links", tt.path, tt.element)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, `data-element="`+tt.element+`" lang="it">`+w+`</a>`) {
				t.Errorf("%s lacks the category %q", tt.path, w)
			}
		}
	}
	if n := countElement(mustGet(t, s.portal.URL+"/argomenti"), "topic-element"); n != 64 {
		t.Errorf("/argomenti lists %d topics, want 64", n)
	}
	res, body := get(t, s.portal.URL+"/servizi/mobilita-e-trasporti")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `data-element="breadcrumb"`) || !strings.Contains(body, ">Servizi</a>") {
		t.Errorf("service category page: %d, breadcrumb Home / Servizi / category missing", res.StatusCode)
	}
	if res, _ := get(t, s.portal.URL+"/servizi/nessuna-categoria"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown category: %d, want 404", res.StatusCode)
	}
}

func mustGet(t *testing.T, u string) string {
	t.Helper()
	_, body := get(t, u)
	return body
}

func TestLegalNotesCarryTheNationalLicence(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	for _, lang := range []string{"it", "en"} {
		_, body := get(t, s.portal.URL+"/note-legali", "Accept-Language", lang)
		if !strings.Contains(body, `<h2 data-element="legal-notes-section">Licenza dei contenuti</h2>`) {
			t.Errorf("%s: the licence section title is missing", lang)
		}
		re := regexp.MustCompile(`<p data-element="legal-notes-body">In applicazione del principio open by default ai sensi dell’articolo 52 [^<]*con il solo onere di attribuzione, senza apporre restrizioni aggiuntive\.</p>`)
		if !re.MatchString(body) {
			t.Errorf("%s: the licence text is not the national wording", lang)
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	tests := []struct {
		header []string
		lang   string
	}{
		{nil, "it"},
		{[]string{"Accept-Language", "en-GB,en;q=0.9"}, "en"},
		{[]string{"Accept-Language", "de-DE,de;q=0.9"}, "it"},
		{[]string{"Accept-Language", "en", "Cookie", "lang=it"}, "it"},
		{[]string{"Cookie", "lang=en"}, "en"},
		{[]string{"Cookie", "lang=xx"}, "it"},
	}
	for _, tt := range tests {
		res, body := get(t, s.portal.URL+"/faq", tt.header...)
		if !strings.Contains(body, `<html lang="`+tt.lang+`">`) || res.Header.Get("Content-Language") != tt.lang {
			t.Errorf("headers %v: want lang %s, got Content-Language %q", tt.header, tt.lang, res.Header.Get("Content-Language"))
		}
	}
	res, _ := get(t, s.portal.URL+"/lingua/en?next=/faq")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/faq" {
		t.Errorf("language switch: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	c := res.Cookies()
	if len(c) != 1 || c[0].Name != "lang" || c[0].Value != "en" || !c[0].HttpOnly || c[0].Domain != "" || c[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("language cookie: %+v", c)
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
		res, _ := get(t, s.portal.URL+"/lingua/en?next="+url.QueryEscape(next))
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q redirected to %q, want /", next, loc)
		}
	}
	if res, _ := get(t, s.portal.URL+"/lingua/xx"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown language: %d", res.StatusCode)
	}
}

func TestSecurityHeadersAndCrossOriginProtection(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	for _, base := range []string{s.portal.URL, s.partecipa.URL} {
		res, _ := get(t, base+"/")
		for h, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "same-origin",
			"X-Frame-Options":        "DENY",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", base, h, got, want)
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", base, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP allows unsafe code: %q", csp)
		}
		if res.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent over plain HTTP")
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Error("no request id")
		}
	}
	// A form posted from another site is refused, whatever the route.
	res := postForm(t, s.portal.URL+"/valutazione", url.Values{"path": {"/"}, "rating": {"5"}, "token": {ratingToken(t, s, "/")}}, "cross-site")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", res.StatusCode)
	}
	if n := feedbackRows(t, s.d); n != 0 {
		t.Errorf("a refused POST stored %d ratings", n)
	}
	// Over TLS the browser is told to keep to HTTPS.
	tls := httptest.NewTLSServer(s.apps.portal.Handler())
	defer tls.Close()
	res2, err := tls.Client().Get(tls.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if !strings.HasPrefix(res2.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("no HSTS over TLS: %q", res2.Header.Get("Strict-Transport-Security"))
	}
}

func feedbackRows(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM page_feedback`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestClarityRating(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		token := ratingToken(t, s, "/faq")
		bad := []url.Values{
			{"path": {"/faq"}, "rating": {"0"}},
			{"path": {"/faq"}, "rating": {"6"}},
			{"path": {"/faq"}, "rating": {"tre"}},
			{"path": {"/faq"}, "rating": {"5"}, "reason": {"Ho avuto problemi tecnici"}},
			{"path": {"/faq"}, "rating": {"2"}, "reason": {"Le indicazioni erano chiare"}},
			{"path": {"/faq"}, "rating": {"4"}, "comment": {strings.Repeat("à", 201)}},
			{"path": {"https://evil.example/"}, "rating": {"4"}},
		}
		for _, form := range bad {
			form.Set("token", token)
			res := postForm(t, s.portal.URL+"/valutazione", form, "same-origin")
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "valutazione=errore") {
				t.Errorf("invalid rating %v: %d to %q", form, res.StatusCode, loc)
			}
		}
		huge := postForm(t, s.portal.URL+"/valutazione", url.Values{"path": {"/faq"}, "rating": {"4"}, "comment": {strings.Repeat("x", 20000)}}, "same-origin")
		if huge.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("an oversized rating: %d, want 413", huge.StatusCode)
		}
		if n := feedbackRows(t, d); n != 0 {
			t.Fatalf("invalid ratings stored %d rows", n)
		}
		good := url.Values{"path": {"/faq"}, "rating": {"2"}, "reason": {"A volte le indicazioni non erano complete"}, "comment": {strings.Repeat("è", 200)}, "token": {token}}
		res := postForm(t, s.portal.URL+"/valutazione", good, "same-origin")
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/faq?valutazione=grazie#feedback" {
			t.Fatalf("valid rating: %d to %q", res.StatusCode, loc)
		}
		if n := feedbackRows(t, d); n != 1 {
			t.Fatalf("%d rows after one valid rating", n)
		}
		_, body := get(t, s.portal.URL+"/faq?valutazione=grazie")
		if !strings.Contains(body, `role="status"`) {
			t.Error("no thank-you after rating")
		}
	})
}

func TestErrorPagesAreTranslated(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	res, body := get(t, s.portal.URL+"/non-esiste")
	if res.StatusCode != 404 || !strings.Contains(body, "Pagina non trovata") {
		t.Errorf("404 page: %d", res.StatusCode)
	}
	res, body = get(t, s.portal.URL+"/non-esiste", "Accept-Language", "en")
	if res.StatusCode != 404 || !strings.Contains(body, "Page not found") {
		t.Errorf("English 404 page: %d", res.StatusCode)
	}
	res = postForm(t, s.portal.URL+"/faq", url.Values{}, "same-origin")
	if res.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(res.Header.Get("Allow"), "GET") {
		t.Errorf("POST /faq: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	res, body = get(t, s.partecipa.URL+"/non-esiste", "Accept-Language", "en")
	if res.StatusCode != 404 || !strings.Contains(body, "Page not found") {
		t.Errorf("Partecipa 404 page: %d", res.StatusCode)
	}
}

func TestPanicBecomesA500Page(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	s.apps.portal.Mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	res, body := get(t, s.portal.URL+"/boom")
	if res.StatusCode != 500 || !strings.Contains(body, "Errore del sistema") {
		t.Errorf("panic: %d", res.StatusCode)
	}
	if res, _ := get(t, s.portal.URL+"/"); res.StatusCode != 200 {
		t.Errorf("after a panic the site answers %d", res.StatusCode)
	}
}

func TestCompressionAndStaticFiles(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	_, plain := get(t, s.portal.URL+"/", "Accept-Encoding", "identity")
	req, _ := http.NewRequest(http.MethodGet, s.portal.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("home page not compressed: %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// Request ids differ; the rest of the page is the same.
	if len(unzipped) != len(plain) {
		t.Errorf("gzip body %d bytes once inflated, plain %d", len(unzipped), len(plain))
	}

	css := s.apps.portal.Static.Prefix + "/vendor/bootstrap-italia/css/bootstrap-italia.min.css"
	res2, body := get(t, s.portal.URL+css, "Accept-Encoding", "identity")
	if res2.StatusCode != 200 || !strings.Contains(body, "--bootstrap-italia-version") {
		t.Fatalf("Bootstrap Italia CSS: %d", res2.StatusCode)
	}
	if cc := res2.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("static Cache-Control %q", cc)
	}
	res3, _ := get(t, s.portal.URL+css, "If-None-Match", res2.Header.Get("ETag"))
	if res3.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %d", res3.StatusCode)
	}
	font := s.apps.portal.Static.Prefix + "/vendor/bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2"
	res4, _ := get(t, s.portal.URL+font, "Accept-Encoding", "gzip")
	if res4.StatusCode != 200 || res4.Header.Get("Content-Encoding") != "" || res4.Header.Get("Content-Type") != "font/woff2" {
		t.Errorf("font: %d, encoding %q, type %q", res4.StatusCode, res4.Header.Get("Content-Encoding"), res4.Header.Get("Content-Type"))
	}
}

// C.SI.1.2: the national validator for municipal sites reads the Bootstrap
// Italia version of a page from the --bootstrap-italia-version custom
// property of :root in its stylesheets, stripping double quotes only (or from
// window.BOOTSTRAP_ITALIA_VERSION, which civico does not set: pages work
// without script), and wants a version number there. Read as it reads it,
// from the stylesheet the home page links, the version is the vendored one.
func TestBootstrapItaliaVersionReadableByTheNationalValidator(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's assets: the same on either database
	_, page := get(t, s.portal.URL+"/")
	href := regexp.MustCompile(`<link rel="stylesheet" href="([^"]*bootstrap-italia\.min\.css)"`).FindStringSubmatch(page)
	if href == nil {
		t.Fatal("the home page links no Bootstrap Italia stylesheet")
	}
	res, css := get(t, s.portal.URL+href[1])
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", href[1], res.StatusCode)
	}
	decls := regexp.MustCompile(`:root\s*\{[^}]*--bootstrap-italia-version\s*:\s*([^;}]*)`).FindAllStringSubmatch(css, -1)
	if len(decls) == 0 {
		t.Fatal("the stylesheet declares no --bootstrap-italia-version on :root")
	}
	got := strings.ReplaceAll(strings.TrimSpace(decls[len(decls)-1][1]), `"`, "") // the last declaration wins
	vendored, err := os.ReadFile("../../internal/web/static/vendor/bootstrap-italia/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(vendored)); got != want || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(got) {
		t.Errorf("the validator reads the version %q, want %s", got, want)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		for _, p := range []string{"/healthz", "/readyz"} {
			for _, base := range []string{s.portal.URL, s.partecipa.URL} {
				if res, _ := get(t, base+p); res.StatusCode != 200 {
					t.Errorf("%s%s = %d", base, p, res.StatusCode)
				}
			}
		}
		// Metrics have a listener of their own (TestMetricsHaveTheirOwnListener).
		for _, base := range []string{s.portal.URL, s.partecipa.URL} {
			if res, _ := get(t, base+"/metrics"); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s/metrics = %d, want 404", base, res.StatusCode)
			}
		}
		d.Close()
		if res, _ := get(t, s.portal.URL+"/readyz"); res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz with the database closed: %d", res.StatusCode)
		}
	})
}

// Every link of every page leads somewhere, in both languages.
func TestCrawlHasNoBrokenLinks(t *testing.T) {
	s := newSite(t, dbtest.SQLite(t)) // the shell's pages and headers: the same on either database
	href := regexp.MustCompile(`href="(/[^"#]*)`)
	for _, lang := range web.Languages {
		seen := map[string]bool{"/": true}
		queue := []string{"/"}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			res, body := get(t, s.portal.URL+p, "Cookie", "lang="+lang)
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s: GET %s = %d", lang, p, res.StatusCode)
				continue
			}
			if !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
				continue
			}
			for _, m := range href.FindAllStringSubmatch(body, -1) {
				u := strings.ReplaceAll(m[1], "&amp;", "&")
				if strings.HasPrefix(u, "/lingua/") || seen[u] {
					continue
				}
				seen[u] = true
				queue = append(queue, u)
			}
		}
		if len(seen) < 100 {
			t.Errorf("%s: the crawl reached only %d pages", lang, len(seen))
		}
	}
	if m := s.apps.portal.I18n.Missing(); len(m) > 0 {
		t.Errorf("pages asked for undefined messages: %v", m)
	}
}

// Every message a template asks for exists in every language.
// Every template's literal message ids exist in every language, for every
// feature in civico's list (and the shell's layout).
func TestTemplatesUseDefinedMessages(t *testing.T) {
	features := newCivico(testConfig(t), oidcop.Secret{}, nil).features
	x, err := web.NewI18n(append([]fs.FS{web.Messages}, feature.Messages(features)...)...)
	if err != nil {
		t.Fatal(err)
	}
	for lang, missing := range x.Untranslated() {
		if len(missing) > 0 {
			t.Errorf("%s lacks translations of %v", lang, missing)
		}
	}
	literal := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	sources := append([]fs.FS{web.Layout()}, feature.PortalTemplates(features)...)
	for _, src := range append(sources, feature.PartecipaTemplates(features)...) {
		fs.WalkDir(src, ".", func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".html") {
				return err
			}
			b, _ := fs.ReadFile(src, p)
			for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
				for _, lang := range web.Languages {
					if !x.Has(lang, m[1]) {
						t.Errorf("%s uses %q, undefined in %s", p, m[1], lang)
					}
				}
			}
			return nil
		})
	}
}

func TestPublicPagesAreCachedForAnonymousVisitors(t *testing.T) {
	d := dbtest.SQLite(t)        // the page caches live in the process: the same on either database
	towns := town.NewStore(d, 0) // no profile cache: only the page cache may hide a change
	if err := ensureDemo(context.Background(), towns); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.BaseURL, cfg.PartecipaBaseURL, cfg.PageCacheTTL = "http://portal.test", "http://partecipa.test", time.Minute
	a, err := buildApps(cfg, d, towns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.portal.Handler())
	defer srv.Close()

	_, first := get(t, srv.URL+"/faq")
	_, firstEN := get(t, srv.URL+"/faq", "Accept-Language", "en")
	p := town.Demo()
	p.Phone = "02 999999"
	if err := towns.Put(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	res, again := get(t, srv.URL+"/faq")
	if again != first || res.Header.Get("X-Request-Id") == "" || res.Header.Get("Content-Security-Policy") == "" {
		t.Error("a cached page differs, or lost its per-request headers")
	}
	if _, en := get(t, srv.URL+"/faq", "Accept-Language", "en"); en != firstEN || en == first {
		t.Error("the cache mixed languages")
	}
	// Anything personal bypasses the cache.
	if _, personal := get(t, srv.URL+"/faq", "Cookie", "session=abc"); !strings.Contains(personal, "02 999999") {
		t.Error("a request with a session cookie got a cached page")
	}
	// Another query is another page; errors are never kept.
	if _, other := get(t, srv.URL+"/faq?valutazione=grazie"); !strings.Contains(other, "02 999999") || !strings.Contains(other, `role="status"`) {
		t.Error("a page with another query came from the cache")
	}
	if res, _ := get(t, srv.URL+"/non-esiste"); res.StatusCode != 404 {
		t.Errorf("404 then %d", res.StatusCode)
	}
	if _, ready := get(t, srv.URL+"/readyz"); ready != "ready\n" {
		t.Errorf("readyz: %q", ready)
	}
	a.portal.Cache.Purge()
	if _, fresh := get(t, srv.URL+"/faq"); !strings.Contains(fresh, "02 999999") {
		t.Error("after Purge the old page is still served")
	}
}

// cachedSite is the portal with the default caches (page and shared
// content kept one minute, the others as serve keeps them), and a way to
// log residents in.
type cachedSite struct {
	apps  *apps
	srv   *httptest.Server
	login func(first15, given, email string) string // returns the Cookie header
}

// newCachedSite serves the demo town with the default caches; configure,
// if not nil, changes them first (BenchmarkCaches turns one off).
func newCachedSite(t testing.TB, configure func(*config)) *cachedSite {
	d := dbtest.SQLite(t) // the page caches live in the process: the same on either database
	cfg := testConfig(t)
	cfg.BaseURL, cfg.PartecipaBaseURL, cfg.PageCacheTTL = "http://portal.test", "http://partecipa.test", time.Minute
	if configure != nil {
		configure(&cfg)
	}
	towns := town.NewStore(d, cfg.Caches.Town)
	ctx := context.Background()
	if err := ensureDemo(ctx, towns); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoCatalog(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoContent(ctx, d, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoNews(ctx, d); err != nil {
		t.Fatal(err)
	}
	a, err := buildApps(cfg, d, towns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The finder's questions are about the week of demoWednesday.
	atDemoWednesday(a)
	srv := httptest.NewServer(a.portal.Handler())
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(_, given, email string) string {
		if _, err := a.identity.ImportResident(ctx, identity.NewResident{Email: email, Password: "tram-per-Sesto-alle-7", GivenName: given, FamilyName: "Test"}, "test"); err != nil {
			t.Fatal(err)
		}
		res, err := client.PostForm(srv.URL+"/accedi", url.Values{"email": {email}, "password": {"tram-per-Sesto-alle-7"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == identity.SessionCookie {
				return c.Name + "=" + c.Value
			}
		}
		t.Fatalf("no session cookie: %d", res.StatusCode)
		return ""
	}
	return &cachedSite{apps: a, srv: srv, login: login}
}

// A logged-in visitor's service page reuses the content every visitor
// shares, around a header of their own; a change of the catalogue shows at
// once.
func TestSharedContentForLoggedInVisitors(t *testing.T) {
	s := newCachedSite(t, nil)
	ctx := context.Background()
	a, srv := s.apps, s.srv
	mario, giulia := s.login("RSSMRA85T10A562", "Mario", "mario@example.org"), s.login("BNCGLI90A41F205", "Giulia", "giulia@example.org")
	path := srv.URL + "/servizi/anagrafe-e-stato-civile/carta-identita-elettronica"
	main := func(page string) string {
		i, j := strings.Index(page, `<main id="main-container">`), strings.Index(page, "</main>")
		if i < 0 || j < i {
			t.Fatal("no main content")
		}
		return page[i:j]
	}
	for _, p := range []string{path, srv.URL + "/amministrazione/uffici/anagrafe", srv.URL + "/dove-e-quando?quando=libero&giorno=2026-11-27&dalle=17:00&alle=20:00"} {
		_, m := get(t, p, "Cookie", mario)
		_, g := get(t, p, "Cookie", giulia)
		_, anon := get(t, p)
		if !strings.Contains(m, "Mario Test") || !strings.Contains(g, "Giulia Test") || strings.Contains(g, "Mario Test") {
			t.Fatalf("%s: the header is not each visitor's own", p)
		}
		if main(m) != main(g) || main(m) != main(anon) {
			t.Fatalf("%s: the shared content differs between visitors", p)
		}
	}
	// Another question to the finder is another answer.
	_, q1 := get(t, srv.URL+"/dove-e-quando?quando=libero&giorno=2026-11-27&dalle=17:00&alle=20:00", "Cookie", mario)
	_, q2 := get(t, srv.URL+"/dove-e-quando?quando=libero&giorno=2026-11-28&dalle=09:00&alle=12:00", "Cookie", mario)
	if main(q1) == main(q2) {
		t.Fatal("two questions to the finder got the same answer")
	}
	// The back office changes the catalogue: the next page shows it.
	if _, err := a.civico.catalog.Store.DB.ExecContext(ctx, `UPDATE services SET title = 'Carta d''identità (nuovo titolo)' WHERE id = 'carta-identita-elettronica'`); err != nil {
		t.Fatal(err)
	}
	a.civico.catalog.Store.Forget()
	if _, m2 := get(t, path, "Cookie", mario); !strings.Contains(m2, "nuovo titolo") {
		t.Fatal("a logged-in visitor still sees the content of the old catalogue")
	}
}

// A process has one town profile store: a change made through it shows at
// once in identity's mail and in a logged-in visitor's pages (whose layout
// fragments are keyed by the profile), not after another store's TTL.
func TestOneTownProfileStore(t *testing.T) {
	s := newCachedSite(t, nil)
	ctx := context.Background()
	mario := s.login("RSSMRA85T10A562", "Mario", "mario@example.org")
	if got := s.apps.identity.Town(ctx); got != town.Demo().FullName() {
		t.Fatalf("identity's town: %q", got)
	}
	if _, page := get(t, s.srv.URL+"/", "Cookie", mario); strings.Contains(page, "Paese Nuovo") {
		t.Fatal("the new name before the change")
	}
	p := town.Demo()
	p.Name = "Paese Nuovo"
	if err := s.apps.portal.Town.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := s.apps.identity.Town(ctx); got != "Comune di Paese Nuovo" {
		t.Errorf("identity's town after the change: %q", got)
	}
	if _, page := get(t, s.srv.URL+"/", "Cookie", mario); !strings.Contains(page, "Comune di Paese Nuovo") {
		t.Error("a logged-in visitor's page does not show the change")
	}
}

// loggedInPages are the pages the cache benchmarks ask for.
var loggedInPages = map[string]string{"home": "/", "service": "/servizi/anagrafe-e-stato-civile/carta-identita-elettronica",
	"office": "/amministrazione/uffici/anagrafe", "finder": "/dove-e-quando?quando=libero&giorno=2026-11-25&dalle=17:00&alle=20:00"}

// BenchmarkLoggedInPages measures pages as a logged-in resident gets them
// (never from the page cache), with the default caches.
func BenchmarkLoggedInPages(b *testing.B) {
	for name, path := range loggedInPages {
		b.Run(name, func(b *testing.B) { benchCachedPage(b, nil, path, true) })
	}
}

// BenchmarkCaches measures what each cache saves on the path it serves
// (bench/RESULTS.md; docs/ARCHITECTURE.md, "Caches"): the pages as a
// logged-in resident gets them with every cache (off=none) and with one
// turned off through its configuration; and, for the page cache, which
// serves anonymous visitors only, the pages as one of them gets them, with
// and without it.
func BenchmarkCaches(b *testing.B) {
	type off struct {
		name string
		set  func(*config)
	}
	resident := []off{
		{"none", nil},
		{"content", func(c *config) { c.Caches.Contents = 0 }},
		{"fragments", func(c *config) { c.Caches.Fragments = 0 }},
		{"catalog", func(c *config) { c.Caches.Catalog = 0 }},
		{"town", func(c *config) { c.Caches.Town = 0 }},
		{"sessions", func(c *config) { c.Caches.Sessions = 0 }},
	}
	anonymous := []off{{"none", nil}, {"pages", func(c *config) { c.Caches.Pages = 0 }}}
	for who, offs := range map[string][]off{"resident": resident, "anonymous": anonymous} {
		for _, o := range offs {
			for name, path := range loggedInPages {
				b.Run(who+"/off="+o.name+"/"+name, func(b *testing.B) { benchCachedPage(b, o.set, path, who == "resident") })
			}
		}
	}
}

func benchCachedPage(b *testing.B, configure func(*config), path string, loggedIn bool) {
	s := newCachedSite(b, configure)
	h := s.apps.portal.Handler()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if loggedIn {
		req.Header.Set("Cookie", s.login("RSSMRA85T10A562", "Mario", "mario@example.org"))
	}
	b.ReportAllocs()
	// On the shared machine the time per request includes waiting for a
	// core: the process's CPU time per request is reported too.
	cpu := processCPU()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "Mario Test") != loggedIn {
			b.Fatalf("GET %s = %d, or not as the visitor it was asked as", path, w.Code)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// A page rendered whole goes out with its length, not chunked: plain,
// compressed (the compressed length) and from the page cache; a HEAD tells
// the length of the GET and sends nothing.
func TestWholePagesCarryTheirLength(t *testing.T) {
	// The shell's answers: the same on either database.
	s := newTunedIDSite(t, dbtest.SQLite(t), func(c *config) { c.PageCacheTTL = time.Minute })
	cookie := s.passwordSession(t, "length@example.org", "Lena")
	send := func(method, path, encoding, cookie string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, s.plain.URL+path, nil)
		req.Header.Set("Accept-Encoding", encoding)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		// The transport, not a client: it leaves the body as sent.
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	for _, c := range []struct{ name, path, cookie string }{
		{"anonymous, rendered", "/", ""},
		{"anonymous, from the page cache", "/", ""},
		{"logged in", "/profilo", cookie},
	} {
		res, plain := send(http.MethodGet, c.path, "identity", c.cookie)
		if res.StatusCode != 200 || res.ContentLength != int64(len(plain)) || len(res.TransferEncoding) > 0 || !bytes.Contains(plain, []byte("</html>")) {
			t.Errorf("%s: %d, length %d for %d bytes, transfer %v", c.name, res.StatusCode, res.ContentLength, len(plain), res.TransferEncoding)
		}
		res, zipped := send(http.MethodGet, c.path, "gzip", c.cookie)
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || res.ContentLength != int64(len(zipped)) || len(res.TransferEncoding) > 0 {
			t.Errorf("%s, compressed: %d, encoding %q, length %d for %d bytes, transfer %v", c.name, res.StatusCode,
				res.Header.Get("Content-Encoding"), res.ContentLength, len(zipped), res.TransferEncoding)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if inflated, err := io.ReadAll(zr); err != nil || !bytes.HasSuffix(bytes.TrimSpace(inflated), []byte("</html>")) {
			t.Errorf("%s: the compressed page inflates to %d bytes (%v)", c.name, len(inflated), err)
		}
		res, none := send(http.MethodHead, c.path, "identity", c.cookie)
		if res.StatusCode != 200 || res.ContentLength != int64(len(plain)) || len(none) != 0 {
			t.Errorf("%s, HEAD: %d, length %d (GET %d), %d bytes sent", c.name, res.StatusCode, res.ContentLength, len(plain), len(none))
		}
	}
}
