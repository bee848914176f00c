package main

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/crs"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// outbox lets identity queue mail in its own transactions.
type outbox struct{ out *mail.Outbox }

func (o outbox) Enqueue(ctx context.Context, tx *sql.Tx, to, subject, text string) error {
	_, err := o.out.Enqueue(ctx, tx, mail.Message{To: to, Subject: subject, Text: text})
	return err
}

// identityPepper keys identity's keyed hashes of fiscal codes (the
// successors' table, the audit log's), from the installation secret.
func identityPepper(secret oidcop.Secret) []byte {
	return secret.Derive("identity account successors", 32)
}

// auditPepper keys the audit log's hashes of fiscal codes
// (identity.Store.AuditPepper): a key of its own.
func auditPepper(secret oidcop.Secret) []byte {
	return secret.Derive("identity audit fiscal codes", 32)
}

// newIdentityService wires the identity rules to the database, the audit
// log, the outbox, the town profile (the process's one town.Store, for the
// town's name in mail) and the translations (i18n may be nil for commands
// that send no mail).
func newIdentityService(cfg config, d *db.DB, towns *town.Store, i18n *web.I18n) *identity.Service {
	store := &identity.Store{DB: d, Cache: identity.NewSessionCache(d, cfg.Caches.Sessions, cfg.Caches.SessionTTL)}
	if secret, err := oidcop.NewSecret([]byte(cfg.SecretKey)); err == nil {
		store.Pepper, store.AuditPepper = identityPepper(secret), auditPepper(secret)
	}
	svc := &identity.Service{
		DB:       d,
		Store:    store,
		Sessions: &identity.Sessions{DB: d, Idle: cfg.SessionIdle, Absolute: cfg.SessionMax, Cache: store.Cache},
		Limiter:  &throttle.Limiter{DB: d},
		Limits:   cfg.Limits,
		Hasher:   identity.NewHasher(cfg.PasswordQueue),
		Register: &population.Register{DB: d},
		Audit:    &audit.Log{DB: d},
		Mail:     outbox{&mail.Outbox{DB: d}},
		Town: func(ctx context.Context) string {
			if p, err := towns.Get(ctx); err == nil {
				return p.FullName()
			}
			return "civico"
		},
	}
	// Sessions a command ends (a role revoked, an account closed) stop
	// their tokens and leave back-channel logout notices for a server to
	// deliver; a server's provider installs its own hooks over these.
	svc.Sessions.OnEndTx = (&oidcop.Storage{DB: d}).EndSessionsTx
	svc.T = func(lang, id string, args ...any) string {
		if i18n == nil {
			return id
		}
		return i18n.T(lang, id, args...)
	}
	return svc
}

// cardReader finds the smart card of a request: the TLS client certificate,
// or the certificate a trusted reverse proxy forwarded in a header.
type cardReader struct {
	verifier *crs.Verifier
	header   string
	proxies  web.Proxies
}

func (c *cardReader) Holder(r *http.Request) (identity.CardHolder, error) {
	var chain []*x509.Certificate
	switch {
	case r.TLS != nil:
		chain = r.TLS.PeerCertificates
	case c.header != "" && c.proxies.Contains(r.RemoteAddr):
		if v := r.Header.Get(c.header); v != "" {
			var err error
			if chain, err = crs.ParseForwarded(v); err != nil {
				return identity.CardHolder{}, refusal(err)
			}
		}
	}
	id, err := c.verifier.Verify(chain, time.Now())
	if err != nil {
		return identity.CardHolder{}, refusal(err)
	}
	return identity.CardHolder{FiscalCode: string(id.FiscalCode), GivenName: id.GivenName, FamilyName: id.FamilyName, Serial: id.Serial, Kind: id.Kind,
		CardNumber: id.CardNumber, Proof: id.Proof}, nil
}

// Revoked reports whether the card a session's proof names was revoked
// since the login.
func (c *cardReader) Revoked(proof string) bool { return c.verifier.IsRevoked(proof) }

func refusal(err error) error {
	reason := crs.ReasonOf(err)
	if reason == "" {
		return err
	}
	return &identity.CardRefusal{Reason: string(reason), Detail: err.Error(), MessageID: reason.MessageID()}
}

// newCardReader is nil when smart-card login is not configured.
func newCardReader(cfg config, log *slog.Logger) (*cardReader, error) {
	if cfg.CRSCAFile == "" {
		return nil, nil
	}
	v, err := crs.NewVerifier(cfg.CRSCAFile, cfg.CRSCRLFile, log)
	if err != nil {
		return nil, fmt.Errorf("smart-card authorities (CIVICO_CRS_CA_FILE, CIVICO_CRS_CRL_FILE): %w", err)
	}
	v.StrictCRL = cfg.CRSStrictCRL
	return &cardReader{verifier: v, header: cfg.CRSProxyHeader, proxies: cfg.TrustedProxies}, nil
}

// logSender is the demo's mail server when none is configured: each message
// is printed, so a visitor trying the demo can follow its links.
type logSender struct {
	w  io.Writer
	mu sync.Mutex
}

func (l *logSender) Send(_ context.Context, from string, m mail.Message, messageID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := fmt.Fprintf(l.w, "\n----- mail (demo: not sent, set CIVICO_SMTP_URL to send) -----\nFrom: %s\nTo: %s\nSubject: %s\n\n%s\n-----\n\n", from, m.To, m.Subject, m.Text)
	return err
}

// newMailWorker delivers the outbox through CIVICO_SMTP_URL; in the demo
// without it, to the console; otherwise nil, and mail waits in the outbox.
func newMailWorker(cfg config, d *db.DB, log *slog.Logger, demo bool, console io.Writer) (*mail.Worker, error) {
	from := cfg.MailFrom
	var sender mail.Sender
	switch {
	case cfg.SMTPURL != "":
		s, err := mail.NewSMTPSender(cfg.SMTPURL, from)
		if err != nil {
			return nil, usagef("CIVICO_SMTP_URL: %v", err)
		}
		sender = s
	case demo:
		sender, from = &logSender{w: console}, "demo@civico.invalid"
	default:
		log.Warn("no CIVICO_SMTP_URL: mail is queued in the outbox and sent once a server is configured")
		return nil, nil
	}
	return &mail.Worker{Outbox: &mail.Outbox{DB: d}, Sender: sender, From: from, Log: log}, nil
}
