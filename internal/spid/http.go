package spid

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
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
const BindCookie = "civico_spid"

// Budgets of what an anonymous client may start: requests (each a row and
// an audit entry) and answers posted.
var (
	startRule  = throttle.Rule{Free: 20, Window: 10 * time.Minute}
	answerRule = throttle.Rule{Free: 30, Window: 10 * time.Minute}
)

// Web serves the SP's pages.
type Web struct {
	App      *web.App
	ID       *identity.Web
	SP       *SP
	Registry *Registry
	Requests *Requests
	Audit    audit.Writer
	Limiter  *throttle.Limiter
	Towns    *town.Store
	DB       *db.DB
	// Now, when set, is the time (tests).
	Now func() time.Time
	// allowTest admits the registry's test providers: only in the demo.
	allowTest bool
}

func (h *Web) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// NoticeData is the content of the SP's pages that explain something.
type NoticeData struct {
	// Heading and Text are message ids; Anomaly is SPID's code, if any.
	Heading, Text string
	Anomaly       int
	// Retry is where to try again ("" for none).
	Retry string
	Wait  string
}

func (h *Web) notice(w http.ResponseWriter, r *http.Request, status int, d *NoticeData) {
	page := h.App.NewPage(r, d.Heading)
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "no-store")
	h.App.HTML(w, r, status, "spid_notice", page)
}

func secure(r *http.Request, baseURL string) bool {
	return r.TLS != nil || strings.HasPrefix(baseURL, "https://")
}

// loginMethod is "Entra con SPID" on the login and step-up pages: every
// SPID provider, in a new random order at each page (as AgID's button
// does), a plain link each.
func (h *Web) loginMethod(r *http.Request, next string, need assurance.Level) *identity.LoginMethod {
	return h.profileMethod(r, next, need, SPID)
}

// cieLoginMethod is "Entra con CIE" for a CIE provider registered with the
// CIE's SAML profile: one button (the OpenID Connect federation, package
// cie, is the preferred mode; a town configures one of the two).
func (h *Web) cieLoginMethod(r *http.Request, next string, need assurance.Level) *identity.LoginMethod {
	return h.profileMethod(r, next, need, CIE)
}

// eidasLoginMethod is "Entra con eIDAS" for Europeans, through the Italian
// eIDAS node registered with the eIDAS profile: only where the level asked
// is substantial or high (eIDAS has no login at level 1).
func (h *Web) eidasLoginMethod(r *http.Request, next string, need assurance.Level) *identity.LoginMethod {
	return h.profileMethod(r, next, need, EIDAS)
}

func (h *Web) profileMethod(r *http.Request, next string, need assurance.Level, prof Profile) *identity.LoginMethod {
	if prof.MinLevel != "" && need != "" && !need.Satisfies(prof.MinLevel) {
		return nil
	}
	idps, err := h.Registry.List(r.Context())
	if err != nil {
		h.App.Log.Error("spid: providers", "err", err, "request_id", web.RequestID(r.Context()))
		return nil
	}
	idps = slices.DeleteFunc(idps, func(p IdP) bool { return p.Profile != prof.Name || (p.Test && !h.allowTest) })
	if len(idps) == 0 {
		return nil
	}
	rand.Shuffle(len(idps), func(i, j int) { idps[i], idps[j] = idps[j], idps[i] })
	if need == "" {
		need = assurance.Substantial
	}
	m := &identity.LoginMethod{ID: prof.Name + "-login", Title: prof.Title, Text: prof.Text, Button: prof.Button, Look: prof.Look}
	for _, p := range idps {
		q := url.Values{"idp": {p.EntityID}, "livello": {string(need)}}
		if next != "" {
			q.Set("next", next)
		}
		m.Options = append(m.Options, identity.LoginOption{Label: p.Name, Href: PathLogin + "?" + q.Encode()})
	}
	if prof.Look != "" && len(m.Options) == 1 {
		m.Direct = &identity.LoginOption{Label: prof.Button, Href: m.Options[0].Href}
	}
	return m
}

