package identity

import (
	"context"
	"database/sql"
	"errors"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Register is the town's population register, as identity needs it.
type Register interface {
	// Birth returns the sex and birth date the register holds for a
	// fiscal code; ok is false for someone it does not hold.
	Birth(ctx context.Context, fiscalCode string) (sex, birthDate string, ok bool, err error)
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
	Limiter  *throttle.Limiter
	Limits   Limits
	Hasher   *Hasher
	Audit    audit.Writer
	Mail     Mailer
	// Mergers move other features' data when two accounts are linked.
	Mergers []Merger
	// Closers erase other features' personal data of an account its
	// owner closes, in the closure's transaction.
	Closers []Closer
	// Register, when the town loaded its population register, gives sex
	// and birth date of a person whose fiscal code a login proved.
	Register Register
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

// FieldErrors maps a form field to the message id explaining what is
// wrong: problem.Fields, the one type of invalid request.
type FieldErrors = problem.Fields

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

func validName(s string) bool { return nameMessage(s) == "" }

// nameMessage is the form message of a name that cannot be one ("" for a
// good name): its length, or the characters a name may not hold (markup,
// line breaks), said as such.
func nameMessage(s string) string {
	switch n := utf8.RuneCountInString(s); {
	case strings.ContainsAny(s, "<>"):
		return "identity.error.name_markup"
	case strings.ContainsAny(s, "\r\n\t"):
		return "identity.error.name_breaks"
	case n < 1 || n > 100:
		return "identity.error.name"
	}
	return ""
}

// nameErrors sets the message of each name field that cannot be one.
func nameErrors(fe FieldErrors, given, family string) {
	if m := nameMessage(given); m != "" {
		fe["given_name"] = m
	}
	if m := nameMessage(family); m != "" {
		fe["family_name"] = m
	}
}

// Phone numbers as people write them: an optional international prefix
// (+ or 00), then digits in groups separated by spaces, dots, slashes or
// hyphens; 6 to 15 digits in all (E.164 allows 15, the shortest Italian
// landline numbers have 6).
var phoneRE = regexp.MustCompile(`^(\+|00)?[0-9]+([ ./-]?[0-9]+)*$`)

// ValidPhone reports whether s is a phone number, Italian or international.
func ValidPhone(s string) bool {
	if len(s) > 30 || !phoneRE.MatchString(s) {
		return false
	}
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if strings.HasPrefix(s, "00") {
		digits -= 2
	}
	return digits >= 6 && digits <= 15
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

// ThrottledError says how long to wait before trying again.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string { return "too many attempts, wait " + e.Wait.String() }
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// RetryWait is how long a refused budget asks to wait, whether the
// refusal came from a throttle.Limiter or from a login's guard
// (ThrottledError); false for any other error.
func RetryWait(err error) (time.Duration, bool) {
	var refused *throttle.Refused
	var slow *ThrottledError
	switch {
	case errors.As(err, &refused):
		return refused.Wait, true
	case errors.As(err, &slow):
		return slow.Wait, true
	}
	return 0, false
}

// PendingTOTP is returned by LoginPassword for an operator: the password was
// right, the one-time code is still to come. Token carries the login to the
// second step.
type PendingTOTP struct {
	Token string
	// Secret is the authenticator secret to enrol, for an operator who has
	// none yet: the same at every attempt until a code from it succeeds.
	Secret string
}

func (p *PendingTOTP) Error() string { return "second factor required" }
func (p *PendingTOTP) Unwrap() error { return ErrTOTPRequired }

// Login is a successful login: the account, the session cookie's token
// and, for a password login, the browser's new device token.
type Login struct {
	Account *Account
	Token   string
	Device  string
	// ended are the sessions the login ended (beyond MaxPerAccount), for
	// Sessions.Ended once its transaction has committed.
	ended []string
}

// started passes on a login whose transaction has ended with err, telling
// single sign-on about the sessions it ended once it has committed.
func (s *Service) started(ctx context.Context, login *Login, err error) (*Login, error) {
	if err == nil && login != nil {
		s.Sessions.Ended(ctx, login.ended)
	}
	return login, err
}

// LoginPassword checks an address and a password and starts a
// low-assurance session. The attempt is counted against the login budgets
// before the password is checked (one transaction: parallel attempts cannot
// race past a limit), and given back if it was right; argon2 runs only for
// attempts the budgets allowed. Every failure looks the same from outside,
// whatever the reason. device is the browser's device token, if any.
func (s *Service) LoginPassword(ctx context.Context, email, password, device, remote, userAgent string) (*Login, error) {
	email = NormalizeEmail(email)
	if len(email) > 254 || len(password) > 4*MaxPasswordLength {
		return nil, ErrBadCredentials
	}
	keys := s.loginKeys(email, remote, s.trustedDevice(ctx, device, email))
	if err := s.take(ctx, keys); err != nil {
		if errors.Is(err, ErrThrottled) {
			s.auditRefusal(ctx, audit.Entry{Actor: "anonymous", Action: "login.password.throttled", Subject: email, Remote: remote})
		}
		return nil, err
	}
	a, err := s.Store.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, s.giveBack(ctx, keys, err)
	}
	hash := dummyHash // as slow as a real check
	if a != nil && a.ClosedAt == nil && a.PasswordHash != "" {
		hash = a.PasswordHash
	}
	ok, err := s.Hasher.Verify(ctx, hash, password)
	if err != nil {
		return nil, s.giveBack(ctx, keys, err)
	}
	if !ok || hash == dummyHash {
		s.auditRefusal(ctx, audit.Entry{Actor: "anonymous", Action: "login.password.refused", Subject: email, Remote: remote})
		return nil, ErrBadCredentials
	}
	if a.EmailVerifiedAt == nil {
		// An address never confirmed proves nothing: registering again
		// (a link to the address) replaces this account.
		return nil, s.giveBack(ctx, keys, ErrNotVerified)
	}
	if a.Kind == KindOperator {
		var token string
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			if err := s.succeeded(ctx, tx, keys); err != nil {
				return err
			}
			if a.TOTPSecret == "" && a.totpPending == "" {
				a.totpPending = NewTOTPSecret()
				s.Store.Cache.Invalidate(a.ID)
				if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_pending = $1 WHERE id = $2`, a.totpPending, a.ID); err != nil {
					return err
				}
			}
			var err error
			token, err = s.Store.NewToken(ctx, tx, a.ID, PurposeTOTP)
			return err
		})
		if err != nil {
			return nil, err
		}
		return nil, &PendingTOTP{Token: token, Secret: a.totpPending}
	}
	var login *Login
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.succeeded(ctx, tx, keys); err != nil {
			return err
		}
		var err error
		if login, err = s.sessionTx(ctx, tx, a, assurance.Low, "password", "", remote, userAgent); err != nil {
			return err
		}
		login.Device, err = s.trustDevice(ctx, tx, a.ID, device)
		return err
	})
	return s.started(ctx, login, err)
}

// take draws an attempt from the budgets; a refusal becomes a
// *ThrottledError with the wait rounded for the page.
func (s *Service) take(ctx context.Context, keys []throttle.Key) error {
	return throttled(s.Limiter.Take(ctx, nil, keys...))
}

// throttled turns a refusal of the budgets into a *ThrottledError with the
// wait rounded for the page; any other error passes as it is.
func throttled(err error) error {
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		return &ThrottledError{Wait: max(time.Second, refused.Wait.Round(time.Second))}
	}
	return err
}

// giveBack returns an attempt that was never judged (the server was busy,
// the address unconfirmed) and passes err on.
func (s *Service) giveBack(ctx context.Context, keys []throttle.Key, err error) error {
	if e := s.DB.Tx(context.WithoutCancel(ctx), func(tx *sql.Tx) error { return s.Limiter.Give(ctx, tx, keys...) }); e != nil {
		return errors.Join(err, e)
	}
	return err
}

// LoginTOTP completes an operator's password login with the one-time code.
// A wrong code counts against the account's budget of codes and the
// pending login's own attempts (a few, then the password is asked again);
// an operator enrolling keeps the secret they were shown until a code from
// it succeeds.
func (s *Service) LoginTOTP(ctx context.Context, pending, code, remote, userAgent string) (*Login, error) {
	id, err := s.Store.PeekToken(ctx, pending, PurposeTOTP)
	if err != nil {
		return nil, err
	}
	if err := s.take(ctx, []throttle.Key{s.codeKey(id)}); err != nil {
		return nil, err
	}
	var login *Login
	wrong := false
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err := s.Store.get(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		secret, enrolling := a.TOTPSecret, false
		if secret == "" {
			secret, enrolling = a.totpPending, true
		}
		step, ok := MatchTOTP(secret, code, s.now())
		if ok {
			// A code is good once: one seen over someone's shoulder, or
			// replayed from a captured request, is refused within its window.
			s.Store.Cache.Invalidate(a.ID)
			res, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, a.ID)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			ok = n == 1
		}
		if !ok {
			wrong = true
			return s.Store.FailToken(ctx, tx, pending, s.Limits.CodeAttempts)
		}
		if _, err := s.Store.UseToken(ctx, tx, pending, PurposeTOTP); err != nil {
			return err
		}
		if enrolling {
			s.Store.Cache.Invalidate(a.ID)
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret = totp_pending, totp_pending = NULL, updated_at = $1 WHERE id = $2`, s.now(), a.ID); err != nil {
				return err
			}
			if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "totp.enrolled", Subject: a.ID, Remote: remote}); err != nil {
				return err
			}
		}
		if err := s.Limiter.Reset(ctx, tx, s.codeKey(a.ID).Name); err != nil {
			return err
		}
		login, err = s.sessionTx(ctx, tx, a, assurance.Low, "password+totp", "", remote, userAgent)
		return err
	})
	if err == nil && wrong {
		s.auditRefusal(ctx, audit.Entry{Actor: "anonymous", Action: "login.totp.refused", Subject: id, Remote: remote})
		refused := &CodeRefused{}
		if _, err := s.Store.PeekToken(ctx, pending, PurposeTOTP); err == nil {
			a, err := s.Store.ByID(ctx, id)
			if err != nil {
				return nil, err
			}
			refused.Email, refused.Retry = a.Email, &PendingTOTP{Token: pending, Secret: a.totpPending}
		}
		return nil, refused
	}
	return s.started(ctx, login, err)
}

