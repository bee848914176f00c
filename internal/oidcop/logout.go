package oidcop

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/web"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), served by
// civico rather than the library, whose end_session ended the session an
// id_token_hint named whoever sent it: an id_token is handed to
// applications and travels in URLs, so a copy of one logged the resident
// out of the portal and of every application. Here the hint identifies and
// never authorises. The rules:
//
//   - A portal session ends only for a request carrying that browser's own
//     session cookie and an id_token_hint naming that same session (its
//     sid and sub for the client): the application that got the token, in
//     the resident's own browser.
//   - With the browser's session but no hint, or one that names another
//     session, the resident is asked (a page of the portal, whose form
//     posts to the portal only): a bare link, which any page can embed,
//     logs nobody out.
//   - Without the browser's session nothing ends. A GET goes on to the
//     application; a POST (a form on the application's site, which a
//     browser sends without the portal's SameSite=Lax cookie when the two
//     are different sites) is sent to the GET of the same request without
//     the hint, where the browser's cookie comes along and the resident is
//     asked.
//   - The way back is only an address the client registered (a loopback
//     one may change its port only), with state; otherwise the portal's
//     home page.
//
// The hint's expiry is not held against it: an application logs out with
// the id_token it got at login, often more than its hour ago, and the
// session it names must still be the browser's own.

// PathLogoutConfirm is where the confirmation page's form posts. It is not
// among the paths other origins may post to, so only the portal's own page
// can confirm.
const PathLogoutConfirm = "/oidc/esci"

// logoutRequest is a validated logout request.
type logoutRequest struct {
	client     *Client
	hint       *oidc.IDTokenClaims
	postLogout string // registered for client, or empty
	state      string
}

// readLogout validates a logout request's parameters. It returns a
// description of the problem for a request the provider cannot follow (a
// hint not its own, an address the client did not register): nothing then
// ends and no redirect happens.
func (p *Provider) readLogout(ctx context.Context, form url.Values) (*logoutRequest, string, error) {
	for k, v := range form {
		if len(v) > 1 {
			return nil, "repeated parameter " + k, nil
		}
	}
	lr := &logoutRequest{postLogout: form.Get("post_logout_redirect_uri"), state: form.Get("state")}
	clientID := form.Get("client_id")
	if raw := form.Get("id_token_hint"); raw != "" {
		ictx := op.ContextWithIssuer(ctx, p.Issuer) // the library's handlers would have put it there
		claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ictx, raw, p.op.IDTokenHintVerifier(ictx))
		if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
			return nil, "the id_token_hint is not an id_token of this provider", nil
		}
		azp := claims.GetAuthorizedParty()
		if azp == "" || clientID != "" && clientID != azp {
			return nil, "client_id does not match the id_token_hint", nil
		}
		clientID, lr.hint = azp, claims
	}
	if clientID != "" {
		c, err := p.Storage.Clients.Get(ctx, clientID)
		if errors.Is(err, ErrClientNotFound) || err == nil && c.DisabledAt != nil {
			return nil, "unknown or disabled client", nil
		}
		if err != nil {
			return nil, "", err
		}
		lr.client = c
	}
	if lr.postLogout != "" {
		if lr.client == nil {
			return nil, "post_logout_redirect_uri needs client_id or id_token_hint", nil
		}
		if !lr.client.registered(lr.postLogout, lr.client.PostLogouts) {
			return nil, "post_logout_redirect_uri is not registered for this client", nil
		}
	}
	return lr, "", nil
}

// namesSession reports whether the request's hint names this portal
// session: the sid the client was given for it, and the client's sub for
// its resident.
func (p *Provider) namesSession(lr *logoutRequest, acc *identity.Account, se *identity.Session) bool {
	if lr.hint == nil || lr.client == nil || acc == nil || se == nil {
		return false
	}
	sid, _ := lr.hint.Claims["sid"].(string)
	want := p.Storage.sessionID(lr.client.ID, se.Hash)
	return sid != "" && subtle.ConstantTimeCompare([]byte(sid), []byte(want)) == 1 &&
		lr.hint.GetSubject() == p.Storage.subject(lr.client, acc)
}

// query is the request again without the hint: for the confirmation page.
func (lr *logoutRequest) query() url.Values {
	v := url.Values{}
	if lr.client != nil {
		v.Set("client_id", lr.client.ID)
	}
	if lr.postLogout != "" {
		v.Set("post_logout_redirect_uri", lr.postLogout)
	}
	if lr.state != "" {
		v.Set("state", lr.state)
	}
	return v
}

