package catalog

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// The JSON API: offices with their hours, services.

// OfficeJSON is an office as the API shows it.
type OfficeJSON struct {
	ID            string                `json:"id"`
	Name          string                `json:"name"`
	Description   string                `json:"description"`
	Address       string                `json:"address"`
	PostalCode    string                `json:"postal_code"`
	Lat           float64               `json:"lat"`
	Lon           float64               `json:"lon"`
	Phone         string                `json:"phone"`
	Email         string                `json:"email,omitempty"`
	Accessibility string                `json:"accessibility"`
	OpeningHours  map[string][]string   `json:"opening_hours"`
	Periods       []hours.PeriodSpec    `json:"periods"`
	Exceptions    []hours.ExceptionSpec `json:"exceptions"`
	OpenNow       bool                  `json:"open_now"`
	NextOpening   *time.Time            `json:"next_opening,omitempty"`
	Services      []string              `json:"services"`
	// Translations are the office's texts in other languages ("en").
	Translations map[string]*OfficeText `json:"translations,omitempty"`
}

func officeJSON(c *Catalog, o *Office, now time.Time) OfficeJSON {
	j := OfficeJSON{ID: o.ID, Name: o.Name, Description: o.Description, Address: o.Address, PostalCode: o.PostalCode, Lat: o.Lat, Lon: o.Lon,
		Phone: o.Phone, Email: o.Email, Accessibility: o.Accessibility, OpeningHours: o.Spec.Week, Periods: o.Spec.Periods,
		Exceptions: o.Spec.Exceptions, Services: []string{}, Translations: o.Translations}
	if j.OpeningHours == nil {
		j.OpeningHours = map[string][]string{}
	}
	if j.Periods == nil {
		j.Periods = []hours.PeriodSpec{}
	}
	if j.Exceptions == nil {
		j.Exceptions = []hours.ExceptionSpec{}
	}
	st := statusOf(o, now)
	j.OpenNow = st.Open
	if st.HasNext {
		t := st.Next.UTC()
		j.NextOpening = &t
	}
	for _, s := range c.At(o.ID) {
		j.Services = append(j.Services, s.ID)
	}
	return j
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// APIError is the body of every API error.
type APIError struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (h *Web) apiError(w http.ResponseWriter, r *http.Request, status int, code, field, msgID string) {
	writeJSON(w, status, APIError{Error: code, Field: field, Message: h.App.I18n.T(h.App.I18n.Lang(r), msgID)})
}

func (h *Web) apiOffices(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	now := h.now()
	var at time.Time
	if v := r.URL.Query().Get("open_at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			h.apiError(w, r, http.StatusBadRequest, "invalid_parameter", "open_at", "catalog.api.open_at")
			return
		}
		at = t
	}
	out := []OfficeJSON{}
	for _, o := range c.Offices {
		if !at.IsZero() && !o.Hours.OpenAt(at) {
			continue
		}
		out = append(out, officeJSON(c, o, now))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Web) apiOffice(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	o, found := c.Office(r.PathValue("id"))
	if !found {
		h.apiError(w, r, http.StatusNotFound, "not_found", "id", "catalog.api.no_office")
		return
	}
	writeJSON(w, http.StatusOK, officeJSON(c, o, h.now()))
}

func (h *Web) apiServices(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	out := c.Services
	if cat := r.URL.Query().Get("category"); cat != "" {
		out = c.In(cat)
	}
	if out == nil {
		out = []*Service{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Web) apiService(w http.ResponseWriter, r *http.Request) {
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	s, found := c.Service(r.PathValue("id"))
	if !found {
		h.apiError(w, r, http.StatusNotFound, "not_found", "id", "catalog.api.no_service")
		return
	}
	writeJSON(w, http.StatusOK, s)
}
