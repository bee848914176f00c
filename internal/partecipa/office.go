package partecipa

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// OfficeRole is the participation office's role: it creates, opens,
// closes consultations and publishes their results.
const OfficeRole = "participation"

// guard is Partecipa's Guard: a page for a login at level, and for
// operators holding one of roles (released by the provider in the roles
// claim, at login).
func (p *Partecipa) guard(level assurance.Level, roles ...string) func(http.HandlerFunc) http.HandlerFunc {
	return func(next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v := Current(r.Context())
			if v == nil || !v.Level.Satisfies(level) {
				q := url.Values{"next": {r.URL.Path}}
				if level != assurance.Low {
					q.Set("livello", string(level))
				}
				web.Redirect(w, r, "/accedi", q)
				return
			}
			if len(roles) > 0 && !slices.ContainsFunc(roles, v.HasRole) {
				p.App.Error(w, r, http.StatusForbidden)
				return
			}
			next(w, r)
		}
	}
}

// OfficeListData is the office's list of consultations.
type OfficeListData struct {
	Items       []*Consultation
	Total, Page int
	Prev, Next  string
	Now         time.Time
}

func (p *Partecipa) officeList(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("pagina"))
	n = min(max(n, 1), 100000)
	items, total, err := p.Store.List(r.Context(), (n-1)*PageSize)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d := &OfficeListData{Items: items, Total: total, Page: n, Now: p.Store.now()}
	if n > 1 {
		d.Prev = "/ufficio?pagina=" + strconv.Itoa(n-1)
	}
	if n*PageSize < total {
		d.Next = "/ufficio?pagina=" + strconv.Itoa(n+1)
	}
	page := p.App.NewPage(r, "partecipa.office.title")
	page.Staff = true
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, http.StatusOK, "office_list", page)
}

// FormValues are the office's form as typed.
type FormValues struct {
	Title, Summary, Source, MinLevel, Districts, AgeBands, OpensAt, ClosesAt string
	ResidentsOnly, Editable, LiveResults                                     bool
}

// OfficeFormData is the page of one consultation in the office: its form
// while it is a draft, its state and actions.
type OfficeFormData struct {
	C            *Consultation
	Status       string
	V            FormValues
	Errors       map[string]string
	SourceErrors []string
	Levels       []assurance.Level
	Participants int
	Message      string
}

const localLayout = "2006-01-02T15:04"

func valuesOf(c *Consultation) FormValues {
	return FormValues{Title: c.Title, Summary: c.Summary, Source: c.Source, MinLevel: string(c.MinLevel), Districts: strings.Join(c.Districts, ", "),
		AgeBands: strings.Join(c.AgeBands, ", "), OpensAt: c.OpensAt.In(hours.Rome).Format(localLayout), ClosesAt: c.ClosesAt.In(hours.Rome).Format(localLayout),
		ResidentsOnly: c.ResidentsOnly, Editable: c.Editable, LiveResults: c.LiveResults}
}

func readValues(f url.Values) (FormValues, Input) {
	v := FormValues{Title: f.Get("title"), Summary: f.Get("summary"), Source: f.Get("source"), MinLevel: f.Get("min_level"),
		Districts: f.Get("districts"), AgeBands: f.Get("age_bands"), OpensAt: f.Get("opens_at"), ClosesAt: f.Get("closes_at"),
		ResidentsOnly: f.Get("residents_only") == "1", Editable: f.Get("editable") == "1", LiveResults: f.Get("live_results") == "1"}
	in := Input{Title: v.Title, Summary: v.Summary, Source: v.Source, MinLevel: v.MinLevel, ResidentsOnly: v.ResidentsOnly,
		Districts: v.Districts, AgeBands: v.AgeBands, Editable: v.Editable, LiveResults: v.LiveResults}
	in.OpensAt, _ = time.ParseInLocation(localLayout, strings.TrimSpace(v.OpensAt), hours.Rome)
	in.ClosesAt, _ = time.ParseInLocation(localLayout, strings.TrimSpace(v.ClosesAt), hours.Rome)
	return v, in
}