// CodeRefused is a wrong one-time code. Retry, while the pending login has
// attempts left, is the same pending login to ask again with.
type CodeRefused struct {
	Retry *PendingTOTP
	Email string
}

func (e *CodeRefused) Error() string { return "wrong one-time code" }
func (e *CodeRefused) Unwrap() error { return ErrBadCredentials }

func (s *Service) sessionTx(ctx context.Context, tx *sql.Tx, a *Account, level assurance.Level, method, proof, remote, userAgent string) (*Login, error) {
	token, err := s.Sessions.Create(ctx, tx, a.ID, level, method, proof, userAgent)
	if err != nil {
		return nil, err
	}
	if err := s.Store.recordLogin(ctx, tx, a.ID, method); err != nil {
		return nil, err
	}
	ended, err := s.Sessions.trimTx(ctx, tx, a.ID, tokens.Hash(token))
	if err != nil {
		return nil, err
	}
	if len(ended) > 0 {
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "session.ended.limit", Subject: a.ID, Remote: remote,
			Details: map[string]string{"sessions": strconv.Itoa(len(ended)), "limit": strconv.Itoa(MaxPerAccount)}}); err != nil {
			return nil, err
		}
	}
	if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "login." + method + ".ok", Subject: a.ID, Remote: remote,
		Details: map[string]string{"assurance": string(level)}}); err != nil {
		return nil, err
	}
	return &Login{Account: a, Token: token, ended: ended}, nil
}

