package cards

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// cpuPerOp reports the process's CPU time per operation when the
// function it returns runs.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() { b.ReportMetric(float64(processCPU()-start)/float64(b.N)/1e3, "cpu-µs/op") }
}

func engines() map[string]func(testing.TB) *db.DB {
	m := map[string]func(testing.TB) *db.DB{"sqlite": dbtest.SQLite}
	if os.Getenv("CIVICO_TEST_POSTGRES_URL") != "" {
		m["postgres"] = dbtest.Postgres
	}
	return m
}

// bigRegistry is a registry file of n cards.
func bigRegistry(n, offset int) []byte {
	var b strings.Builder
	b.WriteString("seriale;codice_fiscale;data_emissione;data_scadenza;stato\n")
	for i := range n {
		fmt.Fprintf(&b, "%d;%s;2024-01-10;2030-01-10;ATTIVA\n", 6120016400000000+offset+i, luca)
	}
	return []byte(b.String())
}

// BenchmarkParseRegistry is a file of 10,000 cards checked line by line.
func BenchmarkParseRegistry(b *testing.B) {
	data := bigRegistry(10000, 0)
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := ParseRegistry("carte.csv", data, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportRegistry is a file of 10,000 cards checked and written
// (new cards each time, in one transaction with its audit entry).
func BenchmarkImportRegistry(b *testing.B) {
	for name, open := range engines() {
		b.Run(name, func(b *testing.B) {
			s := newSite(b, open(b))
			ctx := context.Background()
			files := make([][]byte, b.N)
			for i := range files {
				files[i] = bigRegistry(10000, i*10000)
			}
			b.ResetTimer()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				list, err := ParseRegistry("carte.csv", files[i], time.Now())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.svc.Registry.Import(ctx, "carte.csv", files[i], list, "cli", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeliver is one PIN handed out: the claim, the decryption, the
// letter, the destruction, the record and four audit entries in one
// transaction.
func BenchmarkDeliver(b *testing.B) {
	for name, open := range engines() {
		b.Run(name, func(b *testing.B) {
			data := bigRegistry(b.N, 0)
			s := newSite(b, open(b))
			ctx := context.Background()
			list, err := ParseRegistry("carte.csv", data, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.svc.Registry.Import(ctx, "carte.csv", data, list, "cli", nil); err != nil {
				b.Fatal(err)
			}
			secrets := make([]Secret, b.N)
			for i := range secrets {
				secrets[i] = Secret{Ref: fmt.Sprintf("B-%d", i), Serial: list[i].Serial, FiscalCode: luca, PIN: "48213", PUK: "90817263"}
			}
			ids := s.envelopes(b, s.key.Recipient, secrets...)
			b.ResetTimer()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				if _, _, err := s.svc.Deliver(ctx, holderDelivery(ids[i])); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