func (h *Web) metadata(w http.ResponseWriter, r *http.Request) {
	p, err := h.Towns.Get(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	md, err := h.SP.Metadata(r.Context(), p)
	if errors.Is(err, ErrNoIPACode) {
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "spid.unavailable.title", Text: "spid.unavailable.no_ipa"})
		return
	}
	if errors.Is(err, ErrNoKey) {
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "spid.unavailable.title", Text: "spid.unavailable.no_key"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(md)
}

// start sends the browser to the chosen provider with a signed request at
// the level asked (substantial when none), and ties the login to the
// browser with a cookie.
func (h *Web) start(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if q.Get("idp") == "" {
		// No provider chosen (an address typed or cut short): the login
		// page, which lists them.
		to := "/accedi"
		if next := q.Get("next"); next != "" {
			to += "?" + url.Values{"next": {web.SafeNext(next)}}.Encode()
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	idp, err := h.Registry.Get(ctx, q.Get("idp"))
	if err == nil && idp.Test && !h.allowTest {
		// A demo's test provider left in a database now served for real.
		err = ErrUnknownIdP
	}
	if errors.Is(err, ErrUnknownIdP) {
		h.notice(w, r, http.StatusNotFound, &NoticeData{Heading: "spid.error.title", Text: "spid.error.unknown_idp", Retry: "/accedi"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	prof, ok := profiles[idp.Profile]
	if !ok {
		h.App.Fail(w, r, errors.New("spid: provider of unknown profile "+idp.Profile))
		return
	}
	level, ok := assurance.Parse(q.Get("livello"))
	if !ok {
		level = assurance.Substantial
	}
	if prof.MinLevel != "" && !level.Satisfies(prof.MinLevel) {
		// eIDAS answers at substantial or high only: a service that asks
		// for less offers SPID's level 1 instead; nothing is recorded.
		h.notice(w, r, http.StatusBadRequest, &NoticeData{Heading: "spid.error.title", Text: "spid.error.eidas_level", Retry: "/accedi"})
		return
	}
	p, err := h.Towns.Get(ctx)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if p.IPACode == "" {
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "spid.unavailable.title", Text: "spid.unavailable.no_ipa"})
		return
	}
	// The key is made at start (an anonymous request never pays for it).
	key, err := h.SP.Keys.Signer(ctx)
	if errors.Is(err, ErrNoKey) {
		h.notice(w, r, http.StatusServiceUnavailable, &NoticeData{Heading: "spid.unavailable.title", Text: "spid.unavailable.no_key"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	remote := web.RemoteAddr(r)
	var req *Request
	var bind, dest string
	var post *PostForm
	err = h.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := h.Limiter.Take(ctx, tx, throttle.ClientKey("spid:start:", remote, "", startRule)); err != nil {
			return err
		}
		var err error
		// No return address asked: the login's landing (the personal
		// area), as for the other logins.
		next := q.Get("next")
		if next != "" {
			next = web.SafeNext(next)
		}
		if req, bind, err = h.Requests.Start(ctx, tx, idp.EntityID, level, next); err != nil {
			return err
		}
		xml, err := h.SP.AuthnRequest(req, idp, prof)
		if err != nil {
			return err
		}
		if idp.SSOBinding == BindingPOST {
			if xml, err = SignedForPost(xml, key); err != nil {
				return err
			}
			post = &PostForm{Action: idp.SSOURL, SAMLRequest: base64.StdEncoding.EncodeToString(xml), RelayState: req.RelayState}
		} else if dest, err = RedirectURL(idp.SSOURL, "SAMLRequest", xml, req.RelayState, key); err != nil {
			return err
		}
		return h.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "spid.request", Subject: req.ID, Remote: remote,
			Details: map[string]string{"idp": idp.EntityID, "level": string(level), "request": string(xml)}})
	})
	if h.throttled(w, r, err) {
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	// #nosec G124 -- Secure whenever the portal is reached over HTTPS, as the session cookie
	http.SetCookie(w, &http.Cookie{Name: BindCookie, Value: bind, Path: "/spid", MaxAge: int(RequestTTL.Seconds()), HttpOnly: true,
		Secure: secure(r, h.SP.BaseURL), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	if post != nil {
		// The provider takes the request by HTTP-POST: a form the
		// browser posts to it (a button, without JavaScript), which the
		// page's policy lets go to that origin only.
		if u, err := url.Parse(idp.SSOURL); err == nil {
			web.AllowFormAction(w, u.Scheme+"://"+u.Host)
		}
		page := h.App.NewPage(r, "spid.post.title")
		page.Breadcrumb = []web.Crumb{{Label: page.Title}}
		page.Data = struct {
			Form *PostForm
			Name string
		}{post, idp.Name}
		h.App.HTML(w, r, http.StatusOK, "spid_post", page)
		return
	}
	http.Redirect(w, r, dest, http.StatusSeeOther) // #nosec G710 -- the registered provider's SSO address
}

func (h *Web) throttled(w http.ResponseWriter, r *http.Request, err error) bool {
	wait, ok := identity.RetryAfter(w, err)
	if ok {
		h.notice(w, r, http.StatusTooManyRequests, &NoticeData{Heading: "spid.error.title", Text: "spid.error.throttled", Wait: wait})
	}
	return ok
}

// acs receives a provider's answer: it is validated against the request
// it names, which it answers once (a replay finds it answered), and
// recorded with it in the audit log. A valid one leads the browser to the
// completion, which only the browser that started the login can pass.
func (h *Web) acs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, MaxResponseSize+8<<10)
	if err := r.ParseForm(); err != nil {
		h.refused(w, r, http.StatusBadRequest, &Refusal{Message: "spid.error.invalid", Detail: "form: " + err.Error()})
		return
	}
	remote := web.RemoteAddr(r)
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Limiter.Take(ctx, tx, throttle.ClientKey("spid:acs:", remote, "", answerRule))
	}); h.throttled(w, r, err) {
		return
	} else if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	ans, err := ReadAnswer(r.PostForm.Get("SAMLResponse"))
	if err != nil {
		var ref *Refusal
		if errors.As(err, &ref) {
			h.record(ctx, nil, remote, ref)
		}
		h.refused(w, r, http.StatusBadRequest, err)
		return
	}
	req, err := h.Requests.Pending(ctx, ans.InResponseTo)
	if err != nil {
		// Unsolicited, expired, or a replay of an answered request.
		ref := &Refusal{Message: "spid.error.unsolicited", Detail: "InResponseTo " + strconv.Quote(ans.InResponseTo) + ": " + err.Error()}
		h.record(ctx, ans.Raw, remote, ref)
		h.refused(w, r, http.StatusForbidden, ref)
		return
	}
	if rs := r.PostForm.Get("RelayState"); rs != "" && rs != req.RelayState {
		ref := &Refusal{Message: "spid.error.invalid", Detail: "RelayState is not the request's"}
		if err := h.answer(ctx, req, nil, ans.Raw, remote, ref); err != nil && !errors.Is(err, ErrNoRequest) {
			h.App.Fail(w, r, err)
			return
		}
		h.refused(w, r, http.StatusForbidden, ref)
		return
	}
	idp, err := h.Registry.Get(ctx, req.IdP)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	out, verr := Validate(ans, Expect{SP: h.SP, Request: req, IdP: idp, Profile: profiles[idp.Profile], Now: h.now()})
	if err := h.answer(ctx, req, out, ans.Raw, remote, verr); err != nil {
		if errors.Is(err, ErrNoRequest) {
			// Another answer to the same request won the race.
			h.refused(w, r, http.StatusForbidden, &Refusal{Message: "spid.error.unsolicited", Detail: "answered meanwhile"})
			return
		}
		h.App.Fail(w, r, err)
		return
	}
	if verr != nil {
		h.refused(w, r, http.StatusForbidden, verr)
		return
	}
	http.Redirect(w, r, PathDone+"?"+url.Values{"r": {req.ID}}.Encode(), http.StatusSeeOther)
}

// answer marks the request answered and records the pair, in one
// transaction.
func (h *Web) answer(ctx context.Context, req *Request, out *Outcome, raw []byte, remote string, verr error) error {
	return h.DB.Tx(ctx, func(tx *sql.Tx) error {
		var o *Outcome
		if verr == nil {
			o = out
		}
		if err := h.Requests.Answer(ctx, tx, req.ID, o); err != nil {
			return err
		}
		return h.Audit.Write(ctx, tx, responseEntry(req, raw, remote, verr, out))
	})
}

// record keeps an answer that names no request in flight.
func (h *Web) record(ctx context.Context, raw []byte, remote string, verr error) {
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		return h.Audit.Write(ctx, tx, responseEntry(nil, raw, remote, verr, nil))
	}); err != nil {
		h.App.Log.Error("spid: audit", "err", err)
	}
}

