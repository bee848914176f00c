package identity

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/throttle"
)

// ErrSelf refuses an administrator's action on their own account: their
// own password is changed from their profile, and their own authenticator
// by another administrator.
var ErrSelf = errors.New("an administrator's action on their own account")

// operatorTx runs fn on the operator id, locked, inside one transaction;
// any other account is ErrNotFound, the administrator's own ErrSelf.
func (s *Service) operatorTx(ctx context.Context, id, adminID string, fn func(tx *sql.Tx, a *Account) error) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		a, err := s.Store.get(ctx, tx, `id = $1`+s.DB.ForUpdate(), id)
		if err != nil {
			return err
		}
		if a.Kind != KindOperator || a.ClosedAt != nil {
			return ErrNotFound
		}
		if a.ID == adminID {
			return ErrSelf
		}
		return fn(tx, a)
	})
}

// endOperatorAccess ends every session of the account, its pending
// password logins and reset links: what an administrator's action
// replaced no longer opens anything.
func (s *Service) endOperatorAccess(ctx context.Context, tx *sql.Tx, id string) ([]string, error) {
	ended, err := s.Sessions.EndAll(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM account_tokens WHERE account_id = $1 AND purpose IN ($2, $3)`, id, PurposeTOTP, PurposeReset)
	return ended, err
}

// ResetTOTP forgets an operator's authenticator (lost or replaced phone)
// and the last code it gave (a new secret counts its own):
// their sessions end, and their next password login enrols a new one.
func (s *Service) ResetTOTP(ctx context.Context, id, adminID, remote string) error {
	var ended []string
	err := s.operatorTx(ctx, id, adminID, func(tx *sql.Tx, a *Account) error {
		s.Store.Cache.Invalidate(a.ID)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0, updated_at = $1 WHERE id = $2`, s.now(), a.ID); err != nil {
			return err
		}
		var err error
		if ended, err = s.endOperatorAccess(ctx, tx, a.ID); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + adminID, Action: "totp.reset", Subject: a.ID, Remote: remote,
			Details: map[string]string{"email": a.Email}})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}

// ForcePassword gives an operator a new random password, returned to be
// shown once to the administrator: the old one stops working, their
// sessions end, and at their next login they choose their own.
func (s *Service) ForcePassword(ctx context.Context, id, adminID, remote string) (*Account, string, error) {
	password := GeneratePassword()
	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, "", err
	}
	var ended []string
	var op *Account
	err = s.operatorTx(ctx, id, adminID, func(tx *sql.Tx, a *Account) error {
		s.Store.Cache.Invalidate(a.ID)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, password_change = TRUE, updated_at = $2 WHERE id = $3`, hash, s.now(), a.ID); err != nil {
			return err
		}
		var err error
		if ended, err = s.endOperatorAccess(ctx, tx, a.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM trusted_devices WHERE account_id = $1`, a.ID); err != nil {
			return err
		}
		op = a
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + adminID, Action: "password.forced", Subject: a.ID, Remote: remote,
			Details: map[string]string{"email": a.Email}})
	})
	if err != nil {
		return nil, "", err
	}
	s.Sessions.Ended(ctx, ended)
	op.PasswordChange = true
	return op, password, nil
}

// PasswordChange is a logged-in person's change of their own password.
type PasswordChange struct {
	Current, Password, Password2 string
}

// passwordChangeKey is the budget of current passwords one account may
// get wrong: a session left open is no oracle for guessing it.
func (s *Service) passwordChangeKey(accountID string) throttle.Key {
	return throttle.Key{Name: "password:change:" + accountID, Rule: s.Limits.backoff(s.Limits.PairAttempts)}
}

// ChangePassword replaces the password of the account logged in with
// session se, once its current password is typed right: the new one meets
// the policy and differs from it, every other session of the account ends,
// and an operator's obligation to choose their own is met. The cheap
// checks come first; argon2 runs only within the account's budget.
func (s *Service) ChangePassword(ctx context.Context, a *Account, se *Session, ch PasswordChange, remote string) error {
	if a.PasswordHash == "" {
		return ErrNotFound
	}
	fe := FieldErrors{}
	if ch.Current == "" {
		fe["current"] = "identity.error.current_required"
	} else if len(ch.Current) > 4*MaxPasswordLength {
		fe["current"] = "identity.error.current_password"
	}
	if err := CheckPassword(ch.Password, a.Email, a.GivenName, a.FamilyName); err != nil {
		fe["password"] = passwordMessage(err)
	} else if ch.Password == ch.Current {
		fe["password"] = "identity.error.password_same"
	}
	if ch.Password != ch.Password2 && fe["password"] == "" {
		fe["password2"] = "identity.error.password_mismatch"
	}
	if len(fe) > 0 {
		return fe
	}
	key := s.passwordChangeKey(a.ID)
	if err := s.take(ctx, []throttle.Key{key}); err != nil {
		return err
	}
	ok, err := s.Hasher.Verify(ctx, a.PasswordHash, ch.Current)
	if err != nil {
		return s.giveBack(ctx, []throttle.Key{key}, err)
	}
	if !ok {
		s.auditRefusal(ctx, audit.Entry{Actor: "account:" + a.ID, Action: "password.change.refused", Subject: a.ID, Remote: remote})
		return FieldErrors{"current": "identity.error.current_password"}
	}
	hash, err := s.Hasher.Hash(ctx, ch.Password)
	if err != nil {
		return s.giveBack(ctx, []throttle.Key{key}, err)
	}
	var ended []string
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// Changed meanwhile (another tab, an administrator): this form's
		// current password is no longer the one it names.
		s.Store.Cache.Invalidate(a.ID)
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, password_change = FALSE, updated_at = $2 WHERE id = $3 AND password_hash = $4`,
			hash, s.now(), a.ID, a.PasswordHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return FieldErrors{"current": "identity.error.current_password"}
		}
		rows, err := tx.QueryContext(ctx, `SELECT id_hash FROM sessions WHERE account_id = $1 AND id_hash <> $2`, a.ID, se.Hash)
		if err != nil {
			return err
		}
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				_ = rows.Close()
				return err
			}
			ended = append(ended, h)
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		s.Store.Cache.Invalidate(a.ID)
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2`, a.ID, se.Hash); err != nil {
			return err
		}
		if err := s.Sessions.endTx(ctx, tx, ended); err != nil {
			return err
		}
		if err := s.Store.dropPasswordTokens(ctx, tx, a.ID); err != nil {
			return err
		}
		if err := s.Limiter.Reset(ctx, tx, key.Name); err != nil {
			return err
		}
		// Browsers trusted with the old password are trusted no more, and
		// the address hears of the change (whoever made it).
		if _, err := tx.ExecContext(ctx, `DELETE FROM trusted_devices WHERE account_id = $1`, a.ID); err != nil {
			return err
		}
		town := s.Town(ctx)
		if err := s.Mail.Enqueue(ctx, tx, a.Email, s.T(a.Lang, "mail.password_changed.subject", "Town", town),
			s.T(a.Lang, "mail.password_changed.body", "Town", town)); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + a.ID, Action: "password.changed", Subject: a.ID, Remote: remote,
			Details: map[string]string{"sessions_ended": strconv.Itoa(len(ended))}})
	})
	if err != nil {
		return err
	}
	s.Sessions.Ended(ctx, ended)
	a.PasswordChange = false
	return nil
}
