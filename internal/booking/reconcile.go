package booking

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// What a change of an office's hours or counters does to the appointments
// it displaces: docs/QUEUE.md, "Closures and fewer counters".

const (
	// MoveHorizon is how many days after a displaced appointment's day
	// Reconcile looks for a free slot to move it to; past them it cancels.
	MoveHorizon = 7
	// MoveNotice is the least time between a move and the new slot: a
	// resident needs time to read the mail and come.
	MoveNotice = 2 * time.Hour
)

// Reconciled counts what a Reconcile run did.
type Reconciled struct {
	Moved, Cancelled int
}

// Total is how many appointments the run displaced.
func (r Reconciled) Total() int { return r.Moved + r.Cancelled }

// Reconcile moves the coming appointments the offices can no longer hold
// to the nearest free slot of the same service and office, and tells
// their residents (reason(lang) is the reason the mail gives): those whose
// time the office's hours no longer cover (a closure or shorter hours
// added as an exception), and those beyond a slot's places when the office
// opens fewer counters for the service (the latest booked go first).
//
// The new slot is the same day's nearest to the old time if one is free
// (on a tie the later, since a resident who did not read the mail comes
// at the old time), else the first free one of the next MoveHorizon days,
// never sooner than MoveNotice from now. Freeing the old slot, taking the
// new one (the capacity rule of a booking: two displaced appointments
// never share a last place) and the mail are one transaction. Only an
// appointment with no free slot in the horizon, or whose offer is gone,
// is cancelled, as an operator would. An office that left the catalogue
// is left alone: its bookings stand.
func (s *Store) Reconcile(ctx context.Context, dir *Directory, reason func(lang string) string) (Reconciled, error) {
	defer s.takenCache().Purge() // after the commits too (CachedTaken)
	var done Reconciled
	now := s.now()
	offers, err := s.Offers(ctx)
	if err != nil {
		return done, err
	}
	byKey := map[[2]string]Offer{}
	for _, o := range offers {
		byKey[[2]string{o.OfficeID, o.ServiceID}] = o
	}
	displaced, err := s.displaced(ctx, dir, byKey, now)
	if err != nil || len(displaced) == 0 {
		return done, err
	}
	letters, err := s.letters(ctx)
	if err != nil {
		return done, err
	}
	for _, dp := range displaced {
		b := dp.Booking
		var cands []Slot
		if offer, ok := byKey[[2]string{b.OfficeID, b.ServiceID}]; ok {
			office, _ := dir.Office(b.OfficeID)
			if cands, err = s.candidates(ctx, b, office, offer, now); err != nil {
				return done, err
			}
		}
		moved, err := s.displace(ctx, dp, cands, letters, reason(b.Lang))
		switch {
		case errors.Is(err, ErrNotLive), errors.Is(err, errFitsAgain):
			continue // cancelled or moved meanwhile, or its slot has room again
		case err != nil:
			return done, err
		case moved:
			done.Moved++
		default:
			done.Cancelled++
		}
	}
	return done, nil
}

// displacement is an appointment the offices can no longer hold: outside
// their hours (Counters 0), or beyond the Counters places of its slot.
type displacement struct {
	*Booking
	Counters int
}

// errFitsAgain is a displacement beyond its slot's places whose slot had
// room again when its transaction came (another appointment of the slot
// was cancelled or moved since the list was read): it stays.
var errFitsAgain = errors.New("booking: the slot holds the appointment again")

// displaced lists the coming, live appointments the offices' hours or
// counters no longer hold, in order of office, service and time.
func (s *Store) displaced(ctx context.Context, dir *Directory, offers map[[2]string]Offer, now time.Time) ([]displacement, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+columns+` FROM bookings WHERE state IN ('pending', 'confirmed') AND start_at > $1
		ORDER BY office_id, service_id, start_at, created_at, id`, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []displacement
	seen := map[[3]string]int{}
	for rows.Next() {
		b, err := scan(rows)
		if err != nil {
			return nil, err
		}
		o, ok := dir.Office(b.OfficeID)
		if !ok || o.Hours == nil {
			continue
		}
		if spans := o.Hours.Spans(b.Start, b.End); len(spans) != 1 || !spans[0].Start.Equal(b.Start) || !spans[0].End.Equal(b.End) {
			out = append(out, displacement{Booking: b})
			continue
		}
		slot := [3]string{b.OfficeID, b.ServiceID, strconv.FormatInt(Key(b.Start), 10)}
		seen[slot]++
		if offer, ok := offers[[2]string{b.OfficeID, b.ServiceID}]; ok && seen[slot] > offer.Counters {
			out = append(out, displacement{Booking: b, Counters: offer.Counters}) // booked after the places now open were taken
		}
	}
	return out, rows.Err()
}

