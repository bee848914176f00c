package schools

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// The school office's back office: the services of each school year (the
// window, who may enrol, the tariff bands), their units and capacities,
// and each unit's accepted and waiting enrolments in order.

func actor(r *http.Request) Actor {
	a, _ := identity.Current(r.Context())
	name := ""
	if a != nil {
		name = "operator:" + a.ID
	}
	return Actor{Name: name, Remote: web.RemoteAddr(r)}
}

func (h *Web) boPage(w http.ResponseWriter, r *http.Request, status int, name, title string, crumbs []web.Crumb, data any) {
	p := h.App.NewPage(r, "")
	p.Title = title
	p.Breadcrumb = append([]web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.T("schools.bo.title"), Href: boPath}}, crumbs...)
	if len(crumbs) == 0 {
		p.Breadcrumb[1].Href = ""
	}
	p.Data = data
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, name, p)
}

// BOIndexData is the back office's list of services.
type BOIndexData struct {
	Services           []*Service
	Page, Pages, Total int
}

func (h *Web) boIndex(w http.ResponseWriter, r *http.Request) {
	page := pageOf(r)
	list, total, err := h.Store.Services(r.Context(), page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.boPage(w, r, http.StatusOK, "schools_bo", h.App.I18n.T(h.App.I18n.Lang(r), "schools.bo.title"), nil,
		&BOIndexData{Services: list, Page: page, Total: total, Pages: max(1, (total+PageSize-1)/PageSize)})
}

// BOServiceData is a service's form, and (an existing service) its units.
type BOServiceData struct {
	Service *Service
	Values  map[string]string
	Classes map[string]bool
	Errors  problem.Fields
	// UnitValues and UnitErrors are the form that adds a unit.
	UnitValues map[string]string
	UnitErrors problem.Fields
	Message    string
}

func serviceValues(s *Service) (map[string]string, map[string]bool) {
	v := map[string]string{"school_year": s.SchoolYear, "kind": string(s.Kind), "title": s.Title, "description": s.Description,
		"opens": s.OpensAt.In(rome).Format(formTime), "closes": s.ClosesAt.In(rome).Format(formTime), "tariff_unit": s.TariffUnit,
		"bands": s.Bands.String(), "exempt_isee": s.ExemptText(), "mode": string(s.Mode),
		"points_resident": strconv.Itoa(s.Points.Resident), "points_sibling": strconv.Itoa(s.Points.Sibling), "points_working": strconv.Itoa(s.Points.WorkingParents)}
	if s.Sibling2 > 0 {
		v["sibling2"] = strconv.Itoa(s.Sibling2)
	}
	if s.Sibling3 > 0 {
		v["sibling3"] = strconv.Itoa(s.Sibling3)
	}
	if s.ResidentsOnly {
		v["residents_only"] = "1"
	}
	c := map[string]bool{}
	for _, x := range s.Classes {
		c[x] = true
	}
	return v, c
}

func (h *Web) boNew(w http.ResponseWriter, r *http.Request) {
	h.renderService(w, r, http.StatusOK, &BOServiceData{Values: map[string]string{"tariff_unit": "month", "bands": "oltre: 0,00\n"}, Classes: map[string]bool{}})
}

func (h *Web) renderService(w http.ResponseWriter, r *http.Request, status int, d *BOServiceData) {
	lang := h.App.I18n.Lang(r)
	if d.UnitValues == nil {
		d.UnitValues = map[string]string{}
	}
	if d.Service == nil {
		h.boPage(w, r, status, "schools_bo_service", h.App.I18n.T(lang, "schools.bo.new"), []web.Crumb{{Label: h.App.I18n.T(lang, "schools.bo.new")}}, d)
		return
	}
	title := d.Service.Title + " " + d.Service.SchoolYear
	h.boPage(w, r, status, "schools_bo_service", title, []web.Crumb{{Label: title}}, d)
}

func serviceInput(f url.Values) ServiceInput {
	return ServiceInput{SchoolYear: f.Get("school_year"), Kind: f.Get("kind"), Title: f.Get("title"), Description: f.Get("description"),
		Opens: f.Get("opens"), Closes: f.Get("closes"), Classes: f["classes"], ResidentsOnly: f.Get("residents_only") == "1",
		TariffUnit: f.Get("tariff_unit"), Bands: f.Get("bands"), Sibling2: f.Get("sibling2"), Sibling3: f.Get("sibling3"), ExemptISEE: f.Get("exempt_isee"),
		Mode: f.Get("mode"), PointsResident: f.Get("points_resident"), PointsSibling: f.Get("points_sibling"), PointsWorking: f.Get("points_working")}
}

func formValues(f url.Values) (map[string]string, map[string]bool) {
	v := map[string]string{}
	for _, k := range []string{"school_year", "kind", "title", "description", "opens", "closes", "residents_only", "tariff_unit", "bands", "sibling2", "sibling3", "exempt_isee",
		"mode", "points_resident", "points_sibling", "points_working"} {
		v[k] = f.Get(k)
	}
	c := map[string]bool{}
	for _, x := range f["classes"] {
		c[x] = true
	}
	return v, c
}

func (h *Web) boCreate(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 64<<10) {
		return
	}
	id, err := h.Store.PutService(r.Context(), "", serviceInput(r.PostForm), actor(r))
	var fe problem.Fields
	if errors.As(err, &fe) {
		v, c := formValues(r.PostForm)
		h.renderService(w, r, http.StatusUnprocessableEntity, &BOServiceData{Values: v, Classes: c, Errors: fe})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath+"/"+id, url.Values{"salvato": {"1"}})
}

