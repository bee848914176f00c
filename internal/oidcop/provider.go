package oidcop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/web"
)

// Paths of the provider on the portal. Discovery is at the issuer's
// /.well-known/openid-configuration; the issuer is the portal's address.
const (
	PathAuthorize  = "/oidc/authorize"
	PathToken      = "/oidc/token"
	PathUserinfo   = "/oidc/userinfo"
	PathKeys       = "/oidc/keys"
	PathEndSession = "/oidc/end_session"
	PathRevoke     = "/oidc/revoke"
	PathIntrospect = "/oidc/introspect"
	PathLogin      = "/oidc/accedi"
	PathConsent    = "/oidc/consenso"
	PathApps       = "/profilo/applicazioni"
)

// Provider is the portal's OpenID Connect provider: zitadel/oidc's op
// package speaks the protocol; civico supplies the storage, the login (the
// portal's own, card or password), the consent page and back-channel logout.
type Provider struct {
	App     *web.App
	ID      *identity.Web
	Storage *Storage
	Issuer  string
	Log     *slog.Logger
	// HTTP sends back-channel logout tokens.
	HTTP *http.Client

	op     *op.Provider
	secret Secret
}

// Secret is the installation secret the provider was built with.
func (p *Provider) Secret() Secret { return p.secret }

// Config is what New needs.
type Config struct {
	App     *web.App
	ID      *identity.Web
	Storage *Storage
	Issuer  string
	Secret  Secret
	Log     *slog.Logger
}

// New builds the provider. The issuer may be http only for a demo or
// development portal.
func New(cfg Config) (*Provider, error) {
	p := &Provider{App: cfg.App, ID: cfg.ID, Storage: cfg.Storage, Issuer: strings.TrimSuffix(cfg.Issuer, "/"), Log: cfg.Log,
		HTTP: &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p.secret = cfg.Secret
	s := cfg.Storage
	s.pairwiseKey = cfg.Secret.Derive("oidc pairwise subjects", 32)
	s.requests = newRequestAEAD(cfg.Secret.Derive("oidc authorization requests", 32))
	s.loginURL = func(id string) string { return PathLogin + "?" + url.Values{"id": {id}}.Encode() }
	var key [32]byte
	copy(key[:], cfg.Secret.Derive("oidc codes and access tokens", 32))
	conf := &op.Config{
		CryptoKey:                         key,
		DefaultLogoutRedirectURI:          p.Issuer + "/",
		CodeMethodS256:                    true,
		AuthMethodPost:                    true,
		SupportedUILocales:                []language.Tag{language.Italian, language.English},
		SupportedScopes:                   KnownScopes,
		SupportedClaims:                   supportedClaims,
		BackChannelLogoutSupported:        true,
		BackChannelLogoutSessionSupported: true,
	}
	opts := []op.Option{
		// Browser applications may read discovery, keys and tokens from
		// their own origin, without cookies: nothing here rests on them.
		op.WithCORSOptions(&cors.Options{AllowedOrigins: []string{"*"}, AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions},
			AllowedHeaders: []string{"Authorization", "Content-Type"}, AllowCredentials: false}),
		op.WithCustomEndpoints(op.NewEndpoint(PathAuthorize), op.NewEndpoint(PathToken), op.NewEndpoint(PathUserinfo),
			op.NewEndpoint(PathRevoke), op.NewEndpoint(PathEndSession), op.NewEndpoint(PathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
	}
	if strings.HasPrefix(p.Issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	prov, err := op.NewProvider(conf, s, op.StaticIssuer(p.Issuer), opts...)
	if err != nil {
		return nil, err
	}
	p.op = prov
	return p, nil
}

var supportedClaims = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "at_hash", "c_hash",
	"name", "given_name", "family_name", "locale", "updated_at", "preferred_username", "email", "email_verified", "fiscal_code", "resident", "district", "age_band", "roles", "sex"}

// Routes mounts the provider on the portal.
func (p *Provider) Routes() {
	m := p.App.For("oidcop")
	m.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	protocol := p.errorPages(p.op)
	m.Handle("/oidc/", protocol)
	m.Handle(PathAuthorize, p.errorPages(p.authorizeRequest(p.op)))
	m.Handle(PathAuthorize+"/callback", p.sameBrowser(protocol))
	m.Handle("POST "+PathToken, p.authenticateClient(p.op))
	m.HandleFunc(PathToken, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST only")
	})
	m.HandleFunc(PathEndSession, p.endSession)
	m.HandleFunc("POST "+PathLogoutConfirm, p.confirmLogout)
	// These endpoints authenticate their callers themselves (client
	// credentials, PKCE), or act only on the browser's own session named by
	// its hint (end_session), and are meant to be called from other
	// origins: a browser application's token request, an application's
	// logout form. The logout confirmation is not among them.
	p.App.CrossOriginAllowed = append(p.App.CrossOriginAllowed, PathToken, PathEndSession, PathRevoke, PathIntrospect, PathUserinfo)
	m.HandleFunc("POST "+PathCounterSubject, p.counterSubject)
	p.App.CrossOriginAllowed = append(p.App.CrossOriginAllowed, PathCounterSubject)
	m.HandleFunc("GET "+PathLogin, p.login)
	m.HandleFunc("POST "+PathConsent, p.consent)
	low := m.Guarded(assurance.Low)
	low.HandleFunc("GET "+PathApps, p.apps)
	low.HandleFunc("POST "+PathApps+"/{client}/revoca", p.revoke)
}

// discovery is the library's document with what civico adds: pairwise
// subjects, the acr values, and only the code flow.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.Issuer)
	d := op.CreateDiscoveryConfig(ctx, p.op, p.Storage)
	d.SubjectTypesSupported = []string{"pairwise", "public"}
	d.ACRValuesSupported = assurance.ACRValues
	d.ScopesSupported = KnownScopes
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = responseModes
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode}
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	d.RequestParameterSupported = false
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_ = json.NewEncoder(w).Encode(d)
}

