package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
)

// The back office of the catalogue: operators of the public relations
// office (urp) and administrators edit offices' hours and details and the
// services' texts. Every change is validated against the whole catalogue,
// saved in one transaction with its audit entry, and seen by every process
// within the store's TTL.

// EditorRoles may edit the catalogue.
var EditorRoles = []string{"urp", "admin"}

// SaveOffice validates the catalogue with the office changed and stores it.
func (s *Store) SaveOffice(ctx context.Context, auditor audit.Writer, actor string, o *Office) error {
	c, err := s.Get(ctx)
	if err != nil {
		return err
	}
	next := c.with(o, nil)
	if err := next.Validate(s.holidays(ctx)); err != nil {
		return err
	}
	spec, err := json.Marshal(o.Spec)
	if err != nil {
		return err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE offices SET name = $1, description = $2, address = $3, postal_code = $4, phone = $5, email = $6,
			accessibility = $7, hours = $8, updated_at = $9 WHERE id = $10`,
			o.Name, o.Description, o.Address, o.PostalCode, o.Phone, o.Email, o.Accessibility, string(spec), time.Now().UTC(), o.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		return auditor.Write(ctx, tx, audit.Entry{Actor: actor, Action: "catalog.office.updated", Subject: o.ID,
			Details: map[string]string{"hours": string(spec)}})
	})
	if err != nil {
		return err
	}
	s.Forget()
	return nil
}

// SaveService validates the catalogue with the service changed and stores it.
func (s *Store) SaveService(ctx context.Context, auditor audit.Writer, actor string, v *Service) error {
	c, err := s.Get(ctx)
	if err != nil {
		return err
	}
	next := c.with(nil, v)
	if err := next.Validate(s.holidays(ctx)); err != nil {
		return err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE services SET category = $1, title = $2, status = $3, status_reason = $4, summary = $5, audience = $6,
			how_to = $7, needed = $8, outcome = $9, deadlines = $10, max_days = $11, online_url = $12, assurance = $13, channel = $14, fees = $15,
			conditions = $16, topics = $17, audiences = $18, updated_at = $19 WHERE id = $20`,
			v.Category, v.Title, v.Status, v.StatusReason, v.Summary, v.Audience, v.HowTo, v.Needed, v.Outcome, v.Deadlines, v.MaxDays, v.OnlineURL,
			v.Assurance, v.Channel, v.Fees, v.Conditions, strings.Join(v.Topics, ","), strings.Join(v.Audiences, ","), time.Now().UTC(), v.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM service_offices WHERE service_id = $1`, v.ID); err != nil {
			return err
		}
		for pos, o := range v.Offices {
			if _, err := tx.ExecContext(ctx, `INSERT INTO service_offices (service_id, office_id, position) VALUES ($1, $2, $3)`, v.ID, o, pos); err != nil {
				return err
			}
		}
		if err := indexServices(ctx, s.DB, tx, next.Services); err != nil {
			return err
		}
		return auditor.Write(ctx, tx, audit.Entry{Actor: actor, Action: "catalog.service.updated", Subject: v.ID,
			Details: map[string]string{"status": v.Status, "title": v.Title}})
	})
	if err != nil {
		return err
	}
	s.Forget()
	return nil
}

// ErrNotFound means no such office or service.
var ErrNotFound = problem.New(problem.NotFound, "", errors.New("no such office or service"))

// Forget drops the cached catalogue: the next Get reads the database (after an edit).
func (s *Store) Forget() { s.cached.Purge() }

// with is a copy of the catalogue with one office or service replaced.
func (c *Catalog) with(o *Office, v *Service) *Catalog {
	n := &Catalog{}
	for _, x := range c.Offices {
		if o != nil && x.ID == o.ID {
			x = o
		} else {
			// Validate recomputes each office's hours: work on copies, the
			// cached catalogue is being read by other requests.
			cp := *x
			x = &cp
		}
		n.Offices = append(n.Offices, x)
	}
	for _, x := range c.Services {
		if v != nil && x.ID == v.ID {
			x = v
		}
		n.Services = append(n.Services, x)
	}
	return n
}

// BackOffice serves the catalogue's back-office pages.
type BackOffice struct {
	*Web
	Audit audit.Writer
}

// Routes registers the back-office pages, for editors only.
func (b *BackOffice) Routes() {
	m := b.App.For("catalog").Guarded(assurance.Low, EditorRoles...)
	m.HandleFunc("GET /backoffice/catalogo", b.index)
	m.HandleFunc("GET /backoffice/uffici/{id}", b.officeForm)
	m.HandleFunc("POST /backoffice/uffici/{id}", b.saveOffice)
	m.HandleFunc("GET /backoffice/servizi/{id}", b.serviceForm)
	m.HandleFunc("POST /backoffice/servizi/{id}", b.saveService)
}

// EditData is the content of the back-office catalogue pages.
type EditData struct {
	Catalog *Catalog
	Office  *Office
	Service *Service
	// Values are the fields as typed; Error names the field in error.
	Values     map[string]string
	ErrorField string
	ErrorText  string
	Saved      bool
	Fields     []WeekdayField
	Categories []taxonomy.Term
	Topics     []taxonomy.Term
}

func (b *BackOffice) page(w http.ResponseWriter, r *http.Request, status int, name, title string, d *EditData) {
	page := b.App.NewPage(r, "")
	page.Title = title
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}, {Label: page.T("catalog.bo.title"), Href: "/backoffice/catalogo"}}
	if name != "bo_catalog" {
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: title})
	} else {
		page.Breadcrumb = page.Breadcrumb[:1]
		page.Breadcrumb = append(page.Breadcrumb, web.Crumb{Label: title})
	}
	d.Saved = r.URL.Query().Get("salvato") != ""
	d.Fields, d.Categories, d.Topics = Weekdays, taxonomy.ServiceCategories, taxonomy.Topics
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	b.App.HTML(w, r, status, name, page)
}

func (b *BackOffice) index(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	b.page(w, r, http.StatusOK, "bo_catalog", b.App.I18n.T(b.App.I18n.Lang(r), "catalog.bo.title"), &EditData{Catalog: c})
}

func officeValues(o *Office) map[string]string {
	v := map[string]string{"name": o.Name, "description": o.Description, "address": o.Address, "postal_code": o.PostalCode,
		"phone": o.Phone, "email": o.Email, "accessibility": o.Accessibility}
	for _, f := range Weekdays {
		v[f.Name] = strings.Join(o.Spec.Week[f.Name], ", ")
	}
	var ex []string
	for _, e := range o.Spec.Exceptions {
		line := e.Date + " "
		if e.Closed {
			line += "chiuso"
		} else {
			line += strings.Join(e.Hours, ", ")
		}
		if e.Note != "" {
			line += " # " + e.Note
		}
		ex = append(ex, line)
	}
	v["exceptions"] = strings.Join(ex, "\n")
	return v
}

func (b *BackOffice) officeForm(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	o, found := c.Office(r.PathValue("id"))
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	b.page(w, r, http.StatusOK, "bo_office", o.Name, &EditData{Office: o, Values: officeValues(o)})
}

// parseExceptions reads one exception a line: "2026-12-24 chiuso # note" or
// "2026-12-31 09:00-12:00, 14:00-16:00 # note".
func parseExceptions(text string) ([]hours.ExceptionSpec, error) {
	var out []hours.ExceptionSpec
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		spec, note, _ := strings.Cut(line, "#")
		date, rest, _ := strings.Cut(strings.TrimSpace(spec), " ")
		e := hours.ExceptionSpec{Date: date, Note: strings.TrimSpace(note)}
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(rest) {
		case "chiuso", "closed":
			e.Closed = true
		case "":
			return nil, errors.New(line)
		default:
			for _, p := range strings.Split(rest, ",") {
				e.Hours = append(e.Hours, strings.TrimSpace(p))
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// form reads a posted back-office form of at most limit bytes: the values,
// and the same as a map to put back in the fields when it is refused. A
// malformed or oversized body gets its error page and ok false.
func (b *BackOffice) form(w http.ResponseWriter, r *http.Request, limit int64) (f url.Values, values map[string]string, ok bool) {
	if !b.App.ParseForm(w, r, limit) {
		return nil, nil, false
	}
	values = make(map[string]string, len(r.PostForm))
	for k := range r.PostForm {
		values[k] = r.PostForm.Get(k)
	}
	return r.PostForm, values, true
}

func (b *BackOffice) saveOffice(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	old, found := c.Office(r.PathValue("id"))
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	f, values, ok := b.form(w, r, 64<<10)
	if !ok {
		return
	}
	o := &Office{ID: old.ID, Name: strings.TrimSpace(f.Get("name")), Description: strings.TrimSpace(f.Get("description")),
		Address: strings.TrimSpace(f.Get("address")), PostalCode: strings.TrimSpace(f.Get("postal_code")), Lat: old.Lat, Lon: old.Lon,
		Phone: strings.TrimSpace(f.Get("phone")), Email: strings.TrimSpace(f.Get("email")), Accessibility: strings.TrimSpace(f.Get("accessibility")),
		Spec: hours.Spec{Week: map[string][]string{}, Periods: old.Spec.Periods}}
	for _, wd := range Weekdays {
		if v := strings.TrimSpace(f.Get(wd.Name)); v != "" {
			for _, p := range strings.Split(v, ",") {
				o.Spec.Week[wd.Name] = append(o.Spec.Week[wd.Name], strings.TrimSpace(p))
			}
		}
	}
	lang := b.App.I18n.Lang(r)
	ex, err := parseExceptions(f.Get("exceptions"))
	if err != nil {
		b.page(w, r, http.StatusUnprocessableEntity, "bo_office", old.Name, &EditData{Office: old, Values: values, ErrorField: "exceptions",
			ErrorText: b.App.I18n.T(lang, "catalog.bo.error_exceptions", "Line", err.Error())})
		return
	}
	o.Spec.Exceptions = ex
	me, _ := identity.Current(r.Context())
	err = b.Store.SaveOffice(r.Context(), b.Audit, "account:"+me.ID, o)
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		field := officeField(fe.Field)
		b.page(w, r, http.StatusUnprocessableEntity, "bo_office", old.Name, &EditData{Office: old, Values: values, ErrorField: field,
			ErrorText: b.App.I18n.T(lang, "catalog.bo.error_field", "Reason", fe.Reason)})
	case err != nil:
		b.App.Log.Error("save office", "err", err, "request_id", web.RequestID(r.Context()))
		b.App.Error(w, r, http.StatusInternalServerError)
	default:
		b.App.PurgeCaches()
		web.Redirect(w, r, "/backoffice/uffici/"+o.ID, url.Values{"salvato": {"1"}})
	}
}

func serviceValues(s *Service) map[string]string {
	return map[string]string{"category": s.Category, "title": s.Title, "status": s.Status, "status_reason": s.StatusReason,
		"summary": s.Summary, "audience": s.Audience, "how_to": s.HowTo, "needed": s.Needed, "outcome": s.Outcome, "deadlines": s.Deadlines,
		"max_days": strconv.Itoa(s.MaxDays), "online_url": s.OnlineURL, "assurance": s.Assurance, "channel": s.Channel, "fees": s.Fees,
		"conditions": s.Conditions, "topics": strings.Join(s.Topics, ", "), "audiences": strings.Join(s.Audiences, ", "), "offices": strings.Join(s.Offices, ", ")}
}

func (b *BackOffice) serviceForm(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	s, found := c.Service(r.PathValue("id"))
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	b.page(w, r, http.StatusOK, "bo_service", s.Title, &EditData{Service: s, Values: serviceValues(s), Catalog: c})
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (b *BackOffice) saveService(w http.ResponseWriter, r *http.Request) {
	c, ok := b.catalog(w, r)
	if !ok {
		return
	}
	old, found := c.Service(r.PathValue("id"))
	if !found {
		b.App.Error(w, r, http.StatusNotFound)
		return
	}
	// A service's texts may reach 256 KiB: more than the listener's read
	// timeout allows on a slow line. Editors only (Routes checks the role).
	b.App.LargeBody(w, r)
	f, values, ok := b.form(w, r, 256<<10)
	if !ok {
		return
	}
	lang := b.App.I18n.Lang(r)
	maxDays, err := strconv.Atoi(strings.TrimSpace(f.Get("max_days")))
	if err != nil {
		b.page(w, r, http.StatusUnprocessableEntity, "bo_service", old.Title, &EditData{Service: old, Values: values, Catalog: c,
			ErrorField: "max_days", ErrorText: b.App.I18n.T(lang, "catalog.bo.error_field", "Reason", "0-3650")})
		return
	}
	t := strings.TrimSpace
	v := &Service{ID: old.ID, Category: t(f.Get("category")), Title: t(f.Get("title")), Status: t(f.Get("status")), StatusReason: t(f.Get("status_reason")),
		Summary: t(f.Get("summary")), Audience: t(f.Get("audience")), HowTo: t(f.Get("how_to")), Needed: t(f.Get("needed")), Outcome: t(f.Get("outcome")),
		Deadlines: t(f.Get("deadlines")), MaxDays: maxDays, OnlineURL: t(f.Get("online_url")), Assurance: t(f.Get("assurance")), Channel: t(f.Get("channel")),
		Fees: t(f.Get("fees")), Conditions: t(f.Get("conditions")), Topics: list(f.Get("topics")), Audiences: list(f.Get("audiences")), Offices: list(f.Get("offices"))}
	me, _ := identity.Current(r.Context())
	err = b.Store.SaveService(r.Context(), b.Audit, "account:"+me.ID, v)
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		field := fe.Field[strings.LastIndex(fe.Field, ".")+1:]
		if i := strings.Index(field, "["); i > 0 {
			field = field[:i]
		}
		b.page(w, r, http.StatusUnprocessableEntity, "bo_service", old.Title, &EditData{Service: old, Values: values, Catalog: c,
			ErrorField: field, ErrorText: b.App.I18n.T(lang, "catalog.bo.error_field", "Reason", fe.Reason)})
	case err != nil:
		b.App.Log.Error("save service", "err", err, "request_id", web.RequestID(r.Context()))
		b.App.Error(w, r, http.StatusInternalServerError)
	default:
		b.App.PurgeCaches()
		web.Redirect(w, r, "/backoffice/servizi/"+v.ID, url.Values{"salvato": {"1"}})
	}
}

// officeField maps an error's path in the catalogue ("offices[3].hours.
// week.sunday", "offices[3].hours.exceptions[0].date", "offices[3].name")
// to the form field to mark.
func officeField(path string) string {
	if strings.Contains(path, ".exceptions") {
		return "exceptions"
	}
	for _, wd := range Weekdays {
		if strings.Contains(path, "week."+wd.Name) {
			return wd.Name
		}
	}
	last := path[strings.LastIndex(path, ".")+1:]
	if i := strings.Index(last, "["); i > 0 {
		last = last[:i]
	}
	return last
}
