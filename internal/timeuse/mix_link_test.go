package timeuse_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/timeuse"
)

// After the mix, one snapshot of the database must not pair accounts with
// their answers through the order of PostgreSQL's transaction ids: three
// residents answer one a minute (a mix after each), and the attacker pairs
// each mark with the first respondent a later transaction wrote. An
// outside review found every account linked before the marks were
// rewritten too (SQLite has no transaction ids to read).
func TestMixLeavesNoOrderOfTransactions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if d.Dialect != db.Postgres {
			return // nothing of the kind to read
		}
		s, ctx := newStore(t, d), context.Background()
		ages := map[string]int{"alice": 30, "bob": 50, "carol": 70}
		for _, acc := range []string{"carol", "alice", "bob"} {
			account(t, d, acc)
			a := complete()
			a.Q.Age = ages[acc]
			if err := s.SaveDraft(ctx, timeuse.Subject{Account: acc}, a); err != nil {
				t.Fatal(err)
			}
			if err := s.Submit(ctx, timeuse.Subject{Account: acc}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Mix(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []string{
			// the first respondent written after the mark
			`SELECT p.account_id, (SELECT r.age FROM timeuse_respondents r WHERE r.synthetic = FALSE AND r.xmin::text::bigint > p.xmin::text::bigint
				ORDER BY r.xmin::text::bigint LIMIT 1) FROM timeuse_participants p`,
			// the last respondent written before it
			`SELECT p.account_id, (SELECT r.age FROM timeuse_respondents r WHERE r.synthetic = FALSE AND r.xmin::text::bigint < p.xmin::text::bigint
				ORDER BY r.xmin::text::bigint DESC LIMIT 1) FROM timeuse_participants p`,
		} {
			rows, err := d.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			linked := 0
			for rows.Next() {
				var acc string
				var age sql.NullInt64
				if err := rows.Scan(&acc, &age); err != nil {
					t.Fatal(err)
				}
				if age.Valid && int(age.Int64) == ages[acc] {
					linked++
				}
			}
			rows.Close()
			if linked > 1 {
				t.Errorf("%d of %d accounts paired with their answers by the order of transactions", linked, len(ages))
			}
		}
	})
}
