package content

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// EditorRoles may write the town's content: the public relations office
// (URP), which writes the news too, and administrators.
var EditorRoles = []string{"urp", "admin"}

// AdminPerPage is how many entries a page of a back-office list shows.
const AdminPerPage = 50

// FeaturedPath is the back-office page of what the home page puts in
// evidence.
const FeaturedPath = "/backoffice/in-evidenza"

// Service is a catalogue service, as the home page's choice offers it.
type Service struct {
	ID, Title string
}

// Services lists the catalogue's services. The catalogue is another
// feature: cmd/civico passes a function reading it.
type Services func(ctx context.Context) ([]Service, error)

func (h *Web) adminRoutes() {
	m := h.App.For("content").Guarded(assurance.Low, EditorRoles...)
	for _, k := range Kinds {
		m.HandleFunc("GET "+k.AdminPath, h.adminList(k))
		m.HandleFunc("GET "+k.AdminPath+"/nuovo", h.adminNew(k))
		m.HandleFunc("POST "+k.AdminPath+"/nuovo", h.adminSave(k))
		m.HandleFunc("GET "+k.AdminPath+"/{id}", h.adminEdit(k))
		m.HandleFunc("POST "+k.AdminPath+"/{id}", h.adminSave(k))
		m.HandleFunc("POST "+k.AdminPath+"/{id}/elimina", h.adminDelete(k))
	}
	m.HandleFunc("GET "+FeaturedPath, h.featuredForm)
	m.HandleFunc("POST "+FeaturedPath, h.featuredSave)
}

// Sections are the content's parts of the back office's home.
func Sections() []identity.Section {
	var out []identity.Section
	for _, k := range Kinds {
		out = append(out, identity.Section{Label: "content.admin." + k.Name + ".title", Href: k.AdminPath, Roles: EditorRoles})
	}
	return append(out, identity.Section{Label: "content.featured.title", Href: FeaturedPath, Roles: EditorRoles})
}

func (h *Web) adminCrumbs(page *web.Page, k *Kind, last string) {
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}}
	if k == nil || last == "" {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.Title})
		return
	}
	page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: page.T("content.admin." + k.Name + ".title"), Href: k.AdminPath}, web.Crumb{Label: last})
}

// AdminListData is the content of a back-office list.
type AdminListData struct {
	Kind    *Kind
	Items   []Entry
	Message string // message id of a notice
	web.Pager
}

func (h *Web) adminList(k *Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := pageNumber(r)
		if !ok {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		items, total, err := h.Store.All(r.Context(), k.Name, n, AdminPerPage)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		d := &AdminListData{Kind: k, Items: items, Pager: pager(k.AdminPath, url.Values{}, n, total, AdminPerPage)}
		if n > d.Pages {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("eliminato") != "" {
			d.Message = "content.admin.deleted"
		}
		page := h.App.NewPage(r, "content.admin."+k.Name+".title")
		h.adminCrumbs(page, k, "")
		page.Data = d
		w.Header().Set("Cache-Control", "private, no-store")
		h.App.HTML(w, r, http.StatusOK, "content_admin_list", page)
	}
}

// FieldView is a field of the entry form with what it shows.
type FieldView struct {
	Field
	Label, Help      string // message ids; Help may be ""
	Value, ValueEN   string
	Error, ErrorEN   string // message ids
	Choices          []Choice
	LabelEN, HelpEN  string
	InputType        string // the <input>'s type
	Autocomplete     string
	DescribedBy      string
	DescribedByEN    string
	InputMode, Class string
}

// Choice is an option of a choice field.
type Choice struct {
	Value, Label string
	// National says Label is the national model's Italian words, not a
	// message id.
	National, Selected bool
	// Status is the status of the entry it names (a place, a body).
	Status string
}

// ErrorLink is one wrong field in the summary above a form.
type ErrorLink struct {
	Field, Label, Message string // the field's id, message ids
	// English says the error is in the field's English version.
	English bool
	// Max is the field's limit, for a message that says it.
	Max int
}

// FormData is the content of an entry's form.
type FormData struct {
	Kind   *Kind
	Entry  *Entry // nil for a new entry
	Action string // where the form posts
	Fields []FieldView
	Errors []ErrorLink
	// ActionError is what is wrong with the chosen action.
	ActionError string
	// Message is a notice after a save.
	Message string
	// DeleteError is why the entry was not deleted.
	DeleteError string
}

// inputTypes are the <input> types of the field types.
var inputTypes = map[string]string{"line": "text", "number": "text", "datetime": "datetime-local", "date": "date", "email": "email", "tel": "tel", "url": "url"}

func (h *Web) help(lang string, ids ...string) string {
	for _, id := range ids {
		if h.App.I18n.Has(lang, id) {
			return id
		}
	}
	return ""
}

// choices are the options of a choice field.
func (h *Web) choices(ctx context.Context, k *Kind, f Field, value string) ([]Choice, error) {
	var out []Choice
	switch f.Name {
	case "category":
		for _, c := range k.Categories {
			out = append(out, Choice{Value: c.Slug, Label: c.Label(), National: c.National != "", Selected: c.Slug == value})
		}
	case "place", "unit":
		kind := KindPlace
		if f.Name == "unit" {
			kind = KindUnit
		}
		list, err := h.Store.Choices(ctx, kind)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			out = append(out, Choice{Value: e.ID, Label: e.Title.IT, National: true, Selected: e.ID == value, Status: e.Status})
		}
	}
	return out, nil
}

