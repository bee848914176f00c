package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// benchCode is the i-th of a family of valid codes (the day and the
// birthplace's digits vary), in its base spelling.
func benchCode(tb testing.TB, i int) string {
	tb.Helper()
	c, err := cf.Complete(fmt.Sprintf("RSSMRA85M%02dF%03d", 1+i%28, i/28%1000))
	if err != nil {
		tb.Fatal(err)
	}
	return string(c)
}

// CounterSeed's refusal of a code with another spelling on file, at the
// store: a reservation is answered and nothing else written; another
// spelling proven on an account, or keeping a seed, refuses it unless the
// register holds both; the account's own code is always answered.
func TestCounterSeedOtherSpelling(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &Store{DB: d}
		base := benchCode(t, 1)
		variant := string(cf.Code(base).Spellings()[5])
		inRegister := map[string]bool{variant: true}
		registered := func(_ context.Context, code string) (bool, error) { return inRegister[code], nil }
		none := func(*sql.Tx, string, string) error { return nil }
		successors := func() int {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_successors`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Nothing else on file: the register's spelling is reserved.
		if _, err := s.CounterSeed(ctx, variant, true, registered, none); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `DELETE FROM account_successors`); err != nil {
			t.Fatal(err)
		}
		// The base spelling proven on an account: the register's spelling
		// is refused, nothing reserved; the account's code is answered.
		a := &Account{Kind: KindResident, FiscalCode: base, FiscalCodeSource: SourceCNS}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return s.insert(ctx, tx, a) }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CounterSeed(ctx, variant, true, registered, none); !errors.Is(err, ErrOtherSpelling) || successors() != 0 {
			t.Fatalf("the register's spelling beside an account of another: %v, %d reservations", err, successors())
		}
		if seed, err := s.CounterSeed(ctx, base, false, registered, none); err != nil || seed != a.Subject() {
			t.Fatalf("the account's own code: %q, %v", seed, err)
		}
		// The register holds both: two people, answered.
		inRegister[base] = true
		if _, err := s.CounterSeed(ctx, variant, true, registered, none); err != nil {
			t.Fatalf("two people in the register: %v", err)
		}
		// A closed account's seed of a code, another spelling reserved:
		// refused when the register does not hold both.
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return s.Close(ctx, tx, a.ID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CounterSeed(ctx, base, false, registered, none); !errors.Is(err, ErrOtherSpelling) {
			t.Fatalf("a closed account's seed beside a reserved spelling: %v", err)
		}
	})
}

// BenchmarkCounterSeed: a counter look-up at the store (reservation,
// the other spellings' two queries, the account's read), with 1,000
// accounts on file, on both engines.
func BenchmarkCounterSeed(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var d *db.DB
			if engine == "sqlite" {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.Postgres(b)
			}
			ctx := context.Background()
			s := &Store{DB: d}
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				for i := range 1000 {
					if err := s.insert(ctx, tx, &Account{Kind: KindResident, FiscalCode: benchCode(b, i), FiscalCodeSource: SourceCNS}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			registered := func(context.Context, string) (bool, error) { return true, nil }
			none := func(*sql.Tx, string, string) error { return nil }
			i := 1000
			for b.Loop() {
				if _, err := s.CounterSeed(ctx, benchCode(b, i%28000), true, registered, none); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
