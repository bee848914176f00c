package db

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
)

// sequenceName is what a sequence may be called: it is written into SQL.
var sequenceName = regexp.MustCompile(`^[a-z][a-z0-9_]*_seq$`)

// NextVal draws the next number of a sequence that a migration made: on
// PostgreSQL a SEQUENCE (CREATE SEQUENCE name), whose numbers are never
// given twice even when the drawing transaction rolls back; on SQLite a
// counter table of the same name holding one row (value), drawn inside tx
// under the database's only write lock, so a number is taken only when tx
// commits and never given twice either. Names end in _seq.
func (d *DB) NextVal(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	if !sequenceName.MatchString(name) {
		return 0, fmt.Errorf("db: %q is not a sequence name (lower case, ending in _seq)", name)
	}
	var v int64
	q := `UPDATE ` + name + ` SET value = value + 1 RETURNING value` // #nosec G202 -- name matched sequenceName above
	if d.Dialect == Postgres {
		q = `SELECT nextval('` + name + `')` // #nosec G202 -- name matched sequenceName above
	}
	if err := tx.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return 0, fmt.Errorf("db: next value of %s: %w", name, err)
	}
	return v, nil
}
