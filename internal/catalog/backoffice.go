package catalog

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// The back office of the catalogue: operators of the public relations
// office (urp) and administrators create, edit, retire, restore and delete
// offices, with all their timetables, and services, with the national
// model's fields and an English version beside the Italian. Every change
// is validated with every error shown beside its field, saved in one
// transaction with its audit entry (see edit.go), shown at once by this
// process (its caches purged) and by the others within the store's TTL.

// EditorRoles may edit the catalogue.
var EditorRoles = []string{"urp", "admin"}

// BackOffice serves the catalogue's back-office pages.
type BackOffice struct {
	*Web
	Audit audit.Writer
}

// Routes registers the back-office pages, for editors only.
func (b *BackOffice) Routes() {
	m := b.App.For("catalog").Guarded(assurance.Low, EditorRoles...)
	m.HandleFunc("GET /backoffice/catalogo", b.index)
	m.HandleFunc("GET /backoffice/uffici/nuovo", b.newOffice)
	m.HandleFunc("POST /backoffice/uffici/nuovo", b.createOffice)
	m.HandleFunc("GET /backoffice/uffici/{id}", b.officeEditPage)
	m.HandleFunc("POST /backoffice/uffici/{id}", b.saveOffice)
	m.HandleFunc("POST /backoffice/uffici/{id}/ritira", b.retireOffice)
	m.HandleFunc("POST /backoffice/uffici/{id}/ripubblica", b.restoreOffice)
	m.HandleFunc("POST /backoffice/uffici/{id}/elimina", b.deleteOffice)
	m.HandleFunc("GET /backoffice/servizi/nuovo", b.newService)
	m.HandleFunc("POST /backoffice/servizi/nuovo", b.createService)
	m.HandleFunc("GET /backoffice/servizi/{id}", b.serviceEditPage)
	m.HandleFunc("POST /backoffice/servizi/{id}", b.saveService)
	m.HandleFunc("POST /backoffice/servizi/{id}/ritira", b.retireService)
	m.HandleFunc("POST /backoffice/servizi/{id}/ripubblica", b.restoreService)
	m.HandleFunc("POST /backoffice/servizi/{id}/elimina", b.deleteService)
}

// IndexData is the content of the catalogue's back-office home.
type IndexData struct {
	Offices []*Office
	// Services are one page of every service, published or retired.
	Services    []*Service
	Page, Pages int
	Prev, Next  string
	Total       int
	Message     string
}

// IndexPerPage is how many services a page of the index lists.
const IndexPerPage = 50

func (b *BackOffice) t(r *http.Request) translator {
	lang := b.App.I18n.Lang(r)
	return func(id string, args ...any) string { return b.App.I18n.T(lang, id, args...) }
}

func (b *BackOffice) editor(r *http.Request) Editor {
	me, _ := identity.Current(r.Context())
	return Editor{Audit: b.Audit, Actor: "account:" + me.ID, Remote: web.RemoteAddr(r)}
}

func (b *BackOffice) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	page := b.App.NewPage(r, "")
	page.Title = title
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}}
	if name == "bo_catalog" {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: title})
	} else {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.T("catalog.bo.title"), Href: "/backoffice/catalogo"}, web.Crumb{Label: title})
	}
	page.Data = data
	w.Header().Set("Cache-Control", "private, no-store")
	b.App.HTML(w, r, status, name, page)
}

// notices are the messages of the redirects after an action.
var notices = map[string]string{"salvato": "catalog.bo.saved", "creato": "catalog.bo.created", "ritirato": "catalog.bo.retired_done",
	"ripubblicato": "catalog.bo.restored_done", "eliminato": "catalog.bo.deleted_done"}

func notice(r *http.Request) string {
	for q, id := range notices {
		if r.URL.Query().Get(q) != "" {
			return id
		}
	}
	return ""
}

