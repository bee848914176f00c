package sportello

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// The forms' editor: administrators write each service's form field by
// field, look at it as residents will (the preview, where answers can be
// tried against the rules without saving anything), and publish it. A
// published version never changes: the first edit after it makes the next
// version, a draft.

const edPath = "/backoffice/moduli-online"

func (h *Web) editorRoutes(m web.Registrar) {
	ed := m.Guarded(assurance.Low, EditorRoles...)
	ed.HandleFunc("GET "+edPath, h.edIndex)
	ed.HandleFunc("GET "+edPath+"/{service}", h.edService)
	ed.HandleFunc("POST "+edPath+"/{service}/crea", h.edCreate)
	ed.HandleFunc("POST "+edPath+"/{service}/impostazioni", h.edSettings)
	ed.HandleFunc("POST "+edPath+"/{service}/campi", h.edAddField)
	ed.HandleFunc("GET "+edPath+"/{service}/campi/{field}", h.edFieldForm)
	ed.HandleFunc("POST "+edPath+"/{service}/campi/{field}", h.edSaveField)
	ed.HandleFunc("POST "+edPath+"/{service}/campi/{field}/sposta", h.edMoveField)
	ed.HandleFunc("POST "+edPath+"/{service}/campi/{field}/elimina", h.edDeleteField)
	ed.HandleFunc("POST "+edPath+"/{service}/json", h.edJSON)
	ed.HandleFunc("GET "+edPath+"/{service}/anteprima", h.edPreview)
	ed.HandleFunc("POST "+edPath+"/{service}/anteprima", h.edPreview)
	ed.HandleFunc("POST "+edPath+"/{service}/pubblica", h.edPublish)
	ed.HandleFunc("POST "+edPath+"/{service}/scarta", h.edDiscard)
}

// EditorIndexData lists the services with their forms.
type EditorIndexData struct {
	Rows []EditorRow
}

// EditorRow is a service in the editor's list.
type EditorRow struct {
	Service   Service
	Published int // newest published version (0: none)
	Draft     int // the draft's version (0: none)
	Rating    *ServiceRating
}

