package main

import (
	"context"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/schools"
)

// BenchmarkSchoolsBilling measures the billing run as serve wires it (the
// real payments feature, the mail through the outbox): one op is one
// accepted enrolment billed, in its own transaction (the enrolment held,
// the claim, the position with its pagoPA notice, the ledger, the mail).
// again-cpu-ns/op is the same month run a second time, which bills
// nothing. cpu-ns/op is this process's CPU (SQLite's too, which runs in
// it); db-cpu-ns/op PostgreSQL's server's, when it runs on this machine.
//
//	go test ./cmd/civico -run XXX -bench SchoolsBilling -benchtime 1000x
func BenchmarkSchoolsBilling(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		store := newApps(b, d).civico.schools.Store
		billFixture(b, d, max(1, b.N-1))
		ctx := context.Background()
		dbCPU, dbOK := databaseCPU(d)
		cpu, start := processCPU(), time.Now()
		b.ResetTimer()
		r, err := store.BillMonth(ctx, billMonth, schools.Actor{Name: "bench"}, nil)
		b.StopTimer()
		if err != nil || r.Failed > 0 || r.Billed+r.Exempt != max(2, b.N) {
			b.Fatalf("%+v %v", r, err)
		}
		n := float64(r.Billed + r.Exempt)
		b.ReportMetric(float64(processCPU()-cpu)/n, "cpu-ns/op")
		b.ReportMetric(n/time.Since(start).Seconds(), "bills/s")
		if after, ok := databaseCPU(d); ok && dbOK {
			b.ReportMetric(float64(after-dbCPU)/n, "db-cpu-ns/op")
		}
		cpu = processCPU()
		if r, err := store.BillMonth(ctx, billMonth, schools.Actor{Name: "bench"}, nil); err != nil || r.Already != int(n) {
			b.Fatalf("again: %+v %v", r, err)
		}
		b.ReportMetric(float64(processCPU()-cpu)/n, "again-cpu-ns/op")
	})
}
