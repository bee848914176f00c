package identity

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/civico-pa/civico/internal/web"
)

// PasswordPath is where a logged-in person changes their password, and
// where an operator whose password someone else chose is sent first.
const PasswordPath = "/profilo/password" // #nosec G101 -- a URL path, no credential

// mustChangePassword: an operator logged in with a password someone else
// chose (the command line's, an administrator's) chooses their own before
// any page that needs a login. A card login proves who they are without it.
func mustChangePassword(a *Account, se *Session) bool {
	return a.Kind == KindOperator && a.PasswordChange && se.Method == "password+totp"
}

// MustChangePassword reports whether the session's operator must choose
// their own password before going anywhere a login opens, single sign-on
// into another application included (see PasswordPath).
func MustChangePassword(a *Account, se *Session) bool {
	return a != nil && se != nil && mustChangePassword(a, se)
}

// OperatorFormData is the content of the page that adds an operator.
type OperatorFormData struct {
	FormData
	Roles    []RoleChoice
	Password string // the initial password, shown once
	Operator *Account
}

// RoleChoice is a role as the form offers it.
type RoleChoice struct {
	Name    string
	Checked bool
}

// OperatorData is the content of an operator's page.
type OperatorData struct {
	FormData
	Operator *Account
	Self     bool
}

// operatorPage renders a page under Back office > Operators; heading, when
// given, replaces the title's message (an operator's address).
func (h *Web) operatorPage(w http.ResponseWriter, r *http.Request, status int, name, title, heading string, data any) {
	page := h.App.NewPage(r, title)
	if heading != "" {
		page.Title = heading
	}
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"},
		{Label: page.T("identity.operators.title"), Href: "/backoffice/operatori"}, {Label: page.Title}}
	page.Data = data
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, name, page)
}

func roleChoices(checked []string) []RoleChoice {
	out := make([]RoleChoice, len(Roles))
	for i, r := range Roles {
		out[i] = RoleChoice{Name: r}
		for _, c := range checked {
			out[i].Checked = out[i].Checked || c == r
		}
	}
	return out
}

func (h *Web) newOperatorForm(w http.ResponseWriter, r *http.Request) {
	h.operatorPage(w, r, http.StatusOK, "operator_new", "identity.operator.new", "",
		&OperatorFormData{FormData: FormData{Values: map[string]string{}}, Roles: roleChoices(nil)})
}

// addOperator creates the operator and shows their initial password, once:
// the administrator hands it over; the operator enrols an authenticator
// and chooses their own password at the first login.
func (h *Web) addOperator(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me, _ := Current(r.Context())
	f := r.PostForm
	op := NewOperator{Email: f.Get("email"), GivenName: f.Get("given_name"), FamilyName: f.Get("family_name"), FiscalCode: f.Get("fiscal_code"),
		Roles: f["role"], ChangePassword: true, Remote: web.RemoteAddr(r)}
	password := GeneratePassword()
	a, err := h.Svc.CreateOperator(r.Context(), op, password, "account:"+me.ID)
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
	case errors.Is(err, ErrEmailTaken):
		fe = FieldErrors{"email": "identity.error.operator_email_taken"}
	case errors.Is(err, ErrFiscalTaken):
		fe = FieldErrors{"fiscal_code": "identity.error.operator_cf_taken"}
	case err != nil:
		h.App.Fail(w, r, err)
		return
	default:
		h.operatorPage(w, r, http.StatusOK, "operator_password", "identity.operator.created", "",
			&OperatorFormData{Operator: a, Password: password})
		return
	}
	values := map[string]string{"email": f.Get("email"), "given_name": f.Get("given_name"), "family_name": f.Get("family_name"), "fiscal_code": f.Get("fiscal_code")}
	h.operatorPage(w, r, http.StatusUnprocessableEntity, "operator_new", "identity.operator.new", "",
		&OperatorFormData{FormData: FormData{Values: values, Errors: fe, Alert: "identity.error.form"}, Roles: roleChoices(f["role"])})
}

func (h *Web) operator(w http.ResponseWriter, r *http.Request) {
	h.renderOperator(w, r, http.StatusOK, "")
}

