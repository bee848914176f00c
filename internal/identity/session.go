package identity

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Session is one login on one device.
type Session struct {
	Hash       string
	AccountID  string
	Assurance  assurance.Level
	Method     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	UserAgent  string
	// Proof names what proved a card session: the card's authority and
	// certificate serial, then, after a "|", the card's own number (see
	// cardProof). Either one's revocation ends the session.
	Proof string
}

// cardProof is a card session's Proof: what the card's authority revokes
// it by (its CRL names the certificate's serial) and, after a "|", the
// card's number, which the town's registry knows it by (CardRegistry).
// The number is digits only (the CN's rule), so the "|" cannot be forged
// into it.
func cardProof(proof, number string) string {
	if number == "" {
		return proof
	}
	return proof + "|" + number
}

// RevocationProof is what the card's authority revokes the session's card
// by (CardReader.Revoked); empty for a session no card opened.
func (se *Session) RevocationProof() string {
	p, _, _ := strings.Cut(se.Proof, "|")
	return p
}

// CardNumber is the number of the card that opened the session, as the
// town's registry knows it; empty for a session no card opened, or one
// opened before sessions kept it.
func (se *Session) CardNumber() string {
	_, n, _ := strings.Cut(se.Proof, "|")
	return n
}

// Sessions are kept in the database so that every civico process knows them.
type Sessions struct {
	DB *db.DB
	// Idle ends a session nobody used for this long; Absolute ends any
	// session this long after login.
	Idle, Absolute time.Duration
	Now            func() time.Time
	// OnEndTx, when set, runs in the transaction that ends sessions by a
	// logout (not those that expire), so that what it records (single
	// sign-on's logout notices) commits with the logout or not at all.
	OnEndTx func(ctx context.Context, tx *sql.Tx, hashes []string) error
	// OnEnd, when set, is told the same sessions once the logout has
	// committed: single sign-on then delivers its notices.
	OnEnd func(ctx context.Context, hashes []string)
	// Cache, when set, keeps the sessions LookupAccount reads
	// (SessionCache); the same one as the Store's.
	Cache *SessionCache
}

// endTx runs OnEndTx for sessions ended in tx.
func (s *Sessions) endTx(ctx context.Context, tx *sql.Tx, hashes []string) error {
	if s.OnEndTx == nil || len(hashes) == 0 {
		return nil
	}
	return s.OnEndTx(ctx, tx, hashes)
}

// Ended tells OnEnd about sessions ended in a transaction, once it has
// committed.
func (s *Sessions) Ended(ctx context.Context, hashes []string) {
	if s.OnEnd != nil && len(hashes) > 0 {
		s.OnEnd(context.WithoutCancel(ctx), hashes)
	}
}

// ErrNoSession means the cookie names no live session.
var ErrNoSession = errors.New("no session")

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// touchEvery limits writes: last_seen_at moves at most once a minute.
const touchEvery = time.Minute

