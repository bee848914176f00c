package partecipa

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// maxProposalBody bounds a posted proposal, comment or report.
const maxProposalBody = 64 << 10

// proposalRoutes are the proposals' pages: the public list and pages,
// the residents' forms, and the office's.
func (p *Partecipa) proposalRoutes(m, office web.Registrar) {
	m.HandleFunc("GET /proposte", p.proposals)
	m.HandleFunc("GET /proposte/nuova", p.proposalNew)
	m.HandleFunc("POST /proposte/nuova", p.proposalCreate)
	m.HandleFunc("GET /proposte/{id}", p.proposal)
	m.HandleFunc("POST /proposte/{id}/sostieni", p.proposalSupport)
	m.HandleFunc("POST /proposte/{id}/commenti", p.proposalComment)
	m.HandleFunc("POST /proposte/{id}/segnala", p.proposalReport)
	office.HandleFunc("GET /ufficio/proposte", p.officeProposals)
	office.HandleFunc("GET /ufficio/segnalazioni", p.officeReports)
	office.HandleFunc("POST /ufficio/segnalazioni", p.officeDismiss)
	office.HandleFunc("GET /proposte/{id}/gestione", p.officeProposal)
	office.HandleFunc("POST /proposte/{id}/gestione", p.officeDecide)
	office.HandleFunc("POST /proposte/{id}/nascondi", p.officeHide)
	office.HandleFunc("POST /proposte/{id}/mostra", p.officeRestore)
}

func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("pagina"))
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// pager is page n of a list at path, its filters q kept in the links.
func pager(path string, q url.Values, n, total int) web.Pager {
	return web.NewPager(path, q, "pagina", n, total, PageSize)
}

// ProposalsData is the public list of proposals.
type ProposalsData struct {
	Items              []*Proposal
	Pager              web.Pager
	Category, Status   string
	Categories, States []string
	Now                time.Time
}

func (p *Partecipa) proposals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &ProposalsData{Categories: Categories, States: Statuses, Now: p.Store.now()}
	if c := q.Get("categoria"); slices.Contains(Categories, c) {
		d.Category = c
	}
	if s := q.Get("stato"); slices.Contains(Statuses, s) {
		d.Status = s
	}
	n := pageNumber(r)
	items, total, err := p.Store.Proposals(r.Context(), ProposalQuery{Category: d.Category, Status: d.Status, Offset: (n - 1) * PageSize})
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d.Items = items
	keep := url.Values{}
	if d.Category != "" {
		keep.Set("categoria", d.Category)
	}
	if d.Status != "" {
		keep.Set("stato", d.Status)
	}
	d.Pager = pager("/proposte", keep, n, total)
	page := p.App.NewPage(r, "partecipa.p.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	p.App.HTML(w, r, http.StatusOK, "proposals", page)
}

// ProposalFormData is the form of a new proposal.
type ProposalFormData struct {
	V          ProposalInput
	Errors     map[string]string
	Categories []string
	// Points: the town shows maps, so a point may be given.
	Points bool
	// Why the viewer may not propose (a message id), with where to log
	// in or to step up.
	Why, LoginHref string
}

func (p *Partecipa) proposalForm(w http.ResponseWriter, r *http.Request, status int, d *ProposalFormData, err error) {
	page := p.App.NewPage(r, "partecipa.p.new")
	page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.p.title"), Href: "/proposte"}, {Label: page.Title}}
	d.Categories, d.Points = Categories, p.App.Maps != nil
	if ok, why := MayPropose(Current(r.Context())); !ok {
		d.Why = why
		q := url.Values{"next": {"/proposte/nuova"}, "livello": {"substantial"}}
		d.LoginHref = "/accedi?" + q.Encode()
	}
	var f problem.Fields
	if errors.As(err, &f) {
		d.Errors = map[string]string{}
		for k, m := range f {
			d.Errors[k] = page.T(m)
		}
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, status, "proposal_form", page)
}

func (p *Partecipa) proposalNew(w http.ResponseWriter, r *http.Request) {
	p.proposalForm(w, r, http.StatusOK, &ProposalFormData{}, nil)
}

