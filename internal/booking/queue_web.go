package booking

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// The queue's pages (docs/QUEUE.md): an office's queue, where anyone takes
// a ticket or a booked resident checks in; the ticket's own page, which
// its holder follows; the display in the office's waiting room; the
// operators' console in the back office.

// QueuePath is where the offices' queues are.
const QueuePath = "/coda"

// The budgets of the queue: tickets a client address takes online (a
// ticket holds a place in a line), tickets taken online at one office in
// a day (the rest of the day's numbers stay for the kiosk, which an
// operator's session opens), and check-ins tried (a booking code is
// guessed there).
var (
	TicketRule       = throttle.Rule{Free: 4, Window: time.Hour}
	OfficeOnlineRule = throttle.Rule{Free: 400, Window: 24 * time.Hour}
	CheckInRule      = throttle.Rule{Free: 10, Window: time.Hour}
)

// Live connections (displays and tickets' pages) are bounded in a
// process, and per client address, so that one client cannot take them
// all; the pages work without them (a refresh link).
var (
	displayMu      sync.Mutex
	displays       int
	displayClients = map[string]int{}
	MaxDisplays    = 256
	// MaxDisplaysPerClient: an office's display and a few tickets' pages
	// behind one address.
	MaxDisplaysPerClient = 4
	// DisplayRetry is when a browser turned away comes back.
	DisplayRetry = 30 * time.Second
	// DisplayFor is how long one live connection lasts; the browser
	// reconnects.
	DisplayFor = 5 * time.Minute
	// DisplayPoll is how often a live connection reads the office's marker.
	DisplayPoll = 2 * time.Second
)

// holdDisplay takes a live connection for client, if one is free.
func holdDisplay(client string) bool {
	displayMu.Lock()
	defer displayMu.Unlock()
	if displays >= MaxDisplays || displayClients[client] >= MaxDisplaysPerClient {
		return false
	}
	displays++
	displayClients[client]++
	return true
}

func releaseDisplay(client string) {
	displayMu.Lock()
	defer displayMu.Unlock()
	displays--
	if displayClients[client]--; displayClients[client] <= 0 {
		delete(displayClients, client)
	}
}

func (h *Web) queueRoutes(m web.Registrar) {
	m.HandleFunc("GET "+QueuePath+"/uffici/{office}", h.queueOffice)
	m.HandleFunc("POST "+QueuePath+"/uffici/{office}/biglietto", h.queueTake)
	m.HandleFunc("POST "+QueuePath+"/uffici/{office}/arrivo", h.queueCheckIn)
	m.HandleFunc("GET "+QueuePath+"/uffici/{office}/schermo", h.queueDisplay)
	m.HandleFunc("GET "+QueuePath+"/uffici/{office}/eventi", h.queueEvents)
	m.HandleFunc("GET "+QueuePath+"/biglietti/{token}", h.ticketPage)
	m.HandleFunc("GET "+QueuePath+"/biglietti/{token}/stato", h.ticketStatus)
	m.HandleFunc("POST "+QueuePath+"/biglietti/{token}/ritira", h.ticketWithdraw)
	m.HandleFunc("GET "+ScriptPath, web.Script(script))
}

// script is the queue's one script, an enhancement of its live pages.
//
//go:embed static/coda.js
var script []byte

// ScriptPath is where the script is served; the pages work without it.
const ScriptPath = QueuePath + "/static/coda.js"

func (h *Web) queueBackOfficeRoutes(m web.Registrar) {
	m.HandleFunc("GET "+boPath+"/coda/{office}", h.boQueue)
	m.HandleFunc("POST "+boPath+"/coda/{office}/chiama", h.boCall)
	m.HandleFunc("POST "+boPath+"/coda/{office}/arrivo", h.boCheckIn)
	m.HandleFunc("POST "+boPath+"/coda/{office}/{id}/{action}", h.boTicket)
	m.HandleFunc("POST "+boPath+"/uffici/{office}/{id}/esito", h.boOutcome)
}

// QueueData is an office's queue page.
type QueueData struct {
	Office   *Office
	Services []*Service
	Open     bool
	Waiting  int
	Wait     int // estimated minutes for a ticket taken now
	Kiosk    bool
	Values   map[string]string
	Errors   problem.Fields
	// Already is the number of a booking checked in before.
	Already string
}

