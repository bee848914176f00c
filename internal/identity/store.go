package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Store reads and writes accounts. Every query about a resident names the
// account in its WHERE clause.
type Store struct {
	DB  *db.DB
	Now func() time.Time
	// Cache, when set, is the process's SessionCache: every write to an
	// account, its roles or its sessions drops what it keeps of them.
	Cache *SessionCache
	// Pepper keys the MAC under which a closed account's proven fiscal
	// code waits for the person's next account (account_successors): a
	// copy of the database alone cannot tell whose it was. nil: a fixed
	// key (tests, commands that close no account).
	Pepper []byte
	// AuditPepper keys FiscalCodeAuditMAC: a key of its own (derived from
	// the installation's secret under another name), so that the audit
	// office's search by fiscal code needs neither the successors' key nor
	// the secret itself. nil: Pepper.
	AuditPepper []byte
	// SeedTaken runs, in the transaction, when an account takes over the
	// subject seed a closed account left or the counter reserved for its
	// fiscal code (oidcop delivers then the notices of the counter's
	// look-ups it kept for the person).
	SeedTaken []func(ctx context.Context, tx *sql.Tx, accountID, seed string) error
}

// fiscalCodeMAC is the key of account_successors for a fiscal code.
func (s *Store) fiscalCodeMAC(code string) string { return mac(s.Pepper, code) }

func mac(key []byte, text string) string {
	if len(key) == 0 {
		key = []byte("civico account successors")
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(text))
	return hex.EncodeToString(h.Sum(nil))
}

// FiscalCodeAuditMAC names a fiscal code in the audit log without writing
// it: a keyed hash under AuditPepper, of another text than the
// successors' table's, so that an entry and a row of account_successors
// cannot be matched by their hashes. It protects a copy of the log alone
// (an export, a log shipped elsewhere): in a copy of the whole database the
// resident's inbox message of the look-up, written in the same instant,
// names them, as it must to tell them. Whoever holds the installation's
// secret hashes a code and finds its entries (`civico audit list
// --fiscal-code`).
func (s *Store) FiscalCodeAuditMAC(code string) string {
	key := s.AuditPepper
	if len(key) == 0 {
		key = s.Pepper
	}
	return mac(key, "audit:"+code)
}

