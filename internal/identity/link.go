package identity

import (
	"context"
	"database/sql"
	"errors"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/throttle"
	tokens "github.com/civico-pa/civico/internal/token"
)

// ErrCannotLink means the password account cannot be taken over: it is the
// same account, an operator's, has an address never confirmed, or carries
// a fiscal code or an eIDAS identifier proven by someone.
var ErrCannotLink = errors.New("this account cannot be linked")

// ErrLinkOtherCard means a linking link was followed in a session of
// another account than the card account that asked for it.
var ErrLinkOtherCard = errors.New("the link was asked for by another account")

// Merger moves what another feature keeps of one account to another, in
// the transaction that links them (single sign-on's consents, say).
type Merger func(ctx context.Context, tx *sql.Tx, from, into string) error

// Closer erases what a feature keeps of an account its owner closes, in
// the closure's transaction.
type Closer func(ctx context.Context, tx *sql.Tx, accountID string) error

// Linking joins a password account to the account of a session that proved
// who the person is (a card login). The card's account keeps its id and
// gains the address and the password; the password account's sessions end
// and it is closed, what other features kept of it moving over (Mergers).
// Never the other way: a password never reaches an account its holder did
// not prove.
//
// The password alone is not enough: whoever learnt it once (phishing,
// reuse) and holds a card of their own would otherwise make the owner's
// address and password open the thief's account for good, a reset
// included. So RequestLink checks the address and password on the login
// budgets, then mails a link to that address (one live link per address,
// MailEvery long, on the client's mail budget); the mail tells its owner
// in any case, and says what to do when they did not ask. Nothing changes
// until the link is followed, in a session of the card account that asked
// (the same one, or a new login with that card): CompleteLink.

// RequestLink checks that the person in a card session (into, se) holds the
// password of the account of email, and mails that address the link that
// completes the linking.
func (s *Service) RequestLink(ctx context.Context, into *Account, se *Session, email, password, baseURL, remote string) error {
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
	if !linkable(from, into) {
		return s.giveBack(ctx, keys, ErrCannotLink)
	}
	town := s.Town(ctx)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.Limiter.Take(ctx, tx, s.mailKey(remote)); err != nil {
			return err
		}
		if err := s.succeeded(ctx, tx, keys); err != nil {
			return err
		}
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + into.ID, Action: "account.link.requested", Subject: from.ID, Remote: remote}); err != nil {
			return err
		}
		// One live link per address: a second ask while it lives sends
		// nothing (and cannot kill it).
		if live, err := s.Store.hasLiveToken(ctx, tx, from.ID, PurposeLink); err != nil || live {
			return err
		}
		token, err := s.Store.NewToken(ctx, tx, from.ID, PurposeLink)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE account_tokens SET into_account_id = $1 WHERE hash = $2`, into.ID, tokens.Hash(token)); err != nil {
			return err
		}
		link := baseURL + "/profilo/collega/conferma?token=" + token
		return s.Mail.Enqueue(ctx, tx, from.Email, s.T(from.Lang, "mail.link.subject", "Town", town),
			s.T(from.Lang, "mail.link.body", "Town", town, "Link", link, "Reset", baseURL+"/password-dimenticata"))
	})
	if errors.Is(err, throttle.ErrRefused) {
		// The client's mail budget is spent: the password was right, so
		// the attempt goes back to the login budgets.
		return s.giveBack(ctx, keys, throttled(err))
	}
	return err
}

// linkable reports whether the password account from may be joined to the
// card account into.
func linkable(from, into *Account) bool {
	return from != nil && from.ClosedAt == nil && from.PasswordHash != "" && from.ID != into.ID && from.Kind == KindResident &&
		from.EmailVerifiedAt != nil && (from.FiscalCode == "" || !from.FiscalCodeSource.Proven()) &&
		(from.EIDASID == "" || !from.EIDASIDSource.Proven()) &&
		into.ClosedAt == nil && into.PasswordHash == "" && into.Kind == KindResident
}

// PeekLink returns the address a live linking link would join to the
// account of the session that follows it, or ErrTokenInvalid, or
// ErrLinkOtherCard when another account asked for it.
func (s *Service) PeekLink(ctx context.Context, into *Account, token string) (string, error) {
	if token == "" || len(token) > 100 {
		return "", ErrTokenInvalid
	}
	var email, asker string
	err := s.DB.QueryRowContext(ctx, `SELECT a.email, t.into_account_id FROM account_tokens t JOIN accounts a ON a.id = t.account_id
		WHERE t.hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > $3 AND a.closed_at IS NULL`,
		tokens.Hash(token), PurposeLink, s.now()).Scan(&email, &asker)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", ErrTokenInvalid
	case err != nil:
		return "", err
	case asker != into.ID:
		return "", ErrLinkOtherCard
	}
	return email, nil
}

// CompleteLink follows a linking link in a card session of the account that
// asked for it, and joins the password account to it: one transaction uses
// the link, checks both accounts again and moves everything, so two clicks
// racing, or two links into one account, cannot both succeed.
func (s *Service) CompleteLink(ctx context.Context, into *Account, se *Session, token, remote string) error {
	if !se.Assurance.ProvesIdentity() {
		return ErrCannotLink
	}
	if _, err := s.PeekLink(ctx, into, token); err != nil {
		return err
	}
	var ended []string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var fromID string
		now := s.now()
		err := tx.QueryRowContext(ctx, `UPDATE account_tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL
			AND expires_at > $1 AND into_account_id = $4 RETURNING account_id`, now, tokens.Hash(token), PurposeLink, into.ID).Scan(&fromID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		target, err := s.Store.get(ctx, tx, `id = $1`+s.DB.ForUpdate(), into.ID)
		if err != nil {
			return err
		}
		from, err := s.Store.get(ctx, tx, `id = $1`+s.DB.ForUpdate(), fromID)
		if err != nil {
			return err
		}
		if !linkable(from, target) {
			return ErrCannotLink
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
		s.Store.Cache.Invalidate(into.ID)
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = $1, email_verified_at = $2, password_hash = $3,
			phone = CASE WHEN phone = '' THEN $4 ELSE phone END, address = CASE WHEN address = '' THEN $5 ELSE address END,
			lang = $6, updated_at = $7 WHERE id = $8`,
			from.Email, from.EmailVerifiedAt, from.PasswordHash, from.Phone, from.Address, from.Lang, now, into.ID); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "account:" + into.ID, Action: "account.linked", Subject: into.ID, Remote: remote,
			Details: map[string]string{"merged": from.ID, "proof": "mail link"}})
	})
	if err == nil {
		s.Sessions.Ended(ctx, ended)
	}
	return err
}