// CardHolder is who a verified smart card says it belongs to.
type CardHolder struct {
	FiscalCode, GivenName, FamilyName, Serial, Kind string
	// CardNumber is the card's own number (in the certificate's CN, between
	// the slash and the dot): the serial the issuing authority's registry
	// knows the card by.
	CardNumber string
	// Proof names the card for revocation checks (authority and serial).
	Proof string
}

// LoginCard starts a high-assurance session for the holder of a verified
// card. It enters only the account whose fiscal code a proof put there
// (an earlier card login, or an administrator for an operator), creating
// it at the first login. A fiscal code merely typed into a form (accounts
// registered before fiscal codes had to be proven) is a claim: the card
// holder's login takes it away from that account and opens their own, so a
// stranger who registered someone's fiscal code never sees what the holder
// does with the card. proof names the card (authority and serial), so that
// its revocation ends the session. One fiscal code logs in at most
// Limits.CardLogins times an hour (a *ThrottledError beyond).
func (s *Service) LoginCard(ctx context.Context, h CardHolder, proof, remote, userAgent string) (*Login, error) {
	return s.loginProven(ctx, Proven{FiscalCode: h.FiscalCode, GivenName: h.GivenName, FamilyName: h.FamilyName, Source: SourceCNS,
		Level: assurance.High, Method: "crs", Proof: cardProof(proof, h.CardNumber)}, remote, userAgent)
}

