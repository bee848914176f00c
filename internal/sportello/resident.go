package sportello

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// The resident's flow, as the national model's "permessi" archetype has
// it: Informativa sulla privacy → Dati generali → Modulo → Riepilogo →
// Richiesta inviata. Each step saves the draft, so it can be finished
// from another device; "Salva" saves without checking.

// Steps of the flow, as the stepper names them.
var flowSteps = []string{"sportello.step.privacy", "sportello.step.applicant", "sportello.step.form", "sportello.step.summary"}

// ErrorLink is one line of the error index above a form: a link to the
// field, its label and what is wrong.
type ErrorLink struct {
	ID, Label, Message string
}

// FlowData is the content of every page of the flow.
type FlowData struct {
	App     *Application
	Service Service
	Def     *Definition
	// Step is the page's step (1-4); Steps their message ids.
	Step  int
	Steps []string
	// The applicant's step: values, errors, what is proven.
	Values map[string]string
	Errors problem.Fields
	Proven map[string]bool
	Fields []FieldView
	// Index lists the errors, linked to their fields.
	Index   []ErrorLink
	Message string
	Alert   string
	// Migration tells the resident their draft moved to a newer version.
	Migration *Migration
	// Key is the start form's idempotency key.
	Key string
	// Drafts are the resident's drafts of this service (the privacy
	// step offers to resume them).
	Drafts []Summary
	// Delegations are those that let the resident act for someone else
	// for this service today; For is the one chosen ("": themselves).
	Delegations []Delegation
	For         string
	// Purpose is the privacy notice's purpose, in the page's language.
	Purpose string
	Intro   string
	// Retention is how many years the application is kept after its
	// conclusion (Definition.Retention).
	Retention int
	// Login and CardLogin are set on the privacy step when the visitor
	// must log in (or step up to the card) before starting: the notice is
	// public, starting is not.
	Login, CardLogin string
}

func (h *Web) flowPage(w http.ResponseWriter, r *http.Request, status int, name, title string, d *FlowData) {
	d.Steps = flowSteps
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	p := h.App.NewPage(r, "")
	p.Title = title
	if d.Def != nil {
		d.Purpose, d.Intro, d.Retention = d.Def.Purpose.In(p.Lang), d.Def.Intro.In(p.Lang), d.Def.Retention()
	}
	p.Breadcrumb = []web.Crumb{{Label: p.T("sportello.area"), Href: AreaPath}, {Label: title}}
	if d.Login != "" || d.CardLogin != "" {
		// Not logged in (or not enough): no personal area to go back to.
		p.Breadcrumb = p.Breadcrumb[1:]
	}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, name, p)
}

// privacy is step 1: the privacy notice, then a draft is made.
func (h *Web) privacy(w http.ResponseWriter, r *http.Request) {
	h.renderPrivacy(w, r, http.StatusOK, tokens.ID(), nil)
}

func (h *Web) renderPrivacy(w http.ResponseWriter, r *http.Request, status int, key string, errs problem.Fields) {
	svc, form, ok := h.requestable(w, r)
	if !ok {
		return
	}
	d := &FlowData{Service: svc, Def: form.Def, Step: 1, Key: key, Errors: errs}
	acc, se := identity.Current(r.Context())
	if acc == nil || !(svc.Assurance == "" || se.Assurance.Satisfies(svc.Assurance)) {
		// Anyone may read what the service asks and how the data are
		// used (the catalogue links here); starting needs the login.
		back := url.Values{"next": {r.URL.RequestURI()}}.Encode()
		d.CardLogin = "/accedi/carta?" + back
		if acc == nil && (svc.Assurance == "" || svc.Assurance == assurance.Low) {
			d.Login = "/accedi?" + back
		}
		h.flowPage(w, r, status, "sportello_privacy", svc.Title, d)
		return
	}
	_, _, o := resident(r)
	list, _, err := h.Store.Mine(r.Context(), o, 1)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	for _, s := range list {
		if s.ServiceID == svc.ID && s.State == Draft {
			d.Drafts = append(d.Drafts, s)
		}
	}
	if d.Delegations, err = h.Store.DelegationsFor(r.Context(), o.FiscalCode, svc.ID); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if r.Method == http.MethodPost {
		d.For = r.PostForm.Get("for")
	}
	lang := h.App.I18n.Lang(r)
	if msg, bad := errs["for"]; bad && len(d.Delegations) == 0 {
		// The delegation chosen is gone, and with it the choice: the
		// reason above the form.
		d.Alert = msg
	}
	for _, name := range []string{"for", "privacy"} {
		if msg, bad := errs[name]; bad && d.Alert == "" || bad && name == "privacy" {
			label := map[string]string{"for": "sportello.privacy.for", "privacy": "sportello.privacy.accept"}[name]
			d.Index = append(d.Index, ErrorLink{ID: "f-" + name, Label: h.App.I18n.T(lang, label), Message: h.App.I18n.T(lang, msg)})
		}
	}
	h.flowPage(w, r, status, "sportello_privacy", svc.Title, d)
}

