package cie

import (
	"context"
	"database/sql"
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
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// BindCookie ties a login to the browser that started it.
const BindCookie = "civico_cie"

// RequestTTL is how long a login may take at the provider.
const RequestTTL = 10 * time.Minute

// Method names a CIE login in sessions and the audit log.
const Method = "cie"

// Budgets of what an anonymous client may start and answer.
var (
	startRule    = throttle.Rule{Free: 20, Window: 10 * time.Minute}
	callbackRule = throttle.Rule{Free: 30, Window: 10 * time.Minute}
)

// Web serves the relying party's pages.
type Web struct {
	App     *web.App
	ID      *identity.Web
	RP      *RP
	Audit   audit.Writer
	Limiter *throttle.Limiter
	Towns   *town.Store
	DB      *db.DB
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
	h.App.HTML(w, r, status, "cie_notice", page)
}

func (h *Web) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.RP.BaseURL, "https://")
}

// loginMethod is "Entra con CIE" on the login and step-up pages: one
// button, a plain link.
func (h *Web) loginMethod(r *http.Request, next string, need assurance.Level) *identity.LoginMethod {
	if need == "" {
		need = assurance.Substantial
	}
	q := url.Values{"livello": {string(need)}}
	if next != "" {
		q.Set("next", next)
	}
	return &identity.LoginMethod{ID: "cie-login", Title: "cie.login.title", Text: "cie.login.text", Button: "cie.login.button",
		Direct: &identity.LoginOption{Label: "cie.login.button", Href: PathLogin + "?" + q.Encode()}, Look: "cie"}
}

// off answers a request when CIE login is not configured.
func (h *Web) off(w http.ResponseWriter, r *http.Request) bool {
	if h.RP != nil {
		return false
	}
	if r.URL.Path == PathEntityConfiguration {
		http.NotFound(w, r)
		return true
	}
	h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "cie.unavailable.title", Text: "cie.unavailable.text", Retry: "/accedi"})
	return true
}

func (h *Web) entityConfiguration(w http.ResponseWriter, r *http.Request) {
	if h.off(w, r) {
		return
	}
	p, err := h.Towns.Get(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	ec, err := h.RP.EntityConfiguration(r.Context(), p)
	if errors.Is(err, ErrNoKey) {
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "cie.unavailable.title", Text: "cie.unavailable.text"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", TypeEntityStatement)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(ec))
}

func (h *Web) throttled(w http.ResponseWriter, r *http.Request, err error) bool {
	wait, ok := identity.RetryAfter(w, err)
	if ok {
		h.notice(w, r, http.StatusTooManyRequests, &NoticeData{Heading: "cie.error.title", Text: "cie.error.throttled", Wait: wait})
	}
	return ok
}

// start resolves the provider's trust chain, keeps the login in flight
// and sends the browser to the provider with a signed request object.
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
	if next != "" {
		next = web.SafeNext(next)
	}
	remote := web.RemoteAddr(r)
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Limiter.Take(ctx, tx, throttle.ClientKey("cie:start:", remote, "", startRule))
	}); h.throttled(w, r, err) {
		return
	} else if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p, err := h.RP.Provider(ctx)
	if err != nil {
		h.App.Log.Warn("cie: trust chain", "err", err, "request_id", web.RequestID(ctx))
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "cie.unavailable.title", Text: "cie.unavailable.chain", Retry: "/accedi"})
		return
	}
	state, nonce, verifier, bind := tokens.ID()+tokens.ID(), tokens.ID()+tokens.ID(), tokens.ID()+tokens.ID()+tokens.ID(), tokens.ID()+tokens.ID()
	dest, err := h.RP.AuthorizationURL(ctx, p, state, nonce, verifier, level)
	if errors.Is(err, ErrNoKey) {
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "cie.unavailable.title", Text: "cie.unavailable.text"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	now := h.RP.now()
	err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cie_requests (state_hash, provider, nonce, verifier, level, next, binding_hash, issued_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, tokens.Hash(state), p.Issuer, nonce, verifier, string(level), next, tokens.Hash(bind), now, now.Add(RequestTTL)); err != nil {
			return err
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "cie.request", Subject: tokens.Hash(state)[:16], Remote: remote,
			Details: map[string]string{"provider": p.Issuer, "level": string(level)}})
	})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	// #nosec G124 -- Secure whenever the portal is reached over HTTPS, as the session cookie
	http.SetCookie(w, &http.Cookie{Name: BindCookie, Value: bind, Path: "/cie", MaxAge: int(RequestTTL.Seconds()), HttpOnly: true,
		Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, dest, http.StatusSeeOther) // #nosec G710 -- the provider's authorization endpoint, from its verified trust chain
}

// errUnsolicited: no login in flight for this state from this browser.
var errUnsolicited = errors.New("cie: no login in flight for this state from this browser")

// claim takes the login in flight a callback names, once: the state must
// name a request not answered nor expired, started by this browser.
func (h *Web) claim(ctx context.Context, state, bind string) (*Pending, string, string, error) {
	var pend Pending
	var provider, next, level, bindHash string
	err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := h.RP.now()
		err := tx.QueryRowContext(ctx, `SELECT provider, nonce, verifier, level, next, binding_hash FROM cie_requests
			WHERE state_hash = $1 AND answered_at IS NULL AND expires_at > $2`, tokens.Hash(state), now).
			Scan(&provider, &pend.Nonce, &pend.Verifier, &level, &next, &bindHash)
		if errors.Is(err, sql.ErrNoRows) {
			return errUnsolicited
		}
		if err != nil {
			return err
		}
		if bind == "" || tokens.Hash(bind) != bindHash {
			return errUnsolicited
		}
		res, err := tx.ExecContext(ctx, `UPDATE cie_requests SET answered_at = $1 WHERE state_hash = $2 AND answered_at IS NULL`, now, tokens.Hash(state))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errUnsolicited
		}
		return nil
	})
	pend.Level = assurance.Level(level)
	return &pend, provider, next, err
}

