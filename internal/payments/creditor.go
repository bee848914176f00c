package payments

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/web"
)

// Caller is a pagoPA intermediary allowed to call the creditor-side
// endpoints, authenticated by mutual TLS (the SHA-256 of its client
// certificate, presented on civico's TLS listener) or by an HMAC key of
// its own.
type Caller struct {
	ID string
	// CertSHA256 is the hex SHA-256 of the client certificate (DER).
	CertSHA256 string
	// HMACKey signs the caller's requests (X-Civico-Signature over the
	// body, with X-PagoPA-Caller naming the caller).
	HMACKey []byte
}

// CallerHeader names the caller of an HMAC-signed request.
const CallerHeader = "X-PagoPA-Caller"

// CreditorPath is where the creditor-side endpoints answer.
const CreditorPath = "/pagopa/v1" // #nosec G101 -- a URL path, no credential

func (h *Web) creditorRoutes(m web.Registrar) {
	m.HandleFunc("POST "+CreditorPath+"/verify", h.creditor(h.paVerify))
	m.HandleFunc("POST "+CreditorPath+"/activate", h.creditor(h.paActivate))
	m.HandleFunc("POST "+CreditorPath+"/receipt", h.creditor(h.paReceipt))
}

// caller authenticates a creditor-side request: its client certificate on
// the TLS listener, or its HMAC signature.
func (h *Web) caller(r *http.Request, body []byte) (*Caller, bool) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		leaf := r.TLS.PeerCertificates[0]
		sum := sha256.Sum256(leaf.Raw)
		got := hex.EncodeToString(sum[:])
		now := time.Now()
		for i := range h.Callers {
			c := &h.Callers[i]
			if c.CertSHA256 != "" && subtle.ConstantTimeCompare([]byte(strings.ToLower(c.CertSHA256)), []byte(got)) == 1 &&
				now.After(leaf.NotBefore) && now.Before(leaf.NotAfter) {
				return c, true
			}
		}
	}
	id := r.Header.Get(CallerHeader)
	for i := range h.Callers {
		c := &h.Callers[i]
		if id != "" && c.ID == id && len(c.HMACKey) > 0 {
			return c, VerifySignature(c.HMACKey, body, r.Header.Get(SignatureHeader), time.Now()) == nil
		}
	}
	return nil, false
}

// Fault is a refusal in the node's words (the SOAP faults of the creditor
// interface: PAA_*), carried in a 200 answer as the node expects.
type Fault struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

// CreditorAnswer is every creditor-side answer.
type CreditorAnswer struct {
	Outcome     string         `json:"outcome"` // OK or KO
	Fault       *Fault         `json:"fault,omitempty"`
	Amount      int64          `json:"amount,omitempty"`
	Description string         `json:"description,omitempty"`
	DueDate     string         `json:"due_date,omitempty"`
	Debtor      string         `json:"debtor_fiscal_code,omitempty"`
	Transfers   []NodeTransfer `json:"transfers,omitempty"`
	AttemptID   string         `json:"attempt_id,omitempty"`
}

// NodeTransfer is a transfer as the node receives it.
type NodeTransfer struct {
	Index      int    `json:"index"`
	CreditorCF string `json:"creditor_fiscal_code"`
	IBAN       string `json:"iban,omitempty"`
	Amount     int64  `json:"amount"`
	Remittance string `json:"remittance_information"`
	Metadata   string `json:"metadata,omitempty"`
}

// CreditorRequest is every creditor-side request.
type CreditorRequest struct {
	CreditorCF   string `json:"creditor_fiscal_code"`
	NoticeNumber string `json:"notice_number"`
	Amount       int64  `json:"amount"`
	RequestID    string `json:"request_id"`
	ReceiptID    string `json:"receipt_id"`
	PSP          string `json:"psp"`
	PaidAt       string `json:"payment_date_time"`
}

func ko(code, desc string) CreditorAnswer {
	return CreditorAnswer{Outcome: "KO", Fault: &Fault{Code: code, Description: desc}}
}

type creditorFunc func(ctx context.Context, c *Caller, in CreditorRequest, n *Notice) (CreditorAnswer, error)

// creditor wraps a creditor-side call: the caller authenticated, the body
// read, the notice number checked and the notice found, each refusal in
// the node's words.
func (h *Web) creditor(fn creditorFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, 32<<10)
		if err != nil {
			return
		}
		c, ok := h.caller(r, body)
		if !ok {
			h.App.Log.Warn("payments: creditor call refused: unknown caller or bad signature", "request_id", web.RequestID(r.Context()))
			writeJSONStatus(w, http.StatusUnauthorized, ko("PAA_SYSTEM_ERROR", "unauthenticated caller"))
			return
		}
		var in CreditorRequest
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSONStatus(w, http.StatusBadRequest, ko("PAA_SINTASSI_EXTRAXSD", "the body is not a creditor request"))
			return
		}
		// JSON's \u0000 decodes to a NUL, which PostgreSQL refuses in the
		// receipt's text: a syntax fault, not a failure to retry.
		if !db.IsText(in.CreditorCF + in.NoticeNumber + in.RequestID + in.ReceiptID + in.PSP + in.PaidAt) {
			writeJSONStatus(w, http.StatusBadRequest, ko("PAA_SINTASSI_EXTRAXSD", "a field is not text"))
			return
		}
		creditor, err := h.Svc.Creditor(r.Context())
		if err != nil {
			writeJSONStatus(w, http.StatusInternalServerError, ko("PAA_SYSTEM_ERROR", "creditor unavailable"))
			return
		}
		if in.CreditorCF != creditor {
			writeJSONStatus(w, http.StatusOK, ko("PAA_ID_DOMINIO_ERRATO", "not this creditor's fiscal code"))
			return
		}
		pn, err := pagopa.Parse(in.NoticeNumber)
		if err != nil {
			writeJSONStatus(w, http.StatusOK, ko("PAA_SINTASSI_EXTRAXSD", err.Error()))
			return
		}
		n, err := h.Svc.ByNumber(r.Context(), pn)
		if errors.Is(err, ErrNotFound) {
			writeJSONStatus(w, http.StatusOK, ko("PAA_PAGAMENTO_SCONOSCIUTO", "unknown notice"))
			return
		}
		if err != nil {
			writeJSONStatus(w, http.StatusInternalServerError, ko("PAA_SYSTEM_ERROR", "try again"))
			return
		}
		out, err := fn(r.Context(), c, in, n)
		if err != nil {
			h.App.Log.Error("payments: creditor call", "err", err, "request_id", web.RequestID(r.Context()))
			writeJSONStatus(w, http.StatusInternalServerError, ko("PAA_SYSTEM_ERROR", "try again"))
			return
		}
		writeJSONStatus(w, http.StatusOK, out)
	}
}

