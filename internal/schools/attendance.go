package schools

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
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/problem"
)

// The attendance import (docs/SCHOOLS.md, "Attendance"): the meals each
// child had in a month of a service billed per meal, from the canteen's
// CSV, checked line by line and imported whole or not at all, once per
// file; the monthly bills then charge meals times the enrolment's tariff.

// AttendanceHeader is the CSV's first line: the child's fiscal code, the
// month (YYYY-MM) and the meals in it, separated by ";".
const AttendanceHeader = "codice_fiscale;mese;pasti"

// Bounds of an attendance file.
const (
	MaxAttendanceFile  = 2 << 20
	MaxAttendanceLines = 20000
	// MaxMeals is the most meals a child has in a month.
	MaxMeals = 31
	// maxLineErrors bounds the wrong lines a refusal lists.
	maxLineErrors = 50
)

// AttendanceLine is one line of the file.
type AttendanceLine struct {
	Line    int
	ChildFC string
	Month   string
	Meals   int
}

// LineError is a wrong line: its number (1 is the header), the message id
// that says why (translated by the pages; Error is the English) and the
// value.
type LineError struct {
	Line         int
	Message, Why string
	Value        string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s (%q)", e.Line, e.Why, e.Value) }

// LineErrors are a file's wrong lines: nothing was imported.
type LineErrors []LineError

func (le LineErrors) Error() string {
	var s []string
	for _, e := range le {
		s = append(s, e.Error())
	}
	return "schools: attendance: " + strings.Join(s, "; ")
}

// ErrAttendanceBefore is a file imported before: nothing changes.
var ErrAttendanceBefore = problem.New(problem.Conflict, "schools.attendance.before", errors.New("schools: this attendance file was imported before"))

// ErrNotPerMeal is an attendance file for a service not billed per meal.
var ErrNotPerMeal = problem.New(problem.Conflict, "schools.attendance.not_per_meal", errors.New("schools: the service is not billed per meal"))

// ParseAttendance reads the file's lines, every wrong one in LineErrors
// (the first maxLineErrors): the header, the fiscal code (its check
// character), the month (YYYY-MM, begun by now), the meals (0-31), a child
// and month once.
func ParseAttendance(data []byte, now time.Time) ([]AttendanceLine, error) {
	if len(data) > MaxAttendanceFile {
		return nil, LineErrors{{Line: 0, Message: "schools.attendance.too_big", Why: "the file is larger than 2 MiB"}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma, r.FieldsPerRecord, r.ReuseRecord = ';', -1, true
	var out []AttendanceLine
	var le LineErrors
	bad := func(line int, id, why, value string) {
		if len(le) < maxLineErrors {
			le = append(le, LineError{Line: line, Message: id, Why: why, Value: value})
		}
	}
	seen := map[string]int{}
	month := now.In(rome).Format("2006-01")
	for n := 1; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			if n == 1 {
				bad(1, "schools.attendance.header", "the first line must be "+AttendanceHeader, "")
			}
			break
		}
		if err != nil {
			bad(n, "schools.attendance.csv", "not a CSV line", err.Error())
			break
		}
		if n == 1 {
			if strings.ToLower(strings.TrimSpace(strings.Join(rec, ";"))) != AttendanceHeader {
				bad(1, "schools.attendance.header", "the first line must be "+AttendanceHeader, strings.Join(rec, ";"))
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // an empty line
		}
		if len(out)+len(le) >= MaxAttendanceLines {
			bad(n, "schools.attendance.too_many", fmt.Sprintf("more than %d lines", MaxAttendanceLines), "")
			break
		}
		if len(rec) != 3 {
			bad(n, "schools.attendance.fields", "a line has three fields: fiscal code; month; meals", strings.Join(rec, ";"))
			continue
		}
		l := AttendanceLine{Line: n}
		code, err := cf.Parse(strings.TrimSpace(rec[0]))
		if err != nil {
			bad(n, "schools.attendance.fiscal_code", "not a fiscal code", rec[0])
			continue
		}
		l.ChildFC = code.String()
		l.Month = strings.TrimSpace(rec[1])
		if m, err := time.Parse("2006-01", l.Month); err != nil || len(l.Month) != 7 || m.Year() < 2000 {
			bad(n, "schools.attendance.month", "the month is written YYYY-MM", rec[1])
			continue
		}
		if l.Month > month {
			bad(n, "schools.attendance.month_ahead", "the month has not begun", rec[1])
			continue
		}
		meals, err := strconv.Atoi(strings.TrimSpace(rec[2]))
		if err != nil || meals < 0 || meals > MaxMeals {
			bad(n, "schools.attendance.meals", "the meals are a number from 0 to 31", rec[2])
			continue
		}
		l.Meals = meals
		key := l.ChildFC + " " + l.Month
		if first, ok := seen[key]; ok {
			bad(n, "schools.attendance.twice", fmt.Sprintf("the child's month is on line %d too", first), rec[0])
			continue
		}
		seen[key] = n
		out = append(out, l)
	}
	if len(le) > 0 {
		return nil, le
	}
	return out, nil
}

// AttendanceResult is what an import did.
type AttendanceResult struct {
	File        string
	Lines       int
	Meals       int
	SHA256      string
	ImportedAt  time.Time
	ServiceID   string
	ServiceName string
}

// ImportAttendance imports an attendance file of a service billed per
// meal, in one transaction: the file's hash first (a file imported before
// is ErrAttendanceBefore, also when two imports of it race: the key
// decides), then each line, whose child must have an enrolment of the
// service accepted by the month's end and whose month must not have been
// imported: every wrong line is in LineErrors and nothing is imported.
// progress, if set, is told the lines done.
func (s *Store) ImportAttendance(ctx context.Context, serviceID, name string, data []byte, by Actor, progress func(done, total int)) (*AttendanceResult, error) {
	name = db.CleanText(name, 200)
	svc, err := s.Service(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	if svc.TariffUnit != "meal" {
		return nil, ErrNotPerMeal
	}
	lines, err := ParseAttendance(data, s.now())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	res := &AttendanceResult{File: name, Lines: len(lines), SHA256: hex.EncodeToString(sum[:]), ImportedAt: s.now(), ServiceID: svc.ID, ServiceName: svc.Title}
	for _, l := range lines {
		res.Meals += l.Meals
	}
	if progress != nil {
		progress(0, len(lines))
	}
	var le LineErrors
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO schools_attendance_files (sha256, service_id, file_name, lines, meals, actor, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, res.SHA256, svc.ID, name, res.Lines, res.Meals, by.Name, res.ImportedAt); err != nil {
			if db.IsUniqueViolation(err) {
				return ErrAttendanceBefore
			}
			return err
		}
		for i, l := range lines {
			m, _ := time.ParseInLocation("2006-01", l.Month, rome)
			end := m.AddDate(0, 1, 0).UTC()
			var enrolment string
			err := tx.QueryRowContext(ctx, `SELECT id FROM schools_enrolments WHERE service_id = $1 AND child_fc = $2 AND accepted_at IS NOT NULL AND accepted_at < $3
				ORDER BY accepted_at DESC, id LIMIT 1`, svc.ID, l.ChildFC, end).Scan(&enrolment)
			if errors.Is(err, sql.ErrNoRows) {
				le = append(le, LineError{Line: l.Line, Message: "schools.attendance.not_enrolled", Why: "the child has no enrolment accepted in the service by the month's end", Value: l.ChildFC})
				continue
			}
			if err != nil {
				return err
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO schools_attendance (service_id, child_fc, month, enrolment_id, meals, file_sha256) VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (service_id, child_fc, month) DO NOTHING`, svc.ID, l.ChildFC, l.Month, enrolment, l.Meals, res.SHA256)
			if err != nil {
				return err
			}
			if n, err := r.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				le = append(le, LineError{Line: l.Line, Message: "schools.attendance.imported", Why: "the child's month was imported from another file", Value: l.ChildFC + " " + l.Month})
			}
			if len(le) >= maxLineErrors {
				break
			}
			if progress != nil {
				progress(i+1, len(lines))
			}
		}
		if len(le) > 0 {
			return le
		}
		return s.audit(ctx, tx, by, "schools.attendance.import", "schools_attendance:"+res.SHA256, map[string]string{"service": svc.ID, "file": name,
			"lines": strconv.Itoa(res.Lines), "meals": strconv.Itoa(res.Meals)})
	})
	if err != nil {
		if errors.As(err, &le) {
			return nil, le
		}
		if errors.Is(err, ErrAttendanceBefore) {
			return nil, ErrAttendanceBefore
		}
		return nil, fmt.Errorf("schools: attendance: %w", err)
	}
	return res, nil
}

// AttendanceFile is an imported file, for the office's page.
type AttendanceFile struct {
	Name         string
	Lines, Meals int
	Actor        string
	CreatedAt    time.Time
}

// AttendanceFiles are the service's latest imported files, newest first.
func (s *Store) AttendanceFiles(ctx context.Context, serviceID string) ([]AttendanceFile, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT file_name, lines, meals, actor, created_at FROM schools_attendance_files WHERE service_id = $1
		ORDER BY created_at DESC LIMIT $2`, serviceID, PageSize)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []AttendanceFile
	for rows.Next() {
		var f AttendanceFile
		if err := rows.Scan(&f.Name, &f.Lines, &f.Meals, &f.Actor, &f.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
