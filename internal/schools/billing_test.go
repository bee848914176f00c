package schools

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// testBiller makes notices without payments (cmd/civico's tests bill
// through the real feature): it records what it was asked, and fails for
// the debtors in fail.
type testBiller struct {
	mu    sync.Mutex
	bills []Bill
	fail  map[string]bool
}

func (b *testBiller) Bill(_ context.Context, _ *sql.Tx, x Bill) (BillNotice, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail[x.DebtorCF] {
		return BillNotice{}, errors.New("payments refused the debtor")
	}
	b.bills = append(b.bills, x)
	n := fmt.Sprintf("%018d", len(b.bills))
	return BillNotice{ID: "notice-" + n, PositionID: "position-" + n, Number: n}, nil
}

func billed(t *testing.T, d *db.DB, period string) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM schools_bills WHERE period = $1`, period).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A tariff by the year is billed once, whatever the months run; a
// withdrawn or waiting enrolment is not billed; an enrolment payments
// refuses is left unbilled (its claim undone with its transaction) while
// the others are billed, and a later run bills it; a month not written
// YYYY-MM is refused.
func TestBillingOnceAndFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{fail: map[string]bool{}}
		s.Biller = b
		now := time.Now().In(rome)
		id, err := s.PutService(ctx, "", ServiceInput{SchoolYear: "2026/2027", Kind: string(Bus), Title: "Trasporto scolastico",
			Opens: now.Add(-time.Hour).Format(formTime), Closes: now.Add(24 * time.Hour).Format(formTime), Classes: []string{"P2"},
			TariffUnit: "year", Bands: "7000: 120,00\noltre: 200,00"}, office)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Linea A", Capacity: "4", Stops: "Piazza Gramsci\nVia Frova"}, office); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Service(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ps := parents(t, d, 6)
		var ids []string
		for i, p := range ps {
			o, err := s.Enrol(ctx, p, request(t, svc, 0, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
		}
		// 4 accepted, 2 waiting; the first withdraws, the first waiting
		// is promoted: 4 accepted, 1 waiting, 1 withdrawn.
		if _, err := s.Withdraw(ctx, ids[0], ps[0].AccountID, office); err != nil {
			t.Fatal(err)
		}
		b.fail[ps[1].FiscalCode] = true
		r, err := s.BillMonth(ctx, "2026-09", office, nil)
		if err != nil || r.Billed != 3 || r.Failed != 1 || len(r.Errors) != 1 || r.Amount != 3*12000 {
			t.Fatalf("September: %+v %v", r, err)
		}
		if n := billed(t, d, Once); n != 3 {
			t.Fatalf("%d bills recorded, want 3 (the refused one's claim undone)", n)
		}
		for _, x := range b.bills {
			if x.Category != "transport" || x.Year != 2026 || x.DueDate != "2026-09-30" || !strings.HasPrefix(x.ExternalID, "schools:") ||
				x.Reason != "Trasporto scolastico – 2026/2027 – Sofia" || x.DebtorCF == ps[0].FiscalCode {
				t.Errorf("bill %+v", x)
			}
		}
		delete(b.fail, ps[1].FiscalCode)
		r, err = s.BillMonth(ctx, "2027-03", office, nil)
		if err != nil || r.Billed != 1 || r.Already != 3 || r.Failed != 0 {
			t.Fatalf("March: %+v %v", r, err)
		}
		if n := billed(t, d, Once); n != 4 || len(b.bills) != 4 {
			t.Fatalf("%d bills recorded, %d made: want 4", n, len(b.bills))
		}
		// Another school year's month bills nothing of this one.
		if r, err := s.BillMonth(ctx, "2027-09", office, nil); err != nil || r.Billed+r.Already != 0 {
			t.Fatalf("the next school year: %+v %v", r, err)
		}
		for _, m := range []string{"2026-13", "10/2026", "2026-1", ""} {
			if _, err := s.BillMonth(ctx, m, office, nil); !errors.Is(err, ErrMonth) {
				t.Errorf("month %q: %v", m, err)
			}
		}
	})
}

// Withdrawals while the month is billed: an enrolment is billed only if
// it was still accepted when its bill committed, and every bill is of an
// enrolment that was accepted then (its row is held by the bill's
// transaction).
func TestBillingBesideWithdrawals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{}
		s.Biller = b
		svc := openService(t, s.Store, PreSchool, 40)
		ps := parents(t, d, 40)
		ids := make([]string, len(ps))
		for i, p := range ps {
			o, err := s.Enrol(ctx, p, request(t, svc, 0, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = o.ID
		}
		var wg sync.WaitGroup
		var res *BillingResult
		var berr error
		wg.Go(func() { res, berr = s.BillMonth(ctx, "2026-10", office, nil) })
		for i := 0; i < len(ps); i += 2 {
			wg.Go(func() {
				if _, err := s.Withdraw(ctx, ids[i], ps[i].AccountID, office); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if berr != nil || res.Failed != 0 {
			t.Fatalf("%+v %v", res, berr)
		}
		// Every bill's enrolment was billed before its withdrawal, if any:
		// a bill after a withdrawal would have its created_at after the
		// enrolment's updated_at.
		var late int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_bills b JOIN schools_enrolments e ON e.id = b.enrolment_id
			WHERE e.status = 'withdrawn' AND b.created_at > e.updated_at`).Scan(&late); err != nil {
			t.Fatal(err)
		}
		if late != 0 {
			t.Fatalf("%d bills of enrolments withdrawn before their bill", late)
		}
		if n := billed(t, d, "2026-10"); n != res.Billed || n < 20 || n > 40 {
			t.Fatalf("%d bills recorded, the run says %d", n, res.Billed)
		}
		// The rest of the accepted are billed by the next run.
		r, err := s.BillMonth(ctx, "2026-10", office, nil)
		if err != nil || r.Billed != 0 || r.Already < 20 {
			t.Fatalf("again: %+v %v", r, err)
		}
	})
}
