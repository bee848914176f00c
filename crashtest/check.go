package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// summary is what a run found.
type summary struct {
	kind        string
	kills       int
	elapsed     time.Duration
	cleanStop   bool
	byKind      [2]kindSummary
	integrity   []string
	auditOutput string
	problems    []string
}

type kindSummary struct {
	sent, acked, lost, odd int
	refused                int // never reached civico (not counted in sent)
	found                  int // distinct writes of this run in the database
	ackedFound             int
	ackedMissing           int
	unackedFound           int // committed, but the answer was lost in the kill
	duplicates             int // writes found more than once
	phantoms               int // rows of this run that no write sent
}

func (s *summary) print(w io.Writer) {
	fmt.Fprintf(w, "crashtest %s summary: %d kills in %.1fs; final restart and SIGTERM: %s\n", s.kind, s.kills, s.elapsed.Seconds(), okString(s.cleanStop))
	for k, ks := range s.byKind {
		fmt.Fprintf(w, "  %-14s sent %5d: acknowledged %5d, no answer %4d, unexpected answer %d (and %d refused after a kill)\n",
			opKind(k).String()+"s:", ks.sent, ks.acked, ks.lost, ks.odd, ks.refused)
		fmt.Fprintf(w, "  %-14s found %5d: acknowledged %d/%d (missing %d), unacknowledged but committed %d; duplicates %d, phantoms %d\n",
			"", ks.found, ks.ackedFound, ks.acked, ks.ackedMissing, ks.unackedFound, ks.duplicates, ks.phantoms)
	}
	for _, line := range s.integrity {
		fmt.Fprintf(w, "  integrity: %s\n", line)
	}
	if s.auditOutput != "" {
		fmt.Fprintf(w, "  civico audit verify: %s\n", strings.ReplaceAll(s.auditOutput, "\n", "; "))
	}
	if len(s.problems) > 0 {
		fmt.Fprintf(w, "  %d problems:\n", len(s.problems))
		for i, p := range s.problems {
			if i == 20 {
				fmt.Fprintf(w, "    ... and %d more\n", len(s.problems)-i)
				break
			}
			fmt.Fprintf(w, "    - %s\n", p)
		}
	}
}

func okString(ok bool) string {
	if ok {
		return "ok"
	}
	return "not reached"
}

// summarise counts the writes sent and their answers.
func (l *ledger) summarise(s *summary) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.byKind = [2]kindSummary{}
	for _, o := range l.ops {
		ks := &s.byKind[o.Kind]
		if o.State == refused {
			ks.refused++
			continue
		}
		ks.sent++
		switch o.State {
		case acknowledged:
			ks.acked++
		case lost, pending:
			ks.lost++
		case unexpected:
			ks.odd++
		}
	}
}

// createDatabase makes a fresh database on the PostgreSQL server for this
// run and returns the function that drops it.
func (r *runner) createDatabase(ctx context.Context) (drop func(keep bool) error, err error) {
	u, err := url.Parse(r.opts.postgresURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-postgres-url / CIVICO_CRASH_POSTGRES_URL: want a postgres:// URL")
	}
	admin, err := db.Open(ctx, db.Target{Dialect: db.Postgres, URL: r.opts.postgresURL})
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at -postgres-url: %w", err)
	}
	r.dbName = "civico_crash_" + r.runID // runID is hex: a safe identifier
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+r.dbName); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("create database %s (the URL's user must be allowed to): %w", r.dbName, err)
	}
	u.Path = "/" + r.dbName
	r.dbURL = u.String()
	return func(keep bool) error {
		defer admin.Close()
		if keep {
			fmt.Printf("crashtest postgres: kept database %s\n", r.dbName)
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+r.dbName+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", r.dbName, err)
		}
		return nil
	}, nil
}

func (r *runner) target() db.Target {
	if r.kind == "postgres" {
		return db.Target{Dialect: db.Postgres, URL: r.dbURL}
	}
	return db.Target{Dialect: db.SQLite, Path: filepath.Join(r.dir, "data", "civico.db")}
}

