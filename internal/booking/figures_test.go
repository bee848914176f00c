package booking

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// Figures on a hand-counted day: four tickets (served after a wait of 10
// minutes and a service of 12, absent after 30, withdrawn, still waiting)
// and five appointments (served, no-show at 18:30, Saturday, cancelled,
// expired).
func TestFigures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		h, err := everyDay.Hours(hours.Holidays{})
		if err != nil {
			t.Fatal(err)
		}
		h.OpenOnHolidays = true
		wed := func(hh, mm int) time.Time { return time.Date(2026, 11, 25, hh, mm, 0, 0, hours.Rome) }
		now := wed(9, 0)
		s := &Store{DB: d, Now: func() time.Time { return now }}
		o := &Office{ID: "anagrafe", Hours: h}
		var tickets []*Ticket
		var tokens []string
		for range 3 {
			tk, token, err := s.TakeTicket(ctx, o, "cie", ChannelOnline)
			if err != nil {
				t.Fatal(err)
			}
			tickets, tokens = append(tickets, tk), append(tokens, token)
		}
		step := func(at time.Time, f func() error) {
			t.Helper()
			now = at
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		step(wed(9, 10), func() error { _, err := s.CallNext(ctx, o.ID, "1", "op"); return err })
		step(wed(9, 22), func() error { _, err := s.Finish(ctx, o.ID, tickets[0].ID, Served, "op"); return err })
		step(wed(9, 30), func() error { _, err := s.CallNext(ctx, o.ID, "1", "op"); return err })
		step(wed(9, 35), func() error { _, err := s.Finish(ctx, o.ID, tickets[1].ID, Skipped, "op"); return err })
		step(wed(9, 40), func() error { _, err := s.Withdraw(ctx, tokens[2]); return err })
		step(wed(9, 50), func() error { _, _, err := s.TakeTicket(ctx, o, "tari", ChannelKiosk); return err })

		for i, b := range []struct {
			start          time.Time
			state, outcome string
		}{
			{wed(9, 0), "confirmed", "served"},
			{wed(18, 30), "confirmed", "no_show"},
			{time.Date(2026, 11, 28, 10, 0, 0, 0, hours.Rome), "confirmed", ""},
			{wed(11, 0), "cancelled", ""},
			{wed(12, 0), "expired", ""},
		} {
			id := fmt.Sprintf("b%d", i)
			if _, err := d.ExecContext(ctx, `INSERT INTO bookings (id, code, office_id, service_id, start_at, end_at, start_unix, holder, email,
				given_name, family_name, state, link_hash, created_at) VALUES ($1, $2, 'anagrafe', 'cie', $3, $4, $5, 'h', 'a@example.org', 'A', 'B', $6, $7, $8)`,
				id, "C"+id, b.start.UTC(), b.start.Add(20*time.Minute).UTC(), b.start.Unix(), b.state, "hash-"+id, wed(7, 0).UTC()); err != nil {
				t.Fatal(err)
			}
			if b.outcome != "" {
				if err := s.SetOutcome(ctx, id, b.outcome, "op"); err != nil {
					t.Fatal(err)
				}
			}
		}

		f, err := s.Figures(ctx, hours.Date{Year: 2026, Month: 11, Day: 23}, hours.Date{Year: 2026, Month: 11, Day: 29})
		if err != nil {
			t.Fatal(err)
		}
		a := f.All
		if a.Tickets != 4 || a.Served != 1 || a.Skipped != 1 || a.Withdrawn != 1 {
			t.Errorf("tickets %d served %d skipped %d withdrawn %d", a.Tickets, a.Served, a.Skipped, a.Withdrawn)
		}
		if a.WaitMedian != 10*time.Minute || a.WaitP90 != 30*time.Minute || a.ServiceMedian != 12*time.Minute {
			t.Errorf("waits %v / %v, service %v", a.WaitMedian, a.WaitP90, a.ServiceMedian)
		}
		if a.Bookings != 4 || a.Cancelled != 1 || a.BookedServed != 1 || a.NoShow != 1 || a.NoShowRate() != 0.5 {
			t.Errorf("bookings %d cancelled %d served %d no-show %d", a.Bookings, a.Cancelled, a.BookedServed, a.NoShow)
		}
		if a.Outside != 2 || a.OutsideShare() != 2.0/3 || a.ByHour[9] != 1 || a.ByHour[18] != 1 || a.ByHour[10] != 1 || a.ByWeekday[3] != 2 || a.ByWeekday[6] != 1 {
			t.Errorf("outside %d, by hour %v, by weekday %v", a.Outside, a.ByHour, a.ByWeekday)
		}
		if len(f.Offices) != 1 || f.Offices[0].Tickets != 4 || len(f.Services) != 2 || f.Services[1].Key != "tari" || f.Services[1].Tickets != 1 {
			t.Errorf("by office %+v, by service %+v", f.Offices, f.Services)
		}
		// Another week: nothing.
		f, err = s.Figures(ctx, hours.Date{Year: 2026, Month: 11, Day: 30}, hours.Date{Year: 2026, Month: 12, Day: 6})
		if err != nil || f.All.Tickets != 0 || f.All.Bookings != 0 {
			t.Errorf("an empty week: %+v %v", f.All, err)
		}
	})
}

func TestQuantile(t *testing.T) {
	m := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, x := range n {
			out = append(out, time.Duration(x)*time.Minute)
		}
		return out
	}
	for _, c := range []struct {
		in   []time.Duration
		q    float64
		want time.Duration
	}{{nil, 0.5, 0}, {m(5), 0.9, 5 * time.Minute}, {m(4, 1, 3, 2), 0.5, 2 * time.Minute}, {m(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9 * time.Minute}} {
		if got := quantile(c.in, c.q); got != c.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", c.in, c.q, got, c.want)
		}
	}
}

