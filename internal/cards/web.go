package cards

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// The cards' pages.
const (
	BOPath     = "/backoffice/carte"
	ReportPath = "/backoffice/carte/registro"
	UploadPath = "/backoffice/carte/importa"
	AreaPath   = "/area-personale/carta"
)

// Web serves the URP's and the resident's pages.
type Web struct {
	App *web.App
	Svc *Service
}

// Routes is the cards' map.
func (h *Web) Routes() {
	m := h.App.For("cards")
	urp := m.Guarded(Need, Roles...)
	urp.HandleFunc("GET "+BOPath, h.find)
	urp.HandleFunc("GET "+BOPath+"/buste/{id}", h.deliverForm)
	urp.HandleFunc("POST "+BOPath+"/buste/{id}", h.deliver)
	urp.HandleFunc("GET "+ReportPath, h.report)
	files := m.Guarded(Need, UploadRoles...)
	files.HandleFunc("GET "+UploadPath, h.uploadForm)
	files.HandleFunc("POST "+UploadPath, h.upload)
	files.HandleFunc("GET "+UploadPath+"/{id}", h.uploadStatus)
	m.Guarded(assurance.Low).HandleFunc("GET "+AreaPath, h.area)
}

// CardRow is a card with its envelopes, as the URP sees them.
type CardRow struct {
	*Card
	Envelopes []*Envelope
}

// FindData is the URP's search.
type FindData struct {
	Query  string
	Errors problem.Fields
	Asked  bool
	Cards  []CardRow
}

func (h *Web) find(w http.ResponseWriter, r *http.Request) {
	p := h.App.NewPage(r, "cards.bo.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("cards.bo.home"), Href: "/backoffice"}, {Label: p.Title}}
	d := &FindData{Query: strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("q")))}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	status := http.StatusOK
	if _, asked := r.URL.Query()["q"]; asked {
		d.Asked = true
		var list []*Card
		var err error
		switch {
		case serialRE.MatchString(d.Query):
			var c *Card
			if c, err = h.Svc.Registry.Card(r.Context(), d.Query); err == nil {
				list = []*Card{c}
			} else if errors.Is(err, ErrNoCard) {
				err = nil
			}
		default:
			if _, perr := cf.Parse(d.Query); perr != nil {
				d.Errors, status = problem.Fields{"q": "cards.error.query"}, http.StatusUnprocessableEntity
				break
			}
			list, err = h.Svc.Registry.Of(r.Context(), d.Query)
		}
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		for _, c := range list {
			envs, err := h.Svc.Envelopes(r.Context(), c.Serial)
			if err != nil {
				h.App.Fail(w, r, err)
				return
			}
			d.Cards = append(d.Cards, CardRow{Card: c, Envelopes: envs})
		}
	}
	h.App.HTML(w, r, status, "cards_bo", p)
}

// DeliverData is the delivery form of one envelope.
type DeliverData struct {
	Envelope *Envelope
	Card     *Card
	DocTypes []string
	// Collectors are who may collect: the holder, a delegate.
	Collectors []string
	Values     map[string]string
	Errors     problem.Fields
	Alert      string
	Today      string
}

func (h *Web) envelope(ctx context.Context, id string) (*Envelope, *Card, error) {
	e := &Envelope{}
	err := h.Svc.DB.QueryRowContext(ctx, `SELECT id, serial, status, imported_at, closed_at FROM card_envelopes WHERE id = $1`, id).
		Scan(&e.ID, &e.Serial, &e.Status, &e.ImportedAt, &e.ClosedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, problem.New(problem.NotFound, "", errors.New("cards: no such envelope"))
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := h.Svc.Registry.Card(ctx, e.Serial)
	return e, c, err
}

func (h *Web) deliverForm(w http.ResponseWriter, r *http.Request) {
	h.renderDeliver(w, r, http.StatusOK, map[string]string{"collector": Holder, "receipt": Attestation}, nil, "")
}

func (h *Web) renderDeliver(w http.ResponseWriter, r *http.Request, status int, values map[string]string, errs problem.Fields, alert string) {
	e, c, err := h.envelope(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "cards.deliver.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("cards.bo.home"), Href: "/backoffice"}, {Label: p.T("cards.bo.title"), Href: BOPath + "?q=" + url.QueryEscape(c.Serial)},
		{Label: p.Title}}
	p.Data = &DeliverData{Envelope: e, Card: c, DocTypes: DocTypes, Collectors: []string{Holder, Delegate}, Values: values, Errors: errs, Alert: alert,
		Today: time.Now().In(hours.Rome).Format(time.DateOnly)}
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "cards_deliver", p)
}

