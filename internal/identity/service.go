package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
)

// AuditEvent is a security-relevant fact for the audit log.
type AuditEvent struct {
	Actor, Action, Subject, Remote string
	Details                        map[string]string
}

// Auditor appends events to the audit log inside the caller's transaction,
// so an event is recorded exactly when the action it describes commits.
type Auditor interface {
	Audit(ctx context.Context, tx *sql.Tx, e AuditEvent) error
}

// Mailer queues a message in the outbox inside the caller's transaction.
type Mailer interface {
	Enqueue(ctx context.Context, tx *sql.Tx, to, subject, text string) error
}

// Service is the identity rules over the database: registration, logins,
// recovery, closure.
type Service struct {
	DB       *db.DB
	Store    *Store
	Sessions *Sessions
	Throttle *Throttle
	Audit    Auditor
	Mail     Mailer
	// T translates mail texts; Town names the town in them.
	T    func(lang, id string, args ...any) string
	Town func(ctx context.Context) string
	Now  func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// FieldErrors maps a form field to the message id explaining what is wrong.
type FieldErrors map[string]string

func (f FieldErrors) Error() string { return fmt.Sprintf("%d invalid fields", len(f)) }

// Registration is what the registration form asks.
type Registration struct {
	Email, Password, Password2, FiscalCode, GivenName, FamilyName, Lang string
	AcceptPrivacy                                                       bool
}

// ValidEmail reports whether s is one plain address of sensible length,
// printable ASCII only: what the outbox can put in a To: header.
func ValidEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

func validName(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= 100 && !strings.ContainsAny(s, "<>\r\n\t")
}

// passwordMessage is the form message of a password policy error.
func passwordMessage(err error) string {
	switch {
	case errors.Is(err, ErrPasswordShort):
		return "identity.error.password_short"
	case errors.Is(err, ErrPasswordLong):
		return "identity.error.password_long"
	default:
		return "identity.error.password_common"
	}
}

// FiscalCodeMessage is the form message of a codice fiscale error.
func FiscalCodeMessage(err error) string {
	switch {
	case errors.Is(err, cf.ErrLength):
		return "identity.error.cf_length"
	case errors.Is(err, cf.ErrDate):
		return "identity.error.cf_date"
	case errors.Is(err, cf.ErrCheck):
		return "identity.error.cf_check"
	default:
		return "identity.error.cf_format"
	}
}

// Validate checks the form and normalises it.
func (r *Registration) Validate() FieldErrors {
	fe := FieldErrors{}
	r.Email = NormalizeEmail(r.Email)
	r.GivenName, r.FamilyName = strings.TrimSpace(r.GivenName), strings.TrimSpace(r.FamilyName)
	if !ValidEmail(r.Email) {
		fe["email"] = "identity.error.email"
	}
	if !validName(r.GivenName) {
		fe["given_name"] = "identity.error.name"
	}
	if !validName(r.FamilyName) {
		fe["family_name"] = "identity.error.name"
	}
	if code, err := cf.Parse(r.FiscalCode); err != nil {
		fe["fiscal_code"] = FiscalCodeMessage(err)
	} else {
		r.FiscalCode = string(code)
	}
	if err := CheckPassword(r.Password, r.Email, r.FiscalCode, r.GivenName, r.FamilyName); err != nil {
		fe["password"] = passwordMessage(err)
	} else if r.Password != r.Password2 {
		fe["password2"] = "identity.error.password_mismatch"
	}
	if !r.AcceptPrivacy {
		fe["privacy"] = "identity.error.privacy"
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// Register creates an account waiting for its address to be verified, and
// mails the verification link. To avoid revealing who is registered, an
// address or fiscal code already in use gets the same answer as a new one:
// the owner of the address is told by mail instead.
func (s *Service) Register(ctx context.Context, r Registration, baseURL, remote string) error {
	if fe := r.Validate(); fe != nil {
		return fe
	}
	hash, err := HashPassword(r.Password)
	if err != nil {
		return err
	}
	code, _ := cf.Parse(r.FiscalCode)
	town := s.Town(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a := &Account{Kind: KindResident, Email: r.Email, PasswordHash: hash, FiscalCode: r.FiscalCode,
			GivenName: r.GivenName, FamilyName: r.FamilyName, Sex: code.Sex(), BirthDate: code.BirthDate(s.now()).Format("2006-01-02"), Lang: r.Lang}
		err := s.Store.insert(ctx, tx, a)
		switch {
		case errors.Is(err, ErrEmailTaken):
			return s.Mail.Enqueue(ctx, tx, r.Email, s.T(r.Lang, "mail.exists.subject", "Town", town),
				s.T(r.Lang, "mail.exists.body", "Town", town, "Login", baseURL+"/accedi", "Reset", baseURL+"/password-dimenticata"))
		case errors.Is(err, ErrFiscalTaken):
			return s.Mail.Enqueue(ctx, tx, r.Email, s.T(r.Lang, "mail.cf_exists.subject", "Town", town),
				s.T(r.Lang, "mail.cf_exists.body", "Town", town, "Reset", baseURL+"/password-dimenticata"))
		case err != nil:
			return err
		}
		token, err := s.Store.NewToken(ctx, tx, a.ID, PurposeVerify)
		if err != nil {
			return err
		}
		if err := s.Mail.Enqueue(ctx, tx, r.Email, s.T(r.Lang, "mail.verify.subject", "Town", town),
			s.T(r.Lang, "mail.verify.body", "Town", town, "Name", a.GivenName, "Link", baseURL+"/verifica-email?token="+token)); err != nil {
			return err
		}
		return s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + a.ID, Action: "account.registered", Subject: a.ID, Remote: remote})
	})
}

