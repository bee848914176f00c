// Package web is the shell every civico application is served through: the
// middleware chain, the Designers Italia layout, translations, static files,
// error pages and the operational endpoints.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/town"
)

// Pinger is what /readyz asks: is the database reachable?
type Pinger interface {
	Ping(ctx context.Context) error
}

// App is one web application (the portal, Partecipa): its route table, its
// templates and the shared services pages need.
type App struct {
	Chrome    Chrome
	Mux       *http.ServeMux
	Render    *Renderer
	I18n      *I18n
	Static    *Static
	Town      *town.Store
	DB        Pinger
	Metrics   *Metrics
	Log       *slog.Logger
	AccessLog bool
	// DebugQueries tells each answer's database statements and their time
	// in QueriesHeader and QueryTimeHeader (CIVICO_DEBUG_QUERIES): for
	// measuring, off in production, where a count could tell apart what a
	// page's text does not (an account that exists). The metrics always
	// count them.
	DebugQueries bool
	// Timeouts are the listener's (see LargeBody).
	Timeouts Timeouts
	// Cache keeps public pages for anonymous visitors; nil caches nothing.
	// Purged by its TTL and PurgeCaches (PageCache).
	Cache *PageCache
	// Content keeps the main content that pages declare shared by every
	// visitor (SharedContent), for logged-in visitors; nil keeps nothing.
	// Purged by its TTL and PurgeCaches (ContentCache).
	Content *ContentCache
	// Answers keeps whole answers that are the same for every client, logged
	// in or not (SharedAnswer: the public API's documents); nil keeps
	// nothing. Purged by its TTL and PurgeCaches (AnswerCache).
	Answers *AnswerCache
	// Fragments keeps the parts of the layout that depend only on
	// language, town, application and path (Page.Fragment); nil keeps
	// nothing. Never stale: the key holds all a fragment reads.
	Fragments *FragmentCache
	// FormOrigins are other origins the application's forms lead to
	// (Partecipa's logout continues at the portal's provider).
	FormOrigins []string
	// CrossOriginAllowed are route patterns other origins may POST to:
	// protocol endpoints that authenticate their callers themselves (the
	// OpenID Connect token endpoint, RP-initiated logout by POST).
	CrossOriginAllowed []string
	// Middleware wraps the routes, innermost last (the session loader).
	Middleware []func(http.Handler) http.Handler
	// Viewer tells who is logged in, from the request's context.
	Viewer func(*http.Request) *Viewer
	// PublicHTTPS says the application's public address is https even when
	// a request arrives without TLS (a reverse proxy terminates it): HSTS and
	// Secure cookies are then always on.
	PublicHTTPS bool
	// Guard checks the level of assurance and roles of guarded routes
	// (identity's Require), set before features register them.
	Guard Guard
	// book keeps who registered each route, for the route map.
	book routeBook
	// Proxies are the reverse proxies whose X-Forwarded-For is believed
	// (CIVICO_TRUSTED_PROXIES): RemoteAddr is then the client's address.
	Proxies Proxies
	// Maps is the tile server of the pages' maps (CIVICO_MAP_TILES_URL);
	// nil draws none, and the Content Security Policy admits no image
	// from another origin.
	Maps *MapTiles
	// RatingToken gives the token the clarity rating's form carries on the
	// page at path, binding the rating to that page (feedback.Tokens.Sign);
	// nil gives none, and the form's answers are then refused.
	RatingToken func(path string) string
}

