package oidcop

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/civico-pa/civico/internal/feature"
)

// Module is the OpenID Connect provider as civico wires it.
type Module struct {
	Secret Secret
	// Residents answers the residence scope (the population register).
	Residents Residents
	// Clients are the town's own applications, registered (or brought up
	// to date) at every start: Partecipa.
	Clients []NewClient
	// CounterClient is the client (Partecipa) the counter endpoint
	// answers; "" turns it off.
	CounterClient string
	// Provider is set when the feature is wired.
	Provider *Provider
}

// Feature is the provider on the portal: its protocol endpoints, login and
// consent pages, the applications page of the personal area, back-channel
// logout.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "oidcop", Messages: Messages, Portal: Templates, Migrations: Migrations,
		Wire: func(h *feature.Host) error {
			svc := h.ID.Svc
			store := &Storage{DB: h.DB, Keys: &Keys{DB: h.DB, Secret: m.Secret}, Clients: &Clients{DB: h.DB}, Accounts: svc.Store, Sessions: svc.Sessions,
				Residents: m.Residents, Audit: h.Audit, EndSession: svc.Sessions.EndOne,
				CounterClient: m.CounterClient, Seeds: svc.Store, Limiter: h.Limiter}
			if h.Messages != nil {
				store.Inbox = h.Messages
			}
			p, err := New(Config{App: h.Portal, ID: h.ID, Storage: store, Issuer: h.BaseURL, Secret: m.Secret, Log: h.Log.With("app", "oidc")})
			if err != nil {
				return err
			}
			p.Routes()
			// A portal logout tells every application the session logged
			// into, in the logout's own transaction; linking two accounts
			// moves the consents.
			svc.Sessions.OnEndTx, svc.Sessions.OnEnd = p.SessionsEndTx, p.SessionsEnded
			svc.Mergers = append(svc.Mergers, store.MergeAccounts)
			// An account that takes over the seed the counter answered for
			// a person without one receives the look-ups kept for them.
			svc.Store.SeedTaken = append(svc.Store.SeedTaken, store.DeliverCounterNotices)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, c := range m.Clients {
				if err := store.Clients.Upsert(ctx, c); err != nil {
					return err
				}
			}
			h.Export("single_sign_on", store.Export)
			h.Every("back-channel logout retries", 15*time.Second, func(ctx context.Context) error {
				_, err := p.DeliverDueLogouts(ctx)
				return err
			})
			h.Every("expired requests and tokens", 5*time.Minute, store.Sweep)
			m.Provider = p
			return nil
		},
	}
}

// ClientSecret is the secret of a client civico registers itself: derived
// from the installation secret, so that it needs no storage.
func (s Secret) ClientSecret(clientID string) string {
	return base64.RawURLEncoding.EncodeToString(s.Derive("client secret "+clientID, 32))
}
