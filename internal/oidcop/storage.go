package oidcop

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Accounts is what the provider reads of the identity store.
type Accounts interface {
	ByID(ctx context.Context, id string) (*identity.Account, error)
}

// Storage is the provider's memory, in the database, so that any civico
// process can continue a login another one started. It implements
// zitadel/oidc's op.Storage.
type Storage struct {
	DB       *db.DB
	Keys     *Keys
	Clients  *Clients
	Accounts Accounts
	// Sessions says whether a portal session still lives (identity's).
	Sessions Sessions
	// Residents is the town's population register.
	Residents Residents
	Audit     audit.Writer
	Now       func() time.Time
	// CounterClient is the client the counter endpoint answers (Partecipa;
	// "": none), Seeds finds its residents' subjects, Limiter keeps the
	// operators' budgets of look-ups.
	CounterClient string
	Seeds         CounterSeeds
	Limiter       *throttle.Limiter
	// Inbox tells a resident the counter looked them up (nil: nobody).
	Inbox Inbox
	// EndSession ends a portal session by its hash (identity's EndOne),
	// which in turn starts back-channel logout.
	EndSession func(ctx context.Context, accountID, hash string) error

	pairwiseKey []byte
	loginURL    func(id string) string
	// requests seals the authorization requests not yet written down.
	requests cipher.AEAD
}

func (s *Storage) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// requestData is the part of an authorization request kept as JSON.
type requestData struct {
	RedirectURI         string   `json:"redirect_uri"`
	Scopes              []string `json:"scopes"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	ACRValues           []string `json:"acr_values,omitempty"`
	MaxAge              *uint    `json:"max_age,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
	UILocales           []string `json:"ui_locales,omitempty"`
	// HintSubject is the sub of the id_token_hint: the request is for that
	// resident only.
	HintSubject string `json:"hint_subject,omitempty"`
}

// AuthRequest is an authorization request in flight.
type AuthRequest struct {
	ID          string
	ClientID    string
	Req         requestData
	AccountID   string
	SessionHash string
	Subject     string
	ACR         string
	AMR         []string
	AuthTime    time.Time
	IsDone      bool
	CreatedAt   time.Time
}

// op.AuthRequest.
func (a *AuthRequest) GetID() string          { return a.ID }
func (a *AuthRequest) GetACR() string         { return a.ACR }
func (a *AuthRequest) GetAMR() []string       { return a.AMR }
func (a *AuthRequest) GetAudience() []string  { return []string{a.ClientID} }
func (a *AuthRequest) GetAuthTime() time.Time { return a.AuthTime }
func (a *AuthRequest) GetClientID() string    { return a.ClientID }
func (a *AuthRequest) GetNonce() string       { return a.Req.Nonce }
func (a *AuthRequest) GetRedirectURI() string { return a.Req.RedirectURI }
func (a *AuthRequest) GetScopes() []string    { return a.Req.Scopes }
func (a *AuthRequest) GetState() string       { return a.Req.State }
func (a *AuthRequest) GetSubject() string     { return a.Subject }
func (a *AuthRequest) Done() bool             { return a.IsDone }
func (a *AuthRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.Req.ResponseType)
}
func (a *AuthRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.Req.ResponseMode)
}
func (a *AuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.Req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.Req.CodeChallenge, Method: oidc.CodeChallengeMethod(a.Req.CodeChallengeMethod)}
}

// PromptNone, PromptLogin and PromptConsent report the prompt values.
func (a *AuthRequest) hasPrompt(p string) bool { return slices.Contains(a.Req.Prompt, p) }

// sealed reports whether the request lives in its id only (no row yet).
func (a *AuthRequest) sealed() bool { return strings.HasPrefix(a.ID, sealedPrefix) }

