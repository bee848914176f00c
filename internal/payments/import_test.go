package payments

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

const goodCSV = `id,codice_fiscale,nominativo,categoria,causale,anno,importo,scadenza,rate
MENSA-1,RSSMRA85T10A562S,Mario Rossi,mensa,Mensa ottobre,2026,"45,20",2026-11-30,
TARI-1,RSSMRA85T10A562S,Mario Rossi,tari,Via Roma 1,2026,"301,00",,
TRASP-1,CLMNNA82M62F205K,,trasporto,Scuolabus 2026/27,2026,"220,00",15/09/2026,2026-09-15:110|2026-01-15:110
`

func TestImportAllOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		rates, _ := DemoRates()
		// Line 4's instalments are out of order; line 5 repeats an id, line
		// 6 has a wrong fiscal code and no amount.
		bad := goodCSV + "MENSA-1,RSSMRA85T10A562S,,mensa,Doppia,2026,10,2026-11-30,\nX-2,RSSMRA85T10A562T,,mensa,Mensa,2026,,2026-11-30,\n"
		_, err := s.ParseImport(ctx, []byte(bad), rates)
		var ie ImportErrors
		if !errors.As(err, &ie) {
			t.Fatalf("a wrong file: %v", err)
		}
		want := map[string]bool{"4 rate": true, "5 id": true, "6 codice_fiscale": true, "6 importo": true}
		for _, e := range ie {
			key := strings.TrimSpace(strings.Join([]string{itoa(e.Line), e.Column}, " "))
			if !want[key] {
				t.Errorf("unexpected error %+v", e)
			}
			delete(want, key)
		}
		if len(want) > 0 {
			t.Errorf("errors not reported: %v (got %+v)", want, ie)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_positions`); n != 0 {
			t.Fatal("a wrong file imported something")
		}
		// Semicolons, as a spreadsheet in Italian writes them.
		fixed := strings.ReplaceAll(strings.Replace(goodCSV, "2026-09-15:110|2026-01-15:110", "2026-09-15:110|2027-01-15:110", 1), ",", ";")
		fixed = strings.ReplaceAll(fixed, `"45;20"`, `45,20`)
		fixed = strings.ReplaceAll(fixed, `"301;00"`, `301,00`)
		fixed = strings.ReplaceAll(fixed, `"220;00"`, `220,00`)
		lines, err := s.ParseImport(ctx, []byte(fixed), rates)
		if err != nil {
			t.Fatalf("the corrected file: %v", err)
		}
		done := 0
		// A long name in Italian: the run keeps 200 bytes of it, whole
		// characters (PostgreSQL refuses half of one), without the bytes
		// that are not UTF-8 or NUL a crafted upload's name may carry.
		name := "r" + strings.Repeat("à", 150) + ".csv"
		imp, err := s.Import(ctx, "\x00"+name[:3]+"\xff"+name[3:], []byte(fixed), lines, Actor{Name: "cli"}, func(n int) { done = n })
		if err != nil || imp.Positions != 3 || done != 3 {
			t.Fatalf("import: %+v %v, progress %d", imp, err, done)
		}
		var kept string
		if err := d.QueryRowContext(ctx, `SELECT name FROM payments_import_runs WHERE id = $1`, imp.ID).Scan(&kept); err != nil || kept != name[:199] {
			t.Errorf("the run's name is %q (%v)", kept, err)
		}
		// TARI carries its TEFA: 301.00 + 15.05.
		if n := count(t, d, `SELECT COUNT(*) FROM payments_positions WHERE category = 'tari' AND amount = 31605`); n != 1 {
			t.Fatal("TARI without its TEFA")
		}
		// The same file again, and another file with an id already loaded.
		if _, err := s.Import(ctx, "ottobre.csv", []byte(fixed), lines, Actor{Name: "cli"}, nil); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("the same file twice: %v", err)
		}
		again := fixed + "NUOVA-1;RSSMRA85T10A562S;;mensa;Mensa novembre;2026;45,20;2026-12-31;\n"
		lines, err = s.ParseImport(ctx, []byte(again), rates)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Import(ctx, "novembre.csv", []byte(again), lines, Actor{Name: "cli"}, nil); !errors.As(err, &ie) || len(ie) != 3 || ie[0].Message != "payments.import.error.loaded" {
			t.Fatalf("ids loaded before: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_positions`); n != 3 {
			t.Fatalf("%d positions after a refused import", n)
		}
	})
}

// TestBulkImportAnalyzes: an import of analyzeAfter positions or more
// leaves its tables' statistics up to date on PostgreSQL (their row
// counts in the catalogue), a smaller one leaves them to autovacuum.
func TestBulkImportAnalyzes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		rates, _ := DemoRates()
		file := func(prefix string, n int) []byte {
			var b strings.Builder
			b.WriteString("id,codice_fiscale,nominativo,categoria,causale,anno,importo,scadenza,rate\n")
			for i := range n {
				b.WriteString(prefix + "-" + itoa(i) + ",RSSMRA85T10A562S,Mario Rossi,mensa,Mensa,2026,\"45,20\",2026-11-30,\n")
			}
			return []byte(b.String())
		}
		if d.Dialect == db.Postgres {
			// Autovacuum analyzes the table on its own only after its
			// next pass; turned off here, so that it cannot do so
			// between the two imports.
			if _, err := d.ExecContext(ctx, `ALTER TABLE payments_notices SET (autovacuum_enabled = false)`); err != nil {
				t.Fatal(err)
			}
		}
		// reltuples is -1 until a table is first vacuumed or analyzed; the
		// table is the test's own (its schema, on the search path): other
		// tests' schemas have theirs.
		tuples := func() float64 {
			var n float64
			if err := d.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'payments_notices'::regclass`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, step := range []struct {
			prefix   string
			n        int
			analyzed bool
		}{{"SMALL", analyzeAfter - 1, false}, {"BULK", analyzeAfter, true}} {
			data := file(step.prefix, step.n)
			lines, err := s.ParseImport(ctx, data, rates)
			if err != nil {
				t.Fatal(err)
			}
			if imp, err := s.Import(ctx, step.prefix+".csv", data, lines, Actor{Name: "cli"}, nil); err != nil || imp.Positions != step.n {
				t.Fatalf("%s: %+v %v", step.prefix, imp, err)
			}
			if d.Dialect != db.Postgres {
				continue
			}
			if got := tuples(); (got >= float64(step.n)) != step.analyzed {
				t.Errorf("after %d positions: reltuples %v, analyzed %v wanted", step.n, got, step.analyzed)
			}
		}
	})
}