// Create starts a session in tx and returns the token for the cookie. A new
// token at every login: a session id fixed before login is never reused.
func (s *Sessions) Create(ctx context.Context, tx *sql.Tx, accountID string, level assurance.Level, method, proof, userAgent string) (string, error) {
	token, hash := tokens.New()
	now := s.now()
	// A header may carry any byte above 0x7f: Clip keeps it as UTF-8,
	// which PostgreSQL requires of the column.
	userAgent = db.Clip(userAgent, 200)
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, account_id, assurance, method, created_at, last_seen_at, expires_at, user_agent, proof)
		VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)`, hash, accountID, string(level), method, now, now.Add(s.Absolute), userAgent, proof)
	return token, err
}

// Lookup returns the live session of a cookie token, ending it if it has
// been idle or alive too long.
func (s *Sessions) Lookup(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrNoSession
	}
	hash := tokens.Hash(token)
	var se Session
	var level string
	err := s.DB.QueryRowContext(ctx, `SELECT id_hash, account_id, assurance, method, created_at, last_seen_at, expires_at, user_agent, proof
		FROM sessions WHERE id_hash = $1`, hash).Scan(&se.Hash, &se.AccountID, &level, &se.Method, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &se.UserAgent, &se.Proof)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	se.Assurance = assurance.Level(level)
	return s.live(ctx, &se)
}

// sessionAccountQuery reads a session, its account and the account's roles
// in one statement: a row per role (one with a NULL role for none). Every
// request of a logged-in person asks it, so it is one round trip, not three.
const sessionAccountQuery = `SELECT s.id_hash, s.account_id, s.assurance, s.method, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.proof,
	a.*, r.role
	FROM sessions s
	JOIN (SELECT ` + accountColumns + ` FROM accounts) a ON a.id = s.account_id
	LEFT JOIN account_roles r ON r.account_id = s.account_id
	WHERE s.id_hash = $1
	ORDER BY r.role`

// LookupAccount is Lookup that also returns the session's account (Store.ByID),
// read in the same statement.
func (s *Sessions) LookupAccount(ctx context.Context, token string) (*Session, *Account, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, ErrNoSession
	}
	hash := tokens.Hash(token)
	var epoch uint64
	if c := s.Cache; c != nil {
		if se, a, ok := c.get(hash); ok {
			// One that may have ended is read again below, and ended there.
			if now := s.now(); !s.over(se, now) {
				if err := s.touch(ctx, se, now); err != nil {
					return nil, nil, err
				}
				if se.LastSeenAt.Equal(now) {
					c.seenAt(hash, now)
				}
				return se, a, nil
			}
		}
		epoch = c.begin()
	}
	rows, err := s.DB.QueryContext(ctx, sessionAccountQuery, hash)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var se Session
	var a *Account
	for rows.Next() {
		var level string
		var role sql.NullString
		row := &joinedRow{rows: rows, before: []any{&se.Hash, &se.AccountID, &level, &se.Method, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &se.UserAgent, &se.Proof},
			after: []any{&role}}
		acc, err := scanAccount(row)
		if err != nil {
			return nil, nil, err
		}
		if a == nil {
			a = acc
		}
		if role.Valid {
			a.Roles = append(a.Roles, role.String)
		}
		se.Assurance = assurance.Level(level)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if a == nil {
		return nil, nil, ErrNoSession
	}
	if _, err := s.live(ctx, &se); err != nil {
		return nil, nil, err
	}
	if s.Cache != nil {
		s.Cache.put(epoch, &se, a)
	}
	return &se, a, nil
}

// joinedRow scans a row whose middle columns are scanAccount's.
type joinedRow struct {
	rows          *sql.Rows
	before, after []any
}

func (j *joinedRow) Scan(dest ...any) error {
	all := make([]any, 0, len(j.before)+len(dest)+len(j.after))
	all = append(append(append(all, j.before...), dest...), j.after...)
	return j.rows.Scan(all...)
}

// live ends se if it has been idle or alive too long, and otherwise notes
// that it was seen (touch).
func (s *Sessions) live(ctx context.Context, se *Session) (*Session, error) {
	now := s.now()
	if s.over(se, now) {
		s.Cache.Invalidate(se.AccountID)
		_, _ = s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, se.Hash)
		return nil, ErrNoSession
	}
	if err := s.touch(ctx, se, now); err != nil {
		return nil, err
	}
	return se, nil
}

// over reports whether se has been idle or alive too long at now.
func (s *Sessions) over(se *Session, now time.Time) bool {
	return !now.Before(se.ExpiresAt) || now.Sub(se.LastSeenAt) > s.Idle
}

// touch notes that se was seen at now, at most once every touchEvery; a
// session the note no longer finds has ended meanwhile (a logout, from
// here or another process whose change the watcher has not read yet):
// ErrNoSession.
func (s *Sessions) touch(ctx context.Context, se *Session, now time.Time) error {
	if now.Sub(se.LastSeenAt) <= touchEvery {
		return nil
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2`, now, se.Hash)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		s.Cache.Invalidate(se.AccountID)
		return ErrNoSession
	}
	se.LastSeenAt = now
	return nil
}

// Live reports, in tx, whether the session with this hash has neither
// ended nor expired: single sign-on issues a token only for one that lives.
func (s *Sessions) Live(ctx context.Context, tx *sql.Tx, hash string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE id_hash = $1 AND expires_at > $2`, hash, s.now()).Scan(&n)
	return n > 0, err
}

// End ends the session of a token (logout).
func (s *Sessions) End(ctx context.Context, token string) error {
	hash := tokens.Hash(token)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var account string
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id_hash = $1 RETURNING account_id`, hash).Scan(&account)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if account != "" {
			s.Cache.Invalidate(account)
		}
		return s.endTx(ctx, tx, []string{hash})
	})
	if err != nil {
		return err
	}
	s.Ended(ctx, []string{hash})
	return nil
}