// form renders the entry form: values are the fields as sent or as
// stored, fe what is wrong with them.
func (h *Web) form(w http.ResponseWriter, r *http.Request, status int, k *Kind, e *Entry, values map[string]string, fe FieldErrors, deleteError string) {
	page := h.App.NewPage(r, "content.admin."+k.Name+".new")
	d := &FormData{Kind: k, Entry: e, Action: k.AdminPath + "/nuovo", DeleteError: deleteError}
	if e != nil {
		page.Title = e.Title.IT
		d.Action = e.AdminPath()
		if r.URL.Query().Get("salvato") != "" && len(fe) == 0 && deleteError == "" {
			d.Message = "content.admin.saved." + e.Status
		}
	}
	for _, f := range k.Fields {
		v := FieldView{Field: f, Label: "content.field." + f.Name, Value: values[f.Name], ValueEN: values[f.Name+"_en"],
			Error: fe[f.Name], ErrorEN: fe[f.Name+"_en"], InputType: inputTypes[f.Type],
			Help: h.help(page.Lang, "content.help."+k.Name+"."+f.Name, "content.help."+f.Name)}
		switch f.Type {
		case "email":
			v.Autocomplete = "off"
		case "number":
			v.InputMode = "decimal"
		}
		if f.Type == "choice" {
			choices, err := h.choices(r.Context(), k, f, v.Value)
			if err != nil {
				h.App.Fail(w, r, err)
				return
			}
			v.Choices = choices
		}
		v.DescribedBy = describedBy(f.Name, v.Help != "", v.Error != "")
		if f.Bilingual {
			v.LabelEN = "content.field.en"
			v.DescribedByEN = describedBy(f.Name+"_en", false, v.ErrorEN != "")
		}
		d.Fields = append(d.Fields, v)
		if v.Error != "" {
			d.Errors = append(d.Errors, ErrorLink{Field: f.Name, Label: v.Label, Message: v.Error, Max: f.Max})
		}
		if v.ErrorEN != "" {
			d.Errors = append(d.Errors, ErrorLink{Field: f.Name + "_en", Label: v.Label, Message: v.ErrorEN, English: true, Max: f.Max})
		}
	}
	if m := fe["action"]; m != "" {
		d.ActionError = m
		d.Errors = append(d.Errors, ErrorLink{Field: "action", Label: "content.field.action", Message: m})
	}
	h.adminCrumbs(page, k, page.Title)
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "content_admin_form", page)
}

