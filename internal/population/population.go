// Package population is the town's population register (anagrafe) as civico
// holds it: who is resident, in which district, with sex and birth date. It
// is loaded from the civil registry's export with `civico residents import`;
// single sign-on's residence scope and the logins that prove a fiscal code
// read it through small interfaces of their own.
package population

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
)

// Register reads and replaces the register.
type Register struct {
	DB  *db.DB
	Now func() time.Time
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Person is one resident as the register holds them.
type Person struct {
	FiscalCode string `json:"fiscal_code"`
	District   string `json:"district"`
	Sex        string `json:"sex,omitempty"`        // "F", "M" or "" when the export has none
	BirthDate  string `json:"birth_date,omitempty"` // YYYY-MM-DD or ""
}

// Import replaces the register with a CSV export of the civil registry, one
// line per resident:
//
//	codice_fiscale;quartiere[;sesso;data_nascita]
//
// separated by semicolons; a header line is skipped; the district may be
// empty; sex is F or M and the birth date YYYY-MM-DD, both or neither, and
// must agree with the fiscal code (its day, month, two-digit year and sex).
// The whole file is checked before anything changes; it returns the number
// of residents. progress, when not nil, is told of each row stored.
func (r *Register) Import(ctx context.Context, in io.Reader, progress func(done, total int)) (int, error) {
	rows, err := Parse(in)
	if err != nil {
		return 0, err
	}
	now := r.now()
	err = r.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM registry_residents`); err != nil {
			return err
		}
		for i, p := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO registry_residents (fiscal_code, district, sex, birth_date, updated_at) VALUES ($1, $2, $3, $4, $5)`,
				p.FiscalCode, p.District, p.Sex, p.BirthDate, now); err != nil {
				return err
			}
			if progress != nil {
				progress(i+1, len(rows))
			}
		}
		return nil
	})
	return len(rows), err
}

// Put adds or replaces one resident (the demo town's people).
func (r *Register) Put(ctx context.Context, p Person) error {
	_, err := r.DB.ExecContext(ctx, `INSERT INTO registry_residents (fiscal_code, district, sex, birth_date, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (fiscal_code) DO UPDATE SET district = EXCLUDED.district, sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date, updated_at = EXCLUDED.updated_at`,
		p.FiscalCode, p.District, p.Sex, p.BirthDate, r.now())
	return err
}

// Lookup returns the resident with a fiscal code; ok is false for someone
// the register does not hold.
func (r *Register) Lookup(ctx context.Context, fiscalCode string) (Person, bool, error) {
	if fiscalCode == "" {
		return Person{}, false, nil
	}
	p := Person{FiscalCode: fiscalCode}
	err := r.DB.QueryRowContext(ctx, `SELECT district, sex, birth_date FROM registry_residents WHERE fiscal_code = $1`, fiscalCode).
		Scan(&p.District, &p.Sex, &p.BirthDate)
	if errors.Is(err, sql.ErrNoRows) {
		return Person{}, false, nil
	}
	return p, err == nil, err
}

// Residence answers whether a person is resident, and in which district.
func (r *Register) Residence(ctx context.Context, fiscalCode string) (bool, string, error) {
	p, ok, err := r.Lookup(ctx, fiscalCode)
	return ok, p.District, err
}

// Birth is the sex and birth date the register holds.
func (r *Register) Birth(ctx context.Context, fiscalCode string) (string, string, bool, error) {
	p, ok, err := r.Lookup(ctx, fiscalCode)
	return p.Sex, p.BirthDate, ok && p.BirthDate != "", err
}

// MaxDistrict bounds a district's name.
const MaxDistrict = 80

// Parse reads and checks a whole export.
func Parse(in io.Reader) ([]Person, error) {
	cr := csv.NewReader(in)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	var rows []Person
	seen := map[string]bool{}
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		fc := strings.ToUpper(strings.TrimSpace(rec[0]))
		if line == 1 && strings.Contains(strings.ToLower(fc), "codice") {
			continue
		}
		code, err := cf.Parse(fc)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not a valid fiscal code: %v", line, fc, err)
		}
		fc = string(code)
		if seen[fc] {
			return nil, fmt.Errorf("line %d: %s appears twice", line, fc)
		}
		seen[fc] = true
		p := Person{FiscalCode: fc}
		if len(rec) > 1 {
			p.District = strings.TrimSpace(rec[1])
		}
		if len(p.District) > MaxDistrict {
			return nil, fmt.Errorf("line %d: district name longer than %d characters", line, MaxDistrict)
		}
		if len(rec) > 4 {
			return nil, fmt.Errorf("line %d: %d fields, expected at most 4 (codice_fiscale;quartiere;sesso;data_nascita)", line, len(rec))
		}
		if len(rec) == 3 {
			return nil, fmt.Errorf("line %d: sex and birth date go together (codice_fiscale;quartiere;sesso;data_nascita)", line)
		}
		if len(rec) == 4 {
			if err := birth(&p, code, strings.TrimSpace(rec[2]), strings.TrimSpace(rec[3])); err != nil {
				return nil, fmt.Errorf("line %d: %v", line, err)
			}
		}
		rows = append(rows, p)
	}
	return rows, nil
}

// birth checks sex and birth date against the fiscal code, which encodes
// the day, the month, the year's last two digits and the sex.
func birth(p *Person, code cf.Code, sex, date string) error {
	if sex == "" && date == "" {
		return nil
	}
	sex = strings.ToUpper(sex)
	if sex != "F" && sex != "M" {
		return fmt.Errorf("sex %q: expected F or M", sex)
	}
	d, err := time.Parse("2006-01-02", date)
	if err != nil || d.Year() < 1850 {
		return fmt.Errorf("birth date %q: expected YYYY-MM-DD", date)
	}
	encoded := code.BirthDate(d.AddDate(1, 0, 0))
	if sex != code.Sex() || encoded.Month() != d.Month() || encoded.Day() != d.Day() || encoded.Year()%100 != d.Year()%100 {
		return fmt.Errorf("sex %s and birth date %s do not agree with the fiscal code %s", sex, date, code)
	}
	p.Sex, p.BirthDate = sex, date
	return nil
}
