// Package cie is civico's relying party of the CIE ID OpenID Connect
// federation (the Ministry of the Interior's identity provider for the
// electronic identity card, OpenID Connect Core with the iGov profile and
// OpenID Federation 1.0, automatic registration):
//
//   - the relying party's entity configuration, a JWT it signs with its
//     federation key, at /.well-known/openid-federation;
//   - the provider's trust chain, resolved from the provider's entity
//     configuration up through its authority hints to the configured trust
//     anchor, whose keys are pinned in the configuration: every statement's
//     signature and expiry checked, and the provider's metadata read from
//     the verified chain;
//   - the authorization request as a signed request object with PKCE
//     (S256), state and nonce; the token request authenticated by
//     private_key_jwt; the ID token verified; the userinfo, a JWT signed by
//     the provider and encrypted to the relying party, decrypted and
//     verified;
//   - the fiscal number claim (TINIT- stripped) and the names and birth
//     date proving the person (identity.SourceCIE) at the level the acr
//     gives (SpidL1 low, SpidL2 substantial, SpidL3 high).
//
// The relying party's keys are sealed in the database (package sealed) and
// rotated with `civico cie rotate-keys`.
package cie

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/civico-pa/civico/internal/assurance"
)

// Where civico serves the relying party.
const (
	PathEntityConfiguration = "/.well-known/openid-federation"
	PathLogin               = "/cie/accedi"
	PathCallback            = "/cie/callback"
)

// ClaimFiscalNumber is the fiscal number's claim (TINIT-<code>).
const ClaimFiscalNumber = "https://attributes.eid.gov.it/fiscal_number"

// The media types of federation statements and of a JWT answer.
const (
	TypeEntityStatement  = "application/entity-statement+jwt"
	typEntityStatementJW = "entity-statement+jwt"
)

// The acr values the CIE provider speaks (SPID's level names).
const (
	AcrL1 = "https://www.spid.gov.it/SpidL1"
	AcrL2 = "https://www.spid.gov.it/SpidL2"
	AcrL3 = "https://www.spid.gov.it/SpidL3"
)

// AcrOf is the acr value asking for an assurance level.
func AcrOf(l assurance.Level) string {
	switch l {
	case assurance.High:
		return AcrL3
	case assurance.Substantial:
		return AcrL2
	}
	return AcrL1
}

// LevelOfAcr is the assurance level an acr value proves; any other value
// is refused.
func LevelOfAcr(acr string) (assurance.Level, bool) {
	switch acr {
	case AcrL1:
		return assurance.Low, true
	case AcrL2:
		return assurance.Substantial, true
	case AcrL3:
		return assurance.High, true
	}
	return "", false
}

// Config is the federation as the town configures it: which trust anchor
// it trusts (its entity id and its public keys, pinned here: the chain is
// verified against these, never against keys fetched from the network),
// which provider it logs in with, and what the relying party's entity
// configuration says of it. Read from the JSON file named by
// CIVICO_CIE_OIDC_CONFIG.
type Config struct {
	// TrustAnchor is the trust anchor's entity id; TrustAnchorJWKS its
	// federation keys, as the federation's operator publishes them.
	TrustAnchor     string             `json:"trust_anchor"`
	TrustAnchorJWKS jose.JSONWebKeySet `json:"trust_anchor_jwks"`
	// Provider is the CIE OpenID provider's entity id.
	Provider string `json:"provider"`
	// AuthorityHints are the relying party's superiors (the trust anchor,
	// or the aggregator that registered it).
	AuthorityHints []string `json:"authority_hints"`
	// TrustMarks are the trust marks the federation issued to the relying
	// party, as issued (each an object with id and trust_mark).
	TrustMarks []json.RawMessage `json:"trust_marks,omitempty"`
	// Contacts are the relying party's contacts (the town's PEC first);
	// the town profile's PEC when empty.
	Contacts []string `json:"contacts,omitempty"`
	// HomepageURI, PolicyURI and LogoURI describe the organization
	// (federation_entity); the portal's home, privacy page and logo when
	// empty.
	HomepageURI string `json:"homepage_uri,omitempty"`
	PolicyURI   string `json:"policy_uri,omitempty"`
	LogoURI     string `json:"logo_uri,omitempty"`
	// Insecure admits http:// entity ids (tests only: never in a file).
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
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Check reports what is missing or wrong in a configuration.
func (c *Config) Check() error {
	var errs []error
	for name, v := range map[string]string{"trust_anchor": c.TrustAnchor, "provider": c.Provider} {
		if err := c.checkEntity(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(c.TrustAnchorJWKS.Keys) == 0 {
		errs = append(errs, errors.New("trust_anchor_jwks: the trust anchor's public keys are required"))
	}
	for _, k := range c.TrustAnchorJWKS.Keys {
		if !k.IsPublic() || k.KeyID == "" {
			errs = append(errs, errors.New("trust_anchor_jwks: every key must be public and have a kid"))
			break
		}
	}
	if len(c.AuthorityHints) == 0 {
		errs = append(errs, errors.New("authority_hints: at least one superior is required"))
	}
	for _, h := range c.AuthorityHints {
		if err := c.checkEntity(h); err != nil {
			errs = append(errs, fmt.Errorf("authority_hints: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) checkEntity(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an entity id (an https URL)", v)
	}
	if u.Scheme != "https" && !(c.Insecure && u.Scheme == "http") {
		return fmt.Errorf("%q is not https", v)
	}
	return nil
}