// online finds the service of the path, requestable online, and checks the
// session is strong enough for it.
func (h *Web) online(w http.ResponseWriter, r *http.Request) (Service, *Form, bool) {
	svc, form, ok := h.requestable(w, r)
	if !ok || !h.enough(w, r, svc) {
		return svc, nil, false
	}
	return svc, form, true
}

// requestable finds the service of the path with its current online form.
func (h *Web) requestable(w http.ResponseWriter, r *http.Request) (Service, *Form, bool) {
	svc, ok, err := h.Store.Service(r.Context(), r.PathValue("service"))
	if err != nil {
		h.App.Fail(w, r, err)
		return svc, nil, false
	}
	if !ok || !svc.Active {
		h.App.Fail(w, r, ErrService)
		return svc, nil, false
	}
	form, err := h.Forms.Current(r.Context(), svc.ID)
	if errors.Is(err, ErrNoForm) {
		h.App.Fail(w, r, ErrService)
		return svc, nil, false
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return svc, nil, false
	}
	return svc, form, true
}

func (h *Web) start(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	key := r.PostForm.Get("key")
	if !ValidID(key) {
		key = tokens.ID()
	}
	if r.PostForm.Get("privacy") != "1" {
		h.renderPrivacy(w, r, http.StatusUnprocessableEntity, key, problem.Fields{"privacy": "sportello.privacy.required"})
		return
	}
	if _, _, ok := h.online(w, r); !ok {
		return
	}
	acc, se := identity.Current(r.Context())
	a, err := h.Store.StartFor(r.Context(), r.PathValue("service"), acc, se, key, r.PostForm.Get("for"), web.RemoteAddr(r))
	if errors.Is(err, ErrDelegation) {
		// Revoked or expired since the page was drawn: the page again,
		// without it, and why.
		h.renderPrivacy(w, r, http.StatusUnprocessableEntity, key, problem.Fields{"for": "sportello.error.delegation"})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, AreaPath+"/"+a.ID+"/richiedente", nil)
}

// draftOnly sends a submitted application's flow pages to its detail.
func draftOnly(w http.ResponseWriter, r *http.Request, a *Application) bool {
	if a.State == Draft {
		return true
	}
	web.Redirect(w, r, AreaPath+"/"+a.ID, nil)
	return false
}

// applicantValues are the applicant's data as the form shows them.
func applicantValues(a Applicant) (map[string]string, map[string]bool) {
	values := map[string]string{"given_name": a.GivenName.Value, "family_name": a.FamilyName.Value, "fiscal_code": a.FiscalCode.Value,
		"email": a.Email.Value, "phone": a.Phone.Value, "address": a.Address.Value}
	proven := map[string]bool{"given_name": a.GivenName.Fixed(), "family_name": a.FamilyName.Fixed(), "fiscal_code": a.FiscalCode.Fixed(),
		"email": a.Email.Proven(), "phone": false, "address": false}
	return values, proven
}

// applicantStep is step 2: the resident's data, proven ones read-only.
func (h *Web) applicantStep(w http.ResponseWriter, r *http.Request) {
	a, svc := h.application(w, r)
	if a == nil || !draftOnly(w, r, a) {
		return
	}
	d := &FlowData{App: a, Service: svc, Step: 2}
	d.Values, d.Proven = applicantValues(a.Applicant)
	if r.URL.Query().Get("salvata") != "" {
		d.Message = "sportello.saved"
	}
	h.flowPage(w, r, http.StatusOK, "sportello_applicant", svc.Title, d)
}