func (b *BackOffice) index(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	all := append(append([]*Service{}, c.Services...), c.RetiredServices...)
	d := &IndexData{Offices: append(append([]*Office{}, c.Offices...), c.RetiredOffices...), Total: len(all), Page: 1}
	d.Pages = max(1, (len(all)+IndexPerPage-1)/IndexPerPage)
	if p := r.URL.Query().Get("pagina"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > d.Pages {
			b.App.Error(w, r, http.StatusNotFound)
			return
		}
		d.Page = n
	}
	d.Services = all[(d.Page-1)*IndexPerPage : min(len(all), d.Page*IndexPerPage)]
	if d.Page > 1 {
		d.Prev = "/backoffice/catalogo?pagina=" + strconv.Itoa(d.Page-1)
	}
	if d.Page < d.Pages {
		d.Next = "/backoffice/catalogo?pagina=" + strconv.Itoa(d.Page+1)
	}
	if id := notice(r); id != "" {
		d.Message = b.t(r)(id)
	}
	b.render(w, r, http.StatusOK, "bo_catalog", b.t(r)("catalog.bo.title"), d)
}

// posted reads a back-office form of at most limit bytes.
func (b *BackOffice) posted(w http.ResponseWriter, r *http.Request, limit int64) (form, bool) {
	// A service's texts may reach hundreds of KiB: more than the
	// listener's read timeout allows on a slow line. Editors only (Routes
	// checks the role).
	b.App.LargeBody(w, r)
	if !b.App.ParseForm(w, r, limit) {
		return nil, false
	}
	return form(r.PostForm), true
}

// Form bodies: a service has 11 long texts in two languages; an office its
// timetables.
const (
	serviceFormLimit = 1 << 20
	officeFormLimit  = 256 << 10
)

// split separates the errors of the edited entity from those of others,
// which are shown in the catalogue's terms.
func split(t translator, inv Invalid, entity string) (Invalid, []string) {
	var others []string
	for _, e := range inv {
		if e.Entity != "" && e.Entity != entity {
			others = append(others, e.Path+": "+t(e.Message, e.Args...))
		}
	}
	return inv.Of(entity), others
}

// failed answers an error that is neither Invalid, stale nor in use.
func (b *BackOffice) failed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	b.App.Fail(w, r, err)
}

// ----- services

func (b *BackOffice) showService(w http.ResponseWriter, r *http.Request, status int, c *Catalog, v *Service, raw map[string]string, errs Invalid, creating bool) *ServiceEdit {
	t := b.t(r)
	entity := "service:" + v.ID
	mine, others := split(t, errs, entity)
	if creating {
		mine = errs
		others = nil
	}
	d := serviceForm(t, c, v, raw, mine, creating)
	d.Others = append(d.Others, others...)
	d.Action = "/backoffice/servizi/nuovo"
	title := t("catalog.bo.new_service")
	if !creating {
		d.Action = "/backoffice/servizi/" + v.ID
		d.Stored, _ = c.AnyService(v.ID)
		title = d.Stored.Title
		d.Public = "/servizi/" + d.Stored.Category + "/" + d.Stored.ID
	}
	if len(d.Errors)+len(d.Others) > 0 && d.Alert == "" {
		d.Alert = t("catalog.bo.not_saved", "N", len(d.Errors)+len(d.Others))
	}
	if id := notice(r); id != "" && status == http.StatusOK {
		d.Message = t(id)
	}
	b.render(w, r, status, "bo_service", title, d)
	return d
}

func (b *BackOffice) newService(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	v := &Service{Status: "active", Channel: "desk", Category: taxonomy.ServiceCategories[0].Slug}
	if cat, ok := taxonomy.Find(taxonomy.ServiceCategories, r.URL.Query().Get("categoria")); ok {
		v.Category = cat.Slug
	}
	b.showService(w, r, http.StatusOK, c, v, map[string]string{"max_days": "30"}, nil, true)
}

func (b *BackOffice) createService(w http.ResponseWriter, r *http.Request) {
	f, ok := b.posted(w, r, serviceFormLimit)
	if !ok {
		return
	}
	id := f.text("id")
	if id == "" {
		id = slug(f.text("title"))
	}
	v, errs, raw := parseService(f, id)
	b.saveServiceAs(w, r, v, errs, raw, true)
}