// seedTaken runs the SeedTaken hooks for an account that has just taken
// over a seed (none when it took nothing).
func (s *Store) seedTaken(ctx context.Context, tx *sql.Tx, a *Account) error {
	if a.SubjectSeed == "" {
		return nil
	}
	for _, f := range s.SeedTaken {
		if err := f(ctx, tx, a.ID, a.SubjectSeed); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

const accountColumns = `id, kind, COALESCE(email, ''), email_verified_at, COALESCE(password_hash, ''), COALESCE(totp_secret, ''),
	COALESCE(fiscal_code, ''), given_name, family_name, sex, birth_date, phone, address, lang, created_at, updated_at, closed_at,
	fiscal_code_source, name_source, birth_source, COALESCE(totp_pending, ''), password_change, birth_place, subject_seed,
	COALESCE(eidas_id, ''), eidas_id_source`

type rowScanner interface{ Scan(dest ...any) error }

func scanAccount(r rowScanner) (*Account, error) {
	var a Account
	var verified, closed sql.NullTime
	err := r.Scan(&a.ID, &a.Kind, &a.Email, &verified, &a.PasswordHash, &a.TOTPSecret, &a.FiscalCode,
		&a.GivenName, &a.FamilyName, &a.Sex, &a.BirthDate, &a.Phone, &a.Address, &a.Lang, &a.CreatedAt, &a.UpdatedAt, &closed,
		&a.FiscalCodeSource, &a.NameSource, &a.BirthSource, &a.totpPending, &a.PasswordChange, &a.BirthPlace, &a.SubjectSeed,
		&a.EIDASID, &a.EIDASIDSource)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if verified.Valid {
		t := verified.Time
		a.EmailVerifiedAt = &t
	}
	if closed.Valid {
		t := closed.Time
		a.ClosedAt = &t
	}
	return &a, nil
}

// querier is what both *db.DB and *sql.Tx offer for reads.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) get(ctx context.Context, q querier, where string, arg any) (*Account, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE `+where, arg))
	if err != nil {
		return nil, err
	}
	if a.Roles, err = s.roles(ctx, q, a.ID); err != nil {
		return nil, err
	}
	return a, nil
}

// ByID returns an account.
func (s *Store) ByID(ctx context.Context, id string) (*Account, error) {
	return s.get(ctx, s.DB, `id = $1`, id)
}

// ByEmail returns the account with that address (case-insensitive).
func (s *Store) ByEmail(ctx context.Context, email string) (*Account, error) {
	return s.get(ctx, s.DB, `email = $1`, NormalizeEmail(email))
}

// ByFiscalCode returns the account of that person.
func (s *Store) ByFiscalCode(ctx context.Context, code string) (*Account, error) {
	return s.get(ctx, s.DB, `fiscal_code = $1`, code)
}

func (s *Store) roles(ctx context.Context, q querier, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT role FROM account_roles WHERE account_id = $1 ORDER BY role`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// NormalizeEmail is how addresses are compared and stored.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insert creates the account in tx. Uniqueness of email and fiscal code is
// checked first for a clear error, and enforced by the database's unique
// indexes for concurrent registrations.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, a *Account) error {
	if a.Email != "" {
		if _, err := s.get(ctx, tx, `email = $1`, a.Email); err == nil {
			return ErrEmailTaken
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if a.FiscalCode != "" {
		if _, err := s.get(ctx, tx, `fiscal_code = $1`, a.FiscalCode); err == nil {
			return ErrFiscalTaken
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if a.EIDASID != "" {
		if _, err := s.get(ctx, tx, `eidas_id = $1`, a.EIDASID); err == nil {
			return ErrEIDASTaken
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	// A new account of a proven fiscal code, whatever made it (a login,
	// an administrator's operator), is the person of a closed account of
	// that code: it takes its subject, so that closing never gives a
	// second voice or answer.
	took := false
	if a.FiscalCode != "" && a.FiscalCodeSource.Proven() && a.SubjectSeed == "" {
		if err := s.takeSuccession(ctx, tx, a); err != nil {
			return err
		}
		took = a.SubjectSeed != ""
	}
	// The same for a European known by their eIDAS identifier alone.
	if a.FiscalCode == "" && a.EIDASID != "" && a.EIDASIDSource.Proven() && a.SubjectSeed == "" {
		if err := s.takeSuccessionOf(ctx, tx, a, eidasKey(a.EIDASID)); err != nil {
			return err
		}
		took = a.SubjectSeed != ""
	}
	now := s.now()
	a.ID, a.CreatedAt, a.UpdatedAt = tokens.ID(), now, now
	if a.Lang == "" {
		a.Lang = "it"
	}
	if a.NameSource == SourceNone {
		a.NameSource = SourceSelf
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, kind, email, email_verified_at, password_hash, totp_secret, fiscal_code,
		given_name, family_name, sex, birth_date, phone, address, lang, created_at, updated_at, fiscal_code_source, name_source, birth_source,
		password_change, birth_place, subject_seed, eidas_id, eidas_id_source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
		a.ID, a.Kind, nullIfEmpty(a.Email), a.EmailVerifiedAt, nullIfEmpty(a.PasswordHash), nullIfEmpty(a.TOTPSecret), nullIfEmpty(a.FiscalCode),
		a.GivenName, a.FamilyName, a.Sex, a.BirthDate, a.Phone, a.Address, a.Lang, a.CreatedAt, a.UpdatedAt,
		string(a.FiscalCodeSource), string(a.NameSource), string(a.BirthSource), a.PasswordChange, a.BirthPlace, a.SubjectSeed,
		nullIfEmpty(a.EIDASID), string(a.EIDASIDSource))
	if err != nil && db.IsUniqueViolation(err) {
		if strings.Contains(err.Error(), "fiscal_code") {
			return ErrFiscalTaken
		}
		if strings.Contains(err.Error(), "eidas_id") {
			return ErrEIDASTaken
		}
		return ErrEmailTaken
	}
	if err != nil || !took {
		return err
	}
	return s.seedTaken(ctx, tx, a)
}

// Profile is what a resident may change about themselves: names only while
// nothing proved them; sex and birth date never (they come from a proven
// fiscal code or the population register).
type Profile struct {
	GivenName, FamilyName, Phone, Address, Lang string
}

// UpdateProfile changes the account's own data; names only where they are
// the person's own claim.
func (s *Store) UpdateProfile(ctx context.Context, tx *sql.Tx, id string, p Profile) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET
		given_name = CASE WHEN name_source = 'self' THEN $1 ELSE given_name END,
		family_name = CASE WHEN name_source = 'self' THEN $2 ELSE family_name END,
		phone = $3, address = $4, lang = $5, updated_at = $6 WHERE id = $7`,
		p.GivenName, p.FamilyName, p.Phone, p.Address, p.Lang, s.now(), id)
	return err
}

