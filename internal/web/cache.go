package web

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cache"
)

// PageCache keeps the public pages anonymous visitors ask for, as sent, for a
// few seconds. When the whole town opens the same page at once (the morning
// school enrolment opens, a payment deadline) the page is rendered a few
// times per TTL instead of once per visitor.
//
// Only GET and HEAD answers with status 200 and an HTML body are kept, and
// only for requests that carry no cookie but the language choice: anything
// personal (a session) bypasses the cache. A handler opts out of it by
// setting Cache-Control to private or no-store.
//
// Key: language, compression and URL. Purge rule: the TTL
// (CIVICO_PAGE_CACHE_TTL), and App.PurgeCaches after an edit through this
// process.
type PageCache = cache.Cache[string, *cachedPage]

type cachedPage struct {
	header http.Header
	body   []byte
	// route is the page's route pattern, for the access log and metrics.
	route string
}

// maxCachedBody bounds what one cached page may weigh.
const maxCachedBody = 1 << 20

// NewPageCache returns a cache holding at most max pages for ttl each; a
// zero ttl or max returns nil, which caches nothing.
func NewPageCache(ttl time.Duration, max int) *PageCache {
	return cache.New[string, *cachedPage](ttl, max)
}

func cacheable(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	for _, ck := range r.Cookies() {
		if ck.Name != LangCookie {
			return false
		}
	}
	return !strings.HasPrefix(r.URL.Path, "/static/")
}

func pageCache(c *PageCache, lang func(*http.Request) string, next http.Handler) http.Handler {
	if c == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cacheable(r) {
			next.ServeHTTP(w, r)
			return
		}
		gz := "-"
		if acceptsGzip(r) {
			gz = "gzip"
		}
		key := lang(r) + " " + gz + " " + r.URL.RequestURI()
		if e, ok := c.Get(key); ok {
			if p, ok := r.Context().Value(routeKey).(*string); ok {
				*p = e.route
			}
			h := w.Header()
			for k, v := range e.header {
				h[k] = v
			}
			h.Set("Content-Length", strconv.Itoa(len(e.body)))
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				_, _ = w.Write(e.body)
			}
			return
		}
		stamp := c.Stamp()
		rec := &teeWriter{ResponseWriter: w}
		fresh := new(time.Duration)
		inner := r.WithContext(context.WithValue(r.Context(), freshKey{}, fresh))
		next.ServeHTTP(rec, inner)
		// The mux names the route on the request it was given: the access
		// log and the metrics read it on this one.
		r.Pattern = inner.Pattern
		if rec.status != http.StatusOK || rec.overflow || r.Method == http.MethodHead {
			return
		}
		h := w.Header()
		cc := h.Get("Cache-Control")
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || strings.Contains(cc, "private") || strings.Contains(cc, "no-store") ||
			h.Get("Set-Cookie") != "" {
			return
		}
		stored := http.Header{}
		for _, k := range []string{"Content-Type", "Content-Language", "Content-Encoding", "Vary", "Cache-Control"} {
			if v, ok := h[k]; ok {
				stored[k] = v
			}
		}
		c.PutFor(stamp, key, &cachedPage{header: stored, body: bytes.Clone(rec.buf.Bytes()), route: routeOf(inner)}, *fresh)
	})
}

// routeOf is the route pattern App.route found for r (see routeKey), or the
// one the mux set on r.
func routeOf(r *http.Request) string {
	if p, ok := r.Context().Value(routeKey).(*string); ok && *p != "" {
		return *p
	}
	return r.Pattern
}

type freshKey struct{}

// FreshFor tells the page cache not to keep this request's page longer
// than d, whatever its TTL: a page that says what is open now is right for
// a few seconds only. Outside the page cache it does nothing.
func FreshFor(r *http.Request, d time.Duration) {
	if p, ok := r.Context().Value(freshKey{}).(*time.Duration); ok && d > 0 && (*p == 0 || d < *p) {
		*p = d
	}
}

// teeWriter passes a response through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	overflow bool
}

func (t *teeWriter) WriteHeader(code int) {
	if t.status == 0 {
		t.status = code
		t.skipUnlessHTML()
	}
	t.ResponseWriter.WriteHeader(code)
}

// skipUnlessHTML stops copying a body that will not be cached anyway (a
// download, an image, JSON), so large responses cost no extra memory.
func (t *teeWriter) skipUnlessHTML() {
	if ct := t.Header().Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/html") {
		t.overflow = true
	}
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
		t.skipUnlessHTML()
	}
	if !t.overflow {
		if t.buf.Len()+len(b) > maxCachedBody {
			t.overflow = true
			t.buf.Reset()
		} else {
			t.buf.Write(b)
		}
	}
	return t.ResponseWriter.Write(b)
}

func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
