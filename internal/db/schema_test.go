package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/jobs"
)

// The migrations are one text translated for each engine: the schemas they
// build must be the same — tables, columns with their kinds, nullability
// and defaults, primary keys, unique constraints, indexes, foreign keys —
// except where a migration says they differ on purpose (full-text search,
// catalog's 0008_catalog_search.sql), and river's tables (package jobs),
// which river's own migrator builds in each engine's words (jsonb and an
// enum on PostgreSQL, blobs and checks on SQLite): river's suite tests
// them, and jobs' tests that they are complete.
func TestSchemasMatchAcrossDialects(t *testing.T) {
	lite, pg := describe(t, dbtest.SQLite(t)), describe(t, dbtest.Postgres(t))
	for _, s := range []map[string]string{lite, pg} {
		if s["table river_job"] == "" {
			t.Fatal("river's tables are missing: the migrations did not build the job queue")
		}
		dropRiver(s)
	}
	delete(pg, "column services.search")
	delete(pg, "index services_search")
	for k := range lite {
		if strings.Contains(k, " services_fts") { // the FTS5 table and its shadow tables
			delete(lite, k)
		}
		// A sequence (DB.NextVal) is a SEQUENCE on PostgreSQL and a
		// counter table on SQLite.
		if strings.HasPrefix(k, "table ") && strings.HasSuffix(k, "_seq") || strings.HasPrefix(k, "column ") && strings.HasSuffix(k, "_seq.value") {
			delete(lite, k)
		}
	}
	if len(lite) < 100 {
		t.Fatalf("only %d schema facts on SQLite: the description reads nothing", len(lite))
	}
	for _, k := range union(lite, pg) {
		l, lok := lite[k]
		p, pok := pg[k]
		switch {
		case !lok:
			t.Errorf("%s only on PostgreSQL: %s", k, p)
		case !pok:
			t.Errorf("%s only on SQLite: %s", k, l)
		case l != p:
			t.Errorf("%s: SQLite %s, PostgreSQL %s", k, l, p)
		}
	}
}

// dropRiver forgets the facts about river's tables.
func dropRiver(s map[string]string) {
	for k, v := range s {
		for _, tb := range jobs.Tables {
			if k == "table "+tb || strings.HasPrefix(k, "column "+tb+".") || strings.HasPrefix(k, "unique "+tb+"(") ||
				strings.HasPrefix(k, "foreign key "+tb+".") ||
				strings.HasPrefix(k, "index ") && (strings.HasPrefix(v, "on "+tb+"(") || strings.HasPrefix(v, "unique on "+tb+"(")) {
				delete(s, k)
			}
		}
	}
}

func union(a, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// kind is the family of a column type, as both engines store it.
func kind(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case strings.Contains(t, "int"):
		return "integer"
	case strings.HasPrefix(t, "timestamp"):
		return "timestamp"
	case t == "text", strings.HasPrefix(t, "character"):
		return "text"
	case t == "blob", t == "bytea":
		return "bytes"
	}
	return t
}

var cast = regexp.MustCompile(`::[a-z ]+`)

// literal is a column default as both engines would write it.
func literal(d sql.NullString) string {
	if !d.Valid {
		return "none"
	}
	v := strings.Trim(strings.ToLower(strings.TrimSpace(cast.ReplaceAllString(d.String, ""))), "()")
	switch v {
	case "0", "false":
		return "false/0"
	case "1", "true":
		return "true/1"
	}
	return v
}

// query reads every row as strings.
func query(t *testing.T, d *db.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
			if !v.Valid {
				row[i] = "\x00null"
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func nullable(s string) sql.NullString {
	if s == "\x00null" {
		return sql.NullString{}
	}
	return sql.NullString{String: s, Valid: true}
}

// describe lists the schema's facts: "table t", "column t.c", "unique
// t(c,...)" (primary keys and unique constraints), "index name",
// "foreign key t.c".
func describe(t *testing.T, d *db.DB) map[string]string {
	t.Helper()
	s := map[string]string{}
	if d.Dialect == db.SQLite {
		for _, tb := range query(t, d, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`) {
			table := tb[0]
			s["table "+table] = "table"
			var pk []string
			for _, c := range query(t, d, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info($1) ORDER BY pk`, table) {
				notNull := c[2] == "1" || c[4] != "0"
				s["column "+table+"."+c[0]] = fmt.Sprintf("%s, not null %v, default %s", kind(c[1]), notNull, literal(nullable(c[3])))
				if c[4] != "0" {
					pk = append(pk, c[0])
				}
			}
			if len(pk) > 0 {
				s["unique "+table+"("+strings.Join(pk, ",")+")"] = "primary key"
			}
			for _, ix := range query(t, d, `SELECT name, "unique", origin FROM pragma_index_list($1)`, table) {
				var cols []string
				for _, c := range query(t, d, `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, ix[0]) {
					cols = append(cols, c[0])
				}
				on := table + "(" + strings.Join(cols, ",") + ")"
				switch {
				case ix[2] == "pk":
				case ix[2] == "u":
					s["unique "+on] = "unique"
				case ix[1] == "1":
					s["index "+ix[0]] = "unique on " + on
				default:
					s["index "+ix[0]] = "on " + on
				}
			}
			for _, fk := range query(t, d, `SELECT "table", "from", COALESCE("to", ''), on_delete FROM pragma_foreign_key_list($1)`, table) {
				s["foreign key "+table+"."+fk[1]] = fmt.Sprintf("%s(%s) on delete %s", fk[0], fk[2], strings.ToLower(fk[3]))
			}
		}
		delete(s, "table schema_migrations")
		return cleanBookkeeping(s)
	}
	for _, tb := range query(t, d, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`) {
		s["table "+tb[0]] = "table"
	}
	for _, c := range query(t, d, `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = current_schema()`) {
		s["column "+c[0]+"."+c[1]] = fmt.Sprintf("%s, not null %v, default %s", kind(c[2]), c[3] == "NO", literal(nullable(c[4])))
	}
	for _, ix := range query(t, d, `SELECT i.relname, t.relname, ix.indisunique, ix.indisprimary,
		EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype = 'u'),
		array_to_string(ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), ',')
		FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema()`) {
		on := ix[1] + "(" + ix[5] + ")"
		switch {
		case ix[3] == "true":
			s["unique "+on] = "primary key"
		case ix[4] == "true":
			s["unique "+on] = "unique"
		case ix[2] == "true":
			s["index "+ix[0]] = "unique on " + on
		default:
			s["index "+ix[0]] = "on " + on
		}
	}
	for _, fk := range query(t, d, `SELECT cl.relname, a.attname, rc.relname, ra.attname, c.confdeltype
		FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class rc ON rc.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = cl.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
		WHERE c.contype = 'f' AND n.nspname = current_schema()`) {
		action := map[string]string{"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}[fk[4]]
		s["foreign key "+fk[0]+"."+fk[1]] = fmt.Sprintf("%s(%s) on delete %s", fk[2], fk[3], action)
	}
	delete(s, "table schema_migrations")
	return cleanBookkeeping(s)
}

// cleanBookkeeping drops the migrator's own table.
func cleanBookkeeping(s map[string]string) map[string]string {
	for k := range s {
		if strings.Contains(k, "schema_migrations") {
			delete(s, k)
		}
	}
	return s
}
