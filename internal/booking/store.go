package booking

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// State is where a booking is.
type State string

const (
	// Pending: booked with a mail address only, waiting for the mailed
	// link to confirm it (its place is held until it expires).
	Pending State = "pending"
	// Confirmed: the appointment stands.
	Confirmed State = "confirmed"
	// Cancelled by the resident or by the office.
	Cancelled State = "cancelled"
	// Expired: never confirmed.
	Expired State = "expired"
)

// Live reports whether the booking holds its place.
func (s State) Live() bool { return s == Pending || s == Confirmed }

// Offer is how an office receives a service by appointment.
type Offer struct {
	OfficeID, ServiceID string
	// Minutes is the length of a slot; Counters how many are received
	// at once (each slot's places).
	Minutes, Counters int
	// MaxFuture is the most coming bookings one person may hold for the
	// service (at any of its offices).
	MaxFuture int
	// Anonymous lets a resident without an account book with a verified
	// mail address.
	Anonymous bool
}

// Length is the slot's length.
func (o Offer) Length() time.Duration { return time.Duration(o.Minutes) * time.Minute }

// Booking is a resident's appointment.
type Booking struct {
	ID, Code            string
	OfficeID, ServiceID string
	Start, End          time.Time
	AccountID           string
	Email               string
	GivenName           string
	FamilyName          string
	Phone               string
	Notes               string
	State               State
	Lang                string
	CreatedAt           time.Time
	ExpiresAt           *time.Time
	CancelledAt         *time.Time
	// CancelledBy is "resident", "office" or "expiry".
	CancelledBy string
	// WasStart and WasEnd are the time an office's change moved the
	// appointment from, for the mail that says so (not stored).
	WasStart, WasEnd time.Time `json:"-"`
}

// Coming reports whether the appointment is still ahead and holds its place.
func (b *Booking) Coming(now time.Time) bool { return b.State.Live() && b.Start.After(now) }

// Limits of what a booking holds.
const (
	MaxName  = 100
	MaxPhone = 30
	// MaxNotes is the national model's limit of an appointment's details.
	MaxNotes = 200
	// PendingFor is how long a booking made with a mail address waits for
	// its confirmation before its place is given back.
	PendingFor = 30 * time.Minute
	// PageSize is the length of a page of bookings.
	PageSize = 20
)

// Problems the booking answers with, each with its message.
var (
	ErrNotFound  = problem.New(problem.NotFound, "", errors.New("booking: not found"))
	ErrSlotTaken = problem.New(problem.Conflict, "booking.error.slot_taken", errors.New("booking: the slot is full"))
	ErrTooMany   = problem.New(problem.Conflict, "booking.error.too_many", errors.New("booking: too many coming bookings"))
	ErrNotLive   = problem.New(problem.Conflict, "booking.error.not_live", errors.New("booking: cancelled, expired or past"))
)

// Store keeps offers and bookings.
type Store struct {
	DB    *db.DB
	Audit audit.Writer
	// Notify readies the mails of a change before its transaction (what
	// they need of the catalogue and the town is read then: reading it
	// inside would hold a connection while asking the pool for another).
	// Nil: no mail.
	Notify func(ctx context.Context) (Letters, error)
	Now    func() time.Time
	// Key derives the token of each booking's mailed link (HMAC of its
	// id), so that every mail about it carries the same link; only its
	// hash is stored.
	Key []byte
	// OffersTTL is how long the pages' list of offers (CachedOffers) is
	// kept; zero reads it at every request. An edit through this store
	// shows at once, one through another process within the TTL.
	OffersTTL time.Duration

	// TakenTTL is how long the time step keeps the places taken of an
	// office's service (CachedTaken); zero reads them at every request.
	// A place taken or freed through this store shows at once, through
	// another process within the TTL: as if the page had been read that
	// much earlier (a booking checks the place in its transaction).
	TakenTTL time.Duration

	offersOnce sync.Once
	offers     *cache.Cache[struct{}, offerList]
	versions   atomic.Int64
	takenOnce  sync.Once
	taken      *cache.Cache[[2]string, takenRead]
}

// takenRead is the places taken of an office's service in the slots
// starting in [from, to) (Key), as read.
type takenRead struct {
	from, to int64
	places   map[int64]int
}

// offerList is a reading of the offers, numbered.
type offerList struct {
	list    []Offer
	version int64
}

