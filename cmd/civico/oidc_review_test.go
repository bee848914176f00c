package main

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/town"
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
		s.passwordResident(t, b, "giulia@example.org")
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
		if _, err := s.apps.identity.ImportResident(ctx, identity.NewResident{Email: "giulia@example.org", Password: "tram-per-Sesto-alle-7",
			GivenName: "Giulia", FamilyName: "Bianchi"}, "test"); err != nil {
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

// idToken logs the browser's resident into the application and returns
// the id_token it got.
func (rp *relyingParty) idToken(b *browser) string {
	rp.t.Helper()
	a := rp.start()
	last, _, _, _ := b.follow(a.url, rp.oauth.RedirectURL)
	tok, err := rp.oauth.Exchange(context.Background(), rp.callback(a, last).Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		rp.t.Fatalf("exchange: %v", err)
	}
	return tok.Extra("id_token").(string)
}

// crossSite sends a form as a browser does from another site's page.
func (b *browser) crossSite(u string, form url.Values) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// An id_token identifies, it does not authorise: the provider ends a
// portal session only for a request that carries that browser's own
// session cookie and, with a hint, a hint naming that same session. Any
// other request ends nothing: without a session it goes on to the
// application, with one it asks the resident.
func TestLogoutNeedsTheBrowsersOwnSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		bye := outsideRedirect + "/bye"
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Scuole", RedirectURIs: []string{outsideRedirect}, PostLogoutURIs: []string{bye}, FirstParty: true})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid")
		end := s.plain.URL + oidcop.PathEndSession
		victim := s.ssoBrowser(t, nil)
		s.passwordResident(t, victim, "giulia@example.org")
		login := func(b *browser) {
			t.Helper()
			if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"giulia@example.org"}, "password": {"tram-per-Sesto-alle-7"}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d", res.StatusCode)
			}
		}
		alive := func(name string, b *browser, want bool) {
			t.Helper()
			if code, _ := b.me(s.plain.URL); (code == http.StatusOK) != want {
				t.Fatalf("%s: the portal session answers %d, want alive %v", name, code, want)
			}
		}
		hint := rp.idToken(victim)

		// Someone else holding a copy of the id_token, without the
		// victim's cookie, by GET, by POST, and as a plain client: nothing
		// ends. The POST is sent on to the confirmation flow, without the
		// hint.
		attacker := s.ssoBrowser(t, nil)
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {bye}, "state": {"st"}}
		res, _ := attacker.do("GET", end+"?"+q.Encode(), nil)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != bye+"?state=st" {
			t.Errorf("a hint without a session: %d %s, want the application's address", res.StatusCode, loc)
		}
		res = attacker.crossSite(end, q)
		loc, _ := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || loc.Path != oidcop.PathEndSession || loc.Query().Has("id_token_hint") ||
			loc.Query().Get("client_id") != c.ID || loc.Query().Get("post_logout_redirect_uri") != bye || loc.Query().Get("state") != "st" {
			t.Errorf("a cross-site POST without cookies: %d %s, want the confirmation flow without the hint", res.StatusCode, loc)
		}
		plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if res, err := plain.PostForm(end, q); err != nil || res.StatusCode != http.StatusSeeOther {
			t.Errorf("a plain client: %v %v", err, res)
		} else {
			res.Body.Close()
		}
		alive("after the hint without the session", victim, true)

		// The victim's browser with no hint, or only client_id, or a hint
		// that names another session (the same resident's phone, another
		// resident): the resident is asked, a same-origin form; nothing ends.
		phone := s.ssoBrowser(t, nil)
		login(phone)
		phoneHint := rp.idToken(phone)
		other := s.ssoBrowser(t, nil)
		s.passwordResident(t, other, "mario@example.org")
		otherHint := rp.idToken(other)
		for name, q := range map[string]url.Values{
			"no parameter":       {},
			"client_id only":     {"client_id": {c.ID}, "post_logout_redirect_uri": {bye}},
			"another session":    {"id_token_hint": {phoneHint}},
			"another resident's": {"id_token_hint": {otherHint}, "post_logout_redirect_uri": {bye}},
		} {
			res, body := victim.do("GET", end+"?"+q.Encode(), nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "Vuoi uscire dal portale?") || !strings.Contains(body, `method="post" action="/oidc/esci"`) ||
				strings.Contains(body, "id_token_hint") {
				t.Errorf("%s: %d, want the confirmation page", name, res.StatusCode)
			}
			if q.Has("post_logout_redirect_uri") && !strings.Contains(res.Header.Get("Content-Security-Policy"), "form-action 'self' http://127.0.0.1:9") {
				t.Errorf("%s: the page's policy stops the way back to the application: %s", name, res.Header.Get("Content-Security-Policy"))
			}
			// By POST, sent on to the same page.
			if res := victim.crossSite(end, q); res.StatusCode != http.StatusSeeOther || strings.Contains(res.Header.Get("Location"), "id_token_hint") {
				t.Errorf("%s by POST: %d %s", name, res.StatusCode, res.Header.Get("Location"))
			}
		}
		alive("after requests that do not name its session", victim, true)
		alive("the phone", phone, true)

		// Addresses the client did not register, hints not the provider's.
		for name, q := range map[string]url.Values{
			"unregistered address":   {"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}},
			"address without client": {"post_logout_redirect_uri": {bye}},
			"unknown client":         {"client_id": {"nobody"}},
			"client and hint differ": {"id_token_hint": {hint}, "client_id": {"partecipa"}},
			"forged hint":            {"id_token_hint": {hint[:len(hint)-6] + "AAAAAA"}},
		} {
			res, body := victim.do("GET", end+"?"+q.Encode(), nil)
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" || !strings.Contains(body, "alert-danger") {
				t.Errorf("%s: %d %s, want the error page", name, res.StatusCode, res.Header.Get("Location"))
			}
		}
		alive("after refused requests", victim, true)

		// The confirmation: only from the portal's own page.
		confirm := url.Values{"client_id": {c.ID}, "post_logout_redirect_uri": {bye}, "state": {"st"}}
		if res := victim.crossSite(s.plain.URL+"/oidc/esci", confirm); res.StatusCode != http.StatusForbidden {
			t.Errorf("a cross-site confirmation: %d", res.StatusCode)
		}
		alive("after a cross-site confirmation", victim, true)
		res, _ = victim.do("POST", s.plain.URL+"/oidc/esci", confirm)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != bye+"?state=st" {
			t.Errorf("confirmed: %d %s", res.StatusCode, loc)
		}
		alive("after the confirmation", victim, false)
		alive("the phone, after the confirmation in the other browser", phone, true)

		// The browser's own session named by its hint ends at once, by GET
		// or POST.
		for _, method := range []string{"GET", "POST"} {
			login(victim)
			q := url.Values{"id_token_hint": {rp.idToken(victim)}, "post_logout_redirect_uri": {bye}, "state": {"st"}}
			var res *http.Response
			if method == "GET" {
				res, _ = victim.do("GET", end+"?"+q.Encode(), nil)
			} else {
				res = victim.crossSite(end, q)
			}
			if loc := res.Header.Get("Location"); res.StatusCode/100 != 3 || loc != bye+"?state=st" {
				t.Errorf("%s with the session's own hint: %d %s", method, res.StatusCode, loc)
			}
			alive(method+" with the session's own hint", victim, false)
		}
		alive("the phone, at the end", phone, true)
	})
}