func describedBy(name string, help, err bool) string {
	var ids []string
	if err {
		ids = append(ids, "f-"+name+"-error")
	}
	if help {
		ids = append(ids, "f-"+name+"-help")
	}
	if len(ids) == 0 {
		return ""
	}
	out := ids[0]
	for _, id := range ids[1:] {
		out += " " + id
	}
	return out
}

func (h *Web) adminNew(k *Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.form(w, r, http.StatusOK, k, nil, map[string]string{}, nil, "")
	}
}

// valuesOf are an entry's fields as its form writes them.
func valuesOf(e *Entry) map[string]string {
	v := map[string]string{"category": e.Category, "address": e.Address, "postal_code": e.PostalCode, "phone": e.Phone, "email": e.Email,
		"website": e.Website, "place": e.PlaceID, "unit": e.UnitID, "doc_date": e.DocDate}
	for name, t := range map[string]Text{"title": e.Title, "summary": e.Summary, "body": e.Body, "role": e.Role, "opening": e.Opening, "cost": e.Cost} {
		v[name], v[name+"_en"] = t.IT, t.EN
	}
	if e.HasCoords {
		v["lat"], v["lon"] = formatCoord(e.Lat), formatCoord(e.Lon)
	}
	if !e.StartsAt.IsZero() {
		v["starts_at"], v["ends_at"] = e.Start().Format(DateTimeLocal), e.End().Format(DateTimeLocal)
	}
	return v
}

func (h *Web) entryOf(w http.ResponseWriter, r *http.Request, k *Kind) (*Entry, bool) {
	e, err := h.Store.Get(r.Context(), r.PathValue("id"))
	if err == nil && e.Kind != k.Name {
		err = ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return e, true
}

func (h *Web) adminEdit(k *Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e, ok := h.entryOf(w, r, k); ok {
			h.form(w, r, http.StatusOK, k, e, valuesOf(e), nil, "")
		}
	}
}

func actor(r *http.Request) Actor {
	by := Actor{Remote: web.RemoteAddr(r)}
	if a, _ := identity.Current(r.Context()); a != nil {
		by.AccountID = a.ID
	}
	return by
}

// formNames are the names an entry form may send.
func formNames(k *Kind) []string {
	var out []string
	for _, f := range k.Fields {
		out = append(out, f.Name)
		if f.Bilingual {
			out = append(out, f.Name+"_en")
		}
	}
	return out
}

// adminSave creates an entry (POST <list>/nuovo) or saves one.
func (h *Web) adminSave(k *Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var old *Entry
		if r.PathValue("id") != "" {
			var ok bool
			if old, ok = h.entryOf(w, r, k); !ok {
				return
			}
		}
		// Editors only (the routes check the role): a long text on a slow
		// line may outlast the listener's read timeout.
		h.App.LargeBody(w, r)
		if !h.App.ParseForm(w, r, 1<<20) {
			return
		}
		in := Input{Values: map[string]string{}, Action: r.PostForm.Get("action")}
		for _, name := range formNames(k) {
			in.Values[name] = r.PostForm.Get(name)
		}
		var e *Entry
		var err error
		if old == nil {
			e, err = h.Store.Create(r.Context(), k.Name, in, actor(r))
		} else {
			e, err = h.Store.Update(r.Context(), old.ID, in, actor(r))
		}
		var fe FieldErrors
		switch {
		case errors.As(err, &fe):
			h.form(w, r, http.StatusUnprocessableEntity, k, old, in.Values, fe, "")
		case err != nil:
			h.fail(w, r, err)
		default:
			// This process shows the change at once; others within their cache's TTL.
			h.App.PurgeCaches()
			web.Redirect(w, r, e.AdminPath(), url.Values{"salvato": {"1"}})
		}
	}
}