// link is the token of the booking's mailed link.
func (s *Store) link(id string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte("booking link\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// CachedOffers lists every offer as the pages read it: kept OffersTTL,
// forgotten when this store changes one. It also returns the reading's
// number (the shared contents' keys). The list is shared: not to be
// changed.
func (s *Store) CachedOffers(ctx context.Context) ([]Offer, int64, error) {
	s.offersOnce.Do(func() { s.offers = cache.New[struct{}, offerList](s.OffersTTL, 1) })
	l, err := s.offers.Load(struct{}{}, func() (offerList, error) {
		list, err := s.Offers(ctx)
		return offerList{list: list, version: s.versions.Add(1)}, err
	})
	return l.list, l.version, err
}

// forgetOffers drops the kept offers (after a change).
func (s *Store) forgetOffers() {
	s.offersOnce.Do(func() { s.offers = cache.New[struct{}, offerList](s.OffersTTL, 1) })
	s.offers.Purge()
}

// Offers lists every offer, read from the database.
func (s *Store) Offers(ctx context.Context) ([]Offer, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT office_id, service_id, minutes, counters, max_future, anonymous FROM booking_offers ORDER BY office_id, service_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Offer
	for rows.Next() {
		var o Offer
		if err := rows.Scan(&o.OfficeID, &o.ServiceID, &o.Minutes, &o.Counters, &o.MaxFuture, &o.Anonymous); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Validate checks an offer's figures, field by field.
func (o Offer) Validate() problem.Fields {
	errs := problem.Fields{}
	if o.Minutes < 5 || o.Minutes > 240 {
		errs["minutes"] = "booking.error.minutes"
	}
	if o.Counters < 1 || o.Counters > 50 {
		errs["counters"] = "booking.error.counters"
	}
	if o.MaxFuture < 1 || o.MaxFuture > 20 {
		errs["max_future"] = "booking.error.max_future"
	}
	if o.OfficeID == "" || o.ServiceID == "" {
		errs["service"] = "booking.error.service"
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// PutOffer adds or changes an offer; by is the operator, recorded in the
// audit log.
func (s *Store) PutOffer(ctx context.Context, o Offer, by, remote string) error {
	if errs := o.Validate(); errs != nil {
		return errs
	}
	defer s.forgetOffers()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO booking_offers (office_id, service_id, minutes, counters, max_future, anonymous, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (office_id, service_id) DO UPDATE SET minutes = excluded.minutes, counters = excluded.counters,
			max_future = excluded.max_future, anonymous = excluded.anonymous, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			o.OfficeID, o.ServiceID, o.Minutes, o.Counters, o.MaxFuture, o.Anonymous, s.now(), by); err != nil {
			return err
		}
		return s.audit(ctx, tx, "operator:"+by, "booking.offer.put", o.OfficeID+"/"+o.ServiceID, remote,
			map[string]string{"minutes": fmt.Sprint(o.Minutes), "counters": fmt.Sprint(o.Counters), "max_future": fmt.Sprint(o.MaxFuture)})
	})
}

// DeleteOffer stops an office receiving a service by appointment; the
// bookings made stand.
func (s *Store) DeleteOffer(ctx context.Context, office, service, by, remote string) error {
	defer s.forgetOffers()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM booking_offers WHERE office_id = $1 AND service_id = $2`, office, service)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.audit(ctx, tx, "operator:"+by, "booking.offer.delete", office+"/"+service, remote, nil)
	})
}

func (s *Store) audit(ctx context.Context, tx *sql.Tx, actor, action, subject, remote string, details map[string]string) error {
	if s.Audit == nil {
		return nil
	}
	return s.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: action, Subject: subject, Remote: remote, Details: details})
}

// Taken counts the places booked in the slots of an office's service
// starting in [from, to), by Key of their start.
func (s *Store) Taken(ctx context.Context, office, service string, from, to time.Time) (map[int64]int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT start_unix, taken FROM booking_slots
		WHERE office_id = $1 AND service_id = $2 AND start_unix >= $3 AND start_unix < $4 AND taken > 0`, office, service, Key(from), Key(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var k int64
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// takenCache is the kept places taken (nil: none kept).
func (s *Store) takenCache() *cache.Cache[[2]string, takenRead] {
	s.takenOnce.Do(func() { s.taken = cache.New[[2]string, takenRead](s.TakenTTL, 256) })
	return s.taken
}

// CachedTaken is Taken as read at most TakenTTL ago, or after this store
// last took or freed a place. The map is shared: not to be changed; it
// may hold slots before from (read earlier), never a slot of [from, to)
// it does not count.
func (s *Store) CachedTaken(ctx context.Context, office, service string, from, to time.Time) (map[int64]int, error) {
	c := s.takenCache()
	if c == nil {
		return s.Taken(ctx, office, service, from, to)
	}
	k := [2]string{office, service}
	if v, ok := c.Get(k); ok && v.from <= Key(from) && Key(to) <= v.to {
		return v.places, nil
	}
	stamp := c.Stamp()
	// An hour more than asked: the next requests ask a little later.
	to = to.Add(time.Hour)
	places, err := s.Taken(ctx, office, service, from, to)
	if err != nil {
		return nil, err
	}
	c.Put(stamp, k, takenRead{from: Key(from), to: Key(to), places: places})
	return places, nil
}

// Request is a booking asked for.
type Request struct {
	Offer Offer
	// Grid is the office's hours cut for the offer (Offer.Length,
	// Offer.Counters): the start must be one of its slots.
	Grid  Grid
	Start time.Time
	// AccountID is the logged-in resident ("" for a booking with a mail
	// address only, which stays pending until confirmed).
	AccountID                    string
	Email, GivenName, FamilyName string
	Phone, Notes, Lang, Remote   string
	// Sex is the booker's, "F" or "M" only as their account proves it
	// (ProvenSex), for the figures; "" when unknown.
	Sex string
}

// ProvenSex is the sex a booking records for the figures: "F" or "M" when
// what proved it is a proof (a proven fiscal code, the population
// register, a card, SPID), else "" (a typed claim, no attribute).
func ProvenSex(sex string, proven bool) string {
	if !proven || (sex != "F" && sex != "M") {
		return ""
	}
	return sex
}

// Check validates the applicant's fields, each with its message.
func (r *Request) Check() problem.Fields {
	errs := problem.Fields{}
	r.GivenName, r.FamilyName = strings.TrimSpace(r.GivenName), strings.TrimSpace(r.FamilyName)
	r.Email, r.Phone, r.Notes = strings.TrimSpace(r.Email), strings.TrimSpace(r.Phone), strings.TrimSpace(r.Notes)
	for _, f := range []struct{ name, v string }{{"given_name", r.GivenName}, {"family_name", r.FamilyName}} {
		switch {
		case f.v == "":
			errs[f.name] = "booking.error.required"
		case utf8.RuneCountInString(f.v) > MaxName || strings.ContainsFunc(f.v, isControl):
			errs[f.name] = "booking.error.name"
		}
	}
	switch {
	case r.Email == "":
		errs["email"] = "booking.error.required"
	case mail.ValidateAddress(r.Email) != nil:
		errs["email"] = "booking.error.email"
	}
	if utf8.RuneCountInString(r.Phone) > MaxPhone || strings.ContainsFunc(r.Phone, func(c rune) bool { return !strings.ContainsRune("+0123456789 ./-()", c) }) {
		errs["phone"] = "booking.error.phone"
	}
	if utf8.RuneCountInString(r.Notes) > MaxNotes || strings.ContainsRune(r.Notes, 0) {
		errs["notes"] = "booking.error.notes"
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// holder is whom a booking counts against: the account, or the mail
// address of a booking without one.
func (r *Request) holder() string {
	if r.AccountID != "" {
		return "account:" + r.AccountID
	}
	return "mail:" + strings.ToLower(r.Email)
}

// ErrSlot refuses a start that is not a slot the office offers (closed,
// past, off the grid).
var ErrSlot = problem.Fields{"slot": "booking.error.slot_closed"}

// Book books the slot. The holder's row, the count of their coming
// bookings of the service, the slot's places and the booking are one
// transaction: two requests of one person are counted one after the
// other, and a slot is never booked beyond its capacity (the upsert adds
// a place only below it, on the slot's row, which the engine locks). It
// returns the booking and the token of its mailed link.
func (s *Store) Book(ctx context.Context, r Request) (*Booking, string, error) {
	defer s.takenCache().Purge() // after the commit too: a reading between the purge in the transaction and its commit is not kept
	if errs := r.Check(); errs != nil {
		return nil, "", errs
	}
	now := s.now()
	slot, ok := r.Grid.Find(r.Start, now, nil)
	if !ok || r.Grid.Counters != r.Offer.Counters || r.Grid.Length != r.Offer.Length() {
		return nil, "", ErrSlot
	}
	b := &Booking{ID: tokens.ID(), Code: newCode(), OfficeID: r.Offer.OfficeID, ServiceID: r.Offer.ServiceID, Start: slot.Start.UTC(), End: slot.End.UTC(),
		AccountID: r.AccountID, Email: r.Email, GivenName: r.GivenName, FamilyName: r.FamilyName, Phone: r.Phone, Notes: r.Notes,
		State: Confirmed, Lang: r.Lang, CreatedAt: now}
	link := s.link(b.ID)
	hash := tokens.Hash(link)
	if b.Lang == "" {
		b.Lang = "it"
	}
	if r.AccountID == "" {
		b.State = Pending
		exp := now.Add(PendingFor)
		b.ExpiresAt = &exp
	}
	letters, lerr := s.letters(ctx)
	if lerr != nil {
		return nil, "", lerr
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.bookTx(ctx, tx, r, b, hash, link, letters, now)
	})
	if err != nil {
		return nil, "", err
	}
	return b, link, nil
}

// hold locks the holder's row until tx ends (an upsert: the engine locks
// the row it writes).
func (s *Store) hold(ctx context.Context, tx *sql.Tx, holder string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO booking_holders (holder, bookings) VALUES ($1, 1)
		ON CONFLICT (holder) DO UPDATE SET bookings = booking_holders.bookings + 1`, holder)
	return err
}

// take adds one place to the slot's count if it is below capacity.
func (s *Store) take(ctx context.Context, tx *sql.Tx, office, service string, start int64, capacity int) error {
	var taken int
	s.takenCache().Purge()
	err := tx.QueryRowContext(ctx, `INSERT INTO booking_slots (office_id, service_id, start_unix, taken) VALUES ($1, $2, $3, 1)
		ON CONFLICT (office_id, service_id, start_unix) DO UPDATE SET taken = booking_slots.taken + 1
		WHERE booking_slots.taken < $4 RETURNING taken`, office, service, start, capacity).Scan(&taken)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrSlotTaken
	}
	return err
}

// giveBack returns a place to the slot of each row of an update's
// RETURNING office_id, service_id, start_unix (rows and err are the
// query's), and how many there were.
func (s *Store) giveBack(ctx context.Context, tx *sql.Tx, rows *sql.Rows, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	type slot struct {
		office, service string
		start           int64
	}
	var freed []slot
	for rows.Next() {
		var x slot
		if err := rows.Scan(&x.office, &x.service, &x.start); err != nil {
			_ = rows.Close()
			return 0, err
		}
		freed = append(freed, x)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, x := range freed {
		if err := s.give(ctx, tx, x.office, x.service, x.start); err != nil {
			return 0, err
		}
	}
	return len(freed), nil
}

// give returns a place of the slot.
func (s *Store) give(ctx context.Context, tx *sql.Tx, office, service string, start int64) error {
	s.takenCache().Purge()
	_, err := tx.ExecContext(ctx, `UPDATE booking_slots SET taken = taken - 1 WHERE office_id = $1 AND service_id = $2 AND start_unix = $3 AND taken > 0`,
		office, service, start)
	return err
}

// Letters writes the booking's mail in tx: what happened ("booked",
// "confirm", "cancelled", "cancelled_by_office", "moved_by_office", "moved",
// "reminder"), and the
// token of the booking's mailed link.
type Letters func(ctx context.Context, tx *sql.Tx, b *Booking, what, link string) error

// letters readies the mails of a change, before its transaction.
func (s *Store) letters(ctx context.Context) (Letters, error) {
	if s.Notify == nil {
		return func(context.Context, *sql.Tx, *Booking, string, string) error { return nil }, nil
	}
	l, err := s.Notify(ctx)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, tx *sql.Tx, b *Booking, what, link string) error {
		if link == "" {
			link = s.link(b.ID)
		}
		return l(ctx, tx, b, what, link)
	}, nil
}

// codeAlphabet leaves out the letters and digits read alike (0 O 1 I).
var codeEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// newCode is a booking's code as the resident reads it out at the desk:
// "AP-" and eight characters (40 random bits).
func newCode() string {
	return "AP-" + codeEncoding.EncodeToString(tokens.Bytes(5))
}

const columns = `id, code, office_id, service_id, start_at, end_at, account_id, email, given_name, family_name, phone, notes, state, lang,
	created_at, expires_at, cancelled_at, cancelled_by`

type scanner interface{ Scan(dest ...any) error }

func scan(row scanner) (*Booking, error) {
	b := &Booking{}
	var exp, canc sql.NullTime
	if err := row.Scan(&b.ID, &b.Code, &b.OfficeID, &b.ServiceID, &b.Start, &b.End, &b.AccountID, &b.Email, &b.GivenName, &b.FamilyName,
		&b.Phone, &b.Notes, &b.State, &b.Lang, &b.CreatedAt, &exp, &canc, &b.CancelledBy); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if exp.Valid {
		b.ExpiresAt = &exp.Time
	}
	if canc.Valid {
		b.CancelledAt = &canc.Time
	}
	b.Start, b.End, b.CreatedAt = b.Start.UTC(), b.End.UTC(), b.CreatedAt.UTC()
	return b, nil
}

// Get reads the account's booking: another's is not found.
func (s *Store) Get(ctx context.Context, id, accountID string) (*Booking, error) {
	if accountID == "" {
		return nil, ErrNotFound
	}
	return scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM bookings WHERE id = $1 AND account_id = $2`, id, accountID))
}

// ByLink reads the booking a mailed link names.
func (s *Store) ByLink(ctx context.Context, link string) (*Booking, error) {
	if link == "" || len(link) > 100 {
		return nil, ErrNotFound
	}
	return scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM bookings WHERE link_hash = $1`, tokens.Hash(link)))
}

// Mine lists the account's bookings, coming first (soonest first), then
// the past and cancelled (latest first), a page at a time, with their
// count.
func (s *Store) Mine(ctx context.Context, accountID string, page int) ([]*Booking, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE account_id = $1`, accountID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+columns+` FROM bookings WHERE account_id = $1
		ORDER BY CASE WHEN state IN ('pending', 'confirmed') AND start_at > $2 THEN 0 ELSE 1 END,
		CASE WHEN state IN ('pending', 'confirmed') AND start_at > $2 THEN start_unix ELSE -start_unix END, id
		LIMIT $3 OFFSET $4`, accountID, s.now(), PageSize, (max(page, 1)-1)*PageSize)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Booking
	for rows.Next() {
		b, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, b)
	}
	return out, total, rows.Err()
}

// Coming counts the account's coming bookings and lists the first n.
func (s *Store) Coming(ctx context.Context, accountID string, n int) (int, []*Booking, error) {
	// One statement, not a count and a list: the window counts every row
	// the WHERE keeps, before the LIMIT (at least one row is read, to
	// carry the count). A person has a few coming bookings at most
	// (MaxFuture per service), so the window's rows are few: on a list
	// that may be long (payments' notices) the window reads every row's
	// columns and costs more than the count it saves.
	rows, err := s.DB.QueryContext(ctx, `SELECT `+columns+`, COUNT(*) OVER () FROM bookings WHERE account_id = $1 AND start_at > $2 AND state IN ('pending', 'confirmed')
		ORDER BY start_at, id LIMIT $3`, accountID, s.now(), max(n, 1))
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var total int
	var out []*Booking
	for rows.Next() {
		b, err := scan(withTotal{rows, &total})
		if err != nil {
			return 0, nil, err
		}
		out = append(out, b)
	}
	return total, out[:max(0, min(n, len(out)))], rows.Err()
}

// withTotal scans a row of Coming: the booking's columns, then the count.
type withTotal struct {
	rows  *sql.Rows
	total *int
}

func (w withTotal) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.total)...) }

