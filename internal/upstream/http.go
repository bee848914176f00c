package upstream

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// BindCookie ties a login to the browser that started it.
const BindCookie = "civico_upstream"

// RequestTTL is how long a login may take at the provider.
const RequestTTL = 10 * time.Minute

// Method names an upstream login in sessions and the audit log.
const Method = "upstream"

// Budgets of what an anonymous client may start and answer.
var (
	startRule    = throttle.Rule{Free: 20, Window: 10 * time.Minute}
	callbackRule = throttle.Rule{Free: 30, Window: 10 * time.Minute}
)

// Web serves the upstream login's pages.
type Web struct {
	App     *web.App
	ID      *identity.Web
	RP      *RP
	Audit   audit.Writer
	Limiter *throttle.Limiter
	DB      *db.DB
	// Box seals the ID tokens kept for the logout's id_token_hint.
	Box *sealed.Box
}

// NoticeData is the content of the pages that explain a refusal.
type NoticeData struct {
	Heading, Text string
	Retry, Wait   string
}

func (h *Web) notice(w http.ResponseWriter, r *http.Request, status int, d *NoticeData) {
	page := h.App.NewPage(r, d.Heading)
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "no-store")
	h.App.HTML(w, r, status, "upstream_notice", page)
}

func (h *Web) refuse(w http.ResponseWriter, r *http.Request, status int, text string) {
	h.notice(w, r, status, &NoticeData{Heading: "upstream.error.title", Text: text, Retry: "/accedi"})
}

func (h *Web) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.RP.BaseURL, "https://")
}

// loginMethod is the proxy's button on the login and step-up pages: one
// button, a plain link, labelled as the town configured it.
func (h *Web) loginMethod(r *http.Request, next string, need assurance.Level) *identity.LoginMethod {
	if need == "" {
		need = assurance.Substantial
	}
	q := url.Values{"livello": {string(need)}}
	if next != "" {
		q.Set("next", next)
	}
	opt := &identity.LoginOption{Label: "upstream.login.button", Href: PathLogin + "?" + q.Encode()}
	if l := h.RP.Config.ButtonLabel; l != "" {
		opt.Label, opt.Plain = l, true
	}
	return &identity.LoginMethod{ID: "upstream-login", Title: "upstream.login.title", Text: "upstream.login.text", Button: "upstream.login.button", Direct: opt}
}

// off answers a request when proxy mode is not configured.
func (h *Web) off(w http.ResponseWriter, r *http.Request) bool {
	if h.RP != nil {
		return false
	}
	h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "upstream.unavailable.title", Text: "upstream.unavailable.text", Retry: "/accedi"})
	return true
}

func (h *Web) throttled(w http.ResponseWriter, r *http.Request, err error) bool {
	wait, ok := identity.RetryAfter(w, err)
	if ok {
		h.notice(w, r, http.StatusTooManyRequests, &NoticeData{Heading: "upstream.error.title", Text: "upstream.error.throttled", Wait: wait})
	}
	return ok
}

func (h *Web) take(ctx context.Context, prefix, remote string, rule throttle.Rule) error {
	return h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Limiter.Take(ctx, tx, throttle.ClientKey(prefix, remote, "", rule))
	})
}

// start keeps the login in flight and sends the browser to the provider.
func (h *Web) start(w http.ResponseWriter, r *http.Request) {
	if h.off(w, r) {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	level, ok := assurance.Parse(q.Get("livello"))
	if !ok {
		level = assurance.Substantial
	}
	next := q.Get("next")
	if len(next) > maxNext {
		next = "/" // an address that long is nobody's page (outside review L6)
	}
	if next != "" {
		next = web.SafeNext(next)
	}
	remote := web.RemoteAddr(r)
	if err := h.take(ctx, "upstream:start:", remote, startRule); h.throttled(w, r, err) {
		return
	} else if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p, err := h.RP.Provider(ctx)
	if err != nil {
		h.App.Log.Warn("upstream: discovery", "err", err, "request_id", web.RequestID(ctx))
		h.record(ctx, "", remote, err.Error())
		h.refuse(w, r, http.StatusBadGateway, "upstream.error.unreachable")
		return
	}
	state, nonce, verifier, bind := tokens.ID()+tokens.ID(), tokens.ID()+tokens.ID(), tokens.ID()+tokens.ID()+tokens.ID(), tokens.ID()+tokens.ID()
	dest := h.RP.AuthorizationURL(p, state, nonce, verifier, level)
	now := h.RP.now()
	err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO upstream_requests (state_hash, issuer, nonce, verifier, level, next, binding_hash, issued_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, tokens.Hash(state), p.Issuer, nonce, verifier, string(level), next, tokens.Hash(bind), now, now.Add(RequestTTL)); err != nil {
			return err
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "upstream.request", Subject: tokens.Hash(state)[:16], Remote: remote,
			Details: map[string]string{"issuer": p.Issuer, "level": string(level)}})
	})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	// #nosec G124 -- Secure whenever the portal is reached over HTTPS, as the session cookie
	http.SetCookie(w, &http.Cookie{Name: BindCookie, Value: bind, Path: "/upstream", MaxAge: int(RequestTTL.Seconds()), HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, dest, http.StatusSeeOther) // #nosec G710 -- the configured provider's authorization endpoint
}

