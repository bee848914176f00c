package partecipa

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// Cookie names: the portal has its own session cookie; a browser sends both
// to the same host whatever the port, so the names differ.
const (
	sessionCookie = "partecipa_session"
	loginCookie   = "partecipa_login"
)

// Session lifetimes, as the portal's.
const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 12 * time.Hour
	loginLifetime   = 10 * time.Minute
)

// Auth logs residents into Partecipa through the portal's OpenID Connect
// provider (authorization code with PKCE, state bound to the browser, nonce)
// and keeps Partecipa's own sessions, ended by back-channel logout too.
type Auth struct {
	DB *db.DB
	// Issuer is the portal's address; BaseURL Partecipa's own.
	Issuer, BaseURL        string
	ClientID, ClientSecret string
	// Via, when set, is where this server reaches the provider: the
	// portal's own listener in the same process (http://127.0.0.1:8080),
	// not its public address, which a server behind a proxy or NAT may not
	// reach. Requests keep the public Host; the issuer stays Issuer.
	Via  string
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time

	mu         sync.Mutex
	client     *http.Client // HTTP, through Via: set by discover
	provider   *gooidc.Provider
	endSession string
	notice     func(w http.ResponseWriter, r *http.Request, status int, msg string)
	app        *web.App // Partecipa's application, for error pages
	logoutPage func(w http.ResponseWriter, r *http.Request, d LogoutData)
}

func (a *Auth) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// Viewer is the resident logged into Partecipa.
type Viewer struct {
	Subject string
	Name    string
	ACR     string
	// ResidentKnown: the provider answered the residence scope.
	ResidentKnown, Resident bool
	District                string
	AgeBand                 string
	// Sex is the demographics scope's, for the breakdowns only.
	Sex string
	// Email is the confirmed address the provider released, for the
	// notifications the resident opts into.
	Email string
	// Level is how sure the portal was of who logged in.
	Level assurance.Level
	// Roles are the back-office roles the provider released (first-party
	// applications only).
	Roles []string
	// accessToken is the sealed access token of an operator holding
	// CounterRole, until accessExpires: what the provider's counter
	// endpoint asks for.
	accessToken   string
	accessExpires time.Time
}

// HasRole reports whether the viewer holds role.
func (v *Viewer) HasRole(role string) bool { return v != nil && slices.Contains(v.Roles, role) }

type ctxKey int

const viewerKey ctxKey = 0

// Current returns the resident logged into Partecipa, or nil.
func Current(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey).(*Viewer)
	return v
}

// discover reads the provider's discovery document once it answers (the
// portal may start after Partecipa).
func (a *Auth) discover(ctx context.Context) (*gooidc.Provider, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.provider != nil {
		return a.provider, nil
	}
	if a.client == nil {
		c, err := a.httpClient()
		if err != nil {
			return nil, err
		}
		a.client = c
	}
	p, err := gooidc.NewProvider(a.clientContext(ctx), a.Issuer)
	if err != nil {
		return nil, err
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, err
	}
	a.provider, a.endSession = p, extra.EndSession
	return p, nil
}

func (a *Auth) oauth(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: a.BaseURL + "/auth/callback", Scopes: []string{gooidc.ScopeOpenID, "profile", "residence", "roles", "demographics", "email"}}
}

func (a *Auth) secure() bool { return strings.HasPrefix(a.BaseURL, "https://") }

func (a *Auth) setCookie(w http.ResponseWriter, name, value, path string, maxAge int) {
	// #nosec G124 -- Secure whenever Partecipa's public address is https; a plain-http demo would never get the cookie back otherwise
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode})
}

// Middleware loads Partecipa's session named by the cookie.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" || len(c.Value) > 100 || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		v, err := a.lookup(r.Context(), c.Value)
		if err != nil {
			if !errors.Is(err, sql.ErrNoRows) {
				a.Log.Error("partecipa session", "err", err)
			}
			a.setCookie(w, sessionCookie, "", "/", -1)
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "private, no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey, v)))
	})
}

