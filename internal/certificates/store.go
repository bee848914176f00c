package certificates

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// Register is what certificates read of the population register.
type Register interface {
	Lookup(ctx context.Context, fiscalCode string) (population.Person, bool, error)
	Household(ctx context.Context, household string) ([]population.Person, error)
}

// Store issues, lists, revokes and verifies certificates.
type Store struct {
	DB       *db.DB
	Keys     *Keys
	Register Register
	Towns    *town.Store
	Audit    audit.Writer
	// Limiter bounds how many certificates an account issues a day (each
	// is a row kept for ever) and how many lookups a client makes.
	Limiter *throttle.Limiter
	Now     func() time.Time
	// Payments bills the stamp duty of a certificate that bears it; nil,
	// such certificates are not online (the form says so).
	Payments Payments
	// Inbox tells the holder, in the personal area and by mail, that a
	// certificate waiting for its duty was issued.
	Inbox Inbox
}

// Inbox is the residents' inbox (area.Inbox).
type Inbox interface {
	Post(ctx context.Context, tx *sql.Tx, accountID string, m area.Message) (string, error)
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Budgets: issues per account a day, lookups per client a minute (the
// verification page and the status API: an identifier has 100 random
// bits, so lookups only cost, they never find).
var (
	IssueBudget  = throttle.Rule{Free: 30, Window: 24 * time.Hour}
	LookupBudget = throttle.Rule{Free: 30, Window: time.Minute}
)

// Certificate is an issued certificate as the store holds it.
type Certificate struct {
	ID         string
	Holder     string
	AccountID  string
	Kind       Kind
	Content    Content
	Canonical  []byte
	KeyID      string
	Signature  []byte
	Disclosure Disclosure
	IssuedAt   time.Time
	ValidUntil *time.Time
	RevokedAt  *time.Time
	RevokedBy  string
	Reason     string
}

// Status is a certificate's state at an instant.
type Status string

const (
	Valid   Status = "valid"
	Expired Status = "expired"
	Revoked Status = "revoked"
)

// StatusAt is the certificate's status at now.
func (c *Certificate) StatusAt(now time.Time) Status {
	switch {
	case c.RevokedAt != nil:
		return Revoked
	case c.ValidUntil != nil && !now.Before(*c.ValidUntil):
		return Expired
	}
	return Valid
}

// Request is what a resident asks for.
type Request struct {
	AccountID  string
	FiscalCode string // proven by the session's login
	Kind       Kind
	Use        string
	Disclosure Disclosure
	Remote     string
}

// Issue seals a certificate of the register's data for the holder and
// keeps it, with its audit entry, in one transaction. Wrong choices come
// back as problem.Fields; a holder the register does not know, or knows
// without what the certificate states, as a problem with the reason.
func (s *Store) Issue(ctx context.Context, req Request) (*Certificate, error) {
	bad := problem.Fields{}
	if !req.Kind.Valid() {
		bad["kind"] = "certificates.error.kind"
	}
	ex, ok := exemption(req.Use)
	switch {
	case req.Use == StampDuty:
		bad["use"] = "certificates.error.stamp_duty"
	case !ok:
		bad["use"] = "certificates.error.use"
	}
	if !req.Disclosure.valid() {
		bad["disclosure"] = "certificates.error.disclosure"
	}
	if len(bad) > 0 {
		return nil, bad
	}
	cert, err := s.seal(ctx, req, ex, "")
	if err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if s.Limiter != nil {
			if err := s.Limiter.Take(ctx, tx, throttle.Key{Name: "certificates:issue:" + req.AccountID, Rule: IssueBudget}); err != nil {
				return throttled(err)
			}
		}
		if err := s.insert(ctx, tx, cert); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "user:" + req.AccountID, Action: "certificates.issued", Subject: "certificate:" + cert.ID,
			Remote: req.Remote, Details: map[string]string{"kind": string(cert.Kind), "use": ex.ID, "key": cert.KeyID}})
	})
	if err != nil {
		return nil, err
	}
	return cert, nil
}

// certifiable is the holder as the register knows them, or the reason a
// certificate of kind cannot be issued to them (a problem.Conflict).
func (s *Store) certifiable(ctx context.Context, fiscalCode string, kind Kind) (population.Person, error) {
	p, ok, err := s.Register.Lookup(ctx, fiscalCode)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, problem.New(problem.Conflict, "certificates.error.not_resident", errors.New("certificates: not in the register"))
	}
	if !p.Certifiable() || p.Address == "" && kind != Birth {
		return p, problem.New(problem.Conflict, "certificates.error.incomplete", errors.New("certificates: the register lacks data"))
	}
	return p, nil
}

