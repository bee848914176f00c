// Package population is the town's population register (anagrafe) as civico
// holds it: who is resident, in which district and at which address, with
// sex, birth date and place, citizenship, and their household (famiglia
// anagrafica) with each member's relation to its head. It is loaded from
// the civil registry's export with `civico residents import`; single
// sign-on's residence scope, the logins that prove a fiscal code and the
// certificates read it through small interfaces of their own.
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
	// What certificates state, empty when the export has none: the names,
	// the birthplace as the register writes it ("Milano (MI)"), the
	// citizenship ("italiana"), the address of residence.
	FamilyName  string `json:"family_name,omitempty"`
	GivenName   string `json:"given_name,omitempty"`
	BirthPlace  string `json:"birth_place,omitempty"`
	Citizenship string `json:"citizenship,omitempty"`
	Address     string `json:"address,omitempty"`
	// Household is the family's number in the register; Relation the
	// member's relation to the head of the household ("intestatario
	// scheda", "coniuge", "figlio"...).
	Household string `json:"household,omitempty"`
	Relation  string `json:"relation,omitempty"`
}

// Certifiable reports whether the register holds what a certificate
// states of the person: names, birth date and place, citizenship.
func (p Person) Certifiable() bool {
	return p.FamilyName != "" && p.GivenName != "" && p.BirthDate != "" && p.BirthPlace != "" && p.Citizenship != ""
}

// columns are the register's columns in Person's order, after the fiscal
// code.
const columns = `district, sex, birth_date, family_name, given_name, birth_place, citizenship, address, household, relation`

func (p *Person) fields() []any {
	return []any{&p.District, &p.Sex, &p.BirthDate, &p.FamilyName, &p.GivenName, &p.BirthPlace, &p.Citizenship, &p.Address, &p.Household, &p.Relation}
}

func (p Person) values() []any {
	return []any{p.District, p.Sex, p.BirthDate, p.FamilyName, p.GivenName, p.BirthPlace, p.Citizenship, p.Address, p.Household, p.Relation}
}

const insert = `INSERT INTO registry_residents (fiscal_code, ` + columns + `, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// Import replaces the register with a CSV export of the civil registry, one
// line per resident:
//
//	codice_fiscale;quartiere[;sesso;data_nascita[;cognome;nome;luogo_nascita;cittadinanza;indirizzo;famiglia;relazione]]
//
// separated by semicolons; a header line is skipped; the district may be
// empty; sex is F or M and the birth date YYYY-MM-DD, both or neither, and
// must agree with the fiscal code (its day, month, two-digit year and sex).
// The eleven-field form adds what certificates state: family and given
// names, birthplace, citizenship, address, the household's number and the
// relation to its head (both or neither).
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
			if _, err := tx.ExecContext(ctx, insert, append(append([]any{p.FiscalCode}, p.values()...), now)...); err != nil {
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

// Put adds or replaces residents, in one transaction (the demo town's
// people).
func (r *Register) Put(ctx context.Context, people ...Person) error {
	now := r.now()
	return r.DB.Tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, insert+` ON CONFLICT (fiscal_code) DO UPDATE SET district = EXCLUDED.district, sex = EXCLUDED.sex,
			birth_date = EXCLUDED.birth_date, family_name = EXCLUDED.family_name, given_name = EXCLUDED.given_name, birth_place = EXCLUDED.birth_place,
			citizenship = EXCLUDED.citizenship, address = EXCLUDED.address, household = EXCLUDED.household, relation = EXCLUDED.relation,
			updated_at = EXCLUDED.updated_at`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, p := range people {
			if _, err := st.ExecContext(ctx, append(append([]any{p.FiscalCode}, p.values()...), now)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Count is the number of residents the register holds.
func (r *Register) Count(ctx context.Context) (int, error) {
	var n int
	err := r.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM registry_residents`).Scan(&n)
	return n, err
}