// Actor is who cancels: the resident (by their account or the mailed
// link), or an operator of the office.
type Actor struct {
	// Operator is the operator's account id ("" for the resident).
	Operator string
	Remote   string
	Reason   string
}

// cancel cancels the live, coming booking id in tx if cond (an SQL
// condition on $4, one of the constants of the callers: whose it is)
// holds, and gives its place back.
func (s *Store) cancel(ctx context.Context, tx *sql.Tx, id, cond string, arg any, by string) (*Booking, error) {
	now := s.now()
	b, err := scan(tx.QueryRowContext(ctx, `UPDATE bookings SET state = 'cancelled', cancelled_at = $1, cancelled_by = $2
		WHERE id = $3 AND `+cond+` AND state IN ('pending', 'confirmed') AND start_at > $1 RETURNING `+columns, now, by, id, arg)) // #nosec G202 -- cond is a constant of the callers
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotLive
	}
	if err != nil {
		return nil, err
	}
	return b, s.give(ctx, tx, b.OfficeID, b.ServiceID, Key(b.Start))
}

// Cancel cancels the account's coming booking; another's is not found.
func (s *Store) Cancel(ctx context.Context, id, accountID, remote string) (*Booking, error) {
	defer s.takenCache().Purge() // after the commit too: a reading between the purge in the transaction and its commit is not kept
	if _, err := s.Get(ctx, id, accountID); err != nil {
		return nil, err
	}
	var b *Booking
	letters, lerr := s.letters(ctx)
	if lerr != nil {
		return nil, lerr
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if b, err = s.cancel(ctx, tx, id, `account_id = $4`, accountID, "resident"); err != nil {
			return err
		}
		return letters(ctx, tx, b, "cancelled", "")
	})
	return b, err
}