// An authorization request is not written down when it arrives: anyone
// can send them by the thousand without logging in, and each would be a
// row. It is sealed into its own id instead (AES-256-GCM under a key
// derived from the installation secret, with its time of creation), which
// travels in the login page's URL and comes back; any process can open it,
// nobody can alter it or make one up. It becomes a row when a logged-in
// resident completes it, or is shown the consent page (whose refusal must
// end it): only then is there a login to bind the code to. Row ids are
// base64url and never contain the prefix's dot.
const (
	sealedPrefix = "s."
	sealedAD     = "civico oidc authorization request"
)

// sealedRequest is what a sealed id holds.
type sealedRequest struct {
	ClientID  string      `json:"c"`
	Req       requestData `json:"r"`
	CreatedAt time.Time   `json:"t"`
}

func newRequestAEAD(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // only for a key that is not 16, 24 or 32 bytes
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

func (s *Storage) seal(a *AuthRequest) (string, error) {
	plain, err := json.Marshal(sealedRequest{ClientID: a.ClientID, Req: a.Req, CreatedAt: a.CreatedAt})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.requests.NonceSize())
	_, _ = rand.Read(nonce)
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(s.requests.Seal(nonce, nonce, plain, []byte(sealedAD))), nil
}

// openSealed returns the request a sealed id holds, if it is genuine and
// in time.
func (s *Storage) openSealed(id string) (*AuthRequest, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(id, sealedPrefix))
	if err != nil || len(id) > 8<<10 || len(b) < s.requests.NonceSize() {
		return nil, errNotFound
	}
	n := s.requests.NonceSize()
	plain, err := s.requests.Open(nil, b[:n], b[n:], []byte(sealedAD))
	if err != nil {
		return nil, errNotFound
	}
	var sr sealedRequest
	if err := json.Unmarshal(plain, &sr); err != nil {
		return nil, errNotFound
	}
	if !s.now().Before(sr.CreatedAt.Add(authRequestLifetime)) {
		return nil, errNotFound
	}
	return &AuthRequest{ID: id, ClientID: sr.ClientID, Req: sr.Req, CreatedAt: sr.CreatedAt}, nil
}

// errNotFound is a plain error: the library answers it as the protocol
// error its caller chose (invalid_grant for a code, and so on).
var errNotFound = errors.New("not found or expired")

// CreateAuthRequest seals a validated authorization request into its id
// (nothing is written: see sealedPrefix). On top of
// the library's checks: the redirect URI is the client's (a loopback one
// may change its port only), the response mode is query or fragment, only
// the scopes the client is registered for are kept, PKCE must use S256,
// and a public client must use PKCE.
func (s *Storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c := clientOf(ctx, req.ClientID)
	if c == nil {
		var err error
		if c, err = s.Clients.Get(ctx, req.ClientID); err != nil || c.DisabledAt != nil {
			return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown or disabled client")
		}
	}
	if !c.registered(req.RedirectURI, c.Redirects) {
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("the redirect_uri is not registered for this client")
	}
	if req.ResponseMode != "" && !slices.Contains(responseModes, string(req.ResponseMode)) {
		// The error itself goes back by the default mode, the query.
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query or fragment")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.Public && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("this client must use PKCE: code_challenge with code_challenge_method S256")
	}
	if len(req.State) > 1024 || len(req.Nonce) > 1024 {
		return nil, oidc.ErrInvalidRequest().WithDescription("state or nonce too long")
	}
	locales := make([]string, 0, len(req.UILocales))
	for _, l := range req.UILocales {
		locales = append(locales, l.String())
	}
	a := &AuthRequest{
		ClientID: c.ID, CreatedAt: s.now(),
		Req: requestData{RedirectURI: req.RedirectURI, Scopes: filterScopes(c, req.Scopes), State: req.State, Nonce: req.Nonce,
			ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge,
			CodeChallengeMethod: string(req.CodeChallengeMethod), ACRValues: req.ACRValues, MaxAge: req.MaxAge, Prompt: req.Prompt,
			UILocales: locales, HintSubject: hintSubject},
	}
	id, err := s.seal(a)
	if err != nil {
		return nil, err
	}
	a.ID = id
	return a, nil
}

