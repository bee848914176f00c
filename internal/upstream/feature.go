package upstream

import (
	"context"
	"crypto/tls"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/sealed"
)

// Module is proxy mode as civico plugs it in. With no Config, the
// feature's tables exist but nothing is offered: the login answers that
// it is not available.
type Module struct {
	Config *Config
	// HTTP reaches the provider (tests give one that trusts their
	// server); a 10-second client when nil.
	HTTP *http.Client

	// Web is the feature's handlers, once wired; Keys the client key of
	// private_key_jwt.
	Web  *Web
	Keys *Keys
}

// Feature describes the feature.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{Name: "upstream", Messages: Messages, Portal: Templates, Migrations: Migrations, Wire: m.wire}
}

func (m *Module) wire(h *feature.Host) error {
	box, err := sealed.New(h.Key(KeyPurpose))
	if err != nil {
		return err
	}
	m.Keys = &Keys{DB: h.DB, Box: box}
	w := &Web{App: h.Portal, ID: h.ID, Audit: h.Audit, Limiter: h.Limiter, DB: h.DB, Box: box}
	m.Web = w
	h.Every("expired logins", 10*time.Minute, func(ctx context.Context) error {
		return w.sweep(ctx, time.Now(), h.ID.Svc.Sessions.Absolute)
	})
	if m.Config != nil {
		client := m.HTTP
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment,
				TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, TLSHandshakeTimeout: 10 * time.Second}}
		}
		w.RP = &RP{Config: m.Config, Keys: m.Keys, BaseURL: h.BaseURL, HTTP: client}
		h.ID.AddLoginMethod(w.loginMethod)
		h.ID.AddLogoutStep(w.logoutStep)
	}
	r := h.Portal.For("upstream")
	r.HandleFunc("GET "+PathLogin, w.start)
	r.HandleFunc("GET "+PathCallback, w.callback)
	r.HandleFunc("GET "+PathJWKS, w.jwks)
	return nil
}

// Ensure makes the client key of private_key_jwt when there is none, and
// checks that it opens with the secret: at start, so that no anonymous
// request pays for making it and a wrong secret stops civico there.
func (m *Module) Ensure(ctx context.Context) error {
	if m.Config == nil || m.Config.ClientAuth != AuthPrivateKeyJWT || m.Keys == nil {
		return nil
	}
	return m.Keys.Ensure(ctx)
}
