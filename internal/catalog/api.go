package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/web"
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

// encodeJSON is v as writeJSON sends it.
func encodeJSON(v any) (string, []byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", nil, err
	}
	return jsonType, b.Bytes(), nil
}

const jsonType = "application/json; charset=utf-8"

// sharedJSON sends the document of key, the same for every client, built
// by build when it is not kept (web.App.SharedAnswer).
func (h *Web) sharedJSON(w http.ResponseWriter, r *http.Request, key string, build func() any) {
	if err := h.App.SharedAnswer(w, r, key, func() (string, []byte, error) { return encodeJSON(build()) }); err != nil {
		h.App.Log.Error("api", "err", err, "request_id", web.RequestID(r.Context()))
		h.apiError(w, r, http.StatusInternalServerError, "internal", "", "catalog.api.internal")
	}
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
	// Everyone's list: the catalogue's offices with their status of this
	// minute, until the catalogue changes (a new catalogue, a new key).
	key := fmt.Sprintf("offices|%s|%s|%d", at.UTC().Format(time.RFC3339), now.Format("2006-01-02T15:04"), c.Version)
	h.sharedJSON(w, r, key, func() any {
		out := []OfficeJSON{}
		for _, o := range c.Offices {
			if !at.IsZero() && !o.Hours.OpenAt(at) {
				continue
			}
			out = append(out, officeJSON(c, o, now))
		}
		return out
	})
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
	cat := r.URL.Query().Get("category")
	if cat != "" {
		if _, found := taxonomy.Find(taxonomy.ServiceCategories, cat); !found {
			// Not a category: an empty list, as before, not kept.
			writeJSON(w, http.StatusOK, []*Service{})
			return
		}
	}
	h.sharedJSON(w, r, fmt.Sprintf("services|%s|%d", cat, c.Version), func() any {
		out := c.Services
		if cat != "" {
			out = c.In(cat)
		}
		if out == nil {
			out = []*Service{}
		}
		return out
	})
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
