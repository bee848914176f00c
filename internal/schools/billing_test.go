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
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/problem"
)

// house puts the fiscal codes in the population register as one
// household.
func house(t *testing.T, d *db.DB, household string, codes ...string) {
	t.Helper()
	var people []population.Person
	for i, fc := range codes {
		rel := "figlio"
		if i == 0 {
			rel = population.HeadOfHousehold
		}
		people = append(people, population.Person{FiscalCode: fc, District: "Centro", Household: household, Relation: rel})
	}
	if err := (&population.Register{DB: d}).Put(context.Background(), people...); err != nil {
		t.Fatal(err)
	}
}

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

// testClock is a store's clock set to a moment, from which it runs on.
type testClock struct {
	mu        sync.Mutex
	at, since time.Time
}

func clockAt(at time.Time) *testClock { return &testClock{at: at, since: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at.Add(time.Since(c.since))
}

func (c *testClock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.since = at, time.Now()
}

// summer is when the billing tests' parents enrol: before the school
// year 2026/2027.
var summer = time.Date(2026, time.August, 20, 9, 0, 0, 0, rome)

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
		clock := clockAt(summer)
		s.Now = clock.Now
		now := summer
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
		clock.Set(time.Date(2026, time.September, 15, 9, 0, 0, 0, rome))
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
		clock.Set(time.Date(2027, time.March, 2, 9, 0, 0, 0, rome))
		r, err = s.BillMonth(ctx, "2027-03", office, nil)
		if err != nil || r.Billed != 1 || r.Already != 3 || r.Failed != 0 {
			t.Fatalf("March: %+v %v", r, err)
		}
		if n := billed(t, d, Once); n != 4 || len(b.bills) != 4 {
			t.Fatalf("%d bills recorded, %d made: want 4", n, len(b.bills))
		}
		// Another school year's month bills nothing of this one.
		clock.Set(time.Date(2027, time.September, 2, 9, 0, 0, 0, rome))
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
		clock := clockAt(summer)
		s.Now = clock.Now
		svc := openServiceAt(t, s.Store, PreSchool, summer, 40)
		ps := parents(t, d, 40)
		ids := make([]string, len(ps))
		for i, p := range ps {
			o, err := s.Enrol(ctx, p, request(t, svc, 0, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = o.ID
		}
		clock.Set(time.Date(2026, time.October, 5, 9, 0, 0, 0, rome))
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

// The reductions and the exemption: a parent's second and third child
// accepted in a service pay the service's reduced tariffs, counted when
// the month is billed (the first withdrawn, the others move up); an ISEE
// within the exemption pays nothing (no ISEE is never exempt); the
// office's form refuses a percentage or a limit that is not one.
func TestReductionsAndExemption(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{}
		s.Biller = b
		clock := clockAt(summer)
		s.Now = clock.Now
		now := summer
		in := ServiceInput{SchoolYear: "2026/2027", Kind: string(PostSchool), Title: "Post scuola",
			Opens: now.Add(-time.Hour).Format(formTime), Closes: now.Add(24 * time.Hour).Format(formTime), Classes: []string{"P2"},
			TariffUnit: "month", Bands: "7000: 30,00\noltre: 60,00", Sibling2: "30", Sibling3: "50 %", ExemptISEE: "101"}
		for field, bad := range map[string]ServiceInput{"sibling2": {Sibling2: "101"}, "sibling3": {Sibling3: "-1"}, "exempt_isee": {ExemptISEE: "tremila"}} {
			x := in
			x.Sibling2, x.Sibling3, x.ExemptISEE = bad.Sibling2, bad.Sibling3, bad.ExemptISEE
			var fe problem.Fields
			if _, err := s.PutService(ctx, "", x, office); !errors.As(err, &fe) || fe[field] == "" || len(fe) != 1 {
				t.Errorf("%s: %v", field, err)
			}
		}
		in.ExemptISEE = "3.000"
		id, err := s.PutService(ctx, "", in, office)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria Costa", Capacity: "10"}, office); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Service(ctx, id)
		if err != nil || svc.Sibling2 != 30 || svc.Sibling3 != 50 || svc.ExemptText() != "3.000,00" {
			t.Fatalf("%+v %v", svc, err)
		}
		ps := parents(t, d, 3)
		enrol := func(p Parent, n int, isee string) *Outcome {
			r := request(t, svc, 0, n)
			r.ISEE, r.NoISEE = isee, isee == ""
			o, err := s.Enrol(ctx, p, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		// The three children of the first parent live with them (one
		// household in the register): the reductions count them.
		s.Household = (&population.Register{DB: d}).Housemates
		house(t, d, "H1", ps[0].FiscalCode, child(t, 0), child(t, 1), child(t, 2))
		first := enrol(ps[0], 0, "6.500")
		enrol(ps[0], 1, "6.500")
		enrol(ps[0], 2, "6.500")
		if n, err := s.Siblings(ctx, id, ps[0].FiscalCode); err != nil || n != 3 {
			t.Fatalf("siblings: %d %v", n, err)
		}
		if o := enrol(ps[1], 3, "2.500"); !o.Exempt || o.AmountCents != 0 {
			t.Fatalf("ISEE 2.500: %+v", o.Enrolment)
		}
		if o := enrol(ps[2], 4, ""); o.Exempt || o.AmountCents != 6000 {
			t.Fatalf("no ISEE: %+v", o.Enrolment)
		}
		amounts := func(month string) map[int64]int {
			t.Helper()
			b.bills = nil
			r, err := s.BillMonth(ctx, month, office, nil)
			if err != nil || r.Failed > 0 {
				t.Fatalf("%s: %+v %v", month, r, err)
			}
			out := map[int64]int{}
			for _, x := range b.bills {
				out[x.Amount]++
			}
			if r.Exempt != 1 {
				t.Errorf("%s: %d exempt", month, r.Exempt)
			}
			return out
		}
		clock.Set(time.Date(2026, time.November, 2, 9, 0, 0, 0, rome))
		if got, want := amounts("2026-10"), map[int64]int{3000: 1, 2100: 1, 1500: 1, 6000: 1}; !equalCounts(got, want) {
			t.Fatalf("October: %v, want %v", got, want)
		}
		if _, err := s.Withdraw(ctx, first.ID, ps[0].AccountID, office); err != nil {
			t.Fatal(err)
		}
		if got, want := amounts("2026-11"), map[int64]int{3000: 1, 2100: 1, 6000: 1}; !equalCounts(got, want) {
			t.Fatalf("November, the first child withdrawn: %v, want %v", got, want)
		}
	})
}

func equalCounts(a, b map[int64]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A child withdrawn after the month's bill and enrolled again in the same
// service (a new enrolment) is not billed the month a second time: the
// claim is the child's in the service for the period, not the
// enrolment's (outside review, S1).
func TestBillingOnceAChildWithdrawnAndEnrolledAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{}
		s.Biller = b
		svc := openService(t, s.Store, PreSchool, 5)
		p := parents(t, d, 1)[0]
		o, err := s.Enrol(ctx, p, request(t, svc, 0, 0), nil)
		if err != nil {
			t.Fatal(err)
		}
		month := time.Now().In(rome).Format("2006-01")
		if r, err := s.BillMonth(ctx, month, office, nil); err != nil || r.Billed != 1 {
			t.Fatalf("%+v %v", r, err)
		}
		if _, err := s.Withdraw(ctx, o.ID, p.AccountID, office); err != nil {
			t.Fatal(err)
		}
		again, err := s.Enrol(ctx, p, request(t, svc, 0, 0), nil)
		if err != nil || again.ID == o.ID || again.Status != Accepted {
			t.Fatalf("%+v %v", again, err)
		}
		r, err := s.BillMonth(ctx, month, office, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Billed != 0 || r.Exempt != 0 || len(b.bills) != 1 {
			t.Errorf("the same child billed %s again in the same service: %+v; positions made: %d", month, r, len(b.bills))
		}
		if r.Already != 1 {
			t.Errorf("the child billed before is not counted as such: %+v", r)
		}
		if n := billed(t, d, month); n != 1 {
			t.Errorf("%d bills of %s", n, month)
		}
	})
}

// A month is billed to the enrolments accepted by its end: a child
// enrolled in December is not billed for September to November by a run
// of those months again, a child promoted from the waiting list in
// January is billed from January, and a month not begun is refused
// (outside review S2).
func TestBillingOnlyMonthsSinceAccepted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{}
		s.Biller = b
		december := time.Date(2026, time.December, 4, 9, 0, 0, 0, rome)
		clock := clockAt(december)
		s.Now = clock.Now
		svc := openServiceAt(t, s.Store, PreSchool, december, 1)
		ps := parents(t, d, 2)
		first, err := s.Enrol(ctx, ps[0], request(t, svc, 0, 0), nil)
		if err != nil || first.Status != Accepted {
			t.Fatalf("%+v %v", first, err)
		}
		if o, err := s.Enrol(ctx, ps[1], request(t, svc, 0, 1), nil); err != nil || o.Status != Waiting {
			t.Fatalf("%+v %v", o, err)
		}
		for _, m := range []string{"2026-09", "2026-10", "2026-11"} {
			r, err := s.BillMonth(ctx, m, office, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Billed+r.Exempt+r.Already+r.Failed != 0 {
				t.Errorf("%s: %+v for an enrolment accepted on 2026-12-04", m, r)
			}
		}
		if _, err := s.BillMonth(ctx, "2027-01", office, nil); !errors.Is(err, ErrMonthAhead) {
			t.Errorf("January billed in December: %v", err)
		}
		if r, err := s.BillMonth(ctx, "2026-12", office, nil); err != nil || r.Billed != 1 {
			t.Fatalf("December: %+v %v", r, err)
		}
		// In January the first withdraws and the second is promoted.
		clock.Set(time.Date(2027, time.January, 10, 9, 0, 0, 0, rome))
		if _, err := s.Withdraw(ctx, first.ID, ps[0].AccountID, office); err != nil {
			t.Fatal(err)
		}
		if r, err := s.BillMonth(ctx, "2026-12", office, nil); err != nil || r.Billed+r.Exempt != 0 {
			t.Errorf("December again, with the child promoted in January: %+v %v", r, err)
		}
		if r, err := s.BillMonth(ctx, "2027-01", office, nil); err != nil || r.Billed != 1 {
			t.Fatalf("January: %+v %v", r, err)
		}
		if len(b.bills) != 2 || b.bills[1].DebtorCF != ps[1].FiscalCode {
			t.Fatalf("bills: %+v", b.bills)
		}
	})
}

