package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/feedback"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// newSiteBehindProxy is the demo portal as production builds it behind a
// reverse proxy on the loopback: X-Forwarded-For names the client, so a
// test can speak as several clients.
func newSiteBehindProxy(t *testing.T, d *db.DB) *site {
	t.Helper()
	towns := town.NewStore(d, time.Minute)
	ctx := context.Background()
	if err := ensureDemo(ctx, towns); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoCatalog(ctx, d); err != nil {
		t.Fatal(err)
	}
	proxies, err := web.ParseProxies("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{BaseURL: "http://portal.test", PartecipaBaseURL: "http://partecipa.test", SecretKey: testSecretKey, TrustedProxies: proxies}
	a, err := buildApps(cfg, d, towns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{d: d, apps: a, portal: httptest.NewServer(a.portal.Handler()), partecipa: httptest.NewServer(a.partecipa.Handler())}
	t.Cleanup(func() { s.portal.Close(); s.partecipa.Close() })
	return s
}

var (
	ratingFormRE  = regexp.MustCompile(`(?s)<form method="post" action="/valutazione" class="feedback-form">\s*<input type="hidden" name="path" value="([^"]*)">\s*<input type="hidden" name="token" value="([^"]*)">`)
	ratingTokenRE = regexp.MustCompile(`name="token" value="([^"]*)"`)
)

// ratingToken opens a page as a browser does and returns the token its
// rating form carries for it.
func ratingToken(t *testing.T, s *site, path string) string {
	t.Helper()
	res, body := get(t, s.portal.URL+path)
	m := ratingFormRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil || m[1] != path || m[2] == "" {
		t.Fatalf("GET %s: %d, no rating form with a token for the page", path, res.StatusCode)
	}
	return m[2]
}

// rate posts the rating form from client (an address the proxy forwards;
// empty: the connection's own) and returns the outcome the reader is sent
// back with ("grazie", "errore"...).
func rate(t *testing.T, s *site, client string, form url.Values) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.portal.URL+"/valutazione", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("rating %v: %d to %q", form, res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("valutazione")
}

// A rating is taken only for a page that exists and showed the rating
// form: the form carries a token bound to the page's path, which the page
// cache may share among visitors. Without it, or with another page's,
// nothing is stored.
func TestClarityRatingOnlyForPagesThatShowIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		faq := ratingToken(t, s, "/faq")
		if other := ratingToken(t, s, "/servizi"); other == faq {
			t.Fatal("two pages carry the same token")
		}
		// An error page shows no rating form: its path may be anything.
		for _, path := range []string{"/non-esiste", "/servizi/nessuna-categoria"} {
			res, body := get(t, s.portal.URL+path)
			if res.StatusCode != http.StatusNotFound || strings.Contains(body, `data-element="feedback"`) || ratingTokenRE.MatchString(body) {
				t.Errorf("GET %s: %d, with a rating form", path, res.StatusCode)
			}
		}
		for name, form := range map[string]url.Values{
			"a page that does not exist, without a token": {"path": {"/non-esiste"}, "rating": {"4"}},
			"a page that does not exist, with /faq's":     {"path": {"/non-esiste"}, "rating": {"4"}, "token": {faq}},
			"/servizi with /faq's token":                  {"path": {"/servizi"}, "rating": {"4"}, "token": {faq}},
			"/faq without a token":                        {"path": {"/faq"}, "rating": {"4"}},
			"/faq with a token cut short":                 {"path": {"/faq"}, "rating": {"4"}, "token": {faq[:len(faq)-1]}},
			"/faq with two tokens":                        {"path": {"/faq"}, "rating": {"4"}, "token": {"x", faq}},
		} {
			if got := rate(t, s, "", form); got != "errore" {
				t.Errorf("%s: outcome %q, want errore", name, got)
			}
		}
		if n := feedbackRows(t, d); n != 0 {
			t.Fatalf("refused ratings stored %d rows", n)
		}
		if got := rate(t, s, "", url.Values{"path": {"/faq"}, "rating": {"4"}, "token": {faq}}); got != "grazie" {
			t.Fatalf("/faq with its token: %q", got)
		}
		if n := feedbackRows(t, d); n != 1 {
			t.Fatalf("%d rows after one rating", n)
		}
		// Thanks are said on the page, still without JavaScript, and the
		// form stays for the next reader.
		_, body := get(t, s.portal.URL+"/faq?valutazione=grazie")
		if !strings.Contains(body, `role="status"`) || !ratingFormRE.MatchString(body) {
			t.Error("no thank-you, or no rating form, after rating")
		}
	})
}