// Routes registers the endpoints every application has: static files,
// health, readiness, the language switch. Metrics have a listener of their
// own (Metrics.Endpoint).
func (a *App) Routes() {
	m := a.For("web")
	m.Handle("GET /static/{version}/{path...}", a.Static)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	m.HandleFunc("GET /readyz", a.readyz)
	m.HandleFunc("GET /lingua/{lang}", a.switchLanguage)
	// Browsers ask for /favicon.ico on their own: point them at the icon.
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, a.Static.Prefix+"/favicon.svg", http.StatusMovedPermanently)
	})
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.DB.Ping(ctx); err != nil {
		a.Log.Warn("readiness: database unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unreachable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// switchLanguage remembers the visitor's language and returns them to the
// page they were reading.
func (a *App) switchLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if !Supported(lang) {
		a.Error(w, r, http.StatusNotFound)
		return
	}
	// #nosec G124 -- holds only the chosen language, no secret; HttpOnly, SameSite=Lax, Secure over TLS
	http.SetCookie(w, &http.Cookie{
		Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil || a.PublicHTTPS, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, SafeNext(r.URL.Query().Get("next")), http.StatusSeeOther) // #nosec G710 -- SafeNext admits only a path on this site (FuzzSafeNext)
}

// Handler is the application with its whole middleware chain, outermost
// first: request id, access log, metrics and panic recovery; security
// headers; the page cache; compression; cross-origin protection for unsafe
// methods; routing with translated error pages.
func (a *App) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, pattern := range a.CrossOriginAllowed {
		cop.AddInsecureBypassPattern(pattern)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Error(w, r, http.StatusForbidden)
	}))
	var h http.Handler = http.HandlerFunc(a.route)
	for i := len(a.Middleware) - 1; i >= 0; i-- {
		h = a.Middleware[i](h)
	}
	var imgOrigins []string
	if a.Maps != nil {
		imgOrigins = append(imgOrigins, a.Maps.Origin)
	}
	return a.observe(securityHeaders(a.PublicHTTPS, a.FormOrigins, imgOrigins, pageCache(a.Cache, a.I18n.Lang, compress(cop.Handler(h)))))
}

// route dispatches through the ServeMux; what the mux would answer with its
// plain-text 404 or 405 gets a page in the visitor's language instead.
func (a *App) route(w http.ResponseWriter, r *http.Request) {
	if !textURL(r.URL) {
		a.Error(w, r, http.StatusBadRequest)
		return
	}
	h, pattern := a.Mux.Handler(r)
	if p, ok := r.Context().Value(routeKey).(*string); ok {
		*p = pattern
	}
	if pattern != "" {
		a.Mux.ServeHTTP(w, r)
		return
	}
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	status := probe.status
	if status < 400 {
		// A redirect the mux makes itself (a cleaned path, a missing slash).
		if loc := probe.header.Get("Location"); loc != "" {
			http.Redirect(w, r, loc, status)
			return
		}
		status = http.StatusNotFound
	}
	a.Error(w, r, status)
}

// textURL tells whether the path and every name and value of the query
// are text (db.IsText), as every address of the portal is and as a browser
// writes them. Anything else can only come from a crafted request: it
// would reach a lookup by slug or a search, and PostgreSQL refuses it (a
// 500 instead of an answer). The query is read as r.URL.Query() reads it,
// which drops a pair with a malformed escape and keeps the others.
func textURL(u *url.URL) bool {
	if !db.IsText(u.Path) {
		return false
	}
	if strings.IndexByte(u.RawQuery, '%') < 0 {
		return db.IsText(u.RawQuery)
	}
	q, _ := url.ParseQuery(u.RawQuery)
	return TextValues(q)
}

// TextValues tells whether every name and value of a form or a query is
// text (db.IsText).
func TextValues(f url.Values) bool {
	for k, vs := range f {
		if !db.IsText(k) || slices.ContainsFunc(vs, func(v string) bool { return !db.IsText(v) }) {
			return false
		}
	}
	return true
}

