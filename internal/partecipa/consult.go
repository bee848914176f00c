package partecipa

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// maxAnswersBody bounds a posted questionnaire: sixty long answers.
const maxAnswersBody = 512 << 10

// ConsultationData is a consultation's page.
type ConsultationData struct {
	C      *Consultation
	Status string
	// LoginHref is where a visitor logs in to answer; Why why the viewer
	// may not (a message id), with StepUp when a stronger login would do.
	LoginHref, Why, StepUp string
	// Answered: the viewer is on the roll. Sent: they have just sent
	// their answers, Amended: changed them; Receipt is what finds their
	// ballot again (editable consultations).
	Answered, Sent, Amended bool
	Receipt                 string
	Form                    *FormView
	// ReceiptForm asks a participant for their receipt, to change their
	// answers; ReceiptError is its error.
	ReceiptForm        bool
	ReceiptValue       string
	ReceiptError       string
	ResultsPublic      bool
	Preview            bool
	RequiredLevelLabel string
}

// FormView is the questionnaire's form.
type FormView struct {
	Action    string
	Questions []QuestionView
	Errors    []ErrorLink
	Saved     bool
	// Receipt, when set, is an amendment's hidden receipt.
	Receipt string
	Preview bool
}

func (p *Partecipa) consultationPage(w http.ResponseWriter, r *http.Request, status int, c *Consultation, d *ConsultationData) {
	page := p.App.NewPage(r, "")
	page.Title = c.Title
	page.Description = c.Summary
	page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.menu.consultations"), Href: "/"}, {Label: c.Title}}
	d.C = c
	now := p.Store.now()
	d.Status = c.Status(now)
	d.ResultsPublic = c.ResultsPublic(now)
	d.RequiredLevelLabel = "partecipa.profile.level_" + string(c.MinLevel)
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, status, "consultation", page)
}

func (p *Partecipa) consultation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := p.Store.Get(ctx, r.PathValue("id"), false)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d := &ConsultationData{}
	if err := p.fillViewer(r, c, d, nil, nil); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if d.Form != nil {
		d.Form.Saved = r.URL.Query().Get("salvato") == "1"
	}
	p.consultationPage(w, r, http.StatusOK, c, d)
}

// fillViewer says what the viewer may do on the page: log in, answer (the
// form, with their draft or the answers given), or change their answers.
func (p *Partecipa) fillViewer(r *http.Request, c *Consultation, d *ConsultationData, answers Answers, errs map[string]string) error {
	ctx := r.Context()
	v := Current(ctx)
	now := p.Store.now()
	if !c.AcceptsAt(now) {
		return nil
	}
	if v == nil {
		q := url.Values{"next": {"/consultazioni/" + c.ID}}
		if c.MinLevel != assurance.Low {
			q.Set("livello", string(c.MinLevel))
		}
		d.LoginHref = "/accedi?" + q.Encode()
		return nil
	}
	took, err := p.Store.Participated(ctx, c.ID, v.Subject)
	if err != nil {
		return err
	}
	if took {
		d.Answered = true
		d.ReceiptForm = c.Editable
		return nil
	}
	if ok, why := c.Eligible(v); !ok {
		d.Why = why
		if why == "partecipa.c.level" {
			d.StepUp = "/accedi?" + url.Values{"livello": {string(c.MinLevel)}, "next": {"/consultazioni/" + c.ID}}.Encode()
		}
		return nil
	}
	if answers == nil {
		if answers, _, err = p.Store.Draft(ctx, c.ID, v.Subject); err != nil {
			return err
		}
	}
	page := p.App.NewPage(r, "")
	d.Form = &FormView{Action: "/consultazioni/" + c.ID, Questions: questionViews(page, c.Questions, answers, errs)}
	d.Form.Errors = errorIndex(page, d.Form.Questions)
	return nil
}