func (p *Partecipa) officeForm(w http.ResponseWriter, r *http.Request, status int, d *OfficeFormData, err error) {
	page := p.App.NewPage(r, "partecipa.office.new")
	if d.C != nil {
		page.Title = d.C.Title
		d.Status = d.C.Status(p.Store.now())
	}
	page.Staff = true
	page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.office.title"), Href: "/ufficio"}, {Label: page.Title}}
	d.Levels = assurance.Levels
	var bad *Invalid
	if errors.As(err, &bad) {
		d.Errors = map[string]string{}
		for k, m := range bad.Fields {
			d.Errors[k] = page.T(m)
		}
		for _, e := range bad.Source {
			msg := page.T(e.Msg, "Arg", e.Arg)
			if e.Line > 0 {
				msg = page.T("partecipa.q.line", "Line", e.Line, "Message", msg)
			}
			d.SourceErrors = append(d.SourceErrors, msg)
		}
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, status, "office_form", page)
}

func (p *Partecipa) officeNew(w http.ResponseWriter, r *http.Request) {
	now := p.Store.now().In(hours.Rome)
	p.officeForm(w, r, http.StatusOK, &OfficeFormData{V: FormValues{MinLevel: string(assurance.Substantial), ResidentsOnly: true,
		OpensAt: now.Truncate(time.Hour).Add(time.Hour).Format(localLayout), ClosesAt: now.Truncate(time.Hour).AddDate(0, 0, 30).Format(localLayout)}}, nil)
}

func (p *Partecipa) officeCreate(w http.ResponseWriter, r *http.Request) {
	if !p.App.ParseForm(w, r, 64<<10) {
		return
	}
	v, in := readValues(r.PostForm)
	id, err := p.Store.Create(r.Context(), in, Current(r.Context()).Subject)
	if err != nil {
		if !errors.Is(err, problem.ErrInvalid) {
			p.App.Fail(w, r, err)
			return
		}
		p.officeForm(w, r, http.StatusUnprocessableEntity, &OfficeFormData{V: v}, err)
		return
	}
	http.Redirect(w, r, "/ufficio/"+id, http.StatusSeeOther) // #nosec G710 -- id is the random hex id Create made, a path on this site
}

func (p *Partecipa) officeConsultation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := p.Store.Get(ctx, r.PathValue("id"), true)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d := &OfficeFormData{C: c, V: valuesOf(c)}
	if m := r.URL.Query().Get("fatto"); slices.Contains([]string{"created", "saved", "opened", "closed", "published"}, m) {
		d.Message = "partecipa.office.done_" + m
	}
	if d.Participants, err = p.Store.Participants(ctx, c.ID); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	p.officeForm(w, r, http.StatusOK, d, nil)
}

func (p *Partecipa) officeUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := p.Store.Get(ctx, r.PathValue("id"), true)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if !p.App.ParseForm(w, r, 64<<10) {
		return
	}
	v, in := readValues(r.PostForm)
	if err := p.Store.Update(ctx, c.ID, in, Current(ctx).Subject); err != nil {
		if !errors.Is(err, problem.ErrInvalid) {
			p.App.Fail(w, r, err)
			return
		}
		p.officeForm(w, r, http.StatusUnprocessableEntity, &OfficeFormData{C: c, V: v}, err)
		return
	}
	http.Redirect(w, r, "/ufficio/"+c.ID+"?fatto=saved", http.StatusSeeOther)
}

// officeAction opens, closes or publishes a consultation.
func (p *Partecipa) officeAction(do func(ctx context.Context, id, actor string) error, done string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := p.Store.Get(r.Context(), id, true); err != nil {
			p.App.Fail(w, r, err)
			return
		}
		if err := do(r.Context(), id, Current(r.Context()).Subject); err != nil {
			p.App.Fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/ufficio/"+id+"?fatto="+done, http.StatusSeeOther)
	}
}

// officePreview shows the consultation as a resident allowed to answer
// sees it, the form without a button that sends.
func (p *Partecipa) officePreview(w http.ResponseWriter, r *http.Request) {
	c, err := p.Store.Get(r.Context(), r.PathValue("id"), true)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	page := p.App.NewPage(r, "")
	d := &ConsultationData{Preview: true, Form: &FormView{Preview: true, Questions: questionViews(page, c.Questions, Answers{}, nil)}}
	p.consultationPage(w, r, http.StatusOK, c, d)
}

func (p *Partecipa) officeResults(w http.ResponseWriter, r *http.Request) {
	c, err := p.Store.Get(r.Context(), r.PathValue("id"), true)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	p.renderResults(w, r, c, true)
}
