package protocol

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

func newRegistry(t *testing.T, d *db.DB, c *clock) *Registry {
	return &Registry{DB: d, Dir: filepath.Join(t.TempDir(), "protocol"), Now: c.now,
		Town: func(context.Context) (string, error) { return "Comune di Cinisello Balsamo", nil }}
}

func readAll(t *testing.T, g *Registry, register, day, ext string) []byte {
	t.Helper()
	f, err := g.Open(register, day, ext)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDailyRegisterExport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := &clock{t: rome(2027, 3, 14, 9, 0, 0)}
		g := newRegistry(t, d, c)
		first := entry("Cambio di residenza")
		first.Correspondent = "Lucia Bianchi, via Roma 1"
		register(t, g, first)
		c.set(rome(2027, 3, 14, 17, 45, 0))
		second := entry("=HYPERLINK(\"http://evil\") richiesta")
		second.Direction, second.DocNumber, second.DocDate = Out, "12/A", "2027-03-10"
		register(t, g, second)
		if _, err := g.ExportDay(ctx, General, "2027-03-14"); !errors.Is(err, ErrDayNotOver) {
			t.Fatalf("exporting a day not over: %v", err)
		}
		c.set(rome(2027, 3, 15, 0, 5, 0))
		register(t, g, entry("il giorno dopo"))
		x, err := g.ExportDay(ctx, General, "2027-03-14")
		if err != nil {
			t.Fatal(err)
		}
		if x.Entries != 2 || x.FirstSeq != 1 || x.LastSeq != 2 {
			t.Fatalf("export: %+v", x)
		}
		csvData := readAll(t, g, General, "2027-03-14", "csv")
		rows, err := csv.NewReader(bytes.NewReader(csvData)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0][0] != "numero" || rows[1][0] != "2027/0000001" || rows[2][0] != "2027/0000002" {
			t.Fatalf("CSV rows: %q", rows)
		}
		if rows[1][5] != "Lucia Bianchi, via Roma 1" || rows[2][3] != "uscita" || rows[2][7] != "12/A" || rows[2][8] != "2027-03-10" {
			t.Errorf("CSV fields: %q", rows[1:])
		}
		if !strings.HasPrefix(rows[2][4], "'=") {
			t.Errorf("a subject starting with = is not defused: %q", rows[2][4])
		}
		pdfData := readAll(t, g, General, "2027-03-14", "pdf")
		if !bytes.HasPrefix(pdfData, []byte("%PDF-")) || x.PDFSHA256 != sum(pdfData) || x.CSVSHA256 != sum(csvData) {
			t.Fatal("the files are not those recorded")
		}
		// Idempotent: exported again, by this process or another, the
		// record and the files stay; rendered again, the PDF is the same.
		other := &Registry{DB: d, Dir: g.Dir, Now: c.now, Town: g.Town}
		y, err := other.ExportDay(ctx, General, "2027-03-14")
		if err != nil || y != x {
			t.Fatalf("second export: %+v, %v", y, err)
		}
		entries, err := g.Day(ctx, General, "2027-03-14")
		if err != nil {
			t.Fatal(err)
		}
		again, err := dailyPDF("Comune di Cinisello Balsamo", x, entries, rome(2027, 3, 15, 0, 0, 0))
		if err != nil || !bytes.Equal(again, pdfData) {
			t.Fatalf("the same day renders another PDF (%v)", err)
		}
		list, total, err := g.Exports(ctx, General, 50, 0)
		if err != nil || total != 1 || len(list) != 1 || list[0] != x {
			t.Fatalf("Exports: %+v %d %v", list, total, err)
		}
	})
}

// The daily job exports every day that is over, empty days too, once.
func TestExportDue(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := &clock{t: rome(2027, 12, 30, 10, 0, 0)}
		g := newRegistry(t, d, c)
		register(t, g, entry("30 dicembre"))
		c.set(rome(2028, 1, 2, 11, 0, 0))
		register(t, g, entry("2 gennaio"))
		c.set(rome(2028, 1, 4, 8, 0, 0))
		n, err := g.ExportDue(ctx)
		if err != nil || n != 5 {
			t.Fatalf("ExportDue: %d, %v; want 5 days (30 December to 3 January)", n, err)
		}
		for day, want := range map[string]int{"2027-12-30": 1, "2027-12-31": 0, "2028-01-01": 0, "2028-01-02": 1, "2028-01-03": 0} {
			x, ok, err := g.exported(ctx, General, day)
			if err != nil || !ok || x.Entries != want {
				t.Errorf("%s: %+v %v %v", day, x, ok, err)
			}
			if _, err := os.Stat(filepath.Join(g.Dir, General, day[:4], FileName(General, day)+".pdf")); err != nil {
				t.Errorf("%s: %v", day, err)
			}
		}
		x, _, _ := g.exported(ctx, General, "2028-01-02")
		if x.FirstSeq != 1 {
			t.Errorf("the new year's first number: %+v", x)
		}
		if n, err := g.ExportDue(ctx); err != nil || n != 0 {
			t.Fatalf("ExportDue again: %d, %v", n, err)
		}
		c.set(rome(2028, 1, 5, 8, 0, 0))
		if n, err := g.ExportDue(ctx); err != nil || n != 1 {
			t.Fatalf("ExportDue the next day: %d, %v", n, err)
		}
	})
}

// A registration still in flight when its day ends is in that day's
// register: the export waits for it.
func TestExportWaitsForRegistrationsInFlight(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := &clock{t: rome(2027, 6, 1, 23, 59, 59)}
		g := newRegistry(t, d, c)
		registered, commit, committed := make(chan struct{}), make(chan struct{}), make(chan error)
		go func() {
			committed <- d.Tx(ctx, func(tx *sql.Tx) error {
				_, err := g.Register(ctx, tx, entry("all'ultimo secondo"))
				close(registered)
				<-commit
				return err
			})
		}()
		<-registered
		c.set(rome(2027, 6, 2, 0, 1, 0))
		done := make(chan Export)
		go func() {
			x, err := g.ExportDay(ctx, General, "2027-06-01")
			if err != nil {
				t.Error(err)
			}
			done <- x
		}()
		// Give the export the time to read the day if it did not wait.
		time.Sleep(200 * time.Millisecond)
		close(commit)
		if err := <-committed; err != nil {
			t.Fatal(err)
		}
		if x := <-done; x.Entries != 1 {
			t.Fatalf("the daily register missed the registration in flight: %+v", x)
		}
	})
}
