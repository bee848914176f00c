package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/population"
)

// The single sign-on tests drive the provider as an outside application
// would: discovery, redirects and code exchange through coreos/go-oidc and
// golang.org/x/oauth2, id_token verification against the published keys.

// loopbackJar sends Secure cookies to loopback addresses over plain http,
// as Chromium does for localhost: the portal's session cookie, set over
// the smart-card TLS listener, then reaches the plain listener of the same
// host, as it reaches an https portal in production.
type loopbackJar struct{ http.CookieJar }

func (j loopbackJar) Cookies(u *url.URL) []*http.Cookie {
	if u.Scheme == "http" {
		v := *u
		v.Scheme = "https"
		return j.CookieJar.Cookies(&v)
	}
	return j.CookieJar.Cookies(u)
}

func (s *idSite) ssoBrowser(t *testing.T, card *cardca.Card) *browser {
	b := s.browser(t, card)
	jar, _ := cookiejar.New(nil)
	b.c.Jar = loopbackJar{jar}
	return b
}

// follow requests u and follows redirects until an answer that is not a
// redirect, or a redirect to a URL starting with stop (the application's
// callback, which the test reads instead of requesting). It returns the
// last URL, its response and body, and the number of redirects.
func (b *browser) follow(u, stop string) (string, *http.Response, string, int) {
	b.t.Helper()
	hops := 0
	for {
		res, body := b.do("GET", u, nil)
		loc := res.Header.Get("Location")
		if res.StatusCode < 300 || res.StatusCode > 399 || loc == "" {
			return u, res, body, hops
		}
		base, _ := url.Parse(u)
		next, err := base.Parse(loc)
		if err != nil {
			b.t.Fatal(err)
		}
		u = next.String()
		hops++
		if stop != "" && strings.HasPrefix(u, stop) {
			return u, res, body, hops
		}
		if hops > 15 {
			b.t.Fatalf("too many redirects, last %s", u)
		}
	}
}

// relyingParty is an outside application's OpenID Connect client.
type relyingParty struct {
	t        *testing.T
	provider *gooidc.Provider
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

func (s *idSite) relyingParty(t *testing.T, id, secret, redirect string, scopes ...string) *relyingParty {
	t.Helper()
	p, err := gooidc.NewProvider(context.Background(), s.plain.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	// One authentication style: with auto-detection the library retries a
	// refused exchange in the other style, which hides the first answer.
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &relyingParty{t: t, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: id}),
		oauth: &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: ep, RedirectURL: redirect, Scopes: scopes}}
}

// authorization is one login attempt of the relying party.
type authorization struct {
	state, nonce, verifier, url string
}

func (rp *relyingParty) start(opts ...oauth2.AuthCodeOption) authorization {
	a := authorization{state: oauth2.GenerateVerifier()[:20], nonce: oauth2.GenerateVerifier()[:20], verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), gooidc.Nonce(a.nonce)}, opts...)
	a.url = rp.oauth.AuthCodeURL(a.state, opts...)
	return a
}

// callback checks the redirect to the application and returns its query.
func (rp *relyingParty) callback(a authorization, u string) url.Values {
	rp.t.Helper()
	cb, err := url.Parse(u)
	if err != nil || !strings.HasPrefix(u, rp.oauth.RedirectURL) {
		rp.t.Fatalf("not the application's callback: %q", u)
	}
	q := cb.Query()
	if q.Get("state") != a.state {
		rp.t.Fatalf("state %q, want %q", q.Get("state"), a.state)
	}
	return q
}

