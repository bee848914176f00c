package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
)

// The office of the store's tests: open every day 08:00-20:00, so that a
// test's slot is always a day or two ahead whatever the day it runs.
var everyDay = hours.Spec{Week: map[string][]string{
	"monday": {"08:00-20:00"}, "tuesday": {"08:00-20:00"}, "wednesday": {"08:00-20:00"}, "thursday": {"08:00-20:00"},
	"friday": {"08:00-20:00"}, "saturday": {"08:00-20:00"}, "sunday": {"08:00-20:00"},
}}

type notice struct {
	id, what, link string
}

type testStore struct {
	*Store
	offer Offer
	grid  Grid
	mu    sync.Mutex
	sent  []notice
}

func newTestStore(t testing.TB, d *db.DB, counters int) *testStore {
	t.Helper()
	h, err := everyDay.Hours(hours.Holidays{})
	if err != nil {
		t.Fatal(err)
	}
	// Open on holidays too: the test's days may be one.
	h.OpenOnHolidays = true
	ts := &testStore{offer: Offer{OfficeID: "anagrafe", ServiceID: "carta-identita", Minutes: 20, Counters: counters, MaxFuture: 2}}
	ts.grid = Grid{Hours: h, Length: ts.offer.Length(), Counters: counters}
	ts.Store = &Store{DB: d, Audit: &audit.Log{DB: d}, Key: []byte("test key"),
		Notify: func(context.Context) (Letters, error) {
			return func(_ context.Context, tx *sql.Tx, b *Booking, what, link string) error {
				ts.mu.Lock()
				defer ts.mu.Unlock()
				ts.sent = append(ts.sent, notice{b.ID, what, link})
				return nil
			}, nil
		}}
	if err := ts.PutOffer(context.Background(), ts.offer, "op-1", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return ts
}

// tomorrow10 is 10:00 tomorrow in Rome: a slot of the test office.
func tomorrow10() time.Time { return hours.DateOf(time.Now()).AddDays(1).At(10 * 60) }

func (ts *testStore) request(account string, start time.Time) Request {
	email := account + "@example.it"
	if account == "" {
		email = "ospite@example.it"
	}
	return Request{Offer: ts.offer, Grid: ts.grid, Start: start, AccountID: account, Email: email,
		GivenName: "Maria", FamilyName: "Bianchi", Lang: "it"}
}

func TestBookAndCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 2)
		start := tomorrow10()
		b, link, err := ts.Book(ctx, ts.request("acc-1", start))
		if err != nil {
			t.Fatal(err)
		}
		if b.State != Confirmed || !b.Start.Equal(start) || !b.End.Equal(start.Add(20*time.Minute)) || len(b.Code) != 11 || link == "" {
			t.Fatalf("booking %+v link %q", b, link)
		}
		taken, err := ts.Taken(ctx, "anagrafe", "carta-identita", start, start.Add(time.Hour))
		if err != nil || taken[Key(start)] != 1 {
			t.Fatalf("taken %v %v", taken, err)
		}
		// Another account does not see it, nor cancel it.
		if _, err := ts.Get(ctx, b.ID, "acc-2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another's Get: %v", err)
		}
		if _, err := ts.Cancel(ctx, b.ID, "acc-2", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("another's Cancel: %v", err)
		}
		got, err := ts.Get(ctx, b.ID, "acc-1")
		if err != nil || got.Code != b.Code || got.State != Confirmed {
			t.Fatalf("Get: %+v %v", got, err)
		}
		byLink, err := ts.ByLink(ctx, link)
		if err != nil || byLink.ID != b.ID {
			t.Fatalf("ByLink: %v %v", byLink, err)
		}
		if _, err := ts.ByLink(ctx, link+"x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ByLink of a forged link: %v", err)
		}
		if _, err := ts.Cancel(ctx, b.ID, "acc-1", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Cancel(ctx, b.ID, "acc-1", ""); !errors.Is(err, ErrNotLive) {
			t.Errorf("second Cancel: %v", err)
		}
		taken, _ = ts.Taken(ctx, "anagrafe", "carta-identita", start, start.Add(time.Hour))
		if taken[Key(start)] != 0 {
			t.Errorf("the place was not given back: %v", taken)
		}
		if len(ts.sent) != 2 || ts.sent[0].what != "booked" || ts.sent[1].what != "cancelled" || ts.sent[1].link != link {
			t.Errorf("mails %+v", ts.sent)
		}
	})
}

func TestBookRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		start := tomorrow10()
		bad := ts.request("acc-1", start)
		bad.GivenName, bad.Email, bad.Phone, bad.Notes = " ", "not-an-address", "abc", string(make([]byte, 201))
		var fields problem.Fields
		if _, _, err := ts.Book(ctx, bad); !errors.As(err, &fields) || len(fields) != 4 {
			t.Fatalf("bad fields: %v", err)
		}
		for name, at := range map[string]time.Time{
			"past":         hours.DateOf(time.Now()).AddDays(-1).At(10 * 60),
			"off the grid": start.Add(5 * time.Minute),
			"closed":       hours.DateOf(time.Now()).AddDays(1).At(21 * 60),
		} {
			if _, _, err := ts.Book(ctx, ts.request("acc-1", at)); !errors.As(err, &fields) || fields["slot"] == "" {
				t.Errorf("%s: %v", name, err)
			}
		}
		// A grid that is not the offer's (a forged length) is refused.
		forged := ts.request("acc-1", start)
		forged.Grid.Length = time.Hour
		if _, _, err := ts.Book(ctx, forged); !errors.As(err, &fields) {
			t.Errorf("forged grid: %v", err)
		}
		if _, _, err := ts.Book(ctx, ts.request("acc-1", start)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.Book(ctx, ts.request("acc-2", start)); !errors.Is(err, ErrSlotTaken) {
			t.Errorf("full slot: %v", err)
		}
		// At most MaxFuture (2) coming bookings per person and service.
		if _, _, err := ts.Book(ctx, ts.request("acc-1", start.Add(20*time.Minute))); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.Book(ctx, ts.request("acc-1", start.Add(40*time.Minute))); !errors.Is(err, ErrTooMany) {
			t.Errorf("third booking: %v", err)
		}
		// Nothing was written by the refusals.
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d bookings, %v", n, err)
		}
	})
}

func TestPendingConfirmAndExpire(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		start := tomorrow10()
		b, link, err := ts.Book(ctx, ts.request("", start))
		if err != nil {
			t.Fatal(err)
		}
		if b.State != Pending || b.ExpiresAt == nil || ts.sent[0].what != "confirm" {
			t.Fatalf("anonymous booking %+v, mails %+v", b, ts.sent)
		}
		// Its place is held while it waits.
		if _, _, err := ts.Book(ctx, ts.request("acc-2", start)); !errors.Is(err, ErrSlotTaken) {
			t.Errorf("held place: %v", err)
		}
		if _, err := ts.Confirm(ctx, link); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Confirm(ctx, link); !errors.Is(err, ErrNotLive) {
			t.Errorf("second Confirm: %v", err)
		}
		// Another, left unconfirmed, expires and frees its place.
		other := start.Add(20 * time.Minute)
		if _, _, err := ts.Book(ctx, ts.request("", other)); err != nil {
			t.Fatal(err)
		}
		if n, err := ts.Expire(ctx); err != nil || n != 0 {
			t.Fatalf("Expire before time: %d %v", n, err)
		}
		ts.Now = func() time.Time { return time.Now().Add(PendingFor + time.Minute) }
		if n, err := ts.Expire(ctx); err != nil || n != 1 {
			t.Fatalf("Expire: %d %v", n, err)
		}
		ts.Now = nil
		if _, _, err := ts.Book(ctx, ts.request("acc-2", other)); err != nil {
			t.Errorf("the expired booking's place: %v", err)
		}
		if got, _ := ts.ByLink(ctx, link); got.State != Confirmed {
			t.Errorf("the confirmed booking expired: %+v", got)
		}
	})
}

func TestRemindOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 3)
		start := tomorrow10()
		for _, acc := range []string{"acc-1", "acc-2"} {
			if _, _, err := ts.Book(ctx, ts.request(acc, start)); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := ts.Book(ctx, ts.request("", start)); err != nil { // pending: no reminder
			t.Fatal(err)
		}
		day := hours.DateOf(start)
		for i, want := range []int{2, 0} {
			n, err := ts.Remind(ctx, day.At(0), day.AddDays(1).At(0))
			if err != nil || n != want {
				t.Fatalf("run %d: %d reminders, %v", i, n, err)
			}
		}
	})
}

