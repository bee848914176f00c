package web

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"time"
)

// PageCache keeps the public pages anonymous visitors ask for, as sent, for a
// few seconds. When the whole town opens the same page at once (the morning
// school enrolment opens, a payment deadline) the page is rendered a few
// times per TTL instead of once per visitor. Each process has its own; a
// change published through another process shows here within the TTL.
//
// Only GET and HEAD answers with status 200 and an HTML body are kept, and
// only for requests that carry no cookie but the language choice: anything
// personal (a session) bypasses the cache. A handler opts out of it by
// setting Cache-Control to private or no-store.
type PageCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]*cachedPage
}

type cachedPage struct {
	header  http.Header
	body    []byte
	expires time.Time
}

// maxCachedBody bounds what one cached page may weigh.
const maxCachedBody = 1 << 20

// NewPageCache returns a cache holding at most max pages for ttl each; a
// zero ttl returns nil, which caches nothing.
func NewPageCache(ttl time.Duration, max int) *PageCache {
	if ttl <= 0 {
		return nil
	}
	return &PageCache{ttl: ttl, max: max, entries: map[string]*cachedPage{}}
}

// Purge forgets every page, for a process that has just changed content.
func (c *PageCache) Purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
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

func (c *PageCache) middleware(lang func(*http.Request) string, next http.Handler) http.Handler {
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
		now := time.Now()
		c.mu.Lock()
		e, ok := c.entries[key]
		c.mu.Unlock()
		if ok && now.Before(e.expires) {
			h := w.Header()
			for k, v := range e.header {
				h[k] = v
			}
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				_, _ = w.Write(e.body)
			}
			return
		}
		rec := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
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
		c.mu.Lock()
		if len(c.entries) >= c.max {
			for k, old := range c.entries {
				if now.After(old.expires) {
					delete(c.entries, k)
				}
			}
			if len(c.entries) >= c.max {
				clear(c.entries)
			}
		}
		c.entries[key] = &cachedPage{header: stored, body: bytes.Clone(rec.buf.Bytes()), expires: now.Add(c.ttl)}
		c.mu.Unlock()
	})
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
