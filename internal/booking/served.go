package booking

import (
	"context"
	"database/sql"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// ServedTicket is a ticket of the queue served, as the dashboard counts
// it: when it was done, for which service, and how long it waited from
// being taken to its (last) call, as the figures page measures it.
// Sex is who waited, as the ticket recorded it: proven, or "" (a ticket
// of the kiosk, of an anonymous visitor, or of a closed account).
type ServedTicket struct {
	At           time.Time
	Service, Sex string
	Wait         time.Duration
}

// Served are the tickets served in [from, to) (by done_at): the
// dashboard's waiting times, added to its counters as they happen.
func (s *Store) Served(ctx context.Context, from, to time.Time) ([]ServedTicket, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT done_at, service_id, sex, taken_at, called_at FROM queue_tickets
		WHERE done_at >= $1 AND done_at < $2 AND state = 'served' ORDER BY done_at`, from.UTC(), to.UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []ServedTicket
	for rows.Next() {
		var t ServedTicket
		var taken time.Time
		var called sql.NullTime
		if err := rows.Scan(&t.At, &t.Service, &t.Sex, &taken, &called); err != nil {
			return nil, err
		}
		if called.Valid && called.Time.After(taken) {
			t.Wait = called.Time.Sub(taken)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// KeptAppointment is an appointment that still stood on its day, as the
// dashboard counts it: when it started, for which service, the booker's
// proven sex ("" unknown) and how many calendar days (Rome) passed from
// the booking to the appointment's day. A booking moved in place keeps
// the day it was made; one an account moved is a new booking, made the
// day of the move.
type KeptAppointment struct {
	At           time.Time
	Service, Sex string
	Days         int
}

// Kept are the appointments that started in [from, to) and were still
// confirmed then (not cancelled, not left unconfirmed): the dashboard's
// appointment waits, added to its counters as their days come. A booking
// can no longer be cancelled, confirmed or moved once it has started, so
// the window, once past, does not change.
func (s *Store) Kept(ctx context.Context, from, to time.Time) ([]KeptAppointment, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT start_at, created_at, service_id, sex FROM bookings
		WHERE start_at >= $1 AND start_at < $2 AND state = 'confirmed' ORDER BY start_at`, from.UTC(), to.UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []KeptAppointment
	for rows.Next() {
		var a KeptAppointment
		var created time.Time
		if err := rows.Scan(&a.At, &created, &a.Service, &a.Sex); err != nil {
			return nil, err
		}
		a.Days = max(DaysBetween(hours.DateOf(created), hours.DateOf(a.At)), 0)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SexKeptFor is how long a ticket keeps the sex of who waited: long past
// the dashboard's counting of it (minutes after it is served), then
// cleared (ForgetSexes), so that no ticket keeps it beside its office,
// service and times for longer than the figures need.
const SexKeptFor = 40 * 24 * time.Hour

// ForgetSexes clears the sex of the tickets taken more than SexKeptFor
// before now; it returns how many.
func (s *Store) ForgetSexes(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE queue_tickets SET sex = '' WHERE taken_at < $1 AND sex <> ''`, now.Add(-SexKeptFor).UTC())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// DaysBetween is how many calendar days from a to b (negative when b is
// earlier).
func DaysBetween(a, b hours.Date) int {
	noon := func(d hours.Date) time.Time { return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC) }
	return int(noon(b).Sub(noon(a)).Hours() / 24)
}