// answer saves the resident's draft or sends their ballot.
func (p *Partecipa) answer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := Current(ctx)
	id := r.PathValue("id")
	if v == nil {
		web.Redirect(w, r, "/accedi", url.Values{"next": {"/consultazioni/" + id}})
		return
	}
	c, err := p.Store.Get(ctx, id, false)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if !p.App.ParseForm(w, r, maxAnswersBody) {
		return
	}
	given := ReadAnswers(c.Questions, r.PostForm)
	send := r.PostForm.Get("action") == "send"
	checked, errs := Check(c.Questions, given, send)
	if len(errs) > 0 {
		p.invalidAnswers(w, r, c, given, errs)
		return
	}
	if !send {
		if err := p.Store.SaveDraft(ctx, c, v, checked); err != nil {
			p.App.Fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/consultazioni/"+c.ID+"?salvato=1#questionario", http.StatusSeeOther)
		return
	}
	receipt, err := p.Store.Cast(ctx, c, v, checked)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d := &ConsultationData{Answered: true, Sent: true}
	if c.Editable {
		d.Receipt = receipt
	}
	p.consultationPage(w, r, http.StatusOK, c, d)
}

func (p *Partecipa) invalidAnswers(w http.ResponseWriter, r *http.Request, c *Consultation, given Answers, errs map[string]string) {
	d := &ConsultationData{}
	if err := p.fillViewer(r, c, d, given, errs); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	p.consultationPage(w, r, http.StatusUnprocessableEntity, c, d)
}

// amend opens a participant's ballot with its receipt, and with action
// send, replaces its answers.
func (p *Partecipa) amend(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := Current(ctx)
	id := r.PathValue("id")
	if v == nil {
		web.Redirect(w, r, "/accedi", url.Values{"next": {"/consultazioni/" + id}})
		return
	}
	c, err := p.Store.Get(ctx, id, false)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if !p.App.ParseForm(w, r, maxAnswersBody) {
		return
	}
	receipt := r.PostForm.Get("receipt")
	receiptError := func(err error) bool {
		var f problem.Fields
		if !errors.As(err, &f) {
			return false
		}
		page := p.App.NewPage(r, "")
		p.consultationPage(w, r, http.StatusUnprocessableEntity, c, &ConsultationData{Answered: true, ReceiptForm: true, ReceiptValue: receipt, ReceiptError: page.T(f["receipt"])})
		return true
	}
	form := func(status int, answers Answers, errs map[string]string) {
		page := p.App.NewPage(r, "")
		d := &ConsultationData{Answered: true, Form: &FormView{Action: "/consultazioni/" + c.ID + "/modifica", Receipt: receipt,
			Questions: questionViews(page, c.Questions, answers, errs)}}
		d.Form.Errors = errorIndex(page, d.Form.Questions)
		p.consultationPage(w, r, status, c, d)
	}
	if r.PostForm.Get("action") != "send" {
		answers, err := p.Store.Ballot(ctx, c, v, receipt)
		if err != nil {
			if !receiptError(err) {
				p.App.Fail(w, r, err)
			}
			return
		}
		form(http.StatusOK, answers, nil)
		return
	}
	given := ReadAnswers(c.Questions, r.PostForm)
	checked, errs := Check(c.Questions, given, true)
	if len(errs) > 0 {
		form(http.StatusUnprocessableEntity, given, errs)
		return
	}
	if err := p.Store.Amend(ctx, c, v, receipt, checked); err != nil {
		if !receiptError(err) {
			p.App.Fail(w, r, err)
		}
		return
	}
	p.consultationPage(w, r, http.StatusOK, c, &ConsultationData{Answered: true, Amended: true})
}

// HomeData is Partecipa's home page.
type HomeData struct {
	Open, Others []*Consultation
	Now          time.Time
}

func (p *Partecipa) home(w http.ResponseWriter, r *http.Request) {
	list, err := p.Store.Public(r.Context())
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	now := p.Store.now()
	d := &HomeData{Now: now}
	for _, c := range list {
		if s := c.Status(now); s == "open" || s == "scheduled" {
			d.Open = append(d.Open, c)
		} else {
			d.Others = append(d.Others, c)
		}
	}
	page := p.App.NewPage(r, "partecipa.home.title")
	page.Data = d
	p.App.HTML(w, r, http.StatusOK, "home", page)
}
