package booking

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/identity"
)

// GET /api/v1/bookings: the resident's appointments, for an application
// holding a bearer token of the portal's provider with the scope
// "bookings" (or the resident's own session). Every query has the
// resident's account in its WHERE clause.

// APIScope is the OpenID Connect scope that opens the resident's
// appointments (oidcop.ScopeBookings).
const APIScope = "bookings"

// BookingJSON is an appointment as the API shows it.
type BookingJSON struct {
	ID           string    `json:"id"`
	Code         string    `json:"code"`
	Office       string    `json:"office"`
	OfficeName   string    `json:"office_name"`
	Service      string    `json:"service"`
	ServiceTitle string    `json:"service_title"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	State        State     `json:"state"`
	URL          string    `json:"url"`
}

// apiAccount is who asks: a bearer token with the scope, or the session.
// It answers the request itself when it returns "".
func (h *Web) apiAccount(w http.ResponseWriter, r *http.Request) string {
	tokens := h.Tokens
	if h.Accounts == nil {
		tokens = nil // no way to read a token's account: every token is refused
	}
	c, ok := tokens.Caller(h.App, w, r, APIScope, func(ctx context.Context, id string) (*identity.Account, error) {
		return h.Accounts.ByID(ctx, id)
	})
	if !ok {
		return ""
	}
	return c.Account.ID
}

// apiMine is GET /api/v1/bookings?page=N: the coming appointments first
// (soonest first), then the past and cancelled, PageSize a page.
func (h *Web) apiMine(w http.ResponseWriter, r *http.Request) {
	account := h.apiAccount(w, r)
	if account == "" {
		return
	}
	page := 1
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "invalid_request", Field: "page", Message: "page is a number from 1"})
			return
		}
		page = n
	}
	list, total, err := h.Store.Mine(r.Context(), account, page)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	out := struct {
		Bookings []BookingJSON `json:"bookings"`
		Total    int           `json:"total"`
		Page     int           `json:"page"`
		PerPage  int           `json:"per_page"`
	}{Bookings: []BookingJSON{}, Total: total, Page: page, PerPage: PageSize}
	for _, b := range list {
		o, s := placeOf(dir, b)
		j := BookingJSON{ID: b.ID, Code: b.Code, Office: b.OfficeID, Service: b.ServiceID, Start: b.Start, End: b.End, State: b.State, URL: AreaPath + "/" + b.ID}
		if o != nil {
			j.OfficeName = o.Name
		}
		if s != nil {
			j.ServiceTitle = s.Title
		}
		out.Bookings = append(out.Bookings, j)
	}
	writeJSON(w, http.StatusOK, out)
}
