package spid

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	tokens "github.com/civico-pa/civico/internal/token"
)

// RequestTTL is how long an authentication request waits for its answer.
const RequestTTL = 10 * time.Minute

// Request is an authentication request in flight, as kept server side.
type Request struct {
	ID, IdP    string
	Level      assurance.Level
	RelayState string
	Next       string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	bindHash   string
}

// Outcome is what a validated answer proved, kept between the assertion
// consumer and the completion in the browser that asked.
type Outcome struct {
	FiscalCode, GivenName, FamilyName, BirthDate, BirthPlace string
	Level                                                    assurance.Level
	IdP, NameID, NameQualifier, SessionIndex                 string
	Email                                                    string `json:",omitempty"`
	// Profile is the provider's profile ("spid" when empty: answers kept
	// before profiles were recorded).
	Profile string `json:",omitempty"`
	// EIDASID is the eIDAS person identifier (eIDAS profile only); the
	// FiscalCode is then empty when the person has none.
	EIDASID string `json:",omitempty"`
}

// Requests keeps authentication requests in flight.
type Requests struct {
	DB  *db.DB
	Now func() time.Time
}

func (s *Requests) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Start records a new request in tx and returns it with the token of the
// browser-binding cookie.
func (s *Requests) Start(ctx context.Context, tx *sql.Tx, idp string, level assurance.Level, next string) (*Request, string, error) {
	now := s.now().Truncate(time.Millisecond)
	bind, bindHash := tokens.New()
	r := &Request{ID: "_" + tokens.ID(), IdP: idp, Level: level, RelayState: tokens.ID(), Next: next, IssuedAt: now, ExpiresAt: now.Add(RequestTTL), bindHash: bindHash}
	_, err := tx.ExecContext(ctx, `INSERT INTO spid_requests (id, idp, level, relay_state, next, binding_hash, issued_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r.ID, r.IdP, string(r.Level), r.RelayState, r.Next, r.bindHash, r.IssuedAt, r.ExpiresAt)
	return r, bind, err
}

// ErrNoRequest: the answer names no request in flight (unknown, expired,
// or already answered).
var ErrNoRequest = errors.New("no authentication request in flight by that id")

// Pending is the unanswered, unexpired request of an id.
func (s *Requests) Pending(ctx context.Context, id string) (*Request, error) {
	if id == "" || len(id) > 100 {
		return nil, ErrNoRequest
	}
	var r Request
	var level string
	err := s.DB.QueryRowContext(ctx, `SELECT id, idp, level, relay_state, next, issued_at, expires_at FROM spid_requests
		WHERE id = $1 AND answered_at IS NULL AND expires_at > $2`, id, s.now()).Scan(&r.ID, &r.IdP, &level, &r.RelayState, &r.Next, &r.IssuedAt, &r.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoRequest
	}
	r.Level = assurance.Level(level)
	return &r, err
}

// Answer marks a request answered in tx, once: a second answer to it (a
// replay) finds none. A successful answer's outcome is kept for the
// completion.
func (s *Requests) Answer(ctx context.Context, tx *sql.Tx, id string, o *Outcome) error {
	out := ""
	if o != nil {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		out = string(b)
	}
	now := s.now()
	res, err := tx.ExecContext(ctx, `UPDATE spid_requests SET answered_at = $1, outcome = $2 WHERE id = $3 AND answered_at IS NULL AND expires_at > $1`, now, out, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err == nil {
			err = ErrNoRequest
		}
		return err
	}
	return nil
}

// ErrOtherBrowser: the completion of a login comes from a browser other
// than the one that started it (or twice).
var ErrOtherBrowser = errors.New("the login was started in another browser, or already completed")

// Complete takes the outcome of an answered request in tx, for the browser
// holding the binding cookie, once; the outcome is emptied.
func (s *Requests) Complete(ctx context.Context, tx *sql.Tx, id, bind string) (*Outcome, string, error) {
	if bind == "" || len(bind) > 100 {
		return nil, "", ErrOtherBrowser
	}
	now, hash := s.now(), tokens.Hash(bind)
	var out, next string
	err := tx.QueryRowContext(ctx, `SELECT outcome, next FROM spid_requests WHERE id = $1 AND binding_hash = $2
		AND answered_at IS NOT NULL AND done_at IS NULL AND outcome <> '' AND expires_at > $3`, id, hash, now).Scan(&out, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", ErrOtherBrowser
	}
	if err != nil {
		return nil, "", err
	}
	// Once: of two completions at once, one finds it done.
	res, err := tx.ExecContext(ctx, `UPDATE spid_requests SET done_at = $1, outcome = '' WHERE id = $2 AND done_at IS NULL`, now, id)
	if err != nil {
		return nil, "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, "", ErrOtherBrowser
	}
	var o Outcome
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		return nil, "", err
	}
	return &o, next, nil
}

// Sweep forgets requests an hour after they expired.
func (s *Requests) Sweep(ctx context.Context) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		cut := s.now().Add(-time.Hour)
		if _, err := tx.ExecContext(ctx, `DELETE FROM spid_requests WHERE expires_at < $1`, cut); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM spid_logouts WHERE expires_at < $1`, cut)
		return err
	})
}

