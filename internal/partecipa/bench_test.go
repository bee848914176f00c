package partecipa

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// BenchmarkCast measures accepting answers: each ballot one transaction
// that checks the consultation and the roll, marks the roll, writes the
// ballot and drops the draft, from GOMAXPROCS×8 residents at once, in one
// consultation. The figure is ballots per second.
func BenchmarkCast(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s := newStore(d)
		c := newConsultation(b, s, assurance.High, true)
		a := Answers{"parco": {Choices: []string{"nord"}}, "perche": {Text: "Più alberi e più ombra d'estate"}, "voto": {Choices: []string{"4"}},
			"ordine": {Rank: map[string]int{"verde": 1, "sport": 2, "cultura": 3}}, "giudizio": {Rows: map[string]string{"pulizia": "buona", "sicurezza": "cattiva"}}}
		if _, errs := Check(c.Questions, a, true); len(errs) > 0 {
			b.Fatal(errs)
		}
		var n atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v := resident(fmt.Sprint("sub-", n.Add(1)), assurance.High)
				if _, err := s.Cast(context.Background(), c, v, a); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ballots/s")
	})
}

// BenchmarkCastCounter measures accepting counter answers as the store
// does them: the same roll and ballot as online, channel counter, the
// breakdowns' three rows (the consultation is not editable) and the
// office's audit entry, from GOMAXPROCS×8 operators at once. The
// provider's look-up of the resident (an HTTP round trip and its own
// transaction) is not in it. The figure is answers per second.
func BenchmarkCastCounter(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s := newStore(d)
		c := newConsultation(b, s, assurance.High, false)
		a := Answers{"parco": {Choices: []string{"nord"}}, "perche": {Text: "Più alberi e più ombra d'estate"}, "voto": {Choices: []string{"4"}},
			"ordine": {Rank: map[string]int{"verde": 1, "sport": 2, "cultura": 3}}, "giudizio": {Rows: map[string]string{"pulizia": "buona", "sicurezza": "cattiva"}}}
		if _, errs := Check(c.Questions, a, true); len(errs) > 0 {
			b.Fatal(errs)
		}
		var n atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v := CounterResident(fmt.Sprint("sub-", n.Add(1)), true, "Crocetta", "25-34", "F")
				if err := s.CastCounter(context.Background(), c, deskOperator, v, a); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "answers/s")
	})
}
