package upstream

import (
	"context"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/feature"
)

// Module is proxy mode as civico plugs it in. With no Config, the
// feature's tables exist but nothing is offered: the login answers that
// it is not available.
type Module struct {
	Config *Config
	// HTTP reaches the provider (tests give one that trusts their
	// server); a 10-second client when nil.
	HTTP *http.Client

	// Web is the feature's handlers, once wired.
	Web *Web
}

// Feature describes the feature.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{Name: "upstream", Messages: Messages, Portal: Templates, Migrations: Migrations, Wire: m.wire}
}

func (m *Module) wire(h *feature.Host) error {
	w := &Web{App: h.Portal, ID: h.ID, Audit: h.Audit, Limiter: h.Limiter, DB: h.DB}
	m.Web = w
	h.Every("expired logins", 10*time.Minute, func(ctx context.Context) error {
		return w.sweep(ctx, time.Now(), h.ID.Svc.Sessions.Absolute)
	})
	if m.Config != nil {
		client := m.HTTP
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		w.RP = &RP{Config: m.Config, BaseURL: h.BaseURL, HTTP: client}
		h.ID.AddLoginMethod(w.loginMethod)
		h.ID.AddLogoutStep(w.logoutStep)
	}
	r := h.Portal.For("upstream")
	r.HandleFunc("GET "+PathLogin, w.start)
	r.HandleFunc("GET "+PathCallback, w.callback)
	return nil
}
