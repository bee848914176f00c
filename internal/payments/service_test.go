package payments

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/town"
)

// testGateway is a payment provider outside the town, behind the Gateway
// interface: it accepts every start and answers status from a map; its
// notifications are signed like the sandbox's.
type testGateway struct {
	SandboxClient
	mu       sync.Mutex
	outcomes map[string]Status
	starts   atomic.Int64
}

func newTestGateway() *testGateway {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &testGateway{SandboxClient: SandboxClient{Key: key}, outcomes: map[string]Status{}}
}

func (g *testGateway) Origin() string { return "https://gateway.example" }

func (g *testGateway) Start(_ context.Context, r StartRequest) (Started, error) {
	g.starts.Add(1)
	return Started{Ref: "ref-" + r.AttemptID, RedirectURL: "https://gateway.example/pay/" + r.AttemptID}, nil
}

func (g *testGateway) Status(_ context.Context, id string) (Status, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st, ok := g.outcomes[id]; ok {
		return st, nil
	}
	return Status{AttemptID: id, Outcome: OutcomePending}, nil
}

func (g *testGateway) set(st Status) {
	g.mu.Lock()
	g.outcomes[st.AttemptID] = st
	g.mu.Unlock()
}

// signed is a notification as the gateway sends it.
func (g *testGateway) signed(t testing.TB, n Notification) (http.Header, []byte) {
	t.Helper()
	body, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{SignatureHeader: {Sign(g.Key, body, time.Now())}}, body
}

func newService(t testing.TB, d *db.DB) (*Service, *testGateway) {
	t.Helper()
	towns := town.NewStore(d, time.Minute)
	if err := towns.Put(context.Background(), town.Demo()); err != nil {
		t.Fatal(err)
	}
	g := newTestGateway()
	return &Service{DB: d, Audit: &audit.Log{DB: d}, Towns: towns, Segregation: "47", Gateway: g}, g
}

const (
	mario = "RSSMRA85T10A562S"
	anna  = "CLMNNA82M62F205K"
)

func canteen(debtor string, cents int64) NewPosition {
	return NewPosition{DebtorCF: debtor, Category: Canteen, Reason: "Mensa scolastica, ottobre", Year: 2026, Amount: cents, DueDate: "2026-11-30"}
}

func mustCreate(t testing.TB, s *Service, in NewPosition) *Position {
	t.Helper()
	p, err := s.Create(context.Background(), in, Actor{Name: "cli"})
	if err != nil {
		t.Fatalf("create %+v: %v", in, err)
	}
	return p
}

func count(t testing.TB, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestCreateNumbersEveryNotice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		p := mustCreate(t, s, NewPosition{DebtorCF: mario, Category: TARI, Reason: "TARI 2026", Year: 2026, Amount: 30000, DueDate: "2026-05-31",
			Single: true, Instalments: []Instalment{{10000, "2026-05-31", nil}, {10000, "2026-09-30", nil}, {10000, "2026-12-16", nil}}})
		if len(p.Notices) != 4 || p.Notices[0].Seq != 0 || p.Notices[3].Seq != 3 {
			t.Fatalf("notices %+v", p.Notices)
		}
		seen := map[string]bool{}
		for _, n := range p.Notices {
			pn, err := pagopa.Parse(n.Number)
			if err != nil || pn.Aux != 3 || pn.Code != "47" || seen[n.Number] {
				t.Fatalf("notice number %s: %+v %v", n.Number, pn, err)
			}
			seen[n.Number] = true
		}
		// Instalments that do not add up are refused beside their field.
		_, err := s.Create(context.Background(), NewPosition{DebtorCF: mario, Category: TARI, Reason: "TARI 2026", Year: 2026, Amount: 30000, DueDate: "2026-05-31",
			Instalments: []Instalment{{10000, "2026-05-31", nil}, {10001, "2026-09-30", nil}}}, Actor{Name: "cli"})
		var fe problem.Fields
		if !errors.As(err, &fe) || fe["instalments"] != "payments.error.instalments_sum" {
			t.Fatalf("instalments not adding up: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_positions`); n != 1 {
			t.Fatalf("%d positions after a refusal", n)
		}
	})
}

