// Package cietest is a CIE ID OpenID Connect federation that runs inside
// go test: a trust anchor, an intermediate (an aggregator) and the CIE
// OpenID provider, each an httptest TLS server with go-jose keys, and
// switches that break one check at a time. The provider logs in the
// Person set on it at once (no pages): the browser's trip to it is one
// redirect back to the relying party.
package cietest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/civico-pa/civico/internal/cie"
)

// Entity is one member of the federation with its federation key.
type Entity struct {
	ID     string
	Server *httptest.Server
	key    *rsa.PrivateKey
	kid    string
	// Hints are its authority hints.
	Hints []string
	// subs are the keys of its subordinates (an authority's).
	subs map[string]jose.JSONWebKeySet
	// Metadata is its metadata (federation_entity added for an
	// authority).
	Metadata map[string]any
	// Breaks of the statements it issues about its subordinates.
	ExpiredStatements bool
	ForeignSignature  bool
	// ExpiredConfiguration: its own entity configuration is expired.
	ExpiredConfiguration bool
	// Policy is the metadata_policy of its statements about its
	// subordinates.
	Policy map[string]any

	mu *sync.Mutex
}

// JWKS is the entity's public federation keys.
func (e *Entity) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &e.key.PublicKey, KeyID: e.kid, Algorithm: "RS256", Use: "sig"}}}
}

func newKey() (*rsa.PrivateKey, string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return k, hex.EncodeToString(b)
}

func newEntity(mux *http.ServeMux, mu *sync.Mutex) *Entity {
	e := &Entity{subs: map[string]jose.JSONWebKeySet{}, Metadata: map[string]any{}, mu: mu}
	e.key, e.kid = newKey()
	e.Server = httptest.NewTLSServer(mux)
	e.ID = e.Server.URL
	mux.HandleFunc("GET "+cie.PathEntityConfiguration, func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		now := time.Now()
		exp := now.Add(time.Hour)
		if e.ExpiredConfiguration {
			exp = now.Add(-time.Minute)
		}
		md := e.Metadata
		if len(e.subs) > 0 {
			md = map[string]any{}
			for k, v := range e.Metadata {
				md[k] = v
			}
			md["federation_entity"] = map[string]any{"federation_fetch_endpoint": e.ID + "/fetch", "organization_name": "Federazione di prova"}
		}
		claims := map[string]any{"iss": e.ID, "sub": e.ID, "iat": now.Unix(), "exp": exp.Unix(), "jwks": e.JWKS(), "metadata": md}
		if len(e.Hints) > 0 {
			claims["authority_hints"] = e.Hints
		}
		e.serve(w, e.key, claims)
	})
	mux.HandleFunc("GET /fetch", func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		sub := r.URL.Query().Get("sub")
		keys, ok := e.subs[sub]
		if !ok {
			http.Error(w, `{"error":"not_found"}`, http.StatusNotFound)
			return
		}
		now := time.Now()
		exp := now.Add(time.Hour)
		if e.ExpiredStatements {
			exp = now.Add(-time.Minute)
		}
		key := e.key
		if e.ForeignSignature {
			// Signed by a key that is not the authority's, under its kid.
			key, _ = newKey()
		}
		claims := map[string]any{"iss": e.ID, "sub": sub, "iat": now.Unix(), "exp": exp.Unix(), "jwks": keys}
		if e.Policy != nil {
			claims["metadata_policy"] = e.Policy
		}
		e.serve(w, key, claims)
	})
	return e
}

func (e *Entity) serve(w http.ResponseWriter, key *rsa.PrivateKey, claims any) {
	jwt, err := cie.Sign(key, e.kid, "entity-statement+jwt", claims)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", cie.TypeEntityStatement)
	_, _ = io.WriteString(w, jwt)
}

// Person is who the provider logs in.
type Person struct {
	FiscalNumber, GivenName, FamilyName, BirthDate string
}