// VerifyEmail consumes a verification token.
func (s *Service) VerifyEmail(ctx context.Context, token, remote string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err := s.Store.UseToken(ctx, tx, token, PurposeVerify)
		if err != nil {
			return err
		}
		if err := s.Store.MarkVerified(ctx, tx, id); err != nil {
			return err
		}
		return s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + id, Action: "account.email_verified", Subject: id, Remote: remote})
	})
}

// ThrottledError says how long to wait before trying again.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string { return "too many attempts, wait " + e.Wait.String() }
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// PendingTOTP is returned by LoginPassword for an operator: the password was
// right, the one-time code is still to come. Token carries the login to the
// second step; Enrol says the operator has no authenticator yet.
type PendingTOTP struct {
	Token string
	Enrol bool
}

func (p *PendingTOTP) Error() string { return "second factor required" }
func (p *PendingTOTP) Unwrap() error { return ErrTOTPRequired }

// Login is a successful login: the account and the session cookie's token.
type Login struct {
	Account *Account
	Token   string
}

// LoginPassword checks an address and a password, with the progressive
// delay, and starts a low-assurance session. Every failure looks the same
// from outside, whatever the reason.
func (s *Service) LoginPassword(ctx context.Context, email, password, remote, userAgent, baseURL string) (*Login, error) {
	email = NormalizeEmail(email)
	wait, err := s.Throttle.Wait(ctx, email, remote)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		_ = s.Audit.Audit(ctx, nil, AuditEvent{Actor: "anonymous", Action: "login.password.throttled", Subject: email, Remote: remote})
		return nil, &ThrottledError{Wait: wait.Round(time.Second)}
	}
	a, err := s.Store.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	ok := false
	if a != nil && a.ClosedAt == nil && a.PasswordHash != "" {
		ok = VerifyPassword(a.PasswordHash, password)
	} else {
		VerifyPassword(dummyHash, password) // as slow as a real check
	}
	if !ok {
		if err := s.Throttle.Fail(ctx, email, remote); err != nil {
			return nil, err
		}
		_ = s.Audit.Audit(ctx, nil, AuditEvent{Actor: "anonymous", Action: "login.password.refused", Subject: email, Remote: remote})
		return nil, ErrBadCredentials
	}
	if a.EmailVerifiedAt == nil {
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			token, err := s.Store.NewToken(ctx, tx, a.ID, PurposeVerify)
			if err != nil {
				return err
			}
			town := s.Town(ctx)
			return s.Mail.Enqueue(ctx, tx, a.Email, s.T(a.Lang, "mail.verify.subject", "Town", town),
				s.T(a.Lang, "mail.verify.body", "Town", town, "Name", a.GivenName, "Link", baseURL+"/verifica-email?token="+token))
		})
		if err != nil {
			return nil, err
		}
		return nil, ErrNotVerified
	}
	if a.Kind == KindOperator {
		var token string
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			token, err = s.Store.NewToken(ctx, tx, a.ID, PurposeTOTP)
			return err
		})
		if err != nil {
			return nil, err
		}
		return nil, &PendingTOTP{Token: token, Enrol: a.TOTPSecret == ""}
	}
	return s.startSession(ctx, a, assurance.Low, "password", remote, userAgent)
}

