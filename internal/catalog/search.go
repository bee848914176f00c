package catalog

import (
	"context"
	"database/sql"
	"strings"
	"unicode"

	"github.com/civico-pa/civico/internal/db"
)

// maxQuery bounds what a search may ask.
const maxQuery = 200

// indexServices rewrites the SQLite full-text index in tx (PostgreSQL keeps
// its own index from a generated column).
func indexServices(ctx context.Context, d *db.DB, tx *sql.Tx, services []*Service) error {
	if d.Dialect != db.SQLite {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM services_fts`); err != nil {
		return err
	}
	for _, s := range services {
		body := strings.Join([]string{s.Summary, s.Audience, s.HowTo, s.Needed, s.Outcome}, "\n")
		if _, err := tx.ExecContext(ctx, `INSERT INTO services_fts (id, title, body) VALUES ($1, $2, $3)`, s.ID, s.Title, body); err != nil {
			return err
		}
	}
	return nil
}

// words splits a query into searchable words: letters and digits only, so
// nothing a resident types can reach the query syntax.
func words(q string) []string {
	if len(q) > maxQuery {
		q = q[:maxQuery]
	}
	f := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := f[:0]
	for _, w := range f {
		if len([]rune(w)) >= 2 {
			out = append(out, w)
		}
	}
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

// Search returns the ids of the services matching q, best first.
func (s *Store) Search(ctx context.Context, q string) ([]string, error) {
	ws := words(q)
	if len(ws) == 0 {
		return nil, nil
	}
	var rows *sql.Rows
	var err error
	if s.DB.Dialect == db.SQLite {
		terms := make([]string, len(ws))
		for i, w := range ws {
			terms[i] = `"` + w + `"*`
		}
		rows, err = s.DB.QueryContext(ctx, `SELECT id FROM services_fts WHERE services_fts MATCH $1 ORDER BY bm25(services_fts, 0, 5, 1) LIMIT 50`,
			strings.Join(terms, " "))
	} else {
		rows, err = s.DB.QueryContext(ctx, `SELECT id FROM services, plainto_tsquery('italian', $1) AS q
			WHERE search @@ q ORDER BY ts_rank(search, q) DESC, title LIMIT 50`, strings.Join(ws, " "))
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