// CancelByLink cancels the booking a mailed link names.
func (s *Store) CancelByLink(ctx context.Context, link string) (*Booking, error) {
	defer s.takenCache().Purge() // after the commit too: a reading between the purge in the transaction and its commit is not kept
	cur, err := s.ByLink(ctx, link)
	if err != nil {
		return nil, err
	}
	var b *Booking
	letters, lerr := s.letters(ctx)
	if lerr != nil {
		return nil, lerr
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if b, err = s.cancel(ctx, tx, cur.ID, `link_hash = $4`, tokens.Hash(link), "resident"); err != nil {
			return err
		}
		return letters(ctx, tx, b, "cancelled", "")
	})
	return b, err
}

// CancelByOffice cancels a booking of an office for an operator, with
// the reason told to the resident; the audit log keeps who and why.
func (s *Store) CancelByOffice(ctx context.Context, id, office string, by Actor) (*Booking, error) {
	defer s.takenCache().Purge() // after the commit too: a reading between the purge in the transaction and its commit is not kept
	var b *Booking
	letters, lerr := s.letters(ctx)
	if lerr != nil {
		return nil, lerr
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if b, err = s.cancel(ctx, tx, id, `office_id = $4`, office, "office"); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, "operator:"+by.Operator, "booking.cancel", "booking:"+b.ID, by.Remote,
			map[string]string{"office": b.OfficeID, "service": b.ServiceID, "start": b.Start.Format(time.RFC3339), "code": b.Code, "reason": by.Reason}); err != nil {
			return err
		}
		b.Notes = by.Reason // the mail tells the reason
		return letters(ctx, tx, b, "cancelled_by_office", "")
	})
	return b, err
}