// after is where the browser goes once the request is over: the
// application's registered address with state, or the portal's home page.
func (lr *logoutRequest) after() string {
	if lr.postLogout == "" {
		return "/"
	}
	u, err := url.Parse(lr.postLogout)
	if err != nil {
		return "/"
	}
	if lr.state != "" {
		q := u.Query()
		q.Set("state", lr.state)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// endSession is the end_session endpoint (GET, or POST from an
// application's page).
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		p.logoutError(w, r, http.StatusMethodNotAllowed, "")
		return
	}
	if !p.App.ParseForm(w, r, 16<<10) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	lr, problem, err := p.readLogout(r.Context(), r.Form)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if problem != "" {
		p.logoutError(w, r, http.StatusBadRequest, problem)
		return
	}
	acc, se := identity.Current(r.Context())
	switch {
	case p.namesSession(lr, acc, se):
		p.logout(w, r, lr, acc, se)
	case r.Method == http.MethodPost:
		// The hint stays behind: the page that asks shows only what the
		// request named, and an id_token is not put in a URL.
		http.Redirect(w, r, PathEndSession+"?"+lr.query().Encode(), http.StatusSeeOther) // #nosec G710 -- our own path; the query only repeats what was asked, read and checked by readLogout
	case se != nil:
		p.logoutPage(w, r, lr)
	default:
		http.Redirect(w, r, lr.after(), http.StatusSeeOther) // #nosec G710 -- an address registered for the client, or the portal's home page
	}
}

// confirmLogout is the answer of the confirmation page.
func (p *Provider) confirmLogout(w http.ResponseWriter, r *http.Request) {
	if !p.App.ParseForm(w, r, 4<<10) {
		return
	}
	form := r.PostForm
	form.Del("id_token_hint")
	lr, problem, err := p.readLogout(r.Context(), form)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if problem != "" {
		p.logoutError(w, r, http.StatusBadRequest, problem)
		return
	}
	acc, se := identity.Current(r.Context())
	if se == nil {
		http.Redirect(w, r, lr.after(), http.StatusSeeOther) // #nosec G710 -- an address registered for the client, or the portal's home page
		return
	}
	p.logout(w, r, lr, acc, se)
}

// logout ends the browser's portal session, which tells every application
// it logged into (back-channel logout), and goes on to the application.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request, lr *logoutRequest, acc *identity.Account, se *identity.Session) {
	if err := p.Storage.endPortalSession(r.Context(), acc.ID, se.Hash); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	p.ID.ClearCookie(w, r)
	http.Redirect(w, r, lr.after(), http.StatusSeeOther) // #nosec G710 -- an address registered for the client, or the portal's home page
}

// LogoutData is the content of the page that asks before logging out.
type LogoutData struct {
	Client                              string // the application's name, if the request named one
	ClientID, PostLogoutRedirect, State string
	// Back is where "stay logged in" leads: the application, or the
	// portal's home page.
	Back string
}

func (p *Provider) logoutPage(w http.ResponseWriter, r *http.Request, lr *logoutRequest) {
	page := p.App.NewPage(r, "oidc.logout.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	d := LogoutData{PostLogoutRedirect: lr.postLogout, State: lr.state, Back: "/"}
	if lr.client != nil {
		d.Client, d.ClientID = lr.client.Name, lr.client.ID
	}
	if strings.HasPrefix(lr.postLogout, "https://") || strings.HasPrefix(lr.postLogout, "http://") {
		d.Back = lr.after()
	}
	page.Data = d
	// The answer ends at the application.
	allowFormActionTo(w, lr.postLogout)
	p.App.HTML(w, r, http.StatusOK, "oidc_logout", page)
}

func (p *Provider) logoutError(w http.ResponseWriter, r *http.Request, status int, description string) {
	if len(description) > 300 {
		description = description[:300]
	}
	page := p.App.NewPage(r, "oidc.logout.error_title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = ErrorData{Code: "invalid_request", Description: description, Logout: true}
	w.Header().Set("Cache-Control", "no-store")
	p.App.HTML(w, r, status, "oidc_error", page)
}

// allowFormActionTo lets a form's answer redirect to uri's origin, or to
// the private-use scheme of a mobile app (it.comune.app:/cb): browsers
// apply form-action to the redirects after a submission.
func allowFormActionTo(w http.ResponseWriter, uri string) {
	u, err := url.Parse(uri)
	switch {
	case uri == "" || err != nil:
	case u.Host != "":
		web.AllowFormAction(w, u.Scheme+"://"+u.Host)
	case u.Scheme != "":
		web.AllowFormAction(w, u.Scheme+":")
	}
}
