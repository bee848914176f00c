package booking

import (
	"context"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// Served gives the dashboard the tickets served in a window (by the time
// they were done), each with its wait from being taken to its call; a
// skipped ticket, or one done outside the window, is not among them.
func TestServed(t *testing.T) {
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
		for range 3 {
			tk, _, err := s.TakeTicket(ctx, o, "cie", ChannelOnline)
			if err != nil {
				t.Fatal(err)
			}
			tickets = append(tickets, tk)
		}
		step := func(at time.Time, f func() error) {
			t.Helper()
			now = at
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		step(wed(9, 12), func() error { _, err := s.CallNext(ctx, o.ID, "1", "op"); return err })
		step(wed(9, 22), func() error { _, err := s.Finish(ctx, o.ID, tickets[0].ID, Served, "op"); return err })
		step(wed(9, 30), func() error { _, err := s.CallNext(ctx, o.ID, "1", "op"); return err })
		step(wed(9, 35), func() error { _, err := s.Finish(ctx, o.ID, tickets[1].ID, Skipped, "op"); return err })
		step(wed(10, 40), func() error { _, err := s.CallNext(ctx, o.ID, "1", "op"); return err })
		step(wed(11, 5), func() error { _, err := s.Finish(ctx, o.ID, tickets[2].ID, Served, "op"); return err })
		list, err := s.Served(ctx, wed(9, 0), wed(11, 0))
		if err != nil || len(list) != 1 || list[0].Wait != 12*time.Minute || list[0].Service != "cie" || !list[0].At.Equal(wed(9, 22)) {
			t.Fatalf("served from 9:00 to 11:00: %+v, %v; want one, waited 12 minutes, done at 9:22", list, err)
		}
		if list, err := s.Served(ctx, wed(11, 0), wed(12, 0)); err != nil || len(list) != 1 || list[0].Wait != 100*time.Minute {
			t.Fatalf("served from 11:00: %+v, %v; want one, waited 100 minutes", list, err)
		}
	})
}