func (h *Web) edIndex(w http.ResponseWriter, r *http.Request) {
	all, err := h.Store.Services(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	online, err := h.Forms.Online(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	drafts, err := h.Forms.Drafts(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	ratings, err := h.Store.Ratings(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &EditorIndexData{}
	for _, s := range all {
		d.Rows = append(d.Rows, EditorRow{Service: s, Published: online[s.ID], Draft: drafts[s.ID], Rating: ratings[s.ID]})
	}
	// Services with a form first, then the others, each by title.
	slices.SortStableFunc(d.Rows, func(a, b EditorRow) int {
		ha, hb := a.Published+a.Draft > 0, b.Published+b.Draft > 0
		if ha != hb {
			if ha {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Service.Title, b.Service.Title)
	})
	p := h.App.NewPage(r, "sportello.editor.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "sportello_ed_index", p)
}

// EditorData is the content of a service's editor page and of the field
// form.
type EditorData struct {
	Service  Service
	Versions []*Form
	// Form is the version being edited: the draft, or else the newest.
	Form   *Form
	Draft  bool
	Rating *ServiceRating
	// Field is the field the field form edits ("" adds one).
	Field  string
	Values map[string]string
	Errors problem.Fields
	Index  []ErrorLink
	Alert  string
	// AlertPath says where the definition is wrong when it is not a field
	// of the form on the page.
	AlertPath string
	Message   string
	Types     []FieldType
	Kinds     []string
	JSON      string
	StartPath string
	// Choices are the fields a condition may name: the earlier choice,
	// multi and consent fields.
	Choices []Field
}

// DefaultRetention is the years a form without its own retention keeps
// its applications (the settings' hint).
func (EditorData) DefaultRetention() int { return DefaultRetentionYears }

// editorService finds the path's service in the catalogue.
func (h *Web) editorService(w http.ResponseWriter, r *http.Request) (Service, bool) {
	svc, ok, err := h.Store.Service(r.Context(), r.PathValue("service"))
	if err != nil {
		h.App.Fail(w, r, err)
		return svc, false
	}
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return svc, false
	}
	return svc, true
}

func (h *Web) editorData(w http.ResponseWriter, r *http.Request) (*EditorData, bool) {
	svc, ok := h.editorService(w, r)
	if !ok {
		return nil, false
	}
	versions, err := h.Forms.Versions(r.Context(), svc.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, false
	}
	ratings, err := h.Store.Ratings(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, false
	}
	d := &EditorData{Service: svc, Versions: versions, Rating: ratings[svc.ID], Values: map[string]string{}, Types: FieldTypes, Kinds: FileKinds,
		StartPath: StartPath(svc.ID)}
	if len(versions) > 0 {
		d.Form = versions[0]
		d.Draft = !d.Form.Published()
		d.JSON = string(indentJSON(d.Form.Def.JSON()))
		for _, f := range d.Form.Def.Fields {
			if f.Type == TypeChoice || f.Type == TypeMulti || f.Type == TypeConsent {
				d.Choices = append(d.Choices, f)
			}
		}
	}
	return d, true
}

func (h *Web) edService(w http.ResponseWriter, r *http.Request) {
	d, ok := h.editorData(w, r)
	if !ok {
		return
	}
	if m := r.URL.Query().Get("fatto"); slices.Contains([]string{"saved", "published", "discarded", "created", "deleted", "moved"}, m) {
		d.Message = "sportello.editor.done." + m
	}
	if d.Form != nil {
		d.Values = settingsValues(d.Form.Def)
	}
	h.renderEditor(w, r, http.StatusOK, d)
}

func (h *Web) renderEditor(w http.ResponseWriter, r *http.Request, status int, d *EditorData) {
	p := h.App.NewPage(r, "")
	p.Title = d.Service.Title
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.T("sportello.editor.title"), Href: edPath}, {Label: d.Service.Title}}
	h.indexErrors(p, d)
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	name := "sportello_ed_service"
	if d.Field != "" || r.PathValue("field") != "" || status != http.StatusOK && d.Values["form"] == "field" {
		name = "sportello_ed_field"
	}
	h.App.HTML(w, r, status, name, p)
}

func (h *Web) indexErrors(p *web.Page, d *EditorData) {
	keys := make([]string, 0, len(d.Errors))
	for k := range d.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.Index = append(d.Index, ErrorLink{ID: "f-" + strings.ReplaceAll(k, ".", "-"), Label: p.T("sportello.editor.field." + labelKey(k)), Message: p.T(d.Errors[k])})
	}
}

// labelKey is the message id's end for a form input's name.
func labelKey(name string) string {
	return strings.NewReplacer(".it", "", ".en", "", ".", "_").Replace(name)
}

// editorUser is the administrator acting.
func editorUser(r *http.Request) string {
	a, _ := identity.Current(r.Context())
	return a.ID
}

// edit applies fn to the service's draft (making it when there is none);
// a definition that does not validate comes back as errors beside the
// inputs of the page's form: the settings, or the field named field.
func (h *Web) edit(w http.ResponseWriter, r *http.Request, form string, values map[string]string, field string,
	fn func(*Definition) error, done string) {
	svc, ok := h.editorService(w, r)
	if !ok {
		return
	}
	_, err := h.Forms.Edit(r.Context(), svc.ID, editorUser(r), web.RemoteAddr(r), nil, fn)
	var de *DefinitionError
	var fe problem.Fields
	switch {
	case errors.As(err, &fe):
		h.editorRefused(w, r, form, values, fe, "", "")
	case errors.As(err, &de):
		// Where is the page's field in the definition as edited? Apply
		// the edit again, in memory, to the newest version.
		index := -1
		if versions, verr := h.Forms.Versions(r.Context(), svc.ID); verr == nil && len(versions) > 0 && field != "" {
			probe := versions[0].Def.Clone()
			if fn(probe) == nil {
				index = slices.IndexFunc(probe.Fields, func(f Field) bool { return f.Name == field })
			}
		}
		if name, ok := inputOf(de.Path, form, index); ok {
			h.editorRefused(w, r, form, values, problem.Fields{name: "sportello." + de.Reason}, "", "")
		} else {
			h.editorRefused(w, r, form, values, nil, "sportello."+de.Reason, de.Path)
		}
	case errors.Is(err, ErrNoForm):
		h.editorRefused(w, r, form, values, nil, "sportello.editor.error.no_form", "")
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, edPath+"/"+svc.ID, url.Values{"fatto": {done}})
	}
}

var pathRE = regexp.MustCompile(`^fields\[(\d+)\]\.(.+)$`)

// inputOf turns a definition's path into the name of the input on the
// page: a path of the page's field (index) — "fields[3].label" is
// "label" — or of the settings ("purpose"). ok is false for a path
// elsewhere (another field's condition).
func inputOf(path, form string, index int) (string, bool) {
	m := pathRE.FindStringSubmatch(path)
	if m == nil {
		if form == "settings" && (path == "purpose" || path == "intro" || path == "retention_years") {
			return path, true
		}
		return "", false
	}
	if i, _ := strconv.Atoi(m[1]); form != "field" || i != index {
		return "", false
	}
	rest := m[2]
	switch {
	case strings.HasPrefix(rest, "options"):
		return "options", true
	case strings.HasPrefix(rest, "show_if.values"):
		return "show_if_values", true
	case rest == "show_if.field":
		return "show_if_field", true
	case strings.HasPrefix(rest, "accept"):
		return "accept", true
	case strings.HasPrefix(rest, "messages.required"):
		return "msg_required", true
	case strings.HasPrefix(rest, "messages.invalid"):
		return "msg_invalid", true
	case rest == "label" || rest == "help":
		return rest, true
	}
	return rest, true
}

func (h *Web) editorRefused(w http.ResponseWriter, r *http.Request, form string, values map[string]string, fe problem.Fields, alert, path string) {
	d, ok := h.editorData(w, r)
	if !ok {
		return
	}
	values["form"] = form
	d.Values, d.Errors, d.Alert, d.AlertPath, d.Field = values, fe, alert, path, r.PathValue("field")
	if d.Alert == "" {
		d.Alert = "sportello.error.form"
	}
	if form == "field" && d.Field == "" {
		d.Field = "+"
	}
	h.renderEditor(w, r, http.StatusUnprocessableEntity, d)
}

// starter is the first draft of a service's form: a purpose in both
// languages and one question, for the author to change.
func starter(svc Service) *Definition {
	return &Definition{
		Purpose: Text{IT: "Gestire la richiesta di " + svc.Title + " e comunicare con te sul suo esito.",
			EN: "To handle your request (" + svc.Title + ") and tell you its outcome."},
		Withdrawable: true,
		Fields: []Field{{Name: "richiesta", Type: TypeLongText, Required: true,
			Label: Text{IT: "Descrivi la tua richiesta", EN: "Describe your request"}}},
	}
}

func (h *Web) edCreate(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	svc, ok := h.editorService(w, r)
	if !ok {
		return
	}
	if _, err := h.Forms.Edit(r.Context(), svc.ID, editorUser(r), web.RemoteAddr(r), starter(svc), func(*Definition) error { return nil }); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, edPath+"/"+svc.ID, url.Values{"fatto": {"created"}})
}

