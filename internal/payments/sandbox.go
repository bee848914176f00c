package payments

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/web"
)

// SandboxPath is where the sandbox gateway is served on the portal.
const SandboxPath = "/sandbox-pagamenti"

// SandboxDelay is how long the "delayed outcome" waits before its
// notification.
const SandboxDelay = 20 * time.Second

// Sandbox is a pretend payment provider served by civico itself, so that
// the demo and the tests pay through the same Gateway interface a real
// provider's connector implements: a signed API to start a payment and ask
// its outcome, a payment page offering success, refusal, abandonment and a
// delayed outcome, and signed notifications. Like a provider that loses
// them, it sends each notification once and never again: reconciliation is
// what makes a lost one harmless.
type Sandbox struct {
	DB   *db.DB
	App  *web.App
	Key  []byte
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
	// Delay is how long a delayed outcome waits (SandboxDelay when 0).
	Delay time.Duration
}

func (g *Sandbox) now() time.Time {
	if g.Now != nil {
		return g.Now().UTC()
	}
	return time.Now().UTC()
}

// Routes is the sandbox's map.
func (g *Sandbox) Routes() {
	m := g.App.For("payments")
	m.HandleFunc("POST "+SandboxPath+"/api/payments", g.apiStart)
	m.HandleFunc("GET "+SandboxPath+"/api/payments/{attempt}", g.apiStatus)
	m.HandleFunc("GET "+SandboxPath+"/paga/{ref}", g.page)
	m.HandleFunc("POST "+SandboxPath+"/paga/{ref}", g.choose)
}

func (g *Sandbox) apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *Sandbox) apiStart(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		g.apiError(w, http.StatusBadRequest, "unreadable body")
		return
	}
	if err := VerifySignature(g.Key, body, r.Header.Get(SignatureHeader), g.now()); err != nil {
		g.apiError(w, http.StatusUnauthorized, err.Error())
		return
	}
	var in StartRequest
	if err := json.Unmarshal(body, &in); err != nil || in.AttemptID == "" || in.Amount <= 0 || !strings.HasPrefix(in.NotifyURL, "http") {
		g.apiError(w, http.StatusBadRequest, "a payment needs attempt_id, a positive amount and notify_url")
		return
	}
	now := g.now()
	ref := tokens.ID()
	// The attempt id is the idempotency key: a second start returns the
	// first payment.
	_, err = g.DB.ExecContext(r.Context(), `INSERT INTO payments_sandbox (attempt_id, ref, amount, description, return_url, notify_url, outcome, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) ON CONFLICT (attempt_id) DO NOTHING`,
		in.AttemptID, ref, in.Amount, in.Description, in.ReturnURL, in.NotifyURL, now, in.ExpiresAt.UTC())
	if err != nil {
		g.apiError(w, http.StatusInternalServerError, "cannot record the payment")
		return
	}
	if err := g.DB.QueryRowContext(r.Context(), `SELECT ref FROM payments_sandbox WHERE attempt_id = $1`, in.AttemptID).Scan(&ref); err != nil {
		g.apiError(w, http.StatusInternalServerError, "cannot read the payment")
		return
	}
	writeJSONStatus(w, http.StatusOK, Started{Ref: ref, RedirectURL: SandboxPath + "/paga/" + ref})
}

type sandboxPayment struct {
	AttemptID, Ref, Description, ReturnURL, NotifyURL, Outcome, PSPRef string
	Amount                                                             int64
	ExpiresAt                                                          time.Time
	DecidedAt                                                          *time.Time
}

func (g *Sandbox) load(ctx context.Context, where string, arg string) (*sandboxPayment, error) {
	var p sandboxPayment
	var decided sql.NullTime
	err := g.DB.QueryRowContext(ctx, `SELECT attempt_id, ref, description, return_url, notify_url, outcome, psp_ref, amount, expires_at, decided_at
		FROM payments_sandbox WHERE `+where+` = $1`, arg).Scan(&p.AttemptID, &p.Ref, &p.Description, &p.ReturnURL, &p.NotifyURL, &p.Outcome, &p.PSPRef,
		&p.Amount, &p.ExpiresAt, &decided)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if decided.Valid {
		p.DecidedAt = &decided.Time
	}
	return &p, err
}

// outcome is the payment's outcome now: a pending payment past its expiry
// has expired.
func (g *Sandbox) outcome(p *sandboxPayment) Outcome {
	if p.Outcome == "pending" && g.now().After(p.ExpiresAt) {
		return OutcomeExpired
	}
	return Outcome(p.Outcome)
}

func (g *Sandbox) apiStatus(w http.ResponseWriter, r *http.Request) {
	if err := VerifySignature(g.Key, []byte(r.URL.Path), r.Header.Get(SignatureHeader), g.now()); err != nil {
		g.apiError(w, http.StatusUnauthorized, err.Error())
		return
	}
	p, err := g.load(r.Context(), "attempt_id", r.PathValue("attempt"))
	if err != nil {
		g.apiError(w, http.StatusInternalServerError, "cannot read the payment")
		return
	}
	if p == nil {
		writeJSONStatus(w, http.StatusOK, Status{AttemptID: r.PathValue("attempt"), Outcome: OutcomeUnknown})
		return
	}
	writeJSONStatus(w, http.StatusOK, g.status(p))
}

