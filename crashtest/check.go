package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// summary is what a run found.
type summary struct {
	kind        string
	kills       int
	targeted    int // kills right after an acknowledged completion
	elapsed     time.Duration
	cleanStop   bool
	byKind      [nKinds]kindSummary
	integrity   []string
	auditOutput string
	problems    []string
	// The payments scenario: kills, and where each landed (with civico
	// dead: the gateway had the payment and civico not; neither; both),
	// and how many reconciliation settled.
	paymentKills, payWindow, payBefore, payAfter, payByReconciliation int
}

type kindSummary struct {
	sent, acked, lost, odd int
	ackedInKills           int // acknowledged before a kill, not in the final run
	rejected               int // completions answered 400: the link was used or dead
	refused                int // never reached civico (not counted in sent)
	found                  int // distinct writes of this run in the database (completions: accounts)
	ackedFound             int
	ackedMissing           int
	unackedFound           int           // committed, but the answer was lost in the kill
	duplicates             int           // writes found more than once
	phantoms               int           // rows of this run that no write sent
	open                   int           // signups: links still waiting for their completion
	median                 time.Duration // from sending to the acknowledgement
	races, raceSplit       int           // completions: links followed twice at once; of those, one 303 and the rest 400
}

var kindLabels = [nKinds]string{"signups:", "completions:", "ratings:"}