func (a *Auth) lookup(ctx context.Context, token string) (*Viewer, error) {
	h := tokens.Hash(token)
	var v Viewer
	var claims string
	var last, exp time.Time
	var accessExp sql.NullTime
	err := a.DB.QueryRowContext(ctx, `SELECT subject, name, acr, claims, last_seen_at, expires_at, access_token, access_expires_at FROM partecipa_sessions WHERE id_hash = $1`, h).
		Scan(&v.Subject, &v.Name, &v.ACR, &claims, &last, &exp, &v.accessToken, &accessExp)
	v.accessExpires = accessExp.Time
	if err != nil {
		return nil, err
	}
	now := a.now()
	if !now.Before(exp) || now.Sub(last) > sessionIdle {
		_, _ = a.DB.ExecContext(ctx, `DELETE FROM partecipa_sessions WHERE id_hash = $1`, h)
		return nil, sql.ErrNoRows
	}
	if now.Sub(last) > time.Minute {
		if _, err := a.DB.ExecContext(ctx, `UPDATE partecipa_sessions SET last_seen_at = $1 WHERE id_hash = $2`, now, h); err != nil {
			return nil, err
		}
	}
	var c residenceClaims
	if err := json.Unmarshal([]byte(claims), &c); err != nil {
		return nil, err
	}
	v.District, v.AgeBand, v.Roles, v.Sex, v.Email = c.District, c.AgeBand, c.Roles, c.Sex, c.Email
	v.Level, _ = assurance.OfACR(v.ACR)
	if c.Resident != nil {
		v.ResidentKnown, v.Resident = true, *c.Resident
	}
	return &v, nil
}

type residenceClaims struct {
	Resident *bool  `json:"resident,omitempty"`
	District string `json:"district,omitempty"`
	AgeBand  string `json:"age_band,omitempty"`
	Sex      string `json:"sex,omitempty"`
	Email    string `json:"email,omitempty"`
	// Roles come with the roles scope, not residence: kept beside them.
	Roles []string `json:"roles,omitempty"`
}

// login starts the code flow: state, nonce and PKCE verifier travel in a
// sealed cookie of this browser (nothing is written for an anonymous
// visit), so a callback carrying someone else's login is refused. With
// ?livello=substantial or high, the provider is asked for that level.
func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	var need assurance.Level
	if v := r.URL.Query().Get("livello"); v != "" {
		l, ok := assurance.Parse(v)
		if !ok {
			a.refused(w, r, http.StatusBadRequest, "partecipa.login.bad_level")
			return
		}
		need = l
	}
	p, err := a.discover(r.Context())
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	pl := pendingLogin{State: tokens.Secret(32), Nonce: tokens.Secret(32), Verifier: oauth2.GenerateVerifier(), Next: web.SafeNext(r.URL.Query().Get("next")),
		Need: need, Expires: a.now().Add(loginLifetime).Unix()}
	sealed, err := a.seal(pl)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.setCookie(w, loginCookie, sealed, "/auth/", int(loginLifetime.Seconds()))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(pl.Verifier), gooidc.Nonce(pl.Nonce)}
	if need != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", need.ACR()))
	}
	http.Redirect(w, r, a.oauth(p).AuthCodeURL(pl.State, opts...), http.StatusFound) // #nosec G710 -- the provider's authorization endpoint from its discovery document
}

