package oidcop

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
)

// Scopes of the portal's own APIs, checked on the bearer token's grant.
const (
	// ScopeApplications lets an application read the resident's
	// applications to the town (the Sportello's API, /api/v1/applications).
	ScopeApplications = "applications"
	// ScopePayments lets an application read the resident's debt
	// positions (GET /api/v1/positions).
	ScopePayments = "payments"
	// ScopeBookings lets an application read the resident's appointments
	// (GET /api/v1/bookings).
	ScopeBookings = "bookings"
)

// Has says whether the grant includes scope.
func (g Grant) Has(scope string) bool {
	return slices.Contains(g.Scopes, scope)
}

// Grant is what an access token the provider issued allows.
type Grant struct {
	AccountID, ClientID string
	Scopes              []string
	// Level is the assurance of the login the token was issued after.
	Level assurance.Level
}

// ErrTokenInvalid: the bearer token is unknown, expired, revoked, of a
// disabled client, or not the provider's at all.
var ErrTokenInvalid = problem.New(problem.NotFound, "", errors.New("invalid access token"))

// Bearer checks an access token presented to one of the portal's APIs
// (Authorization: Bearer): the provider sealed the token's id and subject
// into it; the token must still be stored, unexpired, for that subject
// and an enabled client. APIs then check the scope they need.
func (p *Provider) Bearer(ctx context.Context, accessToken string) (Grant, error) {
	if accessToken == "" || len(accessToken) > 512 {
		return Grant{}, ErrTokenInvalid
	}
	plain, err := p.op.Crypto().Decrypt(accessToken)
	if err != nil {
		return Grant{}, ErrTokenInvalid
	}
	id, subject, ok := strings.Cut(plain, ":")
	if !ok || id == "" || subject == "" || !db.IsText(plain) {
		return Grant{}, ErrTokenInvalid
	}
	t, err := p.Storage.token(ctx, id)
	if errors.Is(err, errNotFound) {
		return Grant{}, ErrTokenInvalid
	}
	if err != nil {
		return Grant{}, err
	}
	if t.Subject != subject {
		return Grant{}, ErrTokenInvalid
	}
	level, _ := assurance.OfACR(t.ACR)
	return Grant{AccountID: t.AccountID, ClientID: t.ClientID, Scopes: t.Scopes, Level: level}, nil
}
