// Package upstream is proxy mode: a town that already uses a regional or
// vendor SPID/CIE proxy (an OpenID Connect provider that logs people in
// with SPID or the CIE and hands their attributes on) configures it as an
// upstream provider, and civico logs people in through it as an OpenID
// Connect client:
//
//   - the provider's metadata from its discovery document (go-oidc), whose
//     issuer must be the configured one;
//   - the authorization code flow with PKCE (S256), state and nonce, the
//     login kept server side (only the state's hash) and tied to the
//     browser that started it by a cookie;
//   - the ID token verified against the provider's keys (issuer, audience,
//     authorized party, expiry, nonce), its acr mapped to an assurance
//     level that must meet the one asked;
//   - the fiscal number (TINIT- stripped, checksum verified), names and
//     birth date from the ID token or the userinfo, proving the person
//     (identity.SourceUpstream) through identity's proven-login rule;
//   - logout continued at the provider's end_session_endpoint when it
//     has one.
package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
)

// Where civico serves the upstream login.
const (
	PathLogin    = "/accedi/upstream"
	PathCallback = "/upstream/callback"
	PathJWKS     = "/upstream/jwks"
)

// The client authentications civico offers.
const (
	AuthClientSecret  = "client_secret"
	AuthPrivateKeyJWT = "private_key_jwt"
)

// ClaimFiscalNumber is the fiscal number's claim in SPID's and the CIE's
// OpenID Connect profiles (TINIT-<code>).
const ClaimFiscalNumber = "https://attributes.eid.gov.it/fiscal_number"

// The acr values of SPID's (and the CIE's) levels and of eIDAS.
const (
	AcrSpidL1           = "https://www.spid.gov.it/SpidL1"
	AcrSpidL2           = "https://www.spid.gov.it/SpidL2"
	AcrSpidL3           = "https://www.spid.gov.it/SpidL3"
	AcrEidasLow         = "http://eidas.europa.eu/LoA/low"
	AcrEidasSubstantial = "http://eidas.europa.eu/LoA/substantial"
	AcrEidasHigh        = "http://eidas.europa.eu/LoA/high"
)

// DefaultLevels maps the acr values a proxy answers with to assurance
// levels, when the configuration names none.
var DefaultLevels = map[string]assurance.Level{
	AcrSpidL1: assurance.Low, AcrSpidL2: assurance.Substantial, AcrSpidL3: assurance.High,
	AcrEidasLow: assurance.Low, AcrEidasSubstantial: assurance.Substantial, AcrEidasHigh: assurance.High,
}

// DefaultAcrValues is the acr_values sent to ask for each level.
var DefaultAcrValues = map[assurance.Level]string{assurance.Low: AcrSpidL1, assurance.Substantial: AcrSpidL2, assurance.High: AcrSpidL3}

// Claims names the claims the provider gives the person's attributes in.
type Claims struct {
	FiscalNumber string `json:"fiscal_number,omitempty"`
	GivenName    string `json:"given_name,omitempty"`
	FamilyName   string `json:"family_name,omitempty"`
	BirthDate    string `json:"birthdate,omitempty"`
	// Method, when set, is a claim telling which way the proxy logged the
	// person in (spid, cie): kept in the audit log.
	Method string `json:"method,omitempty"`
}