// Reconcile: an exception that closes the office on a morning cancels
// that morning's appointments (and tells the residents), not the others';
// one counter fewer cancels the latest booked of a full slot; an office
// that left the catalogue keeps its bookings.
func TestReconcile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 2)
		day := hours.DateOf(time.Now()).AddDays(2)
		at := func(hh, mm int) time.Time { return day.At(hours.Clock(hh*60 + mm)) }
		book := func(account string, start time.Time) *Booking {
			t.Helper()
			b, _, err := ts.Book(ctx, ts.request(account, start))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		early := book("a", at(9, 0))
		first := book("b", at(15, 0))
		time.Sleep(2 * time.Millisecond)
		second := book("c", at(15, 0))
		other := book("d", at(16, 0))
		reason := func(lang string) string { return "motivo " + lang }
		state := func(b *Booking) State {
			var s State
			if err := d.QueryRowContext(ctx, `SELECT state FROM bookings WHERE id = $1`, b.ID).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}

		// Nothing changed: nothing cancelled.
		dir := NewDirectory([]*Office{{ID: "anagrafe", Hours: ts.grid.Hours}}, nil)
		if n, err := ts.Reconcile(ctx, dir, reason); err != nil || n != 0 {
			t.Fatalf("unchanged: %d %v", n, err)
		}
		// The office closes that morning.
		closed, err := hours.Spec{Week: everyDay.Week, Exceptions: []hours.ExceptionSpec{{Date: day.String(), Hours: []string{"13:00-20:00"}}}}.Hours(hours.Holidays{})
		if err != nil {
			t.Fatal(err)
		}
		closed.OpenOnHolidays = true
		dir = NewDirectory([]*Office{{ID: "anagrafe", Hours: closed}}, nil)
		if n, err := ts.Reconcile(ctx, dir, reason); err != nil || n != 1 || state(early) != Cancelled || state(first) != Confirmed {
			t.Fatalf("a closed morning: %d %v", n, err)
		}
		if last := ts.sent[len(ts.sent)-1]; last.id != early.ID || last.what != "cancelled_by_office" {
			t.Fatalf("the resident was not told: %+v", last)
		}
		// One counter fewer: the 15:00 slot's later booking goes.
		o := ts.offer
		o.Counters = 1
		if err := ts.PutOffer(ctx, o, "op-1", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if n, err := ts.Reconcile(ctx, dir, reason); err != nil || n != 1 || state(second) != Cancelled || state(first) != Confirmed || state(other) != Confirmed {
			t.Fatalf("one counter fewer: %d %v (first %s, second %s)", n, err, state(first), state(second))
		}
		// An office no longer in the catalogue: its bookings stand.
		if n, err := ts.Reconcile(ctx, NewDirectory(nil, nil), reason); err != nil || n != 0 {
			t.Fatalf("an office gone: %d %v", n, err)
		}
	})
}

// The queue's bounds against tickets nobody holds and codes others know:
// at most MaxOnlineWaiting online tickets wait at an office (the kiosk's
// still come), a withdrawn check-in comes back with the next check-in,
// and one client holds at most MaxDisplaysPerClient live connections.
func TestQueueBounds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 2)
		now := hours.DateOf(time.Now()).AddDays(1).At(9 * 60)
		ts.Now = func() time.Time { return now }
		o := &Office{ID: "anagrafe", Hours: ts.grid.Hours}
		for range MaxOnlineWaiting {
			if _, _, err := ts.TakeTicket(ctx, o, "carta-identita", ChannelOnline); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := ts.TakeTicket(ctx, o, "carta-identita", ChannelOnline); !errors.Is(err, ErrTooManyOnline) {
			t.Fatalf("one online ticket too many: %v", err)
		}
		if _, _, err := ts.TakeTicket(ctx, o, "carta-identita", ChannelKiosk); err != nil {
			t.Fatalf("the kiosk: %v", err)
		}

		b, _, err := ts.Book(ctx, ts.request("acc-1", now.Add(20*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		tk, token, err := ts.CheckIn(ctx, "anagrafe", b.Code)
		if err != nil || token == "" {
			t.Fatalf("check in: %v", err)
		}
		if _, err := ts.Withdraw(ctx, token); err != nil {
			t.Fatal(err)
		}
		again, token2, err := ts.CheckIn(ctx, "anagrafe", b.Code)
		if err != nil || token2 == "" || token2 == token || again.ID != tk.ID || again.State != Waiting {
			t.Fatalf("checking in after a withdrawal: %+v %q %v", again, token2, err)
		}
		if _, err := ts.TicketByToken(ctx, token); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the withdrawn link still works: %v", err)
		}
		if _, third, err := ts.CheckIn(ctx, "anagrafe", b.Code); err != nil || third != "" {
			t.Fatalf("a third check-in of a waiting ticket gave a link: %q %v", third, err)
		}
	})
	for range MaxDisplaysPerClient {
		if !holdDisplay("192.0.2.1") {
			t.Fatal("a client's first connections refused")
		}
	}
	if holdDisplay("192.0.2.1") || !holdDisplay("192.0.2.2") {
		t.Fatal("the per-client bound")
	}
	for range MaxDisplaysPerClient {
		releaseDisplay("192.0.2.1")
	}
	releaseDisplay("192.0.2.2")
	if displays != 0 || len(displayClients) != 0 {
		t.Fatalf("left held: %d %v", displays, displayClients)
	}
}