func (p *Partecipa) proposalCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := Current(ctx)
	if v == nil {
		web.Redirect(w, r, "/accedi", url.Values{"next": {"/proposte/nuova"}, "livello": {"substantial"}})
		return
	}
	if !p.App.ParseForm(w, r, maxProposalBody) {
		return
	}
	f := r.PostForm
	in := ProposalInput{Title: f.Get("title"), Body: f.Get("body"), Category: f.Get("category"), Address: f.Get("address"), Lat: f.Get("lat"), Lon: f.Get("lon")}
	id, err := p.Store.CreateProposal(ctx, v, in, p.App.Maps != nil)
	if err != nil {
		if !errors.Is(err, problem.ErrInvalid) {
			p.App.Fail(w, r, err)
			return
		}
		p.proposalForm(w, r, http.StatusUnprocessableEntity, &ProposalFormData{V: in}, err)
		return
	}
	http.Redirect(w, r, "/proposte/"+id+"?fatto=created", http.StatusSeeOther) // #nosec G710 -- id is the random hex id CreateProposal made
}

// ProposalData is a proposal's page.
type ProposalData struct {
	P   *Proposal
	Now time.Time
	// Supported: the viewer supports it; MaySupport: they may; Why not
	// (a message id) and where to log in or step up.
	Supported, MaySupport bool
	Why, LoginHref        string
	LoggedIn, Office      bool
	Comments              []*Comment
	Pager                 web.Pager
	// Message is the outcome of the viewer's last action (a message id).
	Message string
	// Err is a form of the page sent back with an error: its kind
	// ("comment" or "report"), its target (the comment replied to or
	// reported; "" for a new comment, the proposal's id for its report),
	// what was typed and the errors.
	Err        *FormError
	Reasons    []string
	Points     bool
	Categories []string
}

// FormError is a form of a page sent back with its errors beside its
// fields, what was typed kept.
type FormError struct {
	Form, Target, Body, Reason, Note string
	Errors                           map[string]string
}

// messages a redirect may carry back to a proposal's page.
var proposalMessages = []string{"created", "supported", "already_supported", "commented", "reported", "already_reported"}

func (p *Partecipa) proposalPage(w http.ResponseWriter, r *http.Request, status int, pr *Proposal, d *ProposalData) {
	ctx := r.Context()
	v := Current(ctx)
	page := p.App.NewPage(r, "")
	page.Title = pr.Title
	if pr.Hidden() {
		page.Title = page.T("partecipa.mod.hidden_proposal")
	} else {
		page.Description = excerpt(pr.Body, 200)
	}
	page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.p.title"), Href: "/proposte"}, {Label: page.Title}}
	d.P, d.Now, d.Reasons, d.Categories = pr, p.Store.now(), Reasons, Categories
	d.LoggedIn, d.Office = v != nil, v.HasRole(OfficeRole)
	d.MaySupport, d.Why = MayPropose(v)
	if v == nil {
		d.LoginHref = "/accedi?" + url.Values{"next": {"/proposte/" + pr.ID}, "livello": {"substantial"}}.Encode()
	} else if d.Why == "partecipa.p.level" {
		d.LoginHref = "/accedi?" + url.Values{"next": {"/proposte/" + pr.ID}, "livello": {"substantial"}}.Encode()
	}
	if v != nil {
		ok, err := p.Store.Supports(ctx, pr.ID, v.Subject)
		if err != nil {
			p.App.Fail(w, r, err)
			return
		}
		d.Supported = ok
	}
	if m := r.URL.Query().Get("fatto"); d.Message == "" && slices.Contains(proposalMessages, m) {
		d.Message = "partecipa.p.done_" + m
	}
	if !pr.Hidden() {
		n := pageNumber(r)
		comments, total, err := p.Store.Comments(ctx, pr.ID, (n-1)*PageSize)
		if err != nil {
			p.App.Fail(w, r, err)
			return
		}
		d.Comments, d.Pager = comments, pager("/proposte/"+pr.ID, nil, n, total)
	}
	if d.Err != nil {
		for k, m := range d.Err.Errors {
			d.Err.Errors[k] = page.T(m)
		}
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, status, "proposal", page)
}

