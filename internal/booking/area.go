package booking

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// The resident's bookings in the personal area, and the page of a
// booking's mailed link: a GET only shows it (mail scanners follow links),
// a POST confirms or cancels.

// Entry is a booking as the pages show it, with its office and service.
type Entry struct {
	*Booking
	Office  *Office
	Service *Service
	// Cancellable: coming and live.
	Cancellable bool
	// Move is the flow's third step for the same office and service,
	// moving this booking (of an account: one without is moved from its
	// link's page).
	Move string
	// When is the slot in the page's language.
	When string
	// Outcome is what the office recorded of the appointment ("served",
	// "no_show"); Recordable: begun and confirmed, with none yet (the
	// agenda offers it).
	Outcome    string
	Recordable bool
}

// CodeQR is the booking's code as a QR code, for the office's kiosk or
// counter to read at check-in (nil when the booking is not coming, or on
// an encoding error: the code is printed beside it anyway).
func (e Entry) CodeQR() *identity.QR {
	if !e.Cancellable {
		return nil
	}
	q, err := identity.NewQR(e.Code)
	if err != nil {
		return nil
	}
	return q
}

// ListData is the resident's bookings.
type ListData struct {
	Entries            []Entry
	Page, Pages, Total int
}

// DetailData is one booking.
type DetailData struct {
	Entry
	// Booked: the page right after booking (the confirmation).
	Booked  bool
	Message string
	// Link is the mailed link's token (its page only).
	Link string
}

func (h *Web) entry(lang string, dir *Directory, b *Booking) Entry {
	office, service := placeOf(dir, b)
	e := Entry{Booking: b, Office: office, Service: service, Cancellable: b.Coming(h.now()), When: When(lang, b.Start, b.End)}
	q := url.Values{"ufficio": {b.OfficeID}, "servizio": {b.ServiceID}, "sposta": {b.ID}}
	e.Move = StartPath + "/orario?" + q.Encode()
	return e
}

func (h *Web) areaPage(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	p := h.App.NewPage(r, "")
	p.Title = title
	p.Breadcrumb = []web.Crumb{{Label: p.T("area.title"), Href: "/area-personale"}, {Label: p.T("booking.area"), Href: AreaPath}}
	if title != p.T("booking.area") {
		p.Breadcrumb = append(p.Breadcrumb, web.Crumb{Label: title})
	} else {
		p.Breadcrumb = p.Breadcrumb[:1]
		p.Breadcrumb = append(p.Breadcrumb, web.Crumb{Label: title})
	}
	p.Data = data
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, name, p)
}

func (h *Web) mine(w http.ResponseWriter, r *http.Request) {
	acc, _ := identity.Current(r.Context())
	page, _ := strconv.Atoi(r.URL.Query().Get("pagina"))
	page = min(max(page, 1), 100000)
	list, total, err := h.Store.Mine(r.Context(), acc.ID, page)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &ListData{Page: page, Total: total, Pages: max(1, (total+PageSize-1)/PageSize)}
	for _, b := range list {
		d.Entries = append(d.Entries, h.entry(h.App.I18n.Lang(r), dir, b))
	}
	h.areaPage(w, r, http.StatusOK, "booking_list", h.App.I18n.T(h.App.I18n.Lang(r), "booking.area"), d)
}

// mineOne reads the logged-in resident's booking of the path: another's
// is not found.
func (h *Web) mineOne(w http.ResponseWriter, r *http.Request) (*Booking, *Directory, bool) {
	acc, _ := identity.Current(r.Context())
	b, err := h.Store.Get(r.Context(), r.PathValue("id"), acc.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, false
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, false
	}
	return b, dir, true
}

func (h *Web) detail(w http.ResponseWriter, r *http.Request) {
	b, dir, ok := h.mineOne(w, r)
	if !ok {
		return
	}
	d := &DetailData{Entry: h.entry(h.App.I18n.Lang(r), dir, b), Booked: r.URL.Query().Get("prenotato") == "1"}
	switch {
	case r.URL.Query().Get("annullato") == "1":
		d.Message = "booking.cancelled"
	case r.URL.Query().Get("spostato") == "1":
		d.Message = "booking.moved"
	}
	title := h.App.I18n.T(h.App.I18n.Lang(r), "booking.detail.title", "Code", b.Code)
	h.areaPage(w, r, http.StatusOK, "booking_detail", title, d)
}

func (h *Web) ics(w http.ResponseWriter, r *http.Request) {
	b, dir, ok := h.mineOne(w, r)
	if !ok {
		return
	}
	office, service := placeOf(dir, b)
	name := "civico"
	if p, err := h.App.Town.Get(r.Context()); err == nil {
		name = p.FullName()
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="appuntamento.ics"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write([]byte(ICS(b, office, service, name, baseURL(r), h.now())))
}

func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

func (h *Web) cancel(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	acc, _ := identity.Current(r.Context())
	b, err := h.Store.Cancel(r.Context(), r.PathValue("id"), acc.ID, web.RemoteAddr(r))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, AreaPath+"/"+b.ID, url.Values{"annullato": {"1"}})
}