// 1,000 residents' browsers pay one notice at once: one attempt holds it,
// the others are told it is being paid, and it is paid once.
func TestThousandConcurrentAttemptsPayOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, g := newService(t, d)
		p := mustCreate(t, s, canteen(mario, 4520))
		id := p.Notices[0].ID
		const n = 1000
		var ok, conflict atomic.Int64
		var winner atomic.Value
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				a, err := s.Checkout(context.Background(), mario, []string{id}, fmt.Sprintf("key-%d", i), "http://x", "http://x/notify", Actor{Name: "user:x"})
				switch {
				case err == nil:
					ok.Add(1)
					winner.Store(a.ID)
				case errors.Is(err, ErrNotPayable):
					conflict.Add(1)
				default:
					t.Errorf("attempt %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != n-1 || g.starts.Load() != 1 {
			t.Fatalf("%d attempts started, %d refused, %d gateway starts; want 1, %d, 1", ok.Load(), conflict.Load(), g.starts.Load(), n-1)
		}
		// Every one of them now reports payment at once: one settlement.
		aid := winner.Load().(string)
		var wg2 sync.WaitGroup
		for range 50 {
			wg2.Go(func() {
				if _, err := s.Settle(context.Background(), Payment{AttemptID: aid, Amount: 4520, PSP: "psp", PSPRef: "r1"}, "test"); err != nil {
					t.Error(err)
				}
			})
		}
		wg2.Wait()
		if r := count(t, d, `SELECT COUNT(*) FROM payments_receipts`); r != 1 {
			t.Fatalf("%d receipts", r)
		}
		if l := count(t, d, `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.settled'`); l != 1 {
			t.Fatalf("%d settlements in the ledger", l)
		}
		if st := count(t, d, `SELECT COUNT(*) FROM payments_positions WHERE status = 'paid' AND paid_amount = 4520`); st != 1 {
			t.Fatal("the position is not paid")
		}
	})
}

func TestNotificationsReplayedForgedAndOutOfOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, g := newService(t, d)
		p := mustCreate(t, s, canteen(mario, 1000))
		a, err := s.Checkout(context.Background(), mario, []string{p.Notices[0].ID}, "k1", "", "", Actor{Name: "user:x"})
		if err != nil {
			t.Fatal(err)
		}
		paid := Notification{ID: "n-paid", Status: Status{AttemptID: a.ID, Outcome: OutcomePaid, Amount: 1000, PSP: "psp", PSPRef: "x"}}

		// A forged signature: refused, nothing recorded.
		h, body := g.signed(t, paid)
		forged := newTestGateway()
		fh, _ := forged.signed(t, paid)
		if _, err := g.Verify(fh, body); !errors.Is(err, ErrSignature) {
			t.Fatalf("a notification signed with another key: %v", err)
		}
		tampered := []byte(string(body[:len(body)-2]) + "1}")
		if _, err := g.Verify(h, tampered); !errors.Is(err, ErrSignature) {
			t.Fatalf("an altered body: %v", err)
		}
		old := http.Header{SignatureHeader: {Sign(g.Key, body, time.Now().Add(-time.Hour))}}
		if _, err := g.Verify(old, body); !errors.Is(err, ErrStale) {
			t.Fatalf("an hour-old signature: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_notifications`); n != 0 {
			t.Fatal("a refused notification was recorded")
		}

		// The real one, replayed 10 times, concurrently: one settlement.
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				n, err := g.Verify(h, body)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Notify(context.Background(), g.Name(), n); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if r := count(t, d, `SELECT COUNT(*) FROM payments_receipts`); r != 1 {
			t.Fatalf("%d receipts after 10 replays", r)
		}
		// A refusal arriving after the payment changes nothing.
		if _, err := s.Notify(context.Background(), g.Name(), Notification{ID: "n-late", Status: Status{AttemptID: a.ID, Outcome: OutcomeRefused}}); err != nil {
			t.Fatal(err)
		}
		if st := count(t, d, `SELECT COUNT(*) FROM payments_notices WHERE status = 'paid'`); st != 1 {
			t.Fatal("a late refusal undid the payment")
		}

		// Order-independence the other way: refused first (released),
		// then paid: the money was taken, so it is settled.
		p2 := mustCreate(t, s, canteen(mario, 2000))
		a2, err := s.Checkout(context.Background(), mario, []string{p2.Notices[0].ID}, "k2", "", "", Actor{Name: "user:x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Notify(context.Background(), g.Name(), Notification{ID: "r2", Status: Status{AttemptID: a2.ID, Outcome: OutcomeRefused}}); err != nil {
			t.Fatal(err)
		}
		if st := count(t, d, `SELECT COUNT(*) FROM payments_notices WHERE id = $1 AND status = 'open'`, p2.Notices[0].ID); st != 1 {
			t.Fatal("a refusal did not release the notice")
		}
		if _, err := s.Notify(context.Background(), g.Name(), Notification{ID: "p2", Status: Status{AttemptID: a2.ID, Outcome: OutcomePaid, Amount: 2000}}); err != nil {
			t.Fatal(err)
		}
		if r := count(t, d, `SELECT COUNT(*) FROM payments_receipts WHERE notice_id = $1`, p2.Notices[0].ID); r != 1 {
			t.Fatal("a payment after a refusal was not settled")
		}

		// A tampered amount: nothing settled, the discrepancy recorded.
		p3 := mustCreate(t, s, canteen(mario, 3000))
		a3, err := s.Checkout(context.Background(), mario, []string{p3.Notices[0].ID}, "k3", "", "", Actor{Name: "user:x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Notify(context.Background(), g.Name(), Notification{ID: "p3", Status: Status{AttemptID: a3.ID, Outcome: OutcomePaid, Amount: 300}}); !errors.Is(err, ErrAmountMismatch) {
			t.Fatalf("a payment of another amount: %v", err)
		}
		if r := count(t, d, `SELECT COUNT(*) FROM payments_receipts WHERE notice_id = $1`, p3.Notices[0].ID); r != 0 {
			t.Fatal("a payment of another amount was settled")
		}
		if l := count(t, d, `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.amount_mismatch' AND attempt_id = $1`, a3.ID); l != 1 {
			t.Fatal("the discrepancy is not in the ledger")
		}
		// Its notice is not left locked: payable again, the attempt
		// released; the same word again (another notification id, the
		// reconciliation) records nothing more.
		if n := count(t, d, `SELECT COUNT(*) FROM payments_notices WHERE id = $1 AND status = 'open' AND attempt_id IS NULL`, p3.Notices[0].ID); n != 1 {
			t.Fatal("a payment of another amount left its notice locked")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_attempts WHERE id = $1 AND status = 'released' AND outcome = 'amount_mismatch'`, a3.ID); n != 1 {
			t.Fatal("the attempt paid with another amount is not released as such")
		}
		if _, err := s.Notify(context.Background(), g.Name(), Notification{ID: "p3-again", Status: Status{AttemptID: a3.ID, Outcome: OutcomePaid, Amount: 300}}); !errors.Is(err, ErrAmountMismatch) {
			t.Fatalf("the same payment of another amount again: %v", err)
		}
		if _, err := s.Settle(context.Background(), Payment{AttemptID: a3.ID, Amount: 300}, "reconciliation"); !errors.Is(err, ErrAmountMismatch) {
			t.Fatalf("the same payment of another amount from reconciliation: %v", err)
		}
		if l := count(t, d, `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.amount_mismatch' AND attempt_id = $1`, a3.ID); l != 1 {
			t.Fatalf("the discrepancy is in the ledger %d times, want once", l)
		}
	})
}

func TestCheckoutRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		tari := mustCreate(t, s, NewPosition{DebtorCF: mario, Category: TARI, Reason: "TARI 2026", Year: 2026, Amount: 20000, DueDate: "2026-05-31",
			Single: true, Instalments: []Instalment{{10000, "2026-05-31", nil}, {10000, "2026-09-30", nil}}})
		single, first, second := tari.Notices[0].ID, tari.Notices[1].ID, tari.Notices[2].ID
		// Someone else's notice is not found.
		if _, err := s.Checkout(ctx, anna, []string{first}, "a1", "", "", Actor{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another debtor's notice: %v", err)
		}
		// The single payment with its instalments: refused.
		if _, err := s.Checkout(ctx, mario, []string{single, first}, "m1", "", "", Actor{}); !errors.Is(err, ErrSiblings) {
			t.Fatalf("single with an instalment: %v", err)
		}
		// Two instalments together, and then the single payment is not payable.
		a, err := s.Checkout(ctx, mario, []string{first, second}, "m2", "", "", Actor{})
		if err != nil || a.Amount != 20000 {
			t.Fatalf("two instalments: %+v %v", a, err)
		}
		if _, err := s.Checkout(ctx, mario, []string{single}, "m3", "", "", Actor{}); !errors.Is(err, ErrNotPayable) {
			t.Fatalf("the single payment while instalments are in payment: %v", err)
		}
		// The same key again is the same attempt.
		again, err := s.Checkout(ctx, mario, []string{first, second}, "m2", "", "", Actor{})
		if err != nil || again.ID != a.ID {
			t.Fatalf("the same idempotency key: %+v %v", again, err)
		}
		if _, err := s.Settle(ctx, Payment{AttemptID: a.ID, Amount: 20000}, "test"); err != nil {
			t.Fatal(err)
		}
		var status string
		var paid int64
		if err := d.QueryRowContext(ctx, `SELECT status, paid_amount FROM payments_positions WHERE id = $1`, tari.ID).Scan(&status, &paid); err != nil {
			t.Fatal(err)
		}
		if status != StatusPaid || paid != 20000 {
			t.Fatalf("position %s, paid %d", status, paid)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_notices WHERE id = $1 AND status = 'void'`, single); n != 1 {
			t.Fatal("the single payment was not voided")
		}
		// The ledger refuses changes.
		if _, err := d.ExecContext(ctx, `UPDATE payments_ledger SET amount = 0`); err == nil {
			t.Fatal("the ledger was changed")
		}
		if _, err := d.ExecContext(ctx, `DELETE FROM payments_ledger`); err == nil {
			t.Fatal("the ledger was emptied")
		}
	})
}

// A payment whose notification never came is settled by reconciliation;
// one abandoned is released.
func TestReconciliation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, g := newService(t, d)
		ctx := context.Background()
		now := time.Now()
		s.Now = func() time.Time { return now }
		p1 := mustCreate(t, s, canteen(mario, 1500))
		p2 := mustCreate(t, s, canteen(mario, 2500))
		a1, err := s.Checkout(ctx, mario, []string{p1.Notices[0].ID}, "r1", "", "", Actor{})
		if err != nil {
			t.Fatal(err)
		}
		a2, err := s.Checkout(ctx, mario, []string{p2.Notices[0].ID}, "r2", "", "", Actor{})
		if err != nil {
			t.Fatal(err)
		}
		g.set(Status{AttemptID: a1.ID, Outcome: OutcomePaid, Amount: 1500, PSP: "psp", PSPRef: "late"})
		g.set(Status{AttemptID: a2.ID, Outcome: OutcomeAbandoned})
		// Too early: nothing asked.
		if r, err := s.Reconcile(ctx, ReconcileAfter); err != nil || r.Asked != 0 {
			t.Fatalf("%+v %v", r, err)
		}
		now = now.Add(ReconcileAfter + time.Second)
		r, err := s.Reconcile(ctx, ReconcileAfter)
		if err != nil || r.Settled != 1 || r.Released != 1 {
			t.Fatalf("reconciliation: %+v %v", r, err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_receipts WHERE attempt_id = $1`, a1.ID); n != 1 {
			t.Fatal("the paid attempt has no receipt")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_notices WHERE id = $1 AND status = 'open'`, p2.Notices[0].ID); n != 1 {
			t.Fatal("the abandoned attempt still holds its notice")
		}
	})
}

// Another feature bills inside its own transaction: a rollback there
// leaves no position and no notice number taken on SQLite.
func TestBillInTheCallersTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		m := &Module{Service: s}
		stamp := NewPosition{DebtorCF: mario, Category: Stamp, Reason: "Imposta di bollo, certificato di residenza", Year: 2026, Amount: 1600,
			DueDate: "2026-12-31", Source: "desk", ExternalID: "desk:cert:1"}
		var n Notice
		err := d.Tx(context.Background(), func(tx *sql.Tx) error {
			var err error
			n, err = m.Biller().Bill(context.Background(), tx, stamp)
			return err
		})
		if err != nil || n.Amount != 1600 || n.Number == "" {
			t.Fatalf("bill: %+v %v", n, err)
		}
		var fe problem.Fields
		err = d.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := m.Biller().Bill(context.Background(), tx, stamp)
			return err
		})
		if !errors.As(err, &fe) || fe["external_id"] == "" {
			t.Fatalf("the same bill twice: %v", err)
		}
		rollback := errors.New("the certificate failed")
		stamp.ExternalID = "desk:cert:2"
		err = d.Tx(context.Background(), func(tx *sql.Tx) error {
			if _, err := m.Biller().Bill(context.Background(), tx, stamp); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) || count(t, d, `SELECT COUNT(*) FROM payments_positions`) != 1 {
			t.Fatalf("a rolled-back bill left a position: %v", err)
		}
	})
}
