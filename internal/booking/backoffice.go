package booking

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// The back office: which services each office receives by appointment
// (slot length, counters, limit per person, booking with a mail address),
// and each office's agenda of a day, where an operator cancels a booking
// with a reason the resident is told (and the audit log keeps).

const boPath = "/backoffice/appuntamenti"

func (h *Web) backOfficeRoutes(m web.Registrar) {
	m.HandleFunc("GET "+boPath, h.boIndex)
	m.HandleFunc("POST "+boPath+"/offerte", h.boPutOffer)
	m.HandleFunc("POST "+boPath+"/offerte/elimina", h.boDeleteOffer)
	m.HandleFunc("GET "+boPath+"/uffici/{office}", h.boAgenda)
	m.HandleFunc("POST "+boPath+"/uffici/{office}/{id}/annulla", h.boCancel)
	m.HandleFunc("GET "+boPath+"/cifre", h.boFigures)
	m.HandleFunc("GET "+boPath+"/cifre.csv", h.boFiguresCSV)
}

// OfferRow is an offer as the back office lists it.
type OfferRow struct {
	Offer
	Office  *Office
	Service *Service
}

// BOData is the back office's home: the offers, and the form to add one.
type BOData struct {
	Rows     []OfferRow
	Offices  []*Office
	Services []*Service
	Values   map[string]string
	Errors   problem.Fields
	Message  string
}

func (h *Web) boPage(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	p := h.App.NewPage(r, "")
	p.Title = title
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.T("booking.bo.title"), Href: boPath}}
	if title != p.T("booking.bo.title") {
		p.Breadcrumb = append(p.Breadcrumb, web.Crumb{Label: title})
	}
	p.Data = data
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, name, p)
}

func (h *Web) boIndex(w http.ResponseWriter, r *http.Request) {
	d := &BOData{Values: map[string]string{"minutes": "20", "counters": "1", "max_future": "2"}}
	if r.URL.Query().Get("salvato") == "1" {
		d.Message = "booking.bo.saved"
	}
	h.renderBO(w, r, http.StatusOK, d)
}

func (h *Web) renderBO(w http.ResponseWriter, r *http.Request, status int, d *BOData) {
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	offers, err := h.Store.Offers(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	for _, o := range offers {
		office, service := placeOf(dir, &Booking{OfficeID: o.OfficeID, ServiceID: o.ServiceID})
		d.Rows = append(d.Rows, OfferRow{Offer: o, Office: office, Service: service})
	}
	d.Offices, d.Services = dir.Offices, dir.Services
	h.boPage(w, r, status, "booking_bo", h.App.I18n.T(h.App.I18n.Lang(r), "booking.bo.title"), d)
}

func (h *Web) boPutOffer(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	f := r.PostForm
	d := &BOData{Values: map[string]string{}}
	for _, k := range []string{"office", "service", "minutes", "counters", "max_future", "anonymous"} {
		d.Values[k] = strings.TrimSpace(f.Get(k))
	}
	num := func(k string) int {
		n, err := strconv.Atoi(d.Values[k])
		if err != nil {
			return -1
		}
		return n
	}
	o := Offer{OfficeID: d.Values["office"], ServiceID: d.Values["service"], Minutes: num("minutes"), Counters: num("counters"),
		MaxFuture: num("max_future"), Anonymous: d.Values["anonymous"] == "1"}
	errs := o.Validate()
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if errs == nil {
		errs = problem.Fields{}
	}
	s, ok := dir.Service(o.ServiceID)
	if _, okOffice := dir.Office(o.OfficeID); !okOffice {
		errs["office"] = "booking.error.office"
	} else if !ok || !containsString(s.Offices, o.OfficeID) {
		errs["service"] = "booking.error.not_competent"
	}
	if len(errs) > 0 {
		d.Errors = errs
		h.renderBO(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	acc, _ := identity.Current(r.Context())
	if err := h.Store.PutOffer(r.Context(), o, acc.ID, web.RemoteAddr(r)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath, url.Values{"salvato": {"1"}})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Web) boDeleteOffer(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	acc, _ := identity.Current(r.Context())
	if err := h.Store.DeleteOffer(r.Context(), r.PostForm.Get("office"), r.PostForm.Get("service"), acc.ID, web.RemoteAddr(r)); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath, url.Values{"salvato": {"1"}})
}

// AgendaData is an office's day.
type AgendaData struct {
	Office             *Office
	Day                hours.Date
	Prev, Next         string
	Entries            []Entry
	Page, Pages, Total int
	Errors             problem.Fields
	Message            string
	// Failed is the booking whose cancellation was refused, and the
	// reason written (kept).
	Failed, Reason string
	DayLabel       string
}

func (h *Web) boAgenda(w http.ResponseWriter, r *http.Request) {
	h.renderAgenda(w, r, http.StatusOK, &AgendaData{})
}

func (h *Web) renderAgenda(w http.ResponseWriter, r *http.Request, status int, d *AgendaData) {
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	office, ok := dir.Office(r.PathValue("office"))
	if !ok {
		h.App.Fail(w, r, ErrNotFound)
		return
	}
	d.Office = office
	d.Day = hours.DateOf(h.now())
	// A refused cancellation shows the day it was asked from (the
	// form's).
	if v := r.FormValue("giorno"); v != "" {
		if day, err := hours.ParseDate(v); err == nil {
			d.Day = day
		}
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("pagina"))
	d.Page = min(max(page, 1), 100000)
	list, total, err := h.Store.OfficeDay(r.Context(), office.ID, d.Day.At(0), d.Day.AddDays(1).At(0), d.Page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d.Total, d.Pages = total, max(1, (total+AgendaSize-1)/AgendaSize)
	ids := make([]string, len(list))
	for i, b := range list {
		ids[i] = b.ID
	}
	outcomes, err := h.Store.Outcomes(r.Context(), ids)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	now := h.now()
	for _, b := range list {
		e := h.entry(h.App.I18n.Lang(r), dir, b)
		e.Outcome = outcomes[b.ID]
		e.Recordable = e.Outcome == "" && b.State == Confirmed && !b.Start.After(now)
		d.Entries = append(d.Entries, e)
	}
	base := boPath + "/uffici/" + office.ID + "?giorno="
	d.Prev, d.Next = base+d.Day.AddDays(-1).String(), base+d.Day.AddDays(1).String()
	d.DayLabel = DayLabel(h.App.I18n.Lang(r), d.Day)
	if r.URL.Query().Get("annullato") == "1" {
		d.Message = "booking.bo.cancelled"
	}
	h.boPage(w, r, status, "booking_bo_agenda", office.Name, d)
}

func (h *Web) boCancel(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" || len([]rune(reason)) > MaxNotes {
		msg := "booking.error.required"
		if reason != "" {
			msg = "booking.error.notes"
		}
		h.renderAgenda(w, r, http.StatusUnprocessableEntity, &AgendaData{Errors: problem.Fields{"reason": msg}, Failed: r.PathValue("id"), Reason: reason})
		return
	}
	acc, _ := identity.Current(r.Context())
	b, err := h.Store.CancelByOffice(r.Context(), r.PathValue("id"), r.PathValue("office"), Actor{Operator: acc.ID, Remote: web.RemoteAddr(r), Reason: reason})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath+"/uffici/"+b.OfficeID, url.Values{"giorno": {hours.DateOf(b.Start).String()}, "annullato": {"1"}})
}
