package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cf"
)

// ProviderTTL is how long the provider's discovery document is kept.
const ProviderTTL = time.Hour

// RP is civico as the upstream provider's client.
type RP struct {
	Config *Config
	// Keys is the client key of private_key_jwt.
	Keys *Keys
	// BaseURL is the portal's address (the redirect URI's).
	BaseURL string
	// HTTP talks to the provider; whatever its own redirect policy, the
	// relying party follows no redirect (client).
	HTTP *http.Client
	Now  func() time.Time

	mu       sync.Mutex
	provider *Provider
}

// ErrRedirect is a provider's endpoint answering with a redirect.
var ErrRedirect = errors.New("upstream: the provider answered with a redirect, which the relying party does not follow")

// client is rp.HTTP refusing every redirect: discovery, keys, token and
// userinfo must answer at the address the provider published, over TLS. A
// redirect to plain http would let someone on the path serve another
// discovery document, with their own keys, or read the code, the PKCE
// verifier and the client secret (outside review M1).
func (rp *RP) client() *http.Client {
	c := http.DefaultClient
	if rp.HTTP != nil {
		c = rp.HTTP
	}
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return ErrRedirect }
	return &cp
}

// Provider is the upstream provider's metadata, from its discovery
// document.
type Provider struct {
	*oidc.Provider
	Issuer string
	// EndSession is the RP-initiated logout endpoint ("" without one).
	EndSession string
	// IssParameter: the provider says its answers carry iss (RFC 9207).
	IssParameter bool
	// AuthMethods are the token endpoint's client authentications.
	AuthMethods []string
	verifier    *oidc.IDTokenVerifier
	fetched     time.Time
}

func (rp *RP) now() time.Time {
	if rp.Now != nil {
		return rp.Now().UTC()
	}
	return time.Now().UTC()
}

// RedirectURI is where the provider sends the browser back.
func (rp *RP) RedirectURI() string { return strings.TrimSuffix(rp.BaseURL, "/") + PathCallback }

// Provider is the provider's metadata, fetched at most every ProviderTTL.
func (rp *RP) Provider(ctx context.Context) (*Provider, error) {
	now := rp.now()
	rp.mu.Lock()
	p := rp.provider
	rp.mu.Unlock()
	if p != nil && now.Sub(p.fetched) < ProviderTTL {
		return p, nil
	}
	ctx = oidc.ClientContext(ctx, rp.client())
	op, err := oidc.NewProvider(ctx, rp.Config.Issuer)
	if err != nil {
		return nil, &Unreachable{Err: err}
	}
	var md struct {
		JWKS         string   `json:"jwks_uri"`
		EndSession   string   `json:"end_session_endpoint"`
		IssParameter bool     `json:"authorization_response_iss_parameter_supported"`
		AuthMethods  []string `json:"token_endpoint_auth_methods_supported"`
		Challenges   []string `json:"code_challenge_methods_supported"`
	}
	if err := op.Claims(&md); err != nil {
		return nil, &Unreachable{Err: err}
	}
	// Every endpoint the browser or civico is sent to is https (loopback
	// http in tests), so a discovery document cannot lead anywhere else.
	ep := op.Endpoint()
	for name, u := range map[string]string{"authorization_endpoint": ep.AuthURL, "token_endpoint": ep.TokenURL, "jwks_uri": md.JWKS} {
		if err := rp.Config.checkURL(u); err != nil {
			return nil, &Unreachable{Err: fmt.Errorf("discovery: %s: %w", name, err)}
		}
	}
	for name, u := range map[string]string{"userinfo_endpoint": op.UserInfoEndpoint(), "end_session_endpoint": md.EndSession} {
		if u == "" {
			continue
		}
		if err := rp.Config.checkURL(strings.SplitN(u, "?", 2)[0]); err != nil {
			return nil, &Unreachable{Err: fmt.Errorf("discovery: %s: %w", name, err)}
		}
	}
	if len(md.Challenges) > 0 && !slices.Contains(md.Challenges, "S256") {
		return nil, &Unreachable{Err: errors.New("discovery: the provider does not take PKCE S256")}
	}
	p = &Provider{Provider: op, Issuer: rp.Config.Issuer, EndSession: md.EndSession, IssParameter: md.IssParameter, AuthMethods: md.AuthMethods, fetched: now,
		verifier: op.VerifierContext(oidc.ClientContext(context.WithoutCancel(ctx), rp.client()), &oidc.Config{ClientID: rp.Config.ClientID, Now: rp.now})}
	rp.mu.Lock()
	rp.provider = p
	rp.mu.Unlock()
	return p, nil
}