// authenticateClient checks the client at the token endpoint before the
// library looks at the code: the library consumes a code before it checks
// the client, so a wrong secret would otherwise burn the code, and a client
// retrying with another authentication style (as golang.org/x/oauth2 does)
// would see invalid_grant instead of invalid_client.
func (p *Provider) authenticateClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_request", "request too large or unreadable")
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			tokenError(w, http.StatusBadRequest, "invalid_request", "malformed form")
			return
		}
		// Parameters in the body only, each once (RFC 6749, section 3.2):
		// the library reads query and body together, and a value given
		// twice could mean one thing here and another there.
		if r.URL.RawQuery != "" {
			tokenError(w, http.StatusBadRequest, "invalid_request", "parameters go in the request body")
			return
		}
		// Names exactly as the specification writes them (lower case): the
		// library matches names whatever their case, so "CODE" would slip
		// past the checks below and "Client_id" past this one.
		for k, v := range form {
			if len(v) > 1 || k != strings.ToLower(k) {
				tokenError(w, http.StatusBadRequest, "invalid_request", "repeated or mis-cased parameter "+k)
				return
			}
		}
		// Text only: a NUL or bytes that are not UTF-8 would reach the
		// clients' and codes' lookups, which PostgreSQL refuses (a 500).
		if !web.TextValues(form) {
			tokenError(w, http.StatusBadRequest, "invalid_request", "parameters must be UTF-8 text")
			return
		}
		if form.Has("client_assertion") || form.Has("client_assertion_type") {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "client assertions are not supported")
			return
		}
		id, secret, basic := r.BasicAuth()
		if basic {
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
			if !db.IsText(id) || !db.IsText(secret) {
				tokenError(w, http.StatusBadRequest, "invalid_request", "credentials must be UTF-8 text")
				return
			}
			if form.Has("client_secret") || form.Has("client_id") && form.Get("client_id") != id {
				tokenError(w, http.StatusBadRequest, "invalid_request", "one client authentication method at a time")
				return
			}
		} else {
			id, secret = form.Get("client_id"), form.Get("client_secret")
		}
		c, err := p.Storage.Clients.Get(r.Context(), id)
		switch {
		case errors.Is(err, ErrClientNotFound) || err == nil && c.DisabledAt != nil:
			tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown or disabled client")
			return
		case err != nil:
			p.Log.Error("token endpoint", "err", err)
			tokenError(w, http.StatusInternalServerError, "server_error", "")
			return
		case !c.Public && !c.checkSecret(secret):
			tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
		// The code is looked at without being used up: a code of another
		// client, for another redirect URI or with the wrong PKCE verifier
		// is refused here, and stays good for its own application (the
		// library would consume it first and check after).
		if form.Get("grant_type") == string(oidc.GrantTypeCode) {
			if a, err := p.Storage.peekCode(r.Context(), form.Get("code")); err == nil {
				if a.ClientID != c.ID || a.Req.RedirectURI != form.Get("redirect_uri") || !pkceMatches(a.Req.CodeChallenge, form.Get("code_verifier")) {
					tokenError(w, http.StatusBadRequest, "invalid_grant", "the code was not issued to this client, for this redirect URI and verifier")
					return
				}
			} else if !errors.Is(err, errNotFound) {
				p.Log.Error("token endpoint", "err", err)
				tokenError(w, http.StatusInternalServerError, "server_error", "")
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		// The library asks for the client and its secret again: the storage
		// answers from here instead of reading and hashing twice more.
		next.ServeHTTP(w, r.WithContext(withClient(r.Context(), c)))
	})
}