func responseEntry(req *Request, raw []byte, remote string, verr error, out *Outcome) audit.Entry {
	e := audit.Entry{Actor: "anonymous", Action: "spid.response.ok", Remote: remote, Details: map[string]string{}}
	if req != nil {
		e.Subject = req.ID
		e.Details["idp"] = req.IdP
	}
	if raw != nil {
		e.Details["response"] = base64.StdEncoding.EncodeToString(raw)
	}
	if verr != nil {
		e.Action = "spid.response.refused"
		e.Details["reason"] = verr.Error()
	} else if out != nil {
		e.Details["level"] = string(out.Level)
	}
	return e
}

// refused answers a refused answer with its page and a 4xx status (the
// final status is what SPID's validator judges).
func (h *Web) refused(w http.ResponseWriter, r *http.Request, status int, err error) {
	d := &NoticeData{Heading: "spid.error.title", Text: "spid.error.invalid", Retry: "/accedi"}
	var ref *Refusal
	if errors.As(err, &ref) {
		d.Text, d.Anomaly = ref.Message, ref.Anomaly
		if ref.Anomaly > 0 {
			d.Heading = "spid.anomaly.title"
		}
		if ref.Message == "spid.error.level" {
			status = http.StatusForbidden
		}
	}
	h.App.Log.Info("spid: answer refused", "err", err, "request_id", web.RequestID(r.Context()))
	h.notice(w, r, status, d)
}

