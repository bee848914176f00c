package cie

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Statement is an entity statement: an entity configuration (iss = sub,
// signed by the entity itself) or a subordinate statement (signed by the
// superior about its subordinate).
type Statement struct {
	Issuer         string                     `json:"iss"`
	Subject        string                     `json:"sub"`
	IssuedAt       int64                      `json:"iat"`
	Expiry         int64                      `json:"exp"`
	JWKS           jose.JSONWebKeySet         `json:"jwks"`
	AuthorityHints []string                   `json:"authority_hints,omitempty"`
	Metadata       map[string]json.RawMessage `json:"metadata,omitempty"`
	TrustMarks     []json.RawMessage          `json:"trust_marks,omitempty"`
	// MetadataPolicy is a superior's policy over its subordinates'
	// metadata, by entity type.
	MetadataPolicy map[string]json.RawMessage `json:"metadata_policy,omitempty"`

	raw string
}

// statementAlgs are the signature algorithms a statement may carry.
var statementAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS512, jose.PS256, jose.PS512, jose.ES256, jose.ES512}

// MaxStatementSize bounds a statement, a token answer and a userinfo
// fetched.
const MaxStatementSize = 64 << 10

// clockSkew is the tolerance for an iat in the future.
const clockSkew = 2 * time.Minute