// authorizeRequest checks what the library would read loosely before it
// reads the authorization request.
func (p *Provider) authorizeRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := r.ParseForm()
		// What was read, even of a malformed form the library will
		// answer, is text (it reads r.Form as ParseForm left it).
		if !web.TextValues(r.Form) {
			p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "parameters must be UTF-8 text")
			return
		}
		if err != nil {
			next.ServeHTTP(w, r) // the library answers a malformed request
			return
		}
		// Parameter names are case-sensitive (RFC 6749, section 3.1), and
		// one the specification does not name is ignored; the library
		// matches names whatever their case, so "REDIRECT_URI" would slip
		// past the check below yet be used. The library reads r.Form, which
		// ParseForm above has filled and will not fill again.
		// A parameter given twice (RFC 6749, section 3.1, forbids it) could
		// mean one thing here and another to the library, which reads the
		// last value.
		for k, v := range r.Form {
			if k != strings.ToLower(k) {
				delete(r.Form, k)
			} else if len(v) > 1 {
				p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "repeated parameter "+k)
				return
			}
		}
		ctx := r.Context()
		c, err := p.Storage.Clients.Get(ctx, r.Form.Get("client_id"))
		if err == nil && c.DisabledAt == nil {
			// An unregistered redirect URI gets the portal's page: not even
			// an error goes there (the library would send the errors it
			// finds first to any loopback address of a native client).
			if uri := r.Form.Get("redirect_uri"); uri != "" && !c.registered(uri, c.Redirects) {
				p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "the redirect_uri is not registered for this client")
				return
			}
			ctx = withClient(ctx, c)
		} else if err != nil && !errors.Is(err, ErrClientNotFound) {
			p.App.Fail(w, r, err)
			return
		}
		r = r.WithContext(ctx)
		// The library answers a valid request by sending the browser to the
		// login page with the request's id. A prompt=none request is decided
		// here instead, in this same request: it completes or is refused at
		// once, so its sealed id never reaches the browser and a refused one
		// cannot be completed later (a sealed request leaves nothing behind
		// to delete).
		rec := &recorder{header: w.Header().Clone()}
		next.ServeHTTP(rec, r)
		if loc, err := url.Parse(rec.header.Get("Location")); err == nil && rec.status == http.StatusFound && loc.Path == PathLogin {
			if a, err := p.Storage.authRequest(ctx, loc.Query().Get("id")); err == nil && a.hasPrompt(oidc.PromptNone) {
				r.URL = loc
				p.login(w, r)
				return
			}
		}
		rec.replay(w)
	})
}

// recorder holds a response back, to be sent as it is or replaced.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *recorder) Header() http.Header { return c.header }
func (c *recorder) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *recorder) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(b)
}

func (c *recorder) replay(w http.ResponseWriter) {
	h := w.Header()
	for k := range h {
		if _, ok := c.header[k]; !ok {
			delete(h, k)
		}
	}
	for k, v := range c.header {
		h[k] = v
	}
	w.WriteHeader(max(c.status, http.StatusOK))
	_, _ = w.Write(c.body.Bytes())
}