// callback finishes the login: checks the state against the browser's
// cookie, exchanges the code with the verifier, verifies the id_token
// (signature, issuer, audience, expiry, nonce, and the card when it was
// asked for) and opens Partecipa's session.
func (a *Auth) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(loginCookie)
	if err != nil {
		a.refused(w, r, http.StatusBadRequest, "partecipa.login.expired")
		return
	}
	a.setCookie(w, loginCookie, "", "/auth/", -1)
	pl, err := a.open(c.Value, state, a.now())
	if errors.Is(err, errBadLogin) {
		a.refused(w, r, http.StatusBadRequest, "partecipa.login.expired")
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "partecipa.login.failed"
		if e == "access_denied" {
			msg = "partecipa.login.denied"
		}
		a.Log.Info("login refused by the provider", "error", e, "description", q.Get("error_description"))
		a.refused(w, r, http.StatusForbidden, msg)
		return
	}
	p, err := a.discover(ctx)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	hctx := a.clientContext(ctx)
	tok, err := a.oauth(p).Exchange(hctx, q.Get("code"), oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		a.Log.Warn("code exchange failed", "err", err)
		a.refused(w, r, http.StatusBadGateway, "partecipa.login.failed")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&gooidc.Config{ClientID: a.ClientID}).Verify(hctx, raw)
	if err != nil || idt.Nonce != pl.Nonce {
		a.Log.Warn("id_token refused", "err", err)
		a.refused(w, r, http.StatusBadGateway, "partecipa.login.failed")
		return
	}
	var claims struct {
		residenceClaims
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
		ACR               string `json:"acr"`
		SID               string `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil {
		a.fail(w, r, err)
		return
	}
	// A name proven by a card comes as name; one the resident chose, as
	// preferred_username: either greets them.
	if claims.Name == "" {
		claims.Name = claims.PreferredUsername
	}
	if got, _ := assurance.OfACR(claims.ACR); pl.Need != "" && !got.Satisfies(pl.Need) {
		a.refused(w, r, http.StatusForbidden, "partecipa.login.level_needed")
		return
	}
	extra, _ := json.Marshal(claims.residenceClaims)
	token := tokens.Secret(32)
	now := a.now()
	// Only an operator of the counter keeps their access token, sealed:
	// the provider's counter endpoint wants it.
	var access string
	var accessExp *time.Time
	if slices.Contains(claims.Roles, CounterRole) && tok.AccessToken != "" {
		if access, err = a.sealToken(tok.AccessToken); err != nil {
			a.fail(w, r, err)
			return
		}
		e := tok.Expiry.UTC()
		accessExp = &e
	}
	if _, err := a.DB.ExecContext(ctx, `INSERT INTO partecipa_sessions (id_hash, subject, sid, name, acr, claims, id_token, created_at, last_seen_at, expires_at,
		access_token, access_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11)`, tokens.Hash(token), idt.Subject, claims.SID, claims.Name, claims.ACR, string(extra), raw,
		now, now.Add(sessionAbsolute), access, accessExp); err != nil {
		a.fail(w, r, err)
		return
	}
	a.setCookie(w, sessionCookie, token, "/", 0)
	http.Redirect(w, r, web.SafeNext(pl.Next), http.StatusSeeOther) // #nosec G710 -- SafeNext admits only a path on this site
}

// logout ends Partecipa's session and takes the browser on to the
// provider, which ends the portal session and every other application's.
//
// The id_token goes to the provider as id_token_hint in the body of a POST,
// from a page of Partecipa's whose form is sent by a script of its own
// (autosubmit.js, as the policy's script-src 'self' allows), or by the
// form's button without JavaScript. It was in the query of a redirect, and
// so in the browser's history and every log on the way. Sending only
// client_id would have kept the token home, but then the provider, which
// ends a session only when the hint names it, would always ask the
// resident to confirm: one logout would take two clicks. With the hint,
// where the browser sends the portal its cookie (Partecipa and the portal
// are one site, as in the demo or under the town's domain), one click
// ends both; where it does not (two sites, a SameSite=Lax cookie stays
// behind on a cross-site POST), the provider sends the browser to its
// confirmation page, and logging out still works.
func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var idToken string
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && len(c.Value) <= 100 {
		err := a.DB.Tx(ctx, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `DELETE FROM partecipa_sessions WHERE id_hash = $1 RETURNING id_token`, tokens.Hash(c.Value)).Scan(&idToken)
		})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			a.fail(w, r, err)
			return
		}
	}
	a.setCookie(w, sessionCookie, "", "/", -1)
	if _, err := a.discover(ctx); err != nil || a.endSession == "" || a.logoutPage == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d := LogoutData{Action: a.endSession, Fields: []Field{{"client_id", a.ClientID}}}
	if idToken != "" {
		d.Fields = append(d.Fields, Field{"id_token_hint", idToken})
	}
	d.Fields = append(d.Fields, Field{"post_logout_redirect_uri", a.BaseURL + "/"})
	// The page holds the id_token: kept by no cache, shown once; and its
	// header shows nobody logged in any more.
	w.Header().Set("Cache-Control", "no-store")
	a.logoutPage(w, r.WithContext(context.WithValue(ctx, viewerKey, (*Viewer)(nil))), d)
}

// LogoutData is the page that takes a logout on to the provider: a form
// to its end_session endpoint.
type LogoutData struct {
	Action string
	Fields []Field
}

// Field is one hidden field of a form.
type Field struct{ Name, Value string }

// backchannel receives the provider's logout token (OpenID Connect
// Back-Channel Logout 1.0) and ends the sessions it names.
func (a *Auth) backchannel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	p, err := a.discover(ctx)
	if err != nil {
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	sub, sid, err := a.verifyLogoutToken(a.clientContext(ctx), p, r.PostFormValue("logout_token"))
	if err != nil {
		a.Log.Warn("logout token refused", "err", err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
		return
	}
	var res sql.Result
	if sid != "" {
		res, err = a.DB.ExecContext(ctx, `DELETE FROM partecipa_sessions WHERE sid = $1`, sid)
	} else {
		res, err = a.DB.ExecContext(ctx, `DELETE FROM partecipa_sessions WHERE subject = $1`, sub)
	}
	if err != nil {
		a.Log.Error("back-channel logout", "err", err)
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	n, _ := res.RowsAffected()
	a.Log.Info("back-channel logout", "sessions", n)
	w.WriteHeader(http.StatusOK)
}

// verifyLogoutToken checks a logout token as section 2.6 of the
// specification asks: signature, issuer, audience, expiry, the event, a sub
// or sid, and no nonce.
func (a *Auth) verifyLogoutToken(ctx context.Context, p *gooidc.Provider, raw string) (sub, sid string, err error) {
	if raw == "" {
		return "", "", errors.New("no logout_token")
	}
	t, err := p.Verifier(&gooidc.Config{ClientID: a.ClientID}).Verify(ctx, raw)
	if err != nil {
		return "", "", err
	}
	var c struct {
		SID    string                     `json:"sid"`
		Nonce  *string                    `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := t.Claims(&c); err != nil {
		return "", "", err
	}
	if c.Nonce != nil {
		return "", "", errors.New("a logout token must not carry a nonce")
	}
	if _, ok := c.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		return "", "", errors.New("not a back-channel logout event")
	}
	if t.Subject == "" && c.SID == "" {
		return "", "", errors.New("neither sub nor sid")
	}
	return t.Subject, c.SID, nil
}

