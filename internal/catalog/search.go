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

// serviceIndex is the services' full-text index (see db.FullText and
// migrations/0008_catalog_search.sql).
var serviceIndex = db.FullText{Table: "services"}

// indexServices rewrites the services' full-text index in tx.
func indexServices(ctx context.Context, d *db.DB, tx *sql.Tx, services []*Service) error {
	docs := make([]db.Doc, len(services))
	for i, s := range services {
		docs[i] = db.Doc{ID: s.ID, Title: s.Title, Body: strings.Join([]string{s.Summary, s.Audience, s.HowTo, s.Needed, s.Outcome}, "\n")}
	}
	return serviceIndex.Reindex(ctx, d, tx, docs)
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
	return serviceIndex.Match(ctx, s.DB, ws, 50)
}

// Reindex writes the services' full-text index anew when it lacks some of
// them (on SQLite, after a migration that emptied it); it does nothing
// otherwise. The catalogue calls it when it is wired.
func (s *Store) Reindex(ctx context.Context) error {
	stale, err := serviceIndex.Stale(ctx, s.DB)
	if err != nil || !stale {
		return err
	}
	c, err := s.load(ctx, s.DB)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error { return indexServices(ctx, s.DB, tx, c.Services) })
}