// Proven is who an identity provider civico trusts says a person is, in an
// answer civico verified: a SPID assertion (later a CIE one).
type Proven struct {
	// FiscalCode without any TINIT- prefix; the names as asserted.
	FiscalCode, GivenName, FamilyName string
	// BirthDate (YYYY-MM-DD) and BirthPlace (a Belfiore code), when the
	// provider asserted them.
	BirthDate, BirthPlace string
	// Source is what proved them (SourceSPID); Level the assurance of the
	// login; Method names it in sessions and the audit log ("spid").
	Source Source
	Level  assurance.Level
	Method string
	// Proof names what a later revocation would end the session for (a
	// card); empty for a provider's login.
	Proof string
	// Also, when set, runs in the login's transaction once the session is
	// made: the feature's own record of the login (what proved it, the
	// provider's session), so that the login and its record stand or fall
	// together.
	Also func(ctx context.Context, tx *sql.Tx, l *Login) error
	// EIDASID is the eIDAS person identifier the Italian eIDAS node
	// asserted (Source SourceEIDAS only): with no FiscalCode it is the
	// key of the person's account (a European without an Italian fiscal
	// code); with one, it is recorded on the fiscal code's account.
	EIDASID string
}

// LoginProven starts a session for a person an identity provider proved,
// under the same rule as the card: it enters only the account whose fiscal
// code a proof put there, creating it at the first login, and takes a
// merely typed fiscal code away from the account that claimed it. One
// fiscal code logs in at most Limits.CardLogins times an hour per method.
func (s *Service) LoginProven(ctx context.Context, p Proven, remote, userAgent string) (*Login, error) {
	if !p.Source.Proven() || p.Source == SourceSelf || !p.Level.Valid() || p.Method == "" {
		return nil, errors.New("identity: LoginProven needs a proving source, a level and a method")
	}
	// Only the eIDAS node proves an eIDAS identifier, and only at the
	// levels eIDAS knows (substantial, high).
	if p.EIDASID != "" || p.Source == SourceEIDAS {
		if p.Source != SourceEIDAS || !ValidEIDASID(p.EIDASID) || !p.Level.Satisfies(assurance.Substantial) {
			return nil, errors.New("identity: an eIDAS identifier needs the eIDAS node's proof at level substantial or high")
		}
		// The identifier alone: where the node's fiscal number for a
		// foreign person comes from is not documented, so it proves no
		// fiscal code here, enters no fiscal code's account (an
		// operator's) and joins no identifier to one (outside review
		// M1, M2, M4).
		if p.FiscalCode != "" {
			return nil, errors.New("identity: an eIDAS login proves the identifier only, not a fiscal code")
		}
		return s.loginEIDAS(ctx, p, remote, userAgent)
	}
	return s.loginProven(ctx, p, remote, userAgent)
}

// eidasIDRE is an eIDAS person identifier for an Italian service: the
// country of origin, IT (the destination), and the origin's code in
// printable characters (eIDAS SAML Attribute Profile, section 2.2.3).
var eidasIDRE = regexp.MustCompile(`^[A-Z]{2}/IT/[!-~]{1,256}$`)