// Sweep deletes expired sessions.
func (a *Auth) Sweep(ctx context.Context) error {
	now := a.now()
	_, err := a.DB.ExecContext(ctx, `DELETE FROM partecipa_sessions WHERE expires_at < $1 OR last_seen_at < $2`, now, now.Add(-sessionIdle))
	return err
}

func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) { a.app.Fail(w, r, err) }

func (a *Auth) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.Log.Error("the portal's OpenID Connect provider does not answer", "err", err, "request_id", web.RequestID(r.Context()))
	a.refused(w, r, http.StatusServiceUnavailable, "partecipa.login.unavailable")
}

// refused is set by Partecipa to render its notice page.
func (a *Auth) refused(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if a.notice != nil {
		a.notice(w, r, status, msg)
		return
	}
	http.Error(w, msg, status)
}

// httpClient is HTTP, sending the provider's requests Via when set.
func (a *Auth) httpClient() (*http.Client, error) {
	if a.Via == "" || a.Via == a.Issuer {
		return a.HTTP, nil
	}
	from, err1 := url.Parse(a.Issuer)
	to, err2 := url.Parse(a.Via)
	if err1 != nil || err2 != nil {
		return nil, errors.Join(err1, err2)
	}
	c := *a.HTTP
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &via{from: from, to: to, next: next}
	return &c, nil
}

// clientContext makes go-oidc and x/oauth2 use the provider's client; call
// it after discover.
func (a *Auth) clientContext(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, a.client)
}

// via sends requests for one origin to another address, keeping the Host
// the first one names.
type via struct {
	from, to *url.URL
	next     http.RoundTripper
}

func (v *via) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != v.from.Scheme || r.URL.Host != v.from.Host {
		return v.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = v.to.Scheme, v.to.Host, v.from.Host
	return v.next.RoundTrip(r2)
}
