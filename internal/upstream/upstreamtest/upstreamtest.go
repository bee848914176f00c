// Package upstreamtest is an upstream OpenID Connect provider for tests, as
// a regional SPID/CIE proxy would be: discovery, keys, the authorization
// endpoint that logs in a configured person at once, a token endpoint that
// checks the client's secret, PKCE and a code's single use, the userinfo,
// and an end_session_endpoint. Switches break one thing each.
package upstreamtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/civico-pa/civico/internal/upstream"
)

// Person is who the provider logs in.
type Person struct {
	FiscalNumber, GivenName, FamilyName, BirthDate string
}

// Provider is the test provider.
type Provider struct {
	Server *httptest.Server
	Issuer string
	// ClientID and Secret are the client registered.
	ClientID, Secret string

	mu      sync.Mutex
	key     *rsa.PrivateKey
	foreign *rsa.PrivateKey
	codes   map[string]grant
	tokens  map[string]grant
	// The switches, set with Set.
	Person Person
	// ACR answered ("" : the one asked).
	ACR string
	// ForeignKey signs the ID token with a key not published.
	ForeignKey bool
	// WrongAudience gives the ID token to another client.
	WrongAudience bool
	// WrongNonce answers with another nonce.
	WrongNonce bool
	// OtherIssuer names another issuer in the answer (RFC 9207's iss).
	OtherIssuer bool
	// InUserinfo gives the attributes in the userinfo, not the ID token.
	InUserinfo bool
	// Down answers every request of civico's with 503 (the browser's
	// authorization still works).
	Down bool
	// Deny answers the authorization with access_denied.
	Deny bool
	// TokenDown answers the token endpoint with 503 only.
	TokenDown bool
	// TokenRedirect, when set, answers the token endpoint with a 307 to
	// that address (a load balancer sending the client to plain http).
	TokenRedirect string
	// NoEndSession leaves end_session_endpoint out of the discovery.
	NoEndSession bool
	// ClientJWKS, when set, is where the client's keys are: the token
	// endpoint then takes private_key_jwt instead of the secret.
	ClientJWKS string
	// MethodClaim names the way the person logged in ("spid", "cie").
	MethodClaim string

	lastAuthorize url.Values
	logouts       []url.Values
}

type grant struct {
	challenge, nonce, redirect, acr string
	used                            bool
}

// ClaimMethod is the claim the provider tells the login's way in.
const ClaimMethod = "https://proxy.example/auth_method"

// New starts a provider for a client redirecting to redirectURI's site.
func New() *Provider {
	p := &Provider{ClientID: "comune-test", Secret: "s3cret-of-the-client", codes: map[string]grant{}, tokens: map[string]grant{}}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if p.foreign, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("GET /logout", p.logout)
	p.Server = httptest.NewTLSServer(mux)
	p.Issuer = p.Server.URL
	return p
}

// Close stops the provider.
func (p *Provider) Close() { p.Server.Close() }

// Config is civico's configuration for this provider.
func (p *Provider) Config() *upstream.Config {
	c := &upstream.Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.Secret, ButtonLabel: "Entra con SPID o CIE (Regione)",
		Claims: upstream.Claims{Method: ClaimMethod}}
	if err := c.Check(); err != nil {
		panic(err)
	}
	return c
}

// Set changes the switches.
func (p *Provider) Set(fn func(*Provider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(p)
}

// LastAuthorize is the last authorization request's query.
func (p *Provider) LastAuthorize() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAuthorize
}

// Logouts are the logout requests received.
func (p *Provider) Logouts() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.logouts...)
}