func (h *Web) saveApplicant(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 16<<10) {
		return
	}
	a, svc := h.application(w, r)
	if a == nil || !draftOnly(w, r, a) {
		return
	}
	_, _, o := resident(r)
	f := r.PostForm
	edit := Applicant{GivenName: Attribute{Value: f.Get("given_name")}, FamilyName: Attribute{Value: f.Get("family_name")},
		Email: Attribute{Value: f.Get("email")}, Phone: Attribute{Value: f.Get("phone")}, Address: Attribute{Value: f.Get("address")}}
	merged := mergeApplicant(a.Applicant, edit)
	action := f.Get("action")
	fe := CheckApplicant(merged)
	if action == "save" {
		fe = controlChars(merged) // a draft keeps what is half filled, not a control character
	}
	if fe != nil {
		d := &FlowData{App: a, Service: svc, Step: 2, Errors: fe, Alert: "sportello.error.form"}
		d.Values, d.Proven = applicantValues(merged)
		lang := h.App.I18n.Lang(r)
		for _, name := range []string{"given_name", "family_name", "email", "phone", "address"} {
			if msg, bad := fe[name]; bad {
				d.Index = append(d.Index, ErrorLink{ID: "f-" + name, Label: h.App.I18n.T(lang, "sportello.applicant."+name), Message: h.App.I18n.T(lang, msg)})
			}
		}
		h.flowPage(w, r, http.StatusUnprocessableEntity, "sportello_applicant", svc.Title, d)
		return
	}
	if _, err := h.Store.Save(r.Context(), a.ID, o, DraftEdit{Applicant: &edit}, web.RemoteAddr(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Header.Get("X-Autosave") == "1" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch action {
	case "save":
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/richiedente", url.Values{"salvata": {"1"}})
	default:
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/modulo", nil)
	}
}

// formStep is step 3: the service's form. A draft filled with a version
// that was superseded moves to the current one first, and the resident is
// told what could not be carried.
func (h *Web) formStep(w http.ResponseWriter, r *http.Request) {
	a, svc := h.application(w, r)
	if a == nil || !draftOnly(w, r, a) {
		return
	}
	_, _, o := resident(r)
	a, mig, err := h.Store.Refresh(r.Context(), a.ID, o, h.App.I18n.Lang(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &FlowData{App: a, Service: svc, Step: 3, Migration: mig}
	if r.URL.Query().Get("salvata") != "" {
		d.Message = "sportello.saved"
	}
	var errs map[string]FieldError
	if r.URL.Query().Get("controlla") != "" {
		// Sent back from the summary: show what is missing.
		form, err := h.Forms.ByID(r.Context(), a.FormID)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		_, errs = form.Def.Check(a.Answers)
		if errs != nil {
			d.Alert = "sportello.error.form"
		}
	}
	h.renderForm(w, r, http.StatusOK, d, errs)
}

func (h *Web) renderForm(w http.ResponseWriter, r *http.Request, status int, d *FlowData, errs map[string]FieldError) {
	form, err := h.Forms.ByID(r.Context(), d.App.FormID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	files, err := h.fileInfos(r, form.Def, d.App.Answers, d.App.AccountID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	lang := h.App.I18n.Lang(r)
	t := func(id string, args ...any) string { return h.App.I18n.T(lang, id, args...) }
	d.Def = form.Def
	d.Fields = FieldViews(form.Def, d.App.Answers, errs, files, lang, t)
	for _, f := range d.Fields {
		if f.Error != "" {
			d.Index = append(d.Index, ErrorLink{ID: f.ID, Label: f.Label, Message: f.Error})
		}
	}
	h.flowPage(w, r, status, "sportello_form", d.Service.Title, d)
}

// fileInfos are the documents the file answers name, the owner's.
func (h *Web) fileInfos(r *http.Request, def *Definition, a Answers, owner string) (map[string]*FileInfo, error) {
	out := map[string]*FileInfo{}
	for _, f := range def.Fields {
		id := a.One(f.Name)
		if f.Type != TypeFile || id == "" || h.Store.Files == nil {
			continue
		}
		info, err := h.Store.Files.Info(r.Context(), id, owner)
		if problem.KindOf(err) == problem.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[f.Name] = &info
	}
	return out, nil
}

// answersOf reads a form's answers from a post: every field of the
// definition, as the page names its inputs.
func answersOf(def *Definition, f url.Values) (Answers, []string) {
	a := Answers{}
	var names []string
	for _, fd := range def.Fields {
		names = append(names, fd.Name)
		switch fd.Type {
		case TypeAddress:
			parts := make([]string, 4)
			any := false
			for i, p := range AddressParts {
				parts[i] = f.Get(fd.Name + "." + p)
				any = any || strings.TrimSpace(parts[i]) != ""
			}
			if any {
				a[fd.Name] = parts
			}
		case TypeFile:
			// Files come in their own parts (saveForm).
		default:
			if v := f[fd.Name]; len(v) > 0 {
				a[fd.Name] = slices.Clone(v)
			}
		}
	}
	return a, names
}

func (h *Web) saveForm(w http.ResponseWriter, r *http.Request) {
	a, svc := h.application(w, r)
	if a == nil || !draftOnly(w, r, a) {
		return
	}
	acc, _, o := resident(r)
	form, err := h.Forms.ByID(r.Context(), a.FormID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	post := h.receive(w, r, acc.ID, form.Def)
	if post == nil {
		return
	}
	answers, names := answersOf(form.Def, post.values)
	// Files: a new upload replaces the field's document; "remove" drops
	// it; otherwise the draft keeps what it had.
	for _, fd := range form.Def.Fields {
		if fd.Type != TypeFile {
			continue
		}
		switch {
		case post.files[fd.Name] != nil:
			answers[fd.Name] = []string{post.files[fd.Name].ID}
		case post.values.Get(fd.Name+".remove") == "1":
		case a.Answers.One(fd.Name) != "":
			answers[fd.Name] = []string{a.Answers.One(fd.Name)}
		}
	}
	action := post.values.Get("action")
	saved, err := h.Store.Save(r.Context(), a.ID, o, DraftEdit{Answers: answers, Fields: names}, web.RemoteAddr(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Header.Get("X-Autosave") == "1" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_, errs := form.Def.Check(saved.Answers)
	for name, msg := range post.fileErrs {
		if errs == nil {
			errs = map[string]FieldError{}
		}
		errs[name] = FieldError{Code: msg}
	}
	switch {
	case action == "save" && len(post.fileErrs) == 0:
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/modulo", url.Values{"salvata": {"1"}})
	case action == "back" && len(post.fileErrs) == 0:
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/richiedente", nil)
	case errs != nil:
		// Every answer as typed stays in the form, saved in the draft,
		// with its error beside it.
		h.renderForm(w, r, http.StatusUnprocessableEntity, &FlowData{App: saved, Service: svc, Step: 3, Alert: "sportello.error.form"}, errs)
	default:
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/riepilogo", nil)
	}
}

// summary is step 4: everything the resident declares, with a link back
// to each step, and the button that sends it.
func (h *Web) summary(w http.ResponseWriter, r *http.Request) {
	a, svc := h.application(w, r)
	if a == nil || !draftOnly(w, r, a) {
		return
	}
	h.renderSummary(w, r, http.StatusOK, a, svc, "", nil)
}

func (h *Web) renderSummary(w http.ResponseWriter, r *http.Request, status int, a *Application, svc Service, alert string, errs problem.Fields) {
	form, err := h.Forms.ByID(r.Context(), a.FormID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	files, err := h.fileInfos(r, form.Def, a.Answers, a.AccountID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	lang := h.App.I18n.Lang(r)
	d := &FlowData{App: a, Service: svc, Def: form.Def, Step: 4, Alert: alert, Errors: errs}
	d.Values, d.Proven = applicantValues(a.Applicant)
	shown := form.Def.Visible(a.Answers)
	for _, f := range FieldViews(form.Def, a.Answers, nil, files, lang, func(id string, args ...any) string { return h.App.I18n.T(lang, id, args...) }) {
		if shown[f.Name] {
			d.Fields = append(d.Fields, f)
		}
	}
	if errs != nil {
		d.Index = []ErrorLink{{ID: "f-confirm", Label: h.App.I18n.T(lang, "sportello.summary.confirm"), Message: h.App.I18n.T(lang, errs["confirm"])}}
	}
	h.flowPage(w, r, status, "sportello_summary", svc.Title, d)
}

func (h *Web) submit(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	a, svc := h.application(w, r)
	if a == nil {
		return
	}
	if a.State != Draft {
		// A second click, a second tab: it is sent already.
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/ricevuta", nil)
		return
	}
	if r.PostForm.Get("confirm") != "1" {
		h.renderSummary(w, r, http.StatusUnprocessableEntity, a, svc, "sportello.error.form", problem.Fields{"confirm": "sportello.summary.confirm_required"})
		return
	}
	_, _, o := resident(r)
	_, err := h.Store.Submit(r.Context(), a.ID, o, web.RemoteAddr(r))
	var steps *StepErrors
	switch {
	case errors.As(err, &steps) && steps.Step == "richiedente":
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/richiedente", nil)
	case errors.As(err, &steps):
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/modulo", url.Values{"controlla": {"1"}})
	case errors.Is(err, ErrStaleForm):
		// The form changed while the resident filled it: the form step
		// moves the draft and says what changed.
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/modulo", nil)
	case err != nil:
		h.fail(w, r, err)
	default:
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/ricevuta", nil)
	}
}

func (h *Web) discard(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	a, _ := h.application(w, r)
	if a == nil {
		return
	}
	_, _, o := resident(r)
	if err := h.Store.Discard(r.Context(), a.ID, o, web.RemoteAddr(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	web.Redirect(w, r, AreaPath, url.Values{"eliminata": {"1"}})
}

// ReceiptData is the content of the confirmation page.
type ReceiptData struct {
	App     *Application
	Email   string
	Rating  *Rating
	Answers []string
	// RatingStep is 1 (stars), 2 (what was easy or hard) or 3 (thanks).
	RatingStep int
	Errors     problem.Fields
	Values     map[string]string
}

// receipt is the national model's confirmation: "Richiesta inviata", the
// protocol number, the date, the address the receipt went to, the PDF,
// the next steps and the ease rating.
func (h *Web) receipt(w http.ResponseWriter, r *http.Request) {
	h.renderReceipt(w, r, http.StatusOK, nil, nil)
}

func (h *Web) renderReceipt(w http.ResponseWriter, r *http.Request, status int, errs problem.Fields, values map[string]string) {
	a, _ := h.application(w, r)
	if a == nil {
		return
	}
	if a.State == Draft {
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/riepilogo", nil)
		return
	}
	rating, err := h.Store.RatingOf(r.Context(), a.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	acc, _, _ := resident(r)
	d := &ReceiptData{App: a, Rating: rating, Errors: errs, Values: values}
	if acc.EmailVerifiedAt != nil {
		d.Email = acc.Email
	}
	switch {
	case rating == nil:
		d.RatingStep = 1
	case rating.Answer == "":
		d.RatingStep = 2
		d.Answers = ratingAnswers(rating.Score)
	default:
		d.RatingStep = 3
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	p := h.App.NewPage(r, "sportello.receipt.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("sportello.area"), Href: AreaPath}, {Label: p.Title}}
	p.Data = d
	h.App.HTML(w, r, status, "sportello_receipt", p)
}

func (h *Web) rate(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	a, _ := h.application(w, r)
	if a == nil {
		return
	}
	_, _, o := resident(r)
	score := 0
	if s := r.PostForm.Get("score"); len(s) == 1 && s[0] >= '1' && s[0] <= '5' {
		score = int(s[0] - '0')
	}
	err := h.Store.Rate(r.Context(), a.ID, o, score)
	var fe problem.Fields
	switch {
	case errors.As(err, &fe):
		h.renderReceipt(w, r, http.StatusUnprocessableEntity, fe, nil)
	case errors.Is(err, ErrRated):
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/ricevuta", nil)
	case err != nil:
		h.fail(w, r, err)
	default:
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/ricevuta#valutazione", nil)
	}
}

func (h *Web) rateDetails(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 8<<10) {
		return
	}
	a, _ := h.application(w, r)
	if a == nil {
		return
	}
	_, _, o := resident(r)
	err := h.Store.RateDetails(r.Context(), a.ID, o, r.PostForm.Get("answer"), r.PostForm.Get("comment"))
	var fe problem.Fields
	switch {
	case errors.As(err, &fe):
		h.renderReceipt(w, r, http.StatusUnprocessableEntity, fe, map[string]string{"answer": r.PostForm.Get("answer"), "comment": r.PostForm.Get("comment")})
	case errors.Is(err, ErrRated):
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/ricevuta", nil)
	case err != nil:
		h.fail(w, r, err)
	default:
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/ricevuta#valutazione", nil)
	}
}

// MineData is the content of the resident's list.
type MineData struct {
	List    []Summary
	Pager   web.Pager
	Message string
	Now     time.Time
}

func (h *Web) mine(w http.ResponseWriter, r *http.Request) {
	_, _, o := resident(r)
	n := page(r)
	list, total, err := h.Store.Mine(r.Context(), o, n)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &MineData{List: list, Pager: newPager(n, total, nil, AreaPath), Now: time.Now()}
	if r.URL.Query().Get("eliminata") != "" {
		d.Message = "sportello.draft.discarded"
	}
	p := h.App.NewPage(r, "sportello.area")
	p.Breadcrumb = []web.Crumb{{Label: p.T("sportello.area")}}
	p.Data = d
	h.App.HTML(w, r, http.StatusOK, "sportello_list", p)
}
