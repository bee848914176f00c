package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	// routeKey holds a *string, the route pattern App.route found for the
	// request: the request observe sees is not the one the mux gives the
	// pattern to when a middleware (the session loader) made a copy.
	routeKey
)

// RequestID returns the id given to the request by the middleware.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// statusWriter remembers what a handler wrote, for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	// queries, when set, are told in QueriesHeader as the header is sent.
	queries *db.QueryCount
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.tellQueries()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.tellQueries()
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// QueriesHeader and QueryTimeHeader tell the database statements a request
// sent before its answer began, and the microseconds spent on them
// (db.QueryCount), when App.DebugQueries is on (CIVICO_DEBUG_QUERIES).
const (
	QueriesHeader   = "X-Civico-Queries"
	QueryTimeHeader = "X-Civico-Query-Time"
)

func (w *statusWriter) tellQueries() {
	if w.queries == nil {
		return
	}
	h := w.ResponseWriter.Header()
	h.Set(QueriesHeader, strconv.Itoa(w.queries.Queries()))
	h.Set(QueryTimeHeader, strconv.FormatInt(w.queries.Elapsed().Microseconds(), 10))
}

// contentSecurityPolicy allows only the site's own files; Bootstrap Italia's
// stylesheet embeds small images and an icon font as data: URIs.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; font-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// AllowFormAction lets the forms of this response lead, through redirects,
// to other origins as well: browsers apply form-action to every redirect
// after a submission (single sign-on's logout and consent end at another
// application).
func AllowFormAction(w http.ResponseWriter, origins ...string) {
	w.Header().Set("Content-Security-Policy", withFormAction(w.Header().Get("Content-Security-Policy"), origins...))
}

// withFormAction adds origins (or schemes, "it.comune.app:") to the
// policy's form-action; anything that could break out of the directive is
// left out.
func withFormAction(csp string, origins ...string) string {
	for _, o := range origins {
		if o == "" || strings.ContainsAny(o, " ;,'\"\r\n") {
			continue
		}
		csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+o, 1)
	}
	return csp
}

// withImgSrc adds origins to the policy's img-src (a map's tile server);
// anything that could break out of the directive is left out.
func withImgSrc(csp string, origins ...string) string {
	for _, o := range origins {
		if o == "" || strings.ContainsAny(o, " ;,'\"\r\n") {
			continue
		}
		csp = strings.Replace(csp, "img-src 'self' data:", "img-src 'self' data: "+o, 1)
	}
	return csp
}

