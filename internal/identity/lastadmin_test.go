package identity

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// Two administrators revoking each other's role at the same instant leave
// one of them an administrator: the check that one is left and the
// revocation are one step (outside review: on PostgreSQL both counted two
// administrators, and both revocations passed).
func TestTwoAdminsCannotRevokeEachOther(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		store := &Store{DB: d}
		svc := &Service{DB: d, Store: store, Sessions: &Sessions{DB: d}, Audit: &audit.Log{DB: d}}
		for round := range 10 {
			var ids [2]string
			if _, err := d.ExecContext(ctx, `DELETE FROM account_roles`); err != nil {
				t.Fatal(err)
			}
			for i := range ids {
				a := &Account{Kind: KindOperator, Email: string(rune('a'+round)) + string(rune('0'+i)) + "@example.org"}
				if err := d.Tx(ctx, func(tx *sql.Tx) error {
					if err := store.insert(ctx, tx, a); err != nil {
						return err
					}
					return store.GrantRole(ctx, tx, a.ID, "admin", "test")
				}); err != nil {
					t.Fatal(err)
				}
				ids[i] = a.ID
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range ids {
				wg.Go(func() { errs[i] = svc.SetRole(ctx, ids[1-i], "admin", false, "account:"+ids[i]) })
			}
			wg.Wait()
			var admins int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_roles WHERE role = 'admin'`).Scan(&admins); err != nil {
				t.Fatal(err)
			}
			if admins != 1 {
				t.Fatalf("round %d: %d administrators left (%v)", round, admins, errs)
			}
			if !errors.Is(errs[0], ErrLastAdmin) && !errors.Is(errs[1], ErrLastAdmin) {
				t.Fatalf("round %d: neither revocation was refused: %v", round, errs)
			}
		}
	})
}