func TestCancelByOfficeIsAudited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		b, _, err := ts.Book(ctx, ts.request("acc-1", tomorrow10()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.CancelByOffice(ctx, b.ID, "stato-civile", Actor{Operator: "op-1"}); !errors.Is(err, ErrNotLive) {
			t.Errorf("another office's operator: %v", err)
		}
		if _, err := ts.CancelByOffice(ctx, b.ID, "anagrafe", Actor{Operator: "op-1", Remote: "10.0.0.1", Reason: "Sportello chiuso"}); err != nil {
			t.Fatal(err)
		}
		records, err := (&audit.Log{DB: d}).About(ctx, "operator:nobody", "booking:"+b.ID)
		if err != nil || len(records) != 1 || records[0].Action != "booking.cancel" || records[0].Actor != "operator:op-1" || records[0].Details["reason"] != "Sportello chiuso" {
			t.Fatalf("audit %+v %v", records, err)
		}
	})
}

// A slot is never booked beyond its capacity: 1,000 residents ask for the
// same slot at once, on both engines; exactly its places are given.
func TestConcurrentBookingsOfOneSlot(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const capacity, residents = 3, 1000
		ts := newTestStore(t, d, capacity)
		ts.Notify = nil
		start := tomorrow10()
		var ok, full atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, residents)
		gate := make(chan struct{})
		for i := range residents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				_, _, err := ts.Book(ctx, ts.request(fmt.Sprintf("acc-%d", i), start))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrSlotTaken):
					full.Add(1)
				default:
					errs <- err
				}
			}()
		}
		close(gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if ok.Load() != capacity || full.Load() != residents-capacity {
			t.Fatalf("%d booked, %d refused; want %d and %d", ok.Load(), full.Load(), capacity, residents-capacity)
		}
		var n, taken int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE state = 'confirmed'`).Scan(&n); err != nil || n != capacity {
			t.Fatalf("%d bookings stored, %v", n, err)
		}
		if err := d.QueryRowContext(ctx, `SELECT taken FROM booking_slots`).Scan(&taken); err != nil || taken != capacity {
			t.Fatalf("slot count %d, %v", taken, err)
		}
	})
}

// One person asking for many slots at once gets at most MaxFuture.
func TestConcurrentBookingsOfOnePerson(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 5)
		ts.Notify = nil
		start := tomorrow10()
		var ok atomic.Int64
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := ts.Book(ctx, ts.request("acc-1", start.Add(time.Duration(i%15)*20*time.Minute)))
				if err == nil {
					ok.Add(1)
				} else if !errors.Is(err, ErrTooMany) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != int64(ts.offer.MaxFuture) {
			t.Fatalf("%d bookings of one person, want %d", ok.Load(), ts.offer.MaxFuture)
		}
	})
}

func TestMergeAndErase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		start := tomorrow10()
		b, _, err := ts.Book(ctx, ts.request("acc-old", start))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return ts.MergeAccounts(ctx, tx, "acc-old", "acc-new") }); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Get(ctx, b.ID, "acc-new"); err != nil {
			t.Fatalf("after the merge: %v", err)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return ts.Erase(ctx, tx, "acc-new") }); err != nil {
			t.Fatal(err)
		}
		var state, name, email, account string
		if err := d.QueryRowContext(ctx, `SELECT state, given_name, email, account_id FROM bookings WHERE id = $1`, b.ID).Scan(&state, &name, &email, &account); err != nil {
			t.Fatal(err)
		}
		if state != "cancelled" || name != "" || email != "" || account != "" {
			t.Fatalf("after the closure: %s %q %q %q", state, name, email, account)
		}
		// Its place is free again.
		if _, _, err := ts.Book(ctx, ts.request("acc-2", start)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMove(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 1)
		ts.offer.MaxFuture = 1
		if err := ts.PutOffer(ctx, ts.offer, "op-1", ""); err != nil {
			t.Fatal(err)
		}
		start := tomorrow10()
		b, _, err := ts.Book(ctx, ts.request("acc-1", start))
		if err != nil {
			t.Fatal(err)
		}
		other := start.Add(20 * time.Minute)
		if _, _, err := ts.Book(ctx, ts.request("acc-2", other)); err != nil {
			t.Fatal(err)
		}
		// To a full slot: refused, and the old booking stands.
		if _, err := ts.Move(ctx, b.ID, ts.request("acc-1", other)); !errors.Is(err, ErrSlotTaken) {
			t.Fatalf("move to a full slot: %v", err)
		}
		if got, _ := ts.Get(ctx, b.ID, "acc-1"); got.State != Confirmed {
			t.Fatalf("the old booking after a refused move: %s", got.State)
		}
		// Another's booking: not found.
		if _, err := ts.Move(ctx, b.ID, ts.request("acc-2", start.Add(40*time.Minute))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another's move: %v", err)
		}
		// Within the limit of one: the old is cancelled, the new booked.
		moved, err := ts.Move(ctx, b.ID, ts.request("acc-1", start.Add(40*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := ts.Get(ctx, b.ID, "acc-1"); got.State != Cancelled {
			t.Fatalf("the old booking: %s", got.State)
		}
		taken, _ := ts.Taken(ctx, "anagrafe", "carta-identita", start, start.Add(time.Hour))
		if taken[Key(start)] != 0 || taken[Key(moved.Start)] != 1 {
			t.Fatalf("places after the move: %v", taken)
		}
	})
}

// Coming counts every coming live booking of the account and lists the
// first n by start, in one statement: the count is not the list's length
// when the list is cut; a cancelled booking and another's are neither.
func TestComingCountsBeyondTheList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 2)
		later, _, err := ts.Book(ctx, ts.request("acc-1", tomorrow10().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		first, _, err := ts.Book(ctx, ts.request("acc-1", tomorrow10()))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.Book(ctx, ts.request("acc-2", tomorrow10())); err != nil {
			t.Fatal(err)
		}
		if n, list, err := ts.Coming(ctx, "acc-1", 1); err != nil || n != 2 || len(list) != 1 || list[0].ID != first.ID {
			t.Fatalf("the first of two: %d, %v, %v", n, list, err)
		}
		if n, list, err := ts.Coming(ctx, "acc-1", 5); err != nil || n != 2 || len(list) != 2 || list[1].ID != later.ID {
			t.Fatalf("both: %d, %v, %v", n, list, err)
		}
		if _, err := ts.Cancel(ctx, first.ID, "acc-1", ""); err != nil {
			t.Fatal(err)
		}
		if n, list, err := ts.Coming(ctx, "acc-1", 5); err != nil || n != 1 || len(list) != 1 || list[0].ID != later.ID {
			t.Fatalf("after a cancellation: %d, %v, %v", n, list, err)
		}
		if n, list, err := ts.Coming(ctx, "acc-3", 5); err != nil || n != 0 || len(list) != 0 {
			t.Fatalf("nobody's: %d, %v, %v", n, list, err)
		}
	})
}

// The places taken as the time step reads them (CachedTaken, kept an
// hour here): a place taken or freed through this store shows at once,
// one through another store (another process) only when the kept reading
// is read again (here: a wider range than was read), and never differs
// from Taken after this store's change.
func TestCachedTaken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ts := newTestStore(t, d, 2)
		ts.TakenTTL = time.Hour
		other := newTestStore(t, d, 2)
		start := tomorrow10()
		now := time.Now()
		from, to := now, now.Add(MaxAhead)
		places := func(s *Store, from, to time.Time) int {
			t.Helper()
			got, err := s.CachedTaken(ctx, "anagrafe", "carta-identita", from, to)
			if err != nil {
				t.Fatal(err)
			}
			return got[Key(start)]
		}
		if n := places(ts.Store, from, to); n != 0 {
			t.Fatalf("before any booking: %d taken", n)
		}
		b, _, err := ts.Book(ctx, ts.request("acc-1", start))
		if err != nil {
			t.Fatal(err)
		}
		if n := places(ts.Store, from, to); n != 1 {
			t.Errorf("after this store's booking: %d taken, want 1", n)
		}
		// Another process books the slot's second place: this store still
		// shows its reading...
		if _, _, err := other.Book(ctx, other.request("acc-2", start)); err != nil {
			t.Fatal(err)
		}
		if n := places(ts.Store, from, to); n != 1 {
			t.Errorf("the kept reading after another store's booking: %d taken, want 1", n)
		}
		// ...until it reads again: a range past the one it read.
		if n := places(ts.Store, from, to.Add(24*time.Hour)); n != 2 {
			t.Errorf("read again: %d taken, want 2", n)
		}
		if _, err := ts.Cancel(ctx, b.ID, "acc-1", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if n := places(ts.Store, from, to); n != 1 {
			t.Errorf("after this store's cancellation: %d taken, want 1", n)
		}
	})
}