// seal makes the certificate of the register's data now, sealed with the
// current key: exempt under ex, or (ex.ID StampDuty) with its duty paid
// by the notice numbered duty. It writes nothing.
func (s *Store) seal(ctx context.Context, req Request, ex Exemption, duty string) (*Certificate, error) {
	p, err := s.certifiable(ctx, req.FiscalCode, req.Kind)
	if err != nil {
		return nil, err
	}
	profile, err := s.Towns.Get(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Second)
	c := Content{V: contentVersion, ID: newID(), Kind: req.Kind, Town: profile.FullName(), TownCode: profile.CadastralCode,
		Holder: person(p), Use: ex.ID, Norm: ex.Norm, Duty: duty, IssuedAt: now.Format(time.RFC3339), Disclosure: req.Disclosure}
	if req.Kind == Birth {
		c.Holder.Address = ""
	}
	if req.Kind == FamilyStatus {
		members, err := s.Register.Household(ctx, p.Household)
		if err != nil {
			return nil, err
		}
		if len(members) == 0 {
			members = []population.Person{p}
		}
		for _, m := range members {
			mp := person(m)
			mp.Address = ""
			c.Household = append(c.Household, mp)
		}
	}
	until := validUntil(req.Kind, now)
	if until != nil {
		c.ValidUntil = until.Format(time.RFC3339)
	}
	key, err := s.Keys.signer(ctx)
	if err != nil {
		return nil, err
	}
	canonical := c.Canonical()
	sig := ed25519.Sign(key.key, contentMessage(canonical))
	return &Certificate{ID: c.ID, Holder: req.FiscalCode, AccountID: req.AccountID, Kind: req.Kind, Content: c, Canonical: canonical,
		KeyID: key.id, Signature: sig, Disclosure: req.Disclosure, IssuedAt: now, ValidUntil: until}, nil
}

func throttled(err error) error {
	var refused *throttle.Refused
	if errors.As(err, &refused) {
		return &problem.Error{Kind: problem.Throttled, Retry: refused.Wait, Err: err}
	}
	return err
}

func person(p population.Person) Person {
	return Person{FiscalCode: p.FiscalCode, FamilyName: p.FamilyName, GivenName: p.GivenName, Sex: p.Sex, BirthDate: p.BirthDate,
		BirthPlace: p.BirthPlace, Citizenship: p.Citizenship, Address: p.Address, Relation: p.Relation}
}

// newID is a fresh identifier: 100 random bits in Crockford's base32.
func newID() string {
	b := token.Bytes(IDLength)
	out := make([]byte, IDLength)
	for i := range out {
		out[i] = idAlphabet[b[i]&31]
	}
	return string(out)
}

const selectCert = `SELECT id, holder, account_id, kind, content, key_id, signature, disclosure, issued_at, valid_until, revoked_at, revoked_by, revoked_reason FROM certificates`

func scan(row interface{ Scan(...any) error }) (*Certificate, error) {
	var c Certificate
	var content, sig string
	var until, revoked sql.NullTime
	if err := row.Scan(&c.ID, &c.Holder, &c.AccountID, &c.Kind, &content, &c.KeyID, &sig, &c.Disclosure, &c.IssuedAt, &until, &revoked, &c.RevokedBy, &c.Reason); err != nil {
		return nil, err
	}
	c.Canonical = []byte(content)
	var err error
	if c.Content, err = ParseContent(c.Canonical); err != nil {
		return nil, fmt.Errorf("certificate %s: %w", c.ID, err)
	}
	if c.Signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
		return nil, fmt.Errorf("certificate %s: %w", c.ID, err)
	}
	if until.Valid {
		t := until.Time.UTC()
		c.ValidUntil = &t
	}
	if revoked.Valid {
		t := revoked.Time.UTC()
		c.RevokedAt = &t
	}
	c.IssuedAt = c.IssuedAt.UTC()
	return &c, nil
}

var errNotFound = problem.New(problem.NotFound, "", errors.New("certificates: no such certificate"))

// Get is the holder's certificate id: another's is not found.
func (s *Store) Get(ctx context.Context, id, holder string) (*Certificate, error) {
	if holder == "" || NormalizeID(id) != id {
		return nil, errNotFound
	}
	c, err := scan(s.DB.QueryRowContext(ctx, selectCert+` WHERE id = $1 AND holder = $2`, id, holder))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	return c, err
}