// dropClaim takes away a fiscal code that was only typed, with what was
// derived from it.
func (s *Store) dropClaim(ctx context.Context, tx *sql.Tx, id string) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET fiscal_code = NULL, fiscal_code_source = '',
		sex = CASE WHEN birth_source = 'self' OR birth_source = '' THEN '' ELSE sex END,
		birth_date = CASE WHEN birth_source = 'self' OR birth_source = '' THEN '' ELSE birth_date END,
		birth_place = CASE WHEN birth_source = 'self' OR birth_source = '' THEN '' ELSE birth_place END,
		birth_source = CASE WHEN birth_source = 'self' THEN '' ELSE birth_source END, updated_at = $1 WHERE id = $2`, s.now(), id)
	return err
}

// setProven writes what a login proved about an account.
func (s *Store) setProven(ctx context.Context, tx *sql.Tx, a *Account) error {
	s.Cache.Invalidate(a.ID)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET fiscal_code_source = $1, given_name = $2, family_name = $3, name_source = $4,
		sex = $5, birth_date = $6, birth_source = $7, updated_at = $8, birth_place = $10, subject_seed = $11 WHERE id = $9`,
		string(a.FiscalCodeSource), a.GivenName, a.FamilyName, string(a.NameSource), a.Sex, a.BirthDate, string(a.BirthSource), s.now(), a.ID, a.BirthPlace,
		a.SubjectSeed)
	return err
}

// setEIDAS writes the eIDAS identifier a login proved on an account.
func (s *Store) setEIDAS(ctx context.Context, tx *sql.Tx, id, eidasID string, src Source) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET eidas_id = $1, eidas_id_source = $2, updated_at = $3 WHERE id = $4`,
		nullIfEmpty(eidasID), string(src), s.now(), id)
	return err
}

// SetPassword replaces the account's password hash.
func (s *Store) SetPassword(ctx context.Context, tx *sql.Tx, id, hash string) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, s.now(), id)
	return err
}

// SetTOTP stores (or, with "", removes) an operator's second factor.
func (s *Store) SetTOTP(ctx context.Context, tx *sql.Tx, id, secret string) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret = $1, updated_at = $2 WHERE id = $3`, nullIfEmpty(secret), s.now(), id)
	return err
}

// MarkVerified records that the account's address was confirmed.
func (s *Store) MarkVerified(ctx context.Context, tx *sql.Tx, id string) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET email_verified_at = $1, updated_at = $1 WHERE id = $2 AND email_verified_at IS NULL`, s.now(), id)
	return err
}

// GrantRole gives an operator a role; granting it twice is harmless.
func (s *Store) GrantRole(ctx context.Context, tx *sql.Tx, id, role, by string) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `INSERT INTO account_roles (account_id, role, granted_at, granted_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, role) DO NOTHING`, id, role, s.now(), by)
	return err
}

// RevokeRole takes a role away.
func (s *Store) RevokeRole(ctx context.Context, tx *sql.Tx, id, role string) error {
	s.Cache.Invalidate(id)
	_, err := tx.ExecContext(ctx, `DELETE FROM account_roles WHERE account_id = $1 AND role = $2`, id, role)
	return err
}

// Operators lists the back-office accounts.
func (s *Store) Operators(ctx context.Context) ([]*Account, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE kind = 'operator' ORDER BY email`)
	if err != nil {
		return nil, err
	}
	var out []*Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			_ = rows.Close()
			return nil, err
		}
		out = append(out, a)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Their roles in one statement, not one per operator.
	byID := make(map[string]*Account, len(out))
	for _, a := range out {
		byID[a.ID] = a
	}
	rows, err = s.DB.QueryContext(ctx, `SELECT r.account_id, r.role FROM account_roles r JOIN accounts a ON a.id = r.account_id
		WHERE a.kind = 'operator' ORDER BY r.account_id, r.role`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id, role string
		if err := rows.Scan(&id, &role); err != nil {
			return nil, err
		}
		// An operator made between the two statements has no row in out:
		// the next reading shows them.
		if a := byID[id]; a != nil {
			a.Roles = append(a.Roles, role)
		}
	}
	return out, rows.Err()
}