// LoginTOTP completes an operator's password login with the one-time code.
// For an operator without an authenticator, secret is the one shown to them
// at enrolment, stored once the first code matches.
func (s *Service) LoginTOTP(ctx context.Context, pending, code, secret, remote, userAgent string) (*Login, error) {
	var login *Login
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err := s.Store.UseToken(ctx, tx, pending, PurposeTOTP)
		if err != nil {
			return err
		}
		a, err := s.Store.get(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		stored := a.TOTPSecret
		if stored == "" {
			stored = secret
		}
		step, ok := MatchTOTP(stored, code, s.now())
		if stored == "" || !ok {
			return ErrBadCredentials
		}
		// A code is good once: one seen over someone's shoulder, or
		// replayed from a captured request, is refused within its window.
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrBadCredentials
		}
		if a.TOTPSecret == "" {
			if err := s.Store.SetTOTP(ctx, tx, a.ID, secret); err != nil {
				return err
			}
			if err := s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + a.ID, Action: "totp.enrolled", Subject: a.ID, Remote: remote}); err != nil {
				return err
			}
		}
		login, err = s.sessionTx(ctx, tx, a, assurance.Low, "password+totp", remote, userAgent)
		return err
	})
	if errors.Is(err, ErrBadCredentials) {
		_ = s.Audit.Audit(ctx, nil, AuditEvent{Actor: "anonymous", Action: "login.totp.refused", Remote: remote})
	}
	return login, err
}

func (s *Service) startSession(ctx context.Context, a *Account, level assurance.Level, method, remote, userAgent string) (*Login, error) {
	var login *Login
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		login, err = s.sessionTx(ctx, tx, a, level, method, remote, userAgent)
		return err
	})
	return login, err
}

func (s *Service) sessionTx(ctx context.Context, tx *sql.Tx, a *Account, level assurance.Level, method, remote, userAgent string) (*Login, error) {
	if a.Email != "" {
		if err := s.Throttle.Succeed(ctx, tx, a.Email); err != nil {
			return nil, err
		}
	}
	token, err := s.Sessions.Create(ctx, tx, a.ID, level, method, userAgent)
	if err != nil {
		return nil, err
	}
	if err := s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + a.ID, Action: "login." + method + ".ok", Subject: a.ID, Remote: remote,
		Details: map[string]string{"assurance": string(level)}}); err != nil {
		return nil, err
	}
	return &Login{Account: a, Token: token}, nil
}

// CardHolder is who a verified smart card says it belongs to.
type CardHolder struct {
	FiscalCode, GivenName, FamilyName, Serial, Kind string
}

// LoginCard starts a high-assurance session for the holder of a verified
// card, creating the account at the first login or linking it by fiscal
// code to the account registered with a password.
func (s *Service) LoginCard(ctx context.Context, h CardHolder, remote, userAgent string) (*Login, error) {
	code, err := cf.Parse(h.FiscalCode)
	if err != nil {
		return nil, err
	}
	var login *Login
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err := s.Store.get(ctx, tx, `fiscal_code = $1`, string(code))
		if errors.Is(err, ErrNotFound) {
			a = &Account{Kind: KindResident, FiscalCode: string(code), GivenName: titleCase(h.GivenName), FamilyName: titleCase(h.FamilyName),
				Sex: code.Sex(), BirthDate: code.BirthDate(s.now()).Format("2006-01-02")}
			if err := s.Store.insert(ctx, tx, a); err != nil {
				return err
			}
			if err := s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + a.ID, Action: "account.created.crs", Subject: a.ID, Remote: remote}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		login, err = s.sessionTx(ctx, tx, a, assurance.High, "crs", remote, userAgent)
		if login != nil {
			login.Account = a
		}
		return err
	})
	return login, err
}

// titleCase turns the capitals of a certificate ("MARIO ROSSI") into a name.
func titleCase(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = strings.ToUpper(string(r)) + w[n:]
	}
	return strings.Join(words, " ")
}