// Find is any certificate by its identifier (the verification page, the
// desk); id must be normalised.
func (s *Store) Find(ctx context.Context, id string) (*Certificate, error) {
	if NormalizeID(id) != id {
		return nil, errNotFound
	}
	c, err := scan(s.DB.QueryRowContext(ctx, selectCert+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	return c, err
}

// PageSize is the most certificates a page lists.
const PageSize = 20

// Mine lists the holder's certificates, newest first, a page at a time,
// with their count: a first page that is not full is the whole list, and
// its length the count, without a statement of its own.
func (s *Store) Mine(ctx context.Context, holder string, page, size int) ([]*Certificate, int, error) {
	page = max(page, 1)
	list, err := s.page(ctx, holder, size, (page-1)*size)
	if err != nil || holder == "" {
		return list, len(list), err
	}
	total, known := web.PageTotal(len(list), page, size)
	if known {
		return list, total, nil
	}
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM certificates WHERE holder = $1`, holder).Scan(&total); err != nil {
		return nil, 0, err
	}
	return list, total, nil
}

// Latest are the holder's n newest certificates (the desk's panel, which
// shows no count).
func (s *Store) Latest(ctx context.Context, holder string, n int) ([]*Certificate, error) {
	return s.page(ctx, holder, n, 0)
}

// page reads size of the holder's certificates from the offset, newest
// first.
func (s *Store) page(ctx context.Context, holder string, size, offset int) ([]*Certificate, error) {
	if holder == "" {
		return nil, nil
	}
	rows, err := s.DB.QueryContext(ctx, selectCert+` WHERE holder = $1 ORDER BY issued_at DESC, id LIMIT $2 OFFSET $3`, holder, size, offset)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Certificate
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// MaxReason bounds a revocation's reason.
const MaxReason = 500

// Revoke revokes a certificate with the desk's reason, audited in the same
// transaction; a certificate already revoked is a conflict.
func (s *Store) Revoke(ctx context.Context, id, operatorID, reason, remote string) error {
	if n := len([]rune(reason)); n < 5 || n > MaxReason {
		return problem.Fields{"reason": "certificates.error.reason"}
	}
	now := s.now()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE certificates SET revoked_at = $1, revoked_by = $2, revoked_reason = $3 WHERE id = $4 AND revoked_at IS NULL`,
			now, operatorID, reason, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM certificates WHERE id = $1`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return errNotFound
			}
			return problem.New(problem.Conflict, "certificates.error.revoked_already", errors.New("certificates: already revoked"))
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "operator:" + operatorID, Action: "certificates.revoked", Subject: "certificate:" + id,
			Remote: remote, Details: map[string]string{"reason": reason}})
	})
}

// Authentic checks a stored certificate's seal against its key: what the
// verification page says before anything else.
func (s *Store) Authentic(ctx context.Context, c *Certificate) (bool, error) {
	keys, err := s.Keys.Public(ctx)
	if err != nil {
		return false, err
	}
	key, ok := Set(keys)[c.KeyID]
	return ok && ed25519.Verify(key, contentMessage(c.Canonical), c.Signature) && c.Content.ID == c.ID, nil
}

// Render is the certificate's sealed PDF, made again at each download
// with its own key (the same bytes each time).
func (s *Store) Render(ctx context.Context, c *Certificate, baseURL, townAddress string) ([]byte, error) {
	key, err := s.Keys.open(ctx, c.KeyID)
	if err != nil {
		return nil, err
	}
	label := c.Content.Use
	if ex, ok := exemption(c.Content.Use); ok {
		label = useLabels[ex.ID]
	}
	return PDF(Document{Content: c.Content, KeyID: c.KeyID, Signature: c.Signature, VerifyURL: VerifyURL(baseURL, c.ID), UseLabel: label, TownAddress: townAddress},
		func(m []byte) []byte { return ed25519.Sign(key.key, m) })
}

// VerifyPath is the public verification page.
const VerifyPath = "/verifica-certificato"

// VerifyURL is a certificate's verification address, the QR code's
// content.
func VerifyURL(baseURL, id string) string { return baseURL + VerifyPath + "?id=" + GroupID(id) }

// useLabels are the uses in Italian, as the certificate prints them.
var useLabels = map[string]string{
	"elettorale": "materia elettorale", "penale": "procedimento penale", "tributi": "materia tributaria o successione",
	"assistenza": "sussidi e assistenza", "previdenza": "previdenza, pensioni, assegni familiari", "sanita": "assistenza sanitaria",
	"scuola": "scuola dell'obbligo, asili nido, borse di studio", "lavoro": "controversie di lavoro", "minori": "minori, adozione, affidamento, tutela",
	"identita": "carta d'identità", "trasporti": "abbonamenti ai trasporti", "onlus": "ONLUS ed enti sportivi CONI",
	"separazione": "separazione o divorzio", "giustizia": "uso giudiziario",
}