// Federation is the trust anchor, the intermediate and the provider.
type Federation struct {
	TA, Intermediate, OP *Entity
	// Client trusts the federation's servers (and reaches plain http).
	Client *http.Client

	opKey *rsa.PrivateKey
	opKid string

	// mu guards the switches, of the provider and of the entities.
	mu sync.Mutex
	// Person is who logs in next.
	Person Person
	// Breaks of the provider, one at a time.
	ACR             string // the acr it answers (SpidL3 when empty)
	WrongAudience   bool   // the ID token's aud is another client
	WrongNonce      bool   // the ID token's nonce is another
	PlainUserinfo   bool   // the userinfo only signed, not encrypted
	ForgetChallenge bool   // the PKCE challenge is lost: the verifier no longer matches
	Deny            bool   // the person refuses (access_denied)
	UserinfoKey     bool   // the userinfo signed with a key not the provider's
	EncryptIDToken  bool   // the ID token encrypted to the relying party (as the CIE may)
	WrongIssuer     bool   // the callback names another issuer (iss)
	SharedAudience  bool   // the ID token is also for another party, which it names as azp
	StaleUserinfo   bool   // the userinfo expired before it is read
	codes           map[string]*grant
	access          map[string]*grant
	// Requests are the request objects' claims received.
	Requests []map[string]any
}

type grant struct {
	client, redirect, nonce, challenge, acr, sub string
	used                                         bool
	person                                       Person
}

// New starts a federation: the provider under the intermediate, under the
// trust anchor.
func New() *Federation {
	f := &Federation{codes: map[string]*grant{}, access: map[string]*grant{}}
	f.TA = newEntity(http.NewServeMux(), &f.mu)
	f.Intermediate = newEntity(http.NewServeMux(), &f.mu)
	opMux := http.NewServeMux()
	f.OP = newEntity(opMux, &f.mu)
	f.opKey, f.opKid = newKey()
	f.Client = f.TA.Server.Client()
	f.Client.Timeout = 10 * time.Second

	f.Intermediate.Hints = []string{f.TA.ID}
	f.OP.Hints = []string{f.Intermediate.ID}
	f.TA.subs[f.Intermediate.ID] = f.Intermediate.JWKS()
	f.Intermediate.subs[f.OP.ID] = f.OP.JWKS()
	f.OP.Metadata["openid_provider"] = map[string]any{
		"issuer": f.OP.ID, "authorization_endpoint": f.OP.ID + "/authorize", "token_endpoint": f.OP.ID + "/token",
		"userinfo_endpoint": f.OP.ID + "/userinfo", "jwks": jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.opKey.PublicKey, KeyID: f.opKid, Algorithm: "RS256", Use: "sig"}}},
		"acr_values_supported": []string{cie.AcrL1, cie.AcrL2, cie.AcrL3}, "token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"code_challenge_methods_supported": []string{"S256"}, "userinfo_encryption_alg_values_supported": []string{"RSA-OAEP"},
	}
	opMux.HandleFunc("GET /authorize", f.authorize)
	opMux.HandleFunc("POST /token", f.token)
	opMux.HandleFunc("GET /userinfo", f.userinfo)
	return f
}

// Close stops the servers.
func (f *Federation) Close() {
	f.TA.Server.Close()
	f.Intermediate.Server.Close()
	f.OP.Server.Close()
}

// Config is the relying party's configuration for this federation.
func (f *Federation) Config() *cie.Config {
	return &cie.Config{TrustAnchor: f.TA.ID, TrustAnchorJWKS: f.TA.JWKS(), Provider: f.OP.ID, AuthorityHints: []string{f.TA.ID},
		Contacts: []string{"protocollo@pec.comune.example.it"}, Insecure: true}
}

