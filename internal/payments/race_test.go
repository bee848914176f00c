package payments

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// race runs fns at once and returns their errors, in order.
func race(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// Checkouts that meet: a double click (the same form twice) gets the same
// attempt; two carts sharing a notice, or a position's single payment and
// one of its instalments, never both hold it; the loser holds nothing and
// is told the notice is being paid.
func TestCheckoutRaces(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, g := newService(t, d)
		ctx := context.Background()
		checkout := func(key string, ids ...string) (*Attempt, error) {
			return s.Checkout(ctx, mario, ids, key, "", "", Actor{Name: "user:x"})
		}

		// The same form sent 8 times at once: one attempt for all of them.
		p := mustCreate(t, s, canteen(mario, 4520))
		var ids [8]string
		fns := make([]func() error, len(ids))
		for i := range fns {
			fns[i] = func() error {
				a, err := checkout("double-click", p.Notices[0].ID)
				if err == nil {
					ids[i] = a.ID
				}
				return err
			}
		}
		for i, err := range race(fns...) {
			if err != nil || ids[i] != ids[0] {
				t.Fatalf("click %d: attempt %q (first %q): %v", i, ids[i], ids[0], err)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_attempts`); n != 1 {
			t.Fatalf("%d attempts for one form", n)
		}

		const rounds = 25
		for round := range rounds {
			// Two carts sharing the middle notice.
			n1, n2, n3 := mustCreate(t, s, canteen(mario, 100)), mustCreate(t, s, canteen(mario, 200)), mustCreate(t, s, canteen(mario, 300))
			var left, right *Attempt
			errs := race(func() (err error) {
				left, err = checkout(fmt.Sprintf("l%d", round), n1.Notices[0].ID, n2.Notices[0].ID)
				return err
			}, func() (err error) {
				right, err = checkout(fmt.Sprintf("r%d", round), n2.Notices[0].ID, n3.Notices[0].ID)
				return err
			})
			won, lost, lonely := left, errs[1], n3.Notices[0].ID
			if errs[0] != nil {
				won, lost, lonely = right, errs[0], n1.Notices[0].ID
			}
			if won == nil || !errors.Is(lost, ErrNotPayable) {
				t.Fatalf("round %d: two carts sharing a notice: %v", round, errs)
			}
			if n := count(t, d, `SELECT COUNT(*) FROM payments_notices WHERE id = $1 AND status = 'open' AND attempt_id IS NULL`, lonely); n != 1 {
				t.Fatalf("round %d: the losing cart kept its other notice", round)
			}
			if n := count(t, d, `SELECT COUNT(*) FROM payments_attempt_notices WHERE notice_id = $1`, n2.Notices[0].ID); n != 1 {
				t.Fatalf("round %d: the shared notice is in %d attempts", round, n)
			}

			// A position's single payment and its first instalment.
			tari := mustCreate(t, s, NewPosition{DebtorCF: mario, Category: TARI, Reason: "TARI 2026", Year: 2026, Amount: 20000, DueDate: "2026-05-31",
				Single: true, Instalments: []Instalment{{10000, "2026-05-31", nil}, {10000, "2026-09-30", nil}}})
			errs = race(func() error {
				_, err := checkout(fmt.Sprintf("s%d", round), tari.Notices[0].ID)
				return err
			}, func() error {
				_, err := checkout(fmt.Sprintf("i%d", round), tari.Notices[1].ID)
				return err
			})
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("round %d: the single payment and an instalment at once: %v", round, errs)
			}
			for _, err := range errs {
				if err != nil && !errors.Is(err, ErrNotPayable) {
					t.Fatalf("round %d: the loser was told %v", round, err)
				}
			}
			if n := count(t, d, `SELECT COUNT(*) FROM payments_notices WHERE position_id = $1 AND status = 'in_payment'`, tari.ID); n != 1 {
				t.Fatalf("round %d: %d notices of one position in payment", round, n)
			}
		}
		// One gateway start per attempt, none for a loser.
		if n := count(t, d, `SELECT COUNT(*) FROM payments_attempts WHERE status = 'in_payment'`); g.starts.Load() < int64(n) || n != 1+2*rounds {
			t.Fatalf("%d attempts in payment, %d gateway starts", n, g.starts.Load())
		}
	})
}

// Every way a payment can be reported, at once: the gateway's
// notification delivered twice and again under another id, the
// reconciliation asking the gateway, and the same notice paid at a
// tobacconist through the node (twice): one receipt, one settlement, the
// second payment recorded for a refund.
func TestSettlementRaces(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, g := newService(t, d)
		ctx := context.Background()
		for round := range 10 {
			p := mustCreate(t, s, canteen(mario, 4520))
			n := p.Notices[0]
			a, err := s.Checkout(ctx, mario, []string{n.ID}, fmt.Sprintf("k%d", round), "", "", Actor{Name: "user:x"})
			if err != nil {
				t.Fatal(err)
			}
			paid := Status{AttemptID: a.ID, Outcome: OutcomePaid, Amount: 4520, PSP: "psp", PSPRef: "ref", PaidAt: time.Now()}
			g.set(paid)
			notify := func(id string) func() error {
				return func() error {
					_, err := s.Notify(ctx, g.Name(), Notification{ID: id, Status: paid})
					return err
				}
			}
			node := func() error {
				_, err := s.NodeReceipt(ctx, "bank", &n, fmt.Sprintf("rcpt-%d", round), 4520, "bank", time.Now())
				return err
			}
			errs := race(notify("a"), notify("a"), notify("b"), func() error {
				_, err := s.Reconcile(ctx, 0)
				return err
			}, node, node)
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, reporter %d: %v", round, i, err)
				}
			}
			if r := count(t, d, `SELECT COUNT(*) FROM payments_receipts WHERE notice_id = $1`, n.ID); r != 1 {
				t.Fatalf("round %d: %d receipts", round, r)
			}
			if l := count(t, d, `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.settled' AND notice_id = $1`, n.ID); l != 1 {
				t.Fatalf("round %d: %d settlements in the ledger", round, l)
			}
			// The online payment and the node's: whichever came second is a refund.
			if l := count(t, d, `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.duplicate' AND notice_id = $1`, n.ID); l != 1 {
				t.Fatalf("round %d: %d payments recorded for a refund", round, l)
			}
			if st := count(t, d, `SELECT COUNT(*) FROM payments_positions WHERE id = $1 AND status = 'paid' AND paid_amount = 4520`, p.ID); st != 1 {
				t.Fatalf("round %d: the position is not paid once", round)
			}
		}
	})
}