// Outside review S4: the sibling a reduction counts is checked, not
// declared. A parent who enrols first a "decoy" child, exempt by its ISEE
// (or a child of another household, or one not in the register), gets no
// second-child reduction on a paying child; a brother living in the same
// household (the register's), accepted and paying in the month, gives it
// even when the other parent enrolled him.
func TestSiblingReductionCountsOnlyABilledHousemate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{}
		s.Biller = b
		s.Household = (&population.Register{DB: d}).Housemates
		clock := clockAt(summer)
		s.Now = clock.Now
		in := ServiceInput{SchoolYear: "2026/2027", Kind: string(PostSchool), Title: "Post scuola",
			Opens: summer.Add(-time.Hour).Format(formTime), Closes: summer.Add(24 * time.Hour).Format(formTime), Classes: []string{"P2"},
			TariffUnit: "month", Bands: "7000: 30,00\noltre: 60,00", Sibling2: "50", ExemptISEE: "3.000"}
		id, err := s.PutService(ctx, "", in, office)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria Costa", Capacity: "6"}, office); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Service(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ps := parents(t, d, 4)
		enrol := func(p Parent, n int, isee string) *Outcome {
			t.Helper()
			r := request(t, svc, 0, n)
			r.ISEE = isee
			o, err := s.Enrol(ctx, p, r, nil)
			if err != nil || o.Status != Accepted {
				t.Fatalf("%+v %v", o, err)
			}
			return o
		}
		// Family A: the decoy (exempt) first, then the paying child.
		house(t, d, "A", ps[0].FiscalCode, child(t, 0), child(t, 1))
		if o := enrol(ps[0], 0, "2.500"); !o.Exempt {
			t.Fatalf("the decoy is not exempt: %+v", o.Enrolment)
		}
		if n, err := s.Siblings(ctx, id, ps[0].FiscalCode); err != nil || n != 0 {
			t.Errorf("the form counts the exempt decoy: %d %v", n, err)
		}
		payingA := enrol(ps[0], 1, "6.500")
		// Family B's parent enrols a child of family C (paying) first, then
		// their own: not a sibling.
		house(t, d, "B", ps[1].FiscalCode, child(t, 2))
		house(t, d, "C", ps[2].FiscalCode, child(t, 3))
		enrol(ps[1], 3, "6.500")
		payingB := enrol(ps[1], 2, "6.500")
		// Family D: two brothers, one enrolled by each parent; a third
		// child of the household on the waiting list is no sibling.
		house(t, d, "D", ps[2].FiscalCode+"X", ps[3].FiscalCode, child(t, 4), child(t, 5))
		ps[2].FiscalCode += "X"
		enrol(ps[2], 4, "6.500")
		secondD := enrol(ps[3], 5, "6.500")
		clock.Set(time.Date(2026, time.November, 2, 9, 0, 0, 0, rome))
		res, err := s.BillMonth(ctx, "2026-10", office, nil)
		if err != nil || res.Failed > 0 {
			t.Fatalf("%+v %v", res, err)
		}
		got := map[string]int64{}
		for _, x := range b.bills {
			got[strings.Split(x.ExternalID, ":")[1]] = x.Amount
		}
		if got[payingA.ID] != 3000 {
			t.Errorf("the paying child after an exempt decoy: %d cents, want 3000 (no reduction)", got[payingA.ID])
		}
		if got[payingB.ID] != 3000 {
			t.Errorf("the child after another household's: %d cents, want 3000", got[payingB.ID])
		}
		if got[secondD.ID] != 1500 {
			t.Errorf("the brother enrolled by the other parent: %d cents, want 1500", got[secondD.ID])
		}
		if c, err := s.Charge(ctx, payingA.Enrolment); err != nil || c.Nth != 1 || c.Cents != 3000 {
			t.Errorf("the page's charge after a decoy: %+v %v", c, err)
		}
	})
}
