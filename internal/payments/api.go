package payments

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// ScopePayments names the OAuth scope an application needs to read a
// resident's positions, in the API's answers; whether a token holds it is
// the provider's to say (Grant.Payments).
const ScopePayments = "payments"

// Grant is what a bearer token lets an application do.
type Grant struct {
	// FiscalCode is the resident's, when the login behind the token proved
	// it; "" otherwise.
	FiscalCode string
	// Payments: the token holds the payments scope.
	Payments bool
}

// TokenChecker reads an access token of the town's OpenID Connect
// provider: ErrToken when it is unknown, expired or revoked.
type TokenChecker interface {
	Check(ctx context.Context, token string) (Grant, error)
}

// ErrToken is an unknown, expired or revoked token.
var ErrToken = errors.New("payments: invalid token")

// APINotice is a notice in the API: status and amount only.
type APINotice = PublicNotice

// APIPosition is a position in the API, with its notices.
type APIPosition struct {
	ID         string        `json:"id"`
	Category   string        `json:"category"`
	Reason     string        `json:"reason"`
	Year       int           `json:"year"`
	Amount     int64         `json:"amount"`
	PaidAmount int64         `json:"paid_amount"`
	Status     string        `json:"status"`
	Notices    []APIPosNotic `json:"notices"`
}

// APIPosNotic is a notice of the resident's own position.
type APIPosNotic struct {
	Number      string `json:"number"`
	Instalment  int    `json:"instalment"`
	Amount      int64  `json:"amount"`
	DueDate     string `json:"due_date"`
	Status      string `json:"status"`
	CreditorCF  string `json:"creditor_fiscal_code"`
	QRCodeValue string `json:"qr_code"`
}

// noticeBudget bounds the anonymous lookups of notice numbers per client.
var noticeBudget = throttle.Rule{Free: 60, Window: time.Minute}

// apiNotice is GET /api/v1/notices/{number}: 400 with the reason for a
// malformed number, 404 for an unknown one, otherwise status and amount.
func (h *Web) apiNotice(w http.ResponseWriter, r *http.Request) {
	if h.Limiter != nil {
		if err := h.Limiter.Take(r.Context(), nil, throttle.ClientKey("payments:notice:", web.RemoteAddr(r), "", noticeBudget)); err != nil {
			var refused *throttle.Refused
			if errors.As(err, &refused) {
				h.App.FailJSON(w, r, &problem.Error{Kind: problem.Throttled, Retry: refused.Wait, Err: err})
				return
			}
			h.App.FailJSON(w, r, err)
			return
		}
	}
	n, err := pagopa.Parse(r.PathValue("number"))
	if err != nil {
		var pe *pagopa.Error
		errors.As(err, &pe)
		lang := h.App.I18n.Lang(r)
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": "invalid", "field": "number", "reason": string(pe.Reason),
			"message": h.App.I18n.T(lang, "payments.error.notice."+string(pe.Reason))})
		return
	}
	notice, err := h.Svc.ByNumber(r.Context(), n)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	writeJSONStatus(w, http.StatusOK, notice.Public())
}

// apiPositions is GET /api/v1/positions: the token's resident's
// positions, for an application holding the payments scope.
func (h *Web) apiPositions(w http.ResponseWriter, r *http.Request) {
	deny := func(status int, code, desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+desc+`"`)
		writeJSONStatus(w, status, map[string]string{"error": code, "message": desc})
	}
	tok, _ := feature.BearerToken(r)
	if h.Tokens == nil || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer scope="`+ScopePayments+`"`)
		writeJSONStatus(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "a bearer token with the payments scope is needed"})
		return
	}
	g, err := h.Tokens.Check(r.Context(), tok)
	if errors.Is(err, ErrToken) {
		deny(http.StatusUnauthorized, "invalid_token", "the token is unknown, expired or revoked")
		return
	}
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	if !g.Payments {
		deny(http.StatusForbidden, "insufficient_scope", "the token lacks the payments scope")
		return
	}
	if g.FiscalCode == "" {
		deny(http.StatusForbidden, "insufficient_user_authentication", "the login behind the token did not prove the fiscal code")
		return
	}
	page := 1
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			h.App.FailJSON(w, r, problem.Fields{"page": "payments.error.page"})
			return
		}
		page = n
	}
	ps, total, err := h.Svc.OwnPositions(r.Context(), g.FiscalCode, page)
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	creditor, err := h.Svc.Creditor(r.Context())
	if err != nil {
		h.App.FailJSON(w, r, err)
		return
	}
	out := struct {
		Positions []APIPosition `json:"positions"`
		Total     int           `json:"total"`
		Page      int           `json:"page"`
		PerPage   int           `json:"per_page"`
	}{Positions: []APIPosition{}, Total: total, Page: page, PerPage: PerPage}
	for _, p := range ps {
		ap := APIPosition{ID: p.ID, Category: string(p.Category), Reason: p.Reason, Year: p.Year, Amount: p.Amount, PaidAmount: p.PaidAmount, Status: p.Status}
		for _, n := range p.Notices {
			ap.Notices = append(ap.Notices, APIPosNotic{Number: n.Number, Instalment: n.Seq, Amount: n.Amount, DueDate: n.DueDate, Status: n.Status,
				CreditorCF: creditor, QRCodeValue: pagopa.QRPayload(n.Number, creditor, n.Amount)})
		}
		out.Positions = append(out.Positions, ap)
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSONStatus(w, http.StatusOK, out)
}