func (h *Web) office(w http.ResponseWriter, r *http.Request) (*Directory, *Office, bool) {
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, false
	}
	o, ok := dir.Office(r.PathValue("office"))
	if !ok || o.Hours == nil {
		h.App.Fail(w, r, ErrNotFound)
		return nil, nil, false
	}
	return dir, o, true
}

// officeQueue reads the office a request names and its queue of today.
func (h *Web) officeQueue(w http.ResponseWriter, r *http.Request) (*Directory, *Office, *Queue, bool) {
	dir, o, ok := h.office(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	q, err := h.Store.Today(r.Context(), o.ID)
	if err != nil {
		h.App.Fail(w, r, err)
		return nil, nil, nil, false
	}
	return dir, o, q, true
}

// officeForm reads a POST's form and the office it names.
func (h *Web) officeForm(w http.ResponseWriter, r *http.Request, limit int64) (*Directory, *Office, bool) {
	if !h.App.ParseForm(w, r, limit) {
		return nil, nil, false
	}
	return h.office(w, r)
}

// kiosk reports whether the request comes from the office's kiosk: a
// device an operator has logged in (its tickets draw on the office's day,
// not on one address's budget).
func kiosk(r *http.Request) bool {
	a, _ := identity.Current(r.Context())
	return a != nil && (a.HasRole("desk") || a.HasRole("admin")) && r.FormValue("chiosco") == "1"
}

func (h *Web) queueOffice(w http.ResponseWriter, r *http.Request) {
	h.renderQueueOffice(w, r, http.StatusOK, &QueueData{})
}

func (h *Web) renderQueueOffice(w http.ResponseWriter, r *http.Request, status int, d *QueueData) {
	dir, o, q, ok := h.officeQueue(w, r)
	if !ok {
		return
	}
	now := h.now()
	d.Office, d.Kiosk = o, kiosk(r)
	d.Open = o.Hours.OpenAt(now) && o.Hours.OpenAt(now.Add(LastTicketBefore))
	d.Waiting = q.WaitingCount
	d.Wait = int(q.Wait(q.WaitingCount).Minutes())
	for _, s := range dir.Services {
		if s.Active && containsString(s.Offices, o.ID) {
			d.Services = append(d.Services, s)
		}
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	p := h.App.NewPage(r, "")
	p.Title = p.T("booking.queue.title", "Office", o.Name)
	p.Breadcrumb = []web.Crumb{{Label: p.T("booking.title"), Href: StartPath}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "booking_queue_office", p)
}

func (h *Web) queueTake(w http.ResponseWriter, r *http.Request) {
	dir, o, ok := h.officeForm(w, r, 2<<10)
	if !ok {
		return
	}
	service := r.PostForm.Get("service")
	s, found := dir.Service(service)
	if !found || !s.Active || !containsString(s.Offices, o.ID) {
		h.renderQueueOffice(w, r, http.StatusUnprocessableEntity, &QueueData{Errors: problem.Fields{"service": "booking.queue.error.service"},
			Values: map[string]string{"service": service}})
		return
	}
	if now := h.now(); !o.Hours.OpenAt(now) || !o.Hours.OpenAt(now.Add(LastTicketBefore)) {
		h.queueRefused(w, r, ErrOfficeClosed, map[string]string{"service": service})
		return
	}
	channel := ChannelOnline
	if kiosk(r) {
		channel = ChannelKiosk
	} else if err := h.Limiter.Take(r.Context(), nil, throttle.ClientKey("booking:ticket:", web.RemoteAddr(r), "", TicketRule),
		throttle.Key{Name: "booking:ticket-office:" + o.ID, Rule: OfficeOnlineRule}); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	// Who waits, for the dashboard's waits by sex: a logged-in resident's
	// proven sex, nothing else of them (the ticket names no one); never at
	// the kiosk, a device the office shares, nor for an operator's session
	// (a desk taking tickets for callers, a kiosk left on an operator's
	// login): who waits is not the operator.
	sex := ""
	if acc, _ := identity.Current(r.Context()); acc != nil && acc.Kind == identity.KindResident && channel == ChannelOnline {
		sex = ProvenSex(acc.Sex, acc.BirthSource.Proven())
	}
	_, token, err := h.Store.TakeTicket(r.Context(), o, s.ID, channel, sex)
	if err != nil {
		h.queueRefused(w, r, err, map[string]string{"service": service})
		return
	}
	to := QueuePath + "/biglietti/" + token
	if channel == ChannelKiosk {
		to += "?chiosco=1"
	}
	http.Redirect(w, r, to, http.StatusSeeOther) // #nosec G710 -- a path of this site's own: a fixed prefix and a token of random URL-safe bytes
}

// queueRefused shows a refusal the resident can act on (the office closed,
// the day's numbers over) on the office's page, with the choices kept.
func (h *Web) queueRefused(w http.ResponseWriter, r *http.Request, err error, values map[string]string) {
	var p *problem.Error
	if errors.As(err, &p) && p.Kind == problem.Conflict && p.Message != "" {
		h.renderQueueOffice(w, r, http.StatusConflict, &QueueData{Errors: problem.Fields{"queue": p.Message}, Values: values})
		return
	}
	h.App.Fail(w, r, err)
}

func (h *Web) queueCheckIn(w http.ResponseWriter, r *http.Request) {
	_, o, ok := h.officeForm(w, r, 2<<10)
	if !ok {
		return
	}
	code := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("code")))
	if code == "" || len(code) > 20 {
		h.renderQueueOffice(w, r, http.StatusUnprocessableEntity, &QueueData{Errors: problem.Fields{"code": "booking.queue.error.code"},
			Values: map[string]string{"code": code}})
		return
	}
	if !kiosk(r) {
		if err := h.Limiter.Take(r.Context(), nil, throttle.ClientKey("booking:checkin:", web.RemoteAddr(r), "", CheckInRule)); err != nil {
			h.App.Fail(w, r, err)
			return
		}
	}
	t, token, err := h.Store.CheckIn(r.Context(), o.ID, code)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNotToday):
		// The same answer for a code that does not exist and one of
		// another day or office: the page does not tell codes apart.
		h.renderQueueOffice(w, r, http.StatusUnprocessableEntity, &QueueData{Errors: problem.Fields{"code": "booking.queue.error.not_today"},
			Values: map[string]string{"code": code}})
		return
	case err != nil:
		h.App.Fail(w, r, err)
		return
	case token == "":
		h.renderQueueOffice(w, r, http.StatusOK, &QueueData{Already: t.Label()})
		return
	}
	to := QueuePath + "/biglietti/" + token
	if kiosk(r) {
		to += "?chiosco=1"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// TicketData is a ticket's page, and its state as JSON for the page's
// script.
type TicketData struct {
	Office *Office `json:"-"`
	Ticket *Ticket `json:"-"`
	Token  string  `json:"-"`
	Kiosk  bool    `json:"-"`
	Label  string  `json:"number"`
	State  string  `json:"state"`
	// Ahead is how many are called before it; Wait the estimate in minutes.
	Ahead   int    `json:"ahead"`
	Wait    int    `json:"wait_minutes"`
	Counter string `json:"counter,omitempty"`
	// Text is the state in words, as the page shows it.
	Text    string `json:"text"`
	Service string `json:"-"`
}

func (h *Web) ticketData(r *http.Request) (*TicketData, error) {
	token := r.PathValue("token")
	t, err := h.Store.TicketByToken(r.Context(), token)
	if err != nil {
		return nil, err
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		return nil, err
	}
	d := &TicketData{Ticket: t, Token: token, Label: t.Label(), State: string(t.State), Counter: t.Counter, Kiosk: r.URL.Query().Get("chiosco") == "1"}
	d.Office, _ = dir.Office(t.OfficeID)
	if d.Office == nil {
		d.Office = &Office{ID: t.OfficeID, Name: t.OfficeID}
	}
	if s, ok := dir.Service(t.ServiceID); ok {
		d.Service = s.Title
	}
	lang := h.App.I18n.Lang(r)
	if t.State == Waiting && t.Day == dayOf(h.now()) {
		q, err := h.Store.Today(r.Context(), t.OfficeID)
		if err != nil {
			return nil, err
		}
		if d.Ahead, err = h.Store.Ahead(r.Context(), q, t); err != nil {
			return nil, err
		}
		d.Wait = int(q.Wait(d.Ahead).Minutes())
		d.Text = h.App.I18n.T(lang, "booking.queue.ticket.waiting", "Ahead", d.Ahead, "Minutes", d.Wait)
	} else {
		if t.State == Waiting {
			d.State = "expired" // a ticket of another day
		}
		d.Text = h.App.I18n.T(lang, "booking.queue.ticket.state."+d.State, "Counter", t.Counter)
	}
	return d, nil
}

func (h *Web) ticketPage(w http.ResponseWriter, r *http.Request) {
	d, err := h.ticketData(r)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "")
	p.Title = p.T("booking.queue.ticket.title", "Number", d.Label)
	p.Breadcrumb = []web.Crumb{{Label: p.T("booking.queue.title", "Office", d.Office.Name), Href: QueuePath + "/uffici/" + d.Office.ID}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
	h.App.HTML(w, r, http.StatusOK, "booking_queue_ticket", p)
}

func (h *Web) ticketStatus(w http.ResponseWriter, r *http.Request) {
	d, err := h.ticketData(r)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(d)
}

func (h *Web) ticketWithdraw(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	token := r.PathValue("token")
	if _, err := h.Store.Withdraw(r.Context(), token); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, QueuePath+"/biglietti/"+token, http.StatusSeeOther) // #nosec G710 -- a path of this site's own: a fixed prefix and one path segment (a ticket Withdraw just found)
}