func (h *Web) renderOperator(w http.ResponseWriter, r *http.Request, status int, alert string) {
	a, err := h.Svc.Store.ByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) || (err == nil && (a.Kind != KindOperator || a.ClosedAt != nil)) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	me, _ := Current(r.Context())
	d := &OperatorData{Operator: a, Self: a.ID == me.ID, FormData: FormData{Alert: alert}}
	if r.URL.Query().Get("fatto") == "autenticatore" && alert == "" {
		d.Message = "identity.operator.totp_reset_done"
	}
	h.operatorPage(w, r, status, "operator", "", a.Email, d)
}

// operatorAction answers the errors an action on an operator may meet.
func (h *Web) operatorAction(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case errors.Is(err, ErrNotFound):
		h.App.Error(w, r, http.StatusNotFound)
	case errors.Is(err, ErrSelf):
		h.renderOperator(w, r, http.StatusConflict, "identity.error.operator_self")
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		return false
	}
	return true
}

func (h *Web) resetTOTP(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me, _ := Current(r.Context())
	id := r.PathValue("id")
	if h.operatorAction(w, r, h.Svc.ResetTOTP(r.Context(), id, me.ID, web.RemoteAddr(r))) {
		return
	}
	web.Redirect(w, r, "/backoffice/operatori/"+url.PathEscape(id), url.Values{"fatto": {"autenticatore"}})
}

func (h *Web) forcePassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me, _ := Current(r.Context())
	a, password, err := h.Svc.ForcePassword(r.Context(), r.PathValue("id"), me.ID, web.RemoteAddr(r))
	if h.operatorAction(w, r, err) {
		return
	}
	h.operatorPage(w, r, http.StatusOK, "operator_password", "identity.operator.forced", "",
		&OperatorFormData{Operator: a, Password: password})
}

// PasswordData is the content of the page that changes one's password.
type PasswordData struct {
	FormData
	// Required: an operator who must choose their own password first.
	Required bool
}

func (h *Web) passwordForm(w http.ResponseWriter, r *http.Request) {
	h.renderPassword(w, r, http.StatusOK, &PasswordData{})
}

func (h *Web) renderPassword(w http.ResponseWriter, r *http.Request, status int, d *PasswordData) {
	a, se := Current(r.Context())
	if a.PasswordHash == "" {
		// A card account has no password to change.
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	d.Required = mustChangePassword(a, se)
	if status == http.StatusOK && r.URL.Query().Get("cambiata") != "" {
		d.Message = "identity.password.done"
	}
	if d.Values == nil {
		d.Values = map[string]string{}
	}
	d.Next = web.SafeNext(r.FormValue("next"))
	page := h.App.NewPage(r, "identity.password.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("identity.profile.title"), Href: "/profilo"}, {Label: page.Title}}
	if d.Required {
		page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	}
	page.Data = d
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "password", page)
}

func (h *Web) changePassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	a, se := Current(r.Context())
	if a.PasswordHash == "" {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	f := r.PostForm
	err := h.Svc.ChangePassword(r.Context(), a, se, PasswordChange{Current: f.Get("current"), Password: f.Get("password"), Password2: f.Get("password2")},
		web.RemoteAddr(r))
	var fe FieldErrors
	var throttled *ThrottledError
	switch {
	case errors.As(err, &fe):
		h.renderPassword(w, r, http.StatusUnprocessableEntity, &PasswordData{FormData: FormData{Errors: fe, Alert: "identity.error.form"}})
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.Wait.Seconds())))
		h.renderPassword(w, r, http.StatusTooManyRequests, &PasswordData{FormData: FormData{Alert: "identity.error.throttled", Wait: throttled.Wait.String()}})
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "2")
		h.renderPassword(w, r, http.StatusServiceUnavailable, &PasswordData{FormData: FormData{Alert: "identity.error.busy"}})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		// Back where the login was going, or to this page, which says so.
		if next := web.SafeNext(f.Get("next")); next != "/" {
			http.Redirect(w, r, next, http.StatusSeeOther) // #nosec G710 -- SafeNext admits only a path on this site (FuzzSafeNext)
			return
		}
		web.Redirect(w, r, PasswordPath, url.Values{"cambiata": {"1"}})
	}
}
