package oidcop

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/civico-pa/civico/internal/cf"
)

// ImportRegistry replaces the registry of residents with a CSV export of
// the civil registry: one line per resident, "codice_fiscale;quartiere"
// (a header line is skipped; the district may be empty). The whole file is
// checked before anything changes; it returns the number of residents.
func ImportRegistry(ctx context.Context, s *Storage, r io.Reader) (int, error) {
	rows, err := parseRegistry(r)
	if err != nil {
		return 0, err
	}
	now := s.now()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM registry_residents`); err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO registry_residents (fiscal_code, district, updated_at) VALUES ($1, $2, $3)`, r.fc, r.district, now); err != nil {
				return err
			}
		}
		return nil
	})
	return len(rows), err
}

type registryRow struct{ fc, district string }

// parseRegistry reads and checks the whole file.
func parseRegistry(r io.Reader) ([]registryRow, error) {
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	var rows []registryRow
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
		if _, err := cf.Parse(fc); err != nil {
			return nil, fmt.Errorf("line %d: %q is not a valid fiscal code: %v", line, fc, err)
		}
		if seen[fc] {
			return nil, fmt.Errorf("line %d: %s appears twice", line, fc)
		}
		seen[fc] = true
		district := ""
		if len(rec) > 1 {
			district = strings.TrimSpace(rec[1])
		}
		if len(district) > 80 {
			return nil, fmt.Errorf("line %d: district name longer than 80 characters", line)
		}
		rows = append(rows, registryRow{fc, district})
	}
	return rows, nil
}
