package identity

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the identity pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// SessionCookie is the name of the session cookie.
const SessionCookie = "civico_session"

// CardRefusal is a smart card refused at login; MessageID tells the resident
// why in plain words.
type CardRefusal struct {
	Reason, MessageID string
	// Detail says, in English for the log, which check failed.
	Detail string
}

func (c *CardRefusal) Error() string { return "card refused: " + c.Reason }

// NoCard is the Reason of a request that presented no certificate at all.
const NoCard = "no_certificate"

// CardReader finds and verifies the smart card presented with a request:
// the TLS client certificate, or the one a trusted proxy forwarded.
type CardReader interface {
	Holder(r *http.Request) (CardHolder, error)
	// Revoked reports whether the card a session's proof names has been
	// revoked since (CardHolder.Proof).
	Revoked(proof string) bool
}

// CardCheck is a further check of a verified card at login, by a
// feature that knows more about it than its certificate says (the town's
// card registry): a *CardRefusal refuses the login, with the message
// that tells the holder why; any other error is a failure.
type CardCheck interface {
	CheckCard(ctx context.Context, h CardHolder) error
}

// CardRegistry is a CardCheck that also answers, for the cards of live
// sessions, which may no longer be used (EndRevokedSessions): a card the
// registry suspends or revokes after the login ends its sessions, as one
// its authority's CRL names does.
type CardRegistry interface {
	CardCheck
	// RefusedCards returns those of numbers that are refused now.
	RefusedCards(ctx context.Context, numbers []string) ([]string, error)
}

// Web serves the identity pages of the portal.
type Web struct {
	App  *web.App
	Svc  *Service
	Card CardReader
	// BaseURL is the portal's public address (for links in mail);
	// CardLoginURL is where /login/crs is served with TLS ("" when no TLS
	// listener is configured).
	BaseURL, CardLoginURL string
	// Landing is where a login leads when no return address was asked
	// (the personal area); "/" when empty.
	Landing string

	// sections are the parts of the back office (AddSection).
	sections []Section
	// methods are the other ways to log in features offer (AddLoginMethod).
	methods []LoginMethods
	// logoutSteps continue a logout elsewhere (AddLogoutStep).
	logoutSteps []LogoutStep
	// cardChecks refuse verified cards (AddCardCheck).
	cardChecks []CardCheck
	// exporters add what other features hold about a person to the
	// download of their data (AddExport).
	exporters []exporter
}

// Exporter gives what a feature holds about an account, for the download of
// the person's data (GDPR art. 15 and 20): a value encoding/json writes.
// The account is the one the session may see (Account.SeenBy): for a login
// that did not prove who the person is, without the fiscal code a card
// proved and what came with it, so an exporter that hands out anything by
// fiscal code, or names a card, checks FiscalCodeSource.Proven().
type Exporter func(ctx context.Context, a *Account) (any, error)

type exporter struct {
	name string
	fn   Exporter
}

// AddExport puts what a feature holds about a person under name in the
// download of their data. Features add theirs when they are wired.
func (h *Web) AddExport(name string, fn Exporter) {
	h.exporters = append(h.exporters, exporter{name, fn})
}

// LoginMethod is another way to log in, offered by a feature beside the
// card and the password (SPID, CIE): the login and step-up pages
// show it as a section with its choices, as plain links.
type LoginMethod struct {
	// ID is the section's anchor; Title and Text are message ids; Button
	// is the message id of what opens the list of choices.
	ID, Title, Text, Button string
	// Options are the choices (one per identity provider), in the order
	// to show them.
	Options []LoginOption
	// Direct, for a method with one provider (CIE), is a button that leads
	// straight to it instead of a list; its Label is a message id.
	Direct *LoginOption
	// Look names the button's official look ("cie"); empty: the site's.
	Look string
}

// LoginOption is one choice of a LoginMethod: a label shown as it is (an
// identity provider's name) and where it leads.
type LoginOption struct {
	Label, Href string
	// Plain shows a Direct button's Label as it is (a label the town
	// configured) instead of as a message id.
	Plain bool
}

// LoginMethods gives a feature's way to log in for a login (need is
// empty) or a step-up to need, returning to next afterwards; nil offers
// nothing (nothing configured).
type LoginMethods func(r *http.Request, next string, need assurance.Level) *LoginMethod

// AddLoginMethod offers a feature's way to log in on the login and
// step-up pages.
func (h *Web) AddLoginMethod(fn LoginMethods) { h.methods = append(h.methods, fn) }

// LogoutStep is told of a session a logout ended (already ended and its
// cookie cleared) and returns where the browser goes next to end it
// elsewhere too (the identity provider that opened it), or "".
type LogoutStep func(ctx context.Context, se *Session) (string, error)

// AddLogoutStep continues the logout of the sessions a feature opened.
func (h *Web) AddLogoutStep(fn LogoutStep) { h.logoutSteps = append(h.logoutSteps, fn) }

// AddCardCheck adds a check every verified card passes at login, after
// its certificate's (cmd/civico joins the card registry).
func (h *Web) AddCardCheck(c CardCheck) { h.cardChecks = append(h.cardChecks, c) }

// LoggedIn sets the session cookie of a login a feature completed (SPID).
func (h *Web) LoggedIn(w http.ResponseWriter, r *http.Request, login *Login) { h.loggedIn(w, r, login) }

// Next is where a login leads: the return address asked, if it is a path
// on this site, else the resident's landing page.
func (h *Web) Next(raw string, login *Login) string { return h.next(raw, login) }

type ctxKey int

const viewerKey ctxKey = 0

type viewer struct {
	account *Account
	session *Session
	token   string
}