func settingsValues(d *Definition) map[string]string {
	v := map[string]string{"purpose.it": d.Purpose.IT, "purpose.en": d.Purpose.EN, "intro.it": d.Intro.IT, "intro.en": d.Intro.EN}
	if d.Withdrawable {
		v["withdrawable"] = "1"
	}
	if d.RetentionYears != 0 {
		v["retention_years"] = strconv.Itoa(d.RetentionYears)
	}
	return v
}

func formValues(f url.Values, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = strings.ReplaceAll(f.Get(n), "\r\n", "\n")
	}
	return out
}

func (h *Web) edSettings(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 64<<10) {
		return
	}
	v := formValues(r.PostForm, "purpose.it", "purpose.en", "intro.it", "intro.en", "withdrawable", "retention_years")
	years := 0
	if s := strings.TrimSpace(v["retention_years"]); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxRetentionYears {
			h.editorRefused(w, r, "settings", v, problem.Fields{"retention_years": "sportello.def.retention"}, "", "")
			return
		}
		years = n
	}
	h.edit(w, r, "settings", v, "", func(d *Definition) error {
		d.Purpose = Text{IT: strings.TrimSpace(v["purpose.it"]), EN: strings.TrimSpace(v["purpose.en"])}
		d.Intro = Text{IT: strings.TrimSpace(v["intro.it"]), EN: strings.TrimSpace(v["intro.en"])}
		d.Withdrawable = v["withdrawable"] == "1"
		d.RetentionYears = years
		return nil
	}, "saved")
}