func (p *Provider) down(w http.ResponseWriter) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Down {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}
	return p.Down
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	if p.down(w) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	md := map[string]any{"issuer": p.Issuer, "authorization_endpoint": p.Issuer + "/authorize", "token_endpoint": p.Issuer + "/token",
		"jwks_uri": p.Issuer + "/jwks", "userinfo_endpoint": p.Issuer + "/userinfo", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"pairwise"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported": []string{"S256"}, "token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		"authorization_response_iss_parameter_supported": true,
		"acr_values_supported":                           []string{upstream.AcrSpidL1, upstream.AcrSpidL2, upstream.AcrSpidL3}}
	if !p.NoEndSession {
		md["end_session_endpoint"] = p.Issuer + "/logout"
	}
	writeJSON(w, http.StatusOK, md)
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	if p.down(w) {
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize logs the configured person in at once and sends the browser
// back with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastAuthorize = q
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if p.Deny {
		back := url.Values{"error": {"access_denied"}, "error_description": {"the person cancelled"}, "state": {q.Get("state")}, "iss": {p.Issuer}}
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusSeeOther) // #nosec G710 -- a test provider inside go test: it sends the browser back to the redirect_uri the test registered
		return
	}
	acr := p.ACR
	if acr == "" {
		acr = q.Get("acr_values")
	}
	code := random()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"), acr: acr}
	iss := p.Issuer
	if p.OtherIssuer {
		iss = "https://attacker.example"
	}
	back := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {iss}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusSeeOther) // #nosec G710 -- a test provider inside go test: it sends the browser back to the redirect_uri the test registered
}

func (p *Provider) claims() map[string]any {
	c := map[string]any{upstream.ClaimFiscalNumber: p.Person.FiscalNumber, "given_name": p.Person.GivenName, "family_name": p.Person.FamilyName,
		"birthdate": p.Person.BirthDate}
	if p.MethodClaim != "" {
		c[ClaimMethod] = p.MethodClaim
	}
	return c
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if p.down(w) {
		return
	}
	p.mu.Lock()
	tokenDown, redirect := p.TokenDown, p.TokenRedirect
	p.mu.Unlock()
	if tokenDown {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if redirect != "" {
		http.Redirect(w, r, redirect, http.StatusTemporaryRedirect)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	p.mu.Lock()
	jwksURL := p.ClientJWKS
	p.mu.Unlock()
	if jwksURL != "" {
		if !p.assertionValid(r, jwksURL) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
	} else {
		id, secret, ok := r.BasicAuth()
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if !ok || id != p.ClientID || secret != p.Secret {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.codes[r.PostForm.Get("code")]
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok || g.used:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "code unknown or used"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verifier"})
		return
	case r.PostForm.Get("redirect_uri") != g.redirect:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "redirect_uri"})
		return
	}
	g.used = true
	p.codes[r.PostForm.Get("code")] = g
	access := random()
	p.tokens[access] = g
	now := time.Now()
	aud := p.ClientID
	if p.WrongAudience {
		aud = "another-client"
	}
	nonce := g.nonce
	if p.WrongNonce {
		nonce = "not-the-nonce"
	}
	claims := map[string]any{"iss": p.Issuer, "sub": "pairwise-subject-1", "aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": nonce, "acr": g.acr}
	if !p.InUserinfo {
		for k, v := range p.claims() {
			claims[k] = v
		}
	}
	key := p.key
	if p.ForeignKey {
		key = p.foreign
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		panic(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		panic(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	if p.down(w) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	c := p.claims()
	c["sub"] = "pairwise-subject-1"
	writeJSON(w, http.StatusOK, c)
}

func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.logouts = append(p.logouts, r.URL.Query())
	p.mu.Unlock()
	if u := r.URL.Query().Get("post_logout_redirect_uri"); u != "" {
		http.Redirect(w, r, u, http.StatusSeeOther) // #nosec G710 -- a test provider inside go test: it sends the browser back to the redirect_uri the test registered
		return
	}
	w.WriteHeader(http.StatusOK)
}

// assertionValid checks a private_key_jwt client assertion against the
// client's published keys: signature, iss and sub the client, aud the
// token endpoint, not expired.
func (p *Provider) assertionValid(r *http.Request, jwksURL string) bool {
	if r.PostForm.Get("client_assertion_type") != upstream.ClientAssertionType || r.PostForm.Get("client_id") != p.ClientID || r.PostForm.Get("client_secret") != "" {
		return false
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return false
	}
	res, err := http.Get(jwksURL) // #nosec G107 -- the test's own portal
	if err != nil {
		return false
	}
	defer func() { _ = res.Body.Close() }()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		return false
	}
	var c jwt.Claims
	if err := tok.Claims(&set, &c); err != nil {
		return false
	}
	return c.Validate(jwt.Expected{Issuer: p.ClientID, Subject: p.ClientID, AnyAudience: jwt.Audience{p.Issuer + "/token"}, Time: time.Now()}) == nil
}