// Current returns the logged-in account and its session, or nils.
func Current(ctx context.Context) (*Account, *Session) {
	v, _ := ctx.Value(viewerKey).(*viewer)
	if v == nil {
		return nil, nil
	}
	return v.account, v.session
}

// Middleware loads the session named by the cookie, if any.
func (h *Web) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		se, a, err := h.Svc.Sessions.LookupAccount(r.Context(), c.Value)
		if err != nil {
			if !errors.Is(err, ErrNoSession) {
				h.App.Log.Error("session lookup", "err", err, "request_id", web.RequestID(r.Context()))
			}
			h.clearCookie(w, r)
			next.ServeHTTP(w, r)
			return
		}
		if se.Proof != "" && h.Card != nil && h.Card.Revoked(se.RevocationProof()) {
			// The card that opened this session was revoked since: the
			// session ends at once, not when it would have expired.
			if err := h.Svc.EndRevoked(r.Context(), se, web.RemoteAddr(r)); err != nil {
				h.App.Log.Error("ending a revoked card's session", "err", err, "request_id", web.RequestID(r.Context()))
			}
			h.clearCookie(w, r)
			next.ServeHTTP(w, r)
			return
		}
		if a.ClosedAt != nil {
			h.clearCookie(w, r)
			next.ServeHTTP(w, r)
			return
		}
		// Pages for a logged-in person are theirs alone.
		w.Header().Set("Cache-Control", "private, no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey, &viewer{account: a, session: se, token: c.Value})))
	})
}

// EndRevokedSessions ends every live session opened with a card that has
// been revoked since, whether or not its browser comes back to the portal:
// the applications it logged into are told (back-channel logout) and its
// tokens stop. A card is revoked when its authority's CRL names it (the
// middleware also ends such a session at its next request) or when the
// town's card registry (a CardRegistry among the card checks) suspends or
// revokes it. A periodic job runs this every minute. Any process may run
// it: a session another one ended first is skipped.
func (h *Web) EndRevokedSessions(ctx context.Context) error {
	var registries []CardRegistry
	for _, c := range h.cardChecks {
		if r, ok := c.(CardRegistry); ok {
			registries = append(registries, r)
		}
	}
	if h.Card == nil && len(registries) == 0 {
		return nil
	}
	list, err := h.Svc.Sessions.Proven(ctx)
	if err != nil {
		return err
	}
	byNumber := map[string][]*Session{}
	var revoked []*Session
	for i := range list {
		se := &list[i]
		if h.Card != nil && h.Card.Revoked(se.RevocationProof()) {
			revoked = append(revoked, se)
			continue
		}
		if n := se.CardNumber(); n != "" {
			byNumber[n] = append(byNumber[n], se)
		}
	}
	if err := h.Svc.endCardSessions(ctx, revoked, "", "session.ended.card_revoked"); err != nil {
		return err
	}
	if len(byNumber) == 0 {
		return nil
	}
	numbers := make([]string, 0, len(byNumber))
	for n := range byNumber {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for _, reg := range registries {
		refused, err := reg.RefusedCards(ctx, numbers)
		if err != nil {
			return err
		}
		var ending []*Session
		for _, n := range refused {
			ending = append(ending, byNumber[n]...)
			delete(byNumber, n)
		}
		if err := h.Svc.endCardSessions(ctx, ending, "", "session.ended.card_refused"); err != nil {
			return err
		}
	}
	return nil
}

// Viewer is the web.App hook that shows the logged-in person in the header.
func Viewer(r *http.Request) *web.Viewer {
	a, se := Current(r.Context())
	if a == nil {
		return nil
	}
	return &web.Viewer{Name: a.DisplayName(), Assurance: string(se.Assurance), Operator: a.Kind == KindOperator}
}

// secure reports whether the visitor reached the portal over HTTPS: directly
// (TLS listener) or through a reverse proxy that terminates TLS for a portal
// whose public address is https.
func secure(r *http.Request, baseURL string) bool {
	return r.TLS != nil || strings.HasPrefix(baseURL, "https://")
}

func (h *Web) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	// #nosec G124 -- Secure is on whenever the portal is reached over HTTPS (its own TLS listener, or a public https address behind a proxy); only a plain-http demo or development listener gets a cookie without it, which a browser would otherwise never send back
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: secure(r, h.BaseURL), SameSite: http.SameSiteLaxMode})
}

// loggedIn sets the cookies of a login: the session's and, for a password
// login, the browser's device token (kept half a year, sent only to the
// login forms).
func (h *Web) loggedIn(w http.ResponseWriter, r *http.Request, login *Login) {
	h.setCookie(w, r, login.Token)
	h.trustBrowser(w, r, login.Device)
}

// trustBrowser gives the browser its device token, if it has a new one.
func (h *Web) trustBrowser(w http.ResponseWriter, r *http.Request, device string) {
	if device != "" {
		// #nosec G124 -- as in setCookie: Secure whenever the portal is reached over HTTPS
		http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: device, Path: "/", MaxAge: int(deviceTTL.Seconds()), HttpOnly: true,
			Secure: secure(r, h.BaseURL), SameSite: http.SameSiteLaxMode})
	}
}

func deviceOf(r *http.Request) string {
	if c, err := r.Cookie(DeviceCookie); err == nil {
		return c.Value
	}
	return ""
}

// refused answers a request turned away by a budget (429) or because the
// password checks are full (503), with Retry-After, on the page given.
func (h *Web) refused(w http.ResponseWriter, r *http.Request, err error, name, title string, d *FormData) bool {
	var throttled *ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.Wait.Seconds())))
		d.Alert, d.Wait = "identity.error.throttled", throttled.Wait.String()
		h.form(w, r, http.StatusTooManyRequests, name, title, d)
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "2")
		d.Alert = "identity.error.busy"
		h.form(w, r, http.StatusServiceUnavailable, name, title, d)
	default:
		return false
	}
	return true
}