// logoutForm is the form of Partecipa's logout page.
type logoutForm struct {
	action string
	fields url.Values
}

// partecipaLogout logs the browser out of Partecipa and reads the page
// that continues at the provider: a form, never a redirect with the
// id_token in its URL.
func partecipaLogout(t *testing.T, s *idSite, b *browser) (logoutForm, string) {
	t.Helper()
	res, body := b.do("POST", s.part.URL+"/esci", url.Values{})
	if res.StatusCode != http.StatusOK || res.Header.Get("Location") != "" || !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("Partecipa's logout: %d %q %q, want a page not kept", res.StatusCode, res.Header.Get("Location"), res.Header.Get("Cache-Control"))
	}
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "form-action 'self' "+s.plain.URL) ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("Partecipa's logout page's policy: %s", res.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(body, "Luca Ferrari") || strings.Contains(body, "Giulia Bianchi") {
		t.Fatal("the logout page's header still shows the resident")
	}
	form := regexpFind(t, body, `(?s)(<form method="post" action="[^"]+" data-autosubmit>.*?</form>)`)
	f := logoutForm{action: regexpFind(t, form, `action="([^"]+)"`), fields: url.Values{}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(form, -1) {
		f.fields.Set(m[1], html.UnescapeString(m[2]))
	}
	if f.action != s.plain.URL+oidcop.PathEndSession || f.fields.Get("client_id") != partecipaClientID || f.fields.Get("post_logout_redirect_uri") != s.part.URL+"/" ||
		!strings.Contains(form, `<button type="submit"`) {
		t.Fatalf("Partecipa's logout form: %s %v", f.action, f.fields)
	}
	return f, body
}

// Where Partecipa and the portal are two sites, the browser posts
// Partecipa's logout form without the portal's cookie: the provider sends
// it, without the id_token, to its confirmation page, where the cookie
// comes along; the resident confirms and both sessions end.
func TestPartecipaLogoutAcrossSites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := s.ssoBrowser(t, nil)
		s.passwordResident(t, b, "giulia@example.org")
		if _, res, _, _ := s.partecipaLogin(t, b, "/accedi?next=/profilo"); res.StatusCode != http.StatusOK {
			t.Fatalf("login into Partecipa: %d", res.StatusCode)
		}
		logout, _ := partecipaLogout(t, s, b)
		res := s.ssoBrowser(t, nil).crossSite(logout.action, logout.fields) // no portal cookie
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, oidcop.PathEndSession+"?") || strings.Contains(loc, "id_token_hint") {
			t.Fatalf("the form without the portal's cookie: %d %s", res.StatusCode, loc)
		}
		res, body := b.do("GET", s.plain.URL+loc, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Vuoi uscire dal portale?") || !strings.Contains(body, "Partecipa") {
			t.Fatalf("the confirmation page: %d", res.StatusCode)
		}
		confirm := url.Values{}
		for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
			confirm.Set(m[1], html.UnescapeString(m[2]))
		}
		res, _ = b.do("POST", s.plain.URL+oidcop.PathLogoutConfirm, confirm)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != s.part.URL+"/" {
			t.Fatalf("confirmed: %d %s", res.StatusCode, loc)
		}
		if code, _ := b.me(s.plain.URL); code != http.StatusUnauthorized {
			t.Fatalf("the portal session after the confirmation: %d", code)
		}
	})
}