// errUnsolicited: no login in flight for this state from this browser.
var errUnsolicited = errors.New("upstream: no login in flight for this state from this browser")

// claim takes the login in flight a callback names, once: the state must
// name a request not answered nor expired, started by this browser.
func (h *Web) claim(ctx context.Context, state, bind string) (*Pending, string, string, error) {
	var pend Pending
	var issuer, next, level, bindHash string
	err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := h.RP.now()
		err := tx.QueryRowContext(ctx, `SELECT issuer, nonce, verifier, level, next, binding_hash FROM upstream_requests
			WHERE state_hash = $1 AND answered_at IS NULL AND expires_at > $2`, tokens.Hash(state), now).
			Scan(&issuer, &pend.Nonce, &pend.Verifier, &level, &next, &bindHash)
		if errors.Is(err, sql.ErrNoRows) {
			return errUnsolicited
		}
		if err != nil {
			return err
		}
		if bind == "" || tokens.Hash(bind) != bindHash {
			return errUnsolicited
		}
		res, err := tx.ExecContext(ctx, `UPDATE upstream_requests SET answered_at = $1 WHERE state_hash = $2 AND answered_at IS NULL`, now, tokens.Hash(state))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errUnsolicited
		}
		return nil
	})
	pend.Level = assurance.Level(level)
	return &pend, issuer, next, err
}

