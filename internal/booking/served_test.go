package booking

import (
	"context"
	"database/sql"
	"fmt"
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
		for _, sex := range []string{"F", "", "X"} {
			tk, _, err := s.TakeTicket(ctx, o, "cie", ChannelOnline, sex)
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
		if list[0].Sex != "F" {
			t.Errorf("the first ticket's sex: %q, want F as taken", list[0].Sex)
		}
		if list, err := s.Served(ctx, wed(11, 0), wed(12, 0)); err != nil || len(list) != 1 || list[0].Wait != 100*time.Minute || list[0].Sex != "" {
			t.Fatalf("served from 11:00: %+v, %v; want one, waited 100 minutes, sex unknown (X is no sex)", list, err)
		}
	})
}

// Kept gives the dashboard the appointments that started in a window and
// still stood (confirmed), each with the booker's sex and the calendar
// days (Rome) from the booking to its day: one booked at 23:30 UTC is
// booked the next day in Rome; a cancelled, an expired or a pending one,
// or one outside the window, is not among them.
func TestKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &Store{DB: d}
		day := func(m time.Month, dd, hh int) time.Time { return time.Date(2026, m, dd, hh, 0, 0, 0, hours.Rome) }
		for i, b := range []struct {
			start, created time.Time
			state, sex     string
		}{
			{day(11, 25, 9), day(11, 25, 8), "confirmed", "F"},                                   // same day
			{day(11, 25, 10), time.Date(2026, 11, 10, 23, 30, 0, 0, time.UTC), "confirmed", "M"}, // 11 November in Rome: 14 days
			{day(11, 25, 11), day(10, 1, 12), "confirmed", ""},                                   // 55 days
			{day(11, 25, 12), day(11, 20, 9), "cancelled", "F"},
			{day(11, 25, 13), day(11, 20, 9), "expired", ""},
			{day(11, 25, 14), day(11, 24, 9), "pending", ""},
			{day(11, 26, 9), day(11, 20, 9), "confirmed", "F"}, // after the window
		} {
			id := fmt.Sprintf("k%d", i)
			if _, err := d.ExecContext(ctx, `INSERT INTO bookings (id, code, office_id, service_id, start_at, end_at, start_unix, holder, email,
				given_name, family_name, state, link_hash, created_at, sex) VALUES ($1, $2, 'anagrafe', 'cie', $3, $4, $5, 'h', 'a@example.org', 'A', 'B', $6, $7, $8, $9)`,
				id, "C"+id, b.start.UTC(), b.start.Add(20*time.Minute).UTC(), b.start.Unix(), b.state, "hash-"+id, b.created.UTC(), b.sex); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.Kept(ctx, day(11, 25, 0), day(11, 26, 0))
		if err != nil || len(list) != 3 {
			t.Fatalf("kept on 25 November: %+v, %v; want three", list, err)
		}
		for i, want := range []KeptAppointment{{day(11, 25, 9), "cie", "F", 0}, {day(11, 25, 10), "cie", "M", 14}, {day(11, 25, 11), "cie", "", 55}} {
			if got := list[i]; !got.At.Equal(want.At) || got.Service != want.Service || got.Sex != want.Sex || got.Days != want.Days {
				t.Errorf("appointment %d: %+v, want %+v", i, got, want)
			}
		}
	})
}

// A checked-in ticket waits as its booker: the booking's recorded sex,
// served to the dashboard; when the booker closes their account the
// ticket forgets it with the booking's other data.
func TestServedCheckInTakesTheBookingsSex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		wed := func(hh, mm int) time.Time { return time.Date(2026, 11, 25, hh, mm, 0, 0, hours.Rome) }
		now := wed(9, 0)
		s := &Store{DB: d, Now: func() time.Time { return now }}
		start := wed(9, 30)
		if _, err := d.ExecContext(ctx, `INSERT INTO bookings (id, code, office_id, service_id, start_at, end_at, start_unix, holder, email,
			given_name, family_name, state, link_hash, created_at, sex, account_id) VALUES ('b1', 'CB1', 'anagrafe', 'cie', $1, $2, $3, 'h', 'a@example.org',
			'A', 'B', 'confirmed', 'hash-b1', $4, 'M', 'acc-1')`, start.UTC(), start.Add(20*time.Minute).UTC(), start.Unix(), wed(8, 0).UTC()); err != nil {
			t.Fatal(err)
		}
		tk, _, err := s.CheckIn(ctx, "anagrafe", "CB1")
		if err != nil {
			t.Fatal(err)
		}
		now = wed(9, 10)
		if _, err := s.CallNext(ctx, "anagrafe", "1", "op"); err != nil {
			t.Fatal(err)
		}
		now = wed(9, 20)
		if _, err := s.Finish(ctx, "anagrafe", tk.ID, Served, "op"); err != nil {
			t.Fatal(err)
		}
		if list, err := s.Served(ctx, wed(9, 0), wed(10, 0)); err != nil || len(list) != 1 || list[0].Sex != "M" || list[0].Wait != 10*time.Minute {
			t.Fatalf("served: %+v, %v; want the check-in, sex M, waited 10 minutes", list, err)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return s.Erase(ctx, tx, "acc-1") }); err != nil {
			t.Fatal(err)
		}
		if list, err := s.Served(ctx, wed(9, 0), wed(10, 0)); err != nil || len(list) != 1 || list[0].Sex != "" {
			t.Fatalf("served after the account closed: %+v, %v; want the ticket without a sex", list, err)
		}
	})
}

// A ticket's sex is cleared SexKeptFor after it was taken, long after the
// dashboard counted it; a younger one keeps it.
func TestForgetSexes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		h, err := everyDay.Hours(hours.Holidays{})
		if err != nil {
			t.Fatal(err)
		}
		h.OpenOnHolidays = true
		now := time.Date(2026, 11, 25, 9, 0, 0, 0, hours.Rome)
		s := &Store{DB: d, Now: func() time.Time { return now }}
		o := &Office{ID: "anagrafe", Hours: h}
		old, _, err := s.TakeTicket(ctx, o, "cie", ChannelOnline, "F")
		if err != nil {
			t.Fatal(err)
		}
		now = now.AddDate(0, 0, 30)
		young, _, err := s.TakeTicket(ctx, o, "cie", ChannelOnline, "M")
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.ForgetSexes(ctx, old.TakenAt.Add(SexKeptFor+time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("cleared %d, %v; want the older one", n, err)
		}
		for id, want := range map[string]string{old.ID: "", young.ID: "M"} {
			var sex string
			if err := d.QueryRowContext(ctx, `SELECT sex FROM queue_tickets WHERE id = $1`, id).Scan(&sex); err != nil || sex != want {
				t.Errorf("ticket %s: %q, %v; want %q", id, sex, err, want)
			}
		}
	})
}