// ClearCookie removes the session cookie (single sign-on logout).
func (h *Web) ClearCookie(w http.ResponseWriter, r *http.Request) { h.clearCookie(w, r) }

func (h *Web) clearCookie(w http.ResponseWriter, r *http.Request) {
	// #nosec G124 -- as in setCookie: Secure whenever the portal is reached over HTTPS
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r, h.BaseURL), SameSite: http.SameSiteLaxMode})
}

// Require wraps a handler for people logged in at level or above, holding
// one of roles if any are given. Someone not logged in is sent to the login
// page; someone logged in with a password where the card is needed is asked
// for the card (step-up), and both come back to the page afterwards.
func (h *Web) Require(level assurance.Level, roles ...string) func(http.HandlerFunc) http.HandlerFunc {
	return func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			a, se := Current(r.Context())
			back := url.Values{"next": {r.URL.RequestURI()}}
			if a == nil {
				web.Redirect(w, r, "/accedi", back)
				return
			}
			if mustChangePassword(a, se) && r.URL.Path != PasswordPath {
				web.Redirect(w, r, PasswordPath, back)
				return
			}
			if !se.Assurance.Satisfies(level) {
				back.Set("livello", string(level))
				web.Redirect(w, r, "/accedi/carta", back)
				return
			}
			if len(roles) > 0 {
				allowed := false
				for _, role := range roles {
					allowed = allowed || a.HasRole(role)
				}
				if !allowed || a.Kind != KindOperator {
					h.App.Error(w, r, http.StatusForbidden)
					return
				}
			}
			next(w, r)
		}
	}
}

// next is where a login leads: the return address asked, if it is a path
// on this site, and otherwise Landing for a resident, the home page for an
// operator.
func (h *Web) next(raw string, login *Login) string {
	if next := web.SafeNext(raw); next != "/" || raw == "/" {
		return next
	}
	if h.Landing != "" && (login == nil || login.Account == nil || login.Account.Kind != KindOperator) {
		return h.Landing
	}
	return "/"
}

// Routes is the map of the identity pages.
func (h *Web) Routes() {
	m := h.App.For("identity")
	m.HandleFunc("GET /accedi", h.loginForm)
	m.HandleFunc("POST /accedi", h.login)
	m.HandleFunc("POST /accedi/codice", h.loginCode)
	m.HandleFunc("GET /accedi/carta", h.stepUp)
	m.HandleFunc("GET /login/crs", h.loginCard)
	m.HandleFunc("POST /esci", h.logout)
	m.HandleFunc("GET /registrati", h.registerForm)
	m.HandleFunc("POST /registrati", h.register)
	m.HandleFunc("GET /registrati/completa", h.signupForm)
	m.HandleFunc("POST /registrati/completa", h.signup)
	m.HandleFunc("GET /password-dimenticata", h.forgotForm)
	m.HandleFunc("POST /password-dimenticata", h.forgot)
	m.HandleFunc("GET /reimposta-password", h.resetForm)
	m.HandleFunc("POST /reimposta-password", h.reset)
	low := m.Guarded(assurance.Low)
	low.HandleFunc("GET "+PasswordPath, h.passwordForm)
	low.HandleFunc("POST "+PasswordPath, h.changePassword)
	low.HandleFunc("GET /profilo", h.profile)
	low.HandleFunc("POST /profilo", h.saveProfile)
	low.HandleFunc("POST /profilo/esci-ovunque", h.logoutEverywhere)
	low.HandleFunc("POST /profilo/sessioni/{hash}/termina", h.endSession)
	low.HandleFunc("POST /profilo/email", h.changeEmail)
	m.HandleFunc("GET /profilo/email/conferma", h.emailConfirmForm)
	m.HandleFunc("POST /profilo/email/conferma", h.emailConfirm)
	low.HandleFunc("GET /profilo/dati.json", h.export)
	low.HandleFunc("POST /profilo/chiudi", h.closeAccount)
	card := m.Guarded(assurance.Substantial)
	card.HandleFunc("POST /profilo/collega", h.link)
	card.HandleFunc("GET /profilo/collega/conferma", h.linkConfirmForm)
	card.HandleFunc("POST /profilo/collega/conferma", h.linkConfirm)
	m.HandleFunc("GET /api/v1/me", h.me)
	h.backOfficeRoutes(m)
}

// FormData is the content of every identity form page.
type FormData struct {
	Values  map[string]string
	Errors  FieldErrors
	Message string // message id of a notice above the form
	Alert   string // message id of an error above the form
	Next    string
	// CardLoginURL is the card login address, with next.
	CardLoginURL string
	// Token carries a link's token or a pending login into the form.
	Token string
	// TOTP enrolment: the secret to type into the app, its otpauth URI and
	// that URI as a QR code (SVG path data and size in modules).
	Secret, SecretURI string
	QR                *QR
	Wait              string
	// Email is the address a registration link was sent to.
	Email string
	// Again is where a dead link's reader asks for a new one.
	Again *Again
	// Methods are the other ways to log in (login and step-up pages).
	Methods []*LoginMethod
	// High says the step-up page asks for the high level (card, CIE, SPID
	// level 3), not only a login that proves who one is.
	High bool
}

// Again is the way to a new link of a dead one's kind: the page that sends
// it, and what the button says (a message id).
type Again struct {
	Href, Label string
}

// The pages that send each kind of link again.
var (
	deadSignup = &Again{Href: "/registrati", Label: "identity.link_dead.register"}
	deadReset  = &Again{Href: "/password-dimenticata", Label: "identity.link_dead.reset"}
	deadEmail  = &Again{Href: "/profilo#email", Label: "identity.link_dead.email"}
)