// Close erases a resident's personal data and ends their sessions; the
// bare record stays so that the audit log's references keep their meaning.
func (s *Store) Close(ctx context.Context, tx *sql.Tx, id string) error {
	now := s.now()
	// A proven fiscal code leaves its subject for the person's next
	// account (account_successors), under a MAC, not the code.
	var code, source, seed, eidasID, eidasSource string
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(fiscal_code, ''), fiscal_code_source, subject_seed, COALESCE(eidas_id, ''), eidas_id_source
		FROM accounts WHERE id = $1`, id).Scan(&code, &source, &seed, &eidasID, &eidasSource)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// A proven eIDAS identifier leaves it the same way, under its own key
	// (a European's next login may carry no fiscal code).
	if seed == "" {
		seed = id
	}
	var keys []string
	if code != "" && Source(source).Proven() {
		keys = append(keys, code)
	}
	if eidasID != "" && Source(eidasSource).Proven() {
		keys = append(keys, eidasKey(eidasID))
	}
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO account_successors (fiscal_code_mac, subject_seed, closed_at) VALUES ($1, $2, $3)
			ON CONFLICT (fiscal_code_mac) DO UPDATE SET subject_seed = excluded.subject_seed, closed_at = excluded.closed_at`,
			s.fiscalCodeMAC(k), seed, now); err != nil {
			return err
		}
	}
	s.Cache.Invalidate(id)
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = NULL, email_verified_at = NULL, password_hash = NULL, totp_secret = NULL,
		fiscal_code = NULL, eidas_id = NULL, eidas_id_source = '', given_name = '', family_name = '', sex = '', birth_date = '', birth_place = '', phone = '', address = '',
		closed_at = $1, updated_at = $1 WHERE id = $2`, now, id); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM sessions WHERE account_id = $1`, `DELETE FROM account_tokens WHERE account_id = $1`, `DELETE FROM account_roles WHERE account_id = $1`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// takeSuccession gives an account of a proven fiscal code (new, or one
// whose typed code a login has just proved) the subject of the person's
// closed account, or the one the counter reserved for them
// (CounterSeed), if there is one, and forgets the link.
//
// It claims the row by an upsert, not a read: on PostgreSQL an upsert
// waits for a concurrent transaction that inserted the same key (a
// counter's reservation in flight) and then sees its row, where a read
// would see nothing and give the person a second subject.
func (s *Store) takeSuccession(ctx context.Context, tx *sql.Tx, a *Account) error {
	return s.takeSuccessionOf(ctx, tx, a, a.FiscalCode)
}

// eidasKey is what stands for an eIDAS identifier among the fiscal codes
// of account_successors: it cannot be a fiscal code (it has slashes).
func eidasKey(id string) string { return "eidas:" + id }

// EIDASMAC names an eIDAS identifier in the audit log without writing it:
// the keyed hash the successors' table keys it by.
func (s *Store) EIDASMAC(id string) string { return s.fiscalCodeMAC(eidasKey(id)) }

