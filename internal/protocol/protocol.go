// Package protocol is the town's protocol register (registro di
// protocollo, DPR 445/2000 arts. 53-57): every document the town receives
// or sends (an application, a reply) gets a number and a registration that
// is written once and never changed.
//
// Numbers are progressive per register and calendar year and restart at 1
// each year; they are shown with at least seven digits, 2027/0000123 (art.
// 57). A registration is made inside the caller's transaction (Register):
// the number is taken from a counter row that the transaction locks until
// it ends, so two registrations never get the same number, and a
// transaction that rolls back gives its number back: the register has no
// gaps. The date and time of a registration are civico's, never the
// caller's (art. 53 c.1).
//
// Each day's register is exported once the day is over, as CSV and PDF,
// under the data directory, for preservation (art. 53 c.2; see Export).
package protocol

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
)

// General is the register of the town's one homogeneous organisational
// area (AOO): the one every feature uses unless the town keeps others.
const General = "generale"

// Direction says whether a document came in or went out.
type Direction string

const (
	// In: received (an application, a letter); Correspondent is the sender.
	In Direction = "in"
	// Out: sent (a reply, a decision); Correspondent is the recipients.
	Out Direction = "out"
)

// Entry is what a feature registers.
type Entry struct {
	// Register is the register's name ("" is General): lower-case letters,
	// digits and hyphens.
	Register  string
	Direction Direction
	// Subject is the document's subject (oggetto), Correspondent its
	// sender (In) or recipients (Out), as people read them.
	Subject, Correspondent string
	// Ref is the registering feature's reference to its own record
	// ("sportello:application:<id>"), so the entry can be found from it.
	Ref string
	// At is when the document was received or sent as the caller knows it
	// (an application's submission); zero means at registration. The
	// registration's own date and time are assigned by civico.
	At time.Time
	// DocNumber and DocDate (YYYY-MM-DD) are the sender's own number and
	// date of an incoming document, if it has them.
	DocNumber, DocDate string
	// DocSHA256 is the fingerprint (impronta, art. 53 c.1 f) of the
	// electronic document registered, in hexadecimal.
	DocSHA256 string
	// Corrects is the number of an earlier entry of the same register
	// that this one corrects (art. 54: the old entry stays readable).
	Corrects Number
	// By is who registers: "account:<id>" for a person, "system:<feature>"
	// for civico acting on its own.
	By string
}

// Number is a protocol number: a register's year and sequence.
type Number struct {
	Register string
	Year     int
	Seq      int64
}

// String is the number as printed on receipts: "2027/0000123".
func (n Number) String() string {
	if n.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d/%07d", n.Year, n.Seq)
}

// IsZero reports whether n is no number.
func (n Number) IsZero() bool { return n.Year == 0 && n.Seq == 0 }

var numberRE = regexp.MustCompile(`^([0-9]{4})/([0-9]{7,})$`)

// ParseNumber reads a number as String writes it, in register.
func ParseNumber(register, s string) (Number, error) {
	m := numberRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Number{}, fmt.Errorf("protocol: %q is not a protocol number (YYYY/NNNNNNN)", s)
	}
	y, _ := strconv.Atoi(m[1])
	seq, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil || seq <= 0 || y < 1 {
		return Number{}, fmt.Errorf("protocol: %q is not a protocol number", s)
	}
	if register == "" {
		register = General
	}
	return Number{Register: register, Year: y, Seq: seq}, nil
}

// Registered is an entry as the register keeps it.
type Registered struct {
	Entry
	Number       Number
	RegisteredAt time.Time
	// Day is the Rome calendar day of RegisteredAt (YYYY-MM-DD): the daily
	// register the entry belongs to.
	Day string
}

// Registry keeps the protocol registers in the database and their daily
// exports under Dir.
type Registry struct {
	DB *db.DB
	// Dir is where the daily registers are written: <data dir>/protocol.
	Dir string
	// Town names the town on the daily register's PDF.
	Town func(ctx context.Context) (string, error)
	Now  func() time.Time
}