// pkceMatches checks a verifier against an S256 challenge (RFC 7636,
// section 4.6); with no challenge there is nothing to match.
func pkceMatches(challenge, verifier string) bool {
	if challenge == "" {
		return true
	}
	sum := sha256.Sum256([]byte(verifier))
	return verifier != "" && subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// clientKey holds, in a request's context, the client a handler already
// read and found enabled (the token endpoint also authenticated it).
type clientKey struct{}

func withClient(ctx context.Context, c *Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// clientOf returns the client a handler already read for this request, if
// it is id.
func clientOf(ctx context.Context, id string) *Client {
	c, _ := ctx.Value(clientKey{}).(*Client)
	if c == nil || c.ID != id {
		return nil
	}
	return c
}

func tokenError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="civico"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// ErrorData is the content of the provider's error page.
type ErrorData struct {
	Code        string
	Description string
	// Logout: the refused request was a logout, not a login.
	Logout bool
}

// errorPages turns the library's plain-text refusals (a request that cannot
// be sent back to the application, e.g. an unregistered redirect URI) into
// a page of the portal, translated.
func (p *Provider) errorPages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathAuthorize && r.URL.Path != PathAuthorize+"/callback" {
			next.ServeHTTP(w, r)
			return
		}
		cw := &captureWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		if !cw.captured {
			return
		}
		p.errorPage(w, r, cw.status, "invalid_request", strings.TrimSpace(cw.buf.String()))
	})
}

func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, code, description string) {
	if len(description) > 300 {
		description = description[:300]
	}
	page := p.App.NewPage(r, "oidc.error.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = ErrorData{Code: code, Description: description}
	w.Header().Set("Cache-Control", "no-store")
	p.App.HTML(w, r, status, "oidc_error", page)
}

// captureWriter holds back a plain-text error so that a page replaces it.
type captureWriter struct {
	http.ResponseWriter
	status   int
	captured bool
	wrote    bool
	buf      bytes.Buffer
}

func (c *captureWriter) WriteHeader(status int) {
	if c.wrote || c.captured {
		return
	}
	if status >= 400 && strings.HasPrefix(c.Header().Get("Content-Type"), "text/plain") {
		c.captured, c.status = true, status
		c.Header().Del("Content-Type")
		c.Header().Del("X-Content-Type-Options")
		return
	}
	c.wrote = true
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if !c.wrote && !c.captured {
		c.WriteHeader(http.StatusOK)
	}
	if c.captured {
		return c.buf.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// sameBrowser lets the library hand out the code only to the browser whose
// portal session completed the request: a request id passed to someone
// else (a link with it, sent to a logged-in resident) cannot be used to
// collect their login.
func (p *Provider) sameBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The library would answer any method here; a browser comes back
		// with GET only.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			p.errorPage(w, r, http.StatusMethodNotAllowed, "invalid_request", "")
			return
		}
		a, err := p.Storage.authRequest(r.Context(), r.URL.Query().Get("id"))
		if err != nil {
			p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "")
			return
		}
		_, se := identity.Current(r.Context())
		if !a.IsDone || se == nil || se.Hash != a.SessionHash {
			p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "this login was not completed in this browser")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Storage) endPortalSession(ctx context.Context, account, hash string) error {
	if s.EndSession == nil {
		return errors.New("no session ender configured")
	}
	return s.EndSession(ctx, account, hash)
}

