package main

import (
	"context"
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
