package cards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/token"
)

// Status is a card's state in the regional authority's registry.
type Status string

// The states of a card. A suspended or revoked card is refused at login.
const (
	Active    Status = "ATTIVA"
	Suspended Status = "SOSPESA"
	Revoked   Status = "REVOCATA"
)

// Refused reports whether a card in this state may not log in.
func (s Status) Refused() bool { return s == Suspended || s == Revoked }

// RegistryHeader is the first line of the authority's file, as it must be.
var RegistryHeader = []string{"seriale", "codice_fiscale", "data_emissione", "data_scadenza", "stato"}

// MaxFile is the largest file an import reads (about 600,000 cards).
const MaxFile = 32 << 20

// Card is one card of the registry.
type Card struct {
	Serial, FiscalCode string
	// IssuedOn and ExpiresOn are dates, YYYY-MM-DD.
	IssuedOn, ExpiresOn string
	Status              Status
	UpdatedAt           time.Time
}

// LineError is a wrong line of an imported file; Message is a message id
// of the feature's translations.
type LineError struct {
	File    string
	Line    int
	Column  string
	Message string
	// First is, for a serial given twice, the line that gave it first.
	First int
}

// Text is the error's message in lang through t (the feature's
// translations), with its arguments.
func (e LineError) Text(t func(lang, id string, args ...any) string, lang string) string {
	return t(lang, e.Message, "First", e.First)
}

// LineErrors are every wrong line of a file: nothing of it was imported.
type LineErrors []LineError

func (e LineErrors) Error() string {
	if len(e) == 0 {
		return "no errors"
	}
	f := e[0]
	return fmt.Sprintf("%s, line %d, %s: %s (%d wrong lines: nothing imported)", f.File, f.Line, f.Column, f.Message, len(e))
}

// MaxLineErrors is how many wrong lines a refusal lists: the rest are
// counted, not listed.
const MaxLineErrors = 100

var serialRE = regexp.MustCompile(`^[0-9]{6,32}$`)

// Canonical is a card number as the registry keeps and compares it: its
// digits without leading zeros ("0" for a number of zeros only). The
// certificate's CN, the authority's file and the envelopes may write one
// card's number with or without the zeros a spreadsheet drops, and a
// number compared byte for byte would then miss a revoked card at login
// (fail open). A number that is not all digits is returned as it is, and
// then matches nothing the registry holds.
func Canonical(serial string) string {
	for _, r := range serial {
		if r < '0' || r > '9' {
			return serial
		}
	}
	if serial == "" {
		return serial
	}
	if t := strings.TrimLeft(serial, "0"); t != "" {
		return t
	}
	return "0"
}

// ErrDuplicate is a file imported before.
var ErrDuplicate = problem.New(problem.Conflict, "cards.error.duplicate", errors.New("cards: this file was imported before"))

// readCSV reads a semicolon-separated file with the given header, calling
// line for each record after it with its line number; the errors of every
// line are collected.
func readCSV(file string, data []byte, header []string, line func(n int, rec []string) []LineError) (int, error) {
	if len(data) > MaxFile {
		return 0, LineErrors{{File: file, Line: 1, Column: "file", Message: "cards.error.too_big"}}
	}
	if !utf8.Valid(data) {
		return 0, LineErrors{{File: file, Line: 1, Column: "file", Message: "cards.error.encoding"}}
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	var errs LineErrors
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		ln, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				ln = pe.Line
			}
			errs = append(errs, LineError{File: file, Line: ln, Column: "file", Message: "cards.error.csv"})
			break
		}
		if n == 0 && len(errs) == 0 && ln == 1 {
			n++
			if !sameHeader(rec, header) {
				return 0, LineErrors{{File: file, Line: 1, Column: "header", Message: "cards.error.header"}}
			}
			continue
		}
		n++
		if len(rec) != len(header) {
			errs = append(errs, LineError{File: file, Line: ln, Column: "line", Message: "cards.error.columns"})
		} else {
			errs = append(errs, line(ln, rec)...)
		}
		if len(errs) >= MaxLineErrors {
			break
		}
	}
	if n == 0 {
		return 0, LineErrors{{File: file, Line: 1, Column: "header", Message: "cards.error.header"}}
	}
	if n == 1 && len(errs) == 0 {
		return 0, LineErrors{{File: file, Line: 2, Column: "file", Message: "cards.error.empty"}}
	}
	if len(errs) > 0 {
		return 0, errs
	}
	return n - 1, nil
}