// payableFault is the node's word for a notice that cannot be paid.
func payableFault(n *Notice, today string) *CreditorAnswer {
	var a CreditorAnswer
	switch {
	case n.Status == StatusPaid || n.Status == StatusVoid:
		a = ko("PAA_PAGAMENTO_DUPLICATO", "already paid")
	case n.Status == StatusInPayment:
		a = ko("PAA_PAGAMENTO_IN_CORSO", "a payment is in progress")
	case n.Status == StatusCancelled:
		a = ko("PAA_PAGAMENTO_ANNULLATO", "cancelled")
	case n.Status == StatusExpired || n.PayableUntil != "" && n.PayableUntil < today:
		a = ko("PAA_PAGAMENTO_SCADUTO", "expired")
	default:
		return nil
	}
	return &a
}

func nodeTransfers(ts []Transfer) []NodeTransfer {
	out := make([]NodeTransfer, len(ts))
	for i, t := range ts {
		out[i] = NodeTransfer{Index: t.Seq, CreditorCF: t.CreditorCF, IBAN: t.IBAN, Amount: t.Amount, Remittance: t.Remittance, Metadata: t.Metadata}
	}
	return out
}

// paVerify (paVerifyPaymentNotice): is the notice payable, and for how
// much; nothing changes.
func (h *Web) paVerify(_ context.Context, _ *Caller, _ CreditorRequest, n *Notice) (CreditorAnswer, error) {
	if f := payableFault(n, h.Svc.now().In(rome()).Format(dateLayout)); f != nil {
		return *f, nil
	}
	return CreditorAnswer{Outcome: "OK", Amount: n.Amount, Description: remittance(n.Reason), DueDate: n.DueDate, Transfers: nodeTransfers(n.Transfers)}, nil
}

// paActivate (paGetPayment): the notice is locked for this payment at the
// node until its receipt or its expiry (AttemptTTL).
func (h *Web) paActivate(ctx context.Context, c *Caller, in CreditorRequest, n *Notice) (CreditorAnswer, error) {
	if in.RequestID == "" {
		return ko("PAA_SINTASSI_EXTRAXSD", "request_id is required"), nil
	}
	if in.Amount != 0 && in.Amount != n.Amount {
		return ko("PAA_SEMANTICA", "the amount is not the notice's"), nil
	}
	if f := payableFault(n, h.Svc.now().In(rome()).Format(dateLayout)); f != nil && n.Status != StatusInPayment {
		return *f, nil
	}
	a, _, err := h.Svc.lock(ctx, n.DebtorCF, []string{n.ID}, "node", "node:"+c.ID, "node:"+c.ID+":"+in.RequestID, Actor{Name: "node:" + c.ID})
	switch {
	case errors.Is(err, ErrNotPayable), errors.Is(err, ErrSiblings):
		return ko("PAA_PAGAMENTO_IN_CORSO", "a payment is in progress"), nil
	case err != nil:
		return CreditorAnswer{}, err
	}
	return CreditorAnswer{Outcome: "OK", Amount: n.Amount, Description: remittance(n.Reason), DueDate: n.DueDate, Debtor: n.DebtorCF,
		Transfers: nodeTransfers(n.Transfers), AttemptID: a.ID}, nil
}

// paReceipt (paSendRT): the notice was paid at the node: it is settled
// like a checkout, once per receipt id; a notice paid twice is recorded
// for a refund.
func (h *Web) paReceipt(ctx context.Context, c *Caller, in CreditorRequest, n *Notice) (CreditorAnswer, error) {
	if in.ReceiptID == "" || in.Amount <= 0 {
		return ko("PAA_SINTASSI_EXTRAXSD", "receipt_id and amount are required"), nil
	}
	paidAt := time.Now()
	if in.PaidAt != "" {
		t, err := time.Parse(time.RFC3339, in.PaidAt)
		if err != nil {
			return ko("PAA_SINTASSI_EXTRAXSD", "payment_date_time must be RFC 3339"), nil
		}
		paidAt = t
	}
	psp := in.PSP
	if psp == "" {
		psp = c.ID
	}
	mismatch, err := h.Svc.NodeReceipt(ctx, c.ID, n, in.ReceiptID, in.Amount, psp, paidAt)
	if err != nil {
		return CreditorAnswer{}, err
	}
	if mismatch {
		return ko("PAA_SEMANTICA", "the amount paid is not the notice's: recorded for the finance office"), nil
	}
	return CreditorAnswer{Outcome: "OK"}, nil
}