func (s *idSite) addClient(t *testing.T, n oidcop.NewClient) (*oidcop.Client, string) {
	t.Helper()
	c, secret, err := s.apps.oidc.Storage.Clients.Add(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return c, secret
}

// cardLogin logs the browser in with its card and comes back to next.
func (s *idSite) cardLogin(t *testing.T, b *browser, next string) string {
	t.Helper()
	res, _ := b.do("GET", s.tls.URL+"/login/crs?"+url.Values{"next": {next}}.Encode(), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("card login: %d", res.StatusCode)
	}
	return s.tls.URL + res.Header.Get("Location")
}

const outsideRedirect = "http://127.0.0.1:9/callback"

func TestSingleSignOnWithAnOutsideApplication(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		code, _ := cf.Complete("FRRLCU78H15C707")
		if _, err := d.ExecContext(ctx, `INSERT INTO registry_residents (fiscal_code, district, updated_at) VALUES ($1, 'Crocetta', $2)`, string(code), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Biblioteca", RedirectURIs: []string{outsideRedirect},
			Scopes: []string{"openid", "profile", "email", oidcop.ScopeFiscalCode, oidcop.ScopeResidence}})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid", "profile", "email", oidcop.ScopeFiscalCode, oidcop.ScopeResidence)
		var meta struct {
			Methods []string `json:"code_challenge_methods_supported"`
			Subject []string `json:"subject_types_supported"`
			ACR     []string `json:"acr_values_supported"`
		}
		if err := rp.provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(meta.Methods, "S256") || !slices.Contains(meta.Subject, "pairwise") || !slices.Contains(meta.ACR, assurance.ACRHigh) {
			t.Fatalf("discovery: %+v", meta)
		}

		card := s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", func(r *cardca.CardRequest) { r.NotAfter = time.Now().AddDate(1, 0, 0) })
		b := s.ssoBrowser(t, card)
		a := rp.start()
		last, res, _, _ := b.follow(a.url, outsideRedirect)
		if res.StatusCode != http.StatusOK || !strings.Contains(last, "/accedi?next=") {
			t.Fatalf("not logged in: ended at %d %s, want the login page", res.StatusCode, last)
		}
		next, _ := url.Parse(last)
		last, res, body, _ := b.follow(s.cardLogin(t, b, next.Query().Get("next")), outsideRedirect)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `action="/oidc/consenso"`) || !strings.Contains(body, "Biblioteca") {
			t.Fatalf("an outside application must ask for consent: %d at %s", res.StatusCode, last)
		}
		// Browsers apply form-action to the redirects after the answer,
		// which end at the application.
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9") {
			t.Fatalf("the consent page's policy would block the way back to the application: %s", csp)
		}
		id := regexpFind(t, body, `name="id" value="([^"]+)"`)
		res, _ = b.do("POST", s.tls.URL+"/oidc/consenso", url.Values{"id": {id}, "decision": {"allow"}})
		base, _ := url.Parse(s.tls.URL)
		loc, _ := base.Parse(res.Header.Get("Location"))
		last, _, _, _ = b.follow(loc.String(), outsideRedirect)
		q := rp.callback(a, last)

		tok, err := rp.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("code exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("id_token: %v", err)
		}
		var claims struct {
			ACR        string   `json:"acr"`
			AMR        []string `json:"amr"`
			AuthTime   int64    `json:"auth_time"`
			Name       string   `json:"name"`
			FiscalCode string   `json:"fiscal_code"`
			Resident   *bool    `json:"resident"`
			District   string   `json:"district"`
			AgeBand    string   `json:"age_band"`
			Email      string   `json:"email"`
			BirthDate  string   `json:"birthdate"`
			SID        string   `json:"sid"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		acc, err := s.apps.identity.Store.ByFiscalCode(ctx, string(code))
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != a.nonce || claims.ACR != assurance.ACRHigh || !slices.Contains(claims.AMR, "sc") || claims.AuthTime == 0 ||
			claims.FiscalCode != string(code) || claims.Resident == nil || !*claims.Resident || claims.District != "Crocetta" ||
			claims.AgeBand == "" || claims.BirthDate != "" || claims.SID == "" || claims.Name != "Luca Ferrari" {
			t.Fatalf("claims: nonce %v, %+v", idt.Nonce == a.nonce, claims)
		}
		if idt.Subject == acc.ID || idt.Subject == string(code) {
			t.Fatalf("sub %q is not pairwise", idt.Subject)
		}
		info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var infoClaims map[string]any
		_ = info.Claims(&infoClaims)
		if info.Subject != idt.Subject || infoClaims["fiscal_code"] != string(code) {
			t.Fatalf("userinfo: %v", infoClaims)
		}

		// The portal's own APIs read the same token as a grant.
		grant, err := s.apps.oidc.Bearer(ctx, tok.AccessToken)
		if err != nil || grant.AccountID != acc.ID || grant.Level != assurance.High || !grant.Has("openid") || grant.Has(oidcop.ScopePayments) {
			t.Fatalf("bearer grant: %+v, %v", grant, err)
		}
		tampered := []byte(tok.AccessToken)
		tampered[len(tampered)/2] ^= 1
		for _, bad := range []string{"", string(tampered), strings.Repeat("a", 600), "not-a-token"} {
			if _, err := s.apps.oidc.Bearer(ctx, bad); !errors.Is(err, oidcop.ErrTokenInvalid) {
				t.Fatalf("bearer %.20q: %v, want ErrTokenInvalid", bad, err)
			}
		}

		// The same code again: refused, and the tokens it gave are revoked.
		if _, err := rp.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(a.verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("reused code: %v", err)
		}
		if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("userinfo still answers for the tokens of a reused code")
		}
		if _, err := s.apps.oidc.Bearer(ctx, tok.AccessToken); !errors.Is(err, oidcop.ErrTokenInvalid) {
			t.Fatalf("bearer after the code's reuse: %v", err)
		}

		// A second login: consent remembered, so no page in between.
		a = rp.start()
		last, _, _, _ = b.follow(a.url, outsideRedirect)
		rp.callback(a, last)

		// Another application gets another sub for the same person.
		c2, secret2 := s.addClient(t, oidcop.NewClient{Name: "Palestre", RedirectURIs: []string{outsideRedirect + "2"}, FirstParty: true})
		rp2 := s.relyingParty(t, c2.ID, secret2, outsideRedirect+"2", "openid")
		a2 := rp2.start()
		last, _, _, _ = b.follow(a2.url, outsideRedirect+"2")
		tok2, err := rp2.oauth.Exchange(ctx, rp2.callback(a2, last).Get("code"), oauth2.VerifierOption(a2.verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt2, err := rp2.verifier.Verify(ctx, tok2.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		if idt2.Subject == idt.Subject {
			t.Fatal("two applications got the same sub")
		}

		// The profile lists the consent; withdrawing it asks again.
		res, body = b.do("GET", s.tls.URL+"/profilo/applicazioni", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Biblioteca") || strings.Contains(body, "Palestre") {
			t.Fatalf("connected applications: %d", res.StatusCode)
		}
		res, _ = b.do("POST", s.tls.URL+"/profilo/applicazioni/"+c.ID+"/revoca", url.Values{})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		a = rp.start()
		_, res, body, _ = b.follow(a.url, outsideRedirect)
		if res.StatusCode != 200 || !strings.Contains(body, `action="/oidc/consenso"`) {
			t.Fatal("after withdrawing consent the application must ask again")
		}
	})
}

func regexpFind(t *testing.T, s, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found", expr)
	}
	return m[1]
}

// errorOf returns the error parameter of a redirect to the application.
func errorOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query().Get("error")
}

// passwordResident creates a resident with a password and logs the browser in.
func (s *idSite) passwordResident(t *testing.T, b *browser, email string) {
	t.Helper()
	if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: email, Password: "tram-per-Sesto-alle-7", GivenName: "Giulia", FamilyName: "Bianchi"}, "test"); err != nil {
		t.Fatal(err)
	}
	res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {email}, "password": {"tram-per-Sesto-alle-7"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("password login: %d", res.StatusCode)
	}
}

func TestSingleSignOnRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Scuole", RedirectURIs: []string{outsideRedirect}, FirstParty: true})
		pub, _ := s.addClient(t, oidcop.NewClient{Name: "App", RedirectURIs: []string{"http://127.0.0.1/app-callback"}, Public: true, FirstParty: true})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid", "profile")
		b := s.ssoBrowser(t, nil)
		countTokens := func() int {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM oidc_tokens`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// Browser applications may read the keys from their origin, without
		// cookies.
		req, _ := http.NewRequest("GET", s.plain.URL+"/oidc/keys", nil)
		req.Header.Set("Origin", "https://app.example")
		if res, err := http.DefaultClient.Do(req); err != nil || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
			res.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("CORS on the keys: %v %v", err, res.Header)
		}

		// A browser application's token request comes from another origin:
		// answered by the protocol (here invalid_client), not refused as a
		// cross-site form.
		req, _ = http.NewRequest("POST", s.plain.URL+"/oidc/token", strings.NewReader("grant_type=authorization_code&code=x&client_id=nobody"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://app.example")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Header.Get("Content-Type"), "json") {
			t.Fatalf("cross-origin token request: %v %d %s", err, res.StatusCode, res.Header.Get("Content-Type"))
		}

		// Not logged in and prompt=none: login_required, sent back to the application.
		a := rp.start(oauth2.SetAuthURLParam("prompt", "none"))
		last, _, _, _ := b.follow(a.url, outsideRedirect)
		if rp.callback(a, last).Get("error") != "login_required" {
			t.Fatalf("prompt=none without a session: %s", last)
		}

		// Errors that cannot go back to an application get a page of their own.
		for name, u := range map[string]string{
			"unregistered redirect URI": strings.Replace(rp.start().url, url.QueryEscape(outsideRedirect), url.QueryEscape("https://evil.example/cb"), 1),
			"unknown client":            strings.Replace(rp.start().url, "client_id="+c.ID, "client_id=nobody", 1),
		} {
			res, body := b.do("GET", u, nil)
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" || !strings.Contains(body, "Accesso non riuscito") ||
				!strings.Contains(res.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d %q, want a 400 page of the portal", name, res.StatusCode, res.Header.Get("Location"))
			}
		}

		// A public client without PKCE, or with the plain method: invalid_request to its redirect URI.
		pubCfg := &oauth2.Config{ClientID: pub.ID, Endpoint: rp.provider.Endpoint(), RedirectURL: "http://127.0.0.1/app-callback", Scopes: []string{"openid"}}
		for name, opts := range map[string][]oauth2.AuthCodeOption{
			"no PKCE":    nil,
			"plain PKCE": {oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
		} {
			res, _ := b.do("GET", pubCfg.AuthCodeURL("st", opts...), nil)
			if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "http://127.0.0.1/app-callback") || errorOf(t, loc) != "invalid_request" {
				t.Errorf("public client, %s: %d %q", name, res.StatusCode, loc)
			}
		}

		// Log in with a password; then one code per refusal at the token endpoint.
		s.passwordResident(t, b, "giulia@example.org")

		// A mobile app's consent page lets the answer reach its scheme.
		app, _ := s.addClient(t, oidcop.NewClient{Name: "App del Comune", RedirectURIs: []string{"it.comune.app:/cb"}, Public: true})
		appCfg := &oauth2.Config{ClientID: app.ID, Endpoint: rp.provider.Endpoint(), RedirectURL: "it.comune.app:/cb", Scopes: []string{"openid"}}
		if _, res, body, _ := b.follow(appCfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "it.comune.app:"); res.StatusCode != 200 ||
			!strings.Contains(body, `action="/oidc/consenso"`) || !strings.Contains(res.Header.Get("Content-Security-Policy"), "form-action 'self' it.comune.app:") {
			t.Fatalf("mobile app consent: %d %s", res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
		codeOf := func(opts ...oauth2.AuthCodeOption) (authorization, string) {
			a := rp.start(opts...)
			last, _, _, _ := b.follow(a.url, outsideRedirect)
			q := rp.callback(a, last)
			if q.Get("code") == "" {
				t.Fatalf("no code: %s", last)
			}
			return a, q.Get("code")
		}
		exchangeErr := func(cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) string {
			_, err := cfg.Exchange(ctx, code, opts...)
			if err == nil {
				return ""
			}
			var re *oauth2.RetrieveError
			if ok := asRetrieve(err, &re); ok {
				return re.ErrorCode
			}
			return err.Error()
		}
		// Refusals that leave the code good for its own application: a
		// missing or wrong verifier, a wrong secret, another redirect URI,
		// another client, parameters in the query or repeated.
		other, otherSecret := s.addClient(t, oidcop.NewClient{Name: "Altro", RedirectURIs: []string{outsideRedirect}, FirstParty: true})
		otherCfg := *rp.oauth
		otherCfg.ClientID, otherCfg.ClientSecret = other.ID, otherSecret
		wrongSecret := *rp.oauth
		wrongSecret.ClientSecret = "not-the-secret"
		wrongRedirect := *rp.oauth
		wrongRedirect.RedirectURL = outsideRedirect + "/other"
		a, code := codeOf()
		for name, try := range map[string]struct {
			cfg  *oauth2.Config
			opts []oauth2.AuthCodeOption
			want string
		}{
			"missing PKCE verifier": {rp.oauth, nil, "invalid_grant"},
			"wrong PKCE verifier":   {rp.oauth, []oauth2.AuthCodeOption{oauth2.VerifierOption(oauth2.GenerateVerifier())}, "invalid_grant"},
			"wrong client secret":   {&wrongSecret, []oauth2.AuthCodeOption{oauth2.VerifierOption(a.verifier)}, "invalid_client"},
			"another redirect URI":  {&wrongRedirect, []oauth2.AuthCodeOption{oauth2.VerifierOption(a.verifier)}, "invalid_grant"},
			"another client's code": {&otherCfg, []oauth2.AuthCodeOption{oauth2.VerifierOption(a.verifier)}, "invalid_grant"},
			"client_id twice":       {rp.oauth, []oauth2.AuthCodeOption{oauth2.VerifierOption(a.verifier), oauth2.SetAuthURLParam("client_id", other.ID)}, "invalid_request"},
		} {
			if e := exchangeErr(try.cfg, code, try.opts...); e != try.want {
				t.Errorf("%s: %q, want %q", name, e, try.want)
			}
		}
		// Token requests written by hand, as no library would send them.
		for name, try := range map[string]struct {
			url  string
			form url.Values
		}{
			"parameters in the query": {rp.oauth.Endpoint.TokenURL + "?code=" + url.QueryEscape(code),
				url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {outsideRedirect}, "code_verifier": {a.verifier}}},
			"a parameter in upper case": {rp.oauth.Endpoint.TokenURL,
				url.Values{"grant_type": {"authorization_code"}, "CODE": {code}, "redirect_uri": {outsideRedirect}, "code_verifier": {"wrong"}}},
			"a parameter twice, cased": {rp.oauth.Endpoint.TokenURL,
				url.Values{"grant_type": {"authorization_code"}, "code": {code}, "Code": {code}, "redirect_uri": {outsideRedirect}, "code_verifier": {a.verifier}}},
		} {
			req, _ := http.NewRequest("POST", try.url, strings.NewReader(try.form.Encode()))
			req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(secret))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d", name, res.StatusCode)
			}
		}
		if res, _ := b.do("GET", rp.oauth.Endpoint.TokenURL+"?grant_type=authorization_code&code="+url.QueryEscape(code), nil); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET on the token endpoint: %d", res.StatusCode)
		}
		if _, err := rp.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier)); err != nil {
			t.Fatalf("the code no longer works for its own application after the refusals: %v", err)
		}
		if n := countTokens(); n != 1 {
			t.Fatalf("%d access tokens, want the one of the good exchange", n)
		}
		if _, err := d.ExecContext(ctx, `DELETE FROM oidc_tokens`); err != nil {
			t.Fatal(err)
		}
		a, code = codeOf()
		s.apps.oidc.Storage.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
		if e := exchangeErr(rp.oauth, code, oauth2.VerifierOption(a.verifier)); e != "invalid_grant" {
			t.Errorf("expired code: %q", e)
		}
		s.apps.oidc.Storage.Now = nil
		if n := countTokens(); n != 0 {
			t.Fatalf("%d access tokens issued by failed exchanges", n)
		}

		// A valid exchange, then a tampered id_token fails verification.
		a, code = codeOf()
		tok, err := rp.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		raw := tok.Extra("id_token").(string)
		parts := strings.Split(raw, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		_ = json.Unmarshal(payload, &m)
		m["sub"] = "someone-else"
		forged, _ := json.Marshal(m)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
		if _, err := rp.verifier.Verify(ctx, raw); err != nil {
			t.Fatalf("genuine id_token: %v", err)
		}
		if _, err := rp.verifier.Verify(ctx, tampered); err == nil {
			t.Fatal("a tampered id_token verified")
		}

		// A disabled client can neither start a login nor exchange a code, and its tokens stop.
		a, code = codeOf()
		if err := s.apps.oidc.Storage.Clients.SetDisabled(ctx, c.ID, true); err != nil {
			t.Fatal(err)
		}
		if e := exchangeErr(rp.oauth, code, oauth2.VerifierOption(a.verifier)); e != "invalid_client" {
			t.Errorf("disabled client's exchange: %q", e)
		}
		if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("a disabled client's access token still works")
		}
		res, body := b.do("GET", rp.start().url, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Accesso non riuscito") {
			t.Errorf("disabled client's login: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	r, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = r
	}
	return ok
}