func sameHeader(rec, header []string) bool {
	if len(rec) != len(header) {
		return false
	}
	for i := range rec {
		if strings.ToLower(strings.TrimSpace(rec[i])) != header[i] {
			return false
		}
	}
	return true
}

// ParseRegistry reads the authority's file: every line is checked, and
// any wrong line refuses the whole file (LineErrors, naming file, line,
// column and reason). A serial twice in one file is wrong.
func ParseRegistry(file string, data []byte, now time.Time) ([]Card, error) {
	var out []Card
	seen := map[string]int{}
	today := now.Format(time.DateOnly)
	_, err := readCSV(file, data, RegistryHeader, func(n int, rec []string) []LineError {
		var errs []LineError
		bad := func(col, msg string) { errs = append(errs, LineError{File: file, Line: n, Column: col, Message: msg}) }
		c := Card{Serial: strings.TrimSpace(rec[0]), IssuedOn: strings.TrimSpace(rec[2]), ExpiresOn: strings.TrimSpace(rec[3]),
			Status: Status(strings.ToUpper(strings.TrimSpace(rec[4])))}
		if !serialRE.MatchString(c.Serial) {
			bad("seriale", "cards.error.serial")
		} else {
			c.Serial = Canonical(c.Serial)
			if first, dup := seen[c.Serial]; dup {
				errs = append(errs, LineError{File: file, Line: n, Column: "seriale", Message: "cards.error.serial_twice", First: first})
			} else {
				seen[c.Serial] = n
			}
		}
		code, err := cf.Parse(strings.TrimSpace(rec[1]))
		if err != nil {
			bad("codice_fiscale", "cards.error.fiscal_code")
		}
		c.FiscalCode = string(code)
		issued, err1 := time.Parse(time.DateOnly, c.IssuedOn)
		if err1 != nil {
			bad("data_emissione", "cards.error.date")
		} else if c.IssuedOn > today {
			bad("data_emissione", "cards.error.issued_future")
		}
		expires, err2 := time.Parse(time.DateOnly, c.ExpiresOn)
		if err2 != nil {
			bad("data_scadenza", "cards.error.date")
		} else if err1 == nil && !expires.After(issued) {
			bad("data_scadenza", "cards.error.expiry_order")
		}
		switch c.Status {
		case Active, Suspended, Revoked:
		default:
			bad("stato", "cards.error.status")
		}
		if len(errs) == 0 {
			out = append(out, c)
		}
		return errs
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Import is one accepted file.
type Import struct {
	ID, Kind, FileName, SHA256 string
	Lines                      int
	Actor                      string
	CreatedAt                  time.Time
}

// Registry is the town's registry of cards.
type Registry struct {
	DB    *db.DB
	Audit audit.Writer
	Now   func() time.Time
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// importBatch is how many cards one statement writes.
const importBatch = 200

// Import writes the cards of an accepted file in one transaction: a card
// already known takes the file's state (the authority's file is the
// truth). A file imported before is ErrDuplicate. progress, if set, is
// told how many cards are written so far.
func (r *Registry) Import(ctx context.Context, file string, data []byte, list []Card, actor string, progress func(done int)) (*Import, error) {
	sum := sha256.Sum256(data)
	imp := &Import{ID: token.ID(), Kind: "registry", FileName: file, SHA256: hex.EncodeToString(sum[:]), Lines: len(list), Actor: actor, CreatedAt: r.now()}
	err := r.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := insertImport(ctx, tx, imp); err != nil {
			return err
		}
		for start := 0; start < len(list); start += importBatch {
			end := min(start+importBatch, len(list))
			var q strings.Builder
			q.WriteString(`INSERT INTO cards (serial, fiscal_code, issued_on, expires_on, status, import_id, updated_at) VALUES `)
			args := make([]any, 0, 7*(end-start))
			for i, c := range list[start:end] {
				if i > 0 {
					q.WriteString(", ")
				}
				k := len(args)
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7)
				args = append(args, c.Serial, c.FiscalCode, c.IssuedOn, c.ExpiresOn, string(c.Status), imp.ID, imp.CreatedAt)
			}
			q.WriteString(` ON CONFLICT (serial) DO UPDATE SET fiscal_code = excluded.fiscal_code, issued_on = excluded.issued_on,
				expires_on = excluded.expires_on, status = excluded.status, import_id = excluded.import_id, updated_at = excluded.updated_at`)
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
			if progress != nil {
				progress(end)
			}
		}
		return r.Audit.Write(ctx, tx, audit.Entry{Actor: actor, Action: "cards.registry.imported", Subject: "card_import:" + imp.ID,
			Details: map[string]string{"file": file, "sha256": imp.SHA256, "cards": fmt.Sprint(len(list))}})
	})
	if err != nil {
		return nil, err
	}
	return imp, nil
}

func insertImport(ctx context.Context, tx *sql.Tx, imp *Import) error {
	var dup int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_imports WHERE sha256 = $1`, imp.SHA256).Scan(&dup); err != nil {
		return err
	}
	if dup > 0 {
		return ErrDuplicate
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO card_imports (id, kind, file_name, sha256, lines, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		imp.ID, imp.Kind, imp.FileName, imp.SHA256, imp.Lines, imp.Actor, imp.CreatedAt)
	if db.IsUniqueViolation(err) {
		return ErrDuplicate
	}
	return err
}

const selectCard = `SELECT serial, fiscal_code, issued_on, expires_on, status, updated_at FROM cards`

func scanCard(s interface{ Scan(...any) error }) (*Card, error) {
	c := &Card{}
	var st string
	if err := s.Scan(&c.Serial, &c.FiscalCode, &c.IssuedOn, &c.ExpiresOn, &st, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.Status, c.UpdatedAt = Status(st), c.UpdatedAt.UTC()
	return c, nil
}

// ErrNoCard is a serial the registry does not hold.
var ErrNoCard = problem.New(problem.NotFound, "cards.error.no_card", errors.New("cards: no such card"))

// Card reads one card by serial.
func (r *Registry) Card(ctx context.Context, serial string) (*Card, error) {
	c, err := scanCard(r.DB.QueryRowContext(ctx, selectCard+` WHERE serial = $1`, Canonical(serial)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoCard
	}
	return c, err
}

// Refused returns those of serials that the registry holds as suspended
// or revoked, each as it was given: a number given with leading zeros the
// registry's copy lacks (or the reverse) is the same card (Canonical).
func (r *Registry) Refused(ctx context.Context, serials []string) ([]string, error) {
	given := make(map[string][]string, len(serials))
	canon := make([]string, 0, len(serials))
	for _, s := range serials {
		c := Canonical(s)
		if _, seen := given[c]; !seen {
			canon = append(canon, c)
		}
		given[c] = append(given[c], s)
	}
	var out []string
	for start := 0; start < len(canon); start += refusedBatch {
		part := canon[start:min(start+refusedBatch, len(canon))]
		in, args := db.InList([]any{string(Suspended), string(Revoked)}, part)
		rows, err := r.DB.QueryContext(ctx, `SELECT serial FROM cards WHERE status IN ($1, $2) AND serial IN `+in, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				_ = rows.Close()
				return nil, err
			}
			out = append(out, given[s]...)
		}
		err = rows.Err()
		_ = rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Of lists the cards of a fiscal code, newest first (at most 20: a
// person has a handful).
func (r *Registry) Of(ctx context.Context, fiscalCode string) ([]*Card, error) {
	rows, err := r.DB.QueryContext(ctx, selectCard+` WHERE fiscal_code = $1 ORDER BY issued_on DESC, serial LIMIT 20`, fiscalCode)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Card
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