// Forget drops the provider's cached metadata.
func (rp *RP) Forget() {
	rp.mu.Lock()
	rp.provider = nil
	rp.mu.Unlock()
}

func (rp *RP) oauth(p *Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if len(p.AuthMethods) > 0 && !slices.Contains(p.AuthMethods, "client_secret_basic") && slices.Contains(p.AuthMethods, "client_secret_post") {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: rp.Config.ClientID, ClientSecret: rp.Config.ClientSecret, Endpoint: ep, RedirectURL: rp.RedirectURI(), Scopes: rp.Config.Scopes}
}

// Challenge is the S256 code challenge of a PKCE verifier.
func Challenge(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// AuthorizationURL is where the browser goes to log in: state, nonce,
// the PKCE challenge and the level's acr_values.
func (rp *RP) AuthorizationURL(p *Provider, state, nonce, verifier string, level assurance.Level) string {
	return rp.oauth(p).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce),
		oauth2.SetAuthURLParam("acr_values", rp.Config.AcrOf(level)), oauth2.SetAuthURLParam("prompt", "login"))
}

// Pending is what civico kept of a login in flight.
type Pending struct {
	Nonce, Verifier string
	Level           assurance.Level
}

// Person is what a login proved.
type Person struct {
	FiscalCode, GivenName, FamilyName, BirthDate string
	Level                                        assurance.Level
	// Acr as the provider answered; Method the way the proxy logged the
	// person in, when it says.
	Acr, Method string
	Subject     string
	// IDToken is the raw ID token, the id_token_hint of the logout.
	IDToken string
}

// Refused is an answer civico refused, with the reason kept in the audit
// log.
type Refused struct{ Reason string }

func (e *Refused) Error() string { return "upstream: refused: " + e.Reason }

func refused(format string, args ...any) error { return &Refused{Reason: fmt.Sprintf(format, args...)} }

// Unreachable: the provider could not be reached or answered nonsense.
type Unreachable struct{ Err error }

func (e *Unreachable) Error() string { return "upstream: provider unreachable: " + e.Err.Error() }
func (e *Unreachable) Unwrap() error { return e.Err }

// LevelError: the login's level is below the one asked.
type LevelError struct{ Got, Want assurance.Level }

func (e *LevelError) Error() string {
	return fmt.Sprintf("upstream: level %s, %s asked", e.Got, e.Want)
}

// MissingError: the provider left out, or gave wrong, what proves the
// person.
type MissingError struct{ What string }

func (e *MissingError) Error() string { return "upstream: the provider did not give " + e.What }