// AuthnRequest is the XML of the request r to idp, as SPID's rules want
// it: Destination the SSO address, ForceAuthn from level 2, the indexes of
// the assertion consumer and attribute consuming services, the Issuer
// with its NameQualifier, a transient NameIDPolicy without AllowCreate,
// and the level with Comparison minimum.
func (sp *SP) AuthnRequest(r *Request, idp *IdP, prof Profile) ([]byte, error) {
	doc := etree.NewDocument()
	ar := doc.CreateElement("samlp:AuthnRequest")
	ar.CreateAttr("xmlns:samlp", nsProtocol)
	ar.CreateAttr("xmlns:saml", nsAssertion)
	ar.CreateAttr("ID", r.ID)
	ar.CreateAttr("Version", "2.0")
	ar.CreateAttr("IssueInstant", samlTime(r.IssuedAt))
	ar.CreateAttr("Destination", idp.SSOURL)
	if r.Level != assurance.Low || prof.AlwaysForceAuthn {
		ar.CreateAttr("ForceAuthn", "true")
	}
	ar.CreateAttr("AssertionConsumerServiceIndex", "0")
	index := prof.AttributeIndex
	if index == "" {
		index = "0"
	}
	ar.CreateAttr("AttributeConsumingServiceIndex", index)
	iss := ar.CreateElement("saml:Issuer")
	iss.CreateAttr("Format", NameIDEntity)
	iss.CreateAttr("NameQualifier", sp.EntityID())
	iss.SetText(sp.EntityID())
	pol := ar.CreateElement("samlp:NameIDPolicy")
	pol.CreateAttr("Format", NameIDTransient)
	rac := ar.CreateElement("samlp:RequestedAuthnContext")
	rac.CreateAttr("Comparison", "minimum")
	rac.CreateElement("saml:AuthnContextClassRef").SetText(ClassRef(r.Level))
	return doc.WriteToBytes()
}

// PostForm is the HTTP-POST binding's form: the browser posts SAMLRequest
// (the request signed inside, base64) and RelayState to Action.
type PostForm struct {
	Action, SAMLRequest, RelayState string
}

// SignedForPost signs the request xml (AuthnRequest's) with an enveloped
// signature after its Issuer, as the HTTP-POST binding carries it, and
// returns it.
func SignedForPost(xml []byte, key *Key) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, err
	}
	if err := signEnveloped(doc.Root(), key, 1); err != nil {
		return nil, err
	}
	return doc.WriteToBytes()
}

// deflate64 is the HTTP-Redirect binding's encoding: raw DEFLATE, base64.
func deflate64(b []byte) (string, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(b); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// RedirectURL is the address that carries a message to dest with the
// HTTP-Redirect binding, signed by key: param is SAMLRequest or
// SAMLResponse.
func RedirectURL(dest, param string, msg []byte, relayState string, key *Key) (string, error) {
	enc, err := deflate64(msg)
	if err != nil {
		return "", err
	}
	q := param + "=" + url.QueryEscape(enc)
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	q += "&SigAlg=" + url.QueryEscape(algRSASHA256)
	sig, err := signQuery(key, q)
	if err != nil {
		return "", err
	}
	q += "&Signature=" + url.QueryEscape(sig)
	u, err := url.Parse(dest)
	if err != nil {
		return "", err
	}
	if u.RawQuery != "" {
		return dest + "&" + q, nil
	}
	return dest + "?" + q, nil
}