// callback finishes a login: the state names a login in flight from this
// browser (once), the code is exchanged, the ID token and userinfo
// verified, and the person the userinfo proves logged in.
func (h *Web) callback(w http.ResponseWriter, r *http.Request) {
	if h.off(w, r) {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	remote := web.RemoteAddr(r)
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Limiter.Take(ctx, tx, throttle.ClientKey("cie:callback:", remote, "", callbackRule))
	}); h.throttled(w, r, err) {
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
	pend, provider, next, err := h.claim(ctx, state, bind)
	if errors.Is(err, errUnsolicited) {
		h.record(ctx, state, remote, err.Error())
		h.notice(w, r, http.StatusForbidden, &NoticeData{Heading: "cie.error.title", Text: "cie.error.unsolicited", Retry: "/accedi"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	// #nosec G124 -- clears the binding cookie
	http.SetCookie(w, &http.Cookie{Name: BindCookie, Value: "", Path: "/cie", MaxAge: -1, HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		h.record(ctx, state, remote, "provider: "+e+": "+q.Get("error_description"))
		text := "cie.error.failed"
		if e == "access_denied" {
			text = "cie.error.cancelled"
		}
		h.notice(w, r, http.StatusForbidden, &NoticeData{Heading: "cie.error.title", Text: text, Retry: "/accedi"})
		return
	}
	p, err := h.RP.Provider(ctx)
	if err == nil && p.Issuer != provider {
		err = errors.New("the provider changed since the login started")
	}
	if iss := q.Get("iss"); err == nil && iss != "" && iss != p.Issuer {
		// RFC 9207: the answer names another issuer (a mix-up).
		h.record(ctx, state, remote, "callback iss "+strconv.Quote(iss)+" is not the provider")
		h.notice(w, r, http.StatusForbidden, &NoticeData{Heading: "cie.error.title", Text: "cie.error.invalid", Retry: "/accedi"})
		return
	}
	if err != nil {
		h.record(ctx, state, remote, err.Error())
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "cie.unavailable.title", Text: "cie.unavailable.chain", Retry: "/accedi"})
		return
	}
	person, err := h.RP.Finish(ctx, p, q.Get("code"), *pend)
	if err != nil {
		h.record(ctx, state, remote, err.Error())
		d := &NoticeData{Heading: "cie.error.title", Text: "cie.error.invalid", Retry: "/accedi"}
		var lv *LevelError
		var miss *MissingError
		var ref *Refused
		switch {
		case errors.As(err, &lv):
			d.Text = "cie.error.level"
		case errors.As(err, &miss):
			d.Text = "cie.error.attributes"
		case errors.As(err, &ref):
		default:
			// The provider unreachable or answering nonsense.
			h.App.Log.Warn("cie: finish", "err", err, "request_id", web.RequestID(ctx))
			h.notice(w, r, http.StatusBadGateway, d)
			return
		}
		h.notice(w, r, http.StatusForbidden, d)
		return
	}
	login, err := h.ID.Svc.LoginProven(ctx, identity.Proven{FiscalCode: person.FiscalCode, GivenName: person.GivenName, FamilyName: person.FamilyName,
		BirthDate: person.BirthDate, Source: identity.SourceCIE, Level: person.Level, Method: Method}, remote, r.UserAgent())
	if h.throttled(w, r, err) {
		return
	}
	if errors.Is(err, identity.ErrOperatorLevel) {
		h.notice(w, r, http.StatusForbidden, &NoticeData{Heading: "cie.error.title", Text: "cie.error.operator_level", Retry: "/accedi"})
		return
	}
	if err != nil {
		h.record(ctx, state, remote, err.Error())
		h.notice(w, r, http.StatusForbidden, &NoticeData{Heading: "cie.error.title", Text: "cie.error.attributes", Retry: "/accedi"})
		return
	}
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + login.Account.ID, Action: "cie.login", Subject: tokens.Hash(state)[:16], Remote: remote,
			Details: map[string]string{"provider": p.Issuer, "level": string(person.Level)}})
	}); err != nil {
		h.App.Log.Error("cie: audit", "err", err)
	}
	h.ID.LoggedIn(w, r, login)
	http.Redirect(w, r, h.ID.Next(next, login), http.StatusSeeOther) // #nosec G710 -- Next admits only a path on this site
}

// record keeps a refused callback in the audit log.
func (h *Web) record(ctx context.Context, state, remote, reason string) {
	subject := ""
	if state != "" {
		subject = tokens.Hash(state)[:16]
	}
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "cie.refused", Subject: subject, Remote: remote,
			Details: map[string]string{"reason": reason}})
	}); err != nil {
		h.App.Log.Error("cie: audit", "err", err)
	}
}

// sweep forgets logins an hour past their time.
func sweep(ctx context.Context, d *db.DB, now time.Time) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM cie_requests WHERE expires_at < $1`, now.Add(-time.Hour))
		return err
	})
}