// login is where the library sends the browser with a new authorization
// request, and where the browser comes back after logging in or answering
// the consent page: every check is made here, each time. The portal's login
// (or step-up to the card, or a fresh login when the application asked for
// one, or a login as the resident the id_token_hint names), then consent
// for applications not the town's own, then back to the library with the
// request completed.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	a, err := p.Storage.authRequest(ctx, id)
	if errors.Is(err, errNotFound) {
		p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "")
		return
	}
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	c, err := p.Storage.Clients.Get(ctx, a.ClientID)
	if err != nil || c.DisabledAt != nil {
		p.errorPage(w, r, http.StatusBadRequest, "invalid_client", "")
		return
	}
	acc, se := identity.Current(ctx)
	if a.IsDone {
		if se != nil && se.Hash == a.SessionHash {
			http.Redirect(w, r, p.callbackURL(id), http.StatusFound)
			return
		}
		p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "this login was not completed in this browser")
		return
	}
	back := url.Values{"next": {p.Storage.loginURL(a.ID)}}
	need := assurance.Minimum(a.Req.ACRValues)
	hinted := a.Req.HintSubject == "" || acc != nil && p.Storage.subject(c, acc) == a.Req.HintSubject
	switch {
	case acc == nil || !p.fresh(a, se) || !hinted:
		if a.hasPrompt(oidc.PromptNone) {
			p.refuse(w, r, a, oidc.ErrLoginRequired())
			return
		}
		dest := "/accedi"
		if need == assurance.High && p.ID.CardLoginURL != "" {
			dest = "/accedi/carta"
		}
		web.Redirect(w, r, dest, back)
		return
	case !se.Assurance.Satisfies(need):
		if a.hasPrompt(oidc.PromptNone) {
			p.refuse(w, r, a, oidc.ErrLoginRequired().WithDescription("the smart card is required"))
			return
		}
		// The step-up page offers the card and what else reaches the
		// level (SPID at that level).
		back.Set("livello", string(need))
		web.Redirect(w, r, "/accedi/carta", back)
		return
	case identity.MustChangePassword(acc, se):
		// An operator still on a password someone else chose takes it
		// nowhere, Partecipa included, until they choose their own.
		if a.hasPrompt(oidc.PromptNone) {
			p.refuse(w, r, a, oidc.ErrLoginRequired().WithDescription("the password must be changed first"))
			return
		}
		web.Redirect(w, r, identity.PasswordPath, back)
		return
	}
	if !c.FirstParty {
		ok, at, err := p.Storage.hasConsent(ctx, acc.ID, c.ID, a.Req.Scopes)
		if err != nil {
			p.App.Fail(w, r, err)
			return
		}
		if !ok || a.hasPrompt(oidc.PromptConsent) && at.Before(a.CreatedAt) {
			if a.hasPrompt(oidc.PromptNone) {
				p.refuse(w, r, a, &oidc.Error{ErrorType: "consent_required", Description: "the resident has not allowed this application yet"})
				return
			}
			// The page's answer may be a refusal, which must end the
			// request: from here on it is written down.
			if a.sealed() {
				if a, err = p.Storage.persist(ctx, a); err != nil {
					p.App.Fail(w, r, err)
					return
				}
			}
			p.consentPage(w, r, a, c)
			return
		}
	}
	p.finish(w, r, a, c, acc, se)
}

// refuse sends a protocol error to the application and forgets the
// request, so that it cannot be completed afterwards.
func (p *Provider) refuse(w http.ResponseWriter, r *http.Request, a *AuthRequest, e *oidc.Error) {
	p.Storage.kill(r.Context(), a.ID)
	op.AuthRequestError(w, r, a, e, p.op)
}

// fresh reports whether the session satisfies prompt=login and max_age. A
// login made after the request started always does (the resident has just
// authenticated for it; the library turns prompt=login into max_age=0);
// otherwise prompt=login asks for a new login, and max_age bounds the
// session's age.
func (p *Provider) fresh(a *AuthRequest, se *identity.Session) bool {
	if se == nil {
		return false
	}
	if !se.CreatedAt.Before(a.CreatedAt) {
		return true
	}
	if a.hasPrompt(oidc.PromptLogin) {
		return false
	}
	if a.Req.MaxAge != nil {
		maxAge := min(*a.Req.MaxAge, 10*365*24*3600)                      // beyond ten years means no limit
		if time.Since(se.CreatedAt) > time.Duration(maxAge)*time.Second { // #nosec G115 -- maxAge is at most ten years of seconds, far inside int64
			return false
		}
	}
	return true
}

func (p *Provider) callbackURL(id string) string {
	return PathAuthorize + "/callback?" + url.Values{"id": {id}}.Encode()
}

