package identity

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Registration starts with the address alone. A link goes to it, and the
// account exists only once someone who reads that mailbox completes it
// (names and password): nobody can hold an address they do not read, the
// town's mail carries nothing a stranger typed, and no password is hashed
// for an anonymous request. A password account proves an address, nothing
// more: it carries no fiscal code (by law only SPID, CIE or a CNS card
// identify a resident online).

// signupTTL is how long a registration link works.
const signupTTL = 2 * time.Hour

// SignupRequest is the first registration form.
type SignupRequest struct {
	Email, Lang   string
	AcceptPrivacy bool
}

// Signup is the form that completes a registration.
type Signup struct {
	GivenName, FamilyName, Password, Password2 string
}

// ValidName reports whether s may be a given or family name: 1 to 100
// characters, no markup, no line breaks.
func ValidName(s string) bool { return validName(s) }

// The mails of registration and recovery. An address gets at most one live
// link of each kind (a reset link lives 30 minutes, a registration link 2
// hours) and a second ask while it lives sends nothing: so at most two
// mails an hour reach any address, whoever asks, and nobody can kill a
// resident's link by asking again. Each ask draws on the asking client's
// budget. Both requests do the same work
// whether or not the address has an account (a budget drawn, a link made
// unless one is live, one mail), so neither the page nor its timing tells
// who is registered; only the address's owner learns it, from the mail.
type linkKind int

const (
	linkRegister linkKind = iota // the registration form was sent
	linkReset                    // the forgotten-password form was sent
)

// RequestSignup answers the registration form: a link to complete the
// registration, or, for an address that has an account, a message saying
// so with a link to choose a new password.
func (s *Service) RequestSignup(ctx context.Context, r SignupRequest, baseURL, remote string) error {
	r.Email = NormalizeEmail(r.Email)
	fe := FieldErrors{}
	if !ValidEmail(r.Email) {
		fe["email"] = "identity.error.email"
	}
	if !r.AcceptPrivacy {
		fe["privacy"] = "identity.error.privacy"
	}
	if len(fe) > 0 {
		return fe
	}
	return s.mailLink(ctx, r.Email, r.Lang, baseURL, remote, linkRegister)
}

// RequestReset answers the forgotten-password form.
func (s *Service) RequestReset(ctx context.Context, email, lang, baseURL, remote string) error {
	email = NormalizeEmail(email)
	if !ValidEmail(email) {
		return FieldErrors{"email": "identity.error.email"}
	}
	return s.mailLink(ctx, email, lang, baseURL, remote, linkReset)
}