// MaxHousehold bounds the members a household's certificate lists: a
// household of more is an institution's (convivenza), not a family.
const MaxHousehold = 50

// Household returns the members of a household, its head first, then by
// birth date; none for "".
func (r *Register) Household(ctx context.Context, household string) ([]Person, error) {
	if household == "" {
		return nil, nil
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT fiscal_code, `+columns+` FROM registry_residents WHERE household = $1
		ORDER BY CASE WHEN relation = $2 THEN 0 ELSE 1 END, birth_date, fiscal_code LIMIT $3`, household, HeadOfHousehold, MaxHousehold)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var p Person
		if err := rows.Scan(append([]any{&p.FiscalCode}, p.fields()...)...); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Housemates returns the fiscal codes of the members of a person's
// household in the register, the person's own included; none when the
// register does not hold the person or gives no household. Other features
// ask it (the school services' sibling reductions) instead of reading the
// register's tables.
func (r *Register) Housemates(ctx context.Context, fiscalCode string) ([]string, error) {
	p, ok, err := r.Lookup(ctx, fiscalCode)
	if err != nil || !ok || p.Household == "" {
		return nil, err
	}
	members, err := r.Household(ctx, p.Household)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(members))
	for _, m := range members {
		out = append(out, m.FiscalCode)
	}
	return out, nil
}

// HeadOfHousehold is the relation of the household's head.
const HeadOfHousehold = "intestatario scheda"

// Lookup returns the resident with a fiscal code; ok is false for someone
// the register does not hold.
func (r *Register) Lookup(ctx context.Context, fiscalCode string) (Person, bool, error) {
	if fiscalCode == "" {
		return Person{}, false, nil
	}
	p := Person{FiscalCode: fiscalCode}
	err := r.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM registry_residents WHERE fiscal_code = $1`, fiscalCode).Scan(p.fields()...)
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
		if len(rec) > 4 && len(rec) != 11 {
			return nil, fmt.Errorf("line %d: %d fields, expected 1, 2, 4 or 11 (codice_fiscale;quartiere;sesso;data_nascita;cognome;nome;luogo_nascita;cittadinanza;indirizzo;famiglia;relazione)", line, len(rec))
		}
		if len(rec) == 3 {
			return nil, fmt.Errorf("line %d: sex and birth date go together (codice_fiscale;quartiere;sesso;data_nascita)", line)
		}
		if len(rec) >= 4 {
			if err := birth(&p, code, strings.TrimSpace(rec[2]), strings.TrimSpace(rec[3])); err != nil {
				return nil, fmt.Errorf("line %d: %v", line, err)
			}
		}
		if len(rec) == 11 {
			if err := details(&p, rec[4:]); err != nil {
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

// MaxText bounds the register's other texts (names, places, addresses).
const MaxText = 120

// details reads the certificates' fields of an eleven-field line.
func details(p *Person, rec []string) error {
	for i, dst := range []*string{&p.FamilyName, &p.GivenName, &p.BirthPlace, &p.Citizenship, &p.Address, &p.Household, &p.Relation} {
		v := strings.Join(strings.Fields(rec[i]), " ")
		if len(v) > MaxText {
			return fmt.Errorf("%s longer than %d characters", detailNames[i], MaxText)
		}
		if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("%s holds a control character", detailNames[i])
		}
		*dst = v
	}
	if (p.Household == "") != (p.Relation == "") {
		return errors.New("household and relation go together (famiglia;relazione)")
	}
	if p.FamilyName != "" && p.BirthDate == "" {
		return errors.New("names without sex and birth date (codice_fiscale;quartiere;sesso;data_nascita;cognome;...)")
	}
	return nil
}

var detailNames = []string{"family name (cognome)", "given name (nome)", "birthplace (luogo_nascita)", "citizenship (cittadinanza)",
	"address (indirizzo)", "household (famiglia)", "relation (relazione)"}