// slug makes an id from a title, cut at a hyphen to the longest id.
func slug(title string) string {
	s := taxonomy.Slug(title)
	if len(s) > MaxID {
		s = s[:MaxID]
		if i := strings.LastIndexByte(s, '-'); i > MaxID/2 {
			s = s[:i]
		}
	}
	return strings.Trim(s, "-")
}

func (b *BackOffice) serviceEditPage(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	v, found := c.AnyService(r.PathValue("id"))
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	b.showService(w, r, http.StatusOK, c, v, nil, nil, false)
}

func (b *BackOffice) saveService(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	if _, found := c.AnyService(r.PathValue("id")); !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	f, ok := b.posted(w, r, serviceFormLimit)
	if !ok {
		return
	}
	v, errs, raw := parseService(f, r.PathValue("id"))
	b.saveServiceAs(w, r, v, errs, raw, false)
}

// saveServiceAs validates and saves a service as typed: every error at
// once (the form's own and the catalogue's), nothing saved unless none.
func (b *BackOffice) saveServiceAs(w http.ResponseWriter, r *http.Request, v *Service, errs Invalid, raw map[string]string, creating bool) {
	ctx := r.Context()
	var err error
	if len(errs) > 0 {
		var more Invalid
		if more, err = b.Store.CheckService(ctx, v, creating); err == nil {
			err = append(errs, more...)
		}
	} else if creating {
		err = b.Store.CreateService(ctx, b.editor(r), v)
	} else {
		err = b.Store.UpdateService(ctx, b.editor(r), v)
	}
	var inv Invalid
	switch {
	case err == nil:
		b.App.PurgeCaches()
		q := "salvato"
		if creating {
			q = "creato"
		}
		web.Redirect(w, r, "/backoffice/servizi/"+v.ID, url.Values{q: {"1"}})
		return
	case errors.As(err, &inv):
		c, ok := b.catalog(w, r)
		if !ok {
			return
		}
		b.showService(w, r, http.StatusUnprocessableEntity, c, v, raw, inv, creating)
	case errors.Is(err, ErrStale):
		b.Store.Forget()
		c, ok := b.catalog(w, r)
		if !ok {
			return
		}
		cur, found := c.AnyService(v.ID)
		if !found {
			b.App.Error(w, r, http.StatusNotFound)
			return
		}
		t := b.t(r)
		fields := changed(serviceValues(cur), serviceValues(v))
		labels := make([]string, 0, len(fields))
		for _, f := range fields {
			labels = append(labels, label(t, "catalog.bo.s.", f))
		}
		// The form keeps what the operator typed, now based on the stored
		// version: saving again replaces the other edit, knowingly.
		v.Version = cur.Version
		b.renderStale(w, r, c, v, raw, strings.Join(labels, ", "))
	default:
		b.failed(w, r, err)
	}
}

func (b *BackOffice) renderStale(w http.ResponseWriter, r *http.Request, c *Catalog, v *Service, raw map[string]string, fields string) {
	t := b.t(r)
	d := serviceForm(t, c, v, raw, nil, false)
	d.Action = "/backoffice/servizi/" + v.ID
	d.Stored, _ = c.AnyService(v.ID)
	d.Public = "/servizi/" + d.Stored.Category + "/" + d.Stored.ID
	d.Alert = t("catalog.error.stale", "Fields", fields)
	b.render(w, r, http.StatusConflict, "bo_service", d.Stored.Title, d)
}

// label is a field's label for a message ("en.title": "Titolo in inglese").
func label(t translator, prefix, field string) string {
	if f, ok := strings.CutPrefix(field, "en."); ok {
		return t("catalog.bo.en", "Label", t(prefix+f))
	}
	return t(prefix + field)
}

func (b *BackOffice) retireService(w http.ResponseWriter, r *http.Request) {
	b.setServiceRetired(w, r, true)
}