// securityHeaders sets the headers every response carries; httpsBehindProxy
// says the public address is https while TLS ends at a reverse proxy;
// formOrigins are other origins the application's forms lead to,
// imgOrigins others its images come from.
func securityHeaders(httpsBehindProxy bool, formOrigins, imgOrigins []string, next http.Handler) http.Handler {
	csp := withImgSrc(withFormAction(contentSecurityPolicy, formOrigins...), imgOrigins...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if r.TLS != nil || httpsBehindProxy {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// gzipWriter compresses a response when its type is worth compressing and
// the handler did not encode it already. An answer the handler gave a
// Content-Length (a page rendered whole, Renderer.Render) is compressed
// into a buffer and sent at close with the compressed length: net/http
// then writes the header and the body together, not a header, chunks and
// a last chunk each in a write of its own. One the handler flushes, or
// whose compressed body passes maxHeld, streams from there on.
type gzipWriter struct {
	http.ResponseWriter
	zw      *gzip.Writer
	decided bool
	pool    *sync.Pool
	// held is the compressed answer while its header waits for its
	// length (code, 0 for 200); nil when it streams.
	held *bytes.Buffer
	code int
	bufs *sync.Pool
}

func (g *gzipWriter) decide() {
	if g.decided {
		return
	}
	g.decided = true
	h := g.ResponseWriter.Header()
	if h.Get("Content-Encoding") != "" || !compressible(h.Get("Content-Type")) {
		return
	}
	whole := h.Get("Content-Length") != ""
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	h.Add("Vary", "Accept-Encoding")
	g.zw = g.pool.Get().(*gzip.Writer)
	if whole {
		g.held = g.bufs.Get().(*bytes.Buffer)
		g.held.Reset()
	}
	g.zw.Reset(gzipOut{g})
}

// maxHeld bounds the compressed answer held for its length: past it (a
// large download) the rest streams.
const maxHeld = 1 << 20

// gzipOut is where the compressor writes: the held buffer while the
// header waits for the length, the response once it streams.
type gzipOut struct{ g *gzipWriter }

func (o gzipOut) Write(b []byte) (int, error) {
	g := o.g
	if g.held != nil && g.held.Len()+len(b) <= maxHeld {
		return g.held.Write(b)
	}
	if g.held != nil {
		g.send("")
	}
	return g.ResponseWriter.Write(b)
}

func (g *gzipWriter) WriteHeader(code int) {
	if code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified {
		g.decide()
	} else {
		g.decided = true
	}
	if g.held != nil {
		if g.code == 0 {
			g.code = code
		}
		return
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		if g.ResponseWriter.Header().Get("Content-Type") == "" {
			g.ResponseWriter.Header().Set("Content-Type", http.DetectContentType(b))
		}
		g.decide()
	}
	if g.zw != nil {
		return g.zw.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

func (g *gzipWriter) Flush() {
	if g.zw != nil {
		_ = g.zw.Flush()
	}
	if g.held != nil {
		// The handler wants what it wrote sent now: the rest streams.
		g.send("")
	}
	_ = http.NewResponseController(g.ResponseWriter).Flush()
}

// send writes the held header, with length when not empty, and the held
// body, and stops holding.
func (g *gzipWriter) send(length string) {
	if length != "" {
		g.ResponseWriter.Header().Set("Content-Length", length)
	}
	if g.code == 0 {
		g.code = http.StatusOK
	}
	g.ResponseWriter.WriteHeader(g.code)
	_, _ = g.ResponseWriter.Write(g.held.Bytes())
	g.bufs.Put(g.held)
	g.held = nil
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *gzipWriter) close() {
	if g.zw != nil {
		_ = g.zw.Close()
		if g.held != nil {
			g.send(strconv.Itoa(g.held.Len()))
		}
		g.zw.Reset(io.Discard)
		g.pool.Put(g.zw)
		g.zw = nil
	}
}

func compress(next http.Handler) http.Handler {
	pool := &sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
		return zw
	}}
	bufs := &sync.Pool{New: func() any { return new(bytes.Buffer) }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || !acceptsGzip(r) {
			next.ServeHTTP(w, r)
			return
		}
		g := &gzipWriter{ResponseWriter: w, pool: pool, bufs: bufs}
		defer g.close()
		next.ServeHTTP(g, r)
	})
}

// observe gives the request an id, recovers from panics with a 500 page,
// and records the access log line and the metrics, labelled by route pattern.
func (a *App) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		var pattern string
		ctx, queries := db.CountQueries(context.WithValue(context.WithValue(r.Context(), requestIDKey, id), routeKey, &pattern))
		r = withClient(r.WithContext(ctx), a.Proxies.ClientAddr(r))
		sw := &statusWriter{ResponseWriter: w}
		if a.DebugQueries {
			sw.queries = queries
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.Log.Error("panic", "request_id", id, "path", loggedPath(r, pattern), "panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					a.Error(sw, r, http.StatusInternalServerError)
				}
			}
			route := pattern
			if route == "" {
				route = "unmatched"
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			elapsed := time.Since(start)
			a.Metrics.observe(a.Chrome.App, route, r.Method, sw.status, elapsed, queries)
			if a.AccessLog {
				a.Log.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("request_id", id),
					slog.String("method", r.Method),
					slog.String("path", loggedPath(r, pattern)),
					slog.String("route", route),
					slog.Int("status", sw.status),
					slog.Int64("bytes", sw.bytes),
					slog.Duration("duration", elapsed),
					slog.Int("queries", queries.Queries()),
				)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// loggedPath is the request's path as the logs keep it: a route whose
// path carries a secret (a wildcard named {token}: a queue ticket, a
// mailed booking link, a calendar feed's address) is logged as its
// pattern, since whoever reads the log could otherwise use the secret.
func loggedPath(r *http.Request, pattern string) string {
	if !strings.Contains(pattern, "{token}") && !strings.Contains(pattern, "{token...}") {
		return r.URL.Path
	}
	if _, p, ok := strings.Cut(pattern, " "); ok {
		return p
	}
	return pattern
}

// cleanMethod keeps metric labels bounded whatever methods clients invent.
func cleanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}