// RequestReset mails a password-reset link if the address belongs to an
// open account; the caller shows the same answer either way.
func (s *Service) RequestReset(ctx context.Context, email, lang, baseURL, remote string) error {
	email = NormalizeEmail(email)
	if !ValidEmail(email) {
		return FieldErrors{"email": "identity.error.email"}
	}
	a, err := s.Store.ByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) || (a != nil && a.ClosedAt != nil) {
		_ = s.Audit.Audit(ctx, nil, AuditEvent{Actor: "anonymous", Action: "password.reset.unknown", Subject: email, Remote: remote})
		return nil
	}
	if err != nil {
		return err
	}
	town := s.Town(ctx)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		token, err := s.Store.NewToken(ctx, tx, a.ID, PurposeReset)
		if err != nil {
			return err
		}
		if err := s.Mail.Enqueue(ctx, tx, a.Email, s.T(a.Lang, "mail.reset.subject", "Town", town),
			s.T(a.Lang, "mail.reset.body", "Town", town, "Name", a.GivenName, "Link", baseURL+"/reimposta-password?token="+token)); err != nil {
			return err
		}
		return s.Audit.Audit(ctx, tx, AuditEvent{Actor: "anonymous", Action: "password.reset.requested", Subject: a.ID, Remote: remote})
	})
}

// ResetPassword sets a new password with a reset token and ends every
// session of the account: whoever knew the old password is logged out.
func (s *Service) ResetPassword(ctx context.Context, token, password, password2, remote string) error {
	if err := CheckPassword(password); err != nil {
		return FieldErrors{"password": passwordMessage(err)}
	}
	if password != password2 {
		return FieldErrors{"password2": "identity.error.password_mismatch"}
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	var ended []string
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		id, err := s.Store.UseToken(ctx, tx, token, PurposeReset)
		if err != nil {
			return err
		}
		if err := s.Store.SetPassword(ctx, tx, id, hash); err != nil {
			return err
		}
		// The link came by mail: the address works.
		if err := s.Store.MarkVerified(ctx, tx, id); err != nil {
			return err
		}
		if ended, err = s.Sessions.EndAll(ctx, tx, id); err != nil {
			return err
		}
		return s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + id, Action: "password.reset.done", Subject: id, Remote: remote})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}

// LogoutEverywhere ends every session of the account.
func (s *Service) LogoutEverywhere(ctx context.Context, id, remote string) error {
	var ended []string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ended, err = s.Sessions.EndAll(ctx, tx, id); err != nil {
			return err
		}
		return s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + id, Action: "logout.everywhere", Subject: id, Remote: remote})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}

// CloseAccount erases the resident's personal data at their request, after
// telling them by mail.
func (s *Service) CloseAccount(ctx context.Context, a *Account, remote string) error {
	town := s.Town(ctx)
	var ended []string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ended, err = s.Sessions.EndAll(ctx, tx, a.ID); err != nil {
			return err
		}
		if a.Email != "" {
			if err := s.Mail.Enqueue(ctx, tx, a.Email, s.T(a.Lang, "mail.closed.subject", "Town", town),
				s.T(a.Lang, "mail.closed.body", "Town", town, "Name", a.GivenName)); err != nil {
				return err
			}
		}
		if err := s.Store.Close(ctx, tx, a.ID); err != nil {
			return err
		}
		return s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + a.ID, Action: "account.closed", Subject: a.ID, Remote: remote})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}

// UpdateProfile validates and saves what a resident may change.
func (s *Service) UpdateProfile(ctx context.Context, a *Account, p Profile, remote string) error {
	fe := FieldErrors{}
	if !validName(p.GivenName) {
		fe["given_name"] = "identity.error.name"
	}
	if !validName(p.FamilyName) {
		fe["family_name"] = "identity.error.name"
	}
	if p.Sex != "" && p.Sex != "F" && p.Sex != "M" {
		fe["sex"] = "identity.error.sex"
	}
	if p.BirthDate != "" {
		if d, err := time.Parse("2006-01-02", p.BirthDate); err != nil || d.After(s.now()) || d.Year() < 1900 {
			fe["birth_date"] = "identity.error.birth_date"
		}
	}
	if utf8.RuneCountInString(p.Phone) > 30 || strings.Trim(p.Phone, "+0123456789 ") != "" {
		fe["phone"] = "identity.error.phone"
	}
	if utf8.RuneCountInString(p.Address) > 200 || strings.ContainsAny(p.Address, "<>\r\n") {
		fe["address"] = "identity.error.address"
	}
	if len(fe) > 0 {
		return fe
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Store.UpdateProfile(ctx, tx, a.ID, p); err != nil {
			return err
		}
		return s.Audit.Audit(ctx, tx, AuditEvent{Actor: "account:" + a.ID, Action: "account.profile_updated", Subject: a.ID, Remote: remote})
	})
}