// A role revoked in the back office stayed in Partecipa: its session keeps
// the roles claim of the login, for up to its 12 hours, so an operator
// removed from the participation office could still moderate and answer
// proposals. Revoking a role now ends the operator's sessions, which logs
// them out of every application (back-channel logout); the next login
// carries the roles they still have.
func TestRevokedRoleEndsTheOperatorsSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		part := s.part.URL
		office, id := officeInPartecipa(t, s)
		// Granting a role ends nothing.
		if err := s.apps.identity.SetRole(ctx, id, "urp", true, "test"); err != nil {
			t.Fatal(err)
		}
		if res, _ := office.do("GET", part+"/ufficio", nil); res.StatusCode != 200 {
			t.Fatalf("the office after a grant: %d", res.StatusCode)
		}
		if err := s.apps.identity.SetRole(ctx, id, "participation", false, "test"); err != nil {
			t.Fatal(err)
		}
		if res, _ := office.do("GET", part+"/ufficio", nil); res.StatusCode == 200 {
			t.Error("Partecipa's office still open to an operator whose role was revoked")
		}
		for _, table := range []string{"sessions", "partecipa_sessions"} {
			if n := s.count(t, table); n != 0 {
				t.Errorf("%d rows left in %s after the revocation", n, table)
			}
		}
	})
}

// The command line revoked a role without telling Partecipa: its identity
// service had no provider hooks, so the portal's sessions went but the
// single sign-on's sessions, tokens and logout notices stayed, and the
// office stayed open (outside review). A command's service now writes the
// notices, due at once, which the server's retries deliver.
func TestCommandLineRevokeLogsOutOfPartecipa(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		part := s.part.URL
		office, id := officeInPartecipa(t, s)
		// What `civico user revoke` builds (cmd/civico/user.go).
		cli := newIdentityService(s.cfg, d, town.NewStore(d, time.Minute), nil)
		if err := cli.SetRole(ctx, id, "participation", false, "cli"); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"sessions", "oidc_rp_sessions", "oidc_tokens"} {
			if n := s.count(t, table); n != 0 {
				t.Errorf("%d rows left in %s after the command", n, table)
			}
		}
		if n := s.count(t, "oidc_logout_outbox"); n != 1 {
			t.Fatalf("%d logout notices written by the command, want 1", n)
		}
		// The server's retries deliver it.
		for _, task := range s.apps.tasks {
			if task.Name == "back-channel logout retries" {
				if err := task.Run(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if res, _ := office.do("GET", part+"/ufficio", nil); res.StatusCode == 200 {
			t.Error("Partecipa's office still open after the command revoked the role")
		}
		if n := s.count(t, "partecipa_sessions"); n != 0 {
			t.Errorf("%d Partecipa sessions left", n)
		}
	})
}

// officeInPartecipa is an operator of the participation office logged into
// Partecipa's office, and their account's id.
func officeInPartecipa(t *testing.T, s *idSite) (*browser, string) {
	t.Helper()
	office := operatorBrowser(t, s, "partecipazione@comune.example.it", "participation", "desk")
	if last, res, _, _ := office.follow(s.part.URL+"/accedi?next=/ufficio", ""); res.StatusCode != 200 || last != s.part.URL+"/ufficio" {
		t.Fatalf("the office into Partecipa: %d at %s", res.StatusCode, last)
	}
	var id string
	if err := s.d.QueryRowContext(context.Background(), `SELECT id FROM accounts WHERE email = 'partecipazione@comune.example.it'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return office, id
}