// callback finishes a login: the state names a login in flight from this
// browser (once), the code is exchanged, the ID token verified, and the
// person it proves logged in.
func (h *Web) callback(w http.ResponseWriter, r *http.Request) {
	if h.off(w, r) {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	remote := web.RemoteAddr(r)
	if err := h.take(ctx, "upstream:callback:", remote, callbackRule); h.throttled(w, r, err) {
		return
	} else if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	bind := ""
	if c, err := r.Cookie(BindCookie); err == nil {
		bind = c.Value
	}
	state := q.Get("state")
	pend, issuer, next, err := h.claim(ctx, state, bind)
	if errors.Is(err, errUnsolicited) {
		h.record(ctx, state, remote, err.Error())
		h.refuse(w, r, http.StatusForbidden, "upstream.error.unsolicited")
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	// #nosec G124 -- clears the binding cookie
	http.SetCookie(w, &http.Cookie{Name: BindCookie, Value: "", Path: "/upstream", MaxAge: -1, HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	p, err := h.RP.Provider(ctx)
	if err != nil {
		h.record(ctx, state, remote, err.Error())
		h.refuse(w, r, http.StatusBadGateway, "upstream.error.unreachable")
		return
	}
	// RFC 9207: an answer naming another issuer, or none when the
	// provider says it names one, is a mix-up.
	iss, hasIss := q["iss"]
	if issuer != p.Issuer || (hasIss && (len(iss) != 1 || iss[0] != p.Issuer)) || (!hasIss && p.IssParameter) {
		h.record(ctx, state, remote, "callback iss "+strconv.Quote(q.Get("iss"))+" is not the provider "+p.Issuer)
		h.refuse(w, r, http.StatusForbidden, "upstream.error.invalid")
		return
	}
	if e := q.Get("error"); e != "" {
		h.record(ctx, state, remote, "provider: "+e+": "+q.Get("error_description"))
		text := "upstream.error.failed"
		if e == "access_denied" {
			text = "upstream.error.cancelled"
		}
		h.refuse(w, r, http.StatusForbidden, text)
		return
	}
	person, err := h.RP.Finish(ctx, p, q.Get("code"), *pend)
	if err != nil {
		h.record(ctx, state, remote, err.Error())
		var lv *LevelError
		var miss *MissingError
		var down *Unreachable
		switch {
		case errors.As(err, &lv):
			h.refuse(w, r, http.StatusForbidden, "upstream.error.level")
		case errors.As(err, &miss):
			h.refuse(w, r, http.StatusForbidden, "upstream.error.attributes")
		case errors.As(err, &down):
			h.App.Log.Warn("upstream: finish", "err", err, "request_id", web.RequestID(ctx))
			h.refuse(w, r, http.StatusBadGateway, "upstream.error.unreachable")
		default:
			h.refuse(w, r, http.StatusForbidden, "upstream.error.invalid")
		}
		return
	}
	// The provider's session and the login's record (issuer, acr, the
	// proxy's method) are written in the login's own transaction: a login
	// without them does not happen (outside review M2).
	also := func(ctx context.Context, tx *sql.Tx, login *identity.Login) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO upstream_sessions (session_hash, account_id, issuer, id_token, created_at) VALUES ($1, $2, $3, $4, $5)`,
			tokens.Hash(login.Token), login.Account.ID, p.Issuer, h.Box.Seal([]byte(person.IDToken), tokens.Hash(login.Token)), h.RP.now()); err != nil {
			return err
		}
		details := map[string]string{"issuer": p.Issuer, "level": string(person.Level), "acr": person.Acr}
		if person.Method != "" {
			details["upstream_method"] = person.Method
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + login.Account.ID, Action: "upstream.login", Subject: tokens.Hash(state)[:16], Remote: remote,
			Details: details})
	}
	login, err := h.ID.Svc.LoginProven(ctx, identity.Proven{FiscalCode: person.FiscalCode, GivenName: person.GivenName, FamilyName: person.FamilyName,
		BirthDate: person.BirthDate, Source: identity.SourceUpstream, Level: person.Level, Method: Method, Also: also}, remote, r.UserAgent())
	if h.throttled(w, r, err) {
		h.record(ctx, state, remote, "throttled: "+err.Error())
		return
	}
	if errors.Is(err, identity.ErrOperatorLevel) {
		h.record(ctx, state, remote, err.Error())
		h.refuse(w, r, http.StatusForbidden, "upstream.error.operator_level")
		return
	}
	if err != nil {
		h.record(ctx, state, remote, err.Error())
		h.refuse(w, r, http.StatusForbidden, "upstream.error.attributes")
		return
	}
	h.ID.LoggedIn(w, r, login)
	http.Redirect(w, r, h.ID.Next(next, login), http.StatusSeeOther) // #nosec G710 -- Next admits only a path on this site
}

// maxNext bounds the return address a login keeps.
const maxNext = 2 << 10

// record keeps a refused login in the audit log.
func (h *Web) record(ctx context.Context, state, remote, reason string) {
	subject := ""
	if state != "" {
		subject = tokens.Hash(state)[:16]
	}
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "upstream.refused", Subject: subject, Remote: remote,
			Details: map[string]string{"reason": reason, "issuer": h.RP.Config.Issuer}})
	}); err != nil {
		h.App.Log.Error("upstream: audit", "err", err)
	}
}

// logoutStep continues the logout of a session an upstream login opened
// at the provider's end_session_endpoint, when it has one.
func (h *Web) logoutStep(ctx context.Context, se *identity.Session) (string, error) {
	var sealedToken string
	err := h.DB.QueryRowContext(ctx, `SELECT id_token FROM upstream_sessions WHERE session_hash = $1`, se.Hash).Scan(&sealedToken)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	idToken, err := h.Box.Open(sealedToken, se.Hash)
	if err != nil {
		return "", err
	}
	p, err := h.RP.Provider(ctx)
	if err != nil {
		return "", err
	}
	dest := h.RP.LogoutURL(p, string(idToken))
	// The provider's session is forgotten and the logout recorded in one
	// transaction (outside review M2).
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM upstream_sessions WHERE session_hash = $1`, se.Hash); err != nil {
			return err
		}
		if dest == "" {
			return nil
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + se.AccountID, Action: "upstream.logout", Subject: se.AccountID,
			Details: map[string]string{"issuer": p.Issuer}})
	}); err != nil {
		return "", err
	}
	return dest, nil
}

// sweep forgets logins an hour past their time, and the sessions past the
// sessions' absolute lifetime.
func (h *Web) sweep(ctx context.Context, now time.Time, absolute time.Duration) error {
	if absolute <= 0 {
		absolute = 24 * time.Hour
	}
	return h.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM upstream_requests WHERE expires_at < $1`, now.Add(-time.Hour)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM upstream_sessions WHERE created_at < $1`, now.Add(-absolute))
		return err
	})
}

// jwks publishes the client key of private_key_jwt for the provider (404
// when civico authenticates with a secret).
func (h *Web) jwks(w http.ResponseWriter, r *http.Request) {
	if h.RP == nil || h.RP.Config.ClientAuth != AuthPrivateKeyJWT {
		http.NotFound(w, r)
		return
	}
	set, err := h.RP.Keys.JWKS(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(set)
}