// Confirm confirms a pending booking by its mailed link.
func (s *Store) Confirm(ctx context.Context, link string) (*Booking, error) {
	now := s.now()
	var b *Booking
	letters, lerr := s.letters(ctx)
	if lerr != nil {
		return nil, lerr
	}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		b, err = scan(tx.QueryRowContext(ctx, `UPDATE bookings SET state = 'confirmed', expires_at = NULL
			WHERE link_hash = $1 AND state = 'pending' AND expires_at > $2 AND start_at > $2 RETURNING `+columns, tokens.Hash(link), now))
		if errors.Is(err, ErrNotFound) {
			return ErrNotLive
		}
		if err != nil {
			return err
		}
		return letters(ctx, tx, b, "booked", link)
	})
	return b, err
}

// Expire gives back the places of the bookings left unconfirmed past
// their time, a batch at a time; it returns how many expired.
func (s *Store) Expire(ctx context.Context) (int, error) {
	defer s.takenCache().Purge() // after the commit too: a reading between the purge in the transaction and its commit is not kept
	total := 0
	for {
		n := 0
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `UPDATE bookings SET state = 'expired', cancelled_at = $1, cancelled_by = 'expiry'
				WHERE id IN (SELECT id FROM bookings WHERE state = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT 200)
				RETURNING office_id, service_id, start_unix`, s.now())
			n, err = s.giveBack(ctx, tx, rows, err)
			return err
		})
		total += n
		if err != nil || n < 200 {
			return total, err
		}
	}
}