// fieldInputs are the names of the field form's inputs.
var fieldInputs = []string{"name", "type", "label.it", "label.en", "help.it", "help.en", "required", "options", "show_if_field", "show_if_values",
	"max_length", "min", "max", "integer", "when", "accept", "msg_required.it", "msg_required.en", "msg_invalid.it", "msg_invalid.en"}

// fieldOf reads the field form: what does not parse (an option line, a
// number) comes back as errors beside its input.
func fieldOf(v map[string]string, accept []string) (Field, problem.Fields) {
	fe := problem.Fields{}
	t := func(k string) Text {
		return Text{IT: strings.TrimSpace(v[k+".it"]), EN: strings.TrimSpace(v[k+".en"])}
	}
	f := Field{Name: strings.TrimSpace(v["name"]), Type: FieldType(v["type"]), Label: t("label"), Help: t("help"), Required: v["required"] == "1",
		Integer: v["integer"] == "1", When: v["when"], Accept: accept,
		Messages: FieldMessages{Required: t("msg_required"), Invalid: t("msg_invalid")}}
	for _, line := range strings.Split(strings.TrimSpace(v["options"]), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			fe["options"] = "sportello.editor.error.option_line"
			break
		}
		f.Options = append(f.Options, Option{Value: strings.TrimSpace(parts[0]), Label: Text{IT: strings.TrimSpace(parts[1]), EN: strings.TrimSpace(parts[2])}})
	}
	if on := strings.TrimSpace(v["show_if_field"]); on != "" {
		f.ShowIf = &Condition{Field: on, Values: strings.FieldsFunc(v["show_if_values"], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })}
	}
	if s := strings.TrimSpace(v["max_length"]); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			fe["max_length"] = "sportello.error.integer"
		}
		f.MaxLength = n
	}
	for _, k := range []string{"min", "max"} {
		s := strings.TrimSpace(v[k])
		if s == "" {
			continue
		}
		n, ok := parseNumber(s)
		if !ok {
			fe[k] = "sportello.error.number"
			continue
		}
		if k == "min" {
			f.Min = &n
		} else {
			f.Max = &n
		}
	}
	if len(fe) == 0 {
		return f, nil
	}
	return f, fe
}