func (b *BackOffice) restoreService(w http.ResponseWriter, r *http.Request) {
	b.setServiceRetired(w, r, false)
}

func (b *BackOffice) setServiceRetired(w http.ResponseWriter, r *http.Request, retired bool) {
	if !b.App.ParseForm(w, r, 4<<10) {
		return
	}
	id := r.PathValue("id")
	err := b.Store.SetServiceRetired(r.Context(), b.editor(r), id, retired)
	var inv Invalid
	switch {
	case err == nil:
		b.App.PurgeCaches()
		q := "ripubblicato"
		if retired {
			q = "ritirato"
		}
		web.Redirect(w, r, "/backoffice/servizi/"+id, url.Values{q: {"1"}})
	case errors.As(err, &inv):
		// Put back, it no longer meets the rules (an office retired since):
		// the form says what to fix first.
		c, ok := b.catalog(w, r)
		if !ok {
			return
		}
		v, _ := c.AnyService(id)
		d := b.showServiceConflict(r, c, v, inv)
		b.render(w, r, http.StatusConflict, "bo_service", v.Title, d)
	default:
		b.failed(w, r, err)
	}
}

func (b *BackOffice) showServiceConflict(r *http.Request, c *Catalog, v *Service, inv Invalid) *ServiceEdit {
	t := b.t(r)
	mine, others := split(t, inv, "service:"+v.ID)
	d := serviceForm(t, c, v, nil, mine, false)
	d.Others = append(d.Others, others...)
	d.Action, d.Stored, d.Public = "/backoffice/servizi/"+v.ID, v, "/servizi/"+v.Category+"/"+v.ID
	d.Alert = t("catalog.bo.restore_refused")
	return d
}

func (b *BackOffice) deleteService(w http.ResponseWriter, r *http.Request) {
	if !b.App.ParseForm(w, r, 4<<10) {
		return
	}
	id := r.PathValue("id")
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	v, found := c.AnyService(id)
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	t := b.t(r)
	if r.PostForm.Get("confirm") != "1" {
		d := serviceForm(t, c, v, nil, nil, false)
		d.Action, d.Stored, d.Public = "/backoffice/servizi/"+id, v, "/servizi/"+v.Category+"/"+id
		d.Confirm.Errors = []string{t("catalog.bo.delete_unconfirmed")}
		d.Alert = t("catalog.bo.delete_unconfirmed")
		b.render(w, r, http.StatusUnprocessableEntity, "bo_service", v.Title, d)
		return
	}
	err := b.Store.DeleteService(r.Context(), b.editor(r), id)
	var inUse *InUse
	switch {
	case err == nil:
		b.App.PurgeCaches()
		web.Redirect(w, r, "/backoffice/catalogo", url.Values{"eliminato": {"1"}})
	case errors.As(err, &inUse):
		d := serviceForm(t, c, v, nil, nil, false)
		d.Action, d.Stored, d.Public = "/backoffice/servizi/"+id, v, "/servizi/"+v.Category+"/"+id
		d.Uses, d.Alert = inUse.Uses, t("catalog.bo.delete_refused_service", "N", len(inUse.Uses))
		b.render(w, r, http.StatusConflict, "bo_service", v.Title, d)
	default:
		b.failed(w, r, err)
	}
}

// ----- offices

// previewFrom is the first day of the timetable's preview: the form's
// "anteprima_dal", else today.
func (b *BackOffice) previewFrom(r *http.Request, t translator) (hours.Date, *Field) {
	f := &Field{Name: "preview_from", ID: "f-preview_from", Label: t("catalog.bo.preview_from"), Type: "date", Help: t("catalog.bo.help.preview_from")}
	v := r.FormValue("preview_from")
	f.Value = v
	today := hours.DateOf(b.now())
	if v == "" {
		return today, f
	}
	d, err := hours.ParseDate(v)
	if err != nil {
		f.Errors = []string{t("catalog.error.date")}
		return today, f
	}
	return d, f
}