// takeSuccessionOf is takeSuccession for the key of account_successors
// given (a fiscal code, or eidasKey of an eIDAS identifier).
func (s *Store) takeSuccessionOf(ctx context.Context, tx *sql.Tx, a *Account, key string) error {
	mac := s.fiscalCodeMAC(key)
	var seed string
	err := tx.QueryRowContext(ctx, `INSERT INTO account_successors (fiscal_code_mac, subject_seed, closed_at) VALUES ($1, '', $2)
		ON CONFLICT (fiscal_code_mac) DO UPDATE SET closed_at = account_successors.closed_at RETURNING subject_seed`, mac, s.now()).Scan(&seed)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM account_successors WHERE fiscal_code_mac = $1`, mac); err != nil {
		return err
	}
	a.SubjectSeed = seed
	return nil
}

// ErrUnknownPerson: a fiscal code that is neither in the population
// register nor proven on an account: nobody the counter may act for.
var ErrUnknownPerson = errors.New("identity: no known person has this fiscal code")

// ErrOtherSpelling: the counter would answer a subject kept for a fiscal
// code (the register's, or a closed account's) while another spelling of
// the same code (an omocodic variant: letters for digits, or the reverse)
// is on file too, on an account or in the successors' table, and the
// register does not hold both as two people. It may be one person under
// two spellings (a data error: outside review L4), who would then have
// two subjects, two voices; the registry office must settle it.
var ErrOtherSpelling = errors.New("identity: this fiscal code has another spelling on file")

// Registered says whether the population register holds a fiscal code.
type Registered func(ctx context.Context, code string) (bool, error)

// CounterSeed is the subject seed of the person a fiscal code names, for
// an operator who identified them at a counter: the seed of their account
// when one holds the code proven (the same subjects as their online
// login); otherwise, when the population register holds the code
// (inRegister), the seed their future account will take over
// (account_successors, reserved here if need be, taken by takeSuccession);
// then runs in the same transaction (the look-up's audit entry), with the
// account's id, or "" for a person without an account.
// A code of nobody, or typed on an account without proof and not in the
// register, is ErrUnknownPerson and nothing is written. The code is taken
// as it is: an omocodic variant is another person's code, never the same;
// but a seed kept for a code is not answered while another spelling of it
// is on file and the register (registered) does not hold both as two
// people: ErrOtherSpelling, nothing written (outside review L4).
//
// One transaction: the reservation comes first, so that an account of the
// code being created at the same moment either waits for it and takes it
// over, or committed before it and is seen by the read that follows.
func (s *Store) CounterSeed(ctx context.Context, code string, inRegister bool, registered Registered, then func(tx *sql.Tx, seed, accountID string) error) (string, error) {
	var seed string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		mac, candidate := s.fiscalCodeMAC(code), tokens.ID()
		if inRegister {
			if err := tx.QueryRowContext(ctx, `INSERT INTO account_successors (fiscal_code_mac, subject_seed, closed_at) VALUES ($1, $2, $3)
				ON CONFLICT (fiscal_code_mac) DO UPDATE SET closed_at = account_successors.closed_at RETURNING subject_seed`,
				mac, candidate, s.now()).Scan(&seed); err != nil {
				return err
			}
		}
		if !inRegister {
			// The seed a closed account of a proven code left, its row
			// held (an update that changes nothing) as the reservation's
			// upsert holds it: a new account taking it over at the same
			// moment either committed first (the row is gone, the account
			// is read below) or waits for this transaction, and then takes
			// the notice this look-up keeps with the seed.
			err := tx.QueryRowContext(ctx, `UPDATE account_successors SET closed_at = closed_at WHERE fiscal_code_mac = $1 RETURNING subject_seed`, mac).Scan(&seed)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		a, err := s.get(ctx, tx, `fiscal_code = $1`, code)
		switch {
		case err == nil && a.ClosedAt == nil && a.FiscalCodeSource.Proven():
			seed = a.Subject()
			if _, err = tx.ExecContext(ctx, `DELETE FROM account_successors WHERE fiscal_code_mac = $1 AND subject_seed = $2`, mac, candidate); err != nil {
				return err
			}
			return then(tx, seed, a.ID)
		case err != nil && !errors.Is(err, ErrNotFound):
			return err
		case seed == "":
			return ErrUnknownPerson
		}
		others, err := s.otherSpellings(ctx, tx, code)
		if err != nil {
			return err
		}
		for _, o := range others {
			if !inRegister || registered == nil {
				return ErrOtherSpelling
			}
			if ok, err := registered(ctx, o); err != nil {
				return err
			} else if !ok {
				return ErrOtherSpelling
			}
		}
		return then(tx, seed, "")
	})
	return seed, err
}

// otherSpellings are the other spellings of a fiscal code (cf.Code's
// Spellings) that are on file: proven on an open account, or keeping a
// seed in account_successors (a closed account's, or the counter's
// reservation). Two are normally two people; identity cannot tell.
func (s *Store) otherSpellings(ctx context.Context, q querier, code string) ([]string, error) {
	c, err := cf.Parse(code)
	if err != nil || string(c) != code {
		return nil, err
	}
	var codes, macs []string
	byMAC := map[string]string{}
	for _, v := range c.Spellings() {
		if string(v) == code {
			continue
		}
		m := s.fiscalCodeMAC(string(v))
		codes, macs, byMAC[m] = append(codes, string(v)), append(macs, m), string(v)
	}
	found := map[string]bool{}
	in, args := db.InList(nil, codes)
	rows, err := q.QueryContext(ctx, `SELECT fiscal_code, fiscal_code_source FROM accounts WHERE closed_at IS NULL AND fiscal_code IN `+in, args...) // #nosec G202 -- only placeholders are joined in
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v string
		var src Source
		if err := rows.Scan(&v, &src); err != nil {
			_ = rows.Close()
			return nil, err
		}
		if src.Proven() {
			found[v] = true
		}
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	in, args = db.InList(nil, macs)
	rows, err = q.QueryContext(ctx, `SELECT fiscal_code_mac FROM account_successors WHERE fiscal_code_mac IN `+in, args...) // #nosec G202 -- only placeholders are joined in
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			_ = rows.Close()
			return nil, err
		}
		found[byMAC[m]] = true
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(found))
	for v := range found {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}
