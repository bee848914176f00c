package payments

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Gateway is a payment service that takes a resident's money for a
// checkout: the sandbox served by civico itself, or a real provider's
// connector behind the same three calls.
type Gateway interface {
	// Name names the gateway in attempts and notifications.
	Name() string
	// Origin is the scheme, host and port of the gateway's payment pages:
	// the portal's pages with a checkout form allow it in their
	// Content-Security-Policy's form-action, which browsers apply to the
	// redirect that follows the form.
	Origin() string
	// Start registers a payment of the attempt and returns the page the
	// resident pays on. Starting the same attempt again returns the same
	// payment (the attempt id is the gateway's idempotency key).
	Start(ctx context.Context, r StartRequest) (Started, error)
	// Verify checks a notification's signature and freshness and reads it;
	// a forged, altered or stale one is an error and changes nothing.
	Verify(header http.Header, body []byte) (Notification, error)
	// Status asks the outcome of an attempt (by its id): reconciliation
	// asks it of every attempt left in payment.
	Status(ctx context.Context, attemptID string) (Status, error)
}

// StartRequest is a payment the gateway is asked to take.
type StartRequest struct {
	AttemptID   string    `json:"attempt_id"`
	Amount      int64     `json:"amount"`
	Description string    `json:"description"`
	Notices     []string  `json:"notices"`
	ReturnURL   string    `json:"return_url"`
	NotifyURL   string    `json:"notify_url"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Started is the gateway's payment: its reference and the page to send
// the resident to.
type Started struct {
	Ref         string `json:"ref"`
	RedirectURL string `json:"redirect_url"`
}

// Status is what the gateway knows of an attempt.
type Status struct {
	AttemptID string    `json:"attempt_id"`
	Outcome   Outcome   `json:"outcome"`
	Amount    int64     `json:"amount"`
	PSP       string    `json:"psp"`
	PSPRef    string    `json:"psp_ref"`
	PaidAt    time.Time `json:"paid_at"`
}

// Notification is a gateway's signed message about an attempt.
type Notification struct {
	// ID is unique per notification: a replay carries the same.
	ID string `json:"id"`
	Status
}

// Signatures: an HMAC-SHA256 over "<unix time>.<body>", sent as
// "t=<unix time>,v1=<hex>". A signature older or newer than SignatureSkew
// is refused, so a captured message cannot be replayed later; within the
// window, the notification's id is recorded and a second delivery changes
// nothing.
const SignatureSkew = 5 * time.Minute

// SignatureHeader carries the signature of a sandbox notification or call.
const SignatureHeader = "X-Civico-Signature"

// Sign signs body at t with key.
func Sign(key, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Signature errors.
var (
	ErrSignature = errors.New("payments: missing or wrong signature")
	ErrStale     = errors.New("payments: signature outside the time window")
)

// VerifySignature checks a signature made by Sign at most SignatureSkew
// from now.
func VerifySignature(key, body []byte, header string, now time.Time) error {
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || v1 == "" {
		return ErrSignature
	}
	got, err := hex.DecodeString(v1)
	if err != nil {
		return ErrSignature
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureSkew || d < -SignatureSkew {
		return ErrStale
	}
	return nil
}

// SandboxClient is the Gateway that speaks to civico's sandbox gateway
// over HTTP, signing its calls and verifying its notifications with a
// shared key, as a connector to a real provider would.
type SandboxClient struct {
	// URL is where the sandbox's API answers (the portal's own address,
	// or its loopback address inside the process); Public is the address
	// the resident's browser reaches it at.
	URL, Public string
	Key         []byte
	HTTP        *http.Client
	Now         func() time.Time
}

// SandboxName is the sandbox gateway's name.
const SandboxName = "sandbox"

// Name is "sandbox".
func (c *SandboxClient) Name() string { return SandboxName }

// Origin is the origin of the sandbox's pages: the portal's public address.
func (c *SandboxClient) Origin() string {
	if c.Public != "" {
		return originOf(c.Public)
	}
	return originOf(c.URL)
}

// originOf is the scheme://host[:port] of an absolute address; "" for
// anything else.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (c *SandboxClient) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *SandboxClient) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, bytes.NewReader(body)) // #nosec G704 -- c.URL is the gateway the town configured, path a constant of this package
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	// A GET signs its path.
	signed := body
	if method == http.MethodGet {
		signed = []byte(path)
	}
	req.Header.Set(SignatureHeader, Sign(c.Key, signed, c.now()))
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req) // #nosec G704 -- the request above, to the configured gateway
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("sandbox gateway %s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// Start registers the payment with the sandbox.
func (c *SandboxClient) Start(ctx context.Context, r StartRequest) (Started, error) {
	var s Started
	err := c.call(ctx, http.MethodPost, SandboxPath+"/api/payments", r, &s)
	if err == nil && c.Public != "" {
		s.RedirectURL = strings.TrimSuffix(c.Public, "/") + s.RedirectURL
	}
	return s, err
}

// Status asks the sandbox what became of an attempt.
func (c *SandboxClient) Status(ctx context.Context, attemptID string) (Status, error) {
	var s Status
	err := c.call(ctx, http.MethodGet, SandboxPath+"/api/payments/"+attemptID, nil, &s)
	return s, err
}

// Verify checks a sandbox notification.
func (c *SandboxClient) Verify(header http.Header, body []byte) (Notification, error) {
	var n Notification
	if err := VerifySignature(c.Key, body, header.Get(SignatureHeader), c.now()); err != nil {
		return n, err
	}
	if err := json.Unmarshal(body, &n); err != nil || n.ID == "" || n.AttemptID == "" || !n.Outcome.Final() {
		return n, fmt.Errorf("%w: unreadable notification", ErrSignature)
	}
	return n, nil
}
