package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
)

// The third review's findings, each an attack on the demo, each refused.

// A public (native) client's loopback redirect may change only its port
// (RFC 8252, section 7.3): not the loopback address, not localhost for an
// IP literal, not the scheme, path or query.
func TestSingleSignOnLoopbackRedirectsVaryOnlyInPort(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		app, _ := s.addClient(t, oidcop.NewClient{Name: "App", Public: true, FirstParty: true,
			RedirectURIs: []string{"http://127.0.0.1/cb?app=1", "http://[::1]/v6", "http://localhost/named"}})
		b := s.ssoBrowser(t, nil)
		authorize := func(redirect string) *http.Response {
			res, _ := b.do("GET", authorizeURL(s, app.ID, redirect), nil)
			return res
		}
		for _, ok := range []string{
			"http://127.0.0.1/cb?app=1",
			"http://127.0.0.1:51234/cb?app=1",
			"http://[::1]:4000/v6",
			"http://[::1]/v6",
			"http://localhost:4000/named",
		} {
			if res := authorize(ok); res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), oidcop.PathLogin+"?") {
				t.Errorf("%s: %d %q, want the login", ok, res.StatusCode, res.Header.Get("Location"))
			}
		}
		// The errors the library finds before the redirect URI's check go
		// nowhere either; nor does a redirect URI named in upper case or
		// given twice (the library reads names in any case).
		good := authorizeURL(s, app.ID, "http://127.0.0.1/cb?app=1", "prompt", "none login")
		for name, u := range map[string]string{
			"an error":        strings.Replace(good, url.QueryEscape("http://127.0.0.1/cb?app=1"), url.QueryEscape("http://[::1]:5/cb?app=1"), 1),
			"upper-case name": strings.Replace(good, "redirect_uri="+url.QueryEscape("http://127.0.0.1/cb?app=1"), "REDIRECT_URI="+url.QueryEscape("http://[::1]:5/cb?app=1"), 1),
			"named twice":     good + "&redirect_uri=" + url.QueryEscape("http://[::1]:5/cb?app=1"),
		} {
			res, _ := b.do("GET", u, nil)
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
				t.Errorf("%s: %d %q, want the provider's error page", name, res.StatusCode, res.Header.Get("Location"))
			}
		}
		for _, bad := range []string{
			"http://[::1]:51234/cb?app=1",        // another loopback address
			"http://localhost:51234/cb?app=1",    // a name for an IP literal
			"http://127.0.0.2:51234/cb?app=1",    // another address in 127/8
			"https://127.0.0.1:51234/cb?app=1",   // another scheme
			"http://127.0.0.1:51234/other?app=1", // another path
			"http://127.0.0.1:51234/CB?app=1",
			"http://127.0.0.1:51234/cb?app=2", // another query
			"http://127.0.0.1:51234/cb",
			"http://127.0.0.1:51234/cb?app=1&x=2",
			"http://user@127.0.0.1:51234/cb?app=1", // credentials
			"http://127.0.0.1:51234/cb?app=1#f",    // a fragment
			"http://127.0.0.1:4000/v6",
			"http://[::1]:4000/named",
			"http://127.0.0.1:4000/named",
		} {
			res := authorize(bad)
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
				t.Errorf("%s: %d %q, want the provider's error page", bad, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})
}

// authorizeURL is a public client's authorization request with PKCE and
// the extra parameters given as name, value pairs.
func authorizeURL(s *idSite, clientID, redirect string, extra ...string) string {
	cfg := &oauth2.Config{ClientID: clientID, Endpoint: oauth2.Endpoint{AuthURL: s.plain.URL + oidcop.PathAuthorize}, RedirectURL: redirect, Scopes: []string{"openid"}}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(oauth2.GenerateVerifier())}
	for i := 0; i+1 < len(extra); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(extra[i], extra[i+1]))
	}
	return cfg.AuthCodeURL("st", opts...)
}

// response_mode=form_post is not offered: its page (a form to the
// application's origin, sent by a script) is what the portal's policy
// forbids, so the provider says so in discovery and refuses it with the
// protocol's error, by redirect; query and fragment still give a code.
func TestSingleSignOnRefusesFormPost(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Scuole", RedirectURIs: []string{outsideRedirect}, FirstParty: true})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid")
		var meta struct {
			Modes []string `json:"response_modes_supported"`
		}
		if err := rp.provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(meta.Modes, []string{"query", "fragment"}) {
			t.Fatalf("response_modes_supported: %q", meta.Modes)
		}
		b := s.ssoBrowser(t, nil)
		s.passwordResident(t, b, "BNCGLI90A41F205", "giulia@example.org")
		for _, mode := range []string{"form_post", "query.jwt", "nonsense"} {
			a := rp.start(oauth2.SetAuthURLParam("response_mode", mode))
			last, res, body, _ := b.follow(a.url, outsideRedirect)
			if !strings.HasPrefix(last, outsideRedirect) {
				t.Fatalf("response_mode=%s: %d at %s, want a redirect to the application: %.200s", mode, res.StatusCode, last, body)
			}
			if q := rp.callback(a, last); q.Get("error") != "invalid_request" || q.Get("code") != "" {
				t.Errorf("response_mode=%s: %s, want invalid_request and no code", mode, last)
			}
		}
		for _, mode := range []string{"query", "fragment"} {
			a := rp.start(oauth2.SetAuthURLParam("response_mode", mode))
			last, _, _, _ := b.follow(a.url, outsideRedirect)
			u, _ := url.Parse(last)
			q := u.Query()
			if mode == "fragment" {
				q, _ = url.ParseQuery(u.Fragment)
			}
			if q.Get("code") == "" || q.Get("state") != a.state {
				t.Errorf("response_mode=%s: no code at %s", mode, last)
			}
		}
	})
}