func (h *Web) boService(w http.ResponseWriter, r *http.Request) {
	svc, err := h.Store.Service(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	v, c := serviceValues(svc)
	d := &BOServiceData{Service: svc, Values: v, Classes: c}
	switch {
	case r.URL.Query().Get("salvato") == "1":
		d.Message = "schools.bo.saved"
	case r.URL.Query().Get("unita") == "1":
		d.Message = "schools.bo.unit_added"
	}
	h.renderService(w, r, http.StatusOK, d)
}

func (h *Web) boUpdate(w http.ResponseWriter, r *http.Request) {
	svc, err := h.Store.Service(r.Context(), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if !h.App.ParseForm(w, r, 64<<10) {
		return
	}
	in := serviceInput(r.PostForm)
	in.Kind = string(svc.Kind)
	_, err = h.Store.PutService(r.Context(), svc.ID, in, actor(r))
	var fe problem.Fields
	if errors.As(err, &fe) {
		v, c := formValues(r.PostForm)
		v["kind"] = string(svc.Kind)
		h.renderService(w, r, http.StatusUnprocessableEntity, &BOServiceData{Service: svc, Values: v, Classes: c, Errors: fe})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath+"/"+svc.ID, url.Values{"salvato": {"1"}})
}

func (h *Web) boAddUnit(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 64<<10) {
		return
	}
	f := r.PostForm
	in := UnitInput{Label: f.Get("label"), Stops: f.Get("stops"), Capacity: f.Get("capacity")}
	_, err := h.Store.AddUnit(r.Context(), r.PathValue("id"), in, actor(r))
	var fe problem.Fields
	if errors.As(err, &fe) {
		svc, serr := h.Store.Service(r.Context(), r.PathValue("id"))
		if serr != nil {
			h.App.Fail(w, r, serr)
			return
		}
		v, c := serviceValues(svc)
		h.renderService(w, r, http.StatusUnprocessableEntity, &BOServiceData{Service: svc, Values: v, Classes: c,
			UnitValues: map[string]string{"label": in.Label, "stops": in.Stops, "capacity": in.Capacity}, UnitErrors: fe})
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath+"/"+r.PathValue("id"), url.Values{"unita": {"1"}})
}

// BOUnitData is a unit's enrolments of one status, in order.
type BOUnitData struct {
	Service            *Service
	Unit               *Unit
	Status             Status
	Enrolments         []*Enrolment
	Page, Pages, Total int
	Error, Message     string
	Capacity           string
}

func (h *Web) unitOf(r *http.Request) (*Service, *Unit, error) {
	svc, err := h.Store.ServiceOfUnit(r.Context(), r.PathValue("unit"))
	if err != nil {
		return nil, nil, err
	}
	u, _ := svc.Unit(r.PathValue("unit"))
	return svc, u, nil
}

func (h *Web) boUnit(w http.ResponseWriter, r *http.Request) {
	h.renderUnit(w, r, http.StatusOK, "", "")
}

func (h *Web) renderUnit(w http.ResponseWriter, r *http.Request, status int, errMsg, capacity string) {
	svc, u, err := h.unitOf(r)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	st := Accepted
	switch Status(r.URL.Query().Get("stato")) {
	case Waiting:
		st = Waiting
	case Pending:
		st = Pending
	}
	page := pageOf(r)
	list, total, err := h.Store.Unit(r.Context(), u.ID, st, page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &BOUnitData{Service: svc, Unit: u, Status: st, Enrolments: list, Page: page, Total: total, Pages: max(1, (total+PageSize-1)/PageSize),
		Error: errMsg, Capacity: capacity}
	if capacity == "" {
		d.Capacity = strconv.Itoa(u.Capacity)
	}
	if n := r.URL.Query().Get("promossi"); n != "" {
		d.Message = "schools.bo.capacity_saved"
	}
	title := svc.Title + " " + svc.SchoolYear + " – " + u.Label
	h.boPage(w, r, status, "schools_bo_unit", title, []web.Crumb{{Label: svc.Title + " " + svc.SchoolYear, Href: boPath + "/" + svc.ID}, {Label: u.Label}}, d)
}

func (h *Web) boCapacity(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	capacity := strings.TrimSpace(r.PostForm.Get("capacity"))
	n, err := h.Store.SetCapacity(r.Context(), r.PathValue("unit"), capacity, actor(r))
	var fe problem.Fields
	if errors.As(err, &fe) {
		h.renderUnit(w, r, http.StatusUnprocessableEntity, fe["capacity"], capacity)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath+"/unita/"+r.PathValue("unit"), url.Values{"promossi": {strconv.Itoa(n)}})
}

// BOISEEData is a service's declared ISEE to check.
type BOISEEData struct {
	Service            *Service
	Enrolments         []*Enrolment
	Page, Pages, Total int
	Message, Error     string
}

func (h *Web) boISEE(w http.ResponseWriter, r *http.Request) {
	h.renderISEE(w, r, http.StatusOK, r.PathValue("id"), "")
}

func (h *Web) renderISEE(w http.ResponseWriter, r *http.Request, status int, serviceID, errMsg string) {
	svc, err := h.Store.Service(r.Context(), serviceID)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	page := pageOf(r)
	list, total, err := h.Store.ISEEToCheck(r.Context(), svc.ID, page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &BOISEEData{Service: svc, Enrolments: list, Page: page, Total: total, Pages: max(1, (total+PageSize-1)/PageSize), Error: errMsg}
	switch r.URL.Query().Get("fatto") {
	case ISEEConfirmed:
		d.Message = "schools.bo.isee.done_confirmed"
	case ISEECorrected:
		d.Message = "schools.bo.isee.done_corrected"
	}
	lang := h.App.I18n.Lang(r)
	name := svc.Title + " " + svc.SchoolYear
	h.boPage(w, r, status, "schools_bo_isee", h.App.I18n.T(lang, "schools.bo.isee.title")+" – "+name,
		[]web.Crumb{{Label: name, Href: boPath + "/" + svc.ID}, {Label: h.App.I18n.T(lang, "schools.bo.isee.title")}}, d)
}

func (h *Web) boCheckISEE(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	f := r.PostForm
	in := ISEECheckInput{Confirm: f.Get("azione") == "conferma", ISEE: f.Get("isee"), NoISEE: f.Get("no_isee") == "1"}
	e, err := h.Store.CheckISEE(r.Context(), r.PathValue("enrolment"), in, actor(r))
	var fe problem.Fields
	if errors.As(err, &fe) || errors.Is(err, ErrISEEWithdrawn) {
		msg := fe["isee"]
		if msg == "" {
			msg = "schools.error.isee_withdrawn"
		}
		var serviceID string
		if qerr := h.Store.DB.QueryRowContext(r.Context(), `SELECT service_id FROM schools_enrolments WHERE id = $1`, r.PathValue("enrolment")).Scan(&serviceID); qerr != nil {
			h.App.Fail(w, r, ErrNotFound)
			return
		}
		h.renderISEE(w, r, http.StatusUnprocessableEntity, serviceID, msg)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath+"/isee/"+e.ServiceID, url.Values{"fatto": {e.ISEECheck}})
}

// BOAttendanceData is a service's attendance page: the upload form, the
// wrong lines of a file refused, the files imported.
type BOAttendanceData struct {
	Service *Service
	Alert   string
	Errors  LineErrors
	Done    *AttendanceResult
	Files   []AttendanceFile
}

func (h *Web) attendancePage(w http.ResponseWriter, r *http.Request, status int, svc *Service, d *BOAttendanceData) {
	var err error
	d.Service = svc
	if d.Files, err = h.Store.AttendanceFiles(r.Context(), svc.ID); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	lang := h.App.I18n.Lang(r)
	name := svc.Title + " " + svc.SchoolYear
	h.boPage(w, r, status, "schools_bo_attendance", h.App.I18n.T(lang, "schools.attendance.title")+" – "+name,
		[]web.Crumb{{Label: name, Href: boPath + "/" + svc.ID}, {Label: h.App.I18n.T(lang, "schools.attendance.title")}}, d)
}

func (h *Web) mealService(w http.ResponseWriter, r *http.Request) (*Service, bool) {
	svc, err := h.Store.Service(r.Context(), r.PathValue("id"))
	if err == nil && svc.TariffUnit != "meal" {
		err = ErrNotFound
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, false
	}
	return svc, true
}

func (h *Web) boAttendance(w http.ResponseWriter, r *http.Request) {
	if svc, ok := h.mealService(w, r); ok {
		h.attendancePage(w, r, http.StatusOK, svc, &BOAttendanceData{})
	}
}

// boImportAttendance imports an attendance file at once, in one
// transaction (at most MaxAttendanceLines lines: a second or two), so the
// office sees every wrong line on the page it sent the file from.
func (h *Web) boImportAttendance(w http.ResponseWriter, r *http.Request) {
	svc, ok := h.mealService(w, r)
	if !ok {
		return
	}
	h.App.LargeBody(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, MaxAttendanceFile+(64<<10))
	file, hdr, err := r.FormFile("file")
	if err != nil {
		h.attendancePage(w, r, http.StatusUnprocessableEntity, svc, &BOAttendanceData{Alert: "schools.attendance.no_file"})
		return
	}
	defer func() { _ = file.Close() }()
	data, err := io.ReadAll(io.LimitReader(file, MaxAttendanceFile+1))
	if err != nil || len(data) > MaxAttendanceFile {
		h.attendancePage(w, r, http.StatusRequestEntityTooLarge, svc, &BOAttendanceData{Alert: "schools.attendance.too_big"})
		return
	}
	res, err := h.Store.ImportAttendance(r.Context(), svc.ID, filepath.Base(hdr.Filename), data, actor(r), nil)
	var le LineErrors
	switch {
	case errors.As(err, &le):
		h.attendancePage(w, r, http.StatusUnprocessableEntity, svc, &BOAttendanceData{Errors: le})
	case errors.Is(err, ErrAttendanceBefore):
		h.attendancePage(w, r, http.StatusConflict, svc, &BOAttendanceData{Alert: "schools.attendance.before"})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.attendancePage(w, r, http.StatusOK, svc, &BOAttendanceData{Done: res})
	}
}