// maxScan bounds the uploads of a delivery (two scans).
const maxScan = 10 << 20

func (h *Web) deliver(w http.ResponseWriter, r *http.Request) {
	h.App.LargeBody(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, 2*maxScan+(64<<10))
	// #nosec G120 -- the body is bounded just above (MaxBytesReader: two scans and the fields); past 1 MiB the parts go to temporary files, removed below
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		h.renderDeliver(w, r, http.StatusRequestEntityTooLarge, map[string]string{}, nil, "cards.error.upload")
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	f := r.PostForm
	if !web.TextValues(f) {
		h.App.Error(w, r, http.StatusBadRequest)
		return
	}
	values := map[string]string{}
	for _, k := range []string{"collector", "doc_type", "doc_number", "doc_expiry", "doc_issuer", "delegate_name", "delegate_fiscal_code", "receipt", "attested"} {
		values[k] = f.Get(k)
	}
	a, _ := identity.Current(r.Context())
	d := Delivery{EnvelopeID: r.PathValue("id"), Collector: values["collector"], DocType: values["doc_type"], DocNumber: values["doc_number"],
		DocExpiry: values["doc_expiry"], DocIssuer: values["doc_issuer"], DelegateName: values["delegate_name"], DelegateFiscalCode: values["delegate_fiscal_code"],
		Receipt: values["receipt"], Attested: values["attested"] == "1", OperatorID: a.ID, OperatorName: strings.TrimSpace(a.GivenName + " " + a.FamilyName),
		Remote: web.RemoteAddr(r)}
	// The scans are staged (type checked by content, scanned) before the
	// transaction; only the ones the delivery needs are kept.
	fe := problem.Fields{}
	stage := func(field string) *attachments.Staged {
		file, hdr, err := r.FormFile(field)
		if err != nil {
			return nil
		}
		defer file.Close()
		st, err := h.Svc.Attachments.Stage(r.Context(), file, hdr.Filename, attachments.Policy{})
		if err != nil {
			fe[field] = "cards.error.scan"
			return nil
		}
		return st
	}
	if d.Collector == Delegate {
		d.Delegation = stage("delegation")
	}
	if d.Receipt == Scan {
		d.ReceiptScan = stage("receipt_scan")
	}
	defer func() {
		for _, st := range []*attachments.Staged{d.Delegation, d.ReceiptScan} {
			if st != nil {
				st.Discard()
			}
		}
	}()
	var err error
	if len(fe) > 0 {
		err = fe
	} else {
		var letter []byte
		var done *Delivered
		done, letter, err = h.Svc.Deliver(r.Context(), d)
		if err == nil {
			hd := w.Header()
			hd.Set("Content-Type", "application/pdf")
			hd.Set("Content-Disposition", `attachment; filename="pin-`+done.Serial+`.pdf"`)
			hd.Set("Cache-Control", "private, no-store")
			hd.Set("X-Content-Type-Options", "nosniff")
			_, _ = w.Write(letter) // #nosec G705 -- a PDF the server made, sent as an application/pdf attachment with nosniff
			return
		}
	}
	var fields problem.Fields
	var pe *problem.Error
	switch {
	case errors.As(err, &fields):
		h.renderDeliver(w, r, http.StatusUnprocessableEntity, values, fields, "cards.error.form")
	case errors.As(err, &pe) && pe.Kind == problem.Conflict:
		h.renderDeliver(w, r, http.StatusConflict, values, nil, pe.Message)
	default:
		h.App.Fail(w, r, err)
	}
}

// ReportData is the URP's daily report.
type ReportData struct {
	*Report
	Errors     problem.Fields
	Page       int
	Pages      int
	Prev, Next string
}

