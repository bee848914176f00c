package sportello

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/web"
)

// The JSON API of a resident's applications, for the town's apps and
// for applications the resident allowed (OpenID Connect, scope
// "applications"): GET /api/v1/applications and /api/v1/applications/{id}.
// The caller is the resident of a bearer token the provider issued with
// that scope, or of the portal's session; every query has the resident
// in its WHERE clause.

// Scope is the OpenID Connect scope that opens the API.
const Scope = "applications"

// Grant and Tokens are the house's (feature.Grant): a bearer token's
// account, scopes and level.
type (
	Grant  = feature.Grant
	Tokens = feature.Tokens
)

func (h *Web) apiRoutes(m web.Registrar) {
	m.HandleFunc("GET /api/v1/applications", h.apiList)
	m.HandleFunc("GET /api/v1/applications/{id}", h.apiGet)
}

// apiOwner is who asks: a bearer token with the scope, or the session.
// It answers the request itself when it returns false.
func (h *Web) apiOwner(w http.ResponseWriter, r *http.Request) (Owner, bool) {
	c, ok := h.Tokens.Caller(h.App, w, r, Scope, h.Identity.Svc.Store.ByID)
	if !ok {
		return Owner{}, false
	}
	return OwnerOf(c.Account, c.Session), true
}

// ApplicationJSON is an application as the API shows it.
type ApplicationJSON struct {
	ID           string     `json:"id"`
	Service      string     `json:"service"`
	ServiceTitle string     `json:"service_title"`
	State        State      `json:"state"`
	StateLabel   string     `json:"state_label"`
	Channel      Channel    `json:"channel"`
	Protocol     string     `json:"protocol,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
	RegisteredAt *time.Time `json:"registered_at,omitempty"`
	// ExpectedDecision is the expected decision day (YYYY-MM-DD).
	ExpectedDecision string `json:"expected_decision,omitempty"`
	Overdue          bool   `json:"overdue"`
	// Waiting says the application waits for the resident.
	Waiting bool   `json:"waiting_for_you"`
	URL     string `json:"url"`
}

// DetailJSON is one application with its history, messages and
// documents.
type DetailJSON struct {
	ApplicationJSON
	Paused           bool           `json:"paused"`
	SubmittedAt      *time.Time     `json:"submitted_at,omitempty"`
	DecidedAt        *time.Time     `json:"decided_at,omitempty"`
	IntegrationUntil *time.Time     `json:"integration_until,omitempty"`
	RemarksUntil     *time.Time     `json:"remarks_until,omitempty"`
	Answers          Answers        `json:"answers"`
	History          []HistoryJSON  `json:"history"`
	Messages         []MessageJSON  `json:"messages"`
	Documents        []DocumentJSON `json:"documents"`
}

// HistoryJSON is a step.
type HistoryJSON struct {
	At     time.Time `json:"at"`
	Action Action    `json:"action"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	By     Actor     `json:"by"`
}

// MessageJSON is a message.
type MessageJSON struct {
	At         time.Time `json:"at"`
	FromOffice bool      `json:"from_office"`
	Kind       string    `json:"kind"`
	Body       string    `json:"body"`
}

// DocumentJSON is a document.
type DocumentJSON struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Filename   string    `json:"filename"`
	MediaType  string    `json:"media_type"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	FromOffice bool      `json:"from_office"`
	Protocol   string    `json:"protocol,omitempty"`
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
}

func (h *Web) summaryJSON(r *http.Request, s Summary, now time.Time) ApplicationJSON {
	lang := h.App.I18n.Lang(r)
	j := ApplicationJSON{ID: s.ID, Service: s.ServiceID, ServiceTitle: s.ServiceTitle, State: s.State, StateLabel: h.App.I18n.T(lang, "sportello.state."+string(s.State)),
		Channel: s.Channel, Protocol: s.Protocol, UpdatedAt: s.UpdatedAt, RegisteredAt: s.RegisteredAt, ExpectedDecision: s.DueOn,
		Overdue: s.Overdue(now), Waiting: s.State == Draft || s.State.AwaitsResident(), URL: AreaPath + "/" + s.ID}
	return j
}

// ListJSON is a page of the resident's applications.
type ListJSON struct {
	Applications []ApplicationJSON `json:"applications"`
	Page         int               `json:"page"`
	Pages        int               `json:"pages"`
	Total        int               `json:"total"`
}

func (h *Web) apiList(w http.ResponseWriter, r *http.Request) {
	o, ok := h.apiOwner(w, r)
	if !ok {
		return
	}
	n := page(r)
	list, total, err := h.Store.Mine(r.Context(), o, n)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	now := time.Now()
	out := ListJSON{Applications: []ApplicationJSON{}, Page: n, Pages: max(1, (total+PageSize-1)/PageSize), Total: total}
	for _, s := range list {
		out.Applications = append(out.Applications, h.summaryJSON(r, s, now))
	}
	writeAPI(w, http.StatusOK, out)
}

func (h *Web) apiGet(w http.ResponseWriter, r *http.Request) {
	o, ok := h.apiOwner(w, r)
	if !ok {
		return
	}
	a, err := h.Store.Get(r.Context(), r.PathValue("id"), o)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	now := time.Now()
	s := Summary{ID: a.ID, ServiceID: a.ServiceID, ServiceTitle: a.ServiceTitle, State: a.State, Channel: a.Channel, Protocol: a.Protocol,
		UpdatedAt: a.UpdatedAt, DueOn: a.DueDay()}
	if !a.RegisteredAt.IsZero() {
		s.RegisteredAt = &a.RegisteredAt
	}
	d := DetailJSON{ApplicationJSON: h.summaryJSON(r, s, now), Paused: a.Paused(now), SubmittedAt: a.SubmittedAt, Answers: a.Answers,
		History: []HistoryJSON{}, Messages: []MessageJSON{}, Documents: []DocumentJSON{}}
	for _, x := range []struct {
		t   time.Time
		dst **time.Time
	}{{a.DecidedAt, &d.DecidedAt}, {a.IntegrationUntil, &d.IntegrationUntil}, {a.RemarksDue(), &d.RemarksUntil}} {
		if !x.t.IsZero() {
			t := x.t
			*x.dst = &t
		}
	}
	rec, err := h.Store.Record(r.Context(), a.ID)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	for _, e := range rec.History {
		d.History = append(d.History, HistoryJSON{At: e.At, Action: e.Action, From: e.From, To: e.To, By: e.Actor})
	}
	for _, m := range rec.Messages {
		d.Messages = append(d.Messages, MessageJSON{At: m.At, FromOffice: m.FromOffice, Kind: m.Kind, Body: m.Body})
	}
	for _, doc := range rec.Documents {
		d.Documents = append(d.Documents, DocumentJSON{ID: doc.ID, Kind: doc.Kind, Filename: doc.Filename, MediaType: doc.MediaType, Size: doc.Size,
			SHA256: doc.SHA256, FromOffice: doc.FromOffice, Protocol: doc.Protocol, At: doc.At, URL: AreaPath + "/" + a.ID + "/documenti/" + doc.ID})
	}
	if d.Answers == nil {
		d.Answers = Answers{}
	}
	writeAPI(w, http.StatusOK, d)
}

func writeAPI(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
