package identity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/web"
)

// NewOperator is a back-office account to create.
type NewOperator struct {
	Email, FiscalCode, GivenName, FamilyName string
	Roles                                    []string
	// ChangePassword: the initial password is not the operator's own (the
	// command line printed it, an administrator saw it): they choose
	// their own at their first password login.
	ChangePassword bool
	// Remote is the client address of the administrator, for the audit.
	Remote string
}

// GeneratePassword returns a random password of 20 characters from an
// alphabet without look-alike characters, for a first operator login.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

// validate checks every field of a new operator at once; names are
// optional (the command line may leave them out) but bounded.
func (op *NewOperator) validate() (FieldErrors, cf.Code) {
	fe := FieldErrors{}
	op.Email = NormalizeEmail(op.Email)
	op.GivenName, op.FamilyName = strings.TrimSpace(op.GivenName), strings.TrimSpace(op.FamilyName)
	if !ValidEmail(op.Email) {
		fe["email"] = "identity.error.email"
	}
	if op.GivenName != "" && !validName(op.GivenName) {
		fe["given_name"] = "identity.error.name"
	}
	if op.FamilyName != "" && !validName(op.FamilyName) {
		fe["family_name"] = "identity.error.name"
	}
	var code cf.Code
	if op.FiscalCode = strings.TrimSpace(op.FiscalCode); op.FiscalCode != "" {
		var err error
		if code, err = cf.Parse(op.FiscalCode); err != nil {
			fe["fiscal_code"] = FiscalCodeMessage(err)
		}
	}
	if len(op.Roles) == 0 || slices.ContainsFunc(op.Roles, func(r string) bool { return !ValidRole(r) }) {
		fe["role"] = "identity.error.role"
	}
	op.Roles = slices.Compact(slices.Sorted(slices.Values(op.Roles)))
	if len(fe) > 0 {
		return fe, ""
	}
	return nil, code
}

// CreateOperator adds an operator with the given roles and initial
// password; they enrol an authenticator at their first password login, or
// log in with their card if a fiscal code is given. Every invalid field is
// reported at once (FieldErrors); an address or fiscal code that has an
// account already is ErrEmailTaken or ErrFiscalTaken.
func (s *Service) CreateOperator(ctx context.Context, op NewOperator, password, actor string) (*Account, error) {
	fe, code := op.validate()
	if fe != nil {
		return nil, fe
	}
	a := &Account{Kind: KindOperator, Email: op.Email, GivenName: op.GivenName, FamilyName: op.FamilyName, PasswordChange: op.ChangePassword}
	if code != "" {
		// Written by an administrator, so that the operator's card opens
		// this account; the card's first login proves it.
		a.FiscalCode, a.FiscalCodeSource = string(code), SourceAdmin
	}
	if err := CheckPassword(password, op.Email); err != nil {
		return nil, FieldErrors{"password": passwordMessage(err)}
	}
	// Through the bounded hasher when there is one: an administrator's
	// additions wait their turn with the logins.
	var hash string
	var err error
	if s.Hasher != nil {
		hash, err = s.Hasher.Hash(ctx, password)
	} else {
		hash, err = HashPassword(password)
	}
	if err != nil {
		return nil, err
	}
	a.PasswordHash = hash
	now := s.now()
	a.EmailVerifiedAt = &now
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Store.insert(ctx, tx, a); err != nil {
			return err
		}
		details := map[string]string{"email": a.Email, "roles": strings.Join(op.Roles, ",")}
		if a.FiscalCode != "" {
			details["card"] = "yes"
		}
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "operator.created", Subject: a.ID, Remote: op.Remote,
			Details: details}); err != nil {
			return err
		}
		for _, r := range op.Roles {
			if err := s.grant(ctx, tx, a.ID, r, actor); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.Roles = op.Roles
	return a, nil
}

func (s *Service) grant(ctx context.Context, tx *sql.Tx, id, role, actor string) error {
	if err := s.Store.GrantRole(ctx, tx, id, role, actor); err != nil {
		return err
	}
	return s.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "role.granted", Subject: id, Details: map[string]string{"role": role}})
}

// ErrLastAdmin protects the back office from losing its last administrator.
var ErrLastAdmin = errors.New("the last administrator keeps the admin role")

