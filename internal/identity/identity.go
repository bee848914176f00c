// Package identity knows who is asking and how sure civico is of it:
// resident and operator accounts, password and smart-card (CRS/CNS) login,
// sessions shared by every process, roles, and the level of assurance each
// page requires.
package identity

import (
	"errors"
	"slices"
	"time"

	"github.com/civico-pa/civico/internal/problem"
)

// Kinds of account.
const (
	KindResident = "resident"
	KindOperator = "operator"
)

// Roles of operators. More can be added: a role is a name the route table
// checks, nothing else.
var Roles = []string{"admin", "desk", "urp", "schools", "finance", "moderator", "statistics", "protocol", "participation", "participation_desk"}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// Account is a person civico knows.
type Account struct {
	ID              string
	Kind            string
	Email           string
	EmailVerifiedAt *time.Time
	PasswordHash    string
	TOTPSecret      string
	FiscalCode      string
	GivenName       string
	FamilyName      string
	Sex             string
	BirthDate       string // YYYY-MM-DD
	// BirthPlace is the Belfiore code of the municipality (or foreign
	// state) of birth, as SPID asserts it; it goes with BirthSource.
	BirthPlace string
	// What proved the fiscal code, the names, and sex with birth date.
	FiscalCodeSource, NameSource, BirthSource Source
	// EIDASID is the eIDAS person identifier ("DE/IT/...") the Italian
	// eIDAS node proved (EIDASIDSource), for a European who may have no
	// fiscal code: it keys their account as a proven fiscal code does.
	EIDASID       string
	EIDASIDSource Source
	Phone         string
	Address       string
	Lang          string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ClosedAt      *time.Time
	Roles         []string
	// PasswordChange: someone else chose the operator's password (the
	// command line, an administrator); they choose their own before any
	// back-office page.
	PasswordChange bool
	// totpPending is the authenticator secret an operator is enrolling.
	totpPending string
	// SubjectSeed is what the subjects applications know the person by
	// derive from ('': the account's ID): a new account of a proven fiscal
	// code whose account was closed takes that account's (Subject).
	SubjectSeed string
}

// Subject is what the subjects applications know the person by derive
// from: the same across a closed account and the person's next one, so
// that closing an account never gives a second voice.
func (a *Account) Subject() string {
	if a.SubjectSeed != "" {
		return a.SubjectSeed
	}
	return a.ID
}

// DisplayName is how pages greet the account.
func (a *Account) DisplayName() string {
	switch {
	case a.GivenName != "" || a.FamilyName != "":
		return a.FullName()
	case a.Email != "":
		return a.Email
	}
	return a.FiscalCode
}

// FullName is the given and family name, whichever are known.
func (a *Account) FullName() string { return joinNonEmpty(a.GivenName, a.FamilyName) }

// ProvenFiscalCode is the fiscal code a session may act on: only when the
// login that started it proved who the person is (a card, SPID level 2 or
// more, CIE) and the account's fiscal code comes from such a proof. A
// password session never has one, whatever the account holds: every
// feature that hands out something by fiscal code (certificates,
// payments, enrolments, one-person-one-voice ballots) asks here.
func (a *Account) ProvenFiscalCode(se *Session) (string, bool) {
	if a == nil || se == nil || a.FiscalCode == "" || !a.FiscalCodeSource.Proven() || !se.Assurance.ProvesIdentity() {
		return "", false
	}
	return a.FiscalCode, true
}

// SeenBy is the account as a session may see it, and whether anything was
// withheld: a session whose login did not prove who the person is (a
// password) gets it without the fiscal code a card (or an administrator)
// proved, nor the sex and birth date that came with it, as /profilo and
// /api/v1/me show them. A code merely typed by the person is theirs to see.
//
// The same holds for a European's eIDAS identifier (often a national
// identity number) and the birth date the eIDAS node proved with it
// (outside review M5).
func (a *Account) SeenBy(se *Session) (*Account, bool) {
	proving := se != nil && se.Assurance.ProvesIdentity()
	hideCode := !proving && a.FiscalCode != "" && a.FiscalCodeSource.Proven()
	hideEIDAS := !proving && a.EIDASID != "" && a.EIDASIDSource.Proven()
	if !hideCode && !hideEIDAS {
		return a, false
	}
	v := *a
	if hideCode {
		v.FiscalCode, v.FiscalCodeSource, v.Sex, v.BirthDate, v.BirthPlace, v.BirthSource = "", SourceNone, "", "", "", SourceNone
	}
	if hideEIDAS {
		v.EIDASID, v.EIDASIDSource = "", SourceNone
		if v.BirthSource == SourceEIDAS {
			v.BirthDate, v.BirthSource = "", SourceNone
		}
	}
	return &v, true
}

// sources says what proved each attribute the account has.
func (a *Account) sources() map[string]Source {
	out := map[string]Source{}
	if a.Email != "" {
		out["email"] = SourceSelf
		if a.EmailVerifiedAt != nil {
			out["email"] = SourceEmailLink
		}
	}
	if a.FiscalCode != "" {
		out["fiscal_code"] = a.FiscalCodeSource
	}
	if a.EIDASID != "" {
		out["eidas_id"] = a.EIDASIDSource
	}
	if a.GivenName != "" || a.FamilyName != "" {
		out["name"] = a.NameSource
	}
	if a.BirthDate != "" {
		out["sex_and_birth_date"] = a.BirthSource
	}
	return out
}

// HasRole reports whether the account holds role.
func (a *Account) HasRole(role string) bool { return slices.Contains(a.Roles, role) }

func joinNonEmpty(parts ...string) string {
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		if out != "" {
			out += " "
		}
		out += p
	}
	return out
}

// Errors of the identity rules.
var (
	ErrNotFound       = problem.New(problem.NotFound, "", errors.New("account not found"))
	ErrEmailTaken     = errors.New("email already registered")
	ErrFiscalTaken    = errors.New("fiscal code already registered")
	ErrEIDASTaken     = errors.New("eIDAS identifier already registered")
	ErrBadCredentials = errors.New("wrong email or password")
	ErrNotVerified    = errors.New("email address not verified")
	ErrThrottled      = errors.New("too many attempts")
	ErrClosed         = errors.New("account closed")
	ErrTokenInvalid   = errors.New("link invalid, expired or already used")
	ErrTOTPRequired   = errors.New("second factor required")
	// ErrOperatorLevel: an operator's account opens only with a second
	// factor (a one-time code, SPID level 2 or more, the card), never with
	// a provider's single-factor login (SPID level 1).
	ErrOperatorLevel = errors.New("an operator's account needs a login with a second factor")
)
