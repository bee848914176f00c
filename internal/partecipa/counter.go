package partecipa

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// CounterRole is the operators' role that records answers at a counter
// (the provider's oidcop.CounterRole, released in the roles claim).
const CounterRole = "participation_desk"

// counterPath is the provider's counter endpoint (oidcop.PathCounterSubject).
const counterPath = "/oidc/counter/subject"

// Errors of a counter look-up, beside the fiscal code field or on the page.
var (
	// ErrCounterLogin: the operator's access token expired (or the session
	// has none): a new login through the provider gives a fresh one.
	ErrCounterLogin = problem.New(problem.Forbidden, "partecipa.counter.login_again", nil)
	errUnknownCode  = problem.Fields{"fiscal_code": "partecipa.counter.unknown"}
	errBadCode      = problem.Fields{"fiscal_code": "partecipa.counter.bad_code"}
	// errOtherSpelling: the provider has this code under another spelling
	// too (an omocodic variant) and cannot tell whether they are one
	// person: the registry office settles it (outside review L4).
	errOtherSpelling = problem.Fields{"fiscal_code": "partecipa.counter.other_spelling"}
)

// CounterLookup asks the provider for the resident a fiscal code names, as
// Partecipa knows them: their pairwise subject and residence, nothing
// else (never whether they took part: the roll answers that, at casting).
// The operator's own access token, issued to Partecipa, is the proof of
// their role; the provider checks the role, audits and limits the look-up.
func (a *Auth) CounterLookup(ctx context.Context, operator *Viewer, fiscalCode string) (*Viewer, error) {
	if operator == nil || !operator.HasRole(CounterRole) {
		return nil, problem.ErrForbidden
	}
	access := a.openToken(operator.accessToken)
	if access == "" || !a.now().Before(operator.accessExpires) {
		return nil, ErrCounterLogin
	}
	code := strings.ToUpper(strings.Join(strings.Fields(fiscalCode), ""))
	if len(code) != 16 {
		return nil, errBadCode
	}
	if _, err := a.discover(ctx); err != nil {
		return nil, err
	}
	form := url.Values{"client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "fiscal_code": {code}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.Issuer, "/")+counterPath, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := a.client.Do(req) // #nosec G704 -- the configured issuer's own endpoint
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	if err != nil {
		return nil, err
	}
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, errUnknownCode
	case http.StatusConflict:
		return nil, errOtherSpelling
	case http.StatusUnprocessableEntity:
		return nil, errBadCode
	case http.StatusUnauthorized:
		return nil, ErrCounterLogin
	case http.StatusForbidden:
		return nil, problem.ErrForbidden
	case http.StatusTooManyRequests:
		return nil, problem.New(problem.Throttled, "partecipa.counter.slow_down", nil)
	default:
		return nil, errors.New("counter subject: the provider answered " + res.Status)
	}
	var ans struct {
		Subject  string `json:"sub"`
		Resident bool   `json:"resident"`
		District string `json:"district"`
		AgeBand  string `json:"age_band"`
		Sex      string `json:"sex"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Subject == "" {
		return nil, errors.New("counter subject: an answer without a subject")
	}
	return CounterResident(ans.Subject, ans.Resident, ans.District, ans.AgeBand, ans.Sex), nil
}

// CounterData is the counter's page: the consultations open now, or one
// of them with its form.
type CounterData struct {
	Open []*Consultation
	C    *Consultation
	Form *FormView
	// FiscalCode is as typed; CodeError its error. Error is a refusal
	// of the whole answer (already taken part, not eligible); Recorded:
	// the last answer was recorded.
	FiscalCode, CodeError, Error string
	Recorded                     bool
}

func (p *Partecipa) counterPage(w http.ResponseWriter, r *http.Request, status int, d *CounterData) {
	page := p.App.NewPage(r, "partecipa.counter.title")
	page.Staff = true
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	if d.C != nil {
		page.Breadcrumb = []web.Crumb{{Label: page.Title, Href: "/sportello"}, {Label: d.C.Title}}
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, status, "counter", page)
}

// counterList lists the consultations that accept answers now.
func (p *Partecipa) counterList(w http.ResponseWriter, r *http.Request) {
	list, err := p.Store.Public(r.Context())
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d := &CounterData{}
	now := p.Store.now()
	for _, c := range list {
		if c.AcceptsAt(now) {
			d.Open = append(d.Open, c)
		}
	}
	p.counterPage(w, r, http.StatusOK, d)
}

// counterForm is a consultation's counter form: the resident's fiscal
// code and the questionnaire.
func (p *Partecipa) counterForm(w http.ResponseWriter, r *http.Request) {
	c, err := p.counterConsultation(r)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	page := p.App.NewPage(r, "")
	d := &CounterData{C: c, Recorded: r.URL.Query().Get("registrata") == "1",
		Form: &FormView{Action: "/sportello/" + c.ID, Questions: questionViews(page, c.Questions, nil, nil)}}
	p.counterPage(w, r, http.StatusOK, d)
}

func (p *Partecipa) counterConsultation(r *http.Request) (*Consultation, error) {
	c, err := p.Store.Get(r.Context(), r.PathValue("id"), false)
	if err != nil {
		return nil, err
	}
	if !c.AcceptsAt(p.Store.now()) {
		return nil, problem.New(problem.Conflict, "partecipa.c.not_open", nil)
	}
	return c, nil
}

// counterRecord records a counter answer: the answers are checked, the
// provider names the resident, and the roll takes them, or says they
// already took part.
func (p *Partecipa) counterRecord(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	operator := Current(ctx)
	c, err := p.counterConsultation(r)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if !p.App.ParseForm(w, r, maxAnswersBody) {
		return
	}
	page := p.App.NewPage(r, "")
	code := r.PostForm.Get("fiscal_code")
	given := ReadAnswers(c.Questions, r.PostForm)
	checked, errs := Check(c.Questions, given, true)
	again := func(codeErr, msg string) {
		d := &CounterData{C: c, FiscalCode: code, CodeError: codeErr, Error: msg,
			Form: &FormView{Action: "/sportello/" + c.ID, Questions: questionViews(page, c.Questions, given, errs)}}
		d.Form.Errors = errorIndex(page, d.Form.Questions)
		if codeErr != "" {
			d.Form.Errors = append([]ErrorLink{{Href: "#fiscal_code", Label: page.T("partecipa.counter.code"), Message: codeErr}}, d.Form.Errors...)
		}
		p.counterPage(w, r, http.StatusUnprocessableEntity, d)
	}
	if strings.TrimSpace(code) == "" {
		again(page.T("partecipa.counter.code_required"), "")
		return
	}
	if len(errs) > 0 {
		again("", "")
		return
	}
	resident, err := p.Auth.CounterLookup(ctx, operator, code)
	if errors.Is(err, ErrCounterLogin) {
		web.Redirect(w, r, "/accedi", url.Values{"next": {"/sportello/" + c.ID}})
		return
	}
	var f problem.Fields
	if errors.As(err, &f) {
		again(page.T(f["fiscal_code"]), "")
		return
	}
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	err = p.Store.CastCounter(ctx, c, operator, resident, checked)
	var pe *problem.Error
	switch {
	case errors.Is(err, ErrAnswered):
		again("", page.T("partecipa.counter.answered"))
		return
	case errors.As(err, &pe) && pe.Kind == problem.Forbidden && pe.Message != "":
		again("", page.T(pe.Message))
		return
	case err != nil:
		p.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/sportello/"+c.ID+"?registrata=1", http.StatusSeeOther)
}