func (g *Registry) now() time.Time {
	if g.Now != nil {
		return g.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// ErrInvalid is matched (errors.Is) by every refusal of an entry's
// fields: a programming error of the registering feature, not a
// resident's.
var ErrInvalid = errors.New("protocol: invalid entry")

// Limits of an entry's text, in characters.
const (
	maxSubject       = 2000
	maxCorrespondent = 1000
	maxShort         = 200
)

var (
	registerRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	sha256RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// text checks a text field: valid UTF-8, no control characters but line
// breaks where allowed, not longer than max characters.
func text(name, s string, max int, required, lines bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return invalid("%s is required", name)
	case !utf8.ValidString(s):
		return invalid("%s is not valid UTF-8", name)
	case utf8.RuneCountInString(s) > max:
		return invalid("%s is longer than %d characters", name, max)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && !(lines && (r == '\n' || r == '\t')) }):
		return invalid("%s holds control characters", name)
	}
	return nil
}

// normalize checks e and fills its defaults.
func (e *Entry) normalize() error {
	if e.Register == "" {
		e.Register = General
	}
	e.Subject, e.Correspondent = strings.TrimSpace(e.Subject), strings.TrimSpace(e.Correspondent)
	e.DocNumber, e.DocDate, e.DocSHA256 = strings.TrimSpace(e.DocNumber), strings.TrimSpace(e.DocDate), strings.ToLower(strings.TrimSpace(e.DocSHA256))
	switch {
	case len(e.Register) > 40 || !registerRE.MatchString(e.Register):
		return invalid("register %q: lower-case letters, digits and hyphens", e.Register)
	case e.Direction != In && e.Direction != Out:
		return invalid("direction %q: in or out", e.Direction)
	case e.DocDate != "" && !isDate(e.DocDate):
		return invalid("document date %q: YYYY-MM-DD", e.DocDate)
	case e.DocSHA256 != "" && !sha256RE.MatchString(e.DocSHA256):
		return invalid("document fingerprint: 64 hexadecimal digits")
	case !e.Corrects.IsZero() && (e.Corrects.Year < 1 || e.Corrects.Seq < 1):
		return invalid("corrects: not a number")
	case !e.Corrects.IsZero() && e.Corrects.Register != "" && e.Corrects.Register != e.Register:
		return invalid("corrects: an entry of register %s, not %s", e.Corrects.Register, e.Register)
	}
	for _, f := range []struct {
		name, value     string
		max             int
		required, lines bool
	}{
		{"subject", e.Subject, maxSubject, true, true},
		{"correspondent", e.Correspondent, maxCorrespondent, true, true},
		{"ref", e.Ref, maxShort, false, false},
		{"document number", e.DocNumber, maxShort, false, false},
		{"by", e.By, maxShort, true, false},
	} {
		if err := text(f.name, f.value, f.max, f.required, f.lines); err != nil {
			return err
		}
	}
	return nil
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// dayOf is the Rome calendar day of an instant.
func dayOf(t time.Time) string { return t.In(hours.Rome).Format(time.DateOnly) }

// yearOf is the Rome calendar year of an instant: a registration at
// 00:30 on 1 January in Rome opens the new year's numbers.
func yearOf(t time.Time) int { return t.In(hours.Rome).Year() }

// take increments the counter of a register and year in tx and returns
// the new number. The counter row stays locked until tx ends (PostgreSQL:
// the upsert's row lock; SQLite: the write transaction's), so concurrent
// registrations queue on it, and a rollback restores it.
func take(ctx context.Context, tx *sql.Tx, register string, year int) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, `INSERT INTO protocol_counters (register, year, seq) VALUES ($1, $2, 1)
		ON CONFLICT (register, year) DO UPDATE SET seq = protocol_counters.seq + 1 RETURNING seq`, register, year).Scan(&seq)
	return seq, err
}

