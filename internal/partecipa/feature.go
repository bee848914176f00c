package partecipa

import (
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
)

// Module is Partecipa as civico wires it: a relying party of the portal's
// provider, on an application of its own.
type Module struct {
	// ClientID and ClientSecret are Partecipa's registration with the
	// provider; HTTP is how it reaches the provider.
	ClientID, ClientSecret string
	HTTP                   *http.Client
	// Auth is set when the feature is wired; serve sets its Via once the
	// portal listens.
	Auth *Auth
	// Store keeps consultations and ballots, set when wired.
	Store *Store
	// Threshold and AnswerWithin are the proposals' rules: the supports
	// after which the administration owes an answer, and the time it has
	// (DefaultThreshold, DefaultAnswerWithin when zero).
	Threshold    int64
	AnswerWithin time.Duration
}

// Feature is Partecipa: its pages, its login through the portal and its
// sessions.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "partecipa", Messages: Messages, Partecipa: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			m.Auth = &Auth{DB: h.DB, Issuer: h.BaseURL, BaseURL: h.PartecipaBaseURL, ClientID: m.ClientID, ClientSecret: m.ClientSecret,
				HTTP: m.HTTP, Log: h.Log.With("app", "partecipa")}
			m.Store = &Store{DB: h.DB, Audit: h.Audit, Limiter: h.Limiter, Threshold: m.Threshold, AnswerWithin: m.AnswerWithin,
				Outbox: h.Outbox, BaseURL: h.PartecipaBaseURL}
			if i := h.Partecipa.I18n; i != nil {
				m.Store.T = func(id string, args ...any) string { return i.T("it", id, args...) }
			}
			(&Partecipa{App: h.Partecipa, Auth: m.Auth, Store: m.Store}).Routes()
			h.Every("expired sessions", 5*time.Minute, m.Auth.Sweep)
			// The mix: fresh ballots rewritten in random order, tallies
			// brought up to date, consultations past their closing
			// instant closed (docs/PARTECIPA.md).
			h.Every("mix", time.Minute, m.Store.Sweep)
			// The portal's back office leads the office to its pages, on
			// Partecipa's origin.
			h.BackOffice(identity.Section{Label: "partecipa.office.title", Href: h.PartecipaBaseURL + "/ufficio", Roles: []string{OfficeRole}})
			h.BackOffice(identity.Section{Label: "partecipa.counter.title", Href: h.PartecipaBaseURL + "/sportello", Roles: []string{CounterRole}})
			return nil
		},
	}
}
