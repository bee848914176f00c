package booking

import (
	"context"
	"database/sql"
	"time"
)

// ServedTicket is a ticket of the queue served, as the dashboard counts
// it: when it was done, for which service, and how long it waited from
// being taken to its (last) call, as the figures page measures it.
// Tickets are anonymous: no sex.
type ServedTicket struct {
	At      time.Time
	Service string
	Wait    time.Duration
}

// Served are the tickets served in [from, to) (by done_at): the
// dashboard's waiting times, added to its counters as they happen.
func (s *Store) Served(ctx context.Context, from, to time.Time) ([]ServedTicket, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT done_at, service_id, taken_at, called_at FROM queue_tickets
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
		if err := rows.Scan(&t.At, &t.Service, &taken, &called); err != nil {
			return nil, err
		}
		if called.Valid && called.Time.After(taken) {
			t.Wait = called.Time.Sub(taken)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