// One client rates one page once a day, and at most feedback.ClientRatings
// pages an hour; another client is not affected. An IPv6 client is its /64
// (one household or phone has the whole prefix).
func TestClarityRatingLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSiteBehindProxy(t, d)
		cat, err := s.apps.civico.catalog.Store.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, sv := range cat.Services {
			if len(paths) <= feedback.ClientRatings {
				paths = append(paths, "/servizi/"+sv.Category+"/"+sv.ID)
			}
		}
		if len(paths) <= feedback.ClientRatings {
			t.Fatalf("only %d services to rate", len(paths))
		}
		tokens := map[string]string{}
		for _, p := range paths {
			tokens[p] = ratingToken(t, s, p)
		}
		form := func(path string) url.Values {
			return url.Values{"path": {path}, "rating": {"5"}, "token": {tokens[path]}}
		}
		const a, b = "203.0.113.7", "198.51.100.20"
		if got := rate(t, s, a, form(paths[0])); got != "grazie" {
			t.Fatalf("first rating: %q", got)
		}
		if got := rate(t, s, a, form(paths[0])); got != "ripetuta" {
			t.Errorf("the same page again the same day: %q, want ripetuta", got)
		}
		for i, p := range paths[1:feedback.ClientRatings] {
			if got := rate(t, s, a, form(p)); got != "grazie" {
				t.Fatalf("rating %d of the hour: %q", i+2, got)
			}
		}
		if got := rate(t, s, a, form(paths[feedback.ClientRatings])); got != "troppe" {
			t.Errorf("rating %d of the hour: %q, want troppe", feedback.ClientRatings+1, got)
		}
		if n := feedbackRows(t, d); n != feedback.ClientRatings {
			t.Fatalf("%d rows, want %d", n, feedback.ClientRatings)
		}
		if got := rate(t, s, b, form(paths[0])); got != "grazie" {
			t.Errorf("another client: %q", got)
		}
		if got := rate(t, s, "2001:db8:1:2::1", form(paths[0])); got != "grazie" {
			t.Errorf("an IPv6 client: %q", got)
		}
		if got := rate(t, s, "2001:db8:1:2:ffff::9", form(paths[0])); got != "ripetuta" {
			t.Errorf("another address of the same /64: %q, want ripetuta", got)
		}
		if got := rate(t, s, "2001:db8:1:3::1", form(paths[0])); got != "grazie" {
			t.Errorf("another /64: %q", got)
		}
		if n := feedbackRows(t, d); n != feedback.ClientRatings+3 {
			t.Fatalf("%d rows, want %d", n, feedback.ClientRatings+3)
		}
		// The reader is told why, in their language.
		_, body := get(t, s.portal.URL+paths[0]+"?valutazione=ripetuta")
		_, bodyEN := get(t, s.portal.URL+paths[0]+"?valutazione=troppe", "Accept-Language", "en")
		if !strings.Contains(body, "già stata registrata oggi") || !strings.Contains(bodyEN, "too many ratings came from this connection") {
			t.Error("the refusals are not explained")
		}
	})
}

// The office reads what readers wrote: from the results, each page leads
// to the reasons given and the comments, 50 at a time, newest first. URP
// and administrators read the comments; statistics sees only the numbers;
// other operators and residents see nothing.
func TestRatingCommentsReachTheOffice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		store := &feedback.Store{DB: d, Limiter: s.apps.limiter}
		if err := store.Add(ctx, feedback.Rating{Path: "/faq", Stars: 2, Reason: "Ho avuto problemi tecnici", Comment: "Il modulo <b>non</b> si apre", Lang: "it"}, "203.0.113.250"); err != nil {
			t.Fatal(err)
		}
		for i := range feedback.PerPage {
			if err := store.Add(ctx, feedback.Rating{Path: "/faq", Stars: 3, Comment: fmt.Sprintf("commento numero %d", i), Lang: "en"}, fmt.Sprintf("203.0.113.%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		base := s.plain.URL
		detail := base + feedback.DetailPath + "?" + url.Values{"percorso": {"/faq"}}.Encode()

		urp := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		_, list := urp.do("GET", base+"/backoffice/valutazioni", nil)
		if !strings.Contains(list, `href="/backoffice/valutazioni/pagina?percorso=%2ffaq"`) {
			t.Fatalf("the results do not lead to the page's answers:\n%s", list)
		}
		res, body := urp.do("GET", detail, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("URP on the answers: %d", res.StatusCode)
		}
		for _, want := range []string{"Ho avuto problemi tecnici", "commento numero 49", "commento numero 0<", "Commenti (51)", "Pagina 1 di 2", `rel="next"`} {
			if !strings.Contains(body, want) {
				t.Errorf("URP's page of answers lacks %q", want)
			}
		}
		if strings.Contains(body, "Il modulo") || strings.Contains(body, "<b>non</b>") {
			t.Error("the oldest comment is on the first page, or a comment's markup is not escaped")
		}
		_, second := urp.do("GET", detail+"&pagina=2", nil)
		if !strings.Contains(second, "Il modulo &lt;b&gt;non&lt;/b&gt; si apre") || strings.Contains(second, "commento numero") {
			t.Error("the second page does not hold the oldest comment, escaped, alone")
		}
		if res, _ := urp.do("GET", detail+"&pagina=3", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("a page past the last: %d, want 404", res.StatusCode)
		}
		for _, bad := range []string{"https://evil.example/", "/mai-valutata", ""} {
			if res, _ := urp.do("GET", base+feedback.DetailPath+"?"+url.Values{"percorso": {bad}}.Encode(), nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("answers of %q: %d, want 404", bad, res.StatusCode)
			}
		}

		stats := operatorBrowser(t, s, "stat@comune.example.it", "statistics")
		_, body = stats.do("GET", detail, nil)
		if !strings.Contains(body, "Ho avuto problemi tecnici") || strings.Contains(body, "commento numero") || !strings.Contains(body, "Ufficio Relazioni con il Pubblico") {
			t.Error("statistics must see the reasons and not the comments")
		}
		desk := operatorBrowser(t, s, "desk@comune.example.it", "desk")
		if res, _ := desk.do("GET", detail, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a desk operator on the answers: %d, want 403", res.StatusCode)
		}
		if res, _ := noRedirect.Get(detail); res.StatusCode != http.StatusSeeOther {
			t.Errorf("an anonymous visitor on the answers: %d, want a redirect to the login", res.StatusCode)
		}
	})
}
