package payments

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/jobs"
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
			// the loop asks for; their CPU time is not counted.
			var attempts []string
			next := 0
			var cpu, outside time.Duration
			batch := func() {
				b.StopTimer()
				t0 := processCPU()
				defer func() { outside += processCPU() - t0; b.StartTimer() }()
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
			cpu = processCPU()
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
			b.ReportMetric(float64((processCPU()-cpu-outside).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkImportJob measures the back office's import as its job runs
// it: a 1,000-line file accepted (outside the timer), then validated
// again and created in one transaction with its progress written in
// throttled steps. Each op is one file; lines/s is the figure the README
// quotes.
//
//	go test ./internal/payments -run XXX -bench ImportJob -benchtime 5x
//	CIVICO_TEST_POSTGRES_URL=... go test ./internal/payments -run XXX -bench ImportJob -benchtime 5x
func BenchmarkImportJob(b *testing.B) {
	const lines = 1000
	for _, e := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		b.Run(e.name, func(b *testing.B) {
			d := e.open(b)
			s, _ := newService(b, d)
			rates, _ := DemoRates()
			q := jobs.New(d, jobs.Config{})
			q.Add(s.ImportJob(rates))
			if err := q.Ready(); err != nil {
				b.Fatal(err)
			}
			s.Jobs = q
			ctx := context.Background()
			n := 0
			for b.Loop() {
				b.StopTimer()
				n++
				run, err := s.Accept(ctx, "bench.csv", canteenFile(fmt.Sprintf("B%d", n), lines), rates, Actor{Name: "operator:bench"}, "Bench")
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if r, err := s.RunImport(ctx, run.ID, rates, nil); err != nil || r.Status != ImportDone {
					b.Fatalf("%+v %v", r, err)
				}
			}
			b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
