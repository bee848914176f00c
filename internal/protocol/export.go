package protocol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/civico-pa/civico/internal/hours"
)

// Export is a daily register written for preservation.
type Export struct {
	Register, Day string
	Entries       int
	// FirstSeq and LastSeq are the day's first and last numbers (0 for a
	// day without registrations).
	FirstSeq, LastSeq    int64
	CSVSHA256, PDFSHA256 string
	ExportedAt           time.Time
}

// Name is the files' name without extension:
// registro-giornaliero-generale-2027-03-14.
func (x Export) Name() string { return FileName(x.Register, x.Day) }

// FileName is the name of a register's daily files, without extension.
func FileName(register, day string) string { return "registro-giornaliero-" + register + "-" + day }

// path is where a daily register's file lives: Dir/<register>/<year>/<name>.<ext>.
func (g *Registry) path(register, day, ext string) (string, error) {
	if !registerRE.MatchString(register) || !isDate(day) || (ext != "csv" && ext != "pdf") {
		return "", fmt.Errorf("protocol: no daily register %s %s.%s", register, day, ext)
	}
	return filepath.Join(g.Dir, register, day[:4], FileName(register, day)+"."+ext), nil
}

// Open opens an exported daily register's file (ext "csv" or "pdf").
func (g *Registry) Open(register, day, ext string) (*os.File, error) {
	p, err := g.path(register, day, ext)
	if err != nil {
		return nil, err
	}
	return os.Open(p) // #nosec G304 -- p is Dir/<register>/<year>/<name> from a validated register, date and extension
}

// barrier waits for every registration of a register and year that is
// still in flight: it locks the year's counter (creating it, as the first
// registration would), then lets it go. A registration that locks the
// counter afterwards reads the clock afterwards too, so it cannot fall on
// a day that ended before the barrier.
func (g *Registry) barrier(ctx context.Context, register string, year int) error {
	return g.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO protocol_counters (register, year, seq) VALUES ($1, $2, 0)
			ON CONFLICT (register, year) DO UPDATE SET seq = protocol_counters.seq`, register, year)
		return err
	})
}

// ErrDayNotOver: a day's register is exported once the day has ended.
var ErrDayNotOver = errors.New("protocol: the day is not over")

// ExportDay writes a register's daily register for day (YYYY-MM-DD) as CSV
// and PDF under Dir and records it. It is idempotent: a day exported
// before is left as it is and its record returned; two processes
// exporting at once write the same bytes. Only a day that is over in Rome
// can be exported.
func (g *Registry) ExportDay(ctx context.Context, register, day string) (Export, error) {
	if g.Dir == "" {
		return Export{}, errors.New("protocol: no data directory configured")
	}
	start, err := time.ParseInLocation(time.DateOnly, day, hours.Rome)
	if err != nil || !registerRE.MatchString(register) {
		return Export{}, fmt.Errorf("protocol: no daily register %q %q", register, day)
	}
	end := start.AddDate(0, 0, 1)
	if !g.now().After(end) {
		return Export{}, fmt.Errorf("%w: %s", ErrDayNotOver, day)
	}
	if x, ok, err := g.exported(ctx, register, day); err != nil || ok {
		return x, err
	}
	if err := g.barrier(ctx, register, start.Year()); err != nil {
		return Export{}, err
	}
	entries, err := g.Day(ctx, register, day)
	if err != nil {
		return Export{}, err
	}
	town := ""
	if g.Town != nil {
		if town, err = g.Town(ctx); err != nil {
			return Export{}, err
		}
	}
	csvData, err := dailyCSV(entries)
	if err != nil {
		return Export{}, err
	}
	x := Export{Register: register, Day: day, Entries: len(entries), CSVSHA256: sum(csvData)}
	if len(entries) > 0 {
		x.FirstSeq, x.LastSeq = entries[0].Number.Seq, entries[len(entries)-1].Number.Seq
	}
	// The PDF is dated the end of its day, not the moment it was made, so
	// that every export of a day is the same file.
	pdfData, err := dailyPDF(town, x, entries, end)
	if err != nil {
		return Export{}, err
	}
	x.PDFSHA256 = sum(pdfData)
	for ext, data := range map[string][]byte{"csv": csvData, "pdf": pdfData} {
		p, err := g.path(register, day, ext)
		if err != nil {
			return Export{}, err
		}
		if err := writeFile(p, data); err != nil {
			return Export{}, err
		}
	}
	x.ExportedAt = g.now()
	if err := g.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO protocol_exports (register, day, entries, first_seq, last_seq, csv_sha256, pdf_sha256, exported_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (register, day) DO NOTHING`,
			x.Register, x.Day, x.Entries, x.FirstSeq, x.LastSeq, x.CSVSHA256, x.PDFSHA256, x.ExportedAt)
		return err
	}); err != nil {
		return Export{}, err
	}
	// Another process may have recorded it first: its record stands.
	x, _, err = g.exported(ctx, register, day)
	return x, err
}