const authRequestColumns = `id, client_id, request, COALESCE(account_id, ''), COALESCE(session_hash, ''), subject, acr, amr, auth_time, done, created_at`

func scanAuthRequest(r rowScanner) (*AuthRequest, error) {
	var a AuthRequest
	var req, amr string
	var authTime sql.NullTime
	if err := r.Scan(&a.ID, &a.ClientID, &req, &a.AccountID, &a.SessionHash, &a.Subject, &a.ACR, &amr, &authTime, &a.IsDone, &a.CreatedAt); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal([]byte(req), &a.Req); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(amr), &a.AMR); err != nil {
		return nil, err
	}
	if authTime.Valid {
		a.AuthTime = authTime.Time
	}
	return &a, nil
}

// AuthRequestByID returns a request still in time, sealed or written down.
// The library asks for it at the callback, where only a written one (a
// completed login) is of use.
func (s *Storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.authRequest(ctx, id)
}

func (s *Storage) authRequest(ctx context.Context, id string) (*AuthRequest, error) {
	if !db.IsText(id) {
		return nil, errNotFound // no id of ours; PostgreSQL would refuse it
	}
	if strings.HasPrefix(id, sealedPrefix) {
		return s.openSealed(id)
	}
	return scanAuthRequest(s.DB.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE id = $1 AND expires_at > $2`, id, s.now()))
}

// persist writes a sealed request down, not completed yet, under an id of
// its own; it keeps its time of creation and expiry.
func (s *Storage) persist(ctx context.Context, a *AuthRequest) (*AuthRequest, error) {
	data, err := json.Marshal(a.Req)
	if err != nil {
		return nil, err
	}
	row := *a
	row.ID = tokens.Secret(24)
	_, err = s.DB.ExecContext(ctx, `INSERT INTO oidc_auth_requests (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		row.ID, row.ClientID, string(data), row.CreatedAt, row.CreatedAt.Add(authRequestLifetime))
	if err != nil {
		return nil, err
	}
	return &row, nil
}

// complete records who logged in for a request, after the login page (and
// the consent page, when there is one), and returns the id the callback
// uses: a sealed request is written down here, completed, under an id of
// its own.
func (s *Storage) complete(ctx context.Context, a *AuthRequest, c *Client, acc *identity.Account, se *identity.Session) (string, error) {
	acr, amr := se.Assurance.ACR(), amrOf(se.Method, se.Assurance)
	if a.sealed() {
		data, err := json.Marshal(a.Req)
		if err != nil {
			return "", err
		}
		id := tokens.Secret(24)
		_, err = s.DB.ExecContext(ctx, `INSERT INTO oidc_auth_requests (id, client_id, request, account_id, session_hash, subject, acr, amr,
			auth_time, done, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10, $11)`,
			id, a.ClientID, string(data), acc.ID, se.Hash, s.subject(c, acc), acr, jsonList(amr), se.CreatedAt, a.CreatedAt,
			a.CreatedAt.Add(authRequestLifetime))
		return id, err
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE oidc_auth_requests SET account_id = $1, session_hash = $2, subject = $3, acr = $4, amr = $5,
		auth_time = $6, done = TRUE WHERE id = $7 AND done = FALSE AND expires_at > $8`,
		acc.ID, se.Hash, s.subject(c, acc), acr, jsonList(amr), se.CreatedAt, a.ID, s.now())
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", errNotFound
	}
	return a.ID, nil
}

// kill ends a request that was refused (login_required, access_denied...),
// so that it cannot be completed afterwards. A sealed one has nothing to
// delete, and needs nothing: the only refusals it meets are prompt=none's,
// decided in the authorization request itself, whose sealed id never
// reaches the browser (Provider.authorizeRequest).
func (s *Storage) kill(ctx context.Context, id string) {
	if strings.HasPrefix(id, sealedPrefix) {
		return
	}
	_, _ = s.DB.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE id = $1`, id)
}

// peekCode returns the request of a code not yet used, without using it.
func (s *Storage) peekCode(ctx context.Context, code string) (*AuthRequest, error) {
	if code == "" {
		return nil, errNotFound
	}
	return scanAuthRequest(s.DB.QueryRowContext(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE code_hash = $1 AND code_used_at IS NULL AND code_expires_at > $2 AND done = TRUE`, tokens.Hash(code), s.now()))
}

// SaveAuthCode binds the code to its request, once: the code lives one
// minute and only its hash is kept.
func (s *Storage) SaveAuthCode(ctx context.Context, id, code string) error {
	now := s.now()
	res, err := s.DB.ExecContext(ctx, `UPDATE oidc_auth_requests SET code_hash = $1, code_expires_at = $2
		WHERE id = $3 AND done = TRUE AND code_hash IS NULL AND expires_at > $4`, tokens.Hash(code), now.Add(codeLifetime), id, now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return oidc.ErrInvalidRequest().WithDescription("this login was already completed")
	}
	return nil
}

// AuthRequestByCode consumes a code: of two exchanges of one code, only
// one gets the request. A code presented again revokes what the first
// exchange obtained (RFC 6749, section 4.1.2), since one of the two
// presenters is not the application.
func (s *Storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	now := s.now()
	h := tokens.Hash(code)
	var a *AuthRequest
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAuthRequest(tx.QueryRowContext(ctx, `UPDATE oidc_auth_requests SET code_used_at = $1
			WHERE code_hash = $2 AND code_used_at IS NULL AND code_expires_at > $1 AND done = TRUE
			RETURNING `+authRequestColumns, now, h))
		return err
	})
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, errNotFound) {
		return nil, err
	}
	var id, clientID string
	var used sql.NullTime
	if s.DB.QueryRowContext(ctx, `SELECT id, client_id, code_used_at FROM oidc_auth_requests WHERE code_hash = $1`, h).Scan(&id, &clientID, &used) == nil && used.Valid {
		_ = s.DB.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE auth_request_id = $1`, id); err != nil {
				return err
			}
			return s.Audit.Write(ctx, tx, audit.Entry{Actor: "client:" + clientID, Action: "oidc.code.reused",
				Subject: id, Details: map[string]string{"client": clientID}})
		})
		return nil, fmt.Errorf("code already used: %w", errNotFound)
	}
	return nil, errNotFound
}

