package db

import (
	"context"
	"database/sql"
	"strings"
)

// FullText is a full-text index of a table's rows (id, title, body), in
// Italian where the engine can: on PostgreSQL, a generated tsvector column
// "search" of the table, which the database keeps up to date (Italian
// stemming and stop words); on SQLite, an FTS5 table <Table>_fts (id,
// title, body) that Reindex rewrites (FTS5 has no Italian stemmer: words
// match by prefix, accents folded). The table's migration creates either.
type FullText struct {
	Table string
}

// Doc is one row as the index sees it.
type Doc struct {
	ID, Title, Body string
}

// Reindex rewrites the index from docs, in tx. On PostgreSQL the database
// keeps the index: nothing to do.
func (f FullText) Reindex(ctx context.Context, d *DB, tx *sql.Tx, docs []Doc) error {
	if d.Dialect != SQLite {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+f.Table+`_fts`); err != nil { // #nosec G202 -- Table is a constant of the calling package
		return err
	}
	for _, doc := range docs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+f.Table+`_fts (id, title, body) VALUES ($1, $2, $3)`, doc.ID, doc.Title, doc.Body); err != nil { // #nosec G202 -- as above
			return err
		}
	}
	return nil
}

// Match returns the ids of the rows matching every word, best first, at
// most limit. Words must be letters and digits only (the caller splits
// what a person typed), so nothing reaches the query syntax; titles weigh
// more than bodies.
func (f FullText) Match(ctx context.Context, d *DB, words []string, limit int) ([]string, error) {
	var rows *sql.Rows
	var err error
	if d.Dialect == SQLite {
		terms := make([]string, len(words))
		for i, w := range words {
			terms[i] = `"` + w + `"*`
		}
		rows, err = d.QueryContext(ctx, `SELECT id FROM `+f.Table+`_fts WHERE `+f.Table+`_fts MATCH $1 ORDER BY bm25(`+f.Table+`_fts, 0, 5, 1) LIMIT $2`, // #nosec G202 -- as above
			strings.Join(terms, " "), limit)
	} else {
		rows, err = d.QueryContext(ctx, `SELECT id FROM `+f.Table+`, plainto_tsquery('italian', $1) AS q
			WHERE search @@ q ORDER BY ts_rank(search, q) DESC, title LIMIT $2`, strings.Join(words, " "), limit) // #nosec G202 -- as above
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
