package cie

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/civico-pa/civico/internal/assurance"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/town"
)

// RP is the relying party.
type RP struct {
	Config   *Config
	Keys     *Keys
	Resolver *Resolver
	// BaseURL is the portal's address: the relying party's entity id and
	// client_id.
	BaseURL string
	HTTP    *http.Client
	Now     func() time.Time
	// Logo is the portal's own logo's path, the default logo_uri.
	Logo string

	mu       sync.Mutex
	provider *Provider
}

func (rp *RP) now() time.Time {
	if rp.Now != nil {
		return rp.Now().UTC()
	}
	return time.Now().UTC()
}

// EntityID is the relying party's entity id (its client_id).
func (rp *RP) EntityID() string { return strings.TrimSuffix(rp.BaseURL, "/") }

// RedirectURI is where the provider sends the browser back.
func (rp *RP) RedirectURI() string { return rp.EntityID() + PathCallback }

// ConfigurationTTL is how long the entity configuration is valid.
const ConfigurationTTL = 24 * time.Hour

// EntityConfiguration is the relying party's entity configuration, signed
// with its federation key.
func (rp *RP) EntityConfiguration(ctx context.Context, p town.Profile) (string, error) {
	key, err := rp.Keys.Current(ctx, UseFederation)
	if err != nil {
		return "", err
	}
	fed, err := rp.Keys.JWKS(ctx, UseFederation)
	if err != nil {
		return "", err
	}
	oidc, err := rp.Keys.JWKS(ctx, UseSig, UseEnc)
	if err != nil {
		return "", err
	}
	c := rp.Config
	contacts := c.Contacts
	if len(contacts) == 0 && p.PEC != "" {
		contacts = []string{p.PEC}
	}
	home, policy, logo := c.HomepageURI, c.PolicyURI, c.LogoURI
	if home == "" {
		home = rp.EntityID() + "/"
	}
	if policy == "" {
		policy = rp.EntityID() + "/privacy"
	}
	if logo == "" && rp.Logo != "" {
		logo = rp.EntityID() + rp.Logo
	}
	name := "Comune di " + p.Name
	fedEntity := map[string]any{"organization_name": name, "homepage_uri": home, "policy_uri": policy, "contacts": contacts}
	if logo != "" {
		fedEntity["logo_uri"] = logo
	}
	now := rp.now()
	claims := map[string]any{
		"iss": rp.EntityID(), "sub": rp.EntityID(), "iat": now.Unix(), "exp": now.Add(ConfigurationTTL).Unix(),
		"jwks": fed, "authority_hints": c.AuthorityHints,
		"metadata": map[string]any{
			"federation_entity": fedEntity,
			// #nosec G101 -- metadata names (token_endpoint_auth_method) and public keys, no credential
			"openid_relying_party": map[string]any{
				"client_id": rp.EntityID(), "client_name": name, "application_type": "web",
				"client_registration_types": []string{"automatic"}, "redirect_uris": []string{rp.RedirectURI()},
				"response_types": []string{"code"}, "grant_types": []string{"authorization_code"},
				"token_endpoint_auth_method": "private_key_jwt", "jwks": oidc, "contacts": contacts,
				"id_token_signed_response_alg": "RS256", "userinfo_signed_response_alg": "RS256",
				"userinfo_encrypted_response_alg": "RSA-OAEP", "userinfo_encrypted_response_enc": "A256CBC-HS512",
			},
		},
	}
	if len(c.TrustMarks) > 0 {
		claims["trust_marks"] = c.TrustMarks
	}
	return Sign(key.priv, key.ID, typEntityStatementJW, claims)
}