func (h *Web) adminDelete(k *Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, ok := h.entryOf(w, r, k)
		if !ok || !h.App.ParseForm(w, r, 4<<10) {
			return
		}
		if r.PostForm.Get("confirm") != "yes" {
			h.form(w, r, http.StatusUnprocessableEntity, k, e, valuesOf(e), nil, "content.error.confirm")
			return
		}
		_, err := h.Store.Delete(r.Context(), e.ID, actor(r))
		switch {
		case errors.Is(err, ErrInUse):
			h.form(w, r, http.StatusConflict, k, e, valuesOf(e), nil, "content.error.in_use")
		case err != nil:
			h.fail(w, r, err)
		default:
			h.App.PurgeCaches()
			web.Redirect(w, r, k.AdminPath, url.Values{"eliminato": {"1"}})
		}
	}
}

// FeaturedData is the content of the form of what the home page puts in
// evidence.
type FeaturedData struct {
	Services []FeaturedChoice
	Topics   []FeaturedChoice
	Errors   FieldErrors
	Message  string
	Max      int
}

// FeaturedChoice is a service or a topic, ticked or not.
type FeaturedChoice struct {
	Ref, Title string
	Checked    bool
}

func (h *Web) services(ctx context.Context) ([]Service, error) {
	if h.Services == nil {
		return nil, nil
	}
	return h.Services(ctx)
}

func (h *Web) featuredPage(w http.ResponseWriter, r *http.Request, status int, services, topics []string, fe FieldErrors) {
	all, err := h.services(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &FeaturedData{Errors: fe, Max: MaxFeatured}
	for _, s := range all {
		d.Services = append(d.Services, FeaturedChoice{Ref: s.ID, Title: s.Title, Checked: slices.Contains(services, s.ID)})
	}
	for _, t := range taxonomy.Topics {
		d.Topics = append(d.Topics, FeaturedChoice{Ref: t.Slug, Title: t.Title, Checked: slices.Contains(topics, t.Slug)})
	}
	if r.URL.Query().Get("salvato") != "" && len(fe) == 0 {
		d.Message = "content.featured.saved"
	}
	page := h.App.NewPage(r, "content.featured.title")
	h.adminCrumbs(page, nil, "")
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "content_featured", page)
}

func (h *Web) featuredForm(w http.ResponseWriter, r *http.Request) {
	services, err := h.Store.Featured(r.Context(), FeaturedServices)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	topics, err := h.Store.Featured(r.Context(), FeaturedTopics)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.featuredPage(w, r, http.StatusOK, services, topics, nil)
}

func (h *Web) featuredSave(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 64<<10) {
		return
	}
	services, topics := r.PostForm["services"], r.PostForm["topics"]
	fe, err := h.checkFeatured(r.Context(), services, topics)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if fe != nil {
		h.featuredPage(w, r, http.StatusUnprocessableEntity, services, topics, fe)
		return
	}
	if err := h.Store.SetFeatured(r.Context(), services, topics, actor(r)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.App.PurgeCaches()
	web.Redirect(w, r, FeaturedPath, url.Values{"salvato": {"1"}})
}

// checkFeatured refuses more than MaxFeatured of each, and anything the
// catalogue or the national topics do not have.
func (h *Web) checkFeatured(ctx context.Context, services, topics []string) (FieldErrors, error) {
	fe := FieldErrors{}
	all, err := h.services(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range services {
		if !slices.ContainsFunc(all, func(s Service) bool { return s.ID == id }) {
			fe["services"] = "content.featured.error.unknown"
		}
	}
	for _, slug := range topics {
		if _, ok := taxonomy.Find(taxonomy.Topics, slug); !ok {
			fe["topics"] = "content.featured.error.unknown"
		}
	}
	if len(services) > MaxFeatured || len(slices.Compact(slices.Sorted(slices.Values(services)))) != len(services) {
		fe["services"] = "content.featured.error.too_many"
	}
	if len(topics) > MaxFeatured || len(slices.Compact(slices.Sorted(slices.Values(topics)))) != len(topics) {
		fe["topics"] = "content.featured.error.too_many"
	}
	if len(fe) > 0 {
		return fe, nil
	}
	return nil, nil
}

func formatCoord(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
