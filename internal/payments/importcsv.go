package payments

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// The columns of an import file (CSV with a header, comma or semicolon):
//
//	id             the office's own reference of the position: unique
//	codice_fiscale the debtor's
//	nominativo     the debtor's name (optional)
//	categoria      mensa, trasporto, prepost, tari, imu, bollo, sanzione, altro
//	               (or the English names)
//	causale        the reason (for TARI: the property)
//	anno           the year
//	importo        euro ("45,20"); for TARI the tax without TEFA, which is added
//	scadenza       due date, YYYY-MM-DD or DD/MM/YYYY
//	rate           optional instalments "YYYY-MM-DD:euro|YYYY-MM-DD:euro"
//	               (TARI takes the year's due dates from the rates)
var importColumns = []string{"id", "codice_fiscale", "nominativo", "categoria", "causale", "anno", "importo", "scadenza", "rate"}

var categoryNames = map[string]Category{
	"mensa": Canteen, "canteen": Canteen, "trasporto": Transport, "transport": Transport, "prepost": School, "pre-post-scuola": School, "school": School,
	"tari": TARI, "imu": IMU, "bollo": Stamp, "stamp": Stamp, "sanzione": Fine, "multa": Fine, "fine": Fine, "altro": Other, "other": Other,
}

// LineError is a wrong line of an import: its number (the header is 1),
// the column and what is wrong (a message id).
type LineError struct {
	Line    int
	Column  string
	Message string
}

// ImportErrors are every wrong line: nothing was imported.
type ImportErrors []LineError

func (e ImportErrors) Error() string { return fmt.Sprintf("%d wrong lines: nothing imported", len(e)) }

// MaxImportLines bounds one file.
const MaxImportLines = 100_000

// ImportLine is a validated line, ready to be created.
type ImportLine struct {
	Line     int
	Position NewPosition
}

func parseDay(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if validDate(s) {
		return s, true
	}
	if t, err := time.Parse("02/01/2006", s); err == nil {
		return t.Format(dateLayout), true
	}
	return "", false
}