// Remind mails the reminder of the confirmed appointments of the day
// after day (Rome), once each, a batch at a time; it returns how many.
func (s *Store) Remind(ctx context.Context, from, to time.Time) (int, error) {
	total := 0
	letters, lerr := s.letters(ctx)
	if lerr != nil {
		return 0, lerr
	}
	for {
		n := 0
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `UPDATE bookings SET reminded_at = $1
				WHERE id IN (SELECT id FROM bookings WHERE state = 'confirmed' AND start_at >= $2 AND start_at < $3 AND reminded_at IS NULL
				ORDER BY start_at LIMIT 100) RETURNING `+columns, s.now(), from, to)
			if err != nil {
				return err
			}
			var list []*Booking
			for rows.Next() {
				b, err := scan(rows)
				if err != nil {
					_ = rows.Close()
					return err
				}
				list = append(list, b)
			}
			_ = rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, b := range list {
				if err := letters(ctx, tx, b, "reminder", ""); err != nil {
					return err
				}
			}
			n = len(list)
			return nil
		})
		total += n
		if err != nil || n < 100 {
			return total, err
		}
	}
}

// OfficeDay lists an office's bookings starting in [from, to), live and
// cancelled, by time, a page at a time, with their count: the desk's
// agenda.
func (s *Store) OfficeDay(ctx context.Context, office string, from, to time.Time, page int) ([]*Booking, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE office_id = $1 AND start_at >= $2 AND start_at < $3`,
		office, from, to).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+columns+` FROM bookings WHERE office_id = $1 AND start_at >= $2 AND start_at < $3
		ORDER BY start_at, id LIMIT $4 OFFSET $5`, office, from, to, AgendaSize, (max(page, 1)-1)*AgendaSize)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Booking
	for rows.Next() {
		b, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, b)
	}
	return out, total, rows.Err()
}

// AgendaSize is the length of a page of an office's agenda.
const AgendaSize = 50

// MergeAccounts moves the bookings of one account to another, when a
// password account is linked to a card's (identity.Merger).
func (s *Store) MergeAccounts(ctx context.Context, tx *sql.Tx, from, into string) error {
	_, err := tx.ExecContext(ctx, `UPDATE bookings SET account_id = $1, holder = $2 WHERE account_id = $3`, into, "account:"+into, from)
	return err
}

// Erase cancels the coming bookings of an account its owner closes,
// giving their places back, and erases the personal data of all of them,
// in the closure's transaction (identity.Closer). The office keeps that a
// slot was booked and cancelled, not by whom.
func (s *Store) Erase(ctx context.Context, tx *sql.Tx, accountID string) error {
	if accountID == "" {
		return nil
	}
	now := s.now()
	rows, err := tx.QueryContext(ctx, `UPDATE bookings SET state = 'cancelled', cancelled_at = $1, cancelled_by = 'resident'
		WHERE account_id = $2 AND state IN ('pending', 'confirmed') AND start_at > $1 RETURNING office_id, service_id, start_unix`, now, accountID)
	if _, err := s.giveBack(ctx, tx, rows, err); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE queue_tickets SET sex = '' WHERE sex <> '' AND booking_id IN (SELECT id FROM bookings WHERE account_id = $1)`,
		accountID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE bookings SET given_name = '', family_name = '', email = '', phone = '', notes = '', sex = '',
		account_id = '', holder = 'closed:' || id WHERE account_id = $1`, accountID)
	return err
}

// bookTx is the booking's transaction: the holder's row, the count of
// their coming bookings of the service, the slot's place, the insert and
// the mail.
func (s *Store) bookTx(ctx context.Context, tx *sql.Tx, r Request, b *Booking, hash, link string, letters Letters, now time.Time) error {
	if err := s.hold(ctx, tx, r.holder()); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE holder = $1 AND service_id = $2 AND start_at > $3
		AND state IN ('pending', 'confirmed')`, r.holder(), b.ServiceID, now).Scan(&n); err != nil {
		return err
	}
	if n >= r.Offer.MaxFuture {
		return ErrTooMany
	}
	if err := s.take(ctx, tx, b.OfficeID, b.ServiceID, Key(b.Start), r.Offer.Counters); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bookings (id, code, office_id, service_id, start_at, end_at, start_unix, holder, account_id,
		email, given_name, family_name, phone, notes, state, link_hash, lang, created_at, expires_at, sex)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		b.ID, b.Code, b.OfficeID, b.ServiceID, b.Start, b.End, Key(b.Start), r.holder(), b.AccountID,
		b.Email, b.GivenName, b.FamilyName, b.Phone, b.Notes, string(b.State), hash, b.Lang, now, b.ExpiresAt, ProvenSex(r.Sex, true)); err != nil {
		return err
	}
	what := "booked"
	if b.State == Pending {
		what = "confirm"
	}
	return letters(ctx, tx, b, what, link)
}

