package schools

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/mail"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// manyParents makes n accounts in one transaction.
func manyParents(b testing.TB, d *db.DB, n int) []Parent {
	b.Helper()
	out := make([]Parent, n)
	err := d.Tx(context.Background(), func(tx *sql.Tx) error {
		for i := range out {
			id := fmt.Sprintf("bench-%06d", i)
			if _, err := tx.ExecContext(context.Background(), `INSERT INTO accounts (id, kind, created_at, updated_at) VALUES ($1, 'resident', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, id); err != nil {
				return err
			}
			out[i] = Parent{AccountID: id, FiscalCode: fmt.Sprintf("BNCH%012d", i), Lang: "it", Email: "genitore@example.org"}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// benchStore is a store whose letters go to the outbox as the feature's
// do (one row in the enrolment's transaction), with a message of the
// feature's length.
func benchStore(d *db.DB) *Store {
	o := &mail.Outbox{DB: d}
	return &Store{DB: d, Letters: func(ctx context.Context, tx *sql.Tx, e *Enrolment, what string) error {
		_, err := o.Enqueue(ctx, tx, mail.Message{To: "genitore@example.org", Subject: e.Service + ": " + what,
			Text: strings.Repeat("L'iscrizione di "+e.ChildGiven+" a "+e.Service+" ("+e.Unit+"). ", 4) + fmt.Sprint(e.Position)})
		return err
	}}
}

var engines = []struct {
	name string
	open func(testing.TB) *db.DB
}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}}

// One enrolment: the service read, the unit's UPDATE, the insert and its
// mail in the outbox (no certificate), 8 at once on the 2 cores, half of them over the
// capacity (the waiting list's position is counted too). cpu-µs/op is
// the process's CPU time (the database's too on SQLite, which runs
// inside it; not PostgreSQL's server).
func BenchmarkEnrol(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine.name, func(b *testing.B) {
			d := engine.open(b)
			s := benchStore(d)
			svc := openService(b, s, Canteen, min(MaxCapacity, max(1, b.N/2)))
			ps := manyParents(b, d, 1000)
			// Children's codes made before the clock starts.
			codes := make([]string, b.N)
			for i := range codes {
				codes[i] = child(b, i)
			}
			var n atomic.Int64
			b.SetParallelism(4)
			b.ReportAllocs()
			cpu := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(1)) - 1
					r := request(b, svc, 0, 0)
					r.ChildFC = codes[i]
					if _, err := s.Enrol(context.Background(), ps[i%len(ps)], r, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// The rush: 10,000 parents press "send" at once for 1,000
// places. Every submission starts together; accepted/s is the accepted
// writes over the rush's wall time, p99 the 99th percentile of one
// parent's wait for the answer. The test suite runs the same with 200
// for 20 (TestRushNeverOverbooks); this checks the counts as well.
func BenchmarkRush(b *testing.B) {
	for _, engine := range engines {
		b.Run(engine.name, func(b *testing.B) {
			const parentsN, places = 10000, 1000
			d := engine.open(b)
			s := benchStore(d)
			ps := manyParents(b, d, parentsN)
			codes := make([]string, parentsN)
			for i := range codes {
				codes[i] = child(b, i)
			}
			var waits []time.Duration
			// filled is how long the places took to be given: the last
			// accepted answer's instant after the start. The places go to the
			// first writes committed, so this is the rate of accepted writes;
			// the rest of the rush writes waiting-list places.
			var wall, filled, cpuUsed time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				svc := openService(b, s, Canteen, places)
				lat := make([]time.Duration, parentsN)
				var accepted, lastAccepted atomic.Int64
				var wg sync.WaitGroup
				start := make(chan struct{})
				var t0 time.Time
				for i := range ps {
					wg.Go(func() {
						r := request(b, svc, 0, 0)
						r.ChildFC = codes[i]
						<-start
						t0 := time.Now()
						o, err := s.Enrol(context.Background(), ps[i], r, nil)
						lat[i] = time.Since(t0)
						if err != nil {
							b.Error(err)
							return
						}
						if o.Status == Accepted {
							accepted.Add(1)
							at := int64(time.Since(t0))
							for {
								last := lastAccepted.Load()
								if at <= last || lastAccepted.CompareAndSwap(last, at) {
									break
								}
							}
						}
					})
				}
				b.StartTimer()
				cpu := cpuTime()
				t0 = time.Now()
				close(start)
				wg.Wait()
				wall += time.Since(t0)
				cpuUsed += cpuTime() - cpu
				if accepted.Load() != places {
					b.Fatalf("accepted %d of %d places", accepted.Load(), places)
				}
				waits = append(waits, lat...)
				filled += time.Duration(lastAccepted.Load())
			}
			slices.Sort(waits)
			b.ReportMetric(float64(places*b.N)/filled.Seconds(), "accepted/s")
			b.ReportMetric(float64(parentsN*b.N)/wall.Seconds(), "answers/s")
			b.ReportMetric(float64(waits[len(waits)*99/100].Milliseconds()), "p99-ms")
			b.ReportMetric(float64(cpuUsed.Microseconds())/float64(parentsN*b.N), "cpu-µs/answer")
		})
	}
}