// partecipaLogin opens Partecipa's login and follows it to the end.
func (s *idSite) partecipaLogin(t *testing.T, b *browser, path string) (string, *http.Response, string, int) {
	t.Helper()
	return b.follow(s.part.URL+path, "")
}

func TestPartecipaSingleSignOnAndLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		card := s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
		b := s.ssoBrowser(t, card)

		// Logged in on the portal with the card: one click on Partecipa's
		// "Accedi" and the resident is in, with no page in between.
		s.cardLogin(t, b, "/")
		last, res, body, hops := s.partecipaLogin(t, b, "/accedi?next=/profilo")
		if res.StatusCode != 200 || last != s.part.URL+"/profilo" || !strings.Contains(body, "Luca Ferrari") || !strings.Contains(body, "Alto: Carta Regionale") {
			t.Fatalf("single sign-on into Partecipa: %d at %s after %d redirects", res.StatusCode, last, hops)
		}
		var sub, acc string
		if err := d.QueryRowContext(context.Background(), `SELECT subject FROM partecipa_sessions`).Scan(&sub); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRowContext(context.Background(), `SELECT id FROM accounts`).Scan(&acc); err != nil {
			t.Fatal(err)
		}
		if sub == acc {
			t.Fatal("Partecipa knows the portal's account id")
		}

		// A bare link to the logout endpoint (any page could embed it) ends
		// nothing.
		if code, _ := b.me(s.plain.URL); code != http.StatusOK {
			t.Fatalf("the portal session is not there before logout: %d", code)
		}
		b.follow(s.plain.URL+"/oidc/end_session", "")
		if code, _ := b.me(s.plain.URL); code != http.StatusOK {
			t.Fatalf("a logout request without id_token_hint ended the portal session: %d", code)
		}

		// Logout on Partecipa ends the portal session too. Partecipa ends
		// its own session and answers a page whose form takes the id_token
		// to the provider in a POST body (never in a URL), sent by a script
		// of Partecipa's own, or by its button without JavaScript.
		logout, page := partecipaLogout(t, s, b)
		if logout.fields.Get("id_token_hint") == "" {
			t.Fatal("Partecipa's logout form carries no id_token_hint")
		}
		res = b.crossSite(logout.action, logout.fields)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != s.part.URL+"/" {
			t.Fatalf("the provider, given Partecipa's logout form: %d %s", res.StatusCode, loc)
		}
		if code, _ := b.me(s.plain.URL); code != http.StatusUnauthorized {
			t.Fatalf("portal after Partecipa's logout: %d", code)
		}
		if res, _ := b.do("GET", s.part.URL+"/profilo", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("Partecipa after its logout: %d", res.StatusCode)
		}
		// The script is a file of Partecipa's own origin, as its policy
		// allows.
		script := regexpFind(t, page, `<script src="(/static/[^"]+/autosubmit\.js)" defer></script>`)
		if res, body := b.do("GET", s.part.URL+script, nil); res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "javascript") ||
			!strings.Contains(body, "form[data-autosubmit]") {
			t.Fatalf("the logout script: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}

		// Logout on the portal ends Partecipa's session (back-channel).
		s.cardLogin(t, b, "/")
		if _, res, _, _ := s.partecipaLogin(t, b, "/accedi?next=/profilo"); res.StatusCode != 200 {
			t.Fatal("second login into Partecipa")
		}
		res, _ = b.do("POST", s.plain.URL+"/esci", url.Values{})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("portal logout: %d", res.StatusCode)
		}
		res, _ = b.do("GET", s.part.URL+"/profilo", nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/accedi") {
			t.Fatalf("Partecipa after the portal's logout: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		var n int
		_ = d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM partecipa_sessions`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d Partecipa sessions survive the portal's logout", n)
		}
	})
}

func TestPartecipaAsksForTheCard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		card := s.card(t, "BNCGLI90A41F205", "GIULIA", "BIANCHI", nil)
		b := s.ssoBrowser(t, card)
		s.passwordResident(t, b, "giulia@example.org")

		// With a password session Partecipa logs in at the password level...
		_, res, body, _ := s.partecipaLogin(t, b, "/accedi?next=/profilo")
		if res.StatusCode != 200 || !strings.Contains(body, "Basso: email e password") {
			t.Fatalf("password level: %d", res.StatusCode)
		}
		// ...and where the card is required it asks the provider for it, which
		// sends the resident to the card login and back.
		last, res, _, _ := s.partecipaLogin(t, b, "/accedi?livello=high&next=/profilo")
		if res.StatusCode != 200 || !strings.Contains(last, "/accedi/carta?livello=high&next=") {
			t.Fatalf("step-up: ended at %d %s", res.StatusCode, last)
		}
		next, _ := url.Parse(last)
		last, res, body, _ = b.follow(s.cardLogin(t, b, next.Query().Get("next")), "")
		if res.StatusCode != 200 || last != s.part.URL+"/profilo" || !strings.Contains(body, "Alto: Carta Regionale") {
			t.Fatalf("after the card: %d at %s", res.StatusCode, last)
		}
	})
}

func TestPartecipaRefusesForgedLogins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := s.ssoBrowser(t, nil)
		// A callback without this browser's state cookie (login CSRF).
		res, _ := b.do("GET", s.part.URL+"/auth/callback?code=x&state=y", nil)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback without state cookie: %d", res.StatusCode)
		}
		// Back-channel logout with tokens that are not the provider's.
		for name, tok := range map[string]string{
			"empty":   "",
			"garbage": "a.b.c",
			"unsigned": base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." +
				base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+s.plain.URL+`","aud":"partecipa","sid":"x","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`)) + ".",
		} {
			res, _ := b.do("POST", s.part.URL+"/auth/backchannel-logout", url.Values{"logout_token": {tok}})
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("%s logout token: %d", name, res.StatusCode)
			}
		}
		// A genuine logout token is accepted; one with a nonce is not.
		tok, err := s.apps.oidc.LogoutToken(context.Background(), partecipaClientID, "sub", "sid")
		if err != nil {
			t.Fatal(err)
		}
		res, _ = b.do("POST", s.part.URL+"/auth/backchannel-logout", url.Values{"logout_token": {tok}})
		if res.StatusCode != http.StatusOK {
			t.Fatalf("genuine logout token: %d", res.StatusCode)
		}
		other, err := s.apps.oidc.LogoutToken(context.Background(), "another-client", "sub", "sid")
		if err != nil {
			t.Fatal(err)
		}
		res, _ = b.do("POST", s.part.URL+"/auth/backchannel-logout", url.Values{"logout_token": {other}})
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("logout token for another audience: %d", res.StatusCode)
		}
	})
}

// BenchmarkTokenExchange measures the token endpoint: code for tokens with
// PKCE and client authentication, an RS256 id_token signed and an access
// token stored, clients in parallel. The codes are obtained before the
// timer starts (a logged-in browser through authorize and callback).
func BenchmarkTokenExchange(b *testing.B) {
	s := newIDSiteB(b)
	ctx := context.Background()
	code, _ := cf.Complete("BNCGLI90A41F205")
	card, err := s.ca.IssueCard(cardca.CardRequest{FiscalCode: string(code), GivenName: "GIULIA", FamilyName: "BIANCHI"})
	if err != nil {
		b.Fatal(err)
	}
	if err := (&population.Register{DB: s.d}).Put(ctx, population.Person{FiscalCode: string(code), District: "Centro"}); err != nil {
		b.Fatal(err)
	}
	c, secret, err := s.apps.oidc.Storage.Clients.Add(ctx, oidcop.NewClient{Name: "Bench", RedirectURIs: []string{outsideRedirect}, FirstParty: true,
		Scopes: []string{"openid", "profile", oidcop.ScopeResidence}})
	if err != nil {
		b.Fatal(err)
	}
	// The resident logs in with the card, so that the residence claims
	// (fiscal code proven) are computed at every exchange.
	jar, _ := cookiejar.New(nil)
	tc := &tls.Config{RootCAs: s.roots, Certificates: []tls.Certificate{{Certificate: [][]byte{card.Cert.Raw}, PrivateKey: card.Key, Leaf: card.Cert}}}
	browser := &http.Client{Jar: loopbackJar{jar}, Transport: &http.Transport{TLSClientConfig: tc}, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), outsideRedirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	res, err := browser.Get(s.tls.URL + "/login/crs")
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	p, err := gooidc.NewProvider(ctx, s.plain.URL)
	if err != nil {
		b.Fatal(err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	cfg := &oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: ep, RedirectURL: outsideRedirect, Scopes: []string{"openid", "profile", "residence"}}
	type pending struct{ code, verifier string }
	codes := make([]pending, b.N)
	for i := range codes {
		v := oauth2.GenerateVerifier()
		res, err := browser.Get(cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(v)))
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		if loc == nil || loc.Query().Get("code") == "" {
			b.Fatalf("no code: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		codes[i] = pending{loc.Query().Get("code"), v}
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			pc := codes[next.Add(1)-1]
			tok, err := cfg.Exchange(ctx, pc.code, oauth2.VerifierOption(pc.verifier))
			if err != nil {
				b.Fatal(err)
			}
			if tok.Extra("id_token") == nil {
				b.Fatal("no id_token")
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
}

// An application that is down when the resident logs out gets its logout
// notice later: it waits in the outbox and is retried until it is taken.
func TestBackChannelLogoutIsRetried(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		var up atomic.Bool
		received := make(chan string, 4)
		rpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !up.Load() {
				http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
			received <- r.PostFormValue("logout_token")
			w.WriteHeader(http.StatusOK)
		}))
		defer rpSrv.Close()
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Palestre", RedirectURIs: []string{outsideRedirect}, FirstParty: true,
			BackchannelLogoutURI: rpSrv.URL + "/logout"})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid")
		b := s.ssoBrowser(t, nil)
		s.passwordResident(t, b, "giulia@example.org")
		a := rp.start()
		last, _, _, _ := b.follow(a.url, outsideRedirect)
		tok, err := rp.oauth.Exchange(ctx, rp.callback(a, last).Get("code"), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		idt, err := rp.verifier.Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			SID string `json:"sid"`
		}
		_ = idt.Claims(&claims)

		// Logout while the application is down: the logout itself succeeds.
		if res, _ := b.do("POST", s.plain.URL+"/esci", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.StatusCode)
		}
		pending := func() (n, attempts int) {
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(attempts), 0) FROM oidc_logout_outbox`).Scan(&n, &attempts); err != nil {
				t.Fatal(err)
			}
			return
		}
		if n, attempts := pending(); n != 1 || attempts != 1 {
			t.Fatalf("after a failed delivery: %d notices, %d attempts", n, attempts)
		}
		// Not due yet: nothing is sent.
		if n, err := s.apps.oidc.DeliverDueLogouts(ctx); err != nil || n != 0 {
			t.Fatalf("retry before its time: %d %v", n, err)
		}
		// Back up, and the retry is due: delivered once, and forgotten.
		up.Store(true)
		s.apps.oidc.Storage.Now = func() time.Time { return time.Now().Add(time.Minute) }
		defer func() { s.apps.oidc.Storage.Now = nil }()
		if n, err := s.apps.oidc.DeliverDueLogouts(ctx); err != nil || n != 1 {
			t.Fatalf("retry: %d %v", n, err)
		}
		select {
		case raw := <-received:
			lt, err := rp.provider.Verifier(&gooidc.Config{ClientID: c.ID, SkipExpiryCheck: true}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("logout token: %v", err)
			}
			var lc struct {
				SID    string         `json:"sid"`
				Events map[string]any `json:"events"`
			}
			_ = lt.Claims(&lc)
			if lc.SID != claims.SID || lt.Subject != idt.Subject || lc.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
				t.Fatalf("logout token claims: %+v sub %s", lc, lt.Subject)
			}
		default:
			t.Fatal("the retried notice did not arrive")
		}
		if n, _ := pending(); n != 0 {
			t.Fatalf("%d notices left after delivery", n)
		}
		if n, _ := s.apps.oidc.DeliverDueLogouts(ctx); n != 0 {
			t.Fatal("a delivered notice was sent again")
		}
	})
}

