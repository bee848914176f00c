package booking

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/web"
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
			tk, token, err := s.TakeTicket(ctx, o, "cie", ChannelOnline, "")
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
		step(wed(9, 50), func() error { _, _, err := s.TakeTicket(ctx, o, "tari", ChannelKiosk, ""); return err })

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

// Reconcile: an exception that closes the office on a morning moves
// that morning's appointment to the day's nearest free slot (and tells the
// resident), not the others; one counter fewer moves the latest booked of
// a full slot (a tie of distance to the later slot); an office that left
// the catalogue keeps its bookings.
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
		read := func(b *Booking) *Booking {
			t.Helper()
			got, err := scan(d.QueryRowContext(ctx, `SELECT `+columns+` FROM bookings WHERE id = $1`, b.ID))
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		taken := func(start time.Time) int {
			t.Helper()
			m, err := ts.Taken(ctx, "anagrafe", "carta-identita", start, start.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			return m[Key(start)]
		}

		// Nothing changed: nothing moved.
		dir := NewDirectory([]*Office{{ID: "anagrafe", Hours: ts.grid.Hours}}, nil)
		if n, err := ts.Reconcile(ctx, dir, reason); err != nil || n.Total() != 0 {
			t.Fatalf("unchanged: %+v %v", n, err)
		}
		// The office closes that morning: 09:00 goes to 13:00, the day's
		// nearest free slot, in place (same code, same link).
		closed, err := hours.Spec{Week: everyDay.Week, Exceptions: []hours.ExceptionSpec{{Date: day.String(), Hours: []string{"13:00-20:00"}}}}.Hours(hours.Holidays{})
		if err != nil {
			t.Fatal(err)
		}
		closed.OpenOnHolidays = true
		dir = NewDirectory([]*Office{{ID: "anagrafe", Hours: closed}}, nil)
		if n, err := ts.Reconcile(ctx, dir, reason); err != nil || n != (Reconciled{Moved: 1}) {
			t.Fatalf("a closed morning: %+v %v", n, err)
		}
		if got := read(early); got.State != Confirmed || !got.Start.Equal(at(13, 0)) || !got.End.Equal(at(13, 20)) || got.Code != early.Code {
			t.Fatalf("the closed morning's appointment: %+v", got)
		}
		if got := read(first); got.State != Confirmed || !got.Start.Equal(at(15, 0)) {
			t.Fatalf("an afternoon appointment changed: %+v", got)
		}
		if taken(at(9, 0)) != 0 || taken(at(13, 0)) != 1 {
			t.Fatalf("places: 09:00 %d, 13:00 %d", taken(at(9, 0)), taken(at(13, 0)))
		}
		if last := ts.sent[len(ts.sent)-1]; last.id != early.ID || last.what != "moved_by_office" {
			t.Fatalf("the resident was not told: %+v", last)
		}
		var audited int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'booking.move' AND subject = $1`, "booking:"+early.ID).Scan(&audited); err != nil || audited != 1 {
			t.Fatalf("audit of the move: %d %v", audited, err)
		}
		// One counter fewer: the 15:00 slot's later booking goes to 15:20
		// (as near as 14:40, and later).
		o := ts.offer
		o.Counters = 1
		if err := ts.PutOffer(ctx, o, "op-1", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if n, err := ts.Reconcile(ctx, dir, reason); err != nil || n != (Reconciled{Moved: 1}) {
			t.Fatalf("one counter fewer: %+v %v", n, err)
		}
		if got := read(second); got.State != Confirmed || !got.Start.Equal(at(15, 20)) {
			t.Fatalf("the later booking of the full slot: %+v", got)
		}
		if read(first).State != Confirmed || read(other).State != Confirmed || !read(other).Start.Equal(at(16, 0)) {
			t.Fatal("another appointment changed")
		}
		if taken(at(15, 0)) != 1 || taken(at(15, 20)) != 1 {
			t.Fatalf("places: 15:00 %d, 15:20 %d", taken(at(15, 0)), taken(at(15, 20)))
		}
		// Stable: a second run finds nothing.
		if n, err := ts.Reconcile(ctx, dir, reason); err != nil || n.Total() != 0 {
			t.Fatalf("a second run: %+v %v", n, err)
		}
		// An office no longer in the catalogue: its bookings stand.
		if n, err := ts.Reconcile(ctx, NewDirectory(nil, nil), reason); err != nil || n.Total() != 0 {
			t.Fatalf("an office gone: %+v %v", n, err)
		}
	})
}

// The list of displaced appointments is read before their transactions:
// an appointment beyond its slot's places when the list was read, whose
// slot has room again when its transaction comes (another resident
// cancelled meanwhile), stays where it is.
func TestReconcileRechecksTheSlot(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 2)
		day := hours.DateOf(time.Now()).AddDays(2)
		at := day.At(hours.Clock(15 * 60))
		var booked []*Booking
		for _, acc := range []string{"b", "c"} {
			b, _, err := ts.Book(ctx, ts.request(acc, at))
			if err != nil {
				t.Fatal(err)
			}
			booked = append(booked, b)
			time.Sleep(2 * time.Millisecond)
		}
		o := ts.offer
		o.Counters = 1
		if err := ts.PutOffer(ctx, o, "op-1", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		office := &Office{ID: "anagrafe", Hours: ts.grid.Hours}
		list, err := ts.displaced(ctx, NewDirectory([]*Office{office}, nil), map[[2]string]Offer{{o.OfficeID, o.ServiceID}: o}, time.Now())
		if err != nil || len(list) != 1 || list[0].ID != booked[1].ID || list[0].Counters != 1 {
			t.Fatalf("displaced: %+v %v", list, err)
		}
		cands, err := ts.candidates(ctx, list[0].Booking, office, o, time.Now())
		if err != nil || len(cands) == 0 {
			t.Fatalf("candidates: %+v %v", cands, err)
		}
		if _, err := ts.Cancel(ctx, booked[0].ID, "b", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		letters, err := ts.letters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if moved, err := ts.displace(ctx, list[0], cands, letters, "uno sportello in meno"); moved || !errors.Is(err, errFitsAgain) {
			t.Fatalf("an appointment whose slot has room again: moved %v, %v", moved, err)
		}
		got, err := scan(d.QueryRowContext(ctx, `SELECT `+columns+` FROM bookings WHERE id = $1`, booked[1].ID))
		if err != nil || got.State != Confirmed || !got.Start.Equal(at) {
			t.Fatalf("the appointment: %+v %v", got, err)
		}
		taken, err := ts.Taken(ctx, "anagrafe", "carta-identita", at, at.Add(time.Second))
		if err != nil || taken[Key(at)] != 1 {
			t.Fatalf("15:00 holds %v %v", taken, err)
		}
	})
}

// Two displaced appointments compete for the one free slot within the
// horizon, with two runs of the job at once: one is moved there, the
// other cancelled (and told), the slot holds one, the old slots none.
// The move goes to the next day when its day has no room, and an
// appointment whose offer is gone is cancelled.
func TestReconcileCompetes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		day := hours.DateOf(time.Now()).AddDays(2)
		at := func(dd, hh, mm int) time.Time { return day.AddDays(dd).At(hours.Clock(hh*60 + mm)) }
		spec := func(exc ...hours.ExceptionSpec) *hours.Hours {
			t.Helper()
			// Closed every day of the horizon but what exc opens.
			var all []hours.ExceptionSpec
			for i := -3; i <= MoveHorizon+3; i++ {
				e := hours.ExceptionSpec{Date: day.AddDays(i).String(), Closed: true}
				for _, x := range exc {
					if x.Date == e.Date {
						e = x
					}
				}
				all = append(all, e)
			}
			h, err := hours.Spec{Week: everyDay.Week, Exceptions: all}.Hours(hours.Holidays{})
			if err != nil {
				t.Fatal(err)
			}
			h.OpenOnHolidays = true
			return h
		}
		everyDayHours := ts.grid.Hours
		ts.grid.Hours = spec(hours.ExceptionSpec{Date: day.String(), Hours: []string{"09:00-09:40"}})
		a, _, err := ts.Book(ctx, ts.request("a", at(0, 9, 0)))
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := ts.Book(ctx, ts.request("b", at(0, 9, 20)))
		if err != nil {
			t.Fatal(err)
		}
		// The morning closes; one slot opens the day after.
		after := spec(hours.ExceptionSpec{Date: day.AddDays(1).String(), Hours: []string{"10:00-10:20"}})
		dir := NewDirectory([]*Office{{ID: "anagrafe", Hours: after}}, nil)
		reason := func(string) string { return "chiuso" }
		var wg sync.WaitGroup
		results := make([]Reconciled, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = ts.Reconcile(ctx, dir, reason)
			}()
		}
		wg.Wait()
		var total Reconciled
		for i := range 2 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			total.Moved += results[i].Moved
			total.Cancelled += results[i].Cancelled
		}
		if total != (Reconciled{Moved: 1, Cancelled: 1}) {
			t.Fatalf("two runs: %+v", results)
		}
		states := map[State][]*Booking{}
		for _, x := range []*Booking{a, b} {
			got, err := scan(d.QueryRowContext(ctx, `SELECT `+columns+` FROM bookings WHERE id = $1`, x.ID))
			if err != nil {
				t.Fatal(err)
			}
			states[got.State] = append(states[got.State], got)
		}
		if len(states[Confirmed]) != 1 || len(states[Cancelled]) != 1 || !states[Confirmed][0].Start.Equal(at(1, 10, 0)) || states[Cancelled][0].CancelledBy != "office" {
			t.Fatalf("states: %+v", states)
		}
		taken, err := ts.Taken(ctx, "anagrafe", "carta-identita", at(0, 0, 0), at(2, 0, 0))
		if err != nil || len(taken) != 1 || taken[Key(at(1, 10, 0))] != 1 {
			t.Fatalf("places: %v %v", taken, err)
		}
		told := map[string]string{}
		for _, n := range ts.sent {
			if n.what == "moved_by_office" || n.what == "cancelled_by_office" {
				if told[n.id] != "" {
					t.Fatalf("told twice: %+v", ts.sent)
				}
				told[n.id] = n.what
			}
		}
		if told[states[Confirmed][0].ID] != "moved_by_office" || told[states[Cancelled][0].ID] != "cancelled_by_office" {
			t.Fatalf("mails: %v", told)
		}

		// The same race without luck: both read the one free place (10:20)
		// before either moves; the second's take is refused below the
		// capacity and it is cancelled.
		ts.grid.Hours = spec(hours.ExceptionSpec{Date: day.String(), Hours: []string{"09:00-09:40"}})
		var late []*Booking
		for _, acc := range []string{"d", "e"} {
			x, _, err := ts.Book(ctx, ts.request(acc, at(0, 9, 0).Add(time.Duration(len(late))*20*time.Minute)))
			if err != nil {
				t.Fatal(err)
			}
			late = append(late, x)
		}
		wider := spec(hours.ExceptionSpec{Date: day.AddDays(1).String(), Hours: []string{"10:00-10:40"}})
		office := &Office{ID: "anagrafe", Hours: wider}
		var cands [][]Slot
		for _, x := range late {
			c, err := ts.candidates(ctx, x, office, ts.offer, time.Now())
			if err != nil || len(c) != 1 || !c[0].Start.Equal(at(1, 10, 20)) {
				t.Fatalf("candidates: %+v %v", c, err)
			}
			cands = append(cands, c)
		}
		letters, err := ts.letters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{true, false} {
			if moved, err := ts.displace(ctx, displacement{Booking: late[i]}, cands[i], letters, "chiuso"); err != nil || moved != want {
				t.Fatalf("displace %d: %v %v", i, moved, err)
			}
		}
		if taken, err := ts.Taken(ctx, "anagrafe", "carta-identita", at(1, 10, 20), at(1, 10, 21)); err != nil || taken[Key(at(1, 10, 20))] != 1 {
			t.Fatalf("10:20 holds %v %v", taken, err)
		}
		// A booking moved or cancelled meanwhile is not displaced again.
		if _, err := ts.displace(ctx, displacement{Booking: late[0]}, cands[0], letters, "chiuso"); !errors.Is(err, ErrNotLive) {
			t.Fatalf("a stale displacement: %v", err)
		}

		// An offer gone: its displaced appointment is cancelled, though
		// slots are free.
		ts.grid.Hours = everyDayHours
		if _, _, err := ts.Book(ctx, ts.request("c", at(3, 11, 0))); err != nil {
			t.Fatal(err)
		}
		if err := ts.DeleteOffer(ctx, "anagrafe", "carta-identita", "op-1", ""); err != nil {
			t.Fatal(err)
		}
		closedDay := spec(hours.ExceptionSpec{Date: day.AddDays(1).String(), Hours: []string{"10:00-10:40"}},
			hours.ExceptionSpec{Date: day.AddDays(4).String(), Hours: []string{"08:00-20:00"}})
		if n, err := ts.Reconcile(ctx, NewDirectory([]*Office{{ID: "anagrafe", Hours: closedDay}}, nil), reason); err != nil || n != (Reconciled{Cancelled: 1}) {
			t.Fatalf("an offer gone: %+v %v", n, err)
		}
	})
}

// The mail of a move says the new time, the old and why, with the link
// and the updated calendar file.
func TestReconcileMail(t *testing.T) {
	x, err := web.NewI18n(web.Messages, Messages)
	if err != nil {
		t.Fatal(err)
	}
	n := &Notifier{I18n: x, BaseURL: "https://comune.example.it"}
	start := time.Date(2026, 12, 10, 14, 0, 0, 0, hours.Rome)
	b := &Booking{ID: "b1", Code: "AP-ABCDEFGH", OfficeID: "anagrafe", ServiceID: "cie", Start: start.UTC(), End: start.Add(20 * time.Minute).UTC(),
		WasStart: start.Add(-5 * time.Hour).UTC(), WasEnd: start.Add(-5*time.Hour + 20*time.Minute).UTC(), Email: "a@example.it", GivenName: "Maria",
		Notes: "l'ufficio ha cambiato i suoi orari", State: Confirmed, Lang: "it", CreatedAt: start.Add(-48 * time.Hour)}
	m, err := n.Letter(NewDirectory([]*Office{{ID: "anagrafe", Name: "Anagrafe", Address: "Piazza 1"}}, nil), "Comune di Prova", b, "moved_by_office", "tok")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10/12/2026, ore 14:00–14:20", "10/12/2026, ore 09:00–09:20", "Motivo: l'ufficio ha cambiato i suoi orari", "https://comune.example.it/prenota-appuntamento/link/tok", "AP-ABCDEFGH"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the mail lacks %q:\n%s", want, m.Text)
		}
	}
	if !strings.Contains(m.Subject, "10/12/2026") || len(m.Attachments) != 2 || !strings.Contains(string(m.Attachments[0].Content), "DTSTART:20261210T130000Z") {
		t.Fatalf("subject %q, attachments %d", m.Subject, len(m.Attachments))
	}
	// A later file than the booking's: its DTSTAMP is the mail's.
	if ics := string(m.Attachments[0].Content); strings.Contains(ics, "DTSTAMP:"+b.CreatedAt.UTC().Format("20060102T150405Z")) || !strings.Contains(ics, "UID:b1@booking.civico") {
		t.Errorf("the moved appointment's calendar file does not replace the first:\n%s", ics)
	}
	if qr, err := CodePNG(b.Code); err != nil || m.Attachments[1].Name != QRFile || m.Attachments[1].MediaType != "image/png" || !bytes.Equal(m.Attachments[1].Content, qr) ||
		!strings.Contains(m.Text, QRFile) {
		t.Errorf("the QR code: %s %s %v", m.Attachments[1].Name, m.Attachments[1].MediaType, err)
	}
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
			if _, _, err := ts.TakeTicket(ctx, o, "carta-identita", ChannelOnline, ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := ts.TakeTicket(ctx, o, "carta-identita", ChannelOnline, ""); !errors.Is(err, ErrTooManyOnline) {
			t.Fatalf("one online ticket too many: %v", err)
		}
		if _, _, err := ts.TakeTicket(ctx, o, "carta-identita", ChannelKiosk, ""); err != nil {
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

// Figures by sex on a hand-counted day: 6 appointments of women (one
// cancelled), 3 of men, 7 unknown (a typed claim of sex counts as
// unknown). Men's 3 is below MinCell and hidden, and the next smallest
// (women's 6) with it, or it would be the total less the others; of the
// cancelled, women's 1 is hidden and men's 0 with it; the shares drawn
// from a hidden count are hidden. Closing an account erases its sex.
func TestFiguresBySex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 2)
		day := hours.DateOf(time.Now()).AddDays(1)
		for wd := day.At(12 * 60).Weekday(); wd == time.Saturday || wd == time.Sunday; wd = day.At(12 * 60).Weekday() {
			day = day.AddDays(1) // within the working day: none outside it
		}
		n := 0
		book := func(sex string, proven bool) *Booking {
			t.Helper()
			r := ts.request(fmt.Sprintf("acc-%d", n), day.At(hours.Clock(8*60+20*(n/2))))
			r.Sex = ProvenSex(sex, proven)
			n++
			b, _, err := ts.Book(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		var women []*Booking
		for range 6 {
			women = append(women, book("F", true))
		}
		for range 3 {
			book("M", true)
		}
		for range 6 {
			book("", true)
		}
		book("M", false) // a claim: unknown
		if _, err := ts.Cancel(ctx, women[0].ID, women[0].AccountID, ""); err != nil {
			t.Fatal(err)
		}
		f, err := ts.Figures(ctx, day, day)
		if err != nil {
			t.Fatal(err)
		}
		if f.All.Bookings != 16 || len(f.BySex) != 3 {
			t.Fatalf("all %d, by sex %+v", f.All.Bookings, f.BySex)
		}
		want := []SexTally{
			{Sex: "F", Bookings: Cell{6, true}, Cancelled: Cell{1, true}, Outside: Cell{0, false}},
			{Sex: "M", Bookings: Cell{3, true}, Cancelled: Cell{0, true}},
			{Sex: "", Bookings: Cell{7, false}, Cancelled: Cell{0, false}},
		}
		for i, w := range want {
			g := f.BySex[i]
			if g.Sex != w.Sex || g.Bookings != w.Bookings || g.Cancelled != w.Cancelled || g.Outside != w.Outside {
				t.Errorf("%q: %+v, want %+v", w.Sex, g, w)
			}
		}
		if _, ok := f.BySex[0].OutsideShare(); ok {
			t.Error("women's share outside working hours is drawn from hidden counts")
		}
		if v, ok := f.BySex[2].OutsideShare(); !ok || v != 0 {
			t.Errorf("unknown's share outside working hours: %v %v", v, ok)
		}
		// Closing an account erases the sex with the rest.
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return ts.Erase(ctx, tx, women[1].AccountID) }); err != nil {
			t.Fatal(err)
		}
		var sex string
		if err := d.QueryRowContext(ctx, `SELECT sex FROM bookings WHERE id = $1`, women[1].ID).Scan(&sex); err != nil || sex != "" {
			t.Fatalf("after closing the account: %q %v", sex, err)
		}
	})
}

func TestBySexHidesOneOnlyWithAnother(t *testing.T) {
	for _, c := range []struct {
		f, m, u    int
		hf, hm, hu bool
	}{
		{10, 10, 10, false, false, false},
		{0, 0, 12, false, false, false}, // zeros are not small
		{4, 20, 30, true, true, false},  // one small: the next smallest too
		{2, 3, 40, true, true, false},   // two small: enough
		{4, 0, 9, true, true, false},    // the smallest other may be a zero
		{5, 5, 5, false, false, false},  // MinCell itself shows
	} {
		rows := bySex(map[string]*Tally{"F": {Bookings: c.f}, "M": {Bookings: c.m}, "": {Bookings: c.u}})
		if rows[0].Bookings.Hidden != c.hf || rows[1].Bookings.Hidden != c.hm || rows[2].Bookings.Hidden != c.hu {
			t.Errorf("%d %d %d: hidden %v %v %v", c.f, c.m, c.u, rows[0].Bookings.Hidden, rows[1].Bookings.Hidden, rows[2].Bookings.Hidden)
		}
	}
}

// A move follows the resident's check-in: their waiting ticket is called
// at the new time when the appointment stays on the day, withdrawn when it
// leaves the day; the reminder is sent again for the new time.
func TestReconcileMovesTheCheckIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		day := hours.DateOf(time.Now()).AddDays(2)
		at := func(dd, hh, mm int) time.Time { return day.AddDays(dd).At(hours.Clock(hh*60 + mm)) }
		now := at(0, 8, 0)
		ts.Now = func() time.Time { return now }
		a, _, err := ts.Book(ctx, ts.request("a", at(0, 15, 0)))
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := ts.Book(ctx, ts.request("b", at(0, 16, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.ExecContext(ctx, `UPDATE bookings SET reminded_at = $1`, now); err != nil {
			t.Fatal(err)
		}
		for _, x := range []*Booking{a, b} {
			if _, _, err := ts.CheckIn(ctx, "anagrafe", x.Code); err != nil {
				t.Fatal(err)
			}
		}
		// The afternoon closes from 14:40 to 17:00: 15:00 goes to 14:20
		// (nearer than 17:00); 16:00 to 17:00 (14:20 is taken by then).
		// Then, with the whole day closed, 14:20 leaves the day.
		h, err := hours.Spec{Week: everyDay.Week, Exceptions: []hours.ExceptionSpec{{Date: day.String(), Hours: []string{"08:00-14:40", "17:00-20:00"}}}}.Hours(hours.Holidays{})
		if err != nil {
			t.Fatal(err)
		}
		h.OpenOnHolidays = true
		// Others hold 10:00 to 14:00, so that 14:20 is the nearest free.
		for c := hours.Clock(10 * 60); c < 14*60+20; c += 20 {
			if _, _, err := ts.Book(ctx, ts.request(fmt.Sprintf("m%d", c), day.At(c))); err != nil {
				t.Fatal(err)
			}
		}
		reason := func(string) string { return "chiuso" }
		if n, err := ts.Reconcile(ctx, NewDirectory([]*Office{{ID: "anagrafe", Hours: h}}, nil), reason); err != nil || n != (Reconciled{Moved: 2}) {
			t.Fatalf("moves: %+v %v", n, err)
		}
		due := func(x *Booking) (time.Time, TicketState, bool) {
			t.Helper()
			var due time.Time
			var st TicketState
			var reminded sql.NullTime
			if err := d.QueryRowContext(ctx, `SELECT q.due_at, q.state, b.reminded_at FROM queue_tickets q JOIN bookings b ON b.id = q.booking_id WHERE q.booking_id = $1`, x.ID).
				Scan(&due, &st, &reminded); err != nil {
				t.Fatal(err)
			}
			return due.UTC(), st, reminded.Valid
		}
		if got, st, reminded := due(a); !got.Equal(at(0, 14, 20)) || st != Waiting || reminded {
			t.Errorf("15:00's ticket: due %v, %s, reminded %v", got.In(hours.Rome), st, reminded)
		}
		if got, st, _ := due(b); !got.Equal(at(0, 17, 0)) || st != Waiting {
			t.Errorf("16:00's ticket: due %v, %s", got.In(hours.Rome), st)
		}
		closed, err := hours.Spec{Week: everyDay.Week, Exceptions: []hours.ExceptionSpec{{Date: day.String(), Closed: true}}}.Hours(hours.Holidays{})
		if err != nil {
			t.Fatal(err)
		}
		closed.OpenOnHolidays = true
		if _, err := ts.Reconcile(ctx, NewDirectory([]*Office{{ID: "anagrafe", Hours: closed}}, nil), reason); err != nil {
			t.Fatal(err)
		}
		if _, st, _ := due(a); st != Withdrawn {
			t.Errorf("a ticket of a day the appointment left: %s", st)
		}
	})
}

// A booking made without an account is moved from its mailed link, in
// place (same id, code and link): to a full slot it is not, and stays;
// to a free one it is, the old place given back, the resident told, the
// move audited. A link of an account's booking, or an unknown one, moves
// nothing.
func TestMoveByLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		day := hours.DateOf(time.Now()).AddDays(2)
		at := func(hh int) time.Time { return day.At(hours.Clock(hh * 60)) }
		b, link, err := ts.Book(ctx, ts.request("", at(10)))
		if err != nil || link == "" {
			t.Fatal(err)
		}
		if _, _, err := ts.Book(ctx, ts.request("other", at(11))); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.MoveByLink(ctx, link, ts.grid, at(11), "192.0.2.1"); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("to a full slot: %v", err)
		}
		if _, err := ts.MoveByLink(ctx, link, ts.grid, at(10).Add(7*time.Minute), "192.0.2.1"); err == nil {
			t.Fatal("to a time that is no slot: moved")
		}
		moved, err := ts.MoveByLink(ctx, link, ts.grid, at(12), "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ts.ByLink(ctx, link)
		if err != nil || got.ID != b.ID || got.Code != b.Code || !got.Start.Equal(at(12)) || got.State != Confirmed || !moved.WasStart.Equal(at(10)) {
			t.Fatalf("the booking after the move: %+v %v", got, err)
		}
		taken, err := ts.Taken(ctx, "anagrafe", "carta-identita", at(10), at(13))
		if err != nil || taken[Key(at(10))] != 0 || taken[Key(at(11))] != 1 || taken[Key(at(12))] != 1 {
			t.Fatalf("places: %v %v", taken, err)
		}
		if last := ts.sent[len(ts.sent)-1]; last.id != b.ID || last.what != "moved" || last.link != link {
			t.Fatalf("the resident was not told: %+v", last)
		}
		var audited int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'booking.move' AND subject = $1`, "booking:"+b.ID).Scan(&audited); err != nil || audited != 1 {
			t.Fatalf("audit of the move: %d %v", audited, err)
		}
		// An account's booking is moved in the personal area, not by its
		// link; an unknown link moves nothing.
		_, accLink, err := ts.Book(ctx, ts.request("acc", at(14)))
		if err != nil {
			t.Fatal(err)
		}
		for name, l := range map[string]string{"an account's link": accLink, "an unknown link": "nonesiste", "no link": ""} {
			if _, err := ts.MoveByLink(ctx, l, ts.grid, at(15), ""); !errors.Is(err, ErrNotLive) {
				t.Errorf("%s: %v", name, err)
			}
		}
		// Once cancelled, its link moves nothing.
		if _, err := ts.CancelByLink(ctx, link); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.MoveByLink(ctx, link, ts.grid, at(16), ""); !errors.Is(err, ErrNotLive) {
			t.Errorf("a cancelled booking's link: %v", err)
		}
	})
}