// DeleteAuthRequest is called once tokens are issued. The request is kept
// (its code already consumed) until it expires, so that a second use of the
// code is recognised; the housekeeping deletes it.
func (s *Storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken issues an opaque access token for a code exchange and
// records that the portal session is now logged into the client (for
// back-channel logout).
func (s *Storage) CreateAccessToken(ctx context.Context, tr op.TokenRequest) (string, time.Time, error) {
	a, ok := tr.(*AuthRequest)
	if !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	now := s.now()
	id, exp := tokens.Secret(24), now.Add(accessTokenLifetime)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The portal session that logged in must still be there: a code
		// exchanged after the resident logged out gets nothing.
		live, err := s.Sessions.Live(ctx, tx, a.SessionHash)
		if err != nil {
			return err
		}
		if !live {
			return oidc.ErrInvalidGrant().WithDescription("the login session has ended")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oidc_tokens (id, client_id, account_id, subject, scopes, auth_request_id, session_hash, created_at, expires_at, acr)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, id, a.ClientID, a.AccountID, a.Subject, jsonList(a.Req.Scopes), a.ID, a.SessionHash, now, exp, a.ACR); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO oidc_rp_sessions (session_hash, client_id, account_id, sid, subject, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_hash, client_id) DO NOTHING`,
			a.SessionHash, a.ClientID, a.AccountID, s.sessionID(a.ClientID, a.SessionHash), a.Subject, now)
		return err
	})
	return id, exp, err
}

// CreateAccessAndRefreshTokens: civico issues no refresh tokens (a relying
// party sends the resident back through the provider, which is one click
// while the portal session lives).
func (s *Storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

// TokenRequestByRefreshToken: no refresh tokens.
func (s *Storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, oidc.ErrInvalidGrant().WithDescription("refresh tokens are not issued")
}

// TerminateSession is not called: civico serves end_session itself
// (logout.go), since the library's ended whatever session a hint named.
func (s *Storage) TerminateSession(context.Context, string, string) error { return nil }

// RevokeToken revokes an access token of the client (RFC 7009).
func (s *Storage) RevokeToken(ctx context.Context, tokenID, _ string, clientID string) *oidc.Error {
	if !db.IsText(tokenID) || !db.IsText(clientID) {
		return nil // no token of ours: nothing to revoke (RFC 7009, section 2.2)
	}
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM oidc_tokens WHERE id = $1 AND client_id = $2`, tokenID, clientID); err != nil {
		return oidc.ErrServerError()
	}
	return nil
}

