package news

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// AdminPerPage is how many items a page of the back-office list shows.
const AdminPerPage = 50

// AdminListData is the content of the back-office list of items.
type AdminListData struct {
	Items       []Item
	Now         time.Time
	Page, Pages int
	Prev, Next  string
}

func (h *Web) adminCrumbs(page *web.Page, last string) {
	page.Breadcrumb = []web.Crumb{{Label: page.T("news.admin.backoffice"), Href: "/backoffice"}}
	if last == "" {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.Title})
		return
	}
	page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.T("news.admin.title"), Href: "/backoffice/notizie"}, web.Crumb{Label: last})
}

func (h *Web) adminList(w http.ResponseWriter, r *http.Request) {
	n, ok := pageNumber(r)
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	items, total, err := h.News.All(r.Context(), n, AdminPerPage)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &AdminListData{Items: items, Now: h.News.now(), Page: n, Pages: pageCount(total, AdminPerPage)}
	if n > d.Pages {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if n > 1 {
		d.Prev = pageHref("/backoffice/notizie", n-1)
	}
	if n < d.Pages {
		d.Next = pageHref("/backoffice/notizie", n+1)
	}
	page := h.App.NewPage(r, "news.admin.title")
	h.adminCrumbs(page, "")
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "news_admin_list", page)
}

// FieldError is one wrong field, for the summary above a form.
type FieldError struct {
	Field, Message string // the field's name, a message id
}

// CategoryChoice is a category in the form's list.
type CategoryChoice struct {
	taxonomy.Term
	Selected bool
}

// AdminFormData is the content of the item form.
type AdminFormData struct {
	Item       *Item // nil for a new item
	State      string
	Action     string // where the form posts
	Values     map[string]string
	Categories []CategoryChoice
	Topics     []TopicChoice
	Errors     FieldErrors
	ErrorList  []FieldError
	Message    string // message id
	// Alert is a message id above the form (a stale edit).
	Alert string
}

func errorList(fe FieldErrors, order []string) []FieldError {
	var out []FieldError
	for _, f := range order {
		if m, ok := fe[f]; ok {
			out = append(out, FieldError{Field: f, Message: m})
		}
	}
	return out
}

// formFields is the order of the fields, for the error summary.
var formFields = []string{"title", "en_title", "summary", "en_summary", "body", "en_body", "category", "topics", "publish_at", "action"}

func (h *Web) adminForm(w http.ResponseWriter, r *http.Request, status int, it *Item, values map[string]string, topics []string, fe FieldErrors) {
	h.adminFormWith(w, r, status, it, values, topics, fe, "")
}

func (h *Web) adminFormWith(w http.ResponseWriter, r *http.Request, status int, it *Item, values map[string]string, topics []string, fe FieldErrors, alert string) {
	d := &AdminFormData{Alert: alert, Item: it, Values: values, Topics: topicChoices(topics), Errors: fe, Action: "/backoffice/notizie/nuova"}
	for _, t := range taxonomy.NewsCategories {
		d.Categories = append(d.Categories, CategoryChoice{Term: t, Selected: t.Slug == values["category"]})
	}
	d.ErrorList = errorList(fe, formFields)
	title := "news.admin.new"
	if it != nil {
		title = "news.admin.edit"
		d.Action = "/backoffice/notizie/" + it.ID
		d.State = it.State(h.News.now())
		if r.URL.Query().Get("salvato") != "" && len(fe) == 0 && alert == "" {
			d.Message = "news.admin.saved." + d.State
		}
	}
	page := h.App.NewPage(r, title)
	h.adminCrumbs(page, page.Title)
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "news_admin_form", page)
}

func (h *Web) adminNew(w http.ResponseWriter, r *http.Request) {
	h.adminForm(w, r, http.StatusOK, nil, map[string]string{"category": taxonomy.NewsCategories[0].Slug}, nil, nil)
}

func (h *Web) adminEdit(w http.ResponseWriter, r *http.Request) {
	it, err := h.News.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	values := map[string]string{"title": it.Title, "summary": it.Summary, "body": it.Body, "category": it.Category, "version": strconv.Itoa(it.Version)}
	en := it.Translations["en"]
	values["en_title"], values["en_summary"], values["en_body"] = en.Title, en.Summary, en.Body
	if !it.PublishAt.IsZero() {
		values["publish_at"] = it.PublishAt.In(hours.Rome).Format(DateTimeLocal)
	}
	h.adminForm(w, r, http.StatusOK, it, values, it.Topics, nil)
}

// adminSave creates an item (POST /backoffice/notizie/nuova) or saves one.
func (h *Web) adminSave(w http.ResponseWriter, r *http.Request) {
	// An item may reach 1 MiB: more than the listener's read timeout allows
	// on a slow line. Editors only (Routes checks the role).
	h.App.LargeBody(w, r)
	if !h.parseForm(w, r, 1<<20) {
		return
	}
	id := r.PathValue("id")
	var old *Item
	if id != "" {
		var err error
		if old, err = h.News.Get(r.Context(), id); errors.Is(err, ErrNotFound) {
			h.App.Error(w, r, http.StatusNotFound)
			return
		} else if err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	f := r.PostForm
	in := Input{Title: f.Get("title"), Summary: f.Get("summary"), Body: f.Get("body"), Category: f.Get("category"),
		Topics: f["topics"], PublishAt: f.Get("publish_at"), Action: f.Get("action"),
		EN: ItemText{Title: f.Get("en_title"), Summary: f.Get("en_summary"), Body: f.Get("en_body")}}
	if old != nil {
		// A form always carries the version it was opened at; one without
		// is refused as stale rather than saved over whatever is there.
		in.Version = -1
		if v, err := strconv.Atoi(f.Get("version")); err == nil && v > 0 {
			in.Version = v
		}
	}
	by := Actor{Remote: web.RemoteAddr(r)}
	if a, _ := identity.Current(r.Context()); a != nil {
		by.AccountID = a.ID
	}
	var it *Item
	var err error
	if old == nil {
		it, err = h.News.Create(r.Context(), in, by)
	} else {
		it, err = h.News.Update(r.Context(), old.ID, in, by)
	}
	var fe FieldErrors
	values := map[string]string{"title": f.Get("title"), "summary": f.Get("summary"), "body": f.Get("body"),
		"category": f.Get("category"), "publish_at": f.Get("publish_at"), "version": f.Get("version"),
		"en_title": f.Get("en_title"), "en_summary": f.Get("en_summary"), "en_body": f.Get("en_body")}
	switch {
	case errors.As(err, &fe):
		h.adminForm(w, r, http.StatusUnprocessableEntity, old, values, f["topics"], fe)
	case errors.Is(err, ErrStale):
		// What the operator typed stays, now based on the stored version:
		// saving again replaces the other edit, knowingly.
		cur, err := h.News.Get(r.Context(), old.ID)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		values["version"] = strconv.Itoa(cur.Version)
		h.adminFormWith(w, r, http.StatusConflict, cur, values, f["topics"], nil, "news.error.stale")
	case errors.Is(err, ErrNotFound):
		h.App.Error(w, r, http.StatusNotFound)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		// This process shows the change at once; others within their cache's TTL.
		h.App.PurgeCaches()
		web.Redirect(w, r, "/backoffice/notizie/"+it.ID, url.Values{"salvato": {"1"}})
	}
}