// deadLink answers a link that is unknown, used or expired, at once and
// before anything is typed: why, and the way to a new one of its kind.
func (h *Web) deadLink(w http.ResponseWriter, r *http.Request, title, alert string, again *Again) {
	h.form(w, r, http.StatusBadRequest, "link_dead", title, &FormData{Alert: alert, Again: again})
}

func (h *Web) form(w http.ResponseWriter, r *http.Request, status int, name, title string, d *FormData) {
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	if d.Next == "" && r.FormValue("next") != "" {
		d.Next = web.SafeNext(r.FormValue("next"))
	}
	if h.CardLoginURL != "" {
		d.CardLoginURL = h.CardLoginURL + "?" + url.Values{"next": {d.Next}}.Encode()
	}
	if name == "login" && d.Methods == nil {
		h.methodsFor(r, d, "")
	}
	page := h.App.NewPage(r, title)
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "no-store")
	h.App.HTML(w, r, status, name, page)
}

// parseForm reads a small form; a body that is too big or malformed gets
// its error page and false.
func (h *Web) parseForm(w http.ResponseWriter, r *http.Request) bool {
	return h.App.ParseForm(w, r, 16<<10)
}

// methodsFor fills the other ways to log in of a login (need empty) or
// step-up page.
func (h *Web) methodsFor(r *http.Request, d *FormData, need assurance.Level) {
	next := d.Next
	if next == "" && r.FormValue("next") != "" {
		next = web.SafeNext(r.FormValue("next"))
	}
	for _, fn := range h.methods {
		if m := fn(r, next, need); m != nil {
			d.Methods = append(d.Methods, m)
		}
	}
}

func (h *Web) loginForm(w http.ResponseWriter, r *http.Request) {
	d := &FormData{}
	if r.URL.Query().Get("reimpostata") != "" {
		d.Message = "identity.reset.done"
	}
	h.form(w, r, http.StatusOK, "login", "identity.login.title", d)
}

func (h *Web) login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	d := &FormData{Values: map[string]string{"email": email}}
	login, err := h.Svc.LoginPassword(r.Context(), email, r.PostForm.Get("password"), deviceOf(r), web.RemoteAddr(r), r.UserAgent())
	var pending *PendingTOTP
	switch {
	case err == nil:
		h.loggedIn(w, r, login)
		http.Redirect(w, r, h.next(r.PostForm.Get("next"), login), http.StatusSeeOther) // #nosec G710 -- next admits only a path on this site (SafeNext, FuzzSafeNext)
	case errors.As(err, &pending):
		h.totpForm(w, r, http.StatusOK, email, pending, "")
	case h.refused(w, r, err, "login", "identity.login.title", d):
	case errors.Is(err, ErrBadCredentials):
		d.Alert = "identity.error.credentials"
		h.form(w, r, http.StatusUnauthorized, "login", "identity.login.title", d)
	case errors.Is(err, ErrNotVerified):
		d.Alert = "identity.error.not_verified"
		h.form(w, r, http.StatusForbidden, "login", "identity.login.title", d)
	default:
		h.App.Fail(w, r, err)
	}
}

// totpForm asks for the one-time code; an operator enrolling sees the
// secret as text, as an otpauth address and as a QR code.
func (h *Web) totpForm(w http.ResponseWriter, r *http.Request, status int, email string, p *PendingTOTP, alert string) {
	d := &FormData{Token: p.Token, Alert: alert}
	if p.Secret != "" {
		d.Secret = p.Secret
		d.SecretURI = TOTPURI(h.Svc.Town(r.Context()), email, p.Secret)
		qr, err := NewQR(d.SecretURI)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		d.QR = qr
	}
	h.form(w, r, status, "totp", "identity.totp.title", d)
}

func (h *Web) loginCode(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	login, err := h.Svc.LoginTOTP(r.Context(), f.Get("token"), f.Get("code"), web.RemoteAddr(r), r.UserAgent())
	var retry *CodeRefused
	switch {
	case err == nil:
		h.loggedIn(w, r, login)
		if login.Account.PasswordChange {
			// A password someone else chose: the operator's own first.
			web.Redirect(w, r, PasswordPath, url.Values{"next": {h.next(f.Get("next"), login)}})
			return
		}
		http.Redirect(w, r, h.next(f.Get("next"), login), http.StatusSeeOther) // #nosec G710 -- next admits only a path on this site (SafeNext, FuzzSafeNext)
	case errors.As(err, &retry) && retry.Retry != nil:
		// A wrong code with attempts left: the same pending login (and the
		// same secret for an operator enrolling) asks again.
		h.totpForm(w, r, http.StatusUnauthorized, retry.Email, retry.Retry, "identity.error.totp_retry")
	case h.refused(w, r, err, "login", "identity.login.title", &FormData{}):
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrTokenInvalid):
		// The pending login is used up: start again from the password.
		h.form(w, r, http.StatusUnauthorized, "login", "identity.login.title", &FormData{Alert: "identity.error.totp"})
	default:
		h.App.Fail(w, r, err)
	}
}

func (h *Web) stepUp(w http.ResponseWriter, r *http.Request) {
	d := &FormData{}
	need, ok := assurance.Parse(r.URL.Query().Get("livello"))
	if !ok || need == assurance.Low {
		need = assurance.Substantial
	}
	d.High = need == assurance.High
	h.methodsFor(r, d, need)
	h.form(w, r, http.StatusOK, "stepup", "identity.stepup.title", d)
}