func (s *Service) mailLink(ctx context.Context, email, lang, baseURL, remote string, kind linkKind) error {
	if err := s.take(ctx, []throttle.Key{s.mailKey(remote)}); err != nil {
		return err
	}
	a, err := s.Store.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	town := s.Town(ctx)
	if a != nil && a.ClosedAt == nil && a.EmailVerifiedAt != nil {
		// The address has an account: a reset link, unless one is live.
		return s.DB.Tx(ctx, func(tx *sql.Tx) error {
			live, err := s.Store.hasLiveToken(ctx, tx, a.ID, PurposeReset)
			if err != nil || live {
				return err
			}
			token, err := s.Store.NewToken(ctx, tx, a.ID, PurposeReset)
			if err != nil {
				return err
			}
			link := baseURL + "/reimposta-password?token=" + token
			subject, body := s.T(a.Lang, "mail.reset.subject", "Town", town), s.T(a.Lang, "mail.reset.body", "Town", town, "Link", link)
			if kind == linkRegister {
				subject = s.T(a.Lang, "mail.exists.subject", "Town", town)
				body = s.T(a.Lang, "mail.exists.body", "Town", town, "Login", baseURL+"/accedi", "Link", link)
			}
			if err := s.Mail.Enqueue(ctx, tx, email, subject, body); err != nil {
				return err
			}
			return s.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "password.reset.requested", Subject: a.ID, Remote: remote})
		})
	}
	// No account (or one whose address was never confirmed, which a
	// completed registration replaces): a registration link, unless one is
	// live.
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM signups WHERE email = $1 AND expires_at > $2`, email, now).Scan(&live); err != nil || live > 0 {
			return err
		}
		token, hash := tokens.New()
		if _, err := tx.ExecContext(ctx, `DELETE FROM signups WHERE email = $1`, email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO signups (email, token_hash, lang, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			email, hash, langOr(lang), now, now.Add(signupTTL)); err != nil {
			return err
		}
		link := baseURL + "/registrati/completa?token=" + token
		subject, body := s.T(lang, "mail.signup.subject", "Town", town), s.T(lang, "mail.signup.body", "Town", town, "Link", link)
		if kind == linkReset {
			subject = s.T(lang, "mail.noaccount.subject", "Town", town)
			body = s.T(lang, "mail.noaccount.body", "Town", town, "Link", link)
		}
		if err := s.Mail.Enqueue(ctx, tx, email, subject, body); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "anonymous", Action: "signup.requested", Subject: email, Remote: remote})
	})
}

func langOr(l string) string {
	if l == "" {
		return "it"
	}
	return l
}

// PeekSignup returns the address of a live registration link.
func (s *Service) PeekSignup(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", ErrTokenInvalid
	}
	var email string
	err := s.DB.QueryRowContext(ctx, `SELECT email FROM signups WHERE token_hash = $1 AND expires_at > $2`, tokens.Hash(token), s.now()).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrTokenInvalid
	}
	return email, err
}

// CompleteSignup creates the account of a registration link and logs the
// new resident in. The link is checked before anything costly; the
// password is hashed only for a live one.
func (s *Service) CompleteSignup(ctx context.Context, token string, f Signup, lang, device, remote, userAgent string) (*Login, error) {
	email, err := s.PeekSignup(ctx, token)
	if err != nil {
		return nil, err
	}
	f.GivenName, f.FamilyName = strings.TrimSpace(f.GivenName), strings.TrimSpace(f.FamilyName)
	fe := FieldErrors{}
	nameErrors(fe, f.GivenName, f.FamilyName)
	if err := CheckPassword(f.Password, email, f.GivenName, f.FamilyName); err != nil {
		fe["password"] = passwordMessage(err)
	} else if f.Password != f.Password2 {
		fe["password2"] = "identity.error.password_mismatch"
	}
	if len(fe) > 0 {
		return nil, fe
	}
	hash, err := s.Hasher.Hash(ctx, f.Password)
	if err != nil {
		return nil, err
	}
	var login *Login
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var signupLang string
		// Consumed in one statement: two clicks racing on one link cannot
		// both create an account.
		err := tx.QueryRowContext(ctx, `DELETE FROM signups WHERE token_hash = $1 AND expires_at > $2 RETURNING lang`, tokens.Hash(token), now).Scan(&signupLang)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		old, err := s.Store.get(ctx, tx, `email = $1`, email)
		switch {
		case err == nil && old.EmailVerifiedAt == nil:
			// Registered before addresses were proven first, and never
			// confirmed: it proved nothing, and whoever reads the mailbox
			// now takes the address.
			s.Store.Cache.Invalidate(old.ID)
			if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = $1`, old.ID); err != nil {
				return err
			}
			if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "account.unconfirmed_replaced", Subject: old.ID, Remote: remote}); err != nil {
				return err
			}
		case err == nil:
			return ErrEmailTaken
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if lang == "" {
			lang = signupLang
		}
		a := &Account{Kind: KindResident, Email: email, EmailVerifiedAt: &now, PasswordHash: hash, GivenName: f.GivenName, FamilyName: f.FamilyName,
			NameSource: SourceSelf, Lang: langOr(lang)}
		if err := s.Store.insert(ctx, tx, a); err != nil {
			return err
		}
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "account.registered", Subject: a.ID, Remote: remote}); err != nil {
			return err
		}
		if login, err = s.sessionTx(ctx, tx, a, assurance.Low, "password", "", remote, userAgent); err != nil {
			return err
		}
		login.Device, err = s.trustDevice(ctx, tx, a.ID, device)
		return err
	})
	return s.started(ctx, login, err)
}

// ResetPassword sets a new password with a reset link and ends every
// session of the account, and forgets the browsers it trusted: whoever knew
// the old password is logged out. The browser that followed the link
// proved it reads the mailbox: it is trusted from now on, and its new
// device token (for the cookie DeviceCookie) is returned, so that a lockout
// strangers keep up does not keep out the owner who just reset the
// password (device is the browser's old token, if any). The link is
// checked before the password is hashed.
func (s *Service) ResetPassword(ctx context.Context, token, password, password2, device, remote string) (string, error) {
	id, err := s.Store.PeekToken(ctx, token, PurposeReset)
	if err != nil {
		return "", err
	}
	a, err := s.Store.ByID(ctx, id)
	if err != nil {
		return "", err
	}
	if err := CheckPassword(password, a.Email, a.GivenName, a.FamilyName); err != nil {
		return "", FieldErrors{"password": passwordMessage(err)}
	}
	if password != password2 {
		return "", FieldErrors{"password2": "identity.error.password_mismatch"}
	}
	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return "", err
	}
	var ended []string
	var trusted string
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM trusted_devices WHERE account_id = $1`, id); err != nil {
			return err
		}
		if err := s.Store.dropPasswordTokens(ctx, tx, id); err != nil {
			return err
		}
		if trusted, err = s.trustDevice(ctx, tx, id, device); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + id, Action: "password.reset.done", Subject: id, Remote: remote})
	})
	if err != nil {
		return "", err
	}
	s.Sessions.Ended(ctx, ended)
	return trusted, nil
}

// SweepSignups forgets registration links past their time and accounts
// whose address was never confirmed (registered before addresses had to be
// proven first); any process may run it.
func (s *Service) SweepSignups(ctx context.Context) error {
	now := s.now()
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM signups WHERE expires_at < $1`, now); err != nil {
		return err
	}
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM trusted_devices WHERE expires_at < $1`, now); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, `DELETE FROM accounts WHERE email_verified_at IS NULL AND kind = 'resident' AND password_hash IS NOT NULL
		AND fiscal_code IS NULL AND eidas_id IS NULL AND created_at < $1`, now.Add(-48*time.Hour))
	return err
}