// candidates are the slots a displaced appointment may move to, best
// first: the free slots of its day nearest its time (a tie to the later),
// then those of the next MoveHorizon days in order; none sooner than
// MoveNotice from now, nor its own.
func (s *Store) candidates(ctx context.Context, b *Booking, office *Office, offer Offer, now time.Time) ([]Slot, error) {
	day := hours.DateOf(b.Start)
	from, to := day.At(0), day.AddDays(MoveHorizon+1).At(0)
	taken, err := s.Taken(ctx, b.OfficeID, b.ServiceID, from, to)
	if err != nil {
		return nil, err
	}
	g := Grid{Hours: office.Hours, Length: offer.Length(), Counters: offer.Counters}
	var same, later []Slot
	for _, sl := range g.Slots(from, to, now.Add(MoveNotice), taken) {
		if sl.Free() == 0 || Key(sl.Start) == Key(b.Start) {
			continue
		}
		if hours.DateOf(sl.Start) == day {
			same = append(same, sl)
		} else {
			later = append(later, sl)
		}
	}
	dist := func(sl Slot) time.Duration { return sl.Start.Sub(b.Start).Abs() }
	sort.SliceStable(same, func(i, j int) bool {
		if di, dj := dist(same[i]), dist(same[j]); di != dj {
			return di < dj
		}
		return same[i].Start.After(same[j].Start)
	})
	return append(same, later...), nil
}

// displace moves b to the first of cands with a free place, or cancels it
// when none has one, in one transaction: the booking's row first (still
// live, coming and at its time, else ErrNotLive), for one beyond its
// slot's places the slot again (locked, and errFitsAgain if it has room
// now: the list was read before the transaction), then its old slot
// given back, then the new one taken below its capacity (the order a
// resident's move takes them in), the audit entry, the queue's check-in
// ticket and the resident's mail.
func (s *Store) displace(ctx context.Context, dp displacement, cands []Slot, letters Letters, reason string) (bool, error) {
	b := dp.Booking
	now := s.now()
	moved := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		moved = false
		cur, err := scan(tx.QueryRowContext(ctx, `UPDATE bookings SET state = state
			WHERE id = $1 AND state IN ('pending', 'confirmed') AND start_unix = $2 AND start_at > $3 RETURNING `+columns, b.ID, Key(b.Start), now))
		if errors.Is(err, ErrNotFound) {
			return ErrNotLive
		}
		if err != nil {
			return err
		}
		if dp.Counters > 0 {
			var taken int
			err := tx.QueryRowContext(ctx, `UPDATE booking_slots SET taken = taken WHERE office_id = $1 AND service_id = $2 AND start_unix = $3 RETURNING taken`,
				cur.OfficeID, cur.ServiceID, Key(cur.Start)).Scan(&taken)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if taken <= dp.Counters {
				return errFitsAgain
			}
		}
		if err := s.give(ctx, tx, cur.OfficeID, cur.ServiceID, Key(cur.Start)); err != nil {
			return err
		}
		details := map[string]string{"office": cur.OfficeID, "service": cur.ServiceID, "start": cur.Start.Format(time.RFC3339), "code": cur.Code, "reason": reason}
		for _, sl := range cands {
			err := s.relocate(ctx, tx, cur, sl, now)
			if errors.Is(err, ErrSlotTaken) {
				continue // taken since it was read
			}
			if err != nil {
				return err
			}
			start, end := sl.Start.UTC(), sl.End.UTC()
			details["to"] = start.Format(time.RFC3339)
			if err := s.audit(ctx, tx, "operator:system", "booking.move", "booking:"+cur.ID, "", details); err != nil {
				return err
			}
			cur.WasStart, cur.WasEnd = cur.Start, cur.End
			cur.Start, cur.End = start, end
			cur.Notes = reason // the mail tells the reason
			moved = true
			return letters(ctx, tx, cur, "moved_by_office", "")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bookings SET state = 'cancelled', cancelled_at = $1, cancelled_by = 'office' WHERE id = $2`,
			now, cur.ID); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, "operator:system", "booking.cancel", "booking:"+cur.ID, "", details); err != nil {
			return err
		}
		cur.State, cur.CancelledAt, cur.CancelledBy = Cancelled, &now, "office"
		cur.Notes = reason
		return letters(ctx, tx, cur, "cancelled_by_office", "")
	})
	return moved, err
}

// relocate moves b, whose old place was given back, to slot in tx: the
// new place taken below its capacity (ErrSlotTaken), the row's time, and
// its check-in ticket (moveTicket). b itself is left as it was.
func (s *Store) relocate(ctx context.Context, tx *sql.Tx, b *Booking, slot Slot, now time.Time) error {
	if err := s.take(ctx, tx, b.OfficeID, b.ServiceID, Key(slot.Start), slot.Capacity); err != nil {
		return err
	}
	start, end := slot.Start.UTC(), slot.End.UTC()
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET start_at = $1, end_at = $2, start_unix = $3, reminded_at = NULL WHERE id = $4`,
		start, end, Key(start), b.ID); err != nil {
		return err
	}
	return s.moveTicket(ctx, tx, b, start, now)
}

// moveTicket follows a move with the booking's waiting check-in ticket of
// today, if any: called at the new time the same day, withdrawn if the
// appointment left the day (the resident checks in again then).
func (s *Store) moveTicket(ctx context.Context, tx *sql.Tx, b *Booking, start, now time.Time) error {
	if dayOf(start) == dayOf(b.Start) {
		_, err := tx.ExecContext(ctx, `UPDATE queue_tickets SET due_at = $1 WHERE booking_id = $2 AND state = 'waiting'`, start, b.ID)
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE queue_tickets SET state = 'withdrawn', done_at = $1 WHERE booking_id = $2 AND state = 'waiting'`, now, b.ID)
	return err
}
