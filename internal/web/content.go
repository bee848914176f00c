package web

import (
	"html/template"
	"sync"
	"time"
)

// ContentCache keeps the rendered main content of pages that is the same
// for every visitor (a service page, an office page) for a short while. The
// page cache keeps whole pages, but only for anonymous visitors, since the
// header greets a logged-in one by name; with this cache a logged-in
// visitor's page re-renders only the header around the shared content.
type ContentCache struct {
	ttl     time.Duration
	max     int
	mu      sync.Mutex
	entries map[string]contentEntry
}

type contentEntry struct {
	html    template.HTML
	expires time.Time
}

// NewContentCache returns a cache of at most max contents kept ttl each; a
// zero ttl returns nil, which keeps nothing.
func NewContentCache(ttl time.Duration, max int) *ContentCache {
	if ttl <= 0 {
		return nil
	}
	return &ContentCache{ttl: ttl, max: max, entries: map[string]contentEntry{}}
}

func (c *ContentCache) get(key string, now time.Time) (template.HTML, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		return "", false
	}
	return e.html, true
}

func (c *ContentCache) put(key string, html template.HTML, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[key] = contentEntry{html: html, expires: now.Add(c.ttl)}
}

// Purge forgets every content (after an edit).
func (c *ContentCache) Purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// PurgeCaches forgets the pages and contents this process keeps, after an
// edit, so the editor and everyone else see the change at once (other
// processes within their TTL).
func (a *App) PurgeCaches() {
	a.Cache.Purge()
	a.Content.Purge()
}

// SharedContent declares that the page's main content (its "content"
// template) depends only on key, the page's template name and the language,
// not on who is asking. It reports whether that content is at hand: then
// the handler may skip the work only the content needs (its Data still
// serves the page's head). Otherwise Render keeps what it renders.
func (a *App) SharedContent(p *Page, name, key string) bool {
	if a.Content == nil {
		return false
	}
	k := name + "\x00" + p.Lang + "\x00" + key
	if h, ok := a.Content.get(k, time.Now()); ok {
		p.content, p.hasContent = h, true
		return true
	}
	p.contentKey, p.contentCache = k, a.Content
	return false
}

// HasCachedContent and CachedContent let the layout use a shared content.
func (p *Page) HasCachedContent() bool { return p.hasContent }

// CachedContent is the shared content, rendered earlier.
func (p *Page) CachedContent() template.HTML { return p.content }
