package protocol

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func rome(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, hours.Rome)
}

func entry(subject string) Entry {
	return Entry{Direction: In, Subject: subject, Correspondent: "Mario Rossi", Ref: "test:" + subject, By: "system:test"}
}

// register records e in a transaction of its own and commits it.
func register(t testing.TB, g *Registry, e Entry) Number {
	t.Helper()
	var n Number
	err := g.DB.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		n, err = g.Register(context.Background(), tx, e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNumberIsYearAndSevenDigits(t *testing.T) {
	for _, c := range []struct {
		n    Number
		want string
	}{
		{Number{Year: 2027, Seq: 123}, "2027/0000123"},
		{Number{Year: 2027, Seq: 1}, "2027/0000001"},
		{Number{Year: 2027, Seq: 12345678}, "2027/12345678"},
		{Number{}, ""},
	} {
		if got := c.n.String(); got != c.want {
			t.Errorf("%+v = %q, want %q", c.n, got, c.want)
		}
		if c.want == "" {
			continue
		}
		back, err := ParseNumber("", c.want)
		if err != nil || back.Year != c.n.Year || back.Seq != c.n.Seq || back.Register != General {
			t.Errorf("ParseNumber(%q) = %+v, %v", c.want, back, err)
		}
	}
	for _, bad := range []string{"2027/123", "27/0000123", "2027-0000123", "2027/0000000", "", "2027/00001x3"} {
		if _, err := ParseNumber("", bad); err == nil {
			t.Errorf("ParseNumber(%q) accepted", bad)
		}
	}
}

// 1,000 registrations at once, from two handles (two processes sharing the
// database), interleaved with registrations whose transactions roll back:
// the committed ones get 1..1000, each once.
func TestConcurrentRegistrationsAreConsecutive(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			handles := dbtest.Handles(t, dialect, 2)
			const n, rollbacks = 1000, 150
			errRollback := errors.New("the caller changed its mind")
			var mu sync.Mutex
			var got []int64
			var wg sync.WaitGroup
			errs := make(chan error, n+rollbacks)
			for i := range n + rollbacks {
				wg.Go(func() {
					g := &Registry{DB: handles[i%2]}
					rollback := i%((n+rollbacks)/rollbacks) == 3
					var num Number
					err := g.DB.Tx(context.Background(), func(tx *sql.Tx) error {
						var err error
						if num, err = g.Register(context.Background(), tx, entry(fmt.Sprint("domanda ", i))); err != nil {
							return err
						}
						if rollback {
							return errRollback
						}
						return nil
					})
					switch {
					case rollback && errors.Is(err, errRollback):
					case err != nil:
						errs <- err
					default:
						mu.Lock()
						got = append(got, num.Seq)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			slices.Sort(got)
			committed := len(got)
			if committed < n-rollbacks {
				t.Fatalf("only %d registrations committed", committed)
			}
			for i, seq := range got {
				if seq != int64(i+1) {
					t.Fatalf("committed numbers are not 1..%d: position %d holds %d", committed, i, seq)
				}
			}
			// The next registration continues right after.
			g := &Registry{DB: handles[0]}
			if next := register(t, g, entry("dopo")); next.Seq != int64(committed+1) {
				t.Fatalf("next number %d, want %d", next.Seq, committed+1)
			}
			var rows int
			if err := handles[1].QueryRowContext(context.Background(), `SELECT COUNT(*) FROM protocol_entries`).Scan(&rows); err != nil || rows != committed+1 {
				t.Fatalf("%d entries stored (%v), want %d", rows, err, committed+1)
			}
		})
	}
}

func TestYearChangeRestartsAtOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		c := &clock{t: rome(2026, 12, 31, 23, 59, 0)}
		g := &Registry{DB: d, Now: c.now}
		for i := 1; i <= 3; i++ {
			if n := register(t, g, entry("dicembre")); n.String() != fmt.Sprintf("2026/%07d", i) {
				t.Fatalf("December registration %d: %s", i, n)
			}
		}
		// 00:30 in Rome is still 31 December in UTC: the year is Rome's.
		c.set(rome(2027, 1, 1, 0, 30, 0))
		n := register(t, g, entry("gennaio"))
		if n.String() != "2027/0000001" {
			t.Fatalf("first registration of the year: %s", n)
		}
		x, err := g.Get(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		if x.Day != "2027-01-01" || !x.RegisteredAt.Equal(rome(2027, 1, 1, 0, 30, 0)) {
			t.Errorf("registered %v on %s", x.RegisteredAt, x.Day)
		}
		// Another register counts on its own.
		e := entry("altro")
		e.Register = "polizia-locale"
		if n := register(t, g, e); n.String() != "2027/0000001" || n.Register != "polizia-locale" {
			t.Errorf("first of another register: %+v", n)
		}
		if n := register(t, g, entry("gennaio 2")); n.String() != "2027/0000002" {
			t.Errorf("second of the year: %s", n)
		}
	})
}

func TestEntriesAreImmutableAndCorrectedByNewEntries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		g := &Registry{DB: d}
		e := entry("Richiesta di accesso agli atti")
		e.DocNumber, e.DocDate, e.DocSHA256 = "prot. 45", "2026-12-01", strings.Repeat("ab", 32)
		first := register(t, g, e)
		for _, stmt := range []string{`UPDATE protocol_entries SET subject = 'altro'`, `DELETE FROM protocol_entries`} {
			if _, err := d.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "cannot be changed or removed") {
				t.Errorf("%s: %v", stmt, err)
			}
		}
		x, err := g.Get(ctx, first)
		if err != nil || x.Subject != "Richiesta di accesso agli atti" || x.DocSHA256 != strings.Repeat("ab", 32) || x.DocDate != "2026-12-01" {
			t.Fatalf("the entry changed: %+v, %v", x, err)
		}
		fix := entry("Richiesta di accesso agli atti (oggetto corretto)")
		fix.Corrects = first
		second := register(t, g, fix)
		y, err := g.Get(ctx, second)
		if err != nil || y.Corrects != first || second.Seq != first.Seq+1 {
			t.Fatalf("correction: %+v, %v", y, err)
		}
		list, err := g.ByRef(ctx, e.Ref)
		if err != nil || len(list) != 1 || list[0].Number != first {
			t.Fatalf("ByRef: %+v, %v", list, err)
		}
		if _, err := g.Get(ctx, Number{Year: 2001, Seq: 1}); !errors.Is(err, problem.ErrNotFound) {
			t.Errorf("an unknown number: %v", err)
		}
	})
}

