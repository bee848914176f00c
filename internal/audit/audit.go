// Package audit keeps the audit log: an append-only, hash-chained record of
// security-relevant events (sign-ins, refused sign-ins, roles granted and
// revoked, configuration changes). Each entry commits or rolls back with the
// action it records, and any later change to a stored entry, or the removal
// of one, is detected by Verify.
//
// # Format
//
// Entries live in the table audit_log. Each row holds:
//
//	id         1, 2, 3, ... with no gaps, assigned by the log (not the database)
//	at         when, in UTC, to the microsecond
//	actor      who: "user:<id>", "operator:<id>", "system", "cli"
//	action     what, dotted: "login.password.ok", "login.crs.refused", "role.granted"
//	subject    what or whom the action concerned, possibly empty
//	details    a JSON object of strings to strings (see below)
//	remote     the client address, possibly empty
//	prev_hash  the hash of the entry before, or 64 zeros for the first entry
//	hash       the entry's own hash
//
// The hash is the lowercase hex SHA-256 of the fields joined by "\n":
//
//	prev_hash "\n" id "\n" at "\n" actor "\n" action "\n" subject "\n" details "\n" remote
//
// where id is in decimal and at is formatted as time.RFC3339Nano in UTC
// (e.g. "2025-03-01T09:30:00.123456Z"; trailing zeros of the fraction are
// dropped, and so is the fraction when it is zero).
//
// details is canonical JSON: the object's keys in byte order, no whitespace,
// strings escaped as Go's encoding/json does with HTML escaping off (so "<",
// ">" and "&" stay as they are, and an empty map is "{}").
//
// So that the joined text reads back one way only, actor, action, subject and
// remote never contain control characters (C0, DEL, C1) or invalid UTF-8:
// Record replaces them with U+FFFD, and Verify rejects a stored entry that has
// any. Each of these fields, and each detail key and value, is cut to
// MaxField bytes (at a character boundary).
//
// # What Verify proves, and what it does not
//
// Verify recomputes every hash and follows the chain from the first entry:
// an edited entry, a reordered one, or one removed from the start or the
// middle breaks it. Removing the newest entries leaves a shorter chain that
// is still consistent; to detect that, note the hash of the newest entry
// (Head, or `civico audit verify`) somewhere the database's administrators
// cannot rewrite, and check that it is still in the log later. The same
// anchor catches someone with write access to the database who edits an
// entry and then recomputes every hash after it: the hashes carry no secret.
//
// # Concurrency
//
// Appends are serialised so that the chain never forks, across goroutines
// and processes: on PostgreSQL by a transaction-scoped advisory lock, taken
// before the newest entry is read; on SQLite by the database's single writer
// (db.Tx begins with BEGIN IMMEDIATE). On PostgreSQL the lock is held until
// the caller's transaction ends, so audited transactions queue one after
// the other from the point where they record: record late in the
// transaction, and use the default READ COMMITTED isolation (under
// REPEATABLE READ a transaction could read a stale newest entry; the
// primary key then refuses the insert, so the chain still does not fork).
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/db"
)

// GenesisHash is the prev_hash of the first entry.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxField is the longest actor, action, subject, remote, detail key or
// detail value stored, in bytes; longer ones are cut.
const MaxField = 1024

// Entry is an event to record.
// Writer appends entries to the audit log: inside the caller's
// transaction, so that an entry is recorded exactly when the action it
// describes commits, or (tx nil) in a transaction of its own, for what is
// recorded without one (a refused login). Every package that audits takes
// one; *Log is the one implementation.
type Writer interface {
	Write(ctx context.Context, tx *sql.Tx, e Entry) error
}

// Write is Record inside tx, or RecordNow when tx is nil.
func (l *Log) Write(ctx context.Context, tx *sql.Tx, e Entry) error {
	if tx == nil {
		return l.RecordNow(ctx, e)
	}
	return l.Record(ctx, tx, e)
}

// Entry is one fact for the audit log.
type Entry struct {
	// Actor is who acted: "user:<id>", "operator:<id>", "system", "cli".
	Actor string
	// Action is what happened, dotted: "login.password.ok".
	Action string
	// Subject is what or whom the action concerned; it may be empty.
	Subject string
	// Remote is the client address; it may be empty.
	Remote string
	// Details holds anything else worth keeping; it may be nil.
	Details map[string]string
}

// Record is a stored entry.
type Record struct {
	Entry
	ID       int64
	At       time.Time
	PrevHash string
	Hash     string
}

// ErrInvalidEntry is returned by Record for an entry without actor or action.
var ErrInvalidEntry = errors.New("audit entry needs an actor and an action")

