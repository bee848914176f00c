package schools

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRanking measures the ranking job at a window's close: one op
// is one pending enrolment ranked (read, scored, ordered, given its place
// or waiting position, and its mail written to the outbox) in the one
// transaction of a service of b.N enrolments for b.N/10 places; the
// register's lookups are left out (Resident nil). cpu-µs/op is this
// process's CPU (SQLite's too).
//
//	go test ./internal/schools -run XXX -bench Ranking -benchtime 2000x
func BenchmarkRanking(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine.name, func(b *testing.B) {
			d := engine.open(b)
			s := benchStore(d)
			clock := time.Now().UTC()
			s.Now = func() time.Time { return clock }
			ctx := context.Background()
			id, err := s.PutService(ctx, "", ServiceInput{SchoolYear: "2026/2027", Kind: string(Canteen), Title: "Refezione scolastica", Mode: string(Ranking),
				Opens: clock.Add(-time.Hour).In(rome).Format(formTime), Closes: clock.Add(time.Hour).In(rome).Format(formTime), Classes: []string{"P2"},
				TariffUnit: "month", Bands: "7000: 30,00\noltre: 60,00", PointsSibling: "5", PointsWorking: "3"}, office)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria Garibaldi", Capacity: strconv.Itoa(max(1, b.N/10))}, office); err != nil {
				b.Fatal(err)
			}
			svc, err := s.Service(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			ps := manyParents(b, d, b.N)
			for i, p := range ps {
				r := request(b, svc, 0, i)
				r.Sibling, r.WorkingParents = i%3 == 0, i%2 == 0
				if _, err := s.Enrol(ctx, p, r, nil); err != nil {
					b.Fatal(err)
				}
			}
			clock = clock.Add(2 * time.Hour)
			cpu, start := cpuTime(), time.Now()
			b.ResetTimer()
			ok, err := s.ApplyRanking(ctx, id)
			b.StopTimer()
			if err != nil || !ok {
				b.Fatalf("%v %v", ok, err)
			}
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ranked/s")
		})
	}
}
