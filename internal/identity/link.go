package identity

import (
	"context"
	"database/sql"
	"errors"

	"github.com/civico-pa/civico/internal/audit"
)

// ErrCannotLink means the password account cannot be taken over: it is the
// same account, an operator's, has an address never confirmed, or carries
// a fiscal code proven by someone.
var ErrCannotLink = errors.New("this account cannot be linked")

// Merger moves what another feature keeps of one account to another, in
// the transaction that links them (single sign-on's consents, say).
type Merger func(ctx context.Context, tx *sql.Tx, from, into string) error

// Closer erases what a feature keeps of an account its owner closes, in
// the closure's transaction.
type Closer func(ctx context.Context, tx *sql.Tx, accountID string) error

// Link joins a password account to the account of a session that proved
// who the person is (a card login), when the person proves, in that same
// browser, that they control the password account: its address and
// password. The card's account keeps its id and gains the address and the
// password; the password account's sessions end and it is closed, what
// other features kept of it moving over (Mergers). Never the other way: a
// password never reaches an account its holder did not prove.
func (s *Service) Link(ctx context.Context, into *Account, se *Session, email, password, remote string) error {
	if !se.Assurance.ProvesIdentity() || into.PasswordHash != "" || into.Kind != KindResident {
		return ErrCannotLink
	}
	email = NormalizeEmail(email)
	if len(email) > 254 || len(password) > 4*MaxPasswordLength {
		return ErrBadCredentials
	}
	// The same budgets as a login: linking is a way to try passwords.
	keys := s.loginKeys(email, remote, false)
	if err := s.take(ctx, keys); err != nil {
		return err
	}
	from, err := s.Store.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return s.giveBack(ctx, keys, err)
	}
	hash := dummyHash
	if from != nil && from.ClosedAt == nil && from.PasswordHash != "" {
		hash = from.PasswordHash
	}
	ok, err := s.Hasher.Verify(ctx, hash, password)
	if err != nil {
		return s.giveBack(ctx, keys, err)
	}
	if !ok || hash == dummyHash {
		s.auditRefusal(ctx, audit.Entry{Actor: "account:" + into.ID, Action: "account.link.refused", Subject: email, Remote: remote})
		return ErrBadCredentials
	}
	if from.ID == into.ID || from.Kind != KindResident || from.EmailVerifiedAt == nil || from.FiscalCode != "" && from.FiscalCodeSource.Proven() {
		return s.giveBack(ctx, keys, ErrCannotLink)
	}
	var ended []string
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.succeeded(ctx, tx, keys); err != nil {
			return err
		}
		if ended, err = s.Sessions.EndAll(ctx, tx, from.ID); err != nil {
			return err
		}
		for _, m := range s.Mergers {
			if err := m(ctx, tx, from.ID, into.ID); err != nil {
				return err
			}
		}
		// The address leaves the password account before it joins the
		// card's: it is unique.
		if err := s.Store.Close(ctx, tx, from.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = $1, email_verified_at = $2, password_hash = $3,
			phone = CASE WHEN phone = '' THEN $4 ELSE phone END, address = CASE WHEN address = '' THEN $5 ELSE address END,
			lang = $6, updated_at = $7 WHERE id = $8`,
			from.Email, from.EmailVerifiedAt, from.PasswordHash, from.Phone, from.Address, from.Lang, s.now(), into.ID); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + into.ID, Action: "account.linked", Subject: into.ID, Remote: remote,
			Details: map[string]string{"merged": from.ID}})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}