// BrokenError names the first entry at which the chain does not hold.
type BrokenError struct {
	ID     int64
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", e.ID, e.Reason)
}

// Log appends to and reads the audit log.
type Log struct{ DB *db.DB }

// Record appends e inside tx, the caller's write transaction (from
// db.DB.Tx), so that the entry is stored if and only if the action it
// records commits. On PostgreSQL it holds a lock until tx ends: see the
// package documentation.
func (l *Log) Record(ctx context.Context, tx *sql.Tx, e Entry) error {
	e = clean(e)
	if e.Actor == "" || e.Action == "" {
		return ErrInvalidEntry
	}
	details, err := canonicalDetails(e.Details)
	if err != nil {
		return err
	}
	if err := l.DB.Hold(ctx, tx, db.LockAudit); err != nil {
		return err
	}
	var lastID int64
	prev := GenesisHash
	err = tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&lastID, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: read the newest entry: %w", err)
	}
	id := lastID + 1
	// PostgreSQL keeps microseconds: hash what will be read back.
	at := time.Now().UTC().Truncate(time.Microsecond)
	h := Hash(prev, id, at, e.Actor, e.Action, e.Subject, details, e.Remote)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor, action, subject, details, remote, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id, at, e.Actor, e.Action, e.Subject, details, e.Remote, prev, h); err != nil {
		return fmt.Errorf("audit: append entry %d: %w", id, err)
	}
	return nil
}

// RecordNow appends e in a transaction of its own, for events that go with
// no other write (a refused sign-in, a command run).
func (l *Log) RecordNow(ctx context.Context, e Entry) error {
	return l.DB.Tx(ctx, func(tx *sql.Tx) error { return l.Record(ctx, tx, e) })
}