// loginCard verifies the presented smart card and logs its holder in.
func (h *Web) loginCard(w http.ResponseWriter, r *http.Request) {
	if h.Card == nil {
		h.form(w, r, http.StatusNotFound, "card_refused", "identity.card.title", &FormData{Alert: "identity.card.unavailable"})
		return
	}
	holder, err := h.Card.Holder(r)
	for i := 0; err == nil && i < len(h.cardChecks); i++ {
		err = h.cardChecks[i].CheckCard(r.Context(), holder)
	}
	var refusal *CardRefusal
	if errors.As(err, &refusal) {
		// A visit without any card (a crawler, a click without the
		// reader) presented nothing: only a certificate refused is a
		// security event for the audit log.
		if refusal.Reason != NoCard {
			h.Svc.auditRefusal(r.Context(), audit.Entry{Actor: "anonymous", Action: "login.crs.refused", Remote: web.RemoteAddr(r),
				Details: map[string]string{"reason": refusal.Reason}})
		}
		h.App.Log.Info("smart card refused", "reason", refusal.Reason, "detail", refusal.Detail, "request_id", web.RequestID(r.Context()))
		h.form(w, r, http.StatusForbidden, "card_refused", "identity.card.title", &FormData{Alert: refusal.MessageID})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	login, err := h.Svc.LoginCard(r.Context(), holder, holder.Proof, web.RemoteAddr(r), r.UserAgent())
	var throttled *ThrottledError
	if errors.As(err, &throttled) {
		h.Svc.auditRefusal(r.Context(), audit.Entry{Actor: "anonymous", Action: "login.crs.throttled", Remote: web.RemoteAddr(r)})
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.Wait.Seconds())))
		h.form(w, r, http.StatusTooManyRequests, "card_refused", "identity.card.title", &FormData{Alert: "identity.error.card_throttled", Wait: throttled.Wait.String()})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.loggedIn(w, r, login)
	http.Redirect(w, r, h.next(r.URL.Query().Get("next"), login), http.StatusSeeOther) // #nosec G710 -- next admits only a path on this site (SafeNext, FuzzSafeNext)
}

func (h *Web) logout(w http.ResponseWriter, r *http.Request) {
	_, se := Current(r.Context())
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := h.Svc.Sessions.End(r.Context(), c.Value); err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	h.clearCookie(w, r)
	if se != nil {
		for _, step := range h.logoutSteps {
			next, err := step(r.Context(), se)
			if err != nil {
				// The session here has ended: the provider's is left to
				// expire, and the resident is told nothing went wrong here.
				h.App.Log.Error("logout step", "err", err, "request_id", web.RequestID(r.Context()))
				continue
			}
			if next != "" {
				http.Redirect(w, r, next, http.StatusSeeOther) // #nosec G710 -- an identity provider's registered logout address, with a signed request
				return
			}
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Web) registerForm(w http.ResponseWriter, r *http.Request) {
	h.form(w, r, http.StatusOK, "register", "identity.register.title", &FormData{})
}

// register sends the link that completes a registration; the page says the
// same whether or not the address has an account.
func (h *Web) register(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	req := SignupRequest{Email: f.Get("email"), AcceptPrivacy: f.Get("privacy") == "1", Lang: h.App.I18n.Lang(r)}
	err := h.Svc.RequestSignup(r.Context(), req, h.BaseURL, web.RemoteAddr(r))
	d := &FormData{Values: map[string]string{"email": f.Get("email")}}
	if req.AcceptPrivacy {
		d.Values["privacy"] = "1"
	}
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
		d.Errors, d.Alert = fe, "identity.error.form"
		h.form(w, r, http.StatusUnprocessableEntity, "register", "identity.register.title", d)
	case h.refused(w, r, err, "register", "identity.register.title", d):
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.form(w, r, http.StatusOK, "notice", "identity.register.title", &FormData{Message: "identity.register.sent"})
	}
}

// signupForm is where the registration link leads: a dead link says so at
// once, before anyone types a password.
func (h *Web) signupForm(w http.ResponseWriter, r *http.Request) {
	h.linkForm(w, r, h.Svc.PeekSignup, "signup", "identity.signup.title", "identity.error.signup_link", deadSignup)
}

// linkForm answers the GET of a page a mailed link leads to: peek reads
// the link's address without using it; a dead link gets the page that
// sends a new one (again), a live one the page named with its token.
func (h *Web) linkForm(w http.ResponseWriter, r *http.Request, peek func(context.Context, string) (string, error), page, title, dead string, again *Again) {
	token := r.URL.Query().Get("token")
	email, err := peek(r.Context(), token)
	switch {
	case errors.Is(err, ErrTokenInvalid):
		h.deadLink(w, r, title, dead, again)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.form(w, r, http.StatusOK, page, title, &FormData{Token: token, Email: email})
	}
}

func (h *Web) signup(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	token := f.Get("token")
	login, err := h.Svc.CompleteSignup(r.Context(), token, Signup{GivenName: f.Get("given_name"), FamilyName: f.Get("family_name"),
		Password: f.Get("password"), Password2: f.Get("password2")}, h.App.I18n.Lang(r), deviceOf(r), web.RemoteAddr(r), r.UserAgent())
	d := &FormData{Token: token, Values: map[string]string{"given_name": f.Get("given_name"), "family_name": f.Get("family_name")}}
	var fe FieldErrors
	switch {
	case err == nil:
		h.loggedIn(w, r, login)
		web.Redirect(w, r, "/profilo", url.Values{"benvenuto": {"1"}})
	case errors.As(err, &fe):
		d.Errors, d.Alert = fe, "identity.error.form"
		d.Email, _ = h.Svc.PeekSignup(r.Context(), token)
		h.form(w, r, http.StatusUnprocessableEntity, "signup", "identity.signup.title", d)
	case errors.Is(err, ErrTokenInvalid):
		h.deadLink(w, r, "identity.signup.title", "identity.error.signup_link", deadSignup)
	case errors.Is(err, ErrEmailTaken):
		h.form(w, r, http.StatusConflict, "notice", "identity.signup.title", &FormData{Alert: "identity.error.signup_taken"})
	case h.refused(w, r, err, "signup", "identity.signup.title", d):
	default:
		h.App.Fail(w, r, err)
	}
}

func (h *Web) forgotForm(w http.ResponseWriter, r *http.Request) {
	h.form(w, r, http.StatusOK, "forgot", "identity.forgot.title", &FormData{})
}

func (h *Web) forgot(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	err := h.Svc.RequestReset(r.Context(), email, h.App.I18n.Lang(r), h.BaseURL, web.RemoteAddr(r))
	var fe FieldErrors
	d := &FormData{Values: map[string]string{"email": email}}
	switch {
	case errors.As(err, &fe):
		d.Errors = fe
		h.form(w, r, http.StatusUnprocessableEntity, "forgot", "identity.forgot.title", d)
	case h.refused(w, r, err, "forgot", "identity.forgot.title", d):
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.form(w, r, http.StatusOK, "notice", "identity.forgot.title", &FormData{Message: "identity.forgot.done"})
	}
}

// resetForm is where a reset link leads: a dead link says so at once,
// before anyone types a new password.
func (h *Web) resetForm(w http.ResponseWriter, r *http.Request) {
	peek := func(ctx context.Context, token string) (string, error) {
		_, err := h.Svc.Store.PeekToken(ctx, token, PurposeReset)
		return "", err // the page does not show the address
	}
	h.linkForm(w, r, peek, "reset", "identity.reset.title", "identity.error.reset_link", deadReset)
}

func (h *Web) reset(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	f := r.PostForm
	device, err := h.Svc.ResetPassword(r.Context(), f.Get("token"), f.Get("password"), f.Get("password2"), deviceOf(r), web.RemoteAddr(r))
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
		h.form(w, r, http.StatusUnprocessableEntity, "reset", "identity.reset.title", &FormData{Errors: fe, Token: f.Get("token")})
	case errors.Is(err, ErrTokenInvalid):
		h.deadLink(w, r, "identity.reset.title", "identity.error.reset_link", deadReset)
	case h.refused(w, r, err, "reset", "identity.reset.title", &FormData{Token: f.Get("token")}):
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.trustBrowser(w, r, device)
		web.Redirect(w, r, "/accedi", url.Values{"reimpostata": {"1"}})
	}
}

