package db

import (
	"bufio"
	"context"
	"database/sql"
	_ "embed" // the Italian stop words
	"strings"
	"sync"
	"unicode"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/italian"
)

// FullText is a full-text index of a table's rows (id, title, body), in
// Italian on both engines: words are matched by their stem (multa finds
// Multe, tempi finds tempo) and by prefix (what a resident is still
// typing), and Italian stop words do not count. On PostgreSQL it is a
// generated tsvector column "search" of the table (the italian text
// search configuration), which the database keeps up to date; on SQLite,
// an FTS5 table <Table>_fts (id, title, body) that Reindex rewrites with
// each word's stem, computed here by the Snowball Italian stemmer, the
// algorithm PostgreSQL's italian configuration uses. The table's migration
// creates either.
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+f.Table+`_fts (id, title, body) VALUES ($1, $2, $3)`, // #nosec G202 -- as above
			doc.ID, strings.Join(stems(doc.Title), " "), strings.Join(stems(doc.Body), " ")); err != nil {
			return err
		}
	}
	return nil
}

// Stale reports whether the index lacks some rows of its table (on SQLite,
// where civico writes it: after a migration that emptied it to be written
// anew, say); the owner then reindexes. PostgreSQL's is never stale.
func (f FullText) Stale(ctx context.Context, d *DB) (bool, error) {
	if d.Dialect != SQLite {
		return false, nil
	}
	var rows, indexed int
	if err := d.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM `+f.Table+`), (SELECT COUNT(*) FROM `+f.Table+`_fts)`).Scan(&rows, &indexed); err != nil { // #nosec G202 -- as above
		return false, err
	}
	return rows != indexed, nil
}

// Match returns the ids of the rows matching every word (by stem and
// prefix; stop words left out), best first, at most limit. Words must be
// letters and digits only (the caller splits what a person typed), so
// nothing reaches the query syntax; titles weigh more than bodies.
func (f FullText) Match(ctx context.Context, d *DB, words []string, limit int) ([]string, error) {
	var kept []string
	for _, w := range words {
		if w = strings.ToLower(w); !stopWord(w) {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	var rows *sql.Rows
	var err error
	if d.Dialect == SQLite {
		terms := make([]string, len(kept))
		for i, w := range kept {
			terms[i] = `"` + stem(w) + `"*`
		}
		rows, err = d.QueryContext(ctx, `SELECT id FROM `+f.Table+`_fts WHERE `+f.Table+`_fts MATCH $1 ORDER BY bm25(`+f.Table+`_fts, 0, 5, 1) LIMIT $2`, // #nosec G202 -- as above
			strings.Join(terms, " "), limit)
	} else {
		terms := make([]string, len(kept))
		for i, w := range kept {
			terms[i] = w + ":*"
		}
		rows, err = d.QueryContext(ctx, `SELECT id FROM `+f.Table+`, to_tsquery('italian', $1) AS q
			WHERE search @@ q ORDER BY ts_rank(search, q) DESC, title LIMIT $2`, strings.Join(terms, " & "), limit) // #nosec G202 -- as above
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

// stems are the stems of a text's words, stop words left out, as
// PostgreSQL's italian configuration would index them.
func stems(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := words[:0]
	for _, w := range words {
		if !stopWord(w) {
			out = append(out, stem(w))
		}
	}
	return out
}

// stem is a lower-case word's Snowball Italian stem.
func stem(w string) string {
	env := snowballstem.NewEnv(w)
	italian.Stem(env)
	return env.Current()
}

// italianStop is Snowball's list of Italian stop words, as PostgreSQL
// ships it (tsearch_data/italian.stop): the words its italian
// configuration leaves out.
//
//go:embed italian.stop
var italianStop string

var stopWords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(italianStop))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[w] = true
		}
	}
	return m
})

func stopWord(w string) bool { return stopWords()[w] }