// Sign signs claims as a JWT of type typ with key (RS256).
func Sign(key *rsa.PrivateKey, kid, typ string, claims any) (string, error) {
	opts := (&jose.SignerOptions{}).WithHeader("kid", kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// verifyJWT checks raw's signature with the key of keys its kid names and
// returns the payload.
func verifyJWT(raw string, keys jose.JSONWebKeySet, typ string) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(raw, statementAlgs)
	if err != nil {
		return nil, fmt.Errorf("not a signed JWT: %w", err)
	}
	if len(obj.Signatures) != 1 {
		return nil, errors.New("not one signature")
	}
	h := obj.Signatures[0].Protected
	if typ != "" {
		if t, _ := h.ExtraHeaders[jose.HeaderType].(string); t != typ {
			return nil, fmt.Errorf("typ %q, not %q", t, typ)
		}
	}
	if h.KeyID == "" {
		return nil, errors.New("no kid")
	}
	found := keys.Key(h.KeyID)
	if len(found) == 0 {
		return nil, fmt.Errorf("kid %q not among the keys", h.KeyID)
	}
	for _, k := range found {
		if k.Use == UseEnc {
			continue
		}
		if payload, err := obj.Verify(k.Key); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("bad signature")
}

// VerifyStatement checks a statement's signature with keys, its type and
// its times.
func VerifyStatement(raw string, keys jose.JSONWebKeySet, now time.Time) (*Statement, error) {
	payload, err := verifyJWT(raw, keys, typEntityStatementJW)
	if err != nil {
		return nil, err
	}
	var s Statement
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if s.Issuer == "" || s.Subject == "" || s.Expiry == 0 || s.IssuedAt == 0 {
		return nil, errors.New("statement without iss, sub, iat or exp")
	}
	if !now.Before(time.Unix(s.Expiry, 0)) {
		return nil, fmt.Errorf("statement of %s about %s expired at %s", s.Issuer, s.Subject, time.Unix(s.Expiry, 0).UTC().Format(time.RFC3339))
	}
	if time.Unix(s.IssuedAt, 0).After(now.Add(clockSkew)) {
		return nil, fmt.Errorf("statement of %s issued in the future", s.Issuer)
	}
	s.raw = raw
	return &s, nil
}

// unverifiedStatement reads a statement's claims before its signature is
// checked (to find the keys of a self-signed configuration).
func unverifiedStatement(raw string) (*Statement, error) {
	obj, err := jose.ParseSignedCompact(raw, statementAlgs)
	if err != nil {
		return nil, fmt.Errorf("not a signed JWT: %w", err)
	}
	var s Statement
	if err := json.Unmarshal(obj.UnsafePayloadWithoutVerification(), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Provider is what the trust chain says of the OpenID provider.
type Provider struct {
	Issuer                string             `json:"issuer"`
	AuthorizationEndpoint string             `json:"authorization_endpoint"`
	TokenEndpoint         string             `json:"token_endpoint"`
	UserinfoEndpoint      string             `json:"userinfo_endpoint"`
	RevocationEndpoint    string             `json:"revocation_endpoint,omitempty"`
	JWKS                  jose.JSONWebKeySet `json:"jwks"`
	AcrValuesSupported    []string           `json:"acr_values_supported,omitempty"`
	// Expiry is when the chain it was read from expires.
	Expiry time.Time `json:"-"`
}

// Resolver resolves and verifies trust chains to the configured anchor.
type Resolver struct {
	Config *Config
	HTTP   *http.Client
	// MaxDepth bounds the superiors followed (3 when zero).
	MaxDepth int
}

// fetch GETs a statement.
func (r *Resolver) fetch(ctx context.Context, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	res, err := r.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxStatementSize+1))
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: status %d", u, res.StatusCode)
	}
	if len(b) > MaxStatementSize {
		return "", fmt.Errorf("%s: statement too large", u)
	}
	return strings.TrimSpace(string(b)), nil
}

// configuration fetches and checks an entity's configuration: self-signed
// (or, for the trust anchor, signed with the pinned keys), iss = sub = the
// entity.
func (r *Resolver) configuration(ctx context.Context, entity string, now time.Time) (*Statement, error) {
	raw, err := r.fetch(ctx, strings.TrimSuffix(entity, "/")+PathEntityConfiguration)
	if err != nil {
		return nil, err
	}
	keys := r.Config.TrustAnchorJWKS
	if entity != r.Config.TrustAnchor {
		u, err := unverifiedStatement(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", entity, err)
		}
		keys = u.JWKS
	}
	s, err := VerifyStatement(raw, keys, now)
	if err != nil {
		return nil, fmt.Errorf("entity configuration of %s: %w", entity, err)
	}
	if s.Issuer != entity || s.Subject != entity {
		return nil, fmt.Errorf("entity configuration of %s names iss %q sub %q", entity, s.Issuer, s.Subject)
	}
	return s, nil
}

// fetchEndpoint is a superior's federation_fetch_endpoint.
func fetchEndpoint(s *Statement) (string, error) {
	var fe struct {
		Fetch string `json:"federation_fetch_endpoint"`
	}
	if raw, ok := s.Metadata["federation_entity"]; ok {
		_ = json.Unmarshal(raw, &fe)
	}
	if fe.Fetch == "" {
		return "", fmt.Errorf("%s publishes no federation_fetch_endpoint", s.Issuer)
	}
	return fe.Fetch, nil
}

// Chain resolves the trust chain of entity to the trust anchor: the
// entity's configuration, then, for each superior up the authority hints,
// the superior's statement about its subordinate (signed with the
// superior's keys, its jwks verifying the subordinate's configuration),
// until the trust anchor, whose keys are the pinned ones. It returns the
// statements from the leaf up and the earliest expiry.
func (r *Resolver) Chain(ctx context.Context, entity string, now time.Time) ([]*Statement, time.Time, error) {
	depth := r.MaxDepth
	if depth == 0 {
		depth = 3
	}
	leaf, err := r.configuration(ctx, entity, now)
	if err != nil {
		return nil, time.Time{}, err
	}
	chain := []*Statement{leaf}
	exp := time.Unix(leaf.Expiry, 0)
	cur := leaf
	for range depth {
		if len(cur.AuthorityHints) == 0 {
			return nil, time.Time{}, fmt.Errorf("%s has no authority hints and is not the trust anchor", cur.Subject)
		}
		var lastErr error
		var next *Statement
		hints := slices.Clone(cur.AuthorityHints)
		// The anchor first, when it is a direct superior.
		slices.SortStableFunc(hints, func(a, b string) int {
			if a == r.Config.TrustAnchor {
				return -1
			}
			if b == r.Config.TrustAnchor {
				return 1
			}
			return 0
		})
		for _, hint := range hints {
			sup, err := r.configuration(ctx, hint, now)
			if err != nil {
				lastErr = err
				continue
			}
			fe, err := fetchEndpoint(sup)
			if err != nil {
				lastErr = err
				continue
			}
			u, err := url.Parse(fe)
			if err != nil {
				lastErr = err
				continue
			}
			q := u.Query()
			q.Set("sub", cur.Subject)
			u.RawQuery = q.Encode()
			raw, err := r.fetch(ctx, u.String())
			if err != nil {
				lastErr = err
				continue
			}
			sub, err := VerifyStatement(raw, sup.JWKS, now)
			if err != nil {
				lastErr = fmt.Errorf("statement of %s about %s: %w", hint, cur.Subject, err)
				continue
			}
			if sub.Issuer != hint || sub.Subject != cur.Subject {
				lastErr = fmt.Errorf("statement of %s names iss %q sub %q", hint, sub.Issuer, sub.Subject)
				continue
			}
			// The subordinate's configuration must verify with the keys
			// its superior vouches for.
			if _, err := VerifyStatement(cur.raw, sub.JWKS, now); err != nil {
				lastErr = fmt.Errorf("%s's configuration does not verify with the keys %s states: %w", cur.Subject, hint, err)
				continue
			}
			chain = append(chain, sub)
			exp = minTime(exp, time.Unix(sub.Expiry, 0))
			if hint == r.Config.TrustAnchor {
				chain = append(chain, sup)
				return chain, minTime(exp, time.Unix(sup.Expiry, 0)), nil
			}
			exp = minTime(exp, time.Unix(sup.Expiry, 0))
			next = sup
			break
		}
		if next == nil {
			if lastErr == nil {
				lastErr = errors.New("no superior answered")
			}
			return nil, time.Time{}, lastErr
		}
		cur = next
	}
	return nil, time.Time{}, fmt.Errorf("no trust chain from %s to %s within %d superiors", entity, r.Config.TrustAnchor, depth)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Provider resolves the provider's trust chain and reads its
// openid_provider metadata from the verified configuration.
func (r *Resolver) Provider(ctx context.Context, now time.Time) (*Provider, error) {
	chain, exp, err := r.Chain(ctx, r.Config.Provider, now)
	if err != nil {
		return nil, err
	}
	raw, ok := chain[0].Metadata["openid_provider"]
	if !ok {
		return nil, fmt.Errorf("%s has no openid_provider metadata", r.Config.Provider)
	}
	// The superiors' policies: the subordinate statements (every
	// statement but the leaf's configuration and the anchor's), the
	// anchor's last in the list, applied first.
	var policies []json.RawMessage
	for _, s := range chain[1 : len(chain)-1] {
		if p, ok := s.MetadataPolicy["openid_provider"]; ok {
			policies = append(policies, p)
		}
	}
	if len(policies) > 0 {
		if raw, err = applyPolicies(raw, policies); err != nil {
			return nil, err
		}
	}
	var p Provider
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("openid_provider metadata: %w", err)
	}
	if p.Issuer == "" {
		p.Issuer = r.Config.Provider
	}
	if p.Issuer != r.Config.Provider || p.AuthorizationEndpoint == "" || p.TokenEndpoint == "" || p.UserinfoEndpoint == "" || len(p.JWKS.Keys) == 0 {
		return nil, errors.New("openid_provider metadata without issuer, endpoints or jwks")
	}
	p.Expiry = exp
	return &p, nil
}