// DisplayData is the waiting room's display.
type DisplayData struct {
	Office  *Office
	Queue   *Queue
	Waiting int
}

func (h *Web) queueDisplay(w http.ResponseWriter, r *http.Request) {
	_, o, q, ok := h.officeQueue(w, r)
	if !ok {
		return
	}
	p := h.App.NewPage(r, "")
	p.Title = p.T("booking.queue.display.title", "Office", o.Name)
	p.Breadcrumb = []web.Crumb{{Label: p.T("booking.queue.title", "Office", o.Name), Href: QueuePath + "/uffici/" + o.ID}, {Label: p.Title}}
	p.Data = &DisplayData{Office: o, Queue: q, Waiting: q.WaitingCount}
	w.Header().Set("Cache-Control", "no-store")
	h.App.HTML(w, r, http.StatusOK, "booking_queue_display", p)
}

// queueEvents tells a display (or a ticket's page) that the office's queue
// changed: a server-sent event at each change of its marker, for at most
// DisplayFor; the browser then reconnects.
func (h *Web) queueEvents(w http.ResponseWriter, r *http.Request) {
	_, o, ok := h.office(w, r)
	if !ok {
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	client := web.RemoteAddr(r)
	if !holdDisplay(client) {
		// Busy: a stream that only asks the browser to come back later
		// (an error status would end an EventSource for good).
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, "retry: %d\n\n", DisplayRetry.Milliseconds())
		return
	}
	defer releaseDisplay(client)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(DisplayFor + 30*time.Second))
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(r.Context(), DisplayFor)
	defer cancel()
	last := -1
	tick := time.NewTicker(DisplayPoll)
	defer tick.Stop()
	for {
		v, err := h.Store.Version(ctx, o.ID)
		if err != nil {
			return
		}
		if v != last {
			if _, err := fmt.Fprintf(w, "event: queue\ndata: %d\n\n", v); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			last = v
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// BOQueueData is the operators' console of an office's queue.
type BOQueueData struct {
	Office  *Office
	Queue   *Queue
	Counter string
	Names   map[string]string // service titles
	Errors  problem.Fields
	Message string
	Values  map[string]string
}

func (h *Web) boQueue(w http.ResponseWriter, r *http.Request) {
	d := &BOQueueData{Counter: r.URL.Query().Get("sportello"), Message: r.URL.Query().Get("esito")}
	h.renderBOQueue(w, r, http.StatusOK, d)
}

// boMessages are the outcomes the console says back (?esito=).
var boMessages = map[string]bool{"called": true, "recalled": true, "served": true, "skipped": true, "checked_in": true, "nobody": true}

func (h *Web) renderBOQueue(w http.ResponseWriter, r *http.Request, status int, d *BOQueueData) {
	dir, o, q, ok := h.officeQueue(w, r)
	if !ok {
		return
	}
	d.Office, d.Queue, d.Names = o, q, map[string]string{}
	for _, s := range dir.Services {
		d.Names[s.ID] = s.Title
	}
	if !boMessages[d.Message] {
		d.Message = ""
	}
	if len([]rune(d.Counter)) > MaxCounter {
		d.Counter = ""
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	h.boPage(w, r, status, "booking_bo_queue", h.App.I18n.T(h.App.I18n.Lang(r), "booking.queue.bo.title", "Office", o.Name), d)
}

func (h *Web) boBack(w http.ResponseWriter, r *http.Request, office, counter, outcome string) {
	q := url.Values{"esito": {outcome}}
	if counter != "" {
		q.Set("sportello", counter)
	}
	web.Redirect(w, r, boPath+"/coda/"+office, q)
}

func (h *Web) boCall(w http.ResponseWriter, r *http.Request) {
	_, o, ok := h.officeForm(w, r, 1<<10)
	if !ok {
		return
	}
	counter := strings.TrimSpace(r.PostForm.Get("counter"))
	if counter == "" || len([]rune(counter)) > MaxCounter {
		h.renderBOQueue(w, r, http.StatusUnprocessableEntity, &BOQueueData{Errors: problem.Fields{"counter": "booking.queue.error.counter"},
			Values: map[string]string{"counter": counter}})
		return
	}
	acc, _ := identity.Current(r.Context())
	_, err := h.Store.CallNext(r.Context(), o.ID, counter, acc.ID)
	if errors.Is(err, ErrNobody) {
		h.boBack(w, r, o.ID, counter, "nobody")
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.boBack(w, r, o.ID, counter, "called")
}

func (h *Web) boTicket(w http.ResponseWriter, r *http.Request) {
	_, o, ok := h.officeForm(w, r, 1<<10)
	if !ok {
		return
	}
	acc, _ := identity.Current(r.Context())
	id, counter := r.PathValue("id"), strings.TrimSpace(r.PostForm.Get("counter"))
	var err error
	var outcome string
	switch r.PathValue("action") {
	case "richiama":
		_, err = h.Store.Recall(r.Context(), o.ID, id)
		outcome = "recalled"
	case "servito":
		_, err = h.Store.Finish(r.Context(), o.ID, id, Served, acc.ID)
		outcome = "served"
	case "assente":
		_, err = h.Store.Finish(r.Context(), o.ID, id, Skipped, acc.ID)
		outcome = "skipped"
	default:
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	h.boBack(w, r, o.ID, counter, outcome)
}

func (h *Web) boCheckIn(w http.ResponseWriter, r *http.Request) {
	_, o, ok := h.officeForm(w, r, 1<<10)
	if !ok {
		return
	}
	code := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("code")))
	counter := strings.TrimSpace(r.PostForm.Get("counter"))
	if code == "" || len(code) > 20 {
		h.renderBOQueue(w, r, http.StatusUnprocessableEntity, &BOQueueData{Counter: counter, Errors: problem.Fields{"code": "booking.queue.error.code"},
			Values: map[string]string{"code": code}})
		return
	}
	if _, _, err := h.Store.CheckIn(r.Context(), o.ID, code); err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotToday) {
			h.renderBOQueue(w, r, http.StatusUnprocessableEntity, &BOQueueData{Counter: counter, Errors: problem.Fields{"code": "booking.queue.error.not_today"},
				Values: map[string]string{"code": code}})
			return
		}
		h.App.Fail(w, r, err)
		return
	}
	h.boBack(w, r, o.ID, counter, "checked_in")
}

// boOutcome records, from the agenda, that a booked resident was served or
// did not come.
func (h *Web) boOutcome(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 1<<10) {
		return
	}
	outcome := r.PostForm.Get("outcome")
	acc, _ := identity.Current(r.Context())
	b, err := h.Store.OfficeBooking(r.Context(), r.PathValue("office"), r.PathValue("id"))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if b.State != Confirmed || b.Start.After(h.now()) {
		h.App.Fail(w, r, ErrTicketState)
		return
	}
	if err := h.Store.SetOutcome(r.Context(), b.ID, outcome, acc.ID); err != nil {
		h.App.Fail(w, r, err)
		return
	}
	web.Redirect(w, r, boPath+"/uffici/"+b.OfficeID, url.Values{"giorno": {dayOf(b.Start)}})
}
