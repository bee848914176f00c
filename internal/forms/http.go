package forms

import (
	"embed"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/token"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the forms pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

// Roles are the operators' roles that manage the forms library.
var Roles = []string{"desk", "urp", "admin"}

// Web serves the downloads and the back office of the forms library.
type Web struct {
	App   *web.App
	Store *Store
	// Identity gates the back office (Require) and names the uploaders.
	Identity *identity.Web
}

// Routes is the map of the forms library.
func (h *Web) Routes() {
	m := h.App.For("forms")
	m.HandleFunc("GET /moduli", h.publicIndex)
	m.HandleFunc("GET /moduli/{form}", h.latest)
	m.HandleFunc("GET /moduli/{form}/{version}", h.versionOnly)
	m.HandleFunc("GET /moduli/{form}/{version}/{filename}", h.download)
	op := m.Guarded(assurance.Low, Roles...)
	op.HandleFunc("GET /backoffice/moduli", h.index)
	op.HandleFunc("POST /backoffice/moduli", h.create)
	op.HandleFunc("GET /backoffice/moduli/{form}", h.detail)
	op.HandleFunc("POST /backoffice/moduli/{form}/versioni", h.addVersion)
	op.HandleFunc("POST /backoffice/moduli/{form}/archivio", h.archive)
}

// version finds the version a public URL names; number 0 is the latest.
func (h *Web) version(w http.ResponseWriter, r *http.Request, number int) (*Form, *Version, bool) {
	id := r.PathValue("form")
	if !validID(id) {
		h.App.Error(w, r, http.StatusNotFound)
		return nil, nil, false
	}
	f, v, err := h.Store.Version(r.Context(), id, number)
	if errors.Is(err, ErrNotFound) {
		h.App.Error(w, r, http.StatusNotFound)
		return nil, nil, false
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, false
	}
	return f, v, true
}

func versionNumber(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0 && strconv.Itoa(n) == s
}

// latest serves the newest version of a form that is not archived.
func (h *Web) latest(w http.ResponseWriter, r *http.Request) {
	f, v, ok := h.version(w, r, 0)
	if !ok {
		return
	}
	if f.Archived {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	h.serve(w, r, v, false)
}

// versionOnly sends /moduli/{form}/{version} to the version's full URL.
func (h *Web) versionOnly(w http.ResponseWriter, r *http.Request) {
	n, ok := versionNumber(r.PathValue("version"))
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if _, v, ok := h.version(w, r, n); ok {
		// #nosec G710 -- v.URL() is a path of this site made from the stored version (hex id, number, escaped file name)
		http.Redirect(w, r, v.URL(), http.StatusMovedPermanently)
	}
}

// download serves one version, archived or not: a resident may hold the link.
func (h *Web) download(w http.ResponseWriter, r *http.Request) {
	n, ok := versionNumber(r.PathValue("version"))
	if !ok {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	_, v, ok := h.version(w, r, n)
	if !ok {
		return
	}
	if r.PathValue("filename") != v.Filename {
		// #nosec G710 -- v.URL() is a path of this site made from the stored version (hex id, number, escaped file name)
		http.Redirect(w, r, v.URL(), http.StatusMovedPermanently)
		return
	}
	h.serve(w, r, v, true)
}

// serve sends a version's file: its detected type, as an attachment, in a
// sandbox should a browser render it anyway, with its hash as ETag; Range
// and conditional requests are answered by http.ServeContent.
func (h *Web) serve(w http.ResponseWriter, r *http.Request, v *Version, immutable bool) {
	f, err := h.Store.Open(v)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	defer f.Close()
	// The latest version changes: revalidate, cheaply, with the ETag.
	cache := "public, no-cache"
	if immutable {
		cache = "public, max-age=31536000, immutable"
	}
	attachments.Serve(w, r, f, v.Filename, v.MediaType, v.SHA256, v.UploadedAt, cache)
}

// FormState is what an upload form shows again after a refusal.
type FormState struct {
	Values  map[string]string
	Errors  FieldErrors
	Alert   string // message id above the form
	Message string // message id of a notice
}

// Group is a service with its forms.
type Group struct {
	Service Service
	Forms   []*Form
}

// IndexData is the content of /backoffice/moduli.
type IndexData struct {
	FormState
	Groups   []Group
	Services []Service
	MaxSize  string
	Accept   string
}

// DetailData is the content of /backoffice/moduli/{form}.
type DetailData struct {
	FormState
	Form      *Form
	Service   Service
	Uploaders map[string]string // account id -> name
	MaxSize   string
	Accept    string
}

// accept is the file chooser's hint; the server checks the content anyway.
var accept = attachments.Policy{Types: Types}.Accept()

func (h *Web) services(r *http.Request) ([]Service, error) {
	if h.Store.Services == nil {
		return nil, nil
	}
	return h.Store.Services(r.Context())
}

func (h *Web) index(w http.ResponseWriter, r *http.Request) {
	st := FormState{}
	if r.URL.Query().Get("salvato") != "" {
		st.Message = "forms.saved"
	}
	h.renderIndex(w, r, http.StatusOK, st)
}

func (h *Web) renderIndex(w http.ResponseWriter, r *http.Request, status int, st FormState) {
	services, err := h.services(r)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	all, err := h.Store.List(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	byService := map[string][]*Form{}
	for _, f := range all {
		byService[f.ServiceID] = append(byService[f.ServiceID], f)
	}
	d := &IndexData{FormState: st, Services: services, Accept: accept}
	for _, s := range services {
		if fs := byService[s.ID]; len(fs) > 0 {
			d.Groups = append(d.Groups, Group{Service: s, Forms: fs})
			delete(byService, s.ID)
		}
	}
	// Forms of services the catalogue no longer has, under their id.
	for _, f := range all {
		if fs := byService[f.ServiceID]; len(fs) > 0 {
			d.Groups = append(d.Groups, Group{Service: Service{ID: f.ServiceID, Title: f.ServiceID}, Forms: fs})
			delete(byService, f.ServiceID)
		}
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	page := h.App.NewPage(r, "forms.backoffice.title")
	d.MaxSize = HumanSize(h.Store.Max(), page.Lang)
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}, {Label: page.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "forms_index", page)
}

func (h *Web) detail(w http.ResponseWriter, r *http.Request) {
	st := FormState{}
	switch {
	case r.URL.Query().Get("salvato") != "":
		st.Message = "forms.saved"
	case r.URL.Query().Get("archiviato") != "":
		st.Message = "forms.archived_done"
	case r.URL.Query().Get("ripristinato") != "":
		st.Message = "forms.restored_done"
	}
	h.renderDetail(w, r, http.StatusOK, st)
}

func (h *Web) renderDetail(w http.ResponseWriter, r *http.Request, status int, st FormState) {
	id := r.PathValue("form")
	if !validID(id) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	f, err := h.Store.Get(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	services, err := h.services(r)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &DetailData{FormState: st, Form: f, Service: Service{ID: f.ServiceID, Title: f.ServiceID}, Uploaders: map[string]string{}, Accept: accept}
	for _, s := range services {
		if s.ID == f.ServiceID {
			d.Service = s
		}
	}
	for _, v := range f.Versions {
		if _, done := d.Uploaders[v.UploadedBy]; done {
			continue
		}
		d.Uploaders[v.UploadedBy] = v.UploadedBy
		if h.Identity != nil && h.Identity.Svc != nil {
			if a, err := h.Identity.Svc.Store.ByID(r.Context(), v.UploadedBy); err == nil {
				d.Uploaders[v.UploadedBy] = a.DisplayName()
			}
		}
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	page := h.App.NewPage(r, "")
	page.Title = f.Title
	d.MaxSize = HumanSize(h.Store.Max(), page.Lang)
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"},
		{Label: page.T("forms.backoffice.title"), Href: "/backoffice/moduli"}, {Label: f.Title}}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "forms_detail", page)
}

// upload is a received multipart/form-data request.
type upload struct {
	fields map[string]string
	staged *Staged
	// fileErr is why the file was refused (too large, wrong type...).
	fileErr error
}

// textFields are the form's fields besides the file, and their limit in
// bytes (the characters are checked by the store).
var textFields = map[string]int64{"service": 200, "title": 4 << 10, "description": 32 << 10, "note": 8 << 10, "action": 20}

const maxParts = 16

// receive reads a multipart/form-data request as it arrives: the text
// fields into memory (small), the file part straight to Store.Stage, which
// hashes it while writing it to disk. The whole body is capped by
// http.MaxBytesReader. It answers the request itself and returns nil when
// the body is malformed or the disk fails.
func (h *Web) receive(w http.ResponseWriter, r *http.Request) *upload {
	limit := h.Store.Max() + maxParts*(64<<10)
	u := &upload{fields: map[string]string{}}
	if r.ContentLength > limit {
		// Refused before a byte is read: the browser may not even show
		// the answer if it is still sending, but nothing is stored.
		u.fileErr = attachments.ErrTooLarge
		return u
	}
	// Operators only (the routes check the role first): 20 MiB takes
	// minutes on a slow line, far beyond the listener's read timeout.
	h.App.LargeBody(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		h.App.Error(w, r, http.StatusBadRequest)
		return nil
	}
	bad := func(err error) *upload {
		u.staged.Discard()
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			u.staged, u.fileErr = nil, attachments.ErrTooLarge
			return u
		}
		h.App.Error(w, r, http.StatusBadRequest)
		return nil
	}
	for parts := 0; ; parts++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return u
		}
		if err != nil {
			return bad(err)
		}
		if parts >= maxParts {
			return bad(errors.New("too many parts"))
		}
		name := p.FormName()
		if name == "file" {
			if u.staged != nil || u.fileErr != nil {
				return bad(errors.New("two files"))
			}
			if p.FileName() == "" {
				continue // no file chosen; NextPart skips the empty content
			}
			u.staged, err = h.Store.Stage(r.Context(), p, p.FileName())
			var rerr *attachments.ReadError
			switch {
			case err == nil:
			case errors.As(err, &rerr):
				return bad(rerr.Err)
			case errors.Is(err, attachments.ErrTooLarge):
				// Read on (up to the cap, discarding) so that the browser,
				// still sending, receives the answer rather than a reset.
				_, _ = io.Copy(io.Discard, r.Body)
				u.fileErr = attachments.ErrTooLarge
				return u
			case attachments.Refused(err):
				h.App.Log.Info("form upload refused", "reason", err.Error(), "request_id", web.RequestID(r.Context()))
				u.fileErr = err
			default:
				h.App.Fail(w, r, err)
				return nil
			}
			continue
		}
		fieldMax, ok := textFields[name]
		if !ok {
			continue // unknown part: skipped by NextPart
		}
		b, err := io.ReadAll(io.LimitReader(p, fieldMax+1))
		if err != nil {
			return bad(err)
		}
		if int64(len(b)) > fieldMax {
			return bad(errors.New("field " + name + " too long"))
		}
		if !db.IsText(string(b)) {
			return bad(errors.New("field " + name + " is not UTF-8 text"))
		}
		u.fields[name] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
}

func actor(r *http.Request) Actor {
	a, _ := identity.Current(r.Context())
	if a == nil {
		return Actor{Remote: web.RemoteAddr(r)}
	}
	return Actor{AccountID: a.ID, Remote: web.RemoteAddr(r)}
}

// refusal merges the file's refusal into the field errors and picks the
// status: 413 for a file too large, 503 when the virus scan could not be
// made, 422 otherwise.
func refusal(fe FieldErrors, fileErr error) (FieldErrors, int) {
	if fe == nil {
		fe = FieldErrors{}
	}
	status := http.StatusUnprocessableEntity
	if fileErr != nil {
		fe["file"] = FileMessage(fileErr)
		_, status = attachments.Message(fileErr)
	}
	return fe, status
}

func (h *Web) create(w http.ResponseWriter, r *http.Request) {
	u := h.receive(w, r)
	if u == nil {
		return
	}
	defer u.staged.Discard()
	nf := NewForm{ServiceID: u.fields["service"], Title: u.fields["title"], Description: u.fields["description"]}
	values := map[string]string{"service": nf.ServiceID, "title": nf.Title, "description": nf.Description}
	fe, err := h.Store.Validate(r.Context(), nf)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if fe != nil || u.fileErr != nil || u.staged == nil {
		fe, status := refusal(fe, u.fileErr)
		if u.staged == nil && u.fileErr == nil {
			fe["file"] = "forms.error.file_missing"
		}
		h.renderIndex(w, r, status, FormState{Values: values, Errors: fe, Alert: "forms.error.form"})
		return
	}
	f, err := h.Store.Create(r.Context(), nf, u.staged, actor(r))
	var ferr FieldErrors
	switch {
	case errors.As(err, &ferr):
		h.renderIndex(w, r, http.StatusUnprocessableEntity, FormState{Values: values, Errors: ferr, Alert: "forms.error.form"})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.App.PurgeCaches() // the service page shows the change now, in this process
		web.Redirect(w, r, "/backoffice/moduli/"+f.ID, url.Values{"salvato": {"1"}})
	}
}

func (h *Web) addVersion(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("form")
	if !validID(id) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	u := h.receive(w, r)
	if u == nil {
		return
	}
	defer u.staged.Discard()
	values := map[string]string{"note": u.fields["note"]}
	if u.fileErr != nil {
		fe, status := refusal(nil, u.fileErr)
		h.renderDetail(w, r, status, FormState{Values: values, Errors: fe, Alert: "forms.error.form"})
		return
	}
	_, err := h.Store.AddVersion(r.Context(), id, u.staged, u.fields["note"], actor(r))
	var ferr FieldErrors
	switch {
	case errors.As(err, &ferr):
		h.renderDetail(w, r, http.StatusUnprocessableEntity, FormState{Values: values, Errors: ferr, Alert: "forms.error.form"})
	case errors.Is(err, ErrNotFound):
		h.App.Error(w, r, http.StatusNotFound)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.App.PurgeCaches() // the service page shows the change now, in this process
		web.Redirect(w, r, "/backoffice/moduli/"+id, url.Values{"salvato": {"1"}})
	}
}

func (h *Web) archive(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("form")
	if !validID(id) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.App.Error(w, r, http.StatusBadRequest)
		return
	}
	var archived bool
	var done string
	switch r.PostForm.Get("action") {
	case "archive":
		archived, done = true, "archiviato"
	case "restore":
		archived, done = false, "ripristinato"
	default:
		h.App.Error(w, r, http.StatusBadRequest)
		return
	}
	err := h.Store.SetArchived(r.Context(), id, archived, actor(r))
	switch {
	case errors.Is(err, ErrNotFound):
		h.App.Error(w, r, http.StatusNotFound)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.App.PurgeCaches() // the service page shows the change now, in this process
		web.Redirect(w, r, "/backoffice/moduli/"+id, url.Values{done: {"1"}})
	}
}

// validID is the shape of the ids token.ID makes.
var validID = token.ValidID