func TestInvalidEntriesTakeNoNumber(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		g := &Registry{DB: d}
		bad := map[string]func(*Entry){
			"no subject":       func(e *Entry) { e.Subject = "  " },
			"no correspondent": func(e *Entry) { e.Correspondent = "" },
			"no author":        func(e *Entry) { e.By = "" },
			"direction":        func(e *Entry) { e.Direction = "sideways" },
			"register":         func(e *Entry) { e.Register = "Generale!" },
			"doc date":         func(e *Entry) { e.DocDate = "01/12/2026" },
			"fingerprint":      func(e *Entry) { e.DocSHA256 = "abc" },
			"control":          func(e *Entry) { e.Ref = "a\x00b" },
			"long subject":     func(e *Entry) { e.Subject = strings.Repeat("à", maxSubject+1) },
			"corrects unknown": func(e *Entry) { e.Corrects = Number{Year: 2026, Seq: 99} },
			"corrects other":   func(e *Entry) { e.Corrects = Number{Register: "altro", Year: 2026, Seq: 1} },
		}
		for name, spoil := range bad {
			e := entry(name)
			spoil(&e)
			err := d.Tx(context.Background(), func(tx *sql.Tx) error {
				_, err := g.Register(context.Background(), tx, e)
				return err
			})
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, problem.ErrInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if n := register(t, g, entry("valida")); n.Seq != 1 {
			t.Errorf("the first valid entry got %s", n)
		}
	})
}

func BenchmarkRegister(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			var d *db.DB
			if dialect == db.SQLite {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.Postgres(b)
			}
			g := &Registry{DB: d}
			e := entry("Domanda di contrassegno per disabili")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := d.Tx(context.Background(), func(tx *sql.Tx) error {
						_, err := g.Register(context.Background(), tx, e)
						return err
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
		})
	}
}
