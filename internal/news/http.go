package news

import (
	"bytes"
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the news pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// EditorRoles may write and publish news.
var EditorRoles = []string{"urp", "admin"}

// IndexLatest is how many items the Novità page shows.
const IndexLatest = 6

// Web serves the Novità section, its feeds and subscriptions, and the news
// back office. ID guards the back office.
type Web struct {
	App  *web.App
	News *Service
}

// Routes is the map of the news pages. It takes over the whole Novità
// section: GET /novita and its categories must not be registered by
// another feature.
func (h *Web) Routes() {
	m := h.App.For("news")
	m.HandleFunc("GET /novita", h.index)
	m.HandleFunc("GET /novita/feed.atom", h.feed)
	m.HandleFunc("GET /novita/iscriviti", h.subscribeForm)
	m.HandleFunc("POST /novita/iscriviti", h.subscribe)
	m.HandleFunc("GET /novita/conferma", h.confirmForm)
	m.HandleFunc("POST /novita/conferma", h.confirm)
	m.HandleFunc("GET /novita/disiscriviti", h.unsubscribeForm)
	m.HandleFunc("POST /novita/disiscriviti", h.unsubscribe)
	m.HandleFunc("GET /novita/{category}", h.category)
	m.HandleFunc("GET /novita/{category}/feed.atom", h.feed)
	m.HandleFunc("GET /novita/{category}/{slug}", h.item)

	editor := m.Guarded(assurance.Low, EditorRoles...)
	editor.HandleFunc("GET /backoffice/notizie", h.adminList)
	editor.HandleFunc("GET /backoffice/notizie/nuova", h.adminNew)
	editor.HandleFunc("POST /backoffice/notizie/nuova", h.adminSave)
	editor.HandleFunc("GET /backoffice/notizie/{id}", h.adminEdit)
	editor.HandleFunc("POST /backoffice/notizie/{id}", h.adminSave)
}

// CategoryLink is an entry of the list of the section's categories.
type CategoryLink struct {
	Href, Title string
}

var categoryLinks = func() []CategoryLink {
	out := make([]CategoryLink, len(taxonomy.NewsCategories))
	for i, t := range taxonomy.NewsCategories {
		out[i] = CategoryLink{Href: "/novita/" + t.Slug, Title: t.Title}
	}
	return out
}()

// Card is an item as lists show it, ready for the template.
type Card struct {
	Path, Title, Summary, Category, Date, DateTime string
}

func cards(items []Item) []Card {
	out := make([]Card, len(items))
	for i, it := range items {
		out[i] = Card{Path: it.Path(), Title: it.Title, Summary: it.Summary, Category: it.CategoryTitle(), Date: it.Date(), DateTime: it.DateTime()}
	}
	return out
}

// IndexData is the content of the Novità page.
type IndexData struct {
	Categories []CategoryLink
	Latest     []Card
}

func (h *Web) index(w http.ResponseWriter, r *http.Request) {
	latest, err := h.News.Latest(r.Context(), IndexLatest)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := h.App.NewPage(r, "menu.news")
	page.Description = page.T("news.intro")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = &IndexData{Categories: categoryLinks, Latest: cards(latest)}
	h.App.HTML(w, r, http.StatusOK, "news_index", page)
}

// ListData is the content of a category's page.
type ListData struct {
	Category    taxonomy.Term
	Items       []Card
	Page, Pages int
	Prev, Next  string
}

// pageNumber reads ?pagina=N; ok is false for anything but a positive number.
func pageNumber(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("pagina")
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= 100000
}

func pageCount(total, perPage int) int { return max(1, (total+perPage-1)/perPage) }

func (h *Web) category(w http.ResponseWriter, r *http.Request) {
	term, found := taxonomy.Find(taxonomy.NewsCategories, r.PathValue("category"))
	n, ok := pageNumber(r)
	if !found || !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	items, total, err := h.News.List(r.Context(), term.Slug, n, PerPage)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &ListData{Category: term, Items: cards(items), Page: n, Pages: pageCount(total, PerPage)}
	if n > d.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if n > 1 {
		d.Prev = pageHref("/novita/"+term.Slug, n-1)
	}
	if n < d.Pages {
		d.Next = pageHref("/novita/"+term.Slug, n+1)
	}
	page := h.App.NewPage(r, "")
	page.Title = term.Title
	page.Description = page.T("news.category.description", "Category", term.Title)
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.news"), Href: "/novita"}, {Label: term.Title}}
	page.Data = d
	h.App.HTML(w, r, http.StatusOK, "news_category", page)
}

// ItemData is the content of an item's page.
type ItemData struct {
	Item Item
}

func (h *Web) item(w http.ResponseWriter, r *http.Request) {
	it, err := h.News.Published(r.Context(), r.PathValue("slug"))
	if errors.Is(err, ErrNotFound) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if it.Category != r.PathValue("category") {
		// The item moved to another category: its address follows.
		http.Redirect(w, r, it.Path(), http.StatusMovedPermanently)
		return
	}
	page := h.App.NewPage(r, "")
	page.Title, page.Description = it.Title, it.Summary
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.news"), Href: "/novita"}, {Label: it.CategoryTitle(), Href: "/novita/" + it.Category}, {Label: it.Title}}
	page.Data = &ItemData{Item: *it}
	h.App.HTML(w, r, http.StatusOK, "news_item", page)
}

// baseURL is the portal's public address: the configured one, so that
// feed ids and links do not depend on how the request arrived.
func (h *Web) baseURL(r *http.Request) string {
	if h.News.BaseURL != "" {
		return h.News.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// feed serves the Atom feed of the whole section or of a category.
func (h *Web) feed(w http.ResponseWriter, r *http.Request) {
	cat := r.PathValue("category")
	page := h.App.NewPage(r, "menu.news")
	title := page.Town.FullName() + " — Novità"
	html := "/novita"
	if cat != "" {
		term, ok := taxonomy.Find(taxonomy.NewsCategories, cat)
		if !ok {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		title = page.Town.FullName() + " — " + term.Title
		html += "/" + cat
	}
	items, err := h.News.Feed(r.Context(), cat, FeedSize)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	base := h.baseURL(r)
	var b bytes.Buffer
	if err := writeAtom(&b, feedInfo{Title: title, Town: page.Town.FullName(), Self: base + html + "/feed.atom", HTML: base + html,
		BaseURL: base, Now: h.News.now()}, items); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(b.Bytes())
}

// TopicChoice is a topic in a form, checked or not.
type TopicChoice struct {
	taxonomy.Term
	Checked bool
}

func topicChoices(checked []string) []TopicChoice {
	out := make([]TopicChoice, len(taxonomy.Topics))
	for i, t := range taxonomy.Topics {
		out[i] = TopicChoice{Term: t}
		for _, c := range checked {
			if c == t.Slug {
				out[i].Checked = true
			}
		}
	}
	return out
}

// SubscribeData is the content of the subscription form.
type SubscribeData struct {
	Values    map[string]string
	Errors    FieldErrors
	ErrorList []FieldError
	Topics    []TopicChoice
}

func (h *Web) subscribePage(w http.ResponseWriter, r *http.Request, status int, d *SubscribeData) {
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	d.ErrorList = errorList(d.Errors, []string{"email", "topics"})
	page := h.App.NewPage(r, "news.subscribe.title")
	page.Description = page.T("news.subscribe.lead")
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.news"), Href: "/novita"}, {Label: page.Title}}
	page.Data = d
	if status != http.StatusOK {
		w.Header().Set("Cache-Control", "no-store")
	}
	h.App.HTML(w, r, status, "news_subscribe", page)
}

func (h *Web) subscribeForm(w http.ResponseWriter, r *http.Request) {
	h.subscribePage(w, r, http.StatusOK, &SubscribeData{Topics: topicChoices(nil)})
}

// parseForm reads a form of at most limit bytes; a body that is too big or
// malformed gets its error page and false.
func (h *Web) parseForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	return h.App.ParseForm(w, r, limit)
}

func (h *Web) subscribe(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r, 16<<10) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	topics := r.PostForm["topics"]
	err := h.News.Subscribe(r.Context(), email, topics, h.App.I18n.Lang(r), web.RemoteAddr(r))
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
		h.subscribePage(w, r, http.StatusUnprocessableEntity, &SubscribeData{Values: map[string]string{"email": email}, Errors: fe,
			Topics: topicChoices(topics)})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.notice(w, r, http.StatusOK, "news.subscribe.title", "news.subscribe.done", "")
	}
}

// NoticeData is the content of a page that only tells something.
type NoticeData struct {
	Message, Alert string // message ids
}

func (h *Web) notice(w http.ResponseWriter, r *http.Request, status int, title, message, alert string) {
	page := h.App.NewPage(r, title)
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.news"), Href: "/novita"}, {Label: page.Title}}
	page.Data = &NoticeData{Message: message, Alert: alert}
	w.Header().Set("Cache-Control", "no-store")
	h.App.HTML(w, r, status, "news_notice", page)
}

// TokenData is the content of the pages a mailed link opens: a button, so
// that a mail scanner opening the link changes nothing.
type TokenData struct {
	Token  string
	Topics []taxonomy.Term // confirmation: the topics it subscribes to, none for all
}

func (h *Web) tokenPage(w http.ResponseWriter, r *http.Request, name, title string, d *TokenData) {
	page := h.App.NewPage(r, title)
	page.Breadcrumb = []web.Crumb{{Label: page.T("menu.news"), Href: "/novita"}, {Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "no-store")
	h.App.HTML(w, r, http.StatusOK, name, page)
}

func (h *Web) confirmForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	topics, err := h.News.PendingTopics(r.Context(), token)
	if errors.Is(err, ErrTokenInvalid) {
		h.notice(w, r, http.StatusBadRequest, "news.confirm.title", "", "news.error.token")
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.tokenPage(w, r, "news_confirm", "news.confirm.title", &TokenData{Token: token, Topics: terms(topics)})
}

func (h *Web) confirm(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r, 4<<10) {
		return
	}
	err := h.News.Confirm(r.Context(), r.PostForm.Get("token"))
	switch {
	case errors.Is(err, ErrTokenInvalid):
		h.notice(w, r, http.StatusBadRequest, "news.confirm.title", "", "news.error.token")
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.notice(w, r, http.StatusOK, "news.confirm.title", "news.confirm.done", "")
	}
}

func (h *Web) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	ok, err := h.News.CanUnsubscribe(r.Context(), token)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if !ok {
		h.notice(w, r, http.StatusBadRequest, "news.unsubscribe.title", "", "news.error.unsubscribe_token")
		return
	}
	h.tokenPage(w, r, "news_unsubscribe", "news.unsubscribe.title", &TokenData{Token: token})
}

func (h *Web) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r, 4<<10) {
		return
	}
	err := h.News.Unsubscribe(r.Context(), r.PostForm.Get("token"))
	switch {
	case errors.Is(err, ErrTokenInvalid):
		h.notice(w, r, http.StatusBadRequest, "news.unsubscribe.title", "", "news.error.unsubscribe_token")
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.notice(w, r, http.StatusOK, "news.unsubscribe.title", "news.unsubscribe.done", "")
	}
}

// pageHref is a list page's address with its page number.
func pageHref(path string, n int) string {
	if n <= 1 {
		return path
	}
	return path + "?" + url.Values{"pagina": {strconv.Itoa(n)}}.Encode()
}