// rp reads a relying party's entity configuration (self-signed) and the
// keys of its openid_relying_party metadata.
func (f *Federation) rp(clientID string) (sig, enc jose.JSONWebKeySet, redirects []string, err error) {
	// #nosec G704 -- a test provider fetching the test portal's entity configuration, as the real one does at client_id
	res, err := f.Client.Get(strings.TrimSuffix(clientID, "/") + cie.PathEntityConfiguration)
	if err != nil {
		return
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != cie.TypeEntityStatement {
		err = fmt.Errorf("entity configuration: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		return
	}
	obj, err := jose.ParseSignedCompact(string(b), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return
	}
	var ec struct {
		Iss, Sub string
		JWKS     jose.JSONWebKeySet `json:"jwks"`
		Metadata struct {
			RP struct {
				JWKS         jose.JSONWebKeySet `json:"jwks"`
				RedirectURIs []string           `json:"redirect_uris"`
				ClientID     string             `json:"client_id"`
			} `json:"openid_relying_party"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(obj.UnsafePayloadWithoutVerification(), &ec)
	kid := obj.Signatures[0].Header.KeyID
	ks := ec.JWKS.Key(kid)
	if len(ks) == 0 {
		err = fmt.Errorf("entity configuration signed by unknown kid %q", kid)
		return
	}
	if _, err = obj.Verify(ks[0].Key); err != nil {
		return
	}
	if ec.Iss != clientID || ec.Sub != clientID || ec.Metadata.RP.ClientID != clientID {
		err = fmt.Errorf("entity configuration of %s names %s/%s", clientID, ec.Iss, ec.Sub)
		return
	}
	for _, k := range ec.Metadata.RP.JWKS.Keys {
		if k.Use == "enc" {
			enc.Keys = append(enc.Keys, k)
		} else {
			sig.Keys = append(sig.Keys, k)
		}
	}
	return sig, enc, ec.Metadata.RP.RedirectURIs, nil
}

func verifyWith(raw string, keys jose.JSONWebKeySet) (map[string]any, error) {
	obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, err
	}
	for _, k := range keys.Key(obj.Signatures[0].Header.KeyID) {
		if b, err := obj.Verify(k.Key); err == nil {
			var m map[string]any
			return m, json.Unmarshal(b, &m)
		}
	}
	return nil, fmt.Errorf("signature does not verify")
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// authorize checks the signed request object (by the relying party's
// keys from its entity configuration), PKCE S256 and the redirect, and
// answers with a code at once.
func (f *Federation) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := q.Get("client_id")
	sig, _, redirects, err := f.rp(client)
	if err != nil {
		oauthError(w, "invalid_client", err.Error())
		return
	}
	ro, err := verifyWith(q.Get("request"), sig)
	if err != nil {
		oauthError(w, "invalid_request_object", err.Error())
		return
	}
	str := func(k string) string { s, _ := ro[k].(string); return s }
	redirect := str("redirect_uri")
	ok := false
	for _, u := range redirects {
		ok = ok || u == redirect
	}
	if !ok || str("client_id") != client || str("iss") != client {
		oauthError(w, "invalid_request", "redirect_uri or client_id")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Requests = append(f.Requests, ro)
	back := func(v url.Values) {
		v.Set("state", str("state"))
		v.Set("iss", f.OP.ID)
		if f.WrongIssuer {
			v.Set("iss", "https://another-op.example")
		}
		http.Redirect(w, r, redirect+"?"+v.Encode(), http.StatusSeeOther)
	}
	if str("code_challenge") == "" || str("code_challenge_method") != "S256" || len(str("state")) < 32 || len(str("nonce")) < 32 || str("response_type") != "code" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"PKCE S256, state and nonce are required"}})
		return
	}
	if f.Deny {
		back(url.Values{"error": {"access_denied"}})
		return
	}
	acr := f.ACR
	if acr == "" {
		acr = cie.AcrL3
	}
	challenge := str("code_challenge")
	if f.ForgetChallenge {
		challenge = random()
	}
	code := random()
	sum := sha256.Sum256([]byte(client + f.Person.FiscalNumber))
	f.codes[code] = &grant{client: client, redirect: redirect, nonce: str("nonce"), challenge: challenge, acr: acr, person: f.Person,
		sub: hex.EncodeToString(sum[:16])}
	back(url.Values{"code": {code}})
}

// token checks the client assertion (private_key_jwt), the code (once)
// and the PKCE verifier, and answers with an access token and a signed ID
// token.
func (f *Federation) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	client := r.PostForm.Get("client_id")
	if r.PostForm.Get("client_assertion_type") != cie.ClientAssertionType {
		oauthError(w, "invalid_client", "private_key_jwt required")
		return
	}
	sig, _, _, err := f.rp(client)
	if err != nil {
		oauthError(w, "invalid_client", err.Error())
		return
	}
	ca, err := verifyWith(r.PostForm.Get("client_assertion"), sig)
	if err != nil {
		oauthError(w, "invalid_client", err.Error())
		return
	}
	aud, _ := json.Marshal(ca["aud"])
	if ca["iss"] != client || ca["sub"] != client || !strings.Contains(string(aud), `"`+f.OP.ID+`/token"`) {
		oauthError(w, "invalid_client", "client assertion claims")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.codes[r.PostForm.Get("code")]
	if g == nil || g.used || g.client != client || g.redirect != r.PostForm.Get("redirect_uri") {
		oauthError(w, "invalid_grant", "unknown or used code")
		return
	}
	g.used = true
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		oauthError(w, "invalid_grant", "PKCE verifier does not match")
		return
	}
	now := time.Now()
	audience := []string{client}
	if f.WrongAudience {
		audience = []string{"https://another-rp.example"}
	}
	azp := ""
	if f.SharedAudience {
		audience, azp = []string{client, "https://another-rp.example"}, "https://another-rp.example"
	}
	nonce := g.nonce
	if f.WrongNonce {
		nonce = random()
	}
	claims := map[string]any{"iss": f.OP.ID, "sub": g.sub, "aud": audience, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": nonce, "acr": g.acr, "jti": random(), "given_name": g.person.GivenName, "family_name": g.person.FamilyName}
	if azp != "" {
		claims["azp"] = azp
	}
	idt, err := cie.Sign(f.opKey, f.opKid, "", claims)
	if err != nil {
		oauthError(w, "server_error", err.Error())
		return
	}
	if f.EncryptIDToken {
		_, enc, _, err := f.rp(client)
		if err != nil || len(enc.Keys) == 0 {
			oauthError(w, "server_error", "no encryption key")
			return
		}
		if idt, err = encrypt(idt, enc.Keys[0]); err != nil {
			oauthError(w, "server_error", err.Error())
			return
		}
	}
	at := random()
	f.access[at] = g
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 300, "id_token": idt})
}

// userinfo answers the person's claims signed by the provider, then
// encrypted to the relying party's encryption key.
func (f *Federation) userinfo(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	g := f.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	plain, foreign := f.PlainUserinfo, f.UserinfoKey
	f.mu.Unlock()
	if g == nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	_, enc, _, err := f.rp(g.client)
	if err != nil || len(enc.Keys) == 0 {
		http.Error(w, "no encryption key", 500)
		return
	}
	key, kid := f.opKey, f.opKid
	if foreign {
		key, _ = newKey()
	}
	now := time.Now()
	if f.StaleUserinfo {
		now = now.Add(-time.Hour)
	}
	jws, err := cie.Sign(key, kid, "", map[string]any{"iss": f.OP.ID, "sub": g.sub, "aud": g.client, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"given_name": g.person.GivenName, "family_name": g.person.FamilyName, "birthdate": g.person.BirthDate, cie.ClaimFiscalNumber: g.person.FiscalNumber})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	if plain {
		_, _ = io.WriteString(w, jws)
		return
	}
	s, err := encrypt(jws, enc.Keys[0])
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	_, _ = io.WriteString(w, s)
}

// encrypt puts a signed JWT into a JWE to the relying party's key.
func encrypt(jws string, k jose.JSONWebKey) (string, error) {
	e, err := jose.NewEncrypter(jose.A256CBC_HS512, jose.Recipient{Algorithm: jose.RSA_OAEP, Key: k.Key, KeyID: k.KeyID},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		return "", err
	}
	obj, err := e.Encrypt([]byte(jws))
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// Set changes the provider's behaviour under its lock.
func (f *Federation) Set(fn func(f *Federation)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// LastRequest is the claims of the last request object received.
func (f *Federation) LastRequest() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Requests) == 0 {
		return nil
	}
	return f.Requests[len(f.Requests)-1]
}