// complete logs in the person an answer proved, in the browser that
// started the login.
func (h *Web) complete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bind := ""
	if c, err := r.Cookie(BindCookie); err == nil {
		bind = c.Value
	}
	var out *Outcome
	var next string
	err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, next, err = h.Requests.Complete(ctx, tx, r.URL.Query().Get("r"), bind)
		return err
	})
	if errors.Is(err, ErrOtherBrowser) {
		h.notice(w, r, http.StatusForbidden, &NoticeData{Heading: "spid.error.title", Text: "spid.error.other_browser", Retry: "/accedi"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	// #nosec G124 -- clears the binding cookie
	http.SetCookie(w, &http.Cookie{Name: BindCookie, Value: "", Path: "/spid", MaxAge: -1, HttpOnly: true, Secure: secure(r, h.SP.BaseURL), SameSite: http.SameSiteLaxMode})
	prof, ok := profiles[out.Profile]
	if !ok {
		prof = SPID
	}
	login, err := h.ID.Svc.LoginProven(ctx, identity.Proven{FiscalCode: out.FiscalCode, GivenName: out.GivenName, FamilyName: out.FamilyName,
		BirthDate: out.BirthDate, BirthPlace: out.BirthPlace, Source: prof.Source, Level: out.Level, Method: prof.Method, EIDASID: out.EIDASID},
		web.RemoteAddr(r), r.UserAgent())
	if h.throttled(w, r, err) {
		return
	}
	if errors.Is(err, identity.ErrOperatorLevel) {
		h.notice(w, r, http.StatusForbidden, &NoticeData{Heading: "spid.error.title", Text: "spid.error.operator_level", Retry: "/accedi"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO spid_sessions (session_hash, account_id, idp, name_id, name_qualifier, session_index, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, tokens.Hash(login.Token), login.Account.ID, out.IdP, out.NameID, out.NameQualifier, out.SessionIndex, h.now())
		return err
	}); err != nil {
		// The login stands; only the provider's logout will not follow.
		h.App.Log.Error("spid: session record", "err", err, "request_id", web.RequestID(ctx))
	}
	h.ID.LoggedIn(w, r, login)
	http.Redirect(w, r, h.ID.Next(next, login), http.StatusSeeOther) // #nosec G710 -- Next admits only a path on this site
}

// sweepSessions forgets the SPID records of sessions past their longest
// life.
func (h *Web) sweepSessions(ctx context.Context, absolute time.Duration) error {
	if absolute <= 0 {
		absolute = 24 * time.Hour
	}
	return h.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM spid_sessions WHERE created_at < $1`, h.now().Add(-absolute))
		return err
	})
}