// ProfileData is the content of the personal area.
type ProfileData struct {
	FormData
	Account  *Account
	Session  *Session
	Sessions []Session
	// FiscalCode is the fiscal code this session proved ("" for a
	// password session, whatever the account holds).
	FiscalCode string
	// CanLink: a session that proved who the person is, on an account
	// with no password of its own, may take over a password account.
	CanLink bool
}

func (h *Web) profile(w http.ResponseWriter, r *http.Request) {
	h.renderProfile(w, r, http.StatusOK, &FormData{})
}

func (h *Web) renderProfile(w http.ResponseWriter, r *http.Request, status int, fd *FormData) {
	a, se := Current(r.Context())
	sessions, err := h.Svc.Sessions.List(r.Context(), a.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if fd.Values == nil {
		fd.Values = map[string]string{"given_name": a.GivenName, "family_name": a.FamilyName, "phone": a.Phone, "address": a.Address}
	}
	switch {
	case r.URL.Query().Get("salvato") != "":
		fd.Message = "identity.profile.saved"
	case r.URL.Query().Get("benvenuto") != "":
		fd.Message = "identity.signup.done"
	case r.URL.Query().Get("collegato") != "":
		fd.Message = "identity.link.done"
	case r.URL.Query().Get("password") != "":
		fd.Message = "identity.password.changed"
	case r.URL.Query().Get("collegamento") != "":
		fd.Message = "identity.link.sent"
	}
	if h.CardLoginURL != "" {
		fd.CardLoginURL = h.CardLoginURL + "?" + url.Values{"next": {"/profilo"}}.Encode()
	}
	d := &ProfileData{FormData: *fd, Account: a, Session: se, Sessions: sessions,
		CanLink: se.Assurance.ProvesIdentity() && a.PasswordHash == "" && a.Kind == KindResident}
	d.FiscalCode, _ = a.ProvenFiscalCode(se)
	page := h.App.NewPage(r, "identity.profile.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "profile", page)
}

func (h *Web) saveProfile(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	a, _ := Current(r.Context())
	f := r.PostForm
	p := Profile{GivenName: strings.TrimSpace(f.Get("given_name")), FamilyName: strings.TrimSpace(f.Get("family_name")),
		Phone: strings.TrimSpace(f.Get("phone")), Address: strings.TrimSpace(f.Get("address")), Lang: a.Lang}
	if err := h.Svc.UpdateProfile(r.Context(), a, p, web.RemoteAddr(r)); err != nil {
		// The form comes back as it was typed.
		values := map[string]string{}
		for k := range f {
			values[k] = f.Get(k)
		}
		var fe FieldErrors
		var throttled *ThrottledError
		switch {
		case errors.As(err, &throttled):
			w.Header().Set("Retry-After", strconv.Itoa(int(throttled.Wait.Seconds())))
			h.renderProfile(w, r, http.StatusTooManyRequests, &FormData{Alert: "identity.error.profile_throttled", Wait: throttled.Wait.String(), Values: values})
		case errors.As(err, &fe):
			h.renderProfile(w, r, http.StatusUnprocessableEntity, &FormData{Errors: fe, Alert: "identity.error.form", Values: values})
		default:
			h.App.Fail(w, r, err)
		}
		return
	}
	web.Redirect(w, r, "/profilo", url.Values{"salvato": {"1"}})
}

// link lets a resident logged in with the card take over the password
// account they also have: they give its address and password here, in the
// browser where the card just proved who they are, and follow the link
// mailed to that address (RequestLink).
func (h *Web) link(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	a, se := Current(r.Context())
	email := strings.TrimSpace(r.PostForm.Get("link_email"))
	err := h.Svc.RequestLink(r.Context(), a, se, email, r.PostForm.Get("link_password"), h.BaseURL, web.RemoteAddr(r))
	fd := &FormData{Values: map[string]string{"link_email": email}}
	var throttled *ThrottledError
	switch {
	case err == nil:
		web.Redirect(w, r, "/profilo", url.Values{"collegamento": {"inviato"}})
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.Wait.Seconds())))
		fd.Alert, fd.Wait = "identity.error.throttled", throttled.Wait.String()
		h.renderProfile(w, r, http.StatusTooManyRequests, fd)
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "2")
		fd.Alert = "identity.error.busy"
		h.renderProfile(w, r, http.StatusServiceUnavailable, fd)
	case errors.Is(err, ErrBadCredentials):
		fd.Errors, fd.Alert = FieldErrors{"link_email": "identity.error.link_credentials"}, "identity.error.form"
		h.renderProfile(w, r, http.StatusUnprocessableEntity, fd)
	case errors.Is(err, ErrCannotLink):
		fd.Alert = "identity.error.link_refused"
		h.renderProfile(w, r, http.StatusConflict, fd)
	default:
		h.App.Fail(w, r, err)
	}
}

