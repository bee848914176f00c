package schools

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkAttendanceImport measures the attendance import: one op is one
// line of a file of b.N lines (parsed, its child's enrolment found, its
// row inserted) in the import's one transaction. cpu-µs/op is this
// process's CPU (SQLite's too).
//
//	go test ./internal/schools -run XXX -bench AttendanceImport -benchtime 2000x
func BenchmarkAttendanceImport(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine.name, func(b *testing.B) {
			d := engine.open(b)
			s := benchStore(d)
			clock := summer
			s.Now = func() time.Time { return clock }
			ctx := context.Background()
			id, err := s.PutService(ctx, "", ServiceInput{SchoolYear: "2026/2027", Kind: string(Canteen), Title: "Refezione scolastica",
				Opens: clock.Add(-time.Hour).In(rome).Format(formTime), Closes: clock.Add(time.Hour).In(rome).Format(formTime), Classes: []string{"P2"},
				TariffUnit: "meal", Bands: "oltre: 4,50"}, office)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria Garibaldi", Capacity: strconv.Itoa(b.N)}, office); err != nil {
				b.Fatal(err)
			}
			svc, err := s.Service(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			var file strings.Builder
			file.WriteString(AttendanceHeader + "\n")
			for i, p := range manyParents(b, d, b.N) {
				r := request(b, svc, 0, i)
				if _, err := s.Enrol(ctx, p, r, nil); err != nil {
					b.Fatal(err)
				}
				file.WriteString(r.ChildFC + ";2026-10;" + strconv.Itoa(i%21) + "\n")
			}
			clock = time.Date(2026, time.November, 2, 9, 0, 0, 0, rome)
			cpu, start := cpuTime(), time.Now()
			b.ResetTimer()
			res, err := s.ImportAttendance(ctx, id, "ottobre.csv", []byte(file.String()), office, nil)
			b.StopTimer()
			if err != nil || res.Lines != b.N {
				b.Fatalf("%+v %v", res, err)
			}
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
		})
	}
}

// BenchmarkPublishedRanking measures the published ranking's export: one
// op is one line of the CSV of a service of b.N ranked enrolments.
//
//	go test ./internal/schools -run XXX -bench PublishedRanking -benchtime 2000x
func BenchmarkPublishedRanking(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine.name, func(b *testing.B) {
			d := engine.open(b)
			s := benchStore(d)
			clock := time.Now().UTC()
			s.Now = func() time.Time { return clock }
			ctx := context.Background()
			id, err := s.PutService(ctx, "", ServiceInput{SchoolYear: "2026/2027", Kind: string(Canteen), Title: "Refezione scolastica", Mode: string(Ranking),
				Opens: clock.Add(-time.Hour).In(rome).Format(formTime), Closes: clock.Add(time.Hour).In(rome).Format(formTime), Classes: []string{"P2"},
				TariffUnit: "month", Bands: "oltre: 60,00", PointsWorking: "3"}, office)
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
			for i, p := range manyParents(b, d, b.N) {
				r := request(b, svc, 0, i)
				r.WorkingParents = i%2 == 0
				if _, err := s.Enrol(ctx, p, r, nil); err != nil {
					b.Fatal(err)
				}
			}
			clock = clock.Add(2 * time.Hour)
			if ok, err := s.ApplyRanking(ctx, id); err != nil || !ok {
				b.Fatalf("%v %v", ok, err)
			}
			if svc, err = s.Service(ctx, id); err != nil {
				b.Fatal(err)
			}
			cpu := cpuTime()
			b.ResetTimer()
			if err := s.WriteRankingCSV(ctx, svc, io.Discard); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