// Config is the upstream provider as the town configures it, read from
// the JSON file CIVICO_UPSTREAM_OIDC_CONFIG names.
type Config struct {
	// Issuer is the provider's issuer (https); its discovery document is
	// at Issuer/.well-known/openid-configuration.
	Issuer string `json:"issuer"`
	// ClientID and ClientSecret are what the provider registered civico
	// as (client_secret_basic or _post, as the provider's metadata says).
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientAuth is how civico authenticates at the token endpoint:
	// "client_secret" (basic, or post when the provider takes only that;
	// the default) or "private_key_jwt" (a key civico makes, sealed in
	// the database, published at /upstream/jwks).
	ClientAuth string `json:"client_auth,omitempty"`
	// ButtonLabel is the button's label as the proxy's rules want it
	// ("Entra con SPID o CIE"); a translated default when empty.
	ButtonLabel string `json:"button_label,omitempty"`
	// Scopes asked (openid is always asked); "openid profile" when empty.
	Scopes []string `json:"scopes,omitempty"`
	// Claims names the attributes' claims; the defaults are SPID's and
	// the CIE's names.
	Claims Claims `json:"claims"`
	// Levels maps the acr values the provider answers with to levels
	// (low, substantial, high); DefaultLevels when empty. An acr not
	// listed is refused.
	Levels map[string]assurance.Level `json:"acr_levels,omitempty"`
	// AcrValues is the acr_values sent to ask for each level;
	// DefaultAcrValues when empty.
	AcrValues map[assurance.Level]string `json:"acr_values,omitempty"`
	// Insecure admits an http:// issuer on a loopback address (tests
	// only: never in a file).
	Insecure bool `json:"-"`
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- the file the operator names
	if err != nil {
		return nil, err
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: something follows the configuration's JSON object", path)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Check fills the defaults and reports what is missing or wrong.
func (c *Config) Check() error {
	var errs []error
	if err := c.checkURL(c.Issuer); err != nil {
		errs = append(errs, fmt.Errorf("issuer: %w", err))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("client_id: required"))
	}
	switch c.ClientAuth {
	case "", AuthClientSecret:
		c.ClientAuth = AuthClientSecret
		if c.ClientSecret == "" {
			errs = append(errs, errors.New("client_secret: required with client_auth client_secret"))
		}
	case AuthPrivateKeyJWT:
		if c.ClientSecret != "" {
			errs = append(errs, errors.New("client_secret: not used with private_key_jwt: remove it"))
		}
	default:
		errs = append(errs, fmt.Errorf("client_auth: %q is not client_secret or private_key_jwt", c.ClientAuth))
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{"openid", "profile"}
	}
	if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	cl := &c.Claims
	for _, d := range []struct {
		p   *string
		def string
	}{{&cl.FiscalNumber, ClaimFiscalNumber}, {&cl.GivenName, "given_name"}, {&cl.FamilyName, "family_name"}, {&cl.BirthDate, "birthdate"}} {
		if *d.p == "" {
			*d.p = d.def
		}
	}
	if len(c.Levels) == 0 {
		c.Levels = DefaultLevels
	}
	for acr, l := range c.Levels {
		if !l.Valid() || acr == "" {
			errs = append(errs, fmt.Errorf("acr_levels: %q: %q is not low, substantial or high", acr, l))
		}
	}
	if len(c.AcrValues) == 0 {
		c.AcrValues = DefaultAcrValues
	}
	for _, l := range []assurance.Level{assurance.Low, assurance.Substantial, assurance.High} {
		acr, ok := c.AcrValues[l]
		if !ok {
			errs = append(errs, fmt.Errorf("acr_values: no acr for %s", l))
			continue
		}
		if got, ok := c.Levels[acr]; !ok || !got.Satisfies(l) {
			errs = append(errs, fmt.Errorf("acr_values: %q asked for %s is not an acr_levels value of that level", acr, l))
		}
	}
	for l := range c.AcrValues {
		if !l.Valid() {
			errs = append(errs, fmt.Errorf("acr_values: %q is not low, substantial or high", l))
		}
	}
	return errors.Join(errs...)
}

// checkURL admits https URLs, and http ones on a loopback address when
// Insecure (tests).
func (c *Config) checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an https URL", v)
	}
	if u.Scheme == "https" {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); c.Insecure && u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	return fmt.Errorf("%q is not https", v)
}

// AcrOf is the acr_values asking for a level.
func (c *Config) AcrOf(l assurance.Level) string { return c.AcrValues[l] }

// LevelOf is the level an acr proves; an acr not configured is refused.
func (c *Config) LevelOf(acr string) (assurance.Level, bool) {
	l, ok := c.Levels[acr]
	return l, ok
}