// profileFailed answers a form of the profile that was refused: a message
// beside each wrong field, or why it must wait; false for any other error.
func (h *Web) profileFailed(w http.ResponseWriter, r *http.Request, err error, fd *FormData) bool {
	var throttled *ThrottledError
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
		fd.Errors, fd.Alert = fe, "identity.error.form"
		h.renderProfile(w, r, http.StatusUnprocessableEntity, fd)
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.Wait.Seconds())))
		fd.Alert, fd.Wait = "identity.error.throttled", throttled.Wait.String()
		h.renderProfile(w, r, http.StatusTooManyRequests, fd)
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "2")
		fd.Alert = "identity.error.busy"
		h.renderProfile(w, r, http.StatusServiceUnavailable, fd)
	default:
		return false
	}
	return true
}

// linkConfirmForm is where the mailed linking link leads, in a card
// session (Require sends anyone else to log in with the card first): it
// names the account to join and asks for a click, so that nothing that
// merely fetches links (a mail scanner) links anything.
func (h *Web) linkConfirmForm(w http.ResponseWriter, r *http.Request) {
	a, _ := Current(r.Context())
	token := r.URL.Query().Get("token")
	email, err := h.Svc.PeekLink(r.Context(), a, token)
	if h.linkDead(w, r, err) {
		return
	}
	h.form(w, r, http.StatusOK, "link_confirm", "identity.link.confirm_title", &FormData{Token: token, Email: email})
}

func (h *Web) linkConfirm(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	a, se := Current(r.Context())
	err := h.Svc.CompleteLink(r.Context(), a, se, r.PostForm.Get("token"), web.RemoteAddr(r))
	if h.linkDead(w, r, err) {
		return
	}
	web.Redirect(w, r, "/profilo", url.Values{"collegato": {"1"}})
}

// linkDead answers a linking link that cannot be followed, and reports
// whether it did.
func (h *Web) linkDead(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrTokenInvalid):
		h.form(w, r, http.StatusBadRequest, "notice", "identity.link.confirm_title", &FormData{Alert: "identity.error.link_link"})
	case errors.Is(err, ErrLinkOtherCard):
		h.form(w, r, http.StatusForbidden, "notice", "identity.link.confirm_title", &FormData{Alert: "identity.error.link_other_card"})
	case errors.Is(err, ErrCannotLink):
		h.form(w, r, http.StatusConflict, "notice", "identity.link.confirm_title", &FormData{Alert: "identity.error.link_refused"})
	default:
		h.App.Fail(w, r, err)
	}
	return true
}

// changeEmail sends the link that moves the account to a new address.
func (h *Web) changeEmail(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	a, se := Current(r.Context())
	f := r.PostForm
	email, err := h.Svc.RequestEmailChange(r.Context(), a, se, f.Get("new_email"), f.Get("email_password"), h.BaseURL, web.RemoteAddr(r))
	switch {
	case err == nil:
		h.renderProfile(w, r, http.StatusOK, &FormData{Message: "identity.email.sent", Email: email})
	case h.profileFailed(w, r, err, &FormData{Values: map[string]string{"new_email": f.Get("new_email")}}):
	default:
		h.App.Fail(w, r, err)
	}
}

// emailConfirmForm is where the link to a new address leads: what it will
// do, and the button that does it (a GET changes nothing, so a mail
// scanner that opens links moves no one). A dead link says so at once.
func (h *Web) emailConfirmForm(w http.ResponseWriter, r *http.Request) {
	h.linkForm(w, r, h.Svc.PeekEmailChange, "email_confirm", "identity.email.title", "identity.error.email_link", deadEmail)
}

func (h *Web) emailConfirm(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	email, err := h.Svc.ConfirmEmailChange(r.Context(), r.PostForm.Get("token"), web.RemoteAddr(r))
	switch {
	case err == nil:
		h.form(w, r, http.StatusOK, "notice", "identity.email.title", &FormData{Message: "identity.email.changed", Email: email})
	case errors.Is(err, ErrTokenInvalid):
		h.deadLink(w, r, "identity.email.title", "identity.error.email_link", deadEmail)
	case errors.Is(err, ErrEmailTaken):
		h.form(w, r, http.StatusConflict, "notice", "identity.email.title", &FormData{Alert: "identity.error.email_taken"})
	default:
		h.App.Fail(w, r, err)
	}
}