// MoveByLink moves the booking of a mailed link, one made without an
// account, to the slot of g that starts at start (g is the grid of the
// booking's own office and service: another office or service is a new
// booking). It moves in place, as the office's moves do: the booking keeps
// its id, code and link, so the mailed link and the calendar entry (the
// same UID) follow it. One transaction takes the row (still live and
// coming, else ErrNotLive; a pending one is confirmed, since its link
// proved the address), gives the old place back, takes the new one below
// its capacity (ErrSlotTaken), follows with the queue's check-in ticket,
// and writes the audit entry and the mail ("moved").
func (s *Store) MoveByLink(ctx context.Context, link string, g Grid, start time.Time, remote string) (*Booking, error) {
	defer s.takenCache().Purge() // after the commit too: a reading between the purge in the transaction and its commit is not kept
	if link == "" || len(link) > 100 {
		return nil, ErrNotLive
	}
	now := s.now()
	slot, ok := g.Find(start, now, nil)
	if !ok {
		return nil, ErrSlot
	}
	letters, err := s.letters(ctx)
	if err != nil {
		return nil, err
	}
	var cur *Booking
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		cur, err = scan(tx.QueryRowContext(ctx, `UPDATE bookings SET state = 'confirmed', expires_at = NULL
			WHERE link_hash = $1 AND account_id = '' AND state IN ('pending', 'confirmed') AND start_at > $2 AND (expires_at IS NULL OR expires_at > $2)
			RETURNING `+columns, tokens.Hash(link), now))
		if errors.Is(err, ErrNotFound) {
			return ErrNotLive
		}
		if err != nil {
			return err
		}
		if Key(cur.Start) == Key(slot.Start) {
			return nil // already there
		}
		if err := s.give(ctx, tx, cur.OfficeID, cur.ServiceID, Key(cur.Start)); err != nil {
			return err
		}
		if err := s.relocate(ctx, tx, cur, slot, now); err != nil {
			return err
		}
		from, to := slot.Start.UTC(), slot.End.UTC()
		if err := s.audit(ctx, tx, "link", "booking.move", "booking:"+cur.ID, remote, map[string]string{"office": cur.OfficeID,
			"service": cur.ServiceID, "start": cur.Start.Format(time.RFC3339), "to": from.Format(time.RFC3339), "code": cur.Code}); err != nil {
			return err
		}
		cur.WasStart, cur.WasEnd = cur.Start, cur.End
		cur.Start, cur.End, cur.State, cur.ExpiresAt = from, to, Confirmed, nil
		return letters(ctx, tx, cur, "moved", link)
	})
	if err != nil {
		return nil, err
	}
	return cur, nil
}