// Finish exchanges the code (with the PKCE verifier), verifies the ID
// token and returns the person it proves, completed from the userinfo
// when the ID token leaves attributes out.
func (rp *RP) Finish(ctx context.Context, p *Provider, code string, pend Pending) (*Person, error) {
	ctx = oidc.ClientContext(ctx, rp.client())
	ctx = context.WithValue(ctx, oauth2.HTTPClient, rp.client())
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(pend.Verifier)}
	conf := rp.oauth(p)
	if rp.Config.ClientAuth == AuthPrivateKeyJWT {
		a, err := rp.Keys.Assertion(ctx, rp.Config.ClientID, conf.Endpoint.TokenURL, rp.now())
		if err != nil {
			return nil, err
		}
		conf.ClientSecret, conf.Endpoint.AuthStyle = "", oauth2.AuthStyleInParams
		opts = append(opts, oauth2.SetAuthURLParam("client_assertion_type", ClientAssertionType), oauth2.SetAuthURLParam("client_assertion", a))
	}
	tok, err := conf.Exchange(ctx, code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
			return nil, refused("token endpoint answered %d: %s", re.Response.StatusCode, re.ErrorCode)
		}
		return nil, &Unreachable{Err: err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, refused("token answer without an ID token")
	}
	id, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, refused("ID token: %v", err)
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return nil, refused("ID token: %v", err)
	}
	azp, _ := claims["azp"].(string)
	switch {
	case (len(id.Audience) > 1 || azp != "") && azp != rp.Config.ClientID:
		// A token for several parties is this one's only if it names this
		// one as the authorized party (OpenID Connect Core 3.1.3.7).
		return nil, refused("ID token authorized party %q", azp)
	case id.IssuedAt.After(rp.now().Add(2 * time.Minute)):
		return nil, refused("ID token issued in the future")
	case id.Nonce == "" || id.Nonce != pend.Nonce:
		return nil, refused("ID token nonce is not the request's")
	case id.Subject == "":
		return nil, refused("ID token without sub")
	}
	if id.AccessTokenHash != "" {
		if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, refused("ID token at_hash: %v", err)
		}
	}
	acr, _ := claims["acr"].(string)
	level, ok := rp.Config.LevelOf(acr)
	if !ok {
		return nil, refused("acr %q is not a configured level", acr)
	}
	if !level.Satisfies(pend.Level) {
		return nil, &LevelError{Got: level, Want: pend.Level}
	}
	c := rp.Config.Claims
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return strings.TrimSpace(s) }
	missing := str(claims, c.FiscalNumber) == "" || str(claims, c.GivenName) == "" || str(claims, c.FamilyName) == ""
	if missing && p.UserInfoEndpoint() != "" && tok.AccessToken != "" {
		// The attributes in the userinfo: the same subject's, from the
		// provider's TLS endpoint with the access token.
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, refused("userinfo: %v", err)
		}
		if ui.Subject != id.Subject {
			return nil, refused("userinfo subject is not the ID token's")
		}
		var more map[string]any
		if err := ui.Claims(&more); err != nil {
			return nil, refused("userinfo: %v", err)
		}
		for _, k := range []string{c.FiscalNumber, c.GivenName, c.FamilyName, c.BirthDate, c.Method} {
			if _, ok := claims[k]; !ok && k != "" {
				claims[k] = more[k]
			}
		}
	}
	// The code as asserted: TINIT- exactly as SPID and CIE write it (or
	// none, as some proxies pass it on), and nothing but ASCII, so that
	// no Unicode case mapping (dotless ı, long ſ) turns one string into
	// another person's code; cf.Parse does the rest (outside review L2).
	fiscal := strings.TrimPrefix(str(claims, c.FiscalNumber), "TINIT-")
	if fiscal == "" {
		return nil, &MissingError{What: "the fiscal number"}
	}
	for i := range len(fiscal) {
		if fiscal[i] >= utf8.RuneSelf {
			return nil, &MissingError{What: "a fiscal number in ASCII"}
		}
	}
	parsed, err := cf.Parse(fiscal)
	if err != nil {
		return nil, &MissingError{What: fmt.Sprintf("a valid fiscal number (%v)", err)}
	}
	fiscal = string(parsed)
	person := &Person{FiscalCode: fiscal, GivenName: str(claims, c.GivenName), FamilyName: str(claims, c.FamilyName), BirthDate: str(claims, c.BirthDate),
		Level: level, Acr: acr, Subject: id.Subject, IDToken: raw}
	if c.Method != "" {
		person.Method = str(claims, c.Method)
	}
	if person.GivenName == "" || person.FamilyName == "" {
		return nil, &MissingError{What: "given_name/family_name"}
	}
	return person, nil
}

// LogoutURL is the provider's RP-initiated logout for a session its ID
// token opened ("" when the provider has none).
func (rp *RP) LogoutURL(p *Provider, idToken string) string {
	if p.EndSession == "" {
		return ""
	}
	u, err := url.Parse(p.EndSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("client_id", rp.Config.ClientID)
	q.Set("post_logout_redirect_uri", strings.TrimSuffix(rp.BaseURL, "/")+"/")
	u.RawQuery = q.Encode()
	return u.String()
}