// ValidEIDASID reports whether id is an eIDAS person identifier meant for
// an Italian service ("DE/IT/...").
func ValidEIDASID(id string) bool { return eidasIDRE.MatchString(id) }

// loginEIDAS starts a session for a European the eIDAS node proved by
// their eIDAS identifier alone: it enters the account a proof put that
// identifier on, creating it at the first login. An identifier recorded
// without proof (none is, today: no form takes one) is taken away, as a
// typed fiscal code is. One identifier logs in at most Limits.CardLogins
// times an hour.
func (s *Service) loginEIDAS(ctx context.Context, p Proven, remote, userAgent string) (*Login, error) {
	birth := ""
	if _, err := time.Parse("2006-01-02", p.BirthDate); err == nil {
		birth = p.BirthDate
	}
	var login *Login
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := throttled(s.Limiter.Take(ctx, tx, throttle.Key{Name: "login:eidas:" + p.EIDASID, Rule: throttle.Rule{Free: s.Limits.CardLogins, Window: time.Hour}})); err != nil {
			return err
		}
		a, err := s.Store.get(ctx, tx, `eidas_id = $1`, p.EIDASID)
		if err == nil && !a.EIDASIDSource.Proven() {
			if err := s.Store.setEIDAS(ctx, tx, a.ID, "", SourceNone); err != nil {
				return err
			}
			if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "account.claim_dropped", Subject: a.ID, Remote: remote,
				Details: map[string]string{"attribute": "eidas_id", "reason": "the holder logged in with " + p.Method}}); err != nil {
				return err
			}
			err = ErrNotFound
		}
		given, family := titleCase(p.GivenName), titleCase(p.FamilyName)
		switch {
		case errors.Is(err, ErrNotFound):
			a = &Account{Kind: KindResident, EIDASID: p.EIDASID, EIDASIDSource: p.Source, GivenName: given, FamilyName: family, NameSource: p.Source}
			if birth != "" {
				a.BirthDate, a.BirthSource = birth, p.Source
			}
			if err := s.Store.insert(ctx, tx, a); err != nil {
				return err
			}
			if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "account.created." + p.Method, Subject: a.ID, Remote: remote,
				Details: map[string]string{"eidas_mac": s.Store.EIDASMAC(p.EIDASID)}}); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			a.GivenName, a.FamilyName, a.NameSource = given, family, p.Source
			if birth != "" && a.BirthSource != SourceRegister && a.BirthSource != SourceFiscalCode {
				a.BirthDate, a.BirthSource = birth, p.Source
			}
			if err := s.Store.setProven(ctx, tx, a); err != nil {
				return err
			}
		}
		login, err = s.sessionTx(ctx, tx, a, p.Level, p.Method, p.Proof, remote, userAgent)
		if err == nil && p.Also != nil {
			err = p.Also(ctx, tx, login)
		}
		return err
	})
	return s.started(ctx, login, err)
}

