package oidcop

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/civico-pa/civico/internal/db"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Scopes a client may be allowed. openid is always allowed; fiscal_code and
// residence only when the client is registered with them.
const (
	ScopeFiscalCode = "fiscal_code"
	ScopeResidence  = "residence"
	// ScopeRoles gives the back-office roles of an operator, to the
	// town's own applications only (a first-party client).
	ScopeRoles = "roles"
	// ScopeDemographics gives sex, age band and district, from proven
	// sources only, to the town's own applications only (a first-party
	// client: Partecipa's breakdowns, kept as aggregate counts).
	ScopeDemographics = "demographics"
)

// KnownScopes are the scopes the provider understands.
var KnownScopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, ScopeFiscalCode, ScopeResidence, ScopeApplications, ScopePayments, ScopeBookings, ScopeRoles, ScopeDemographics}

// Client is an application registered with the provider.
type Client struct {
	ID                   string
	Name                 string
	SecretHash           string
	Public               bool // no secret: PKCE with S256 is required
	FirstParty           bool // the town's own: no consent screen
	Pairwise             bool // a different sub for this client (default)
	Redirects            []string
	PostLogouts          []string
	BackchannelLogoutURI string
	Scopes               []string
	CreatedAt            time.Time
	DisabledAt           *time.Time

	loginURL func(id string) string
}

// Lifetimes of what the provider issues.
const (
	idTokenLifetime     = time.Hour
	accessTokenLifetime = 15 * time.Minute
	authRequestLifetime = 10 * time.Minute
	codeLifetime        = time.Minute
)

// op.Client.
func (c *Client) GetID() string                    { return c.ID }
func (c *Client) RedirectURIs() []string           { return c.Redirects }
func (c *Client) PostLogoutRedirectURIs() []string { return c.PostLogouts }
func (c *Client) ApplicationType() op.ApplicationType {
	if c.Public {
		// Mobile and desktop applications: loopback redirects may change
		// port (RFC 8252, section 7.3); everything else matches exactly.
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}
func (c *Client) AuthMethod() oidc.AuthMethod {
	if c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *Client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *Client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *Client) LoginURL(id string) string    { return c.loginURL(id) }
func (c *Client) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeBearer
}
func (c *Client) IDTokenLifetime() time.Duration { return idTokenLifetime }
func (c *Client) DevMode() bool                  { return false }
func (c *Client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *Client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *Client) IsScopeAllowed(scope string) bool { return slices.Contains(c.Scopes, scope) }

// IDTokenUserinfoClaimsAssertion: the claims of profile, email, fiscal_code
// and residence go into the id_token too, so a relying party needs no
// second request.
func (c *Client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *Client) ClockSkew() time.Duration             { return 0 }

// Clients is the register of applications.
type Clients struct {
	DB  *db.DB
	Now func() time.Time
}

func (s *Clients) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// NewClient is what `civico oidc client add` registers.
type NewClient struct {
	ID                   string // chosen by civico when empty
	Name                 string
	Public               bool
	FirstParty           bool
	PublicSubject        bool
	RedirectURIs         []string
	PostLogoutURIs       []string
	BackchannelLogoutURI string
	Scopes               []string
	// Secret, when not empty, is used instead of a random one (the built-in
	// Partecipa client derives its secret from the installation secret).
	Secret string
}

// ErrClientExists means a client with that id is registered already.
var ErrClientExists = errors.New("a client with this id already exists")

// InvalidClientError is a registration that cannot be accepted as given.
type InvalidClientError struct{ Err error }

func (e *InvalidClientError) Error() string { return e.Err.Error() }

// ErrClientNotFound means no such client.
var ErrClientNotFound = errors.New("no such client")