// EndAll ends every session of an account ("log out everywhere") in tx and
// returns their hashes, for Ended once tx has committed.
func (s *Sessions) EndAll(ctx context.Context, tx *sql.Tx, accountID string) ([]string, error) {
	hashes, err := hashesOf(ctx, tx, `SELECT id_hash FROM sessions WHERE account_id = $1`, accountID)
	if err != nil {
		return nil, err
	}
	s.Cache.Invalidate(accountID)
	if _, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1`, accountID); err != nil {
		return nil, err
	}
	return hashes, s.endTx(ctx, tx, hashes)
}

// EndOthers ends every session of an account but keep (the one that
// changed the password) in tx and returns their hashes, for Ended once tx
// has committed.
func (s *Sessions) EndOthers(ctx context.Context, tx *sql.Tx, accountID, keep string) ([]string, error) {
	hashes, err := hashesOf(ctx, tx, `SELECT id_hash FROM sessions WHERE account_id = $1 AND id_hash <> $2`, accountID, keep)
	if err != nil {
		return nil, err
	}
	s.Cache.Invalidate(accountID)
	if _, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2`, accountID, keep); err != nil {
		return nil, err
	}
	return hashes, s.endTx(ctx, tx, hashes)
}

// MaxPerAccount is how many sessions one account holds at once: a login
// beyond it ends the account's oldest session. Without a bound, anyone with
// an account (or a card) grew the sessions table, and the audit log, as
// fast as the server answered logins.
const MaxPerAccount = 20

// trimTx ends, in tx, the account's oldest sessions beyond MaxPerAccount,
// never the one a login has just started (keep), and returns their hashes,
// for Ended once tx has committed. The account's row is locked first, so
// that logins racing on PostgreSQL count one after the other.
func (s *Sessions) trimTx(ctx context.Context, tx *sql.Tx, accountID, keep string) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `SELECT id FROM accounts WHERE id = $1`+s.DB.ForUpdate(), accountID); err != nil { // #nosec G202 -- ForUpdate is a constant clause of the dialect
		return nil, err
	}
	others, err := hashesOf(ctx, tx, `SELECT id_hash FROM sessions WHERE account_id = $1 AND id_hash <> $2 ORDER BY created_at DESC, id_hash`, accountID, keep)
	if err != nil || len(others) < MaxPerAccount {
		return nil, err
	}
	ended := others[MaxPerAccount-1:]
	s.Cache.Invalidate(accountID)
	for _, h := range ended {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, h); err != nil {
			return nil, err
		}
	}
	return ended, s.endTx(ctx, tx, ended)
}

// hashesOf runs a query of session hashes in tx.
func hashesOf(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return hashes, rows.Err()
}

// EndOne ends one of the account's own sessions, named by its hash.
func (s *Sessions) EndOne(ctx context.Context, accountID, hash string) error {
	ended := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		s.Cache.Invalidate(accountID)
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1 AND id_hash = $2`, accountID, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ended = true
		return s.endTx(ctx, tx, []string{hash})
	})
	if err == nil && ended {
		s.Ended(ctx, []string{hash})
	}
	return err
}

// List returns the account's live sessions, newest first.
func (s *Sessions) List(ctx context.Context, accountID string) ([]Session, error) {
	now := s.now()
	rows, err := s.DB.QueryContext(ctx, `SELECT id_hash, account_id, assurance, method, created_at, last_seen_at, expires_at, user_agent
		FROM sessions WHERE account_id = $1 AND expires_at > $2 AND last_seen_at > $3 ORDER BY created_at DESC`,
		accountID, now, now.Add(-s.Idle))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var se Session
		var level string
		if err := rows.Scan(&se.Hash, &se.AccountID, &level, &se.Method, &se.CreatedAt, &se.LastSeenAt, &se.ExpiresAt, &se.UserAgent); err != nil {
			return nil, err
		}
		se.Assurance = assurance.Level(level)
		out = append(out, se)
	}
	return out, rows.Err()
}

// Proven lists the live sessions opened with a proof (a card), for the
// revocation check: their hash, account and proof.
func (s *Sessions) Proven(ctx context.Context) ([]Session, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id_hash, account_id, proof FROM sessions WHERE proof <> '' AND expires_at > $1`, s.now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var se Session
		if err := rows.Scan(&se.Hash, &se.AccountID, &se.Proof); err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

// Sweep deletes sessions past their time; any process may run it.
func (s *Sessions) Sweep(ctx context.Context) error {
	now := s.now()
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2`, now, now.Add(-s.Idle)); err != nil {
		return err
	}
	// Only sessions already past their time, which no lookup serves: the
	// watcher drops them from the cache (identity_changes).
	return trimChanges(ctx, s.DB)
}