func (p *Provider) finish(w http.ResponseWriter, r *http.Request, a *AuthRequest, c *Client, acc *identity.Account, se *identity.Session) {
	id, err := p.Storage.complete(r.Context(), a, c, acc, se)
	if err != nil {
		if errors.Is(err, errNotFound) {
			p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "")
			return
		}
		p.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.callbackURL(id), http.StatusFound)
}

// ConsentData is the content of the consent page.
type ConsentData struct {
	RequestID string
	Client    string
	Host      string
	Scopes    []string
}

func (p *Provider) consentPage(w http.ResponseWriter, r *http.Request, a *AuthRequest, c *Client) {
	page := p.App.NewPage(r, "oidc.consent.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	host := ""
	if u, err := url.Parse(a.Req.RedirectURI); err == nil {
		host = u.Host
	}
	scopes := slices.DeleteFunc(slices.Clone(a.Req.Scopes), func(s string) bool { return s == oidc.ScopeOpenID })
	page.Data = ConsentData{RequestID: a.ID, Client: c.Name, Host: host, Scopes: scopes}
	w.Header().Set("Cache-Control", "no-store")
	// The answer ends at the application.
	allowFormActionTo(w, a.Req.RedirectURI)
	p.App.HTML(w, r, http.StatusOK, "oidc_consent", page)
}

// consent records the resident's answer, then sends the browser back to
// the login page, which checks everything again (the level of the login,
// its freshness) before completing the request.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	if !p.App.ParseForm(w, r, 4<<10) {
		return
	}
	ctx := r.Context()
	acc, _ := identity.Current(ctx)
	a, err := p.Storage.authRequest(ctx, r.PostFormValue("id"))
	if err != nil || a.IsDone {
		p.errorPage(w, r, http.StatusBadRequest, "invalid_request", "")
		return
	}
	if acc == nil {
		web.Redirect(w, r, "/accedi", url.Values{"next": {p.Storage.loginURL(a.ID)}})
		return
	}
	c, err := p.Storage.Clients.Get(ctx, a.ClientID)
	if err != nil || c.DisabledAt != nil {
		p.errorPage(w, r, http.StatusBadRequest, "invalid_client", "")
		return
	}
	if r.PostFormValue("decision") != "allow" {
		p.refuse(w, r, a, oidc.ErrAccessDenied().WithDescription("the resident declined"))
		return
	}
	if err := p.Storage.grantConsent(ctx, acc.ID, c.ID, a.Req.Scopes, web.RemoteAddr(r)); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, p.Storage.loginURL(a.ID), http.StatusSeeOther)
}

// AppsData lists the applications a resident allowed.
type AppsData struct {
	Apps []Consent
	Done bool
}

func (p *Provider) apps(w http.ResponseWriter, r *http.Request) {
	acc, _ := identity.Current(r.Context())
	list, err := p.Storage.Consents(r.Context(), acc.ID)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	page := p.App.NewPage(r, "oidc.apps.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("identity.profile.title"), Href: "/profilo"}, {Label: page.Title}}
	page.Data = AppsData{Apps: list, Done: r.URL.Query().Get("revocata") != ""}
	w.Header().Set("Cache-Control", "no-store")
	p.App.HTML(w, r, http.StatusOK, "oidc_apps", page)
}

func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	acc, _ := identity.Current(r.Context())
	if err := p.Storage.RevokeConsent(r.Context(), acc.ID, r.PathValue("client"), web.RemoteAddr(r)); err != nil {
		if errors.Is(err, errNotFound) {
			p.App.Error(w, r, http.StatusNotFound)
			return
		}
		p.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, PathApps+"?revocata=1", http.StatusSeeOther)
}

// Templates and Messages are the provider's pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// responseModes are how the code reaches the application: by redirect,
// in the query or the fragment. form_post is refused (CreateAuthRequest):
// its answer is a page whose form goes to the application's origin, sent
// by a script, and the portal's policy allows forms to its own origin and
// scripts from its files only. Opening the policy for it would buy little:
// the code is good for one minute, once, with the client's PKCE verifier,
// so keeping it out of the URL protects almost nothing, while a cross-site
// POST reaches most applications without their SameSite=Lax cookies, so
// their check of state fails; and every client here (go-oidc with
// x/oauth2, oauth2-proxy, Partecipa) uses the query.
var responseModes = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFragment)}
