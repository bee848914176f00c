package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func waitOf(err error) time.Duration {
	var r *Refused
	if errors.As(err, &r) {
		return r.Wait
	}
	return 0
}

func TestBackoffAndLock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
		l := &Limiter{DB: d, Now: c.now}
		k := Key{Name: "login:pair:a@example.org|203.0.113.5", Rule: Rule{Free: 3, Window: 15 * time.Minute, Backoff: true, MaxDelay: 5 * time.Minute, LockAt: 6, LockFor: 15 * time.Minute}}
		for i := range 3 {
			if err := l.Take(ctx, nil, k); err != nil {
				t.Fatalf("free attempt %d refused: %v", i+1, err)
			}
		}
		// The fourth waits a second after the third, the fifth two seconds.
		if w := waitOf(l.Take(ctx, nil, k)); w != time.Second {
			t.Fatalf("fourth attempt at once: wait %v, want 1s", w)
		}
		c.add(time.Second)
		if err := l.Take(ctx, nil, k); err != nil {
			t.Fatalf("fourth attempt after 1s: %v", err)
		}
		if w := waitOf(l.Take(ctx, nil, k)); w != 2*time.Second {
			t.Fatalf("fifth attempt at once: wait %v, want 2s", w)
		}
		c.add(2 * time.Second)
		if err := l.Take(ctx, nil, k); err != nil {
			t.Fatal(err)
		}
		// The sixth attempt reaches LockAt: a lock of 15 minutes follows.
		c.add(4 * time.Second)
		if err := l.Take(ctx, nil, k); err != nil {
			t.Fatal(err)
		}
		if w := waitOf(l.Take(ctx, nil, k)); w != 15*time.Minute {
			t.Fatalf("after the lock: wait %v, want 15m", w)
		}
		// Giving back the attempt that caused the lock lifts it.
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return l.Give(ctx, tx, k) }); err != nil {
			t.Fatal(err)
		}
		if w := waitOf(l.Take(ctx, nil, k)); w == 0 || w == 15*time.Minute {
			t.Fatalf("after giving back: wait %v, want the backoff's", w)
		}
		// A new window starts afresh.
		c.add(16 * time.Minute)
		for range 3 {
			if err := l.Take(ctx, nil, k); err != nil {
				t.Fatalf("new window: %v", err)
			}
		}
		// Sweep keeps live budgets and forgets spent ones.
		if err := l.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if w := waitOf(l.Take(ctx, nil, k)); w == 0 {
			t.Fatal("sweep forgot a live budget")
		}
		c.add(time.Hour)
		if err := l.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM throttle`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after the sweep %d rows (%v)", n, err)
		}
	})
}

// A budget without backoff is spent until its window ends, and a request
// drawing on several budgets takes from all of them or from none.
func TestBudgetsAreAllOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
		l := &Limiter{DB: d, Now: c.now}
		perAddress := Key{Name: "mail:to:a@example.org", Rule: Rule{Free: 1, Window: time.Hour}}
		perClient := Key{Name: "mail:client:203.0.113.5", Rule: Rule{Free: 3, Window: time.Hour}}
		if err := l.Take(ctx, nil, perAddress, perClient); err != nil {
			t.Fatal(err)
		}
		if w := waitOf(l.Take(ctx, nil, perAddress, perClient)); w != time.Hour {
			t.Fatalf("second mail to the same address: wait %v, want 1h", w)
		}
		// The refused request took nothing from the client's budget: two
		// more mails to other addresses still go.
		for _, to := range []string{"b@example.org", "c@example.org"} {
			if err := l.Take(ctx, nil, Key{Name: "mail:to:" + to, Rule: perAddress.Rule}, perClient); err != nil {
				t.Fatalf("mail to %s: %v", to, err)
			}
		}
		if err := l.Take(ctx, nil, Key{Name: "mail:to:d@example.org", Rule: perAddress.Rule}, perClient); !errors.Is(err, ErrRefused) {
			t.Fatalf("fourth mail from one client: %v", err)
		}
		c.add(30 * time.Minute)
		if w := waitOf(l.Take(ctx, nil, perClient)); w != 30*time.Minute {
			t.Fatalf("half-way through the window: wait %v, want 30m", w)
		}
	})
}

// Parallel attempts cannot slip past a budget: of 40 at once against a
// budget of 3, exactly 3 go ahead, on either database.
func TestParallelAttemptsCannotRaceTheBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &Limiter{DB: d}
		k := Key{Name: "login:pair:victim@example.org|198.51.100.9", Rule: Rule{Free: 3, Window: 15 * time.Minute, Backoff: true, LockAt: 10, LockFor: 15 * time.Minute}}
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed, refused := 0, 0
		for range 40 {
			wg.Go(func() {
				err := l.Take(ctx, nil, k)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					allowed++
				case errors.Is(err, ErrRefused):
					refused++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if allowed != 3 || refused != 37 {
			t.Fatalf("%d allowed and %d refused, want 3 and 37", allowed, refused)
		}
	})
}

func TestClientGroupsIPv6ByPrefix(t *testing.T) {
	for addr, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"::ffff:203.0.113.7":   "203.0.113.7",
		"2001:db8:1:2::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"2001:db8:1:3:0:0:0:1": "2001:db8:1:3::/64",
		"unknown":              "unknown",
	} {
		if got := Client(addr); got != want {
			t.Errorf("Client(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestClientKeyChargesTheSlash48(t *testing.T) {
	v4 := ClientKey("mail:client:", "203.0.113.7", "", Rule{Free: 2, Window: time.Hour})
	if v4.Name != "mail:client:203.0.113.7" || v4.network != "" {
		t.Errorf("IPv4 key %+v: want its address alone", v4)
	}
	v6 := ClientKey("rating:page:", "2001:db8:77:1::9", " /x", Rule{Free: 2, Window: time.Hour, LockAt: 3})
	if v6.Name != "rating:page:2001:db8:77:1::/64 /x" || v6.network != "rating:page:2001:db8:77::/48 /x" {
		t.Errorf("IPv6 key %+v: want the /64 and its /48", v6)
	}
	if r := v6.networkKey().Rule; r.Free != 20 || r.LockAt != 30 || r.Window != time.Hour {
		t.Errorf("the /48's rule %+v: want ten clients' worth", r)
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		l := &Limiter{DB: d}
		rule := Rule{Free: 2, Window: time.Hour}
		// Ten /64s of one /48 spend its budget (2 each, 20 in all); an
		// eleventh /64 is refused though its own budget is whole, and the
		// refusal names its own key and records nothing.
		for i := range 10 {
			for range 2 {
				if err := l.Take(ctx, nil, ClientKey("mail:client:", fmt.Sprintf("2001:db8:77:%x::1", i), "", rule)); err != nil {
					t.Fatalf("/64 number %d: %v", i, err)
				}
			}
		}
		eleventh := ClientKey("mail:client:", "2001:db8:77:ff::1", "", rule)
		var r *Refused
		if err := l.Take(ctx, nil, eleventh); !errors.As(err, &r) || r.Key != eleventh.Name {
			t.Fatalf("an eleventh /64 of the /48: %v, want refused by its /48", err)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM throttle WHERE key_hash = $1`, l.hashKey(eleventh.Name)).Scan(&n); err != nil || n != 0 {
			t.Errorf("the refused /64's own budget: %d (%v), want nothing drawn", n, err)
		}
		// Giving back returns an attempt to the /48 too.
		if err := d.Tx(ctx, func(tx *sql.Tx) error {
			return l.Give(ctx, tx, ClientKey("mail:client:", "2001:db8:77:0::1", "", rule))
		}); err != nil {
			t.Fatal(err)
		}
		if err := l.Take(ctx, nil, eleventh); err != nil {
			t.Errorf("after one attempt given back: %v", err)
		}
		// Another /48 and IPv4 addresses are not concerned.
		if err := l.Take(ctx, nil, ClientKey("mail:client:", "2001:db8:78::1", "", rule)); err != nil {
			t.Errorf("another /48: %v", err)
		}
		for i := range 30 {
			if err := l.Take(ctx, nil, ClientKey("mail:client:", fmt.Sprintf("203.0.113.%d", i), "", rule)); err != nil {
				t.Fatalf("IPv4 address %d: %v", i, err)
			}
		}
	})
}

// A refusal is a problem.Throttled with its wait, wrapped or not.
func TestRefusedIsAProblem(t *testing.T) {
	for _, err := range []error{&Refused{Wait: 90 * time.Second, Key: "k"}, fmt.Errorf("booking: %w", &Refused{Wait: 90 * time.Second})} {
		var p *problem.Error
		if problem.KindOf(err) != problem.Throttled || !errors.As(err, &p) || p.Retry != 90*time.Second {
			t.Fatalf("%v: kind %v, %+v", err, problem.KindOf(err), p)
		}
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("%v is not ErrRefused", err)
		}
	}
}