func (h *Web) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	a, _ := Current(r.Context())
	if err := h.Svc.LogoutEverywhere(r.Context(), a.ID, web.RemoteAddr(r)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.clearCookie(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Web) endSession(w http.ResponseWriter, r *http.Request) {
	a, _ := Current(r.Context())
	if err := h.Svc.Sessions.EndOne(r.Context(), a.ID, r.PathValue("hash")); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/profilo#sessioni", http.StatusSeeOther)
}

// RetryAfter answers a refused budget in err (RetryWait): it sets the
// Retry-After header and returns the wait to tell the person, rounded to
// the second; ok is false for any other error, and nothing is set. The
// external providers' pages (SPID, CIE, proxy) then show it in their own
// notice.
func RetryAfter(w http.ResponseWriter, err error) (wait string, ok bool) {
	d, ok := RetryWait(err)
	if !ok {
		return "", false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
	return d.Round(time.Second).String(), true
}

// export is the download of the person's data. Like /profilo and
// /api/v1/me, it holds proven attributes (the fiscal code, sex and birth
// date, the population register's record, the cards that logged in) only
// for a session whose login proved them; otherwise it says they are
// withheld and how to get them.
func (h *Web) export(w http.ResponseWriter, r *http.Request) {
	a, se := Current(r.Context())
	sessions, err := h.Svc.Sessions.List(r.Context(), a.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	a, withheld := a.SeenBy(se)
	out := exportOf(a, sessions)
	if withheld {
		out["withheld"] = map[string]any{"attributes": []string{"fiscal_code", "eidas_id", "sex_and_birth_date", "population_register", "cards"},
			"why": h.App.I18n.T(h.App.I18n.Lang(r), "identity.export.withheld")}
	}
	for _, e := range h.exporters {
		v, err := e.fn(r.Context(), a)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		out[e.name] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="i-miei-dati.json"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_ = writeJSON(w, out)
}

func (h *Web) closeAccount(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	a, _ := Current(r.Context())
	if r.PostForm.Get("confirm") != "1" {
		h.renderProfile(w, r, http.StatusUnprocessableEntity, &FormData{Errors: FieldErrors{"confirm": "identity.error.confirm_close"}, Alert: "identity.error.form"})
		return
	}
	if err := h.Svc.CloseAccount(r.Context(), a, web.RemoteAddr(r)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.clearCookie(w, r)
	h.form(w, r, http.StatusOK, "notice", "identity.close.title", &FormData{Message: "identity.close.done"})
}

// Me is the JSON description of the logged-in person. FiscalCode is
// there only when this session's login proved it; Sources says what proved
// each attribute.
type Me struct {
	ID         string `json:"id"`
	FiscalCode string `json:"fiscal_code,omitempty"`
	// EIDASID is the eIDAS person identifier the eIDAS node proved (its
	// source in Sources["eidas_id"]).
	EIDASID    string            `json:"eidas_id,omitempty"`
	GivenName  string            `json:"given_name"`
	FamilyName string            `json:"family_name"`
	Email      string            `json:"email,omitempty"`
	Assurance  string            `json:"assurance"`
	Method     string            `json:"method"`
	Roles      []string          `json:"roles"`
	Sources    map[string]Source `json:"sources"`
}

func (h *Web) me(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	a, se := Current(r.Context())
	if a == nil {
		w.WriteHeader(http.StatusUnauthorized)
		_ = writeJSON(w, map[string]string{"error": "not_logged_in", "message": h.App.I18n.T(h.App.I18n.Lang(r), "identity.api.unauthorized")})
		return
	}
	roles := a.Roles
	if roles == nil {
		roles = []string{}
	}
	cf, _ := a.ProvenFiscalCode(se)
	seen, _ := a.SeenBy(se)
	_ = writeJSON(w, Me{ID: a.ID, FiscalCode: cf, EIDASID: seen.EIDASID, GivenName: a.GivenName, FamilyName: a.FamilyName, Email: a.Email,
		Assurance: string(se.Assurance), Method: se.Method, Roles: roles, Sources: a.sources()})
}

func writeJSON(w http.ResponseWriter, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exportOf is everything civico holds about the resident, for download,
// with what proved each attribute.
func exportOf(a *Account, sessions []Session) map[string]any {
	type sessionOut struct {
		Started   time.Time `json:"started"`
		LastSeen  time.Time `json:"last_seen"`
		Assurance string    `json:"assurance"`
		Method    string    `json:"method"`
		Device    string    `json:"device"`
	}
	out := make([]sessionOut, len(sessions))
	for i, s := range sessions {
		out[i] = sessionOut{s.CreatedAt, s.LastSeenAt, string(s.Assurance), s.Method, s.UserAgent}
	}
	return map[string]any{
		"account": map[string]any{
			"id": a.ID, "kind": a.Kind, "email": a.Email, "email_verified_at": a.EmailVerifiedAt, "fiscal_code": a.FiscalCode,
			"eidas_id":   a.EIDASID,
			"given_name": a.GivenName, "family_name": a.FamilyName, "sex": a.Sex, "birth_date": a.BirthDate, "birth_place": a.BirthPlace,
			"phone": a.Phone, "address": a.Address, "language": a.Lang, "created_at": a.CreatedAt, "updated_at": a.UpdatedAt,
			"roles": a.Roles, "has_password": a.PasswordHash != "", "has_authenticator": a.TOTPSecret != "",
			"sources": a.sources(),
		},
		"sessions": out,
	}
}