// checkURI checks a redirect, post-logout or back-channel address: absolute,
// no fragment, https, http on a loopback address (an application on the
// resident's own machine, or a test), or a private-use scheme for apps.
// Codes and logout tokens never travel in clear over a network. anyHTTP
// admits plain http anywhere, for the built-in clients, whose addresses are
// civico's own configuration.
func checkURI(raw string, public, anyHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n#") {
		return fmt.Errorf("%q is not an absolute address without fragment", raw)
	}
	switch u.Scheme {
	case "https", "http":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
		if _, loopback := op.HTTPLoopbackOrLocalhost(raw); u.Scheme == "http" && !loopback && !anyHTTP {
			return fmt.Errorf("%q: plain http only on a loopback address (127.0.0.1, [::1], localhost); use https", raw)
		}
	default:
		if !public || !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: only https, http or (for public clients) a reverse-domain scheme such as it.comune.app:/cb", raw)
		}
	}
	return nil
}

// registered reports whether uri is one of list, the client's redirect or
// post-logout addresses: exactly, or, for a public client, a loopback
// address that differs from a registered one in its port alone. RFC 8252
// (section 7.3) lets a native application listen on whatever port is free;
// nothing else may change: the scheme, the address (127.0.0.1, [::1] and
// localhost are three different registrations, 127.0.0.2 is none of them),
// the path and the query. The library compares only path and query, so a
// registration for http://127.0.0.1/cb admitted https://localhost:1/cb.
func (c *Client) registered(uri string, list []string) bool {
	if slices.Contains(list, uri) {
		return true
	}
	if !c.Public {
		return false
	}
	u, ok := loopbackURL(uri)
	if !ok {
		return false
	}
	for _, r := range list {
		reg, ok := loopbackURL(r)
		if ok && reg.Scheme == u.Scheme && reg.Hostname() == u.Hostname() && reg.EscapedPath() == u.EscapedPath() &&
			reg.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

// loopbackURL parses an http or https address on a loopback address or
// localhost, without credentials, fragment or anything that parses
// loosely.
func loopbackURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Fragment != "" || u.Opaque != "" || strings.ContainsAny(raw, "#\\ \t\r\n") {
		return nil, false
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, false
	}
	_, loopback := op.HTTPLoopbackOrLocalhost(raw)
	return u, loopback
}

func (n *NewClient) check(anyHTTP bool) error {
	if strings.TrimSpace(n.Name) == "" || len(n.Name) > 100 {
		return errors.New("a client needs a name of at most 100 characters")
	}
	if len(n.RedirectURIs) == 0 {
		return errors.New("a client needs at least one redirect URI")
	}
	for _, u := range append(slices.Clone(n.RedirectURIs), n.PostLogoutURIs...) {
		if err := checkURI(u, n.Public, anyHTTP); err != nil {
			return err
		}
	}
	if n.BackchannelLogoutURI != "" {
		if err := checkURI(n.BackchannelLogoutURI, false, anyHTTP); err != nil {
			return err
		}
	}
	for _, sc := range n.Scopes {
		if !slices.Contains(KnownScopes, sc) {
			return fmt.Errorf("unknown scope %q (known: %s)", sc, strings.Join(KnownScopes, " "))
		}
		if (sc == ScopeRoles || sc == ScopeDemographics) && !n.FirstParty {
			return fmt.Errorf("scope %q is only for the town's own (first-party) applications", sc)
		}
	}
	if n.ID != "" && !validClientID(n.ID) {
		return fmt.Errorf("client id %q: use 3-64 letters, digits, '-' or '_'", n.ID)
	}
	return nil
}

func validClientID(id string) bool {
	if len(id) < 3 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Add registers a client and returns it with its secret (empty for public
// clients), which is shown once: only its SHA-256 is kept (the secret is 256
// random bits, so a fast hash is enough).
func (s *Clients) Add(ctx context.Context, n NewClient) (*Client, string, error) {
	if err := n.check(false); err != nil {
		return nil, "", &InvalidClientError{err}
	}
	scopes := n.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	id := n.ID
	if id == "" {
		id = tokens.Secret(16)
	}
	secret, secretHash := "", ""
	if !n.Public {
		secret = n.Secret
		if secret == "" {
			secret = tokens.Secret(32)
		}
		secretHash = tokens.Hash(secret)
	}
	c := &Client{ID: id, Name: strings.TrimSpace(n.Name), SecretHash: secretHash, Public: n.Public, FirstParty: n.FirstParty,
		Pairwise: !n.PublicSubject, Redirects: n.RedirectURIs, PostLogouts: n.PostLogoutURIs,
		BackchannelLogoutURI: n.BackchannelLogoutURI, Scopes: scopes, CreatedAt: s.now()}
	var exists int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM oidc_clients WHERE id = $1`, id).Scan(&exists); err != nil {
		return nil, "", err
	}
	if exists > 0 {
		return nil, "", ErrClientExists
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO oidc_clients (id, name, secret_hash, public, first_party, pairwise, redirect_uris,
		post_logout_uris, backchannel_logout_uri, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.Name, c.SecretHash, c.Public, c.FirstParty, c.Pairwise, jsonList(c.Redirects), jsonList(c.PostLogouts),
		c.BackchannelLogoutURI, jsonList(c.Scopes), c.CreatedAt)
	if err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// Upsert registers or updates a built-in client (Partecipa) at every start,
// so that a change of its public address or of the secret key takes effect.
// A built-in client disabled by an administrator stays disabled. Its
// addresses come from civico's own configuration, so plain http is
// accepted there as it is for the portal (a development set-up).
func (s *Clients) Upsert(ctx context.Context, n NewClient) error {
	if err := n.check(true); err != nil {
		return err
	}
	if n.ID == "" || n.Public || n.Secret == "" {
		return errors.New("a built-in client needs an id and a secret")
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO oidc_clients (id, name, secret_hash, public, first_party, pairwise, redirect_uris,
		post_logout_uris, backchannel_logout_uri, scopes, created_at) VALUES ($1, $2, $3, FALSE, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash, first_party = excluded.first_party,
		pairwise = excluded.pairwise, redirect_uris = excluded.redirect_uris, post_logout_uris = excluded.post_logout_uris,
		backchannel_logout_uri = excluded.backchannel_logout_uri, scopes = excluded.scopes`,
		n.ID, strings.TrimSpace(n.Name), tokens.Hash(n.Secret), n.FirstParty, !n.PublicSubject, jsonList(n.RedirectURIs),
		jsonList(n.PostLogoutURIs), n.BackchannelLogoutURI, jsonList(n.Scopes), s.now())
	return err
}

const clientColumns = `id, name, secret_hash, public, first_party, pairwise, redirect_uris, post_logout_uris, backchannel_logout_uri, scopes, created_at, disabled_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanClient(r rowScanner) (*Client, error) {
	var c Client
	var redirects, postLogout, scopes string
	var disabled sql.NullTime
	if err := r.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Public, &c.FirstParty, &c.Pairwise, &redirects, &postLogout,
		&c.BackchannelLogoutURI, &scopes, &c.CreatedAt, &disabled); err != nil {
		return nil, err
	}
	if disabled.Valid {
		t := disabled.Time
		c.DisabledAt = &t
	}
	for _, f := range []struct {
		raw string
		dst *[]string
	}{{redirects, &c.Redirects}, {postLogout, &c.PostLogouts}, {scopes, &c.Scopes}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// Get returns a client, disabled or not.
func (s *Clients) Get(ctx context.Context, id string) (*Client, error) {
	if !db.IsText(id) {
		return nil, ErrClientNotFound // no client's id; PostgreSQL would refuse it
	}
	c, err := scanClient(s.DB.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM oidc_clients WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrClientNotFound
	}
	return c, err
}

// List returns every client, by name.
func (s *Clients) List(ctx context.Context) ([]*Client, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+clientColumns+` FROM oidc_clients ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SetDisabled disables (or enables again) a client. A disabled client can
// neither start a login nor exchange a code, and its access tokens stop
// working at once.
func (s *Clients) SetDisabled(ctx context.Context, id string, disabled bool) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var at any
		if disabled {
			at = s.now()
		}
		res, err := tx.ExecContext(ctx, `UPDATE oidc_clients SET disabled_at = $1 WHERE id = $2`, at, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrClientNotFound
		}
		if disabled {
			_, err = tx.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE client_id = $1`, id)
		}
		return err
	})
}

// checkSecret compares a presented secret with the stored hash in constant
// time.
func (c *Client) checkSecret(secret string) bool {
	if c.Public || c.SecretHash == "" || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tokens.Hash(secret)), []byte(c.SecretHash)) == 1
}