func (s *Service) loginProven(ctx context.Context, p Proven, remote, userAgent string) (*Login, error) {
	code, err := cf.Parse(p.FiscalCode)
	if err != nil {
		return nil, err
	}
	sex, birth, birthSource, err := s.birthOf(ctx, code)
	if err != nil {
		return nil, err
	}
	if birthSource != SourceRegister && p.BirthDate != "" {
		if _, err := time.Parse("2006-01-02", p.BirthDate); err == nil {
			birth, birthSource = p.BirthDate, p.Source
		}
	}
	var login *Login
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		budget := "login:card:" + string(code)
		if p.Method != "crs" {
			budget = "login:" + p.Method + ":" + string(code)
		}
		if err := throttled(s.Limiter.Take(ctx, tx, throttle.Key{Name: budget, Rule: throttle.Rule{Free: s.Limits.CardLogins, Window: time.Hour}})); err != nil {
			return err
		}
		a, err := s.Store.get(ctx, tx, `fiscal_code = $1`, string(code))
		if err == nil && !a.FiscalCodeSource.Proven() {
			if err := s.Store.dropClaim(ctx, tx, a.ID); err != nil {
				return err
			}
			if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "account.claim_dropped", Subject: a.ID, Remote: remote,
				Details: map[string]string{"attribute": "fiscal_code", "reason": "the holder logged in with " + p.Method}}); err != nil {
				return err
			}
			err = ErrNotFound
		}
		given, family := titleCase(p.GivenName), titleCase(p.FamilyName)
		switch {
		case errors.Is(err, ErrNotFound):
			a = &Account{Kind: KindResident, FiscalCode: string(code), FiscalCodeSource: p.Source, GivenName: given, FamilyName: family,
				NameSource: p.Source, Sex: sex, BirthDate: birth, BirthPlace: p.BirthPlace, BirthSource: birthSource}
			if err := s.Store.insert(ctx, tx, a); err != nil {
				return err
			}
			if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "account.created." + p.Method, Subject: a.ID, Remote: remote}); err != nil {
				return err
			}
			if err := s.otherSpellings(ctx, tx, a, remote); err != nil {
				return err
			}
		case err != nil:
			return err
		case a.Kind == KindOperator && !p.Level.Satisfies(assurance.Substantial):
			// An operator's password needs a one-time code too: a
			// single-factor login elsewhere does not replace it.
			return ErrOperatorLevel
		default:
			// A code typed and now proved is the person's: it takes the
			// subject their closed account or the counter left for them.
			if !a.FiscalCodeSource.Proven() && a.SubjectSeed == "" {
				if err := s.Store.takeSuccession(ctx, tx, a); err != nil {
					return err
				}
				if err := s.Store.seedTaken(ctx, tx, a); err != nil {
					return err
				}
				if err := s.otherSpellings(ctx, tx, a, remote); err != nil {
					return err
				}
			}
			// The proof is the better source: what it proves replaces what
			// an administrator or the person wrote.
			a.FiscalCodeSource, a.GivenName, a.FamilyName, a.NameSource = p.Source, given, family, p.Source
			if a.BirthSource != SourceRegister {
				a.Sex, a.BirthDate, a.BirthSource = sex, birth, birthSource
			}
			if p.BirthPlace != "" {
				a.BirthPlace = p.BirthPlace
			}
			if err := s.Store.setProven(ctx, tx, a); err != nil {
				return err
			}
		}
		login, err = s.sessionTx(ctx, tx, a, p.Level, p.Method, p.Proof, remote, userAgent)
		if err == nil && p.Also != nil {
			err = p.Also(ctx, tx, login)
		}
		return err
	})
	return s.started(ctx, login, err)
}

// otherSpellings audits, when a login has just proved an account's fiscal
// code, the other spellings of that code on file (Store.OtherSpellings):
// the reverse path of the counter's guard (outside review L4). A person
// the counter answered under the register's spelling, whose card proves
// another, now has an account with a subject of its own beside the one
// kept for the register's spelling: the login goes on (the two may be two
// people, and the card is the better proof), the entry tells the audit's
// reader, and the counter refuses that spelling from now on, since an
// account holds another (ErrOtherSpelling). Codes appear only as keyed
// hashes (FiscalCodeAuditMAC).
func (s *Service) otherSpellings(ctx context.Context, tx *sql.Tx, a *Account, remote string) error {
	others, err := s.Store.otherSpellings(ctx, tx, a.FiscalCode)
	if err != nil || len(others) == 0 {
		return err
	}
	macs := make([]string, len(others))
	for i, o := range others {
		macs[i] = s.Store.FiscalCodeAuditMAC(o)
	}
	return s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "account.other_spelling", Subject: a.ID, Remote: remote,
		Details: map[string]string{"fiscal_code_mac": s.Store.FiscalCodeAuditMAC(a.FiscalCode), "other_spellings_mac": strings.Join(macs, " ")}})
}