// check reads the database directly, with civico stopped, and compares it
// with the ledger.
func (r *runner) check(ctx context.Context, sum *summary) error {
	d, err := db.Open(ctx, r.target())
	if err != nil {
		return fmt.Errorf("open the database after the run: %w", err)
	}
	defer d.Close()
	l := r.ledger

	ratings, err := countBy(ctx, d, `SELECT comment, COUNT(*) FROM page_feedback WHERE comment LIKE $1 GROUP BY comment`, l.tokenPrefix()+"%")
	if err != nil {
		return err
	}
	accounts := map[string]int{} // by e-mail
	ids := map[string]string{}   // e-mail -> account id
	rows, err := d.QueryContext(ctx, `SELECT id, email FROM accounts WHERE email LIKE $1`, "c"+l.runID+"-%")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			_ = rows.Close()
			return err
		}
		accounts[email]++
		ids[email] = id
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	audited, err := countBy(ctx, d, `SELECT subject, COUNT(*) FROM audit_log WHERE action = $1 GROUP BY subject`, "account.registered")
	if err != nil {
		return err
	}
	mails, err := countBy(ctx, d, `SELECT to_addr, COUNT(*) FROM mail_outbox WHERE to_addr LIKE $1 GROUP BY to_addr`, "c"+l.runID+"-%")
	if err != nil {
		return err
	}

	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	l.mu.Lock()
	sent := map[string]*op{}
	for _, o := range l.ops {
		sent[o.Key] = o
		found := ratings[o.Key]
		if o.Kind == registration {
			found = accounts[o.Key]
		}
		ks := &sum.byKind[o.Kind]
		if found > 0 {
			ks.found++
		}
		if found > 1 {
			ks.duplicates++
			bad("%s %s is in the database %d times (answer: %s)", o.Kind, o.Key, found, stateName(o.State))
		}
		switch {
		case o.State == refused && found > 0:
			bad("%s %s is in the database, but its connection was refused", o.Kind, o.Key)
		case o.State == acknowledged && found == 0:
			ks.ackedMissing++
			bad("%s %s was acknowledged (at %s) but is not in the database", o.Kind, o.Key, o.Started.Format("15:04:05.000"))
		case o.State == acknowledged:
			ks.ackedFound++
		case found > 0 && o.State != refused:
			ks.unackedFound++
		}
		if o.Kind == registration && found > 0 {
			// One transaction writes the account, its audit entry and its
			// verification mail: all three or none.
			if n := audited[ids[o.Key]]; n != 1 {
				bad("registration %s: the account is there with %d audit entries account.registered, want 1", o.Key, n)
			}
			if n := mails[o.Key]; n != 1 {
				bad("registration %s: the account is there with %d mails in the outbox, want 1", o.Key, n)
			}
		}
		if o.Kind == registration && found == 0 && mails[o.Key] > 0 {
			bad("registration %s: no account, but %d mails in the outbox (a torn transaction)", o.Key, mails[o.Key])
		}
	}
	l.mu.Unlock()
	for key := range ratings {
		if sent[key] == nil {
			sum.byKind[rating].phantoms++
			bad("rating %s is in the database but was never sent", key)
		}
	}
	for key := range accounts {
		if sent[key] == nil {
			sum.byKind[registration].phantoms++
			bad("account %s is in the database but was never registered", key)
		}
	}
	// An audit entry for an account that is not there would be a torn
	// registration too.
	var orphans int
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = $1 AND subject NOT IN (SELECT id FROM accounts)`,
		"account.registered").Scan(&orphans); err != nil {
		return err
	}
	if orphans > 0 {
		bad("%d audit entries account.registered name an account that does not exist", orphans)
	}

	integrity, err := r.integrity(ctx, d)
	sum.integrity = integrity
	if err != nil {
		bad("%v", err)
	}
	sum.problems = problems
	if len(problems) > 0 {
		return fmt.Errorf("%w: %d problems (listed above); the first: %s", errCheck, len(problems), problems[0])
	}
	return nil
}

func stateName(s outcome) string {
	return [...]string{"none yet", "acknowledged", "none (lost in the kill)", "connection refused", "unexpected"}[s]
}

// countBy runs a "SELECT key, COUNT(*) ... GROUP BY key" query.
func countBy(ctx context.Context, d *db.DB, query string, args ...any) (map[string]int, error) {
	rows, err := d.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// tables are the tables the writes touch, each with its primary key column.
var tables = []struct{ name, key string }{
	{"page_feedback", "id"}, {"accounts", "id"}, {"audit_log", "id"}, {"mail_outbox", "id"}, {"account_tokens", "hash"},
}

// integrity checks the database itself. SQLite: PRAGMA integrity_check and
// foreign_key_check. PostgreSQL: each table counted through its heap and
// through its primary key index agrees, and, where the amcheck extension is
// installed, every B-tree index verifies against its table.
func (r *runner) integrity(ctx context.Context, d *db.DB) ([]string, error) {
	if d.Dialect == db.SQLite {
		var results []string
		rows, err := d.QueryContext(ctx, `PRAGMA integrity_check`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				_ = rows.Close()
				return nil, err
			}
			results = append(results, s)
		}
		_ = rows.Close()
		if len(results) != 1 || results[0] != "ok" {
			return []string{"PRAGMA integrity_check: " + strings.Join(results, "; ")}, fmt.Errorf("PRAGMA integrity_check: %s", strings.Join(results, "; "))
		}
		fk, err := d.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return nil, err
		}
		violations := 0
		for fk.Next() {
			violations++
		}
		_ = fk.Close()
		lines := []string{"PRAGMA integrity_check = ok", fmt.Sprintf("PRAGMA foreign_key_check: %d violations", violations)}
		if violations > 0 {
			return lines, fmt.Errorf("PRAGMA foreign_key_check: %d violations", violations)
		}
		return lines, nil
	}

	var lines []string
	var failures []string
	for _, t := range tables {
		var heap, index int64
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for _, s := range []string{"SET LOCAL enable_indexscan = off", "SET LOCAL enable_indexonlyscan = off", "SET LOCAL enable_bitmapscan = off"} {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&heap); err != nil { // #nosec G202 -- a name from the constant list tables
				return err
			}
			for _, s := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = on", "SET LOCAL enable_indexonlyscan = on"} {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name+" WHERE "+t.key+" IS NOT NULL").Scan(&index) // #nosec G202 -- names from the constant list tables
		})
		if err != nil {
			return lines, fmt.Errorf("count %s: %w", t.name, err)
		}
		if heap != index {
			failures = append(failures, fmt.Sprintf("%s: %d rows by table scan, %d by index", t.name, heap, index))
		}
		lines = append(lines, fmt.Sprintf("%s: %d rows by table scan and by primary key", t.name, heap))
	}
	if _, err := d.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS amcheck`); err != nil {
		lines = append(lines, "amcheck not available, B-tree verification skipped: "+firstLine(err.Error()))
	} else {
		rows, err := d.QueryContext(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
			WHERE am.amname = 'btree' AND c.relnamespace = 'public'::regnamespace ORDER BY c.relname`)
		if err != nil {
			return lines, err
		}
		var indexes []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				_ = rows.Close()
				return lines, err
			}
			indexes = append(indexes, n)
		}
		_ = rows.Close()
		sort.Strings(indexes)
		before := len(failures)
		for _, ix := range indexes {
			if _, err := d.ExecContext(ctx, `SELECT bt_index_check(to_regclass($1), true)`, "public."+ix); err != nil {
				failures = append(failures, fmt.Sprintf("amcheck bt_index_check(%s): %v", ix, err))
			}
		}
		lines = append(lines, fmt.Sprintf("amcheck bt_index_check(heapallindexed) on %d B-tree indexes: %d failed", len(indexes), len(failures)-before))
	}
	if len(failures) > 0 {
		return lines, fmt.Errorf("PostgreSQL consistency: %s", strings.Join(failures, "; "))
	}
	return lines, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