// Register records e in tx, the caller's write transaction, and returns
// its number. The number exists once tx commits; if tx rolls back, the
// number is given back and the next registration gets it. Invalid fields
// are refused with an error matching ErrInvalid (and problem.ErrInvalid).
func (g *Registry) Register(ctx context.Context, tx *sql.Tx, e Entry) (Number, error) {
	if err := e.normalize(); err != nil {
		return Number{}, problem.New(problem.Invalid, "", err)
	}
	if !e.Corrects.IsZero() {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM protocol_entries WHERE register = $1 AND year = $2 AND seq = $3`,
			e.Register, e.Corrects.Year, e.Corrects.Seq).Scan(&n)
		if err != nil {
			return Number{}, err
		}
		if n == 0 {
			return Number{}, problem.New(problem.Invalid, "", invalid("corrects %s: no such entry", e.Corrects))
		}
	}
	// The time is read after the counter is locked: numbers then follow
	// the order of their times, and once a day's register is exported (it
	// locks the counter first) no registration can still fall on that day.
	year := yearOf(g.now())
	seq, err := take(ctx, tx, e.Register, year)
	if err != nil {
		return Number{}, fmt.Errorf("protocol: take a number: %w", err)
	}
	at := g.now()
	if y := yearOf(at); y != year {
		// The year turned between choosing the counter and locking it:
		// give the old year's number back (this transaction holds its
		// lock, so its increment is the last) and take the new year's.
		if _, err := tx.ExecContext(ctx, `UPDATE protocol_counters SET seq = seq - 1 WHERE register = $1 AND year = $2`, e.Register, year); err != nil {
			return Number{}, err
		}
		year = y
		if seq, err = take(ctx, tx, e.Register, year); err != nil {
			return Number{}, fmt.Errorf("protocol: take a number: %w", err)
		}
	}
	docAt := e.At.UTC().Truncate(time.Microsecond)
	if e.At.IsZero() {
		docAt = at
	}
	corrects := ""
	if !e.Corrects.IsZero() {
		corrects = e.Corrects.String()
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO protocol_entries (register, year, seq, registered_at, day, direction, subject, correspondent, ref,
		doc_at, doc_number, doc_date, doc_sha256, corrects, registered_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		e.Register, year, seq, at, dayOf(at), string(e.Direction), e.Subject, e.Correspondent, e.Ref,
		docAt, e.DocNumber, e.DocDate, e.DocSHA256, corrects, e.By)
	if err != nil {
		return Number{}, fmt.Errorf("protocol: record the entry: %w", err)
	}
	return Number{Register: e.Register, Year: year, Seq: seq}, nil
}

const selectEntry = `SELECT register, year, seq, registered_at, day, direction, subject, correspondent, ref,
	doc_at, doc_number, doc_date, doc_sha256, corrects, registered_by FROM protocol_entries`

func scanEntry(r interface{ Scan(...any) error }) (Registered, error) {
	var x Registered
	var dir, corrects string
	err := r.Scan(&x.Register, &x.Number.Year, &x.Number.Seq, &x.RegisteredAt, &x.Day, &dir, &x.Subject, &x.Correspondent, &x.Ref,
		&x.At, &x.DocNumber, &x.DocDate, &x.DocSHA256, &corrects, &x.By)
	if err != nil {
		return x, err
	}
	x.Direction, x.Number.Register = Direction(dir), x.Register
	x.RegisteredAt, x.At = x.RegisteredAt.UTC(), x.At.UTC()
	if corrects != "" {
		x.Corrects, _ = ParseNumber(x.Register, corrects)
	}
	return x, nil
}

// ErrNotFound: no entry has that number.
var ErrNotFound = problem.New(problem.NotFound, "", errors.New("protocol: no such entry"))

// Get reads one entry.
func (g *Registry) Get(ctx context.Context, n Number) (Registered, error) {
	if n.Register == "" {
		n.Register = General
	}
	x, err := scanEntry(g.DB.QueryRowContext(ctx, selectEntry+` WHERE register = $1 AND year = $2 AND seq = $3`, n.Register, n.Year, n.Seq))
	if errors.Is(err, sql.ErrNoRows) {
		return Registered{}, ErrNotFound
	}
	return x, err
}

// ByRef lists the entries a feature registered under ref, oldest first
// (an application's registration, then its replies).
func (g *Registry) ByRef(ctx context.Context, ref string) ([]Registered, error) {
	return g.list(ctx, selectEntry+` WHERE ref = $1 ORDER BY registered_at, register, year, seq`, ref)
}

// Day lists a register's entries of a day (YYYY-MM-DD), in number order.
func (g *Registry) Day(ctx context.Context, register, day string) ([]Registered, error) {
	if register == "" {
		register = General
	}
	return g.list(ctx, selectEntry+` WHERE register = $1 AND day = $2 ORDER BY year, seq`, register, day)
}

func (g *Registry) list(ctx context.Context, query string, args ...any) ([]Registered, error) {
	rows, err := g.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Registered
	for rows.Next() {
		x, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