// fieldValues are the field form's inputs for a field.
func fieldValues(f Field) map[string]string {
	v := map[string]string{"name": f.Name, "type": string(f.Type), "label.it": f.Label.IT, "label.en": f.Label.EN, "help.it": f.Help.IT,
		"help.en": f.Help.EN, "when": f.When, "msg_required.it": f.Messages.Required.IT, "msg_required.en": f.Messages.Required.EN,
		"msg_invalid.it": f.Messages.Invalid.IT, "msg_invalid.en": f.Messages.Invalid.EN}
	for _, k := range f.Accept {
		v["accept."+k] = "1"
	}
	if f.Required {
		v["required"] = "1"
	}
	if f.Integer {
		v["integer"] = "1"
	}
	var lines []string
	for _, o := range f.Options {
		lines = append(lines, o.Value+" | "+o.Label.IT+" | "+o.Label.EN)
	}
	v["options"] = strings.Join(lines, "\n")
	if f.ShowIf != nil {
		v["show_if_field"], v["show_if_values"] = f.ShowIf.Field, strings.Join(f.ShowIf.Values, ", ")
	}
	if f.MaxLength > 0 {
		v["max_length"] = strconv.Itoa(f.MaxLength)
	}
	if f.Min != nil {
		v["min"] = formatNumber(*f.Min, "it")
	}
	if f.Max != nil {
		v["max"] = formatNumber(*f.Max, "it")
	}
	return v
}

func (h *Web) edAddField(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 64<<10) {
		return
	}
	v := formValues(r.PostForm, fieldInputs...)
	f, fe := fieldOf(v, r.PostForm["accept"])
	for _, k := range r.PostForm["accept"] {
		v["accept."+k] = "1"
	}
	if fe != nil {
		h.editorRefused(w, r, "field", v, fe, "", "")
		return
	}
	h.edit(w, r, "field", v, f.Name, func(d *Definition) error {
		d.Fields = append(d.Fields, f)
		return nil
	}, "saved")
}

