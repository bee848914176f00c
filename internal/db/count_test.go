package db_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// Every statement sent through a counting context is counted, a
// transaction as one, from goroutines at once too; another context's are
// not.
func TestCountQueries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, n := db.CountQueries(context.Background())
		var one int
		if err := d.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
			t.Fatal(err)
		}
		rows, err := d.QueryContext(ctx, `SELECT 1 UNION ALL SELECT 2`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
		if _, err := d.ExecContext(ctx, `CREATE TABLE counted (n INTEGER)`); err != nil {
			t.Fatal(err)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO counted (n) VALUES (1), (2)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { _ = d.QueryRowContext(ctx, `SELECT count(*) FROM counted`).Scan(new(int)) })
		}
		wg.Wait()
		// Not counted: another context.
		_ = d.QueryRowContext(context.Background(), `SELECT 1`).Scan(&one)
		if n.Queries() != 12 || n.Elapsed() <= 0 {
			t.Fatalf("counted %d queries in %v, want 12", n.Queries(), n.Elapsed())
		}
	})
}
