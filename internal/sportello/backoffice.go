package sportello

import (
	"encoding/csv"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// The back office of the desk: the queues, an application's page with
// the office's steps, the CSV export, and the counter's registration of
// an application handed in on paper.

const boPath = "/backoffice/pratiche"

func (h *Web) backOfficeRoutes(m web.Registrar) {
	desk := m.Guarded(assurance.Low, DeskRoles...)
	desk.HandleFunc("GET "+boPath, h.queue)
	desk.HandleFunc("GET "+boPath+"/export.csv", h.export)
	desk.HandleFunc("GET "+boPath+"/{id}", h.officeDetail)
	desk.HandleFunc("POST "+boPath+"/{id}/{step}", h.officeStep)
	desk.HandleFunc("GET "+boPath+"/{id}/documenti/{doc}", h.officeDocument)
	desk.HandleFunc("GET "+boPath+"/{id}/ricevuta.pdf", h.officeReceiptPDF)
	desk.HandleFunc("GET /backoffice/sportello", h.counterServices)
	desk.HandleFunc("GET /backoffice/sportello/{service}", h.counterForm)
	desk.HandleFunc("POST /backoffice/sportello/{service}", h.counterRegister)
	h.delegationRoutes(desk)
}

// QueueData is the content of the back office's queues.
type QueueData struct {
	Filter Filter
	Counts map[Queue]Count
	// Total is the queue's count (Pager.Total, as shown).
	Total    Count
	Queues   []Queue
	List     []Summary
	Pager    web.Pager
	Services []Service
	States   []State
	Names    map[string]string
	Now      time.Time
	// Query is the filter as a query string, for the export and the tabs.
	Query string
}

func filterOf(r *http.Request, me string) (Filter, url.Values) {
	q := r.URL.Query()
	f := Filter{Queue: Queue(q.Get("coda")), Me: me, Service: q.Get("servizio"), State: State(q.Get("stato")), Channel: Channel(q.Get("canale")),
		Q: strings.TrimSpace(q.Get("q")), Page: page(r), Today: Day(time.Now())}
	if !slices.Contains(Queues, f.Queue) {
		f.Queue = QueueToAssign
	}
	if !slices.Contains(States, f.State) {
		f.State = ""
	}
	if f.Channel != Online && f.Channel != Counter {
		f.Channel = ""
	}
	f.Q = db.Clip(f.Q, 100)
	keep := url.Values{}
	for k, v := range map[string]string{"servizio": f.Service, "stato": string(f.State), "canale": string(f.Channel), "q": f.Q} {
		if v != "" {
			keep.Set(k, v)
		}
	}
	return f, keep
}

func (h *Web) queue(w http.ResponseWriter, r *http.Request) {
	op, _ := identity.Current(r.Context())
	f, keep := filterOf(r, op.ID)
	list, total, err := h.Store.List(r.Context(), f)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	counts, err := h.Store.Counts(r.Context(), op.ID, time.Now())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	services, err := h.onlineServices(r)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	link := url.Values{"coda": {string(f.Queue)}}
	for k, v := range keep {
		link[k] = v
	}
	d := &QueueData{Filter: f, Counts: counts, Total: total, Queues: Queues, List: list, Pager: newPager(f.Page, int(total), link, boPath), Services: services,
		States: States[2:], Now: time.Now(), Query: keep.Encode()}
	d.Names = h.operatorNames(r)
	p := h.App.NewPage(r, "sportello.bo.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "sportello_bo_queue", p)
}

// onlineServices are the catalogue's services that have a published
// form, for the filters and the counter.
func (h *Web) onlineServices(r *http.Request) ([]Service, error) {
	online, err := h.Forms.Online(r.Context())
	if err != nil || h.Store.Services == nil {
		return nil, err
	}
	all, err := h.Store.Services(r.Context())
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, s := range all {
		if online[s.ID] > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

// operators are the desk's operators.
func (h *Web) operators(r *http.Request) []Operator {
	if h.Identity == nil || h.Identity.Svc == nil {
		return nil
	}
	ops, err := h.Identity.Svc.Store.Operators(r.Context())
	if err != nil {
		h.App.Log.Error("operators", "err", err, "request_id", web.RequestID(r.Context()))
		return nil
	}
	var out []Operator
	for _, o := range ops {
		if slices.ContainsFunc(DeskRoles, o.HasRole) && o.ClosedAt == nil {
			out = append(out, Operator{ID: o.ID, Name: o.DisplayName()})
		}
	}
	return out
}

func (h *Web) operatorNames(r *http.Request) map[string]string {
	out := map[string]string{}
	for _, o := range h.operators(r) {
		out[o.ID] = o.Name
	}
	return out
}

func (h *Web) officeApp(w http.ResponseWriter, r *http.Request) (*Application, Service) {
	a, err := h.Store.ForOffice(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, Service{}
	}
	svc, _, err := h.Store.Service(r.Context(), a.ServiceID)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, Service{}
	}
	if svc.ID == "" {
		svc = Service{ID: a.ServiceID, Title: a.ServiceTitle}
	}
	return a, svc
}

func (h *Web) officeDetail(w http.ResponseWriter, r *http.Request) {
	h.renderOfficeDetail(w, r, http.StatusOK, "", nil, nil)
}

func (h *Web) renderOfficeDetail(w http.ResponseWriter, r *http.Request, status int, alert string, errs problem.Fields, values map[string]string) {
	a, svc := h.officeApp(w, r)
	if a == nil {
		return
	}
	d, err := h.detailData(r.Context(), r, a, svc, Office)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Alert, d.Errors, d.Operators, d.MaxDays = alert, errs, h.operators(r), MaxIntegrationDays
	if a.DelegationID != "" {
		if d.Delegation, err = h.Store.Delegation(r.Context(), a.DelegationID); err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	for _, o := range d.Operators {
		d.Names[o.ID] = o.Name
	}
	if values != nil {
		d.Values = values
	}
	if q := r.URL.Query().Get("fatto"); slices.Contains(Actions, Action(q)) {
		d.Message = "sportello.bo.done." + q
	}
	if r.URL.Query().Get("nuova") != "" {
		d.Message = "sportello.counter.done"
	}
	p := h.App.NewPage(r, "")
	p.Title = a.Protocol + " – " + a.ServiceTitle
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.T("sportello.bo.title"), Href: boPath}, {Label: a.Protocol}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "sportello_bo_detail", p)
}

// officeSteps are the office's steps by the last element of their path.
var officeSteps = map[string]Action{"presa-in-carico": Take, "assegna": Assign, "messaggi": Message, "integrazione": RequestIntegration,
	"preavviso": SendNotice, "accoglimento": Accept, "rigetto": Reject, "annullamento": Cancel}

func (h *Web) officeStep(w http.ResponseWriter, r *http.Request) {
	act, ok := officeSteps[r.PathValue("step")]
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	op, _ := identity.Current(r.Context())
	if _, err := h.Store.ForOffice(r.Context(), r.PathValue("id")); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	post := h.receive(w, r, op.ID, nil)
	if post == nil {
		return
	}
	note, form := post.values.Get("note"), post.values.Get("form")
	values := map[string]string{"note": note, "days": post.values.Get("days"), "assignee": post.values.Get("assignee"), "form": form}
	refuse := func(fe problem.Fields) {
		h.renderOfficeDetail(w, r, http.StatusUnprocessableEntity, "sportello.error.form", fe, values)
	}
	if len(post.fileErrs) > 0 {
		for _, msg := range post.fileErrs {
			refuse(problem.Fields{form + ".file": "sportello.error." + msg})
			return
		}
	}
	st := Step{Action: act, Actor: Office, ActorID: op.ID, Remote: web.RemoteAddr(r), Note: note}
	if v := post.values.Get("seen"); v != "" {
		seen, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			h.renderOfficeDetail(w, r, http.StatusConflict, "sportello.refused.changed", nil, values)
			return
		}
		st.Seen = seen
	}
	for _, f := range post.files {
		st.Files = append(st.Files, f.ID)
	}
	switch act {
	case RequestIntegration:
		days, err := strconv.Atoi(strings.TrimSpace(post.values.Get("days")))
		if err != nil || days < 1 || days > MaxIntegrationDays {
			refuse(problem.Fields{form + ".days": "sportello.error.integration_days"})
			return
		}
		st.Days = days
	case Assign:
		st.Assignee = post.values.Get("assignee")
		if !slices.ContainsFunc(h.operators(r), func(o Operator) bool { return o.ID == st.Assignee }) {
			refuse(problem.Fields{form + ".assignee": "sportello.error.assignee"})
			return
		}
	}
	_, err := h.Store.Act(r.Context(), r.PathValue("id"), nil, st)
	var refusal *Refusal
	var fe problem.Fields
	switch {
	case errors.As(err, &refusal) && refusal.Reason == "note_missing":
		refuse(problem.Fields{form + ".note": "sportello.error.note_" + string(act)})
	case errors.As(err, &refusal) && refusal.Reason == "document_missing":
		refuse(problem.Fields{form + ".file": "sportello.error.reply_missing"})
	case errors.As(err, &refusal):
		// Another operator acted first, or the step no longer fits: the
		// page as it is now, with the reason, and what was typed kept.
		h.renderOfficeDetail(w, r, http.StatusConflict, refusal.Message(), nil, values)
	case errors.As(err, &fe):
		out := problem.Fields{}
		for k, v := range fe {
			out[form+"."+k] = v
		}
		refuse(out)
	case err != nil:
		h.fail(w, r, err)
	default:
		web.Redirect(w, r, boPath+"/"+r.PathValue("id"), url.Values{"fatto": {string(act)}})
	}
}

func (h *Web) officeDocument(w http.ResponseWriter, r *http.Request) {
	a, _ := h.officeApp(w, r)
	if a == nil {
		return
	}
	op, _ := identity.Current(r.Context())
	// Reading a resident's document is audited: who, which, when.
	if err := h.Store.Audit.Write(r.Context(), nil, audit.Entry{Actor: "account:" + op.ID, Action: "sportello.document.read",
		Subject: "application:" + a.ID, Remote: web.RemoteAddr(r), Details: map[string]string{"document": r.PathValue("doc")}}); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.serveDocument(w, r, a.ID, r.PathValue("doc"))
}

// export writes the queue, filtered, as CSV: every row, not a page.
func (h *Web) export(w http.ResponseWriter, r *http.Request) {
	op, _ := identity.Current(r.Context())
	f, keep := filterOf(r, op.ID)
	if err := h.Store.Audit.Write(r.Context(), nil, audit.Entry{Actor: "account:" + op.ID, Action: "sportello.export", Subject: "queue:" + string(f.Queue),
		Remote: web.RemoteAddr(r), Details: map[string]string{"filter": keep.Encode()}}); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	names := h.operatorNames(r)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="pratiche-`+string(f.Queue)+`-`+Day(time.Now())+`.csv"`)
	w.Header().Set("Cache-Control", "private, no-store")
	cw := csv.NewWriter(w)
	lang := h.App.I18n.Lang(r)
	t := func(id string) string { return h.App.I18n.T(lang, id) }
	_ = cw.Write([]string{t("sportello.csv.protocol"), t("sportello.csv.registered"), t("sportello.csv.service"), t("sportello.csv.applicant"),
		t("sportello.csv.fiscal_code"), t("sportello.csv.channel"), t("sportello.csv.state"), t("sportello.csv.assignee"), t("sportello.csv.due"), t("sportello.csv.overdue")})
	now := time.Now()
	err := h.Store.Each(r.Context(), f, func(s Summary) error {
		reg := ""
		if s.RegisteredAt != nil {
			reg = s.RegisteredAt.In(hours.Rome).Format("2006-01-02 15:04")
		}
		overdue := ""
		if s.Overdue(now) {
			overdue = t("sportello.csv.yes")
		}
		return cw.Write([]string{s.Protocol, reg, csvSafe(s.ServiceTitle), csvSafe(s.Applicant), s.FiscalCode, t("sportello.channel." + string(s.Channel)),
			t("sportello.state." + string(s.State)), csvSafe(names[s.AssigneeID]), s.DueOn, overdue})
	})
	cw.Flush()
	if err != nil {
		h.App.Log.Error("export", "err", err, "request_id", web.RequestID(r.Context()))
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CounterData is the content of the counter's pages.
type CounterData struct {
	Services []Service
	Service  Service
	Fields   []FieldView
	Values   map[string]string
	Errors   problem.Fields
	Index    []ErrorLink
	Key      string
	Alert    string
}

func (h *Web) counterServices(w http.ResponseWriter, r *http.Request) {
	services, err := h.onlineServices(r)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "sportello.counter.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.Title}}
	p.Data = &CounterData{Services: services}
	h.App.HTML(w, r, http.StatusOK, "sportello_bo_counter", p)
}

func (h *Web) counterForm(w http.ResponseWriter, r *http.Request) {
	h.renderCounter(w, r, http.StatusOK, &CounterData{Key: tokens.ID(), Values: map[string]string{}}, Answers{}, nil)
}

func (h *Web) renderCounter(w http.ResponseWriter, r *http.Request, status int, d *CounterData, answers Answers, errs map[string]FieldError) {
	svc, ok, err := h.Store.Service(r.Context(), r.PathValue("service"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	form, err := h.Forms.Current(r.Context(), svc.ID)
	if !ok || errors.Is(err, ErrNoForm) {
		h.App.Fail(w, r, ErrService)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	lang := h.App.I18n.Lang(r)
	t := func(id string, args ...any) string { return h.App.I18n.T(lang, id, args...) }
	d.Service = svc
	op, _ := identity.Current(r.Context())
	files, err := h.fileInfos(r, form.Def, answers, op.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Fields = FieldViews(form.Def, answers, errs, files, lang, t)
	for _, name := range []string{"fiscal_code", "given_name", "family_name", "notify_email", "phone", "address"} {
		if msg, bad := d.Errors[name]; bad {
			d.Index = append(d.Index, ErrorLink{ID: "f-" + name, Label: t("sportello.applicant." + name), Message: t(msg)})
		}
	}
	for _, f := range d.Fields {
		if f.Error != "" {
			d.Index = append(d.Index, ErrorLink{ID: f.ID, Label: f.Label, Message: f.Error})
		}
	}
	p := h.App.NewPage(r, "")
	p.Title = t("sportello.counter.title") + ": " + svc.Title
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: t("sportello.counter.title"), Href: "/backoffice/sportello"}, {Label: svc.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "sportello_bo_counter_form", p)
}

func (h *Web) counterRegister(w http.ResponseWriter, r *http.Request) {
	op, _ := identity.Current(r.Context())
	form, err := h.Forms.Current(r.Context(), r.PathValue("service"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	post := h.receive(w, r, op.ID, form.Def)
	if post == nil {
		return
	}
	v := post.values
	answers, _ := answersOf(form.Def, v)
	for name, f := range post.files {
		answers[name] = []string{f.ID}
	}
	for _, fd := range form.Def.Fields {
		// A file uploaded with an earlier, refused post is kept.
		if prev := v.Get(fd.Name + ".kept"); fd.Type == TypeFile && answers.One(fd.Name) == "" && ValidID(prev) {
			answers[fd.Name] = []string{prev}
		}
	}
	c := CounterApplication{ServiceID: r.PathValue("service"), Key: v.Get("key"), FiscalCode: v.Get("fiscal_code"), GivenName: v.Get("given_name"),
		FamilyName: v.Get("family_name"), NotifyEmail: v.Get("notify_email"), Phone: v.Get("phone"), Address: v.Get("address"), Answers: answers,
		Operator: op.ID, Remote: web.RemoteAddr(r)}
	values := map[string]string{}
	for _, k := range []string{"fiscal_code", "given_name", "family_name", "notify_email", "phone", "address", "key"} {
		values[k] = v.Get(k)
	}
	a, err := h.Store.RegisterCounter(r.Context(), c)
	var steps *StepErrors
	var fe problem.Fields
	switch {
	case errors.As(err, &steps):
		errs := steps.Answers
		for name, msg := range post.fileErrs {
			if errs == nil {
				errs = map[string]FieldError{}
			}
			errs[name] = FieldError{Code: msg}
		}
		h.renderCounter(w, r, http.StatusUnprocessableEntity, &CounterData{Key: c.Key, Values: values, Errors: steps.Fields, Alert: "sportello.error.form"}, answers, errs)
	case errors.As(err, &fe):
		h.renderCounter(w, r, http.StatusUnprocessableEntity, &CounterData{Key: tokens.ID(), Values: values, Errors: fe, Alert: "sportello.error.form"}, answers, nil)
	case err != nil:
		h.fail(w, r, err)
	default:
		web.Redirect(w, r, boPath+"/"+a.ID, url.Values{"nuova": {"1"}})
	}
}