func (h *Web) edFieldForm(w http.ResponseWriter, r *http.Request) {
	d, ok := h.editorData(w, r)
	if !ok {
		return
	}
	d.Field = r.PathValue("field")
	if d.Form == nil {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if d.Field != "+" {
		f, ok := d.Form.Def.Field(d.Field)
		if !ok {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		d.Values = fieldValues(*f)
	}
	h.renderEditor(w, r, http.StatusOK, d)
}

func (h *Web) edSaveField(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 64<<10) {
		return
	}
	name := r.PathValue("field")
	if name == "+" {
		h.edAddField(w, r)
		return
	}
	v := formValues(r.PostForm, fieldInputs...)
	f, fe := fieldOf(v, r.PostForm["accept"])
	for _, k := range r.PostForm["accept"] {
		v["accept."+k] = "1"
	}
	if fe != nil {
		h.editorRefused(w, r, "field", v, fe, "", "")
		return
	}
	h.edit(w, r, "field", v, f.Name, func(d *Definition) error {
		i := slices.IndexFunc(d.Fields, func(g Field) bool { return g.Name == name })
		if i < 0 {
			return problem.New(problem.NotFound, "", fmt.Errorf("no field %s", name))
		}
		d.Fields[i] = f
		if f.Name != name {
			// Conditions follow a renamed field.
			for j := range d.Fields {
				if c := d.Fields[j].ShowIf; c != nil && c.Field == name {
					c.Field = f.Name
				}
			}
		}
		return nil
	}, "saved")
}

func (h *Web) edMoveField(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	name, dir := r.PathValue("field"), r.PostForm.Get("dir")
	h.edit(w, r, "move", map[string]string{}, "", func(d *Definition) error {
		i := slices.IndexFunc(d.Fields, func(g Field) bool { return g.Name == name })
		j := i - 1
		if dir == "down" {
			j = i + 1
		}
		if i < 0 || j < 0 || j >= len(d.Fields) {
			return problem.New(problem.NotFound, "", fmt.Errorf("cannot move %s %s", name, dir))
		}
		d.Fields[i], d.Fields[j] = d.Fields[j], d.Fields[i]
		return nil
	}, "moved")
}

func (h *Web) edDeleteField(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	name := r.PathValue("field")
	h.edit(w, r, "delete", map[string]string{}, "", func(d *Definition) error {
		i := slices.IndexFunc(d.Fields, func(g Field) bool { return g.Name == name })
		if i < 0 {
			return problem.New(problem.NotFound, "", fmt.Errorf("no field %s", name))
		}
		d.Fields = slices.Delete(d.Fields, i, i+1)
		return nil
	}, "deleted")
}

func (h *Web) edJSON(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 512<<10) {
		return
	}
	text := r.PostForm.Get("json")
	v := map[string]string{"json": text}
	parsed, err := ParseDefinition([]byte(text))
	var de *DefinitionError
	if errors.As(err, &de) {
		h.editorRefused(w, r, "json", v, problem.Fields{"json": "sportello." + de.Reason}, "", de.Path)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.edit(w, r, "json", v, "", func(d *Definition) error {
		*d = *parsed
		return nil
	}, "saved")
}

func (h *Web) edPublish(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	svc, ok := h.editorService(w, r)
	if !ok {
		return
	}
	if _, err := h.Forms.Publish(r.Context(), svc.ID, editorUser(r), web.RemoteAddr(r)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, edPath+"/"+svc.ID, url.Values{"fatto": {"published"}})
}

func (h *Web) edDiscard(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	svc, ok := h.editorService(w, r)
	if !ok {
		return
	}
	if err := h.Forms.DiscardDraft(r.Context(), svc.ID, editorUser(r), web.RemoteAddr(r)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, edPath+"/"+svc.ID, url.Values{"fatto": {"discarded"}})
}

// PreviewData is the content of the preview: the form as residents see
// it, in the language chosen, and what a try of it gave.
type PreviewData struct {
	Service Service
	Form    *Form
	Fields  []FieldView
	Index   []ErrorLink
	Lang    string
	Tried   bool
	Valid   bool
	Kept    []FieldView
	Def     *Definition
	Intro   string
}

// edPreview shows a version as residents will fill it; a post checks the
// answers typed into it against the rules and shows the errors beside
// their fields, or what would be kept. Nothing is saved.
func (h *Web) edPreview(w http.ResponseWriter, r *http.Request) {
	svc, ok := h.editorService(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodPost && !h.App.ParseForm(w, r, 256<<10) {
		return
	}
	versions, err := h.Forms.Versions(r.Context(), svc.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if len(versions) == 0 {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	form := versions[0]
	if n, err := strconv.Atoi(r.FormValue("versione")); err == nil {
		i := slices.IndexFunc(versions, func(f *Form) bool { return f.Version == n })
		if i < 0 {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		form = versions[i]
	}
	lang := r.FormValue("lingua")
	if lang != "en" {
		lang = "it"
	}
	t := func(id string, args ...any) string { return h.App.I18n.T(lang, id, args...) }
	d := &PreviewData{Service: svc, Form: form, Lang: lang, Def: form.Def, Intro: form.Def.Intro.In(lang)}
	answers := Answers{}
	var errs map[string]FieldError
	if r.Method == http.MethodPost {
		answers, _ = answersOf(form.Def, r.PostForm)
		var kept Answers
		kept, errs = form.Def.Check(answers)
		d.Tried, d.Valid = true, errs == nil
		if d.Valid {
			shown := form.Def.Visible(kept)
			for _, f := range FieldViews(form.Def, kept, nil, nil, lang, t) {
				if shown[f.Name] && f.Shown() {
					d.Kept = append(d.Kept, f)
				}
			}
		}
	}
	d.Fields = FieldViews(form.Def, answers, errs, nil, lang, t)
	for _, f := range d.Fields {
		if f.Error != "" {
			d.Index = append(d.Index, ErrorLink{ID: f.ID, Label: f.Label, Message: f.Error})
		}
	}
	p := h.App.NewPage(r, "")
	p.Title = t("sportello.editor.preview") + ": " + svc.Title
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.T("sportello.editor.title"), Href: edPath},
		{Label: svc.Title, Href: edPath + "/" + svc.ID}, {Label: p.T("sportello.editor.preview")}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	status := http.StatusOK
	if d.Tried && !d.Valid {
		status = http.StatusUnprocessableEntity
	}
	h.App.HTML(w, r, status, "sportello_ed_preview", p)
}

// indentJSON lays a definition's JSON out for the editor's text area.
func indentJSON(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return b
	}
	return out.Bytes()
}
