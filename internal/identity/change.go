package identity

import (
	"context"
	"database/sql"
	"errors"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
)

// A resident changes their password and their mail address from the
// profile. Both ask for the current password first (an unattended session
// must not be enough to take the account over), drawing on the same
// budgets as a login. A new address is proven like every address: a link
// sent to it, and the account's address changes only when someone who
// reads that mailbox follows it.

// checkCurrent checks the account's current password against the login
// budgets (the browser is logged into the account: spared the lockout
// strangers cause). A wrong one is a field error; the keys drawn are
// returned for the caller to settle once the change is stored.
func (s *Service) checkCurrent(ctx context.Context, a *Account, password, remote, refused string) ([]throttle.Key, error) {
	keys := s.loginKeys(a.Email, remote, true)
	if err := s.take(ctx, keys); err != nil {
		return nil, err
	}
	ok, err := s.Hasher.Verify(ctx, a.PasswordHash, password)
	if err != nil {
		return nil, s.giveBack(ctx, keys, err)
	}
	if !ok {
		s.auditRefusal(ctx, audit.Entry{Actor: "account:" + a.ID, Action: refused, Subject: a.ID, Remote: remote})
		return nil, FieldErrors{currentField[refused]: "identity.error.current_password"}
	}
	return keys, nil
}

// currentField is the form field of the current password, by the
// refusal's audit action.
var currentField = map[string]string{"password.change.refused": "current_password", "email.change.refused": "email_password"}

// RequestEmailChange sends a link to the new address that moves the
// account there; the page says the same whether or not the address is
// taken (its owner is told instead, without a link). One live link per
// address: asking again while one lives sends nothing. Accounts with a
// password confirm it; one without (opened by the card) needs a session
// that proved who the person is.
func (s *Service) RequestEmailChange(ctx context.Context, a *Account, se *Session, email, password, baseURL, remote string) (string, error) {
	email = NormalizeEmail(email)
	fe := FieldErrors{}
	switch {
	case !ValidEmail(email):
		fe["new_email"] = "identity.error.email"
	case email == a.Email:
		fe["new_email"] = "identity.error.email_same"
	}
	switch {
	case a.PasswordHash != "" && (password == "" || len(password) > 4*MaxPasswordLength):
		fe["email_password"] = "identity.error.current_password"
	case a.PasswordHash == "" && !se.Assurance.ProvesIdentity():
		fe["email_password"] = "identity.error.no_password"
	}
	if len(fe) > 0 {
		return email, fe
	}
	var keys []throttle.Key
	if a.PasswordHash != "" {
		var err error
		if keys, err = s.checkCurrent(ctx, a, password, remote, "email.change.refused"); err != nil {
			return email, err
		}
	}
	if err := s.take(ctx, []throttle.Key{s.mailKey(remote)}); err != nil {
		return email, s.giveBack(ctx, keys, err)
	}
	other, err := s.Store.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return email, err
	}
	return email, s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if len(keys) > 0 {
			if err := s.succeeded(ctx, tx, keys); err != nil {
				return err
			}
		}
		// Two requests for one address must not both find it free.
		if err := s.DB.Hold(ctx, tx, db.LockEmailLinks); err != nil {
			return err
		}
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_tokens WHERE purpose = $1 AND email = $2 AND used_at IS NULL AND expires_at > $3`,
			PurposeEmail, email, s.now()).Scan(&live); err != nil || live > 0 {
			return err
		}
		// The link's row is written whether or not the address is taken:
		// it is also what keeps a second mail from going there while it
		// lives. A taken address's owner gets no link, so its token is
		// never sent.
		token, err := s.Store.NewToken(ctx, tx, a.ID, PurposeEmail)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE account_tokens SET email = $1 WHERE hash = $2`, email, tokens.Hash(token)); err != nil {
			return err
		}
		town, lang := s.Town(ctx), a.Lang
		subject, body := s.T(lang, "mail.email_change.subject", "Town", town),
			s.T(lang, "mail.email_change.body", "Town", town, "Link", baseURL+"/profilo/email/conferma?token="+token)
		if other != nil && other.ClosedAt == nil {
			subject, body = s.T(other.Lang, "mail.email_taken.subject", "Town", town), s.T(other.Lang, "mail.email_taken.body", "Town", town)
		}
		if err := s.Mail.Enqueue(ctx, tx, email, subject, body); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "email.change.requested", Subject: a.ID, Remote: remote})
	})
}

// PeekEmailChange returns the new address of a live link, without using
// it: the page shows what following it will do.
func (s *Service) PeekEmailChange(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", ErrTokenInvalid
	}
	var email string
	err := s.DB.QueryRowContext(ctx, `SELECT email FROM account_tokens WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3`,
		tokens.Hash(token), PurposeEmail, s.Store.now()).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrTokenInvalid
	}
	return email, err
}

// ConfirmEmailChange follows a link: the account moves to the address the
// link went to, proven by it (SourceEmailLink), and the old address is
// told. A link works once; an address another account took meanwhile is
// refused (ErrEmailTaken).
func (s *Service) ConfirmEmailChange(ctx context.Context, token, remote string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", ErrTokenInvalid
	}
	var email string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := s.Store.now()
		var id string
		err := tx.QueryRowContext(ctx, `UPDATE account_tokens SET used_at = $1
			WHERE hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 RETURNING account_id, email`,
			now, tokens.Hash(token), PurposeEmail).Scan(&id, &email)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		a, err := s.Store.get(ctx, tx, `id = $1`, id)
		if err != nil || a.ClosedAt != nil {
			return errors.Join(ErrTokenInvalid, err)
		}
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE email = $1 AND id <> $2`, email, id).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return ErrEmailTaken
		}
		s.Store.Cache.Invalidate(id)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = $1, email_verified_at = $2, updated_at = $2 WHERE id = $3`, email, now, id); err != nil {
			return err
		}
		// A registration waiting for the address would now find it taken.
		if _, err := tx.ExecContext(ctx, `DELETE FROM signups WHERE email = $1`, email); err != nil {
			return err
		}
		if a.Email != "" {
			town := s.Town(ctx)
			if err := s.Mail.Enqueue(ctx, tx, a.Email, s.T(a.Lang, "mail.email_changed.subject", "Town", town),
				s.T(a.Lang, "mail.email_changed.body", "Town", town, "Email", email)); err != nil {
				return err
			}
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + id, Action: "account.email_changed", Subject: id, Remote: remote,
			Details: map[string]string{"old_email": a.Email}})
	})
	return email, err
}
