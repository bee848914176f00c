package segnala

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// Paths of the feature.
const (
	Path        = "/segnala-disservizio"
	NewPath     = Path + "/nuova"
	ConfirmPath = Path + "/conferma"
	OfficePath  = "/backoffice/segnalazioni"
)

// OfficeRoles answer the reports: the public relations office and the
// administrators.
var OfficeRoles = []string{"urp", "admin"}

// Feature is "Segnala disservizio".
func Feature() feature.Feature {
	return feature.Feature{
		Name: "segnala", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			s := &Store{DB: h.DB, Audit: h.Audit, Outbox: h.Outbox, Limiter: h.Limiter, MailBudget: h.ID.Svc.MailBudget,
				T: h.Portal.I18n.T, BaseURL: h.BaseURL, Files: h.Attachments}
			w := &Web{App: h.Portal, Store: s}
			m := h.Portal.For("segnala")
			m.HandleFunc("GET "+Path, w.list)
			m.HandleFunc("GET "+Path+"/{id}", w.detail)
			m.HandleFunc("GET "+NewPath, w.form)
			m.HandleFunc("POST "+NewPath, w.create)
			m.HandleFunc("GET "+ConfirmPath, w.confirmForm)
			m.HandleFunc("POST "+ConfirmPath, w.confirm)
			// The reporter's own photographs, for their data download.
			m.Guarded(assurance.Low).HandleFunc("GET "+Path+"/{id}/mie-foto/{photo}", w.ownPhoto)
			office := m.Guarded(assurance.Low, OfficeRoles...)
			office.HandleFunc("GET "+OfficePath, w.queue)
			office.HandleFunc("GET "+OfficePath+"/{id}", w.officeDetail)
			office.HandleFunc("POST "+OfficePath+"/{id}", w.reply)
			office.HandleFunc("GET "+OfficePath+"/{id}/foto/{photo}", w.photo)
			h.BackOffice(identity.Section{Label: "segnala.office.title", Href: OfficePath, Roles: OfficeRoles})
			h.Export("segnalazioni", func(ctx context.Context, a *identity.Account) (any, error) { return s.Export(ctx, a.ID) })
			h.Every("purge-unconfirmed", time.Hour, s.Purge)
			return nil
		},
	}
}

// Web serves the reports' pages.
type Web struct {
	App   *web.App
	Store *Store
}

// ListData is the public list, and the office's queue.
type ListData struct {
	Reports    []*Report
	Total      int
	Status     string
	Statuses   []string
	Page, Last int
	Capped     bool
	// Prev and Next are the neighbouring pages' addresses ("" at the ends).
	Prev, Next string
}