func (g *Sandbox) status(p *sandboxPayment) Status {
	st := Status{AttemptID: p.AttemptID, Outcome: g.outcome(p), Amount: p.Amount}
	if st.Outcome == OutcomePaid {
		st.PSP, st.PSPRef = "Sandbox PSP", p.PSPRef
		if p.DecidedAt != nil {
			st.PaidAt = *p.DecidedAt
		}
	}
	return st
}

// SandboxPage is the content of the sandbox's payment page.
type SandboxPage struct {
	Ref, Description, Amount, Outcome string
	Done                              bool
	Return                            string
}

func (g *Sandbox) page(w http.ResponseWriter, r *http.Request) {
	p, err := g.load(r.Context(), "ref", r.PathValue("ref"))
	if err != nil {
		g.App.Fail(w, r, err)
		return
	}
	if p == nil {
		g.App.Error(w, r, http.StatusNotFound)
		return
	}
	page := g.App.NewPage(r, "payments.sandbox.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	o := g.outcome(p)
	page.Data = &SandboxPage{Ref: p.Ref, Description: p.Description, Amount: Euro(p.Amount), Outcome: string(o), Done: o != OutcomePending, Return: p.ReturnURL}
	w.Header().Set("Cache-Control", "no-store")
	// The choice's form returns the resident to the portal's listener
	// they came from (another origin than the sandbox's, over TLS).
	web.AllowFormAction(w, originOf(p.ReturnURL))
	g.App.HTML(w, r, http.StatusOK, "payments_sandbox", page)
}

// choose records the resident's choice once, notifies, and returns the
// resident to the portal.
func (g *Sandbox) choose(w http.ResponseWriter, r *http.Request) {
	if !g.App.ParseForm(w, r, 4<<10) {
		return
	}
	ref := r.PathValue("ref")
	choice := r.PostForm.Get("esito")
	outcome, delayed := Outcome(""), false
	switch choice {
	case "paid":
		outcome = OutcomePaid
	case "delayed":
		outcome, delayed = OutcomePaid, true
	case "refused":
		outcome = OutcomeRefused
	case "abandoned":
		outcome = OutcomeAbandoned
	default:
		g.App.Error(w, r, http.StatusBadRequest)
		return
	}
	now := g.now()
	var notifyAt any
	if delayed {
		d := g.Delay
		if d == 0 {
			d = SandboxDelay
		}
		notifyAt = now.Add(d)
	}
	res, err := g.DB.ExecContext(r.Context(), `UPDATE payments_sandbox SET outcome = $1, decided_at = $2, psp_ref = $3, notify_at = $4
		WHERE ref = $5 AND outcome = 'pending' AND expires_at > $2`, string(outcome), now, "SBX-"+strings.ToUpper(tokens.Secret(9)), notifyAt, ref)
	if err != nil {
		g.App.Fail(w, r, err)
		return
	}
	p, err := g.load(r.Context(), "ref", ref)
	if err != nil || p == nil {
		g.App.Error(w, r, http.StatusNotFound)
		return
	}
	if k, _ := res.RowsAffected(); k == 1 && !delayed {
		// Sent once, while the resident waits, like most providers: if it
		// is lost, reconciliation asks.
		g.notify(r.Context(), p)
	}
	back := p.ReturnURL
	if back == "" {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther) // #nosec G710 -- the return address civico itself registered with the payment
}

func (g *Sandbox) notify(ctx context.Context, p *sandboxPayment) {
	n := Notification{ID: tokens.ID(), Status: g.status(p)}
	body, _ := json.Marshal(n)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(g.Key, body, g.now()))
	client := g.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		if g.Log != nil {
			g.Log.Warn("sandbox gateway: notification not delivered", "attempt", p.AttemptID, "err", err)
		}
		return
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
}

// SendDelayed sends the notifications of delayed outcomes that are due,
// each once (claimed by notified_at before it is sent).
func (g *Sandbox) SendDelayed(ctx context.Context) error {
	now := g.now()
	rows, err := g.DB.QueryContext(ctx, `SELECT ref FROM payments_sandbox WHERE notified_at IS NULL AND notify_at IS NOT NULL AND notify_at <= $1 LIMIT 100`, now)
	if err != nil {
		return err
	}
	var refs []string
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			_ = rows.Close()
			return err
		}
		refs = append(refs, ref)
	}
	_ = rows.Close()
	for _, ref := range refs {
		res, err := g.DB.ExecContext(ctx, `UPDATE payments_sandbox SET notified_at = $1 WHERE ref = $2 AND notified_at IS NULL`, now, ref)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			continue
		}
		p, err := g.load(ctx, "ref", ref)
		if err != nil || p == nil {
			continue
		}
		g.notify(ctx, p)
	}
	return rows.Err()
}

// returnURL is where the sandbox sends the resident back to.
func returnURL(base, attemptID string) string {
	return strings.TrimSuffix(base, "/") + AreaPath + "/esito/" + url.PathEscape(attemptID)
}