func (s *summary) print(w io.Writer) {
	fmt.Fprintf(w, "crashtest %s summary: %d kills (%d right after a completion) in %.1fs; final restart and SIGTERM: %s\n",
		s.kind, s.kills, s.targeted, s.elapsed.Seconds(), okString(s.cleanStop))
	for k, ks := range s.byKind {
		used := ""
		if opKind(k) == completion {
			used = fmt.Sprintf(", link already used %d", ks.rejected)
		}
		fmt.Fprintf(w, "  %-13s sent %5d: acknowledged %5d (%d before a kill), no answer %4d, unexpected answer %d%s (and %d refused after a kill)\n",
			kindLabels[k], ks.sent, ks.acked, ks.ackedInKills, ks.lost, ks.odd, used, ks.refused)
		extra := ""
		switch opKind(k) {
		case signup:
			extra = fmt.Sprintf("; %d links still open", ks.open)
		case completion:
			extra = fmt.Sprintf("; %d links followed twice at once (%d: one 303, the rest 400)", ks.races, ks.raceSplit)
		}
		if ks.acked > 0 {
			extra += fmt.Sprintf("; acknowledged in %v (median)", ks.median.Round(time.Millisecond))
		}
		fmt.Fprintf(w, "  %-13s found %4d: acknowledged %d/%d (missing %d), unacknowledged but committed %d; duplicates %d, phantoms %d%s\n",
			"", ks.found, ks.ackedFound, ks.acked, ks.ackedMissing, ks.unackedFound, ks.duplicates, ks.phantoms, extra)
	}
	if s.paymentKills > 0 {
		fmt.Fprintf(w, "  payments:     %d kills: %d between the gateway's success and civico's commit, %d before the gateway's, %d after civico's; reconciliation settled %d after the restart\n",
			s.paymentKills, s.payWindow, s.payBefore, s.payAfter, s.payByReconciliation)
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
	s.byKind = [nKinds]kindSummary{}
	took := [nKinds][]time.Duration{}
	defer func() {
		for k, ds := range took {
			if len(ds) > 0 {
				slices.Sort(ds)
				s.byKind[k].median = ds[len(ds)/2]
			}
		}
	}()
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
			if !o.Final {
				ks.ackedInKills++
			}
			took[o.Kind] = append(took[o.Kind], o.Took)
		case lost, pending:
			ks.lost++
		case unexpected:
			ks.odd++
		case rejected:
			ks.rejected++
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

// openMailReader opens the database beside the running civico, to read
// registration links from the outbox: on SQLite read-only (mode=ro: it
// never writes, nor checkpoints the WAL).
func (r *runner) openMailReader(ctx context.Context) (*mailReader, error) {
	t := r.target()
	if t.Dialect == db.Postgres {
		d, err := db.Open(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("open the database to read the outbox: %w", err)
		}
		return &mailReader{db: d}, nil
	}
	d, err := sql.Open("sqlite", "file:"+t.Path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	d.SetMaxOpenConns(2)
	if err := d.PingContext(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open %s read-only to read the outbox: %w", t.Path, err)
	}
	return &mailReader{db: d}, nil
}

// check reads the database directly, with civico stopped, and compares it
// with the ledger.
func (r *runner) check(ctx context.Context, sum *summary) error {
	d, err := db.Open(ctx, r.target())
	if err != nil {
		return fmt.Errorf("open the database after the run: %w", err)
	}
	defer d.Close()
	st, err := readState(ctx, d, r.ledger)
	if err != nil {
		return err
	}
	l := r.ledger
	l.mu.Lock()
	// What the database shows after the kills first, then what a reader
	// missed while civico ran.
	problems := append(examine(l.ops, st, sum), l.seen...)
	l.mu.Unlock()
	problems = append(problems, r.checkPayments(ctx, d)...)

	integrity, err := r.integrity(ctx, d)
	sum.integrity = integrity
	if err != nil {
		problems = append(problems, err.Error())
	}
	sum.problems = problems
	if len(problems) > 0 {
		return fmt.Errorf("%w: %d problems (listed above); the first: %s", errCheck, len(problems), problems[0])
	}
	return nil
}

// dbState is what the database holds of this run's writes.
type dbState struct {
	ratings    map[string]int      // rating comment -> page_feedback rows
	signups    map[string]int      // address -> signups rows (live links)
	mails      map[string]int      // address -> mails in the outbox
	requested  map[string]int      // address -> audit entries signup.requested
	accounts   map[string][]string // address -> account ids
	registered map[string]int      // account id -> audit entries account.registered
	sessions   map[string]int      // account id -> sessions
	devices    map[string]int      // account id -> trusted browsers
	// orphans are audit entries account.registered naming no account.
	orphans int
}

func readState(ctx context.Context, d *db.DB, l *ledger) (*dbState, error) {
	st := &dbState{accounts: map[string][]string{}}
	pat := l.emailPattern()
	queries := []struct {
		into  *map[string]int
		query string
		args  []any
	}{
		{&st.ratings, `SELECT comment, COUNT(*) FROM page_feedback WHERE comment LIKE $1 GROUP BY comment`, []any{l.tokenPrefix() + "%"}},
		{&st.signups, `SELECT email, COUNT(*) FROM signups WHERE email LIKE $1 GROUP BY email`, []any{pat}},
		{&st.mails, `SELECT to_addr, COUNT(*) FROM mail_outbox WHERE to_addr LIKE $1 GROUP BY to_addr`, []any{pat}},
		{&st.requested, `SELECT subject, COUNT(*) FROM audit_log WHERE action = $1 AND subject LIKE $2 GROUP BY subject`, []any{"signup.requested", pat}},
		{&st.registered, `SELECT subject, COUNT(*) FROM audit_log WHERE action = $1 GROUP BY subject`, []any{"account.registered"}},
		{&st.sessions, `SELECT account_id, COUNT(*) FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE email LIKE $1) GROUP BY account_id`, []any{pat}},
		{&st.devices, `SELECT account_id, COUNT(*) FROM trusted_devices WHERE account_id IN (SELECT id FROM accounts WHERE email LIKE $1) GROUP BY account_id`, []any{pat}},
	}
	for _, q := range queries {
		m, err := countBy(ctx, d, q.query, q.args...)
		if err != nil {
			return nil, err
		}
		*q.into = m
	}
	rows, err := d.QueryContext(ctx, `SELECT id, email FROM accounts WHERE email LIKE $1`, pat)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			return nil, err
		}
		st.accounts[email] = append(st.accounts[email], id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// An audit entry for an account that is not there would be a torn
	// registration too (of this run or not).
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = $1 AND subject NOT IN (SELECT id FROM accounts)`,
		"account.registered").Scan(&st.orphans); err != nil {
		return nil, err
	}
	return st, nil
}

// examine compares the writes sent with what the database holds, fills in
// the summary and returns the problems found.
func examine(ops []*op, st *dbState, sum *summary) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	at := func(o *op) string { return o.Started.Format("15:04:05.000") }

	signedUp := map[string]bool{}     // addresses a signup was sent for
	completions := map[string][]*op{} // address -> the completions of its link
	var addrs []string                // of completions, in order
	ratings := map[string]bool{}      // comments sent
	for _, o := range ops {
		switch o.Kind {
		case rating:
			ratings[o.Key] = true
			found := st.ratings[o.Key]
			ks := &sum.byKind[rating]
			if found > 0 {
				ks.found++
			}
			if found > 1 {
				ks.duplicates++
				bad("rating %s is in the database %d times (answer: %s)", o.Key, found, stateName(o.State))
			}
			switch {
			case o.State == refused && found > 0:
				bad("rating %s is in the database, but its connection was refused", o.Key)
			case o.State == acknowledged && found == 0:
				ks.ackedMissing++
				bad("rating %s was acknowledged (at %s) but is not in the database", o.Key, at(o))
			case o.State == acknowledged:
				ks.ackedFound++
			case found > 0:
				ks.unackedFound++
			}

		case signup:
			// One transaction writes the link, its mail and the audit
			// entry; a completion later replaces the link with the account.
			e := o.Key
			signedUp[e] = true
			links, accounts, mails, entries := st.signups[e], len(st.accounts[e]), st.mails[e], st.requested[e]
			committed := links+accounts+mails+entries > 0
			ks := &sum.byKind[signup]
			if committed {
				ks.found++
			}
			if links > 0 {
				ks.open++
			}
			if mails > 1 || entries > 1 || links > 1 {
				ks.duplicates++
				bad("signup %s is in the database twice: %d mails, %d audit entries signup.requested, %d links (answer: %s)", e, mails, entries, links, stateName(o.State))
			}
			if committed && (mails == 0 || entries == 0 || links+accounts == 0) {
				bad("signup %s is torn: %d links, %d accounts, %d mails, %d audit entries signup.requested; want a link or an account, 1 mail and 1 entry (answer: %s)",
					e, links, accounts, mails, entries, stateName(o.State))
			}
			switch {
			case o.State == refused && committed:
				bad("signup %s is in the database, but its connection was refused", e)
			case o.State == acknowledged && !committed:
				ks.ackedMissing++
				bad("signup %s was acknowledged (at %s) but is not in the database", e, at(o))
			case o.State == acknowledged:
				ks.ackedFound++
			case committed:
				ks.unackedFound++
			}

		case completion:
			if completions[o.Key] == nil {
				addrs = append(addrs, o.Key)
			}
			completions[o.Key] = append(completions[o.Key], o)
		}
	}

	// Completions, link by link: a link makes one account at most, and a
	// link whose every completion got a complete answer made exactly one,
	// acknowledged by exactly one 303.
	ks := &sum.byKind[completion]
	for _, e := range addrs {
		cs := completions[e]
		accounts := len(st.accounts[e])
		var acks, rejects, losts int
		var answers []string
		raced := false
		for _, o := range cs {
			raced = raced || o.Race
			answers = append(answers, stateName(o.State))
			switch o.State {
			case acknowledged:
				acks++
				if accounts > 0 {
					ks.ackedFound++
				} else {
					ks.ackedMissing++
					bad("completion for %s was acknowledged (at %s) but there is no account", e, at(o))
				}
			case rejected:
				rejects++
			case lost, pending:
				losts++
			}
		}
		if raced {
			ks.races++
			if acks == 1 && rejects > 0 {
				ks.raceSplit++
			}
		}
		if accounts > 0 {
			ks.found++
		}
		switch {
		case acks > 1:
			ks.duplicates++
			bad("the link of %s was completed %d times: %d answers 303 for one link (answers: %s)", e, acks, acks, strings.Join(answers, ", "))
		case accounts > 1:
			ks.duplicates++
			bad("the link of %s made %d accounts", e, accounts)
		case accounts > 0 && acks == 0 && losts > 0:
			ks.unackedFound++
		case accounts > 0 && acks == 0:
			bad("there is an account for %s, but no completion of its link got through (answers: %s)", e, strings.Join(answers, ", "))
		}
		if accounts == 0 && rejects > 0 {
			// 400 is right only once another completion consumed the link,
			// and that one wrote the account in the same transaction.
			bad("the link of %s (an acknowledged signup) was refused as used, but there is no account (answers: %s)", e, strings.Join(answers, ", "))
		}
	}

	// Every account of this run: made by a completion of its own link, in
	// one transaction with its audit entry, a session and a trusted
	// browser, which consumed the link.
	var emails []string
	for e := range st.accounts {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	for _, e := range emails {
		if !signedUp[e] {
			sum.byKind[signup].phantoms++
			bad("account %s is in the database, but no signup was ever requested for it", e)
		}
		tried := false
		for _, o := range completions[e] {
			tried = tried || o.State != refused
		}
		if !tried {
			ks.phantoms++
			bad("account %s is in the database, but no completion of its link reached civico", e)
		}
		if st.signups[e] > 0 {
			bad("account %s is in the database, and so is its registration link: the completion did not consume it", e)
		}
		for _, id := range st.accounts[e] {
			if n := st.registered[id]; n != 1 {
				bad("account %s (%s) has %d audit entries account.registered, want 1", e, id, n)
			}
			if n := st.sessions[id]; n != 1 {
				bad("account %s (%s) has %d sessions, want the 1 its completion started", e, id, n)
			}
			if n := st.devices[id]; n != 1 {
				bad("account %s (%s) has %d trusted browsers, want the 1 its completion registered", e, id, n)
			}
		}
	}
	if st.orphans > 0 {
		bad("%d audit entries account.registered name an account that does not exist", st.orphans)
	}
	// What no write sent.
	for _, m := range []struct {
		rows map[string]int
		what string
	}{{st.signups, "a registration link"}, {st.mails, "a mail"}, {st.requested, "an audit entry signup.requested"}} {
		for _, e := range sortedKeys(m.rows) {
			if !signedUp[e] {
				sum.byKind[signup].phantoms++
				bad("%s to %s is in the database, but no signup was ever requested for it", m.what, e)
			}
		}
	}
	for _, key := range sortedKeys(st.ratings) {
		if !ratings[key] {
			sum.byKind[rating].phantoms++
			bad("rating %s is in the database but was never sent", key)
		}
	}
	return problems
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stateName(s outcome) string {
	return [...]string{"none yet", "acknowledged", "none (lost in the kill)", "connection refused", "unexpected", "400 link used"}[s]
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
	{"page_feedback", "id"}, {"accounts", "id"}, {"audit_log", "id"}, {"mail_outbox", "id"}, {"signups", "email"},
	{"sessions", "id_hash"}, {"trusted_devices", "hash"}, {"throttle", "key_hash"},
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
