package payments

import (
	"context"
	"fmt"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// BenchmarkSettle measures settlements per second on each database: a
// resident's checkout of one notice, then the gateway's signed-off
// notification settling it (receipt, notice, position, the siblings
// voided, the ledger) in one transaction. Each op is one settlement; the
// notices and attempts are made before the timer.
//
//	go test ./internal/payments -run XXX -bench Settle
//	CIVICO_TEST_POSTGRES_URL=... go test ./internal/payments -run XXX -bench Settle
func BenchmarkSettle(b *testing.B) {
	for _, e := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		b.Run(e.name, func(b *testing.B) {
			d := e.open(b)
			s, _ := newService(b, d)
			ctx := context.Background()
			// Batches of attempts made outside the timer, as many as
			// the loop asks for.
			var attempts []string
			next := 0
			batch := func() {
				b.StopTimer()
				defer b.StartTimer()
				attempts, next = attempts[:0], 0
				for i := range 200 {
					p := mustCreate(b, s, canteen(mario, 4520))
					a, err := s.Checkout(ctx, mario, []string{p.Notices[0].ID}, fmt.Sprintf("bench-%s-%d", p.ID, i), "", "", Actor{Name: "user:x"})
					if err != nil {
						b.Fatal(err)
					}
					attempts = append(attempts, a.ID)
				}
			}
			for b.Loop() {
				if next == len(attempts) {
					batch()
				}
				id := attempts[next]
				next++
				if _, err := s.Notify(ctx, s.Gateway.Name(), Notification{ID: "n-" + id, Status: Status{AttemptID: id, Outcome: OutcomePaid, Amount: 4520, PSP: "psp", PSPRef: id}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "settlements/s")
		})
	}
}