// Hash computes an entry's hash as the package documentation defines it.
// details must be the stored (canonical) JSON text.
func Hash(prevHash string, id int64, at time.Time, actor, action, subject, details, remote string) string {
	h := sha256.New()
	for i, s := range []string{prevHash, strconv.FormatInt(id, 10), at.UTC().Format(time.RFC3339Nano), actor, action, subject, details, remote} {
		if i > 0 {
			h.Write([]byte{'\n'})
		}
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CanonicalDetails returns the canonical JSON text of details, as stored and
// hashed (after cutting keys and values to MaxField bytes).
func CanonicalDetails(details map[string]string) (string, error) {
	return canonicalDetails(cleanDetails(details))
}

func canonicalDetails(details map[string]string) (string, error) {
	if len(details) == 0 {
		return "{}", nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys in sorted (byte) order.
	if err := enc.Encode(details); err != nil {
		return "", fmt.Errorf("audit: encode details: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func clean(e Entry) Entry {
	e.Actor = cleanField(e.Actor)
	e.Action = cleanField(e.Action)
	e.Subject = cleanField(e.Subject)
	e.Remote = cleanField(e.Remote)
	e.Details = cleanDetails(e.Details)
	return e
}

func cleanDetails(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		// JSON escapes control characters itself; invalid UTF-8 would be
		// replaced by encoding/json anyway, but Clip replaces it here first
		// so that the length limit applies to what is stored.
		out[db.Clip(k, MaxField)] = db.Clip(v, MaxField)
	}
	return out
}

// cleanField replaces invalid UTF-8 and control characters by U+FFFD and
// cuts the result to MaxField bytes.
func cleanField(s string) string {
	if fieldOK(s) && len(s) <= MaxField {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
	return db.Clip(s, MaxField)
}

// fieldOK tells whether s is valid UTF-8 without control characters.
func fieldOK(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// Verify walks the whole log in id order, recomputing every hash, and
// returns the number of entries found sound. When the chain does not hold,
// the error is a *BrokenError naming the first entry at fault (for a removed
// entry, the one after the gap).
func (l *Log) Verify(ctx context.Context) (checked int, err error) {
	rows, err := l.DB.QueryContext(ctx, `SELECT id, at, actor, action, subject, details, remote, prev_hash, hash
		FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("audit: read the log: %w", err)
	}
	defer rows.Close()
	prev, want := GenesisHash, int64(1)
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.at, &r.actor, &r.action, &r.subject, &r.details, &r.remote, &r.prevHash, &r.hash); err != nil {
			return checked, fmt.Errorf("audit: read the log: %w", err)
		}
		switch {
		case r.id != want && want == 1:
			return checked, &BrokenError{ID: r.id, Reason: fmt.Sprintf("the log starts at entry %d: the entries before it are missing", r.id)}
		case r.id == want+1:
			return checked, &BrokenError{ID: r.id, Reason: fmt.Sprintf("entry %d is missing", want)}
		case r.id != want:
			return checked, &BrokenError{ID: r.id, Reason: fmt.Sprintf("entries %d to %d are missing", want, r.id-1)}
		case r.prevHash != prev:
			return checked, &BrokenError{ID: r.id, Reason: "prev_hash does not match the hash of the entry before"}
		case !fieldOK(r.actor) || !fieldOK(r.action) || !fieldOK(r.subject) || !fieldOK(r.remote):
			return checked, &BrokenError{ID: r.id, Reason: "a field holds control characters or invalid UTF-8, which Record never stores"}
		case Hash(r.prevHash, r.id, r.at, r.actor, r.action, r.subject, r.details, r.remote) != r.hash:
			return checked, &BrokenError{ID: r.id, Reason: "hash does not match the entry's content"}
		}
		checked++
		prev, want = r.hash, r.id+1
	}
	if err := rows.Err(); err != nil {
		return checked, fmt.Errorf("audit: read the log: %w", err)
	}
	return checked, nil
}

type row struct {
	id                                                      int64
	at                                                      time.Time
	actor, action, subject, details, remote, prevHash, hash string
}

// Head returns the id and hash of the newest entry, or 0 and GenesisHash
// for an empty log. Kept outside the database, it lets a later check tell
// that no entry was removed from the end.
func (l *Log) Head(ctx context.Context) (id int64, hash string, err error) {
	err = l.DB.QueryRowContext(ctx, `SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, GenesisHash, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit: read the newest entry: %w", err)
	}
	return id, hash, nil
}

// DefaultLimit and MaxLimit bound the entries List returns.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// ListFilter selects entries for List. Empty fields match everything.
type ListFilter struct {
	Actor   string
	Action  string
	Subject string
	// DetailKey and DetailValue, when both are set, return only entries
	// whose details hold that key with exactly that value (for instance
	// a keyed hash of a fiscal code: "fiscal_code_mac").
	DetailKey, DetailValue string
	// BeforeID, when positive, returns only entries older than this id: pass
	// the ID of the last entry of a page to get the next page.
	BeforeID int64
	// Limit is the most entries returned: DefaultLimit when 0, at most MaxLimit.
	Limit int
}

// List returns the entries matching f, newest first.
func (l *Log) List(ctx context.Context, f ListFilter) ([]Record, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.Subject != "" {
		add("subject = $%d", f.Subject)
	}
	if f.DetailKey != "" && f.DetailValue != "" {
		// details is canonical JSON: the pair is written exactly so.
		pair, err := canonicalDetails(map[string]string{f.DetailKey: f.DetailValue})
		if err != nil {
			return nil, err
		}
		add(`details LIKE $%d`+db.LikeEscape, db.Containing(strings.TrimSuffix(strings.TrimPrefix(pair, "{"), "}")))
	}
	if f.BeforeID > 0 {
		add("id < $%d", f.BeforeID)
	}
	q := `SELECT id, at, actor, action, subject, details, remote, prev_hash, hash FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := l.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var details string
		if err := rows.Scan(&r.ID, &r.At, &r.Actor, &r.Action, &r.Subject, &details, &r.Remote, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		r.At = r.At.UTC()
		if details != "{}" {
			if err := json.Unmarshal([]byte(details), &r.Details); err != nil {
				return nil, fmt.Errorf("audit: entry %d: details are not a JSON object of strings: %w", r.ID, err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// About lists, oldest first, every entry a person acted in (actor) or that
// concerned them (subject: their account id, their address): what the
// download of their data includes.
func (l *Log) About(ctx context.Context, actor string, subjects ...string) ([]Record, error) {
	args := []any{actor}
	cond := []string{"actor = $1"}
	for _, s := range subjects {
		if s == "" {
			continue
		}
		args = append(args, s)
		cond = append(cond, fmt.Sprintf("subject = $%d", len(args)))
	}
	rows, err := l.DB.QueryContext(ctx, `SELECT id, at, actor, action, subject, details, remote, prev_hash, hash FROM audit_log
		WHERE `+strings.Join(cond, " OR ")+` ORDER BY id`, args...) // #nosec G202 -- only placeholders are joined in
	if err != nil {
		return nil, fmt.Errorf("audit: about: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var details string
		if err := rows.Scan(&r.ID, &r.At, &r.Actor, &r.Action, &r.Subject, &details, &r.Remote, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("audit: about: %w", err)
		}
		r.At = r.At.UTC()
		if details != "{}" {
			if err := json.Unmarshal([]byte(details), &r.Details); err != nil {
				return nil, fmt.Errorf("audit: entry %d: %w", r.ID, err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
