package feature

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/web"
)

// MaxBearerLen bounds a bearer token read from a request: the
// provider's tokens are far shorter, and a longer one is refused
// before any lookup.
const MaxBearerLen = 512

// BearerToken is the token of the request's "Authorization: Bearer"
// header. present says the request has an Authorization header at all;
// a header of another scheme, an empty or an over-long token give ""
// with present true (a malformed request, RFC 6750's invalid_request).
func BearerToken(r *http.Request) (token string, present bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return "", false
	}
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", true
	}
	token = strings.TrimSpace(v[7:])
	if len(token) > MaxBearerLen {
		return "", true
	}
	return token, true
}

// APICaller is who calls a resident's JSON API: their account, and the
// session that stands for the login behind the token (or the portal's
// own session).
type APICaller struct {
	Account *identity.Account
	Session *identity.Session
}

// Caller answers who calls a resident's API: the holder of a bearer
// token of the portal's provider that carries scope, or, when the
// request has no Authorization header, the portal's session. byID reads
// an account (the token's may have been closed since).
//
// When it returns false it has answered the request itself, in JSON
// with RFC 6750's challenge: 401 without a token or session, with a
// malformed, unknown, expired or revoked token or a closed account; 403
// (insufficient_scope) for a token without the scope; the lookup's
// error through app.FailJSON.
func (t Tokens) Caller(app *web.App, w http.ResponseWriter, r *http.Request, scope string,
	byID func(context.Context, string) (*identity.Account, error)) (APICaller, bool) {
	w.Header().Set("Cache-Control", "private, no-store")
	token, present := BearerToken(r)
	if !present {
		if a, se := identity.Current(r.Context()); a != nil {
			return APICaller{Account: a, Session: se}, true
		}
		refuse(app, w, r, http.StatusUnauthorized, "", scope)
		return APICaller{}, false
	}
	if token == "" || t == nil {
		refuse(app, w, r, http.StatusUnauthorized, "invalid_request", scope)
		return APICaller{}, false
	}
	g, err := t(r.Context(), token)
	if problem.KindOf(err) == problem.NotFound {
		refuse(app, w, r, http.StatusUnauthorized, "invalid_token", scope)
		return APICaller{}, false
	}
	if err != nil {
		app.FailJSON(w, r, err)
		return APICaller{}, false
	}
	if !g.Has(scope) {
		refuse(app, w, r, http.StatusForbidden, "insufficient_scope", scope)
		return APICaller{}, false
	}
	a, err := byID(r.Context(), g.AccountID)
	if err != nil || a.ClosedAt != nil {
		refuse(app, w, r, http.StatusUnauthorized, "invalid_token", scope)
		return APICaller{}, false
	}
	return APICaller{Account: a, Session: &identity.Session{Assurance: g.Level}}, true
}

// refuse answers a refused API call: the challenge (with the error code
// when the request carried a token) and a translated message.
func refuse(app *web.App, w http.ResponseWriter, r *http.Request, status int, code, scope string) {
	challenge := `Bearer realm="civico", scope="` + scope + `"`
	msg, errCode := "api.unauthorized", "unauthorized"
	if code != "" {
		challenge = `Bearer error="` + code + `", scope="` + scope + `"`
		errCode = code
	}
	if status == http.StatusForbidden {
		msg = "api.insufficient_scope"
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": errCode,
		"message": app.I18n.T(app.I18n.Lang(r), msg, "Scope", scope)})
}
