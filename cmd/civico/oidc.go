package main

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/web"
)

// partecipaClientID is the built-in client of the consultation platform.
const partecipaClientID = "partecipa"

// newProvider builds the OpenID Connect provider on the portal, ties the
// portal's logout to back-channel logout, and registers Partecipa as a
// first-party client at the addresses of this configuration.
func newProvider(cfg config, d *db.DB, portalApp *web.App, id *identity.Web, svc *identity.Service, log *slog.Logger) (*oidcop.Provider, error) {
	secret, err := oidcop.NewSecret([]byte(cfg.SecretKey))
	if err != nil {
		return nil, usagef("CIVICO_SECRET_KEY: %v", err)
	}
	store := &oidcop.Storage{DB: d, Keys: &oidcop.Keys{DB: d, Secret: secret}, Clients: &oidcop.Clients{DB: d}, Accounts: svc.Store, Residents: &population.Register{DB: d},
		Audit: auditLog{&audit.Log{DB: d}}, EndSession: svc.Sessions.EndOne}
	prov, err := oidcop.New(oidcop.Config{App: portalApp, ID: id, Storage: store, Issuer: cfg.BaseURL, Secret: secret, Log: log.With("app", "oidc")})
	if err != nil {
		return nil, err
	}
	prov.Routes()
	svc.Sessions.OnEndTx, svc.Sessions.OnEnd = prov.SessionsEndTx, prov.SessionsEnded
	svc.Mergers = append(svc.Mergers, store.MergeAccounts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := cfg.PartecipaBaseURL
	err = store.Clients.Upsert(ctx, oidcop.NewClient{ID: partecipaClientID, Name: "Partecipa", FirstParty: true,
		RedirectURIs: []string{p + "/auth/callback"}, PostLogoutURIs: []string{p + "/"}, BackchannelLogoutURI: p + "/auth/backchannel-logout",
		Scopes: []string{"openid", "profile", oidcop.ScopeResidence}, Secret: derivedSecret(secret, partecipaClientID)})
	if err != nil {
		return nil, err
	}
	return prov, nil
}

// derivedSecret is the client secret of a client civico registers itself:
// derived from the installation secret, so that it needs no storage.
func derivedSecret(s oidcop.Secret, clientID string) string {
	return base64.RawURLEncoding.EncodeToString(s.Derive("client secret "+clientID, 32))
}

func partecipaSecret(p *oidcop.Provider) string {
	return derivedSecret(p.Secret(), partecipaClientID)
}

// origin is the scheme://host[:port] of an address.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// loopback turns a listener's address into one this process can dial: an
// unspecified host (0.0.0.0, ::) becomes 127.0.0.1.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
