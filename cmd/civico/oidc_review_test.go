package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
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