// rowCounts counts the rows of every table of the database.
func rowCounts(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if d.Dialect == db.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := d.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	counts := map[string]int{}
	for _, name := range tables {
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[name] = n
	}
	return counts
}

// Anonymous visits to the authorization endpoint (2,300 rows a second, in
// the attack) write nothing: the request in flight is sealed into its own
// id until a logged-in resident completes it. A normal login still works
// from any of them, and a sealed request expires and cannot be altered.
func TestSingleSignOnAnonymousAuthorizeWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Scuole", RedirectURIs: []string{outsideRedirect}, FirstParty: true})
		third, thirdSecret := s.addClient(t, oidcop.NewClient{Name: "Biblioteca", RedirectURIs: []string{outsideRedirect}})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid", "profile")
		rp3 := s.relyingParty(t, third.ID, thirdSecret, outsideRedirect, "openid")
		code, _ := cf.Complete("BNCGLI90A41F205")
		if _, err := s.apps.identity.ImportResident(ctx, identity.Registration{Email: "giulia@example.org", Password: "tram-per-Sesto-alle-7",
			Password2: "tram-per-Sesto-alle-7", FiscalCode: string(code), GivenName: "Giulia", FamilyName: "Bianchi", AcceptPrivacy: true}, "test"); err != nil {
			t.Fatal(err)
		}
		before := rowCounts(t, d)
		var kept authorization
		var keptLogin string
		for i := range 40 {
			b := s.ssoBrowser(t, nil)
			var a authorization
			switch i % 4 {
			case 0:
				a = rp.start()
			case 1:
				a = rp.start(oauth2.SetAuthURLParam("prompt", "none"))
			case 2:
				a = rp3.start(oauth2.SetAuthURLParam("acr_values", assurance.ACRHigh), oauth2.SetAuthURLParam("max_age", "60"))
			case 3:
				a = rp.start(oauth2.SetAuthURLParam("prompt", "login consent"))
			}
			last, res, _, _ := b.follow(a.url, outsideRedirect)
			switch {
			case i%4 == 1:
				if rp.callback(a, last).Get("error") != "login_required" {
					t.Fatalf("prompt=none: %s", last)
				}
			case res.StatusCode != http.StatusOK || !strings.Contains(last, "/accedi"):
				t.Fatalf("anonymous request %d ended at %d %s, want a login page", i, res.StatusCode, last)
			case i%4 == 0:
				kept, keptLogin = a, last
			}
		}
		after := rowCounts(t, d)
		for name, n := range after {
			if n != before[name] {
				t.Errorf("%s: %d rows before the anonymous requests, %d after", name, before[name], n)
			}
		}

		// The last request of the burst, completed with a password login.
		b := s.ssoBrowser(t, nil)
		next, _ := url.Parse(keptLogin)
		res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"giulia@example.org"}, "password": {"tram-per-Sesto-alle-7"},
			"next": {next.Query().Get("next")}})
		last, _, _, _ := b.follow(s.plain.URL+res.Header.Get("Location"), outsideRedirect)
		tok, err := rp.oauth.Exchange(ctx, rp.callback(kept, last).Get("code"), oauth2.VerifierOption(kept.verifier))
		if err != nil {
			t.Fatalf("exchange after the burst: %v", err)
		}
		idt, err := rp.verifier.Verify(ctx, tok.Extra("id_token").(string))
		if err != nil || idt.Nonce != kept.nonce {
			t.Fatalf("id_token after the burst: %v", err)
		}

		// A sealed request altered, or past its ten minutes, is no request.
		a := rp.start()
		res, _ = s.ssoBrowser(t, nil).do("GET", a.url, nil)
		loc, _ := url.Parse(res.Header.Get("Location"))
		id := loc.Query().Get("id")
		flipped := []byte(id)
		flipped[len(flipped)/2] ^= 1
		for name, u := range map[string]string{
			"altered": oidcop.PathLogin + "?" + url.Values{"id": {string(flipped)}}.Encode(),
			"cut":     oidcop.PathLogin + "?" + url.Values{"id": {id[:len(id)-4]}}.Encode(),
		} {
			if res, _ := b.do("GET", s.plain.URL+u, nil); res.StatusCode != http.StatusBadRequest {
				t.Errorf("%s request: %d %s", name, res.StatusCode, res.Header.Get("Location"))
			}
		}
		s.apps.oidc.Storage.Now = func() time.Time { return time.Now().Add(11 * time.Minute) }
		res, _ = b.do("GET", s.plain.URL+loc.String(), nil)
		s.apps.oidc.Storage.Now = nil
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("expired request: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res, _ = b.do("GET", s.plain.URL+loc.String(), nil)
		if !strings.HasPrefix(res.Header.Get("Location"), "/oidc/authorize/callback?") {
			t.Errorf("the same request in time, logged in: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}