func (b *BackOffice) showOffice(w http.ResponseWriter, r *http.Request, status int, c *Catalog, o *Office, raw map[string]string, errs Invalid, creating bool) {
	t := b.t(r)
	mine, others := split(t, errs, "office:"+o.ID)
	if creating {
		mine, others = errs, nil
	}
	d := officeForm(t, o, raw, mine, creating)
	d.Others = append(d.Others, others...)
	d.Action = "/backoffice/uffici/nuovo"
	title := t("catalog.bo.new_office")
	if !creating {
		d.Action = "/backoffice/uffici/" + o.ID
		d.Stored, _ = c.AnyOffice(o.ID)
		title = d.Stored.Name
		d.Services = c.Users(o.ID)
		d.Public = "/amministrazione/uffici/" + o.ID
	}
	from, field := b.previewFrom(r, t)
	d.PreviewFrom = field
	if len(errs) == 0 && o.Hours != nil {
		d.Preview = preview(o, from)
	}
	if len(d.Errors)+len(d.Others) > 0 {
		d.Alert = t("catalog.bo.not_saved", "N", len(d.Errors)+len(d.Others))
	}
	if id := notice(r); id != "" && status == http.StatusOK && r.Method == http.MethodGet {
		d.Message = t(id)
	}
	b.render(w, r, status, "bo_office", title, d)
}

func (b *BackOffice) newOffice(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	b.showOffice(w, r, http.StatusOK, c, &Office{Spec: hours.Spec{Week: map[string][]string{}}}, nil, nil, true)
}

func (b *BackOffice) createOffice(w http.ResponseWriter, r *http.Request) {
	f, ok := b.posted(w, r, officeFormLimit)
	if !ok {
		return
	}
	id := f.text("id")
	if id == "" {
		id = slug(f.text("name"))
	}
	o, errs, raw := parseOffice(f, id)
	b.saveOfficeAs(w, r, o, errs, raw, true, f.get("action") == "preview")
}

func (b *BackOffice) officeEditPage(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	o, found := c.AnyOffice(r.PathValue("id"))
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	b.showOffice(w, r, http.StatusOK, c, o, nil, nil, false)
}

func (b *BackOffice) saveOffice(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	if _, found := c.AnyOffice(r.PathValue("id")); !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	f, ok := b.posted(w, r, officeFormLimit)
	if !ok {
		return
	}
	o, errs, raw := parseOffice(f, r.PathValue("id"))
	b.saveOfficeAs(w, r, o, errs, raw, false, f.get("action") == "preview")
}

// saveOfficeAs validates an office as typed and saves it, or only shows
// its preview.
func (b *BackOffice) saveOfficeAs(w http.ResponseWriter, r *http.Request, o *Office, errs Invalid, raw map[string]string, creating, previewOnly bool) {
	ctx := r.Context()
	var err error
	if len(errs) > 0 || previewOnly {
		var more Invalid
		if more, err = b.Store.CheckOffice(ctx, o, creating); err == nil && len(errs)+len(more) > 0 {
			err = append(errs, more...)
		}
	} else if creating {
		err = b.Store.CreateOffice(ctx, b.editor(r), o)
	} else {
		err = b.Store.UpdateOffice(ctx, b.editor(r), o)
	}
	var inv Invalid
	switch {
	case err == nil && previewOnly:
		c, ok := b.catalog(w, r)
		if !ok {
			return
		}
		b.showOffice(w, r, http.StatusOK, c, o, raw, nil, creating)
	case err == nil:
		b.App.PurgeCaches()
		q := "salvato"
		if creating {
			q = "creato"
		}
		web.Redirect(w, r, "/backoffice/uffici/"+o.ID, url.Values{q: {"1"}})
	case errors.As(err, &inv):
		c, ok := b.catalog(w, r)
		if !ok {
			return
		}
		o.Hours = nil
		b.showOffice(w, r, http.StatusUnprocessableEntity, c, o, raw, inv, creating)
	case errors.Is(err, ErrStale):
		b.Store.Forget()
		c, ok := b.catalog(w, r)
		if !ok {
			return
		}
		cur, found := c.AnyOffice(o.ID)
		if !found {
			b.App.Error(w, r, http.StatusNotFound)
			return
		}
		t := b.t(r)
		var labels []string
		for _, f := range changed(officeValues(cur), officeValues(o)) {
			if f == "hours" {
				labels = append(labels, t("catalog.bo.timetables"))
				continue
			}
			labels = append(labels, label(t, "catalog.bo.o.", f))
		}
		o.Version = cur.Version
		d := officeForm(t, o, raw, nil, false)
		d.Action, d.Stored, d.Services, d.Public = "/backoffice/uffici/"+o.ID, cur, c.Users(o.ID), "/amministrazione/uffici/"+o.ID
		_, d.PreviewFrom = b.previewFrom(r, t)
		d.Alert = t("catalog.error.stale", "Fields", strings.Join(labels, ", "))
		b.render(w, r, http.StatusConflict, "bo_office", cur.Name, d)
	default:
		b.failed(w, r, err)
	}
}

