package sportello

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// DetailData is the content of an application's page, for the resident
// and for the office.
type DetailData struct {
	App       *Application
	Service   Service
	Fields    []FieldView
	History   []HistoryEntry
	Messages  []Note
	Documents []Document
	// Names are the operators' names by account id (the office's page).
	Names map[string]string
	// Can lists the actions the viewer may take now, by name (strings:
	// the templates index it with literals).
	Can     map[string]bool
	Now     time.Time
	Message string
	Alert   string
	Errors  problem.Fields
	Values  map[string]string
	// Operators are the desk's operators an application can be assigned to.
	Operators []Operator
	MaxDays   int
	// ApplicantValues and ApplicantProven are the applicant's data and
	// what proved them.
	ApplicantValues map[string]string
	ApplicantProven map[string]bool
	// Delegation is the one the application was made under (the
	// office's page).
	Delegation *Delegation
}

// Today is the day of the page, in Rome.
func (d *DetailData) Today() string { return Day(d.Now) }

// Operator is a desk operator, for the assignment.
type Operator struct {
	ID, Name string
}

// Overdue and Paused say where the clock stands today.
func (d *DetailData) Overdue() bool { return d.App.Overdue(d.Now) }

// Paused reports whether the term is suspended today.
func (d *DetailData) Paused() bool { return d.App.Paused(d.Now) }

// can lists what actor may do now, asking the lifecycle itself.
func can(a *Application, by Actor, now time.Time) map[string]bool {
	out := map[string]bool{}
	for _, act := range Actions {
		p := Params{Note: "x", Days: 1, Document: true}
		if _, err := Apply(a.Snapshot, act, by, p, now); err == nil {
			out[string(act)] = true
		}
	}
	return out
}

// detailData fills what both the resident's and the office's pages show.
func (h *Web) detailData(ctx context.Context, r *http.Request, a *Application, svc Service, by Actor) (*DetailData, error) {
	form, err := h.Forms.ByID(ctx, a.FormID)
	if err != nil {
		return nil, err
	}
	rec, err := h.Store.Record(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	docs := rec.Documents
	files := map[string]*FileInfo{}
	for _, doc := range docs {
		if doc.Kind == DocAnswer && doc.Field != "" {
			files[doc.Field] = &FileInfo{ID: doc.ID, Filename: doc.Filename, MediaType: doc.MediaType, Size: doc.Size, SHA256: doc.SHA256}
		}
	}
	lang := h.App.I18n.Lang(r)
	shown := form.Def.Visible(a.Answers)
	d := &DetailData{App: a, Service: svc, Documents: docs, Now: time.Now(), Names: map[string]string{}, Values: map[string]string{}}
	d.ApplicantValues, d.ApplicantProven = applicantValues(a.Applicant)
	for _, f := range FieldViews(form.Def, a.Answers, nil, files, lang, func(id string, args ...any) string { return h.App.I18n.T(lang, id, args...) }) {
		if shown[f.Name] {
			d.Fields = append(d.Fields, f)
		}
	}
	d.History, d.Messages = rec.History, rec.Messages
	d.Can = can(a, by, d.Now)
	return d, nil
}

func (h *Web) detail(w http.ResponseWriter, r *http.Request) {
	h.renderDetail(w, r, http.StatusOK, "", nil, nil)
}

func (h *Web) renderDetail(w http.ResponseWriter, r *http.Request, status int, alert string, errs problem.Fields, values map[string]string) {
	a, svc := h.application(w, r)
	if a == nil {
		return
	}
	if a.State == Draft && status == http.StatusOK {
		// A draft's page is the flow, where it was left.
		web.Redirect(w, r, AreaPath+"/"+a.ID+"/richiedente", nil)
		return
	}
	d, err := h.detailData(r.Context(), r, a, svc, Resident)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Alert, d.Errors = alert, errs
	if values != nil {
		d.Values = values
	}
	if q := r.URL.Query().Get("fatto"); q != "" {
		d.Message = "sportello.done." + q
		if !strings.Contains("message integrate remarks withdraw", q) {
			d.Message = ""
		}
	}
	p := h.App.NewPage(r, "")
	p.Title = a.ServiceTitle
	p.Breadcrumb = []web.Crumb{{Label: p.T("sportello.area"), Href: AreaPath}, {Label: a.Protocol}}
	p.Data = d
	h.App.HTML(w, r, status, "sportello_detail", p)
}

// residentSteps are the resident's actions after the submission, by the
// last element of their path.
var residentSteps = map[string]Action{"messaggi": Message, "integrazione": Integrate, "osservazioni": Remarks, "ritiro": Withdraw}

func (h *Web) residentStep(w http.ResponseWriter, r *http.Request) {
	act, ok := residentSteps[r.PathValue("step")]
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	a, _ := h.application(w, r)
	if a == nil {
		return
	}
	acc, _, o := resident(r)
	post := h.receive(w, r, acc.ID, nil)
	if post == nil {
		return
	}
	note := post.values.Get("note")
	// Each form of the page has its own name (its fields' ids, its
	// errors): the action's.
	form := string(act)
	values := map[string]string{"note": note, "form": form}
	if len(post.fileErrs) > 0 {
		fe := problem.Fields{}
		for _, msg := range post.fileErrs {
			fe[form+".file"] = "sportello.error." + msg
		}
		h.renderDetail(w, r, http.StatusUnprocessableEntity, "sportello.error.form", fe, values)
		return
	}
	var files []string
	for _, f := range post.files {
		files = append(files, f.ID)
	}
	_, err := h.Store.Act(r.Context(), a.ID, &o, Step{Action: act, Actor: Resident, ActorID: acc.ID, Remote: web.RemoteAddr(r), Note: note, Files: files})
	var refusal *Refusal
	var fe problem.Fields
	switch {
	case errors.As(err, &refusal) && refusal.Reason == "note_missing":
		h.renderDetail(w, r, http.StatusUnprocessableEntity, "sportello.error.form", problem.Fields{form + ".note": "sportello.error.note_" + string(act)}, values)
	case errors.As(err, &fe):
		out := problem.Fields{}
		for k, v := range fe {
			out[form+"."+k] = v
		}
		h.renderDetail(w, r, http.StatusUnprocessableEntity, "sportello.error.form", out, values)
	case err != nil:
		h.fail(w, r, err)
	default:
		web.Redirect(w, r, AreaPath+"/"+a.ID, url.Values{"fatto": {string(act)}})
	}
}

func (h *Web) residentDocument(w http.ResponseWriter, r *http.Request) {
	a, _ := h.application(w, r)
	if a == nil {
		return
	}
	h.serveDocument(w, r, a.ID, r.PathValue("doc"))
}

// serveDocument sends a document of an application (which the caller
// found the viewer may read) as an attachment.
func (h *Web) serveDocument(w http.ResponseWriter, r *http.Request, appID, docID string) {
	if !ValidID(docID) || h.Store.Files == nil {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	doc, err := h.Store.Document(r.Context(), appID, docID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	f, info, err := h.Store.Files.Open(r.Context(), appID, doc.AttachmentID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", info.MediaType)
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": doc.Filename}))
	hd.Set("Content-Security-Policy", "sandbox")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", doc.At, f)
}