// linkPage shows the booking a mailed link names, with the buttons that
// confirm (a pending booking) or cancel it. It changes nothing.
func (h *Web) linkPage(w http.ResponseWriter, r *http.Request) {
	h.renderLink(w, r, http.StatusOK, "")
}

func (h *Web) renderLink(w http.ResponseWriter, r *http.Request, status int, message string) {
	token := r.PathValue("token")
	b, err := h.Store.ByLink(r.Context(), token)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	d := &DetailData{Entry: h.entry(h.App.I18n.Lang(r), dir, b), Link: token, Message: message}
	if b.State == Pending && b.ExpiresAt != nil && !b.ExpiresAt.After(h.now()) {
		d.Cancellable = false
	}
	// The page holds the link's token: no referrer, no cache.
	w.Header().Set("Referrer-Policy", "no-referrer")
	p := h.App.NewPage(r, "")
	p.Title = h.App.I18n.T(p.Lang, "booking.detail.title", "Code", b.Code)
	p.Breadcrumb = []web.Crumb{{Label: p.T("booking.title"), Href: StartPath}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "booking_link", p)
}

// linkChoice is the office, service and offer of the booking of a mailed
// link that may be moved by it: made without an account, coming and live.
// A booking of an account is moved in the personal area (ok false: the
// link page says how); one whose office or offer is gone, not at all.
func (h *Web) linkChoice(w http.ResponseWriter, r *http.Request) (*Choice, *Booking, bool) {
	token := r.PathValue("token")
	b, err := h.Store.ByLink(r.Context(), token)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, false
	}
	now := h.now()
	if b.AccountID != "" || !b.Coming(now) || (b.State == Pending && b.ExpiresAt != nil && !b.ExpiresAt.After(now)) {
		h.renderLink(w, r, http.StatusConflict, "booking.error.not_live")
		return nil, nil, false
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, false
	}
	offers, err := h.Store.Offers(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, false
	}
	office, okO := dir.Office(b.OfficeID)
	service, okS := dir.Service(b.ServiceID)
	i := slices.IndexFunc(offers, func(o Offer) bool { return o.OfficeID == b.OfficeID && o.ServiceID == b.ServiceID })
	if !okO || !okS || i < 0 || office.Hours == nil {
		h.renderLink(w, r, http.StatusConflict, "booking.error.not_movable")
		return nil, nil, false
	}
	// The page holds the link's token: no referrer.
	w.Header().Set("Referrer-Policy", "no-referrer")
	return &Choice{Office: office, Service: service, Offer: offers[i], LinkMove: token, Evening: r.URL.Query().Get("sera") == "1"}, b, true
}

// linkTimes is the time step for moving the booking of a mailed link:
// the free slots of its office and service.
func (h *Web) linkTimes(w http.ResponseWriter, r *http.Request) {
	c, _, ok := h.linkChoice(w, r)
	if !ok {
		return
	}
	h.renderTimes(w, r, c, nil, "")
}

// linkMove moves the booking of a mailed link to the chosen slot, in
// place; a slot taken meanwhile shows the nearest free ones.
func (h *Web) linkMove(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	c, b, ok := h.linkChoice(w, r)
	if !ok {
		return
	}
	// Each move mails the booking's address: a few a day, as booking.
	if err := h.Limiter.Take(r.Context(), nil, throttle.Key{Name: "booking:mail:" + strings.ToLower(strings.TrimSpace(b.Email)), Rule: MailRule}); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	start, err := strconv.ParseInt(r.PostForm.Get("inizio"), 10, 64)
	if err != nil {
		h.renderTimes(w, r, c, problem.Fields{"slot": "booking.error.slot_closed"}, "")
		return
	}
	at := time.Unix(start, 0)
	_, err = h.Store.MoveByLink(r.Context(), c.LinkMove, h.grid(c), at, web.RemoteAddr(r))
	var fields problem.Fields
	switch {
	case errors.Is(err, ErrSlotTaken):
		if sl, ok := h.grid(c).Find(at, h.now(), nil); ok {
			c.Slot = &sl
		}
		h.renderTimes(w, r, c, nil, "booking.error.slot_taken")
	case errors.As(err, &fields):
		h.renderTimes(w, r, c, fields, "")
	case errors.Is(err, ErrNotLive):
		h.renderLink(w, r, http.StatusConflict, "booking.error.not_live")
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.renderLink(w, r, http.StatusOK, "booking.link.moved")
	}
}

func (h *Web) linkConfirm(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	if _, err := h.Store.Confirm(r.Context(), r.PathValue("token")); err != nil {
		if errors.Is(err, ErrNotLive) {
			h.renderLink(w, r, http.StatusConflict, "booking.error.not_live")
			return
		}
		h.App.Fail(w, r, err)
		return
	}
	h.renderLink(w, r, http.StatusOK, "booking.confirmed")
}

func (h *Web) linkCancel(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	if _, err := h.Store.CancelByLink(r.Context(), r.PathValue("token")); err != nil {
		if problem.KindOf(err) == problem.Conflict {
			h.renderLink(w, r, http.StatusConflict, "booking.error.not_live")
			return
		}
		h.App.Fail(w, r, err)
		return
	}
	h.renderLink(w, r, http.StatusOK, "booking.cancelled")
}