// birthOf is the sex and birth date of a person whose fiscal code is
// proven: from the town's population register when it holds them, else
// from the fiscal code itself (whose year has two digits: a register
// settles the century for the very old).
func (s *Service) birthOf(ctx context.Context, code cf.Code) (sex, birth string, src Source, err error) {
	if s.Register != nil {
		sex, birth, ok, err := s.Register.Birth(ctx, string(code))
		if err != nil {
			return "", "", "", err
		}
		if ok && sex != "" && birth != "" {
			return sex, birth, SourceRegister, nil
		}
	}
	return code.Sex(), code.BirthDate(s.now()).Format("2006-01-02"), SourceFiscalCode, nil
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

// LogoutEverywhere ends every session of the account.
func (s *Service) LogoutEverywhere(ctx context.Context, id, remote string) error {
	var ended []string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ended, err = s.Sessions.EndAll(ctx, tx, id); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + id, Action: "logout.everywhere", Subject: id, Remote: remote})
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
		for _, c := range s.Closers {
			if err := c(ctx, tx, a.ID); err != nil {
				return err
			}
		}
		if err := s.Store.Close(ctx, tx, a.ID); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "account.closed", Subject: a.ID, Remote: remote})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}

// ProfileSavesPerHour is how many times one account may save its profile in
// an hour: each save is an audit entry, and nobody may grow the audit log
// at will.
const ProfileSavesPerHour = 60

// UpdateProfile validates and saves what a resident may change. Names that
// a card (or the register) proved are not theirs to change. A valid save
// draws on the account's budget (ProfileSavesPerHour): beyond it, a
// *ThrottledError and nothing saved.
func (s *Service) UpdateProfile(ctx context.Context, a *Account, p Profile, remote string) error {
	fe := FieldErrors{}
	if a.NameSource.Proven() {
		p.GivenName, p.FamilyName = a.GivenName, a.FamilyName
	}
	nameErrors(fe, p.GivenName, p.FamilyName)
	if p.Phone != "" && !ValidPhone(p.Phone) {
		fe["phone"] = "identity.error.phone"
	}
	if utf8.RuneCountInString(p.Address) > 200 || strings.ContainsAny(p.Address, "<>\r\n") {
		fe["address"] = "identity.error.address"
	}
	if len(fe) > 0 {
		return fe
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := throttled(s.Limiter.Take(ctx, tx, throttle.Key{Name: "profile:account:" + a.ID, Rule: throttle.Rule{Free: ProfileSavesPerHour, Window: time.Hour}})); err != nil {
			return err
		}
		if err := s.Store.UpdateProfile(ctx, tx, a.ID, p); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "account.profile_updated", Subject: a.ID, Remote: remote})
	})
}

// EndRevoked ends a session whose card its authority revoked after the
// login (its CRL names it).
func (s *Service) EndRevoked(ctx context.Context, se *Session, remote string) error {
	return s.endCardSession(ctx, se, remote, "session.ended.card_revoked")
}

// endCardSession ends a session whose card may no longer be used, telling
// the applications it logged into, with action in the audit log.
func (s *Service) endCardSession(ctx context.Context, se *Session, remote, action string) error {
	return s.endCardSessions(ctx, []*Session{se}, remote, action)
}

// endBatch is how many sessions one transaction of endCardSessions ends.
const endBatch = 200

// endCardSessions ends sessions whose card may no longer be used, a batch
// of endBatch to a transaction with their audit entries and the
// applications' logout notices, and then delivers every notice in one go
// (in parallel, bounded by the provider): a registry file that revokes
// thousands of cards ends their sessions in a few transactions, not one
// round trip per session. A session another process ended first is
// skipped.
func (s *Service) endCardSessions(ctx context.Context, sessions []*Session, remote, action string) error {
	var ended []string
	defer func() { s.Sessions.Ended(ctx, ended) }()
	for start := 0; start < len(sessions); start += endBatch {
		part := sessions[start:min(start+endBatch, len(sessions))]
		var batch []string
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			batch = batch[:0]
			for _, se := range part {
				s.Store.Cache.Invalidate(se.AccountID)
				res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, se.Hash)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					continue // another request ended it first
				}
				batch = append(batch, se.Hash)
				if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: action, Subject: se.AccountID, Remote: remote,
					Details: map[string]string{"card": se.Proof}}); err != nil {
					return err
				}
			}
			return s.Sessions.endTx(ctx, tx, batch)
		})
		if err != nil {
			return err
		}
		ended = append(ended, batch...)
	}
	return nil
}