// ParseImport reads and validates a whole file, line by line: every error
// of every line is returned (ImportErrors), or every line ready to be
// created. Duplicate ids within the file are errors; ids already loaded
// are found by Import.
func (s *Service) ParseImport(ctx context.Context, data []byte, rates *Rates) ([]ImportLine, error) {
	creditor, err := s.Creditor(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.Towns.Get(ctx)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, ImportErrors{{Line: 1, Column: "", Message: "payments.import.error.header"}}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, c := range importColumns {
		if _, ok := col[c]; !ok && c != "nominativo" && c != "rate" {
			return nil, ImportErrors{{Line: 1, Column: c, Message: "payments.import.error.header"}}
		}
	}
	var errs ImportErrors
	var out []ImportLine
	seen := map[string]int{}
	line := 1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line++
		if line > MaxImportLines+1 {
			errs = append(errs, LineError{Line: line, Message: "payments.import.error.too_long"})
			break
		}
		if err != nil {
			errs = append(errs, LineError{Line: line, Message: "payments.import.error.csv"})
			continue
		}
		get := func(c string) string {
			i, ok := col[c]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if strings.Join(rec, "") == "" {
			continue
		}
		reported := map[string]bool{}
		bad := func(c, m string) {
			if !reported[c] {
				reported[c] = true
				errs = append(errs, LineError{Line: line, Column: c, Message: m})
			}
		}
		id := get("id")
		if id == "" || len(id) > 64 {
			bad("id", "payments.error.external_id")
		} else if _, dup := seen[id]; dup {
			bad("id", "payments.import.error.duplicate_line")
		} else {
			seen[id] = line
		}
		cat, ok := categoryNames[strings.ToLower(get("categoria"))]
		if !ok {
			bad("categoria", "payments.error.category")
		}
		year, err := strconv.Atoi(get("anno"))
		if err != nil {
			bad("anno", "payments.error.year")
		}
		amount, ok := ParseCents(get("importo"))
		if !ok {
			bad("importo", "payments.error.amount")
		}
		due, ok := parseDay(get("scadenza"))
		if !ok && cat != TARI {
			bad("scadenza", "payments.error.due_date")
		}
		var p NewPosition
		if cat == TARI && amount > 0 && year > 0 {
			p, err = rates.TARIPosition(upper(get("codice_fiscale")), get("nominativo"), get("causale"), t.CadastralCode, creditor, year, amount, id)
			if err != nil {
				bad("anno", "payments.import.error.no_rates")
				continue
			}
		} else {
			p = NewPosition{DebtorCF: get("codice_fiscale"), DebtorName: get("nominativo"), Category: cat, Reason: get("causale"), Year: year, Amount: amount,
				DueDate: due, ExternalID: id, Source: "import"}
			if rs := get("rate"); rs != "" {
				p.Single = true
				for _, part := range strings.Split(rs, "|") {
					d, a, _ := strings.Cut(strings.TrimSpace(part), ":")
					dd, okd := parseDay(d)
					cents, oka := ParseCents(a)
					if !okd || !oka {
						bad("rate", "payments.error.instalments")
						break
					}
					p.Instalments = append(p.Instalments, Instalment{Amount: cents, DueDate: dd})
				}
			}
		}
		p.Source = "import"
		if fe := p.Validate(); fe != nil {
			for _, field := range []string{"external_id", "debtor_cf", "debtor_name", "category", "reason", "year", "amount", "due_date", "payable_until", "instalments"} {
				if msg, ok := fe[field]; ok {
					bad(importColumn(field), msg)
				}
			}
			continue
		}
		if len(reported) > 0 {
			continue
		}
		out = append(out, ImportLine{Line: line, Position: p})
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, LineError{Line: 2, Message: "payments.import.error.empty"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func importColumn(field string) string {
	switch field {
	case "debtor_cf":
		return "codice_fiscale"
	case "debtor_name":
		return "nominativo"
	case "category":
		return "categoria"
	case "reason":
		return "causale"
	case "year":
		return "anno"
	case "amount":
		return "importo"
	case "due_date":
		return "scadenza"
	case "instalments":
		return "rate"
	case "external_id":
		return "id"
	}
	return field
}

// Imported is what an import created.
type Imported struct {
	ID        string
	Positions int
	Notices   int
	Amount    int64
}

// Import creates every line in one transaction, or nothing: a line whose
// id was loaded before fails the whole file with its line number, and the
// same file (by its SHA-256) cannot be loaded twice (DuplicateImport,
// which is ErrDuplicate). progress is told after each line. It is the
// command line's import, in its own process, recorded among the back
// office's imports (by the actor); the back office's runs the same
// creation as a job (RunImport).
func (s *Service) Import(ctx context.Context, name string, data []byte, lines []ImportLine, by Actor, progress func(done int)) (*Imported, error) {
	now := s.now()
	run := &ImportRun{ID: tokens.ID(), SHA256: fileSum(data), Name: db.CleanText(name, 200), Lines: len(lines), By: by.Name, ByName: by.Name, CreatedAt: now}
	return s.importLines(ctx, run, lines, by, progress)
}

// importLines creates an import's lines in one transaction, or none, and
// records the import as done in the same transaction: its row in
// payments_imports (the file's SHA-256, unique) and in
// payments_import_runs, written or brought to done. Imports run one at a
// time (LockPaymentsImport), and an import whose record is there already
// is not run again: its first run's outcome is returned.
func (s *Service) importLines(ctx context.Context, run *ImportRun, lines []ImportLine, by Actor, progress func(done int)) (*Imported, error) {
	out := &Imported{ID: run.ID}
	created := false // by this call (not an import done before)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		created = false
		if err := s.DB.Hold(ctx, tx, db.LockPaymentsImport); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT positions, amount FROM payments_imports WHERE id = $1`, run.ID).Scan(&out.Positions, &out.Amount)
		if err == nil {
			// Done before: the record says so, whatever a run read.
			if _, err := tx.ExecContext(ctx, `UPDATE payments_import_runs SET status = 'done', done = lines, updated_at = $2 WHERE id = $1 AND status <> 'done'`,
				run.ID, s.now()); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT notices FROM payments_import_runs WHERE id = $1`, run.ID).Scan(&out.Notices)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		earlier, err := earlierImport(ctx, tx, run.SHA256, run.ID)
		if err != nil {
			return err
		}
		if earlier != nil {
			return &DuplicateImport{Earlier: earlier}
		}
		var errs ImportErrors
		for i, l := range lines {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_positions WHERE external_id = $1`, l.Position.ExternalID).Scan(&exists); err != nil {
				return err
			}
			if exists > 0 {
				errs = append(errs, LineError{Line: l.Line, Column: "id", Message: "payments.import.error.loaded"})
				continue
			}
			if len(errs) > 0 {
				continue // checking the rest, creating nothing
			}
			p, err := s.CreateTx(ctx, tx, l.Position, by)
			if err != nil {
				var fe problem.Fields
				if errors.As(err, &fe) {
					for f, m := range fe {
						errs = append(errs, LineError{Line: l.Line, Column: importColumn(f), Message: m})
					}
					continue
				}
				return err
			}
			out.Positions++
			out.Notices += len(p.Notices)
			out.Amount += l.Position.Amount
			if progress != nil {
				progress(i + 1)
			}
		}
		if len(errs) > 0 {
			return errs
		}
		created = true
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments_imports (id, sha256, name, positions, amount, by_actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			out.ID, run.SHA256, run.Name, out.Positions, out.Amount, run.By, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments_import_runs (id, sha256, name, lines, done, status, positions, notices, amount, by_actor, by_name, created_at, updated_at, finished_at)
			VALUES ($1, $2, $3, $4, $4, 'done', $5, $6, $7, $8, $9, $10, $11, $11)
			ON CONFLICT (id) DO UPDATE SET status = 'done', lines = excluded.lines, done = excluded.done, positions = excluded.positions, notices = excluded.notices,
				amount = excluded.amount, updated_at = excluded.updated_at, finished_at = excluded.finished_at`,
			out.ID, run.SHA256, run.Name, len(lines), out.Positions, out.Notices, out.Amount, run.By, run.ByName, run.CreatedAt, now); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.Name, Action: "payments.import", Subject: "import:" + out.ID, Remote: by.Remote,
			Details: map[string]string{"file": run.Name, "positions": strconv.Itoa(out.Positions), "notices": strconv.Itoa(out.Notices), "amount": EuroDot(out.Amount)}})
	})
	if err != nil {
		if db.IsUniqueViolation(err) {
			// The same file, accepted by the back office meanwhile.
			if earlier, e2 := earlierImport(ctx, s.DB, run.SHA256, run.ID); e2 == nil && earlier != nil {
				return nil, &DuplicateImport{Earlier: earlier}
			}
		}
		return nil, err
	}
	if created && out.Positions >= analyzeAfter {
		// A bulk load: the planner's statistics brought up to date now
		// rather than at autovacuum's next pass, so that the debtors'
		// pages read their indexes at once (db.Analyze; nothing on
		// SQLite). The import is committed: a failure here only delays
		// the statistics, and is logged.
		for _, table := range []string{"payments_positions", "payments_notices", "payments_transfers"} {
			if err := s.DB.Analyze(ctx, table); err != nil && s.Log != nil {
				s.Log.Warn("payments: statistics after an import", "table", table, "import", out.ID, "err", err)
			}
		}
	}
	return out, nil
}

// analyzeAfter is the size of an import after which its tables' statistics
// are brought up to date at once.
const analyzeAfter = 200