func (p *Partecipa) proposal(w http.ResponseWriter, r *http.Request) {
	pr, err := p.Store.Proposal(r.Context(), r.PathValue("id"))
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	p.proposalPage(w, r, http.StatusOK, pr, &ProposalData{})
}

// residentPost starts a resident's POST on a proposal: logged in (or sent
// to log in and back), the proposal read, the form parsed.
func (p *Partecipa) residentPost(w http.ResponseWriter, r *http.Request) (*Viewer, *Proposal, bool) {
	v := Current(r.Context())
	id := r.PathValue("id")
	if v == nil {
		web.Redirect(w, r, "/accedi", url.Values{"next": {"/proposte/" + id}})
		return nil, nil, false
	}
	pr, err := p.Store.Proposal(r.Context(), id)
	if err != nil {
		p.App.Fail(w, r, err)
		return nil, nil, false
	}
	if !p.App.ParseForm(w, r, maxProposalBody) {
		return nil, nil, false
	}
	return v, pr, true
}

func backTo(w http.ResponseWriter, r *http.Request, id, msg, page, anchor string) {
	q := url.Values{"fatto": {msg}}
	if n, err := strconv.Atoi(page); err == nil && n > 1 {
		q.Set("pagina", strconv.Itoa(n))
	}
	http.Redirect(w, r, "/proposte/"+id+"?"+q.Encode()+anchor, http.StatusSeeOther) // #nosec G710 -- a proposal's hex id, a message of a fixed list, a number, an anchor of ids
}

func (p *Partecipa) proposalSupport(w http.ResponseWriter, r *http.Request) {
	v, pr, ok := p.residentPost(w, r)
	if !ok {
		return
	}
	err := p.Store.Support(r.Context(), pr.ID, v)
	switch {
	case errors.Is(err, ErrSupported):
		backTo(w, r, pr.ID, "already_supported", "", "#sostegno")
	case err != nil:
		p.App.Fail(w, r, err)
	default:
		backTo(w, r, pr.ID, "supported", "", "#sostegno")
	}
}