func (b *BackOffice) retireOffice(w http.ResponseWriter, r *http.Request) {
	b.setOfficeRetired(w, r, true)
}

func (b *BackOffice) restoreOffice(w http.ResponseWriter, r *http.Request) {
	b.setOfficeRetired(w, r, false)
}

func (b *BackOffice) setOfficeRetired(w http.ResponseWriter, r *http.Request, retired bool) {
	if !b.App.ParseForm(w, r, 4<<10) {
		return
	}
	id := r.PathValue("id")
	err := b.Store.SetOfficeRetired(r.Context(), b.editor(r), id, retired)
	var inUse *InUse
	switch {
	case err == nil:
		b.App.PurgeCaches()
		q := "ripubblicato"
		if retired {
			q = "ritirato"
		}
		web.Redirect(w, r, "/backoffice/uffici/"+id, url.Values{q: {"1"}})
	case errors.As(err, &inUse):
		b.officeRefused(w, r, id, inUse, "catalog.bo.retire_refused_office")
	default:
		b.failed(w, r, err)
	}
}

// officeRefused shows the office's page with what keeps an action from
// being done.
func (b *BackOffice) officeRefused(w http.ResponseWriter, r *http.Request, id string, inUse *InUse, message string) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	o, found := c.AnyOffice(id)
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	t := b.t(r)
	d := officeForm(t, o, nil, nil, false)
	d.Action, d.Stored, d.Services, d.Public = "/backoffice/uffici/"+id, o, c.Users(id), "/amministrazione/uffici/"+id
	_, d.PreviewFrom = b.previewFrom(r, t)
	if inUse != nil {
		d.Uses = inUse.Uses
		d.Alert = t(message, "N", len(inUse.Uses))
	} else {
		d.Confirm.Errors = []string{t(message)}
		d.Alert = t(message)
	}
	status := http.StatusConflict
	if inUse == nil {
		status = http.StatusUnprocessableEntity
	}
	b.render(w, r, status, "bo_office", o.Name, d)
}

func (b *BackOffice) deleteOffice(w http.ResponseWriter, r *http.Request) {
	if !b.App.ParseForm(w, r, 4<<10) {
		return
	}
	id := r.PathValue("id")
	if r.PostForm.Get("confirm") != "1" {
		b.officeRefused(w, r, id, nil, "catalog.bo.delete_unconfirmed")
		return
	}
	err := b.Store.DeleteOffice(r.Context(), b.editor(r), id)
	var inUse *InUse
	switch {
	case err == nil:
		b.App.PurgeCaches()
		web.Redirect(w, r, "/backoffice/catalogo", url.Values{"eliminato": {"1"}})
	case errors.As(err, &inUse):
		b.officeRefused(w, r, id, inUse, "catalog.bo.delete_refused_office")
	default:
		b.failed(w, r, err)
	}
}
