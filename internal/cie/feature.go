package cie

import (
	"context"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/sealed"
)

// Module is the CIE relying party as civico plugs it in. With no Config,
// the feature's tables exist but nothing is served: CIE login is off.
type Module struct {
	Config *Config
	// HTTP reaches the federation's entities and the provider (tests give
	// one that trusts their servers); a 10-second client when nil.
	HTTP *http.Client

	// Web is the feature's handlers, once wired; Keys the relying party's
	// keys (also when CIE login is off, for the CLI).
	Web  *Web
	Keys *Keys
}

// Feature describes the feature.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{Name: "cie", Messages: Messages, Portal: Templates, Migrations: Migrations, Wire: m.wire}
}

func (m *Module) wire(h *feature.Host) error {
	box, err := sealed.New(h.Key(KeyPurpose))
	if err != nil {
		return err
	}
	m.Keys = &Keys{DB: h.DB, Box: box}
	h.Every("expired logins", 10*time.Minute, func(ctx context.Context) error { return sweep(ctx, h.DB, time.Now()) })
	w := &Web{App: h.Portal, ID: h.ID, Audit: h.Audit, Limiter: h.Limiter, Towns: h.Towns, DB: h.DB}
	m.Web = w
	if m.Config != nil {
		client := m.HTTP
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		w.RP = &RP{Config: m.Config, Keys: m.Keys, Resolver: &Resolver{Config: m.Config, HTTP: client}, BaseURL: h.BaseURL, HTTP: client,
			Logo: h.Portal.Static.Prefix + "/favicon.svg"}
		h.ID.AddLoginMethod(w.loginMethod)
	}
	// The routes are there when CIE login is off too: they answer that
	// it is not available.
	r := h.Portal.For("cie")
	r.HandleFunc("GET "+PathEntityConfiguration, w.entityConfiguration)
	r.HandleFunc("GET "+PathLogin, w.start)
	r.HandleFunc("GET "+PathCallback, w.callback)
	return nil
}

// Ensure makes the relying party's keys when there are none, and checks
// that they open with the secret: at start, so that no anonymous request
// pays for making them and a wrong secret stops civico there.
func (m *Module) Ensure(ctx context.Context) error {
	if m.Config == nil || m.Keys == nil {
		return nil
	}
	return m.Keys.Ensure(ctx)
}