func (p *Partecipa) proposalComment(w http.ResponseWriter, r *http.Request) {
	v, pr, ok := p.residentPost(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	parent := f.Get("parent")
	id, err := p.Store.AddComment(r.Context(), pr.ID, parent, v, f.Get("body"))
	if err != nil {
		var bad problem.Fields
		if !errors.As(err, &bad) {
			p.App.Fail(w, r, err)
			return
		}
		p.proposalPage(w, r, http.StatusUnprocessableEntity, pr, &ProposalData{Err: &FormError{Form: "comment", Target: parent, Body: f.Get("body"), Errors: bad}})
		return
	}
	// A reply shows on its thread's page; a new thread on the last page
	// (threads run oldest first).
	page := f.Get("pagina")
	if parent == "" {
		n, err := p.Store.Threads(r.Context(), pr.ID)
		if err != nil {
			p.App.Fail(w, r, err)
			return
		}
		page = strconv.Itoa(max(1, (n+PageSize-1)/PageSize))
	}
	backTo(w, r, pr.ID, "commented", page, "#c-"+id)
}

func (p *Partecipa) proposalReport(w http.ResponseWriter, r *http.Request) {
	v, pr, ok := p.residentPost(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	in := ReportInput{Kind: f.Get("kind"), Target: f.Get("target"), Reason: f.Get("reason"), Note: f.Get("note")}
	err := p.Store.Report(r.Context(), pr.ID, v, in)
	var bad problem.Fields
	switch {
	case errors.As(err, &bad):
		p.proposalPage(w, r, http.StatusUnprocessableEntity, pr, &ProposalData{Err: &FormError{Form: "report", Target: in.Target, Reason: in.Reason, Note: in.Note, Errors: bad}})
	case errors.Is(err, ErrReported):
		backTo(w, r, pr.ID, "already_reported", f.Get("pagina"), "")
	case err != nil:
		p.App.Fail(w, r, err)
	default:
		backTo(w, r, pr.ID, "reported", f.Get("pagina"), "")
	}
}

// OfficeProposalsData is the office's list of proposals.
type OfficeProposalsData struct {
	Items []*Proposal
	Pager web.Pager
	Due   bool
	// AnswersDue and Reports are how many answers are owed and things
	// reported wait.
	AnswersDue int
	Now        time.Time
}

func (p *Partecipa) officeProposals(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &OfficeProposalsData{Due: r.URL.Query().Get("filtro") == "da-rispondere", Now: p.Store.now()}
	n := pageNumber(r)
	items, total, err := p.Store.OfficeProposals(ctx, OfficeQuery{Due: d.Due, Offset: (n - 1) * PageSize})
	if err == nil {
		d.AnswersDue, err = p.Store.AnswersDue(ctx)
	}
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	keep := url.Values{}
	if d.Due {
		keep.Set("filtro", "da-rispondere")
	}
	d.Items, d.Pager = items, pager("/ufficio/proposte", keep, n, total)
	page := p.App.NewPage(r, "partecipa.p.office_title")
	page.Staff = true
	page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.office.title"), Href: "/ufficio"}, {Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, http.StatusOK, "office_proposals", page)
}

// OfficeProposalData is the office's page of one proposal: its decision
// and the moderation of it and its comments.
type OfficeProposalData struct {
	P        *Proposal
	Now      time.Time
	Statuses []string
	// V is the decision as typed; Errors its errors by field.
	V        Decision
	Errors   map[string]string
	Comments []*Comment
	Pager    web.Pager
	Message  string
	// Err is a moderation form sent back with its error.
	Err *FormError
}

var officeMessages = []string{"decided", "hidden", "restored"}

func (p *Partecipa) officeProposalPage(w http.ResponseWriter, r *http.Request, status int, pr *Proposal, d *OfficeProposalData) {
	page := p.App.NewPage(r, "")
	page.Title = pr.Title
	page.Staff = true
	page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.office.title"), Href: "/ufficio"}, {Label: page.T("partecipa.p.office_title"), Href: "/ufficio/proposte"}, {Label: pr.Title}}
	d.P, d.Now, d.Statuses = pr, p.Store.now(), Statuses
	if d.V.Status == "" {
		d.V = Decision{Status: pr.Status, Answer: pr.Answer}
	}
	if m := r.URL.Query().Get("fatto"); slices.Contains(officeMessages, m) {
		d.Message = "partecipa.p.office_done_" + m
	}
	n := pageNumber(r)
	comments, total, err := p.Store.Comments(r.Context(), pr.ID, (n-1)*PageSize)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d.Comments, d.Pager = comments, pager("/proposte/"+pr.ID+"/gestione", nil, n, total)
	if d.Err != nil {
		for k, m := range d.Err.Errors {
			d.Err.Errors[k] = page.T(m)
		}
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, status, "office_proposal", page)
}

func (p *Partecipa) officeProposal(w http.ResponseWriter, r *http.Request) {
	pr, err := p.Store.Proposal(r.Context(), r.PathValue("id"))
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	p.officeProposalPage(w, r, http.StatusOK, pr, &OfficeProposalData{})
}

// officePost starts an office's POST on a proposal.
func (p *Partecipa) officePost(w http.ResponseWriter, r *http.Request) (*Proposal, bool) {
	pr, err := p.Store.Proposal(r.Context(), r.PathValue("id"))
	if err != nil {
		p.App.Fail(w, r, err)
		return nil, false
	}
	if !p.App.ParseForm(w, r, maxProposalBody) {
		return nil, false
	}
	return pr, true
}

func officeBack(w http.ResponseWriter, r *http.Request, id, msg, anchor string) {
	http.Redirect(w, r, "/proposte/"+id+"/gestione?fatto="+msg+anchor, http.StatusSeeOther) // #nosec G710 -- a hex id, a fixed message, an anchor of ids
}

func (p *Partecipa) officeDecide(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.officePost(w, r)
	if !ok {
		return
	}
	d := Decision{Status: r.PostForm.Get("status"), Answer: r.PostForm.Get("answer")}
	if err := p.Store.Decide(r.Context(), pr.ID, d, Current(r.Context()).Subject); err != nil {
		var bad problem.Fields
		if !errors.As(err, &bad) {
			p.App.Fail(w, r, err)
			return
		}
		page := p.App.NewPage(r, "")
		errs := map[string]string{}
		for k, m := range bad {
			errs[k] = page.T(m)
		}
		p.officeProposalPage(w, r, http.StatusUnprocessableEntity, pr, &OfficeProposalData{V: d, Errors: errs})
		return
	}
	officeBack(w, r, pr.ID, "decided", "")
}

func anchorOf(kind, target string) string {
	if kind == KindComment {
		return "#c-" + target
	}
	return "#moderazione"
}

func (p *Partecipa) officeHide(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.officePost(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	kind, target := f.Get("kind"), f.Get("target")
	if kind == KindProposal && target != pr.ID || kind == KindComment && !p.commentOf(r, pr.ID, target) {
		p.App.Fail(w, r, problem.ErrNotFound)
		return
	}
	if err := p.Store.Hide(r.Context(), kind, target, f.Get("reason"), Current(r.Context()).Subject); err != nil {
		var bad problem.Fields
		if !errors.As(err, &bad) {
			p.App.Fail(w, r, err)
			return
		}
		p.officeProposalPage(w, r, http.StatusUnprocessableEntity, pr, &OfficeProposalData{Err: &FormError{Form: "hide", Target: target, Reason: f.Get("reason"), Errors: bad}})
		return
	}
	officeBack(w, r, pr.ID, "hidden", anchorOf(kind, target))
}

func (p *Partecipa) officeRestore(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.officePost(w, r)
	if !ok {
		return
	}
	kind, target := r.PostForm.Get("kind"), r.PostForm.Get("target")
	if kind == KindProposal && target != pr.ID || kind == KindComment && !p.commentOf(r, pr.ID, target) {
		p.App.Fail(w, r, problem.ErrNotFound)
		return
	}
	if err := p.Store.Restore(r.Context(), kind, target, Current(r.Context()).Subject); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	officeBack(w, r, pr.ID, "restored", anchorOf(kind, target))
}

// commentOf reports whether id is a comment of the proposal.
func (p *Partecipa) commentOf(r *http.Request, proposal, id string) bool {
	var n int
	err := p.Store.DB.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM partecipa_comments WHERE id = $1 AND proposal_id = $2`, id, proposal).Scan(&n)
	return err == nil && n > 0
}

// OfficeReportsData is the office's list of reported things.
type OfficeReportsData struct {
	Items   []*ReportGroup
	Pager   web.Pager
	Message string
}

func (p *Partecipa) officeReports(w http.ResponseWriter, r *http.Request) {
	n := pageNumber(r)
	items, total, err := p.Store.OpenReports(r.Context(), (n-1)*PageSize)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	d := &OfficeReportsData{Items: items, Pager: pager("/ufficio/segnalazioni", nil, n, total)}
	if r.URL.Query().Get("fatto") == "dismissed" {
		d.Message = "partecipa.mod.done_dismissed"
	}
	page := p.App.NewPage(r, "partecipa.mod.title")
	page.Staff = true
	page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.office.title"), Href: "/ufficio"}, {Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	p.App.HTML(w, r, http.StatusOK, "office_reports", page)
}

func (p *Partecipa) officeDismiss(w http.ResponseWriter, r *http.Request) {
	if !p.App.ParseForm(w, r, 4<<10) {
		return
	}
	if err := p.Store.Dismiss(r.Context(), r.PostForm.Get("kind"), r.PostForm.Get("target"), Current(r.Context()).Subject); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/ufficio/segnalazioni?fatto=dismissed", http.StatusSeeOther)
}

// excerpt is s cut to at most n characters, at a space, with an ellipsis.
func excerpt(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	cut := string(r[:n])
	if i := strings.LastIndex(cut, " "); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}