func (g *Registry) exported(ctx context.Context, register, day string) (Export, bool, error) {
	x := Export{Register: register, Day: day}
	err := g.DB.QueryRowContext(ctx, `SELECT entries, first_seq, last_seq, csv_sha256, pdf_sha256, exported_at FROM protocol_exports
		WHERE register = $1 AND day = $2`, register, day).Scan(&x.Entries, &x.FirstSeq, &x.LastSeq, &x.CSVSHA256, &x.PDFSHA256, &x.ExportedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Export{}, false, nil
	}
	x.ExportedAt = x.ExportedAt.UTC()
	return x, err == nil, err
}

// Exports lists a register's exported days, newest first, at most limit
// (50 at most) from offset, and how many there are.
func (g *Registry) Exports(ctx context.Context, register string, limit, offset int) ([]Export, int, error) {
	if register == "" {
		register = General
	}
	limit = min(max(limit, 1), 50)
	var total int
	if err := g.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM protocol_exports WHERE register = $1`, register).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := g.DB.QueryContext(ctx, `SELECT day, entries, first_seq, last_seq, csv_sha256, pdf_sha256, exported_at FROM protocol_exports
		WHERE register = $1 ORDER BY day DESC LIMIT $2 OFFSET $3`, register, limit, max(offset, 0))
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = rows.Close() }()
	var out []Export
	for rows.Next() {
		x := Export{Register: register}
		if err := rows.Scan(&x.Day, &x.Entries, &x.FirstSeq, &x.LastSeq, &x.CSVSHA256, &x.PDFSHA256, &x.ExportedAt); err != nil {
			return nil, 0, err
		}
		x.ExportedAt = x.ExportedAt.UTC()
		out = append(out, x)
	}
	return out, total, rows.Err()
}

// ExportDue exports every day that is over and not yet exported, of every
// register, from each register's first registration (days without
// registrations get an empty daily register, so that the series has no
// holes). It is the daily job; run it as often as wanted.
func (g *Registry) ExportDue(ctx context.Context) (int, error) {
	rows, err := g.DB.QueryContext(ctx, `SELECT register, MIN(day) FROM protocol_entries GROUP BY register ORDER BY register`)
	if err != nil {
		return 0, err
	}
	type first struct{ register, day string }
	var registers []first
	for rows.Next() {
		var f first
		if err := rows.Scan(&f.register, &f.day); err != nil {
			_ = rows.Close()
			return 0, err
		}
		registers = append(registers, f)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	today := dayOf(g.now())
	n := 0
	for _, f := range registers {
		from := f.day
		var last sql.NullString
		if err := g.DB.QueryRowContext(ctx, `SELECT MAX(day) FROM protocol_exports WHERE register = $1`, f.register).Scan(&last); err != nil {
			return n, err
		}
		if last.Valid && last.String >= from {
			from = nextDay(last.String)
		}
		for day := from; day < today; day = nextDay(day) {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			if _, err := g.ExportDay(ctx, f.register, day); err != nil {
				return n, fmt.Errorf("protocol: export %s %s: %w", f.register, day, err)
			}
			n++
		}
	}
	return n, nil
}

func nextDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "9999-12-31"
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// writeFile writes data to p through a temporary file renamed into place
// and synced, so a reader never sees half a register.
func writeFile(p string, data []byte) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".export-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if err := f.Chmod(0o640); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return err
	}
	d, err := os.Open(dir) // #nosec G304 -- dir is the register's folder under Dir
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

// csvHeader names the columns of the daily register, in Italian: the
// register is the town's record, read by its archivists.
var csvHeader = []string{"numero", "registro", "data_registrazione", "direzione", "oggetto", "corrispondente",
	"data_documento_ricevuto_inviato", "numero_documento_mittente", "data_documento_mittente", "impronta_sha256", "rettifica_di", "riferimento", "registrato_da"}

// dailyCSV is the day's register as CSV (RFC 4180, UTF-8), one entry a
// row in number order, instants in UTC (RFC 3339).
func dailyCSV(entries []Registered) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(csvHeader); err != nil {
		return nil, err
	}
	for _, x := range entries {
		if err := w.Write([]string{x.Number.String(), x.Register, x.RegisteredAt.Format(time.RFC3339Nano), direction(x.Direction),
			cell(x.Subject), cell(x.Correspondent), x.At.Format(time.RFC3339Nano), cell(x.DocNumber), x.DocDate, x.DocSHA256,
			x.Corrects.String(), cell(x.Ref), cell(x.By)}); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// cell keeps a spreadsheet from reading a text as a formula (CSV
// injection): a leading =, +, - or @ gets an apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func direction(d Direction) string {
	if d == In {
		return "entrata"
	}
	return "uscita"
}

// dailyPDF is the day's register as a printable PDF: the town, the
// register and day, the count and the first and last numbers, then a
// table of the entries, and on every page the CSV's fingerprint.
func dailyPDF(town string, x Export, entries []Registered, date time.Time) ([]byte, error) {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetCreationDate(date)
	pdf.SetModificationDate(date)
	pdf.SetCatalogSort(true)
	pdf.SetProducer("civico", false)
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	pdf.SetTitle(FileName(x.Register, x.Day), true)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont("Helvetica", "", 7)
		pdf.CellFormat(0, 5, tr("SHA-256 del file CSV dello stesso giorno: "+x.CSVSHA256), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 5, fmt.Sprintf("Pagina %d di {nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	cols := []struct {
		title string
		width float64
	}{{"Numero", 22}, {"Ora", 14}, {"Dir.", 14}, {"Oggetto", 85}, {"Corrispondente", 62}, {"Doc. mittente", 30}, {"Rettifica di", 22}, {"Registrato da", 28}}
	header := func() {
		pdf.SetFont("Helvetica", "B", 8)
		pdf.SetFillColor(230, 233, 242)
		for _, c := range cols {
			pdf.CellFormat(c.width, 6, tr(c.title), "1", 0, "L", true, 0, "")
		}
		pdf.Ln(-1)
		pdf.SetFont("Helvetica", "", 8)
	}
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 14)
	pdf.CellFormat(0, 8, tr(town), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	day, _ := time.Parse(time.DateOnly, x.Day)
	pdf.CellFormat(0, 6, tr("Registro giornaliero di protocollo - registro "+x.Register+" - "+day.Format("02/01/2006")), "", 1, "L", false, 0, "")
	summary := "Nessuna registrazione in questo giorno."
	if x.Entries > 0 {
		summary = fmt.Sprintf("%d registrazioni, dal numero %s al numero %s.", x.Entries,
			Number{Year: day.Year(), Seq: x.FirstSeq}, Number{Year: day.Year(), Seq: x.LastSeq})
	}
	pdf.CellFormat(0, 6, tr(summary), "", 1, "L", false, 0, "")
	pdf.Ln(3)
	pdf.SetHeaderFuncMode(func() {
		if pdf.PageNo() > 1 {
			header()
		}
	}, false)
	header()
	const line = 4.0
	for _, e := range entries {
		doc := e.DocNumber
		if e.DocDate != "" {
			doc = strings.TrimSpace(doc + " del " + e.DocDate)
		}
		values := []string{e.Number.String(), e.RegisteredAt.In(hours.Rome).Format("15:04:05"), direction(e.Direction), e.Subject,
			e.Correspondent, doc, e.Corrects.String(), e.By}
		cells := make([][]string, len(cols))
		lines := 1
		for i, v := range values {
			cells[i] = pdf.SplitText(tr(strings.ReplaceAll(v, "\t", " ")), cols[i].width-2)
			lines = max(lines, len(cells[i]))
		}
		h := float64(lines)*line + 1
		_, pageH := pdf.GetPageSize()
		if pdf.GetY()+h > pageH-15 {
			pdf.AddPage()
		}
		left, _, _, _ := pdf.GetMargins()
		x0, y0 := pdf.GetXY()
		for i, c := range cols {
			pdf.Rect(x0, y0, c.width, h, "D")
			for j, l := range cells[i] {
				pdf.SetXY(x0+1, y0+0.5+float64(j)*line)
				pdf.CellFormat(c.width-2, line, l, "", 0, "L", false, 0, "")
			}
			x0 += c.width
		}
		pdf.SetXY(left, y0+h)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