func (h *Web) report(w http.ResponseWriter, r *http.Request) {
	p := h.App.NewPage(r, "cards.report.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("cards.bo.home"), Href: "/backoffice"}, {Label: p.T("cards.bo.title"), Href: BOPath}, {Label: p.Title}}
	day := r.URL.Query().Get("giorno")
	if day == "" {
		day = time.Now().In(hours.Rome).Format(time.DateOnly)
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("pagina"))
	page = max(1, min(page, 100000))
	w.Header().Set("Cache-Control", "private, no-store")
	rep, err := h.Svc.DailyReport(r.Context(), day, page)
	var fields problem.Fields
	if errors.As(err, &fields) {
		p.Data = &ReportData{Report: &Report{Day: day}, Errors: fields, Page: 1, Pages: 1}
		h.App.HTML(w, r, http.StatusUnprocessableEntity, "cards_report", p)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &ReportData{Report: rep, Page: page, Pages: max(1, (rep.Total+PageSize-1)/PageSize)}
	link := func(n int) string {
		return ReportPath + "?" + url.Values{"giorno": {day}, "pagina": {strconv.Itoa(n)}}.Encode()
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if page < d.Pages {
		d.Next = link(page + 1)
	}
	p.Data = d
	h.App.HTML(w, r, http.StatusOK, "cards_report", p)
}

// AreaData is the resident's page: their cards and where and when their
// PINs were handed out.
type AreaData struct {
	Proven     bool
	StepUp     string
	Cards      []*Card
	Deliveries []*Delivered
}

func (h *Web) area(w http.ResponseWriter, r *http.Request) {
	a, se := identity.Current(r.Context())
	fc, _ := a.ProvenFiscalCode(se)
	p := h.App.NewPage(r, "cards.area.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("cards.area.home"), Href: "/area-personale"}, {Label: p.Title}}
	d := &AreaData{Proven: fc != "", StepUp: "/accedi/carta?" + url.Values{"next": {AreaPath}}.Encode()}
	if d.Proven {
		var err error
		if d.Cards, err = h.Svc.Registry.Of(r.Context(), fc); err != nil {
			h.App.Fail(w, r, err)
			return
		}
		if d.Deliveries, err = h.Svc.Mine(r.Context(), fc, PageSize); err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "cards_area", p)
}

// UploadData is the back office's upload page.
type UploadData struct {
	Kind    string
	Kinds   []string
	Alert   string
	Errors  LineErrors
	Recent  []*Upload
	Pending bool
}

func (h *Web) uploadPage(w http.ResponseWriter, r *http.Request, status int, d *UploadData) {
	p := h.App.NewPage(r, "cards.upload.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("cards.bo.home"), Href: "/backoffice"}, {Label: p.T("cards.bo.title"), Href: BOPath}, {Label: p.Title}}
	d.Kinds = []string{KindRegistry, KindEnvelopes}
	if d.Kind == "" {
		d.Kind = KindRegistry
	}
	var err error
	if d.Recent, err = h.Svc.Uploads(r.Context(), 20); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "cards_upload", p)
}

func (h *Web) uploadForm(w http.ResponseWriter, r *http.Request) {
	h.uploadPage(w, r, http.StatusOK, &UploadData{})
}

// upload accepts a file: checked line by line here (a wrong line refuses
// it whole, nothing kept), then imported by its job (cards.import).
func (h *Web) upload(w http.ResponseWriter, r *http.Request) {
	h.App.LargeBody(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, MaxFile+(64<<10))
	kind := r.FormValue("kind")
	file, hdr, err := r.FormFile("file")
	if err != nil {
		h.uploadPage(w, r, http.StatusUnprocessableEntity, &UploadData{Kind: kind, Alert: "cards.error.upload_file"})
		return
	}
	defer file.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(file, MaxFile+1)); err != nil || b.Len() > MaxFile {
		h.uploadPage(w, r, http.StatusRequestEntityTooLarge, &UploadData{Kind: kind, Alert: "cards.error.too_big"})
		return
	}
	a, _ := identity.Current(r.Context())
	u, err := h.Svc.Accept(r.Context(), kind, filepath.Base(hdr.Filename), b.Bytes(), "account:"+a.ID, strings.TrimSpace(a.GivenName+" "+a.FamilyName))
	var le LineErrors
	var fields problem.Fields
	switch {
	case errors.As(err, &le):
		h.uploadPage(w, r, http.StatusUnprocessableEntity, &UploadData{Kind: kind, Errors: le})
	case errors.As(err, &fields):
		h.uploadPage(w, r, http.StatusUnprocessableEntity, &UploadData{Kind: kind, Alert: "cards.error.kind"})
	case errors.Is(err, ErrUploadedBefore):
		h.uploadPage(w, r, http.StatusConflict, &UploadData{Kind: kind, Alert: "cards.error.duplicate"})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, UploadPath+"/"+u.ID, nil)
	}
}

func (h *Web) uploadStatus(w http.ResponseWriter, r *http.Request) {
	u, err := h.Svc.Upload(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "cards.upload.status")
	p.Breadcrumb = []web.Crumb{{Label: p.T("cards.bo.home"), Href: "/backoffice"}, {Label: p.T("cards.upload.title"), Href: UploadPath}, {Label: u.FileName}}
	p.Data = u
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "cards_upload_status", p)
}
