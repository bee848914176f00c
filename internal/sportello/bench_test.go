package sportello

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	tokens "github.com/civico-pa/civico/internal/token"
)

// engines runs a benchmark on SQLite, and on PostgreSQL when the test
// cluster is configured.
func engines(b *testing.B, fn func(b *testing.B, d *db.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.SQLite(b)) })
	if os.Getenv("CIVICO_TEST_POSTGRES_URL") != "" {
		b.Run("postgres", func(b *testing.B) { fn(b, dbtest.Postgres(b)) })
	}
}

// BenchmarkSubmit measures submissions, each one transaction that checks
// the draft, takes a protocol number, writes the history, the audit
// entry and the receipt's mail, from as many residents at once as
// GOMAXPROCS×4 goroutines: the figure is submissions per second.
func BenchmarkSubmit(b *testing.B) {
	engines(b, func(b *testing.B, d *db.DB) {
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
	year := time.Now().Year()
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO sportello_applications (id, service_id, service_title, form_id, account_id, fiscal_code, channel,
			phase, state, applicant, applicant_key, answers, idempotency_key, notify_email, protocol, assignee_id, created_at, updated_at,
			submitted_at, registered_at, term_days, withdrawable, due_on)
			SELECT $1, service_id, service_title, form_id, $2, '', channel, $3, $4, applicant, $5, answers, $6, notify_email, $7, $8,
			created_at, $9, submitted_at, $9, term_days, withdrawable, $10 FROM sportello_applications WHERE id = $11`)
		if err != nil {
			return err
		}
		defer st.Close()
		start := time.Now().AddDate(0, 0, -n/100)
		for i := range n {
			phase, state, assignee, due := "open", "registered", any(nil), time.Now().AddDate(0, 0, 20).Format(time.DateOnly)
			switch i % 3 {
			case 1:
				state, assignee = "in_progress", fmt.Sprintf("op-%d", i%10)
			case 2:
				phase, state = "closed", "accepted"
			}
			if i%10 == 0 {
				due = "2000-01-01"
			}
			at := start.Add(time.Duration(i) * time.Second).UTC()
			if _, err := st.ExecContext(ctx, tokens.ID(), fmt.Sprintf("res-%06d", i/perResident), phase, state, fmt.Sprintf("rossi%d bianca", i),
				tokens.ID(), fmt.Sprintf("%d/%07d", year-1, i+1), assignee, at, due, a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// The state autovacuum keeps a live PostgreSQL table in (statistics,
	// and the visibility map that lets a count read the index alone), and
	// SQLite's statistics.
	stmt := `ANALYZE`
	if d.Dialect == db.Postgres {
		stmt = `VACUUM ANALYZE sportello_applications`
	}
	if _, err := d.ExecContext(ctx, stmt); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQueue is the back office's first page with 100,000
// applications: the counts of the five queues and the page of the open
// queue, as the queue page draws them.
func BenchmarkQueue(b *testing.B) {
	engines(b, func(b *testing.B, d *db.DB) {
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
	engines(b, func(b *testing.B, d *db.DB) {
		s := newTestStore(b, d)
		fill(b, d, s, 100_000, 200)
		ctx := context.Background()
		o := Owner{AccountID: "res-000123", FiscalCode: "RSSMRA85T10A562S"}
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
	engines(b, func(b *testing.B, d *db.DB) {
		s := newTestStore(b, d)
		fill(b, d, s, 100_000, 200)
		ctx := context.Background()
		const delegate, holder = "FRRLCU78H15C707K", "FRRSFO12P45C707H"
		if _, err := d.ExecContext(ctx, `INSERT INTO sportello_delegations (id, holder_fiscal_code, holder_given_name, holder_family_name,
			delegate_fiscal_code, basis, services, valid_until, form_attachment, document_attachment, recorded_by, recorded_at)
			VALUES ('dg', $1, 'Sofia', 'Ferrari', $2, 'parent', '["permesso-prova"]', '2999-12-31', 'f', 'd', 'op', CURRENT_TIMESTAMP)`, holder, delegate); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `UPDATE sportello_applications SET delegation_id = 'dg', fiscal_code = $1 WHERE account_id = 'res-000123'`, holder); err != nil {
			b.Fatal(err)
		}
		o := Owner{AccountID: "res-000123", FiscalCode: delegate}
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
