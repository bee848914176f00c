package certificates

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// BenchmarkIssue is one certificate issued: the register read, the seal,
// the row, the budget and the audit entry in one transaction (SQLite, and
// PostgreSQL when CIVICO_TEST_POSTGRES_URL names one). Each account draws
// on its own budget (30 a day).
func BenchmarkIssue(b *testing.B) {
	engines := map[string]func(testing.TB) *db.DB{"sqlite": dbtest.SQLite}
	if os.Getenv("CIVICO_TEST_POSTGRES_URL") != "" {
		engines["postgres"] = dbtest.Postgres
	}
	for name, open := range engines {
		b.Run(name, func(b *testing.B) {
			s := testStore(b, open(b))
			ctx := context.Background()
			i := 0
			defer cpuPerOp(b)()
			for b.Loop() {
				i++
				if _, err := s.Issue(ctx, Request{AccountID: "a" + strconv.Itoa(i), FiscalCode: luca, Kind: FamilyStatus, Use: "scuola", Disclosure: ShowName}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuPerOp reports the process's CPU time per operation when the
// function it returns runs.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() { b.ReportMetric(float64(processCPU()-start)/float64(b.N)/1e3, "cpu-µs/op") }
}

// BenchmarkRender is a certificate's PDF made and sealed, as each
// download makes it.
func BenchmarkRender(b *testing.B) {
	s := testStore(b, dbtest.SQLite(b))
	ctx := context.Background()
	c, err := s.Issue(ctx, Request{AccountID: "a", FiscalCode: luca, Kind: FamilyStatus, Use: "scuola", Disclosure: ShowName})
	if err != nil {
		b.Fatal(err)
	}
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := s.Render(ctx, c, "https://comune.example.it", "Piazza Confalonieri 5"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPDF is `civico cert verify`'s work on a file: both seals.
func BenchmarkVerifyPDF(b *testing.B) {
	s := testStore(b, dbtest.SQLite(b))
	ctx := context.Background()
	c, err := s.Issue(ctx, Request{AccountID: "a", FiscalCode: luca, Kind: FamilyStatus, Use: "scuola", Disclosure: ShowName})
	if err != nil {
		b.Fatal(err)
	}
	pdf, err := s.Render(ctx, c, "https://comune.example.it", "")
	if err != nil {
		b.Fatal(err)
	}
	keys := keySet(b, s)
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := VerifyPDF(pdf, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyOnline is the verification page's and the status API's
// work for one identifier (SQLite): the row by its key, the seal checked
// against the town's public keys.
func BenchmarkVerifyOnline(b *testing.B) {
	s := testStore(b, dbtest.SQLite(b))
	ctx := context.Background()
	c, err := s.Issue(ctx, Request{AccountID: "a", FiscalCode: luca, Kind: FamilyStatus, Use: "scuola", Disclosure: ShowName})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	defer cpuPerOp(b)()
	for b.Loop() {
		got, err := s.Find(ctx, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		if ok, err := s.Authentic(ctx, got); !ok || err != nil || got.StatusAt(now) != Valid {
			b.Fatal("not authentic", err)
		}
	}
}
