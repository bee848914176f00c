package booking

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// The public API of an office's free places:
// GET /api/v1/offices/{id}/slots?service=...&from=...&to=...

// MaxAPIRange is the longest range the slots API answers for.
const MaxAPIRange = 62 * 24 * time.Hour

// SlotJSON is a slot as the API shows it.
type SlotJSON struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Free     int       `json:"free"`
	Capacity int       `json:"capacity"`
}

// SlotsJSON is the answer of the slots API.
type SlotsJSON struct {
	Office  string     `json:"office"`
	Service string     `json:"service"`
	Minutes int        `json:"minutes"`
	From    time.Time  `json:"from"`
	To      time.Time  `json:"to"`
	Slots   []SlotJSON `json:"slots"`
}

type apiError struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (h *Web) apiFail(w http.ResponseWriter, r *http.Request, status int, code, field, msgID string) {
	writeJSON(w, status, apiError{Error: code, Field: field, Message: h.App.I18n.T(h.App.I18n.Lang(r), msgID)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiSlots lists an office's slots for a service in [from, to) (RFC 3339
// instants; from defaults to now, to to a week after from), each with its
// free places. Past slots are not listed.
func (h *Web) apiSlots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := h.now()
	from, to := now, time.Time{}
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				h.apiFail(w, r, http.StatusBadRequest, "invalid_parameter", p.name, "booking.api.instant")
				return
			}
			*p.into = t
		}
	}
	if to.IsZero() {
		to = from.Add(7 * 24 * time.Hour)
	}
	switch {
	case !to.After(from):
		h.apiFail(w, r, http.StatusBadRequest, "invalid_parameter", "to", "booking.api.inverted")
		return
	case to.Sub(from) > MaxAPIRange:
		h.apiFail(w, r, http.StatusBadRequest, "invalid_parameter", "to", "booking.api.range")
		return
	case q.Get("service") == "":
		h.apiFail(w, r, http.StatusBadRequest, "invalid_parameter", "service", "booking.api.service")
		return
	}
	if err := h.Limiter.Take(r.Context(), nil, throttle.ClientKey("booking:search:", web.RemoteAddr(r), "", SearchRule)); err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	offers, err := h.Store.Offers(r.Context())
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	office, ok := dir.Office(r.PathValue("id"))
	if !ok {
		h.apiFail(w, r, http.StatusNotFound, "not_found", "id", "booking.api.no_office")
		return
	}
	svc, _ := dir.Service(q.Get("service"))
	var c *Choice
	for _, o := range officeOffers(dir, offers, office.ID, svc) {
		if svc != nil && o.ServiceID == svc.ID {
			c = &Choice{Office: office, Service: svc, Offer: o}
		}
	}
	if c == nil {
		h.apiFail(w, r, http.StatusNotFound, "not_found", "service", "booking.api.no_offer")
		return
	}
	taken, err := h.Store.Taken(r.Context(), office.ID, svc.ID, from, to)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	out := SlotsJSON{Office: office.ID, Service: svc.ID, Minutes: c.Offer.Minutes, From: from.UTC(), To: to.UTC(), Slots: []SlotJSON{}}
	for _, s := range h.grid(c).Slots(from, to, now, taken) {
		out.Slots = append(out.Slots, SlotJSON{Start: s.Start.UTC(), End: s.End.UTC(), Free: s.Free(), Capacity: s.Capacity})
	}
	writeJSON(w, http.StatusOK, out)
}