// headerProbe captures what the mux would answer, discarding its body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.header }
func (p *headerProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *headerProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

// NewPage prepares the shell of a page: language, town, navigation state.
// title is a message id.
func (a *App) NewPage(r *http.Request, title string) *Page {
	lang := a.I18n.Lang(r)
	p := &Page{
		Lang:   lang,
		Path:   r.URL.Path,
		Chrome: &a.Chrome,
		Static: a.Static.Prefix,
		i18n:   a.I18n,

		fragments:   a.Fragments,
		ratingToken: a.RatingToken,
		Maps:        a.Maps,
		Staff:       IsStaff(r.Context()),
	}
	if t, err := a.Town.Get(r.Context()); err == nil {
		p.Town = t
	} else {
		a.Log.Error("town profile", "err", err, "request_id", RequestID(r.Context()))
	}
	if title != "" {
		p.Title = p.T(title)
	}
	if a.Viewer != nil {
		p.Viewer = a.Viewer(r)
	}
	switch r.URL.Query().Get("valutazione") {
	case "grazie":
		p.Feedback = "thanks"
	case "errore":
		p.Feedback = "invalid"
	case "ripetuta":
		p.Feedback = "again"
	case "troppe":
		p.Feedback = "busy"
	}
	return p
}

// HTML renders a page template; a failure is logged and becomes a 500 page.
func (a *App) HTML(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	if err := a.Render.Render(w, status, name, p); err != nil {
		a.Log.Error("render", "err", err, "request_id", RequestID(r.Context()))
		a.renderPlain500(w)
	}
}

// errorTitles are the message ids of the error pages by status.
var errorTitles = map[int]string{
	http.StatusBadRequest:            "error.400.title",
	http.StatusForbidden:             "error.403.title",
	http.StatusNotFound:              "error.404.title",
	http.StatusMethodNotAllowed:      "error.405.title",
	http.StatusConflict:              "error.409.title",
	http.StatusUnprocessableEntity:   "error.422.title",
	http.StatusTooManyRequests:       "error.429.title",
	http.StatusRequestEntityTooLarge: "error.413.title",
	http.StatusInternalServerError:   "error.500.title",
	http.StatusServiceUnavailable:    "error.503.title",
}

// ErrorData is the content of an error page.
type ErrorData struct {
	Status  int
	Message string // message id
}

// Error renders the error page for status in the visitor's language.
func (a *App) Error(w http.ResponseWriter, r *http.Request, status int) {
	a.errorPage(w, r, status, "")
}

// errorPage renders the error page of status with a message id (the
// status's own when empty).
func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	title, ok := errorTitles[status]
	if !ok {
		title, status, message = errorTitles[http.StatusInternalServerError], http.StatusInternalServerError, ""
	}
	if message == "" {
		message = "error." + itoa3(status) + ".message"
	}
	p := a.NewPage(r, title)
	p.Data = ErrorData{Status: status, Message: message}
	w.Header().Set("Cache-Control", "no-store")
	a.HTML(w, r, status, "error", p)
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)}) // #nosec G115 -- n is an HTTP status (100-599): each term is one digit
}

func (a *App) renderPlain500(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("Errore interno del server. Internal server error.\n"))
}

// ParseForm reads a posted form of at most limit bytes into r.PostForm. A
// body too large gets the 413 page, a malformed one (or one with a name or
// value that is not text: bytes that are not UTF-8, a NUL, which no
// browser sends from a page) the 400 page, and the caller false.
func (a *App) ParseForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.Error(w, r, http.StatusRequestEntityTooLarge)
		} else {
			a.Error(w, r, http.StatusBadRequest)
		}
		return false
	}
	if !TextValues(r.PostForm) {
		a.Error(w, r, http.StatusBadRequest)
		return false
	}
	return true
}

// LargeBody gives the request Timeouts.Upload to send its body instead of
// the listener's short Timeouts.Read, and its answer as long again as
// Timeouts.Write, since that clock started with the request too. Call it
// only after the caller is known to be allowed (an operator's role checked),
// so that an anonymous client cannot hold a connection for that long.
func (a *App) LargeBody(w http.ResponseWriter, r *http.Request) {
	t := a.Timeouts.orDefault()
	now := time.Now()
	rc := http.NewResponseController(w)
	err := errors.Join(rc.SetReadDeadline(now.Add(t.Upload)), rc.SetWriteDeadline(now.Add(t.Upload+t.Write)))
	if err != nil {
		// A ResponseWriter wrapper without Unwrap: the body keeps the short
		// deadline, and the upload fails where a test can see it.
		a.Log.Error("cannot extend the deadline for a large body", "err", err, "request_id", RequestID(r.Context()))
	}
}

// Redirect sends a 303 to a local path.
func Redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	http.Redirect(w, r, path, http.StatusSeeOther) // #nosec G710 -- callers pass a fixed local path (/accedi, /profilo, /backoffice/...) plus ids
}