// The attacks the review of the provider found, each refused.
func TestSingleSignOnCannotBeHijacked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Scuole", RedirectURIs: []string{outsideRedirect}, FirstParty: true})
		third, thirdSecret := s.addClient(t, oidcop.NewClient{Name: "Biblioteca", RedirectURIs: []string{outsideRedirect}})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid")
		rp3 := s.relyingParty(t, third.ID, thirdSecret, outsideRedirect, "openid")
		victim := s.ssoBrowser(t, nil)
		s.passwordResident(t, victim, "giulia@example.org")

		// An attacker starts a login, sends the victim the login link, and
		// collects the code at the callback: refused, the request belongs
		// to the victim's browser.
		attacker := s.ssoBrowser(t, nil)
		a := rp.start()
		res, _ := attacker.do("GET", a.url, nil)
		loginLink := res.Header.Get("Location") // /oidc/accedi?id=...
		id, _ := url.Parse(loginLink)
		// The victim's browser completes the request and is on its way to
		// the callback; the attacker races it there, with every method.
		res, _ = victim.do("GET", s.plain.URL+loginLink, nil)
		toCallback := res.Header.Get("Location")
		if !strings.HasPrefix(toCallback, "/oidc/authorize/callback") {
			t.Fatalf("the victim's browser did not complete: %d %s", res.StatusCode, toCallback)
		}
		// The request's sealed id, which the attacker has, and the id of
		// the completed login, should it leak.
		done, _ := url.Parse(toCallback)
		for _, rid := range []string{id.Query().Get("id"), done.Query().Get("id")} {
			for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
				res, _ = attacker.do(method, s.plain.URL+"/oidc/authorize/callback?id="+url.QueryEscape(rid), nil)
				if res.StatusCode < 400 || res.Header.Get("Location") != "" {
					t.Fatalf("the attacker collected the code with %s: %d %s", method, res.StatusCode, res.Header.Get("Location"))
				}
			}
		}
		// The victim's own browser still gets it, and takes it to the
		// application, which refuses it: the state is bound to the
		// attacker's browser, and the code to the attacker's PKCE verifier.
		if last, _, _, _ := victim.follow(s.plain.URL+toCallback, outsideRedirect); !strings.HasPrefix(last, outsideRedirect) {
			t.Fatalf("the browser that completed the login did not get the code: %s", last)
		}

		// prompt=login: after logging in again the resident goes back to
		// the application, not round and round the login page.
		a = rp.start(oauth2.SetAuthURLParam("prompt", "login"))
		last, resp, _, _ := victim.follow(a.url, outsideRedirect)
		if resp.StatusCode != 200 || !strings.Contains(last, "/accedi?next=") {
			t.Fatalf("prompt=login did not ask for a login: %s", last)
		}
		next, _ := url.Parse(last)
		res, _ = victim.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"giulia@example.org"}, "password": {"tram-per-Sesto-alle-7"},
			"next": {next.Query().Get("next")}})
		last, _, _, _ = victim.follow(s.plain.URL+res.Header.Get("Location"), outsideRedirect)
		if rp.callback(a, last).Get("code") == "" {
			t.Fatalf("prompt=login: no code after logging in again, at %s", last)
		}
		a = rp.start(oauth2.SetAuthURLParam("max_age", "0"))
		if last, _, _, _ = victim.follow(a.url, outsideRedirect); !strings.Contains(last, "/accedi?next=") {
			t.Fatalf("max_age=0 did not ask for a login: %s", last)
		}

		// A request that needs the card cannot be completed by posting the
		// consent form with a password session.
		a3 := rp3.start(oauth2.SetAuthURLParam("acr_values", assurance.ACRHigh))
		res, _ = victim.do("GET", a3.url, nil)
		rid, _ := url.Parse(res.Header.Get("Location"))
		res, _ = victim.do("POST", s.plain.URL+"/oidc/consenso", url.Values{"id": {rid.Query().Get("id")}, "decision": {"allow"}})
		last, _, _, _ = victim.follow(s.plain.URL+res.Header.Get("Location"), outsideRedirect)
		if strings.HasPrefix(last, outsideRedirect) || !strings.Contains(last, "/accedi/carta") {
			t.Fatalf("a card-level request completed with a password session: %s", last)
		}

		// An id_token_hint for someone else: prompt=none says login_required.
		a = rp.start()
		last, _, _, _ = victim.follow(a.url, outsideRedirect)
		tok, err := rp.oauth.Exchange(ctx, rp.callback(a, last).Get("code"), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		hint := tok.Extra("id_token").(string)
		other := s.ssoBrowser(t, nil)
		s.passwordResident(t, other, "mario@example.org")
		a = rp.start(oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", hint))
		last, _, _, _ = other.follow(a.url, outsideRedirect)
		if rp.callback(a, last).Get("error") != "login_required" {
			t.Fatalf("a hint for another resident: %s", last)
		}

		// A code exchanged after the resident logged out gives nothing.
		a = rp.start()
		last, _, _, _ = victim.follow(a.url, outsideRedirect)
		code := rp.callback(a, last).Get("code")
		victim.do("POST", s.plain.URL+"/esci", url.Values{})
		if _, err := rp.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier)); err == nil {
			t.Fatal("a code was exchanged after its session ended")
		}

		// A refused request cannot be completed later. prompt=none is
		// decided in the authorization request itself: the refusal goes
		// straight to the application and no id of the request is shown.
		a = rp.start(oauth2.SetAuthURLParam("prompt", "none"))
		res, _ = attacker.do("GET", a.url, nil)
		if last = res.Header.Get("Location"); !strings.HasPrefix(last, outsideRedirect) || rp.callback(a, last).Get("error") != "login_required" ||
			strings.Contains(last, "id=") {
			t.Fatalf("prompt=none without a session: %d %s", res.StatusCode, last)
		}
		// A consent refused is forgotten: the same answer posted again, now
		// "allow", finds no request.
		a3 = rp3.start()
		_, res, body, _ := other.follow(a3.url, outsideRedirect)
		rid3 := regexpFind(t, body, `name="id" value="([^"]+)"`)
		if res.StatusCode != http.StatusOK || strings.HasPrefix(rid3, "s.") {
			t.Fatalf("consent page: %d, request %q (a consent page's request is written down)", res.StatusCode, rid3)
		}
		res, _ = other.do("POST", s.plain.URL+"/oidc/consenso", url.Values{"id": {rid3}, "decision": {"deny"}})
		if loc := res.Header.Get("Location"); errorOf(t, loc) != "access_denied" {
			t.Fatalf("consent denied: %d %s", res.StatusCode, loc)
		}
		res, _ = other.do("POST", s.plain.URL+"/oidc/consenso", url.Values{"id": {rid3}, "decision": {"allow"}})
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("a refused request was still open: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// A logout and its back-channel notices commit together: when the
// transaction fails after the notices were written, neither the logout nor
// the notices happen, and the resident can try again.
func TestLogoutAndItsNoticesCommitTogether(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		c, secret := s.addClient(t, oidcop.NewClient{Name: "Palestre", RedirectURIs: []string{outsideRedirect}, FirstParty: true,
			BackchannelLogoutURI: "http://127.0.0.1:9/logout"})
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid")
		b := s.ssoBrowser(t, nil)
		s.passwordResident(t, b, "giulia@example.org")
		a := rp.start()
		last, _, _, _ := b.follow(a.url, outsideRedirect)
		if _, err := rp.oauth.Exchange(ctx, rp.callback(a, last).Get("code"), oauth2.VerifierOption(a.verifier)); err != nil {
			t.Fatal(err)
		}
		sessions := s.apps.identity.Sessions
		orig := sessions.OnEndTx
		sessions.OnEndTx = func(ctx context.Context, tx *sql.Tx, hashes []string) error {
			if err := orig(ctx, tx, hashes); err != nil {
				return err
			}
			return errors.New("the disk is full")
		}
		if res, _ := b.do("POST", s.plain.URL+"/esci", url.Values{}); res.StatusCode != http.StatusInternalServerError {
			t.Fatalf("a failed logout answered %d", res.StatusCode)
		}
		count := func(table string) int {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if code, _ := b.me(s.plain.URL); code != http.StatusOK || count("oidc_logout_outbox") != 0 || count("oidc_rp_sessions") != 1 {
			t.Fatalf("after a failed logout: session %d, %d notices, %d application sessions", code, count("oidc_logout_outbox"), count("oidc_rp_sessions"))
		}
		sessions.OnEndTx = orig
		b.do("POST", s.plain.URL+"/esci", url.Values{})
		if code, _ := b.me(s.plain.URL); code != http.StatusUnauthorized || count("oidc_logout_outbox") != 1 || count("oidc_rp_sessions") != 0 {
			t.Fatalf("after the logout: session %d, %d notices (the application is unreachable: one pending), %d application sessions",
				code, count("oidc_logout_outbox"), count("oidc_rp_sessions"))
		}
	})
}

// An operator logged in with the password an administrator chose must
// choose their own before any page, and single sign-on into Partecipa is
// no way around it: the provider sends them to the password page first,
// with the way back to the login it interrupted.
func TestFlaggedOperatorChangesPasswordBeforeSingleSignOn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := s.ssoBrowser(t, nil)
		operatorLogin(t, s, b, identity.NewOperator{Email: "urp@comune.example.it", Roles: []string{"urp"}, ChangePassword: true})
		last, res, _, _ := s.partecipaLogin(t, b, "/accedi?next=/profilo")
		if u, _ := url.Parse(last); res.StatusCode != 200 || u.Path != identity.PasswordPath {
			t.Fatalf("single sign-on of an operator who must change password: %d at %s", res.StatusCode, last)
		}
		var n int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM partecipa_sessions`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("Partecipa sessions before the change: %d (%v)", n, err)
		}
	})
}
