package sportello

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// engines runs a benchmark on SQLite, and on PostgreSQL when the test
// cluster is configured.

// BenchmarkSubmit measures submissions, each one transaction that checks
// the draft, takes a protocol number, writes the history, the audit
// entry and the receipt's mail, from as many residents at once as
// GOMAXPROCS×4 goroutines: the figure is submissions per second.
func BenchmarkSubmit(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s := newTestStore(b, d)
		type job struct {
			id string
			o  Owner
		}
		jobs := make([]job, b.N)
		for i := range jobs {
			a, o := draft(b, s, i)
			jobs[i] = job{a.ID, o}
		}
		var next atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				j := jobs[next.Add(1)-1]
				if _, err := s.Submit(context.Background(), j.id, j.o, ""); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submissions/s")
	})
}

// fill copies one registered application n times, spread over the
// queues (a third to assign, a third taken by one of ten operators, a
// third closed; one in ten overdue) and over residents (perResident
// each).
func fill(b testing.TB, d *db.DB, s *Store, n, perResident int) {
	b.Helper()
	ctx := context.Background()
	a, o := draft(b, s, 0)
	if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddVolume(ctx, Volume{Template: a.ID, N: n, PerResident: perResident}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQueue is the back office's first page with 100,000
// applications: the counts of the five queues and the page of the open
// queue, as the queue page draws them.
func BenchmarkQueue(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s := newTestStore(b, d)
		fill(b, d, s, 100_000, 200)
		ctx := context.Background()
		today := Day(time.Now())
		b.ResetTimer()
		for b.Loop() {
			if _, err := s.Counts(ctx, "op-3", time.Now()); err != nil {
				b.Fatal(err)
			}
			list, total, err := s.List(ctx, Filter{Queue: QueueOpen, Today: today})
			if err != nil || len(list) != PageSize || total != CountCap+1 {
				b.Fatalf("%d of %d (%v)", len(list), total, err)
			}
		}
	})
}

// BenchmarkResidentArea is a resident with 200 applications among
// 100,000: the desk's panel (Awaiting) and the first page of their list.
func BenchmarkResidentArea(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s := newTestStore(b, d)
		fill(b, d, s, 100_000, 200)
		ctx := context.Background()
		o := Owner{AccountID: "volume-000123", FiscalCode: VolumeFiscalCode(123)}
		b.ResetTimer()
		for b.Loop() {
			if _, _, err := s.Awaiting(ctx, o, 5); err != nil {
				b.Fatal(err)
			}
			list, total, err := s.Mine(ctx, o, 1)
			if err != nil || total != 200 || len(list) != PageSize {
				b.Fatalf("%d of %d (%v)", len(list), total, err)
			}
		}
	})
}

// BenchmarkDelegateArea is BenchmarkResidentArea for a delegate whose 200
// applications of 100,000 were all made under a delegation in force: each
// row of theirs passes the delegation's condition of the owner query.
func BenchmarkDelegateArea(b *testing.B) {
	dbtest.EachB(b, func(b *testing.B, d *db.DB) {
		s := newTestStore(b, d)
		fill(b, d, s, 100_000, 200)
		ctx := context.Background()
		const delegate, holder = "FRRLCU78H15C707K", "FRRSFO12P45C707H"
		if _, err := d.ExecContext(ctx, `INSERT INTO sportello_delegations (id, holder_fiscal_code, holder_given_name, holder_family_name,
			delegate_fiscal_code, basis, services, valid_until, form_attachment, document_attachment, recorded_by, recorded_at)
			VALUES ('dg', $1, 'Sofia', 'Ferrari', $2, 'parent', '["permesso-prova"]', '2999-12-31', 'f', 'd', 'op', CURRENT_TIMESTAMP)`, holder, delegate); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `UPDATE sportello_applications SET delegation_id = 'dg', fiscal_code = $1 WHERE account_id = 'volume-000123'`, holder); err != nil {
			b.Fatal(err)
		}
		o := Owner{AccountID: "volume-000123", FiscalCode: delegate}
		b.ResetTimer()
		for b.Loop() {
			if _, _, err := s.Awaiting(ctx, o, 5); err != nil {
				b.Fatal(err)
			}
			list, total, err := s.Mine(ctx, o, 1)
			if err != nil || total != 200 || len(list) != PageSize {
				b.Fatalf("%d of %d (%v)", len(list), total, err)
			}
		}
	})
}