// Provider is the provider's metadata from its verified trust chain,
// kept until the chain expires (at most an hour).
func (rp *RP) Provider(ctx context.Context) (*Provider, error) {
	now := rp.now()
	rp.mu.Lock()
	p := rp.provider
	rp.mu.Unlock()
	if p != nil && now.Before(p.Expiry) {
		return p, nil
	}
	p, err := rp.Resolver.Provider(ctx, now)
	if err != nil {
		return nil, err
	}
	if lim := now.Add(time.Hour); p.Expiry.After(lim) {
		p.Expiry = lim
	}
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

// Challenge is the S256 code challenge of a PKCE verifier.
func Challenge(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// Scopes are what the relying party asks for.
const Scopes = "openid profile"

// AuthorizationURL is where the browser goes to log in: the provider's
// authorization endpoint with a request object signed by the relying
// party, carrying state, nonce, the PKCE challenge and the acr of level.
func (rp *RP) AuthorizationURL(ctx context.Context, p *Provider, state, nonce, verifier string, level assurance.Level) (string, error) {
	key, err := rp.Keys.Current(ctx, UseSig)
	if err != nil {
		return "", err
	}
	now := rp.now()
	claim := map[string]any{"essential": true}
	claims := map[string]any{
		"iss": rp.EntityID(), "sub": rp.EntityID(), "aud": []string{p.Issuer}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": tokens.ID(),
		"client_id": rp.EntityID(), "response_type": "code", "scope": Scopes, "redirect_uri": rp.RedirectURI(),
		"state": state, "nonce": nonce, "code_challenge": Challenge(verifier), "code_challenge_method": "S256",
		"acr_values": AcrOf(level), "prompt": "consent login",
		"claims": map[string]any{
			"id_token": map[string]any{"family_name": claim, "given_name": claim},
			"userinfo": map[string]any{"given_name": claim, "family_name": claim, "birthdate": claim, ClaimFiscalNumber: claim},
		},
	}
	obj, err := Sign(key.priv, key.ID, "", claims)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(p.AuthorizationEndpoint)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, v := range map[string]string{"client_id": rp.EntityID(), "response_type": "code", "scope": Scopes, "redirect_uri": rp.RedirectURI(),
		"code_challenge": Challenge(verifier), "code_challenge_method": "S256", "acr_values": AcrOf(level), "prompt": "consent login", "request": obj} {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Person is what a login proved.
type Person struct {
	FiscalCode, GivenName, FamilyName, BirthDate string
	Level                                        assurance.Level
	Subject                                      string
}

// Refused is an answer civico refused, with the reason kept in the audit
// log.
type Refused struct{ Reason string }

func (e *Refused) Error() string { return "cie: refused: " + e.Reason }

func refused(format string, args ...any) error { return &Refused{Reason: fmt.Sprintf(format, args...)} }

// Pending is what the relying party kept of a login in flight.
type Pending struct {
	Nonce, Verifier string
	Level           assurance.Level
}

// Finish exchanges the code for tokens (private_key_jwt, with the PKCE
// verifier), verifies the ID token, fetches the userinfo (signed and
// encrypted) and returns the person it proves.
func (rp *RP) Finish(ctx context.Context, p *Provider, code string, pend Pending) (*Person, error) {
	tok, err := rp.exchange(ctx, p, code, pend.Verifier)
	if err != nil {
		return nil, err
	}
	now := rp.now()
	idToken := tok.IDToken
	if strings.Count(idToken, ".") == 4 {
		// The CIE may encrypt the ID token to the relying party: a JWE
		// holding the signed token.
		if idToken, err = rp.decrypt(ctx, idToken); err != nil {
			return nil, refused("ID token: %v", err)
		}
	}
	idPayload, err := verifyJWT(idToken, p.JWKS, "")
	if err != nil {
		return nil, refused("ID token: %v", err)
	}
	var id struct {
		Iss, Sub, Nonce, Acr, Azp string
		Aud                       audience
		Exp, Iat                  int64
	}
	if err := json.Unmarshal(idPayload, &id); err != nil {
		return nil, refused("ID token: %v", err)
	}
	switch {
	case id.Iss != p.Issuer:
		return nil, refused("ID token issuer %q", id.Iss)
	case !id.Aud.has(rp.EntityID()):
		return nil, refused("ID token audience %v", []string(id.Aud))
	case (len(id.Aud) > 1 || id.Azp != "") && id.Azp != rp.EntityID():
		// A token for several parties is this one's only if it names this
		// one as the authorized party (OpenID Connect Core 3.1.3.7).
		return nil, refused("ID token authorized party %q", id.Azp)
	case id.Exp == 0 || !now.Before(time.Unix(id.Exp, 0)):
		return nil, refused("ID token expired")
	case time.Unix(id.Iat, 0).After(now.Add(clockSkew)):
		return nil, refused("ID token issued in the future")
	case id.Nonce == "" || id.Nonce != pend.Nonce:
		return nil, refused("ID token nonce is not the request's")
	case id.Sub == "":
		return nil, refused("ID token without sub")
	}
	level, ok := LevelOfAcr(id.Acr)
	if !ok {
		return nil, refused("acr %q is not a CIE level", id.Acr)
	}
	if !level.Satisfies(pend.Level) {
		return nil, &LevelError{Got: level, Want: pend.Level}
	}
	info, err := rp.userinfo(ctx, p, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	var ui map[string]any
	if err := json.Unmarshal(info, &ui); err != nil {
		return nil, refused("userinfo: %v", err)
	}
	str := func(k string) string { s, _ := ui[k].(string); return s }
	var aud audience
	if raw, err := json.Marshal(ui["aud"]); err == nil {
		_ = json.Unmarshal(raw, &aud)
	}
	switch {
	case str("iss") != p.Issuer:
		return nil, refused("userinfo issuer %q", str("iss"))
	case !aud.has(rp.EntityID()):
		return nil, refused("userinfo audience %v", []string(aud))
	case str("sub") != id.Sub:
		return nil, refused("userinfo subject is not the ID token's")
	}
	if exp, ok := ui["exp"].(float64); ok && !now.Before(time.Unix(int64(exp), 0)) {
		return nil, refused("userinfo expired")
	}
	if iat, ok := ui["iat"].(float64); ok && time.Unix(int64(iat), 0).After(now.Add(clockSkew)) {
		return nil, refused("userinfo issued in the future")
	}
	fiscal := strings.ToUpper(strings.TrimSpace(str(ClaimFiscalNumber)))
	if !strings.HasPrefix(fiscal, "TINIT-") {
		return nil, &MissingError{What: "fiscal_number " + fmt.Sprintf("%q", fiscal)}
	}
	person := &Person{FiscalCode: strings.TrimPrefix(fiscal, "TINIT-"), GivenName: str("given_name"), FamilyName: str("family_name"),
		BirthDate: str("birthdate"), Level: level, Subject: id.Sub}
	if person.GivenName == "" || person.FamilyName == "" {
		return nil, &MissingError{What: "given_name/family_name"}
	}
	return person, nil
}

// LevelError: the login's level is below the one asked.
type LevelError struct{ Got, Want assurance.Level }

func (e *LevelError) Error() string { return fmt.Sprintf("cie: level %s, %s asked", e.Got, e.Want) }

// MissingError: the provider left out what proves the person.
type MissingError struct{ What string }

func (e *MissingError) Error() string { return "cie: the provider did not give " + e.What }

// audience is a JWT aud: one string or a list.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

func (a audience) has(s string) bool {
	for _, v := range a {
		if v == s {
			return true
		}
	}
	return false
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	IDToken     string `json:"id_token"`
}

// ClientAssertionType is private_key_jwt's assertion type.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func (rp *RP) exchange(ctx context.Context, p *Provider, code, verifier string) (*tokenAnswer, error) {
	key, err := rp.Keys.Current(ctx, UseSig)
	if err != nil {
		return nil, err
	}
	now := rp.now()
	assertion, err := Sign(key.priv, key.ID, "", map[string]any{"iss": rp.EntityID(), "sub": rp.EntityID(), "aud": []string{p.TokenEndpoint},
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": tokens.ID()})
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rp.RedirectURI()}, "client_id": {rp.EntityID()},
		"client_assertion_type": {ClientAssertionType}, "client_assertion": {assertion}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := rp.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cie: token endpoint: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxStatementSize))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, refused("token endpoint answered %d: %.200s", res.StatusCode, b)
	}
	var t tokenAnswer
	if err := json.Unmarshal(b, &t); err != nil || t.AccessToken == "" || t.IDToken == "" || !strings.EqualFold(t.TokenType, "bearer") {
		return nil, refused("token answer without a bearer access token and an ID token")
	}
	return &t, nil
}

// userinfoKeyAlgs and userinfoEncs are the encryptions the userinfo may
// come in.
var (
	userinfoKeyAlgs = []jose.KeyAlgorithm{jose.RSA_OAEP, jose.RSA_OAEP_256}
	userinfoEncs    = []jose.ContentEncryption{jose.A256CBC_HS512, jose.A128CBC_HS256, jose.A256GCM, jose.A128GCM}
)

// userinfo fetches the userinfo, which must be a JWE (to one of the
// relying party's encryption keys) holding a JWS signed by the provider,
// and returns the verified claims.
func (rp *RP) userinfo(ctx context.Context, p *Provider, access string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.UserinfoEndpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := rp.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cie: userinfo: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxStatementSize))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, refused("userinfo answered %d", res.StatusCode)
	}
	raw := strings.TrimSpace(string(b))
	if strings.Count(raw, ".") != 4 {
		return nil, refused("userinfo is not encrypted (not a JWE)")
	}
	inner, err := rp.decrypt(ctx, raw)
	if err != nil {
		return nil, refused("userinfo: %v", err)
	}
	payload, err := verifyJWT(inner, p.JWKS, "")
	if err != nil {
		return nil, refused("userinfo signature: %v", err)
	}
	return payload, nil
}

// decrypt opens a JWE (compact) encrypted to one of the relying party's
// encryption keys in force and returns what it holds.
func (rp *RP) decrypt(ctx context.Context, raw string) (string, error) {
	jwe, err := jose.ParseEncryptedCompact(raw, userinfoKeyAlgs, userinfoEncs)
	if err != nil {
		return "", err
	}
	priv, err := rp.Keys.decrypter(ctx, jwe.Header.KeyID)
	if err != nil {
		return "", err
	}
	inner, err := jwe.Decrypt(priv)
	if err != nil {
		return "", fmt.Errorf("does not decrypt: %w", err)
	}
	return strings.TrimSpace(string(inner)), nil
}