// GetRefreshTokenInfo: no refresh tokens.
func (s *Storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey, SignatureAlgorithms and KeySet come from Keys.
func (s *Storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.Keys.SigningKey(ctx)
}
func (s *Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}
func (s *Storage) KeySet(ctx context.Context) ([]op.Key, error) { return s.Keys.KeySet(ctx) }

// GetClientByClientID returns an enabled client.
func (s *Storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	if c := clientOf(ctx, id); c != nil {
		c.loginURL = s.loginURL
		return c, nil
	}
	c, err := s.Clients.Get(ctx, id)
	if errors.Is(err, ErrClientNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if c.DisabledAt != nil {
		return nil, errors.New("client disabled")
	}
	c.loginURL = s.loginURL
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *Storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if c := clientOf(ctx, id); c != nil && c.checkSecret(secret) {
		return nil
	}
	c, err := s.Clients.Get(ctx, id)
	if errors.Is(err, ErrClientNotFound) {
		return err
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if c.DisabledAt != nil || !c.checkSecret(secret) {
		return errors.New("wrong client secret or disabled client")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest
// does the work.
func (s *Storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the id_token's claims, with the pairwise sid
// for back-channel logout.
func (s *Storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	a, ok := r.(*AuthRequest)
	if !ok {
		return errors.New("unexpected token request")
	}
	if err := s.fill(ctx, info, a.AccountID, a.Subject, a.ACR, scopes); err != nil {
		return err
	}
	if a.SessionHash != "" {
		info.AppendClaims("sid", s.sessionID(a.ClientID, a.SessionHash))
	}
	return nil
}

type token struct {
	ClientID, AccountID, Subject, ACR string
	Scopes                            []string
}

func (s *Storage) token(ctx context.Context, id string) (*token, error) {
	if !db.IsText(id) {
		// An access token that "decrypts" to anything (the library's
		// decrypter authenticates nothing) names no token of ours.
		return nil, errNotFound
	}
	var t token
	var scopes string
	err := s.DB.QueryRowContext(ctx, `SELECT t.client_id, t.account_id, t.subject, t.scopes, t.acr FROM oidc_tokens t
		JOIN oidc_clients c ON c.id = t.client_id WHERE t.id = $1 AND t.expires_at > $2 AND c.disabled_at IS NULL`, id, s.now()).
		Scan(&t.ClientID, &t.AccountID, &t.Subject, &scopes, &t.ACR)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	return &t, json.Unmarshal([]byte(scopes), &t.Scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for an access token.
func (s *Storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.token(ctx, tokenID)
	if err != nil {
		return err
	}
	if t.Subject != subject {
		return errNotFound
	}
	return s.fill(ctx, info, t.AccountID, t.Subject, t.ACR, t.Scopes)
}

// SetIntrospectionFromToken answers token introspection (RFC 7662) for the
// client the token was issued to.
func (s *Storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.token(ctx, tokenID)
	if err != nil || t.ClientID != clientID || t.Subject != subject {
		return errNotFound
	}
	resp.Active = true
	resp.ClientID = t.ClientID
	resp.Subject = t.Subject
	resp.Scope = t.Scopes
	resp.Audience = []string{t.ClientID}
	return nil
}

// GetPrivateClaimsFromScopes: access tokens are opaque, no private claims.
func (s *Storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID: no JWT client authentication.
func (s *Storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

// ValidateJWTProfileScopes: no JWT profile grant.
func (s *Storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

// Health checks the database.
func (s *Storage) Health(ctx context.Context) error { return s.DB.Ping(ctx) }

// fill writes the claims of scopes for an account, for a login at the
// level acr names. Applications receive only proven attributes: profile
// gives the names when a card (or the register) proved them, and otherwise
// only preferred_username, which OpenID Connect defines as a name the
// person chose; email gives an address confirmed by a link; fiscal_code
// and residence are answered only for a login that proved who the person
// is (a card, SPID level 2 or more, CIE), whatever the account holds. Sex
// and birth date are never given: residence's age band is enough for an
// eligibility check.
func (s *Storage) fill(ctx context.Context, info *oidc.UserInfo, accountID, subject, acr string, scopes []string) error {
	acc, err := s.Accounts.ByID(ctx, accountID)
	if err != nil {
		return err
	}
	if acc.ClosedAt != nil {
		return errNotFound
	}
	level, _ := assurance.OfACR(acr)
	fiscalCode, proven := acc.ProvenFiscalCode(&identity.Session{Assurance: level})
	info.Subject = subject
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			if acc.NameSource.Proven() {
				info.Name = acc.FullName()
				info.GivenName = acc.GivenName
				info.FamilyName = acc.FamilyName
			} else {
				info.PreferredUsername = acc.FullName()
			}
			if acc.Lang != "" {
				info.Locale = oidc.NewLocale(language.Make(acc.Lang))
			}
			info.UpdatedAt = oidc.FromTime(acc.UpdatedAt)
		case oidc.ScopeEmail:
			if acc.Email != "" && acc.EmailVerifiedAt != nil {
				info.Email = acc.Email
				info.EmailVerified = oidc.Bool(true)
			}
		case ScopeFiscalCode:
			if proven {
				info.AppendClaims("fiscal_code", fiscalCode)
			}
		case ScopeRoles:
			// Only first-party clients are registered with it.
			if len(acc.Roles) > 0 {
				info.AppendClaims("roles", acc.Roles)
			}
		case ScopeDemographics:
			// Only first-party clients are registered with it; only
			// what a proof or the register settled.
			if !proven {
				continue
			}
			resident, district, err := s.Residents.Residence(ctx, fiscalCode)
			if err != nil {
				return err
			}
			if resident && district != "" {
				info.AppendClaims("district", district)
			}
			if acc.BirthSource.Proven() {
				if acc.Sex == "F" || acc.Sex == "M" {
					info.AppendClaims("sex", acc.Sex)
				}
				if band := AgeBand(acc.BirthDate, s.now().In(hours.Rome)); band != "" {
					info.AppendClaims("age_band", band)
				}
			}
		case ScopeResidence:
			if !proven {
				continue
			}
			resident, district, err := s.Residents.Residence(ctx, fiscalCode)
			if err != nil {
				return err
			}
			info.AppendClaims("resident", resident)
			if district != "" {
				info.AppendClaims("district", district)
			}
			if band := AgeBand(acc.BirthDate, s.now().In(hours.Rome)); band != "" && acc.BirthSource.Proven() {
				info.AppendClaims("age_band", band)
			}
		}
	}
	return nil
}

// Sessions is what the provider asks of the portal's sessions, in the
// transaction that issues a token.
type Sessions interface {
	Live(ctx context.Context, tx *sql.Tx, hash string) (bool, error)
}

// Residents answers the residence scope: the town's population register.
type Residents interface {
	Residence(ctx context.Context, fiscalCode string) (resident bool, district string, err error)
}
