package timeuse

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// OfficePath is the statistics office's page of the survey.
const OfficePath = "/backoffice/uso-del-tempo"

// OfficeRoles see the survey's counts and make invitations.
var OfficeRoles = []string{"statistics", "admin"}

// InviteData is the invitation's landing page.
type InviteData struct {
	Token, Alert string
}

// inviteNotice answers an invitation page with a message instead.
func (h *Web) inviteNotice(w http.ResponseWriter, r *http.Request, status int, msg string) {
	p := h.App.NewPage(r, "timeuse.title")
	p.Data = &InviteData{Alert: msg}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.App.HTML(w, r, status, "timeuse_invite", p)
}

// inviteForm is where an invitation's link leads: a page with a button,
// so that a mail scanner opening the link starts nothing. It reads
// nothing from the database: the button's POST checks the invitation,
// within the client's budget.
func (h *Web) inviteForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	if len(token) < 20 || len(token) > 100 {
		h.inviteNotice(w, r, http.StatusNotFound, "timeuse.invite.invalid")
		return
	}
	p := h.App.NewPage(r, "timeuse.title")
	p.Data = &InviteData{Token: token}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.App.HTML(w, r, http.StatusOK, "timeuse_invite", p)
}

// InviteRule bounds the invitations a client opens: one is what a person
// needs; a few more allow for mistakes; more is someone trying links.
var InviteRule = throttle.Rule{Free: 10, Window: time.Hour}

// invite opens an invitation in this browser: its secret goes into a
// cookie for the survey's pages under InvitePath.
func (h *Web) invite(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	token := r.PostForm.Get("t")
	key := throttle.ClientKey("timeuse-invite:", web.RemoteAddr(r), "", InviteRule)
	if err := h.Store.DB.Tx(r.Context(), func(tx *sql.Tx) error { return h.Limiter.Take(r.Context(), tx, key) }); err != nil {
		var refused *throttle.Refused
		if errors.As(err, &refused) {
			err = &problem.Error{Kind: problem.Throttled, Retry: refused.Wait, Err: refused}
		}
		h.App.Fail(w, r, err)
		return
	}
	if _, err := h.Store.Invitation(r.Context(), token); err != nil {
		if errors.Is(err, ErrInvitation) {
			h.inviteNotice(w, r, http.StatusNotFound, "timeuse.invite.invalid")
			return
		}
		h.App.Fail(w, r, err)
		return
	}
	// #nosec G124 -- Secure whenever the portal is reached over HTTPS
	http.SetCookie(w, &http.Cookie{Name: InviteCookie, Value: token, Path: InvitePath, MaxAge: DefaultInvitationDays * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil || strings.HasPrefix(h.BaseURL, "https:"), SameSite: http.SameSiteLaxMode})
	web.Redirect(w, r, InvitePath, nil)
}

// OfficeData is the statistics office's page.
type OfficeData struct {
	Counts      Counts
	Invitations InvitationCounts
	// Links are the invitations just made, shown once.
	Links  []string
	Values map[string]string
	Errors Fields
}

func (h *Web) officePage(w http.ResponseWriter, r *http.Request, status int, d *OfficeData) {
	var err error
	if d.Counts, err = h.Store.Count(r.Context()); err == nil {
		d.Invitations, err = h.Store.CountInvitations(r.Context())
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if d.Values == nil {
		d.Values = map[string]string{"n": "100", "days": strconv.Itoa(DefaultInvitationDays)}
	}
	p := h.App.NewPage(r, "timeuse.office.title")
	p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.Title}}
	p.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "timeuse_office", p)
}

func (h *Web) office(w http.ResponseWriter, r *http.Request) {
	h.officePage(w, r, http.StatusOK, &OfficeData{})
}

// makeInvitations makes invitations and shows their links once.
func (h *Web) makeInvitations(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	f := r.PostForm
	n, days := number(f.Get("n")), number(f.Get("days"))
	errs := Fields{}
	if n < 1 || n > MaxInvitations {
		errs["n"] = "timeuse.error.invitations"
	}
	if days < 1 || days > 366 {
		errs["days"] = "timeuse.error.days"
	}
	if len(errs) > 0 {
		h.officePage(w, r, http.StatusUnprocessableEntity, &OfficeData{Errors: errs, Values: map[string]string{"n": f.Get("n"), "days": f.Get("days")}})
		return
	}
	a, _ := identity.Current(r.Context())
	secrets, err := h.Store.Invite(r.Context(), h.Audit, n, days, "operator:"+a.ID, web.RemoteAddr(r))
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	links := make([]string, len(secrets))
	for i, s := range secrets {
		links[i] = InviteURL(h.BaseURL, s)
	}
	h.officePage(w, r, http.StatusOK, &OfficeData{Links: links})
}

// InviteURL is an invitation's link.
func InviteURL(baseURL, secret string) string {
	return strings.TrimRight(baseURL, "/") + InviteLink + "?t=" + secret
}