// SetRole grants or revokes a role of an operator. Revoking one ends the
// operator's sessions in the same transaction: the applications they
// logged into by single sign-on hold the roles of that login (Partecipa's
// office), and are told to log them out; the next login carries the roles
// left. A grant ends nothing: it shows at the next login.
func (s *Service) SetRole(ctx context.Context, id, role string, grant bool, actor string) error {
	if !ValidRole(role) {
		return FieldErrors{"role": "identity.error.role"}
	}
	var ended []string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err := s.Store.get(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		if a.Kind != KindOperator {
			return ErrNotFound
		}
		if grant {
			return s.grant(ctx, tx, id, role, actor)
		}
		if role == "admin" {
			if err := s.DB.Hold(ctx, tx, db.LockAdmins); err != nil {
				return err
			}
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_roles WHERE role = 'admin'`).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 && slices.Contains(a.Roles, "admin") {
				return ErrLastAdmin
			}
		}
		if err := s.Store.RevokeRole(ctx, tx, id, role); err != nil {
			return err
		}
		if ended, err = s.Sessions.EndAll(ctx, tx, id); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "role.revoked", Subject: id,
			Details: map[string]string{"role": role, "sessions_ended": strconv.Itoa(len(ended))}})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}

// OperatorsData is the content of the operators page.
type OperatorsData struct {
	Operators []*Account
	Roles     []string
	Alert     string
	Message   string
}

// Section is a part of the back office and the roles that may open it.
type Section struct {
	Label string // message id
	Href  string
	Roles []string
}

// BackOfficeData is the content of the back office's home.
type BackOfficeData struct {
	Sections []Section
}

// BackOfficeRoutes are the back-office pages of identity: its home, listing
// the sections the operator's roles open, and the operators and their
// roles, for administrators.
func (h *Web) backOfficeRoutes(m web.Registrar) {
	h.AddSection(Section{Label: "identity.operators.title", Href: "/backoffice/operatori", Roles: []string{"admin"}})
	m.Guarded(assurance.Low, Roles...).HandleFunc("GET /backoffice", func(w http.ResponseWriter, r *http.Request) {
		a, _ := Current(r.Context())
		d := &BackOfficeData{}
		for _, s := range h.sections {
			if slices.ContainsFunc(s.Roles, a.HasRole) {
				d.Sections = append(d.Sections, s)
			}
		}
		page := h.App.NewPage(r, "backoffice.title")
		page.Breadcrumb = []web.Crumb{{Label: page.Title}}
		page.Data = d
		w.Header().Set("Cache-Control", "private, no-store")
		h.App.HTML(w, r, http.StatusOK, "backoffice", page)
	})
	admin := m.Guarded(assurance.Low, "admin")
	admin.HandleFunc("GET /backoffice/operatori", h.operators)
	admin.HandleFunc("POST /backoffice/operatori/{id}/ruoli", h.setRole)
	admin.HandleFunc("GET /backoffice/operatori/nuovo", h.newOperatorForm)
	admin.HandleFunc("POST /backoffice/operatori/nuovo", h.addOperator)
	admin.HandleFunc("GET /backoffice/operatori/{id}", h.operator)
	admin.HandleFunc("POST /backoffice/operatori/{id}/autenticatore", h.resetTOTP)
	admin.HandleFunc("POST /backoffice/operatori/{id}/password", h.forcePassword)
}

// AddSection lists a part of the back office on its home page, for the
// operators whose roles open it. Features add theirs when they are wired,
// before the server starts.
func (h *Web) AddSection(s Section) { h.sections = append(h.sections, s) }

func (h *Web) operators(w http.ResponseWriter, r *http.Request) {
	h.renderOperators(w, r, http.StatusOK, "", "")
}

func (h *Web) renderOperators(w http.ResponseWriter, r *http.Request, status int, alert, message string) {
	ops, err := h.Svc.Store.Operators(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	if message == "" && r.URL.Query().Get("salvato") != "" {
		message = "identity.operators.saved"
	}
	page := h.App.NewPage(r, "identity.operators.title")
	page.Breadcrumb = []web.Crumb{{Label: page.T("backoffice.title"), Href: "/backoffice"}, {Label: page.Title}}
	page.Data = &OperatorsData{Operators: ops, Roles: Roles, Alert: alert, Message: message}
	w.Header().Set("Cache-Control", "private, no-store")
	h.App.HTML(w, r, status, "operators", page)
}

func (h *Web) setRole(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me, _ := Current(r.Context())
	grant := r.PostForm.Get("action") == "grant"
	err := h.Svc.SetRole(r.Context(), r.PathValue("id"), r.PostForm.Get("role"), grant, "account:"+me.ID)
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
		h.renderOperators(w, r, http.StatusUnprocessableEntity, "identity.error.role", "")
	case errors.Is(err, ErrLastAdmin):
		h.renderOperators(w, r, http.StatusConflict, "identity.error.last_admin", "")
	case errors.Is(err, ErrNotFound):
		h.App.Error(w, r, http.StatusNotFound)
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		web.Redirect(w, r, "/backoffice/operatori", url.Values{"salvato": {"1"}})
	}
}

// NewResident is a password account created without the registration
// form: the demo town's residents, or accounts carried over from the town's
// previous portal, whose addresses are already known to work. Like every
// password account it carries no fiscal code.
type NewResident struct {
	Email, Password, GivenName, FamilyName, Lang string
}

// ImportResident creates such an account. No mail is sent.
func (s *Service) ImportResident(ctx context.Context, r NewResident, actor string) (*Account, error) {
	r.Email = NormalizeEmail(r.Email)
	fe := FieldErrors{}
	if !ValidEmail(r.Email) {
		fe["email"] = "identity.error.email"
	}
	nameErrors(fe, r.GivenName, r.FamilyName)
	if err := CheckPassword(r.Password, r.Email, r.GivenName, r.FamilyName); err != nil {
		fe["password"] = passwordMessage(err)
	}
	if len(fe) > 0 {
		return nil, fe
	}
	hash, err := HashPassword(r.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	a := &Account{Kind: KindResident, Email: r.Email, EmailVerifiedAt: &now, PasswordHash: hash, GivenName: r.GivenName, FamilyName: r.FamilyName,
		NameSource: SourceSelf, Lang: r.Lang}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Store.insert(ctx, tx, a); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "account.imported", Subject: a.ID})
	})
	return a, err
}
