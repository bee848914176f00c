package web

import (
	"html/template"
	"time"

	"github.com/civico-pa/civico/internal/cache"
)

// ContentCache keeps the rendered main content of pages that is the same
// for every visitor (a service page, an office page, the finder's answer to
// a question) for a short while. The page cache keeps whole pages, but only
// for anonymous visitors, since the header greets a logged-in one by name;
// with this cache a logged-in visitor's page re-renders only the header
// around the shared content.
//
// Key: the page's template, the language and the key the page declares
// (SharedContent), which names everything else the content reads (the
// catalogue's version, the minute). Purge rule: the TTL
// (CIVICO_PAGE_CACHE_TTL), and App.PurgeCaches after an edit through this
// process.
type ContentCache = cache.Cache[string, template.HTML]

// NewContentCache returns a cache of at most max contents kept ttl each; a
// zero ttl or max returns nil, which keeps nothing.
func NewContentCache(ttl time.Duration, max int) *ContentCache {
	return cache.New[string, template.HTML](ttl, max)
}

// PurgeCaches forgets the pages and contents this process keeps, after an
// edit, so the editor and everyone else see the change at once (other
// processes within their TTL).
func (a *App) PurgeCaches() {
	a.Cache.Purge()
	a.Content.Purge()
	a.Answers.Purge()
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
	if h, ok := a.Content.Get(k); ok {
		p.content, p.hasContent = h, true
		return true
	}
	p.contentKey, p.contentCache, p.contentStamp = k, a.Content, a.Content.Stamp()
	return false
}

// KeepContentPrivate undoes SharedContent for this rendering: what the
// handler read went wrong in part (a source failed), and the page it
// shows is not to be kept for others.
func (p *Page) KeepContentPrivate() { p.contentCache = nil }

// HasCachedContent and CachedContent let the layout use a shared content.
func (p *Page) HasCachedContent() bool { return p.hasContent }

// CachedContent is the shared content, rendered earlier.
func (p *Page) CachedContent() template.HTML { return p.content }
