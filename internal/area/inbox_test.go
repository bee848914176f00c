package area

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// A count read while a transaction posts, merges or erases, before it
// commits, is not kept after the commit: the next count is the table's.
func TestUnreadNotKeptAcrossAnUncommittedWrite(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := &Inbox{DB: d, UnreadTTL: time.Minute}
		for _, id := range []string{"from", "into"} {
			if _, err := d.ExecContext(ctx, `INSERT INTO accounts (id, kind, created_at, updated_at) VALUES ($1, 'resident', $2, $2)`, id, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
		}
		post := func(tx *sql.Tx, account string) {
			t.Helper()
			if _, err := b.Post(ctx, tx, account, Message{Sender: "test", Category: "area.tab.activities", Subject: "Avviso", Body: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		unread := func(account string) int {
			t.Helper()
			n, err := b.Unread(ctx, account)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { post(tx, "from"); return nil }); err != nil {
			t.Fatal(err)
		}
		if n := unread("into"); n != 0 {
			t.Fatalf("into: %d", n)
		}
		for _, c := range []struct {
			name  string
			write func(tx *sql.Tx) error
			who   string
			want  int
		}{
			{"a post", func(tx *sql.Tx) error { post(tx, "into"); return nil }, "into", 1},
			{"a merge", func(tx *sql.Tx) error { return b.MergeAccounts(ctx, tx, "from", "into") }, "into", 2},
			{"an erasure", func(tx *sql.Tx) error { return b.Erase(ctx, tx, "into") }, "into", 0},
		} {
			before := unread(c.who)
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				if err := c.write(tx); err != nil {
					return err
				}
				// A request counting meanwhile, outside the transaction.
				if n := unread(c.who); n != before {
					t.Errorf("%s: %d counted before the commit, want %d", c.name, n, before)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if n := unread(c.who); n != c.want {
				t.Fatalf("%s committed: %d unread counted, the table holds %d", c.name, n, c.want)
			}
		}
	})
}