// Move moves the account's coming booking to another slot (of the same
// or another office or service): the old one is cancelled and the new one
// booked in one transaction, so that the resident never holds both, nor
// loses the old one when the new slot is taken meanwhile.
func (s *Store) Move(ctx context.Context, id string, r Request) (*Booking, error) {
	defer s.takenCache().Purge() // after the commit too: a reading between the purge in the transaction and its commit is not kept
	if r.AccountID == "" {
		return nil, ErrNotFound
	}
	if _, err := s.Get(ctx, id, r.AccountID); err != nil {
		return nil, err
	}
	if errs := r.Check(); errs != nil {
		return nil, errs
	}
	now := s.now()
	slot, ok := r.Grid.Find(r.Start, now, nil)
	if !ok || r.Grid.Counters != r.Offer.Counters || r.Grid.Length != r.Offer.Length() {
		return nil, ErrSlot
	}
	b := &Booking{ID: tokens.ID(), Code: newCode(), OfficeID: r.Offer.OfficeID, ServiceID: r.Offer.ServiceID, Start: slot.Start.UTC(), End: slot.End.UTC(),
		AccountID: r.AccountID, Email: r.Email, GivenName: r.GivenName, FamilyName: r.FamilyName, Phone: r.Phone, Notes: r.Notes,
		State: Confirmed, Lang: r.Lang, CreatedAt: now}
	if b.Lang == "" {
		b.Lang = "it"
	}
	link := s.link(b.ID)
	letters, err := s.letters(ctx)
	if err != nil {
		return nil, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// The holder's row first, as a booking takes it.
		if err := s.hold(ctx, tx, r.holder()); err != nil {
			return err
		}
		old, err := s.cancel(ctx, tx, id, `account_id = $4`, r.AccountID, "resident")
		if err != nil {
			return err
		}
		if err := letters(ctx, tx, old, "cancelled", ""); err != nil {
			return err
		}
		return s.bookTx(ctx, tx, r, b, tokens.Hash(link), link, letters, now)
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}