// paginate sets the list's last page and the links around page, which
// keep the status chosen.
func (d *ListData) paginate(path string, withStatus bool) {
	d.Last, d.Capped = max(1, (d.Total+PageSize-1)/PageSize), d.Total >= CountCap
	href := func(n int) string {
		q := url.Values{}
		if withStatus && d.Status != "" {
			q.Set("stato", d.Status)
		}
		if n > 1 {
			q.Set("pagina", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	if d.Page > 1 {
		d.Prev = href(min(d.Page-1, d.Last))
	}
	if d.Page < d.Last {
		d.Next = href(d.Page + 1)
	}
}

func pageOf(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("pagina"))
	return max(1, min(n, CountCap/PageSize))
}

func (h *Web) list(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("stato")
	if !slices.Contains(OfficeStatuses, status) {
		status = ""
	}
	page := pageOf(r)
	list, total, err := h.Store.List(r.Context(), status, page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "segnala.title")
	d := &ListData{Reports: list, Total: total, Status: status, Statuses: OfficeStatuses, Page: page}
	d.paginate(Path, true)
	p.Data = d
	h.App.HTML(w, r, http.StatusOK, "segnala_list", p)
}

func (h *Web) detail(w http.ResponseWriter, r *http.Request) {
	rep, err := h.Store.Public(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "")
	p.Title = p.T("segnala.detail.title", "Category", p.T("segnala.category."+rep.Category))
	p.Breadcrumb = []web.Crumb{{Label: p.T("segnala.title"), Href: Path}, {Label: p.Title}}
	p.Data = &DetailData{Report: rep, Sent: r.URL.Query().Get("inviata") != ""}
	h.App.HTML(w, r, http.StatusOK, "segnala_detail", p)
}

// DetailData is a published report; Sent says it was just sent.
type DetailData struct {
	Report *Report
	Sent   bool
}

// FormData is the report form.
type FormData struct {
	Values     map[string]string
	Errors     problem.Fields
	Categories []string
	// NeedEmail: the visitor is not logged in with a confirmed address;
	// otherwise Email is where the answers go.
	NeedEmail bool
	Email     string
	// Photos: the form takes photographs (MaxPhotos of PhotoMiB each).
	Photos              bool
	MaxPhotos, PhotoMiB int
	// Points: the form takes the place's point (the town has maps).
	Points bool
}

// reporter is who is reporting: an account with its confirmed address,
// or nobody.
func reporter(r *http.Request) Reporter {
	a, _ := identity.Current(r.Context())
	if a == nil {
		return Reporter{}
	}
	return Reporter{AccountID: a.ID, Email: a.Email, Verified: a.EmailVerifiedAt != nil && a.Email != ""}
}

func (h *Web) formPage(w http.ResponseWriter, r *http.Request, status int, d *FormData) {
	by := reporter(r)
	d.Categories, d.NeedEmail = Categories, !(by.AccountID != "" && by.Verified)
	d.Photos, d.MaxPhotos, d.PhotoMiB = h.photosAllowed(by), MaxPhotos, PhotoSize>>20
	d.Points = h.App.Maps != nil
	if !d.NeedEmail {
		d.Email = by.Email
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	p := h.App.NewPage(r, "segnala.new.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("segnala.title"), Href: Path}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "segnala_new", p)
}

func (h *Web) form(w http.ResponseWriter, r *http.Request) {
	h.formPage(w, r, http.StatusOK, &FormData{Values: map[string]string{"category": r.URL.Query().Get("categoria")}})
}

// formLimits bound the report's form: 32 KiB of text for anyone, and the
// photographs only for a reporter who may send them (photosAllowed),
// whose body may then take the upload's time.
func formLimits(photos bool) attachments.FormLimits {
	l := attachments.FormLimits{Body: 32 << 10, Text: 8 << 10, Parts: 40}
	if photos {
		l.Body += MaxPhotos * (PhotoSize + 4<<10)
		l.Files = map[string]attachments.FileField{"photos": PhotoField}
	}
	return l
}

// photosAllowed says whether the reporter may send photographs: logged in
// with a confirmed address (the report is published at once, and the
// upload's time is given to someone known), and the files kept.
func (h *Web) photosAllowed(by Reporter) bool {
	return by.PublishesAtOnce() && h.Store.Files != nil
}

// photoRefusal is the message beside the photographs' field for a refused
// file.
func photoRefusal(err error) string {
	switch {
	case errors.Is(err, attachments.ErrTooMany):
		return "segnala.error.photos_many"
	case errors.Is(err, attachments.ErrTooLarge):
		return "segnala.error.photo_large"
	case errors.Is(err, attachments.ErrInfected), errors.Is(err, attachments.ErrScanFailed):
		id, _ := attachments.Message(err)
		return id
	}
	return "segnala.error.photo_type"
}

func (h *Web) create(w http.ResponseWriter, r *http.Request) {
	by := reporter(r)
	photos := h.photosAllowed(by)
	if photos {
		h.App.LargeBody(w, r)
	}
	form, err := h.Store.Files.ReadForm(r.Context(), w, r, formLimits(photos))
	switch {
	case errors.Is(err, attachments.ErrFormTooLarge):
		h.App.Error(w, r, http.StatusRequestEntityTooLarge)
		return
	case errors.Is(err, attachments.ErrForm):
		h.App.Error(w, r, http.StatusBadRequest)
		return
	case err != nil:
		h.App.Fail(w, r, err)
		return
	}
	defer form.Discard()
	f := form.Values
	in := Input{Category: f.Get("category"), Address: f.Get("address"), Description: f.Get("description"), Email: f.Get("email"),
		Lat: f.Get("lat"), Lon: f.Get("lon"),
		Privacy: f.Get("privacy") == "1", Lang: h.App.I18n.Lang(r), Remote: web.RemoteAddr(r), Photos: form.Files["photos"]}
	var rep *Report
	refusal := ""
	switch {
	case form.Dropped["photos"] > 0:
		// Sent by hand: the form offers no photographs to this reporter.
		refusal = "segnala.error.photos_login"
	case form.Refused["photos"] != nil:
		refusal = photoRefusal(form.Refused["photos"])
	}
	if refusal != "" {
		fe := Check(&in, !by.PublishesAtOnce())
		if fe == nil {
			fe = Fields{}
		}
		fe["photos"] = refusal
		err = fe
	} else {
		rep, err = h.Store.Create(r.Context(), in, by)
	}
	var fe problem.Fields
	switch {
	case errors.As(err, &fe):
		h.formPage(w, r, http.StatusUnprocessableEntity, &FormData{Errors: fe,
			Values: map[string]string{"category": in.Category, "address": in.Address, "description": in.Description, "email": in.Email,
				"privacy": f.Get("privacy"), "lat": in.Lat, "lon": in.Lon}})
	case err != nil:
		h.App.Fail(w, r, err)
	case rep.Status == Unconfirmed:
		h.notice(w, r, http.StatusOK, "segnala.new.title", "segnala.new.check_mail", "")
	default:
		// The public list changed: this process shows it at once, the
		// others within the page cache's TTL. Publishing is bounded by the
		// reports' and mails' budgets, so a client cannot purge at will.
		h.App.PurgeCaches()
		web.Redirect(w, r, Path+"/"+rep.ID, url.Values{"inviata": {"1"}})
	}
}

// NoticeData is a page that only tells something (message ids).
type NoticeData struct {
	Message, Alert string
	// Token is the confirmation form's link token.
	Token  string
	Report *Report
}

func (h *Web) notice(w http.ResponseWriter, r *http.Request, status int, title, message, alert string) {
	p := h.App.NewPage(r, title)
	p.Breadcrumb = []web.Crumb{{Label: p.T("segnala.title"), Href: Path}, {Label: p.Title}}
	p.Data = &NoticeData{Message: message, Alert: alert}
	w.Header().Set("Cache-Control", "no-store")
	h.App.HTML(w, r, status, "segnala_notice", p)
}

// confirmForm is the mailed link's page: a button, so that a mail
// scanner opening the link publishes nothing.
func (h *Web) confirmForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	rep, err := h.Store.Pending(r.Context(), token)
	if errors.Is(err, ErrTokenInvalid) {
		h.notice(w, r, http.StatusBadRequest, "segnala.confirm.title", "", "segnala.error.token")
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "segnala.confirm.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("segnala.title"), Href: Path}, {Label: p.Title}}
	rep.AccountID, rep.Email = "", ""
	p.Data = &NoticeData{Token: token, Report: rep}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.App.HTML(w, r, http.StatusOK, "segnala_confirm", p)
}

func (h *Web) confirm(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	rep, err := h.Store.Confirm(r.Context(), r.PostForm.Get("token"))
	switch {
	case errors.Is(err, ErrTokenInvalid):
		h.notice(w, r, http.StatusBadRequest, "segnala.confirm.title", "", "segnala.error.token")
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.App.PurgeCaches()
		web.Redirect(w, r, Path+"/"+rep.ID, url.Values{"inviata": {"1"}})
	}
}

func (h *Web) queue(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("stato")
	if !slices.Contains(OfficeStatuses, status) {
		status = Open
	}
	page := pageOf(r)
	list, total, err := h.Store.Queue(r.Context(), status, page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "segnala.office.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.Title}}
	d := &ListData{Reports: list, Total: total, Status: status, Statuses: OfficeStatuses, Page: page}
	d.paginate(OfficePath, true)
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, http.StatusOK, "segnala_office", p)
}

// Photo is one of a report's photographs on the office's page: its id
// and its number, for the image's text.
type Photo struct {
	ID string
	N  int
}

// OfficeData is a report as the office sees it, with the answer form.
type OfficeData struct {
	Report   *Report
	Photos   []Photo
	Statuses []string
	Values   map[string]string
	Errors   problem.Fields
	Alert    string
	Saved    bool
}

func (h *Web) officePage(w http.ResponseWriter, r *http.Request, status int, d *OfficeData) {
	p := h.App.NewPage(r, "")
	p.Title = p.T("segnala.detail.title", "Category", p.T("segnala.category."+d.Report.Category))
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.T("segnala.office.title"), Href: OfficePath}, {Label: p.Title}}
	d.Statuses = OfficeStatuses
	photos, err := h.Store.Photos(r.Context(), d.Report.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Photos = nil
	for i, a := range photos {
		d.Photos = append(d.Photos, Photo{ID: a.ID, N: i + 1})
	}
	if d.Values == nil {
		d.Values = map[string]string{"status": d.Report.Status, "answer": d.Report.Answer}
	}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "segnala_office_detail", p)
}

func (h *Web) officeDetail(w http.ResponseWriter, r *http.Request) {
	rep, err := h.Store.Get(r.Context(), r.PathValue("id"))
	if err == nil && rep.Status == Unconfirmed {
		err = ErrNotFound
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.officePage(w, r, http.StatusOK, &OfficeData{Report: rep, Saved: r.URL.Query().Get("salvata") != ""})
}

// OwnPhotoPath is where the author of report id downloads its photograph
// photo.
func OwnPhotoPath(id, photo string) string { return Path + "/" + id + "/mie-foto/" + photo }

// ownPhoto sends one of a report's photographs to the account that sent
// it; to anyone else it is not there.
func (h *Web) ownPhoto(w http.ResponseWriter, r *http.Request) {
	acc, _ := identity.Current(r.Context())
	a, f, err := h.Store.OwnPhoto(r.Context(), acc.ID, r.PathValue("id"), r.PathValue("photo"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	defer f.Close()
	attachments.Serve(w, r, f, a.Filename, a.MediaType, a.SHA256, a.CreatedAt, "private, no-store")
}

// photo sends one of a report's photographs to the office.
func (h *Web) photo(w http.ResponseWriter, r *http.Request) {
	a, f, err := h.Store.Photo(r.Context(), r.PathValue("id"), r.PathValue("photo"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	defer f.Close()
	attachments.Serve(w, r, f, a.Filename, a.MediaType, a.SHA256, a.CreatedAt, "private, no-store")
}

func (h *Web) reply(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 32<<10) {
		return
	}
	a, _ := identity.Current(r.Context())
	f := r.PostForm
	version, _ := strconv.Atoi(f.Get("version"))
	rep, err := h.Store.Reply(r.Context(), r.PathValue("id"), Answer{Status: f.Get("status"), Answer: f.Get("answer"), Version: version,
		Actor: "operator:" + a.ID, Remote: web.RemoteAddr(r)})
	var fe problem.Fields
	switch {
	case errors.As(err, &fe), errors.Is(err, ErrChanged):
		cur, gerr := h.Store.Get(r.Context(), r.PathValue("id"))
		if gerr != nil {
			h.App.Fail(w, r, gerr)
			return
		}
		d := &OfficeData{Report: cur, Errors: fe, Values: map[string]string{"status": f.Get("status"), "answer": f.Get("answer")}}
		status := http.StatusUnprocessableEntity
		if fe == nil {
			d.Alert, d.Values, status = "segnala.error.changed", nil, http.StatusConflict
		}
		h.officePage(w, r, status, d)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.App.PurgeCaches()
		web.Redirect(w, r, OfficePath+"/"+rep.ID, url.Values{"salvata": {"1"}})
	}
}
