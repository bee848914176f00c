package booking

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// The walk-in queue (eliminacode) and the operator's day: docs/QUEUE.md.

// TicketState is where a ticket is.
type TicketState string

// The states of a ticket.
const (
	Waiting   TicketState = "waiting"
	Called    TicketState = "called"
	Served    TicketState = "served"
	Skipped   TicketState = "skipped"
	Withdrawn TicketState = "withdrawn"
)

// Open reports whether the ticket still waits or is at a counter.
func (s TicketState) Open() bool { return s == Waiting || s == Called }

// Channels a ticket comes from.
const (
	ChannelOnline  = "online"
	ChannelKiosk   = "kiosk"
	ChannelCheckIn = "checkin"
)

// Limits of the queue.
const (
	// MaxTicketsADay bounds an office's tickets of a day (its numbers).
	MaxTicketsADay = 999
	// LastTicketBefore: no new walk-in ticket in the last minutes before
	// the office closes, since nobody taking one then would be served.
	LastTicketBefore = 10 * time.Minute
	// BookedEarly is how long before the appointment a checked-in resident
	// may be called.
	BookedEarly = 5 * time.Minute
	// DefaultServiceTime is the estimate of a service's length before the
	// office has served anyone (recent served tickets replace it).
	DefaultServiceTime = 10 * time.Minute
	// MaxCounter bounds the name of a counter ("Sportello 3").
	MaxCounter = 30
	// MaxOnlineWaiting bounds the tickets taken online that wait at once
	// at an office: tickets nobody holds cannot fill its queue.
	MaxOnlineWaiting = 40
)

// Errors of the queue.
var (
	ErrOfficeClosed = problem.New(problem.Conflict, "booking.queue.error.closed", errors.New("booking: the office is not open for tickets"))
	ErrQueueFull    = problem.New(problem.Conflict, "booking.queue.error.full", errors.New("booking: the office's tickets of the day are over"))
	ErrNotToday     = problem.New(problem.Conflict, "booking.queue.error.not_today", errors.New("booking: the booking is not today at this office"))
	ErrTicketState  = problem.New(problem.Conflict, "booking.queue.error.state", errors.New("booking: the ticket is no longer in that state"))
	ErrNobody       = problem.New(problem.Conflict, "booking.queue.error.nobody", errors.New("booking: nobody is waiting"))
	// ErrTooManyOnline: MaxOnlineWaiting tickets taken online wait already.
	ErrTooManyOnline = problem.New(problem.Conflict, "booking.queue.error.too_many_online", errors.New("booking: too many online tickets waiting"))
)

// Ticket is a place in an office's queue of a day.
type Ticket struct {
	ID, OfficeID, Day string
	Number            int
	ServiceID         string
	BookingID         string
	Channel           string
	State             TicketState
	TakenAt           time.Time
	DueAt             *time.Time
	CalledAt, DoneAt  *time.Time
	Counter           string
	Recalls           int
	// Sex is who waits, "F" or "M" as proven (ProvenSex), "" unknown: the
	// dashboard's waits by sex. Written when the ticket is taken, not
	// read back with the others.
	Sex string
}

// Label is the number as the display and the ticket show it: A for a
// walk-in, P (prenotato) for a checked-in booking.
func (t *Ticket) Label() string {
	prefix := "A"
	if t.BookingID != "" {
		prefix = "P"
	}
	n := strconv.Itoa(t.Number)
	for len(n) < 3 {
		n = "0" + n
	}
	return prefix + n
}

// dayOf is the office's day of an instant, on Rome's calendar.
func dayOf(t time.Time) string { return hours.DateOf(t).String() }

const ticketColumns = `id, office_id, day, number, service_id, booking_id, channel, state, taken_at, due_at, called_at, done_at, counter, recalls`

func scanTicket(row scanner) (*Ticket, error) {
	t := &Ticket{}
	var due, called, done sql.NullTime
	if err := row.Scan(&t.ID, &t.OfficeID, &t.Day, &t.Number, &t.ServiceID, &t.BookingID, &t.Channel, &t.State, &t.TakenAt,
		&due, &called, &done, &t.Counter, &t.Recalls); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	for _, x := range []struct {
		v *sql.NullTime
		p **time.Time
	}{{&due, &t.DueAt}, {&called, &t.CalledAt}, {&done, &t.DoneAt}} {
		if x.v.Valid {
			v := x.v.Time.UTC()
			*x.p = &v
		}
	}
	t.TakenAt = t.TakenAt.UTC()
	return t, nil
}

// TakeTicket gives a walk-in a ticket for a service at an office open now
// (and not about to close); it returns the ticket and the token of its
// link, which only its holder has.
func (s *Store) TakeTicket(ctx context.Context, o *Office, serviceID, channel, sex string) (*Ticket, string, error) {
	now := s.now()
	if o.Hours == nil || !o.Hours.OpenAt(now) || !o.Hours.OpenAt(now.Add(LastTicketBefore)) {
		return nil, "", ErrOfficeClosed
	}
	if channel != ChannelKiosk {
		channel = ChannelOnline
	}
	t := &Ticket{ID: tokens.ID(), OfficeID: o.ID, Day: dayOf(now), ServiceID: serviceID, Channel: channel, State: Waiting, TakenAt: now,
		Sex: ProvenSex(sex, true)}
	token := tokens.Secret(24)
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		return s.insertTicket(ctx, tx, t, token)
	})
	if err != nil {
		return nil, "", err
	}
	return t, token, nil
}

// insertTicket numbers the ticket (the day's next number, one upsert) and
// stores it.
func (s *Store) insertTicket(ctx context.Context, tx *sql.Tx, t *Ticket, token string) error {
	if err := tx.QueryRowContext(ctx, `INSERT INTO queue_days (office_id, day, last_number) VALUES ($1, $2, 1)
		ON CONFLICT (office_id, day) DO UPDATE SET last_number = queue_days.last_number + 1 RETURNING last_number`,
		t.OfficeID, t.Day).Scan(&t.Number); err != nil {
		return err
	}
	if t.Number > MaxTicketsADay {
		return ErrQueueFull
	}
	if t.Channel == ChannelOnline {
		// Counted after the day's row is locked (the upsert above): the
		// tickets of one office are numbered one at a time.
		var waiting int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_tickets WHERE office_id = $1 AND day = $2 AND state = 'waiting' AND channel = 'online'`,
			t.OfficeID, t.Day).Scan(&waiting); err != nil {
			return err
		}
		if waiting >= MaxOnlineWaiting {
			return ErrTooManyOnline
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO queue_tickets (id, office_id, day, number, service_id, booking_id, channel, state, token_hash, taken_at, due_at, sex)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.ID, t.OfficeID, t.Day, t.Number, t.ServiceID, t.BookingID, t.Channel, t.State, tokens.Hash(token), t.TakenAt, t.DueAt, t.Sex)
	return err
}

// CheckIn puts a booked resident in the queue of their appointment's
// office: only on its day and at that office, once (a second check-in
// returns the first ticket).
func (s *Store) CheckIn(ctx context.Context, officeID, code string) (*Ticket, string, error) {
	now := s.now()
	b, err := scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM bookings WHERE code = $1`, code))
	if err != nil {
		return nil, "", err
	}
	if b.OfficeID != officeID || b.State != Confirmed || dayOf(b.Start) != dayOf(now) || now.After(b.End) {
		return nil, "", ErrNotToday
	}
	due := b.Start
	t := &Ticket{ID: tokens.ID(), OfficeID: officeID, Day: dayOf(now), ServiceID: b.ServiceID, BookingID: b.ID, Channel: ChannelCheckIn,
		State: Waiting, TakenAt: now, DueAt: &due}
	token := tokens.Secret(24)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_tickets WHERE booking_id = $1`, b.ID).Scan(&n); err != nil || n > 0 {
			if err == nil {
				err = errCheckedIn
			}
			return err
		}
		// The booker's sex as the booking recorded it (proven or "").
		if err := tx.QueryRowContext(ctx, `SELECT sex FROM bookings WHERE id = $1`, b.ID).Scan(&t.Sex); err != nil {
			return err
		}
		return s.insertTicket(ctx, tx, t, token)
	})
	if errors.Is(err, errCheckedIn) || db.IsUniqueViolation(err) {
		// Checked in already (or at the same instant): the same ticket,
		// back in the queue if it had been withdrawn or marked absent
		// (whoever knew the code could have withdrawn it), with a new
		// link for whoever checks in now.
		res, err := s.DB.ExecContext(ctx, `UPDATE queue_tickets SET state = 'waiting', token_hash = $1, taken_at = $2, called_at = NULL, done_at = NULL, counter = ''
			WHERE booking_id = $3 AND state IN ('withdrawn', 'skipped')`, tokens.Hash(token), now, b.ID)
		if err != nil {
			return nil, "", err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			token = ""
		}
		t, err = scanTicket(s.DB.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM queue_tickets WHERE booking_id = $1`, b.ID))
		return t, token, err
	}
	if err != nil {
		return nil, "", err
	}
	return t, token, nil
}

var errCheckedIn = errors.New("booking: checked in already")

// TicketByToken is the ticket a link's token names.
func (s *Store) TicketByToken(ctx context.Context, token string) (*Ticket, error) {
	if token == "" || len(token) > 64 {
		return nil, ErrNotFound
	}
	return scanTicket(s.DB.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM queue_tickets WHERE token_hash = $1`, tokens.Hash(token)))
}

// Withdraw takes a waiting ticket out of the queue (its holder leaves).
func (s *Store) Withdraw(ctx context.Context, token string) (*Ticket, error) {
	t, err := s.TicketByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE queue_tickets SET state = 'withdrawn', done_at = $1 WHERE id = $2 AND state = 'waiting'`, s.now(), t.ID)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrTicketState
	}
	t.State = Withdrawn
	return t, nil
}

// Queue is an office's queue of today as the operators and the display
// see it. Every read is bounded: the first QueuePage waiting, the last
// calls, counts from the indexes.
type Queue struct {
	OfficeID, Day string
	// Waiting are the first QueuePage in call order: checked-in bookings
	// due now first, then the walk-ins by number, then the bookings due
	// later; WaitingCount counts them all.
	Waiting      []*Ticket
	WaitingCount int
	// Called are the tickets at a counter now, the latest call first.
	Called []*Ticket
	// Recent are the last calls, for the display (the latest first).
	Recent []*Ticket
	// ServiceTime is the estimate of one service (recent served tickets'
	// median); Counters the counters that called in the last hour (at
	// least 1).
	ServiceTime time.Duration
	Counters    int
	// Version changes at every call: the display's marker.
	Version int
	now     time.Time
}

// QueuePage is how many waiting tickets the console lists.
const QueuePage = 50

// The three ranks of the call order, as SQL conditions on a waiting
// ticket ($3 is now plus BookedEarly).
const (
	rankDueNow   = `due_at IS NOT NULL AND due_at <= $3`
	rankWalkIn   = `due_at IS NULL`
	rankDueLater = `due_at IS NOT NULL AND due_at > $3`
)

// waiting reads the first n waiting tickets of an office's day in call
// order: each rank from its index, at most n rows each.
func (s *Store) waiting(ctx context.Context, office, day string, now time.Time, n int) ([]*Ticket, error) {
	var out []*Ticket
	due := now.Add(BookedEarly)
	for _, q := range []struct {
		cond string
		args []any
	}{
		{rankDueNow + ` ORDER BY due_at, number LIMIT $4`, []any{office, day, due}},
		{`due_at IS NULL ORDER BY number LIMIT $3`, []any{office, day}},
		{rankDueLater + ` ORDER BY due_at, number LIMIT $4`, []any{office, day, due}},
	} {
		if len(out) >= n {
			break
		}
		rows, err := s.DB.QueryContext(ctx, `SELECT `+ticketColumns+` FROM queue_tickets WHERE office_id = $1 AND day = $2 AND state = 'waiting' AND `+q.cond, // #nosec G202 -- cond is one of this file's constants
			append(q.args, n-len(out))...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			t, err := scanTicket(rows)
			if err != nil {
				_ = rows.Close()
				return nil, err
			}
			out = append(out, t)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Today reads an office's queue of today.
func (s *Store) Today(ctx context.Context, officeID string) (*Queue, error) {
	now := s.now()
	q := &Queue{OfficeID: officeID, Day: dayOf(now), Counters: 1, ServiceTime: DefaultServiceTime, now: now}
	var err error
	if q.Waiting, err = s.waiting(ctx, officeID, q.Day, now, QueuePage); err != nil {
		return nil, err
	}
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_tickets WHERE office_id = $1 AND day = $2 AND state = 'waiting'`, officeID, q.Day).
		Scan(&q.WaitingCount); err != nil {
		return nil, err
	}
	if err := s.DB.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM queue_days WHERE office_id = $1 AND day = $2`, officeID, q.Day).
		Scan(&q.Version); err != nil {
		return nil, err
	}
	if q.Called, err = s.tickets(ctx, `WHERE office_id = $1 AND day = $2 AND state = 'called' ORDER BY called_at DESC LIMIT 50`, officeID, q.Day); err != nil {
		return nil, err
	}
	if q.Recent, err = s.tickets(ctx, `WHERE office_id = $1 AND day = $2 AND called_at IS NOT NULL ORDER BY called_at DESC LIMIT 6`, officeID, q.Day); err != nil {
		return nil, err
	}
	// The estimate: the median service of the last 20 served in the last
	// hours, and the counters at work (calling now, or served in the last
	// hour).
	served, err := s.DB.QueryContext(ctx, `SELECT called_at, done_at, counter FROM queue_tickets WHERE office_id = $1 AND state = 'served'
		AND done_at >= $2 ORDER BY done_at DESC LIMIT 20`, officeID, now.Add(-8*time.Hour))
	if err != nil {
		return nil, err
	}
	defer served.Close()
	counters := map[string]bool{}
	var lengths []time.Duration
	for served.Next() {
		var called, done time.Time
		var counter string
		if err := served.Scan(&called, &done, &counter); err != nil {
			return nil, err
		}
		if d := done.Sub(called); d > 0 {
			lengths = append(lengths, d)
		}
		if now.Sub(done) < time.Hour {
			counters[counter] = true
		}
	}
	if err := served.Err(); err != nil {
		return nil, err
	}
	for _, t := range q.Called {
		counters[t.Counter] = true
	}
	if len(lengths) > 0 {
		sort.Slice(lengths, func(a, b int) bool { return lengths[a] < lengths[b] })
		q.ServiceTime = max(time.Minute, lengths[len(lengths)/2].Round(time.Minute))
	}
	q.Counters = max(1, len(counters))
	return q, nil
}

func (s *Store) tickets(ctx context.Context, where string, args ...any) ([]*Ticket, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+ticketColumns+` FROM queue_tickets `+where, args...) // #nosec G202 -- where is one of this file's constants
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Wait is the estimated wait of whoever has ahead people before them.
func (q *Queue) Wait(ahead int) time.Duration {
	rounds := ahead/q.Counters + 1 // the round of calls that reaches them
	return time.Duration(rounds-1)*q.ServiceTime + q.ServiceTime/2
}

// Ahead counts the waiting tickets called before t, in the call order at
// the queue's instant (one count on the indexes).
func (s *Store) Ahead(ctx context.Context, q *Queue, t *Ticket) (int, error) {
	var before string
	args := []any{t.OfficeID, t.Day, q.now.Add(BookedEarly), t.ID, t.Number}
	switch {
	case t.DueAt != nil && !t.DueAt.After(q.now.Add(BookedEarly)):
		args = append(args, *t.DueAt)
		before = `(` + rankDueNow + ` AND (due_at < $6 OR (due_at = $6 AND number < $5)))`
	case t.DueAt == nil:
		before = `(` + rankDueNow + `) OR (` + rankWalkIn + ` AND number < $5)`
	default:
		args = append(args, *t.DueAt)
		before = `(` + rankDueNow + `) OR (` + rankWalkIn + `) OR (` + rankDueLater + ` AND (due_at < $6 OR (due_at = $6 AND number < $5)))`
	}
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_tickets WHERE office_id = $1 AND day = $2 AND state = 'waiting' AND id <> $4 AND (`+before+`)`, args...). // #nosec G202 -- before is built from this file's constants
																						Scan(&n)
	return n, err
}

// CallNext calls the first ticket in call order to a counter. Two
// operators calling at once get two different tickets: the call is a
// conditional update of a waiting ticket, retried on the next one when
// another operator took it first.
func (s *Store) CallNext(ctx context.Context, officeID, counter, operator string) (*Ticket, error) {
	for range 5 {
		now := s.now()
		list, err := s.waiting(ctx, officeID, dayOf(now), now, 5)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, ErrNobody
		}
		for _, t := range list {
			ok, err := s.call(ctx, t, counter, operator)
			if err != nil {
				return nil, err
			}
			if ok {
				return t, nil
			}
		}
	}
	return nil, ErrNobody
}

// call moves one waiting ticket to a counter and marks the day's change,
// in one transaction; false if another operator called it first.
func (s *Store) call(ctx context.Context, t *Ticket, counter, operator string) (bool, error) {
	now := s.now()
	called := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE queue_tickets SET state = 'called', called_at = $1, counter = $2, called_by = $3
			WHERE id = $4 AND state = 'waiting'`, now, counter, operator, t.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		called = true
		return s.bump(ctx, tx, t.OfficeID, t.Day)
	})
	if called {
		t.State, t.CalledAt, t.Counter = Called, &now, counter
	}
	return called, err
}

func (s *Store) bump(ctx context.Context, tx *sql.Tx, office, day string) error {
	_, err := tx.ExecContext(ctx, `UPDATE queue_days SET version = version + 1 WHERE office_id = $1 AND day = $2`, office, day)
	return err
}

// Ticket reads a ticket of an office (the operators' actions name it by id).
func (s *Store) Ticket(ctx context.Context, officeID, id string) (*Ticket, error) {
	return scanTicket(s.DB.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM queue_tickets WHERE id = $1 AND office_id = $2`, id, officeID))
}

// Recall shows a called ticket on the display again.
func (s *Store) Recall(ctx context.Context, officeID, id string) (*Ticket, error) {
	return s.finish(ctx, officeID, id, `recalls = recalls + 1, called_at = $1`, Called)
}

// Finish records the end of a called ticket: served, or skipped (the
// resident did not come to the counter). A checked-in booking's outcome
// is recorded with it.
func (s *Store) Finish(ctx context.Context, officeID, id string, state TicketState, operator string) (*Ticket, error) {
	if state != Served && state != Skipped {
		return nil, ErrTicketState
	}
	t, err := s.finish(ctx, officeID, id, `state = '`+string(state)+`', done_at = $1`, state)
	if err != nil || t.BookingID == "" {
		return t, err
	}
	outcome := "served"
	if state == Skipped {
		outcome = "no_show"
	}
	return t, s.SetOutcome(ctx, t.BookingID, outcome, operator)
}

// finish applies set (whose $1 is now) to a called ticket of the office.
func (s *Store) finish(ctx context.Context, officeID, id, set string, state TicketState) (*Ticket, error) {
	now := s.now()
	var t *Ticket
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE queue_tickets SET `+set+` WHERE id = $2 AND office_id = $3 AND state = 'called'`, now, id, officeID) // #nosec G202 -- set is one of this file's constants
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTicketState
		}
		if t, err = scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM queue_tickets WHERE id = $1`, id)); err != nil {
			return err
		}
		return s.bump(ctx, tx, officeID, t.Day)
	})
	if err != nil {
		return nil, err
	}
	t.State = state
	return t, nil
}

// Outcomes of an appointment.
const (
	OutcomeServed = "served"
	OutcomeNoShow = "no_show"
)

// SetOutcome records what became of an appointment (the first word
// stands: an outcome is not rewritten).
func (s *Store) SetOutcome(ctx context.Context, bookingID, outcome, operator string) error {
	if outcome != OutcomeServed && outcome != OutcomeNoShow {
		return ErrTicketState
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO booking_outcomes (booking_id, outcome, at, by_account) VALUES ($1, $2, $3, $4)
		ON CONFLICT (booking_id) DO NOTHING`, bookingID, outcome, s.now(), operator)
	return err
}

// Outcomes reads the recorded outcomes of some bookings.
func (s *Store) Outcomes(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	in := ""
	for i, id := range ids {
		args[i] = id
		if i > 0 {
			in += ", "
		}
		in += "$" + strconv.Itoa(i+1)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT booking_id, outcome FROM booking_outcomes WHERE booking_id IN (`+in+`)`, args...) // #nosec G202 -- placeholders only
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, o string
		if err := rows.Scan(&id, &o); err != nil {
			return nil, err
		}
		out[id] = o
	}
	return out, rows.Err()
}

// Version is the office's change marker of today (the display polls it).
func (s *Store) Version(ctx context.Context, officeID string) (int, error) {
	var v int
	err := s.DB.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM queue_days WHERE office_id = $1 AND day = $2`, officeID, dayOf(s.now())).Scan(&v)
	return v, err
}

// OfficeBooking reads a booking at an office (the operators' view: another
// office's is not found).
func (s *Store) OfficeBooking(ctx context.Context, officeID, id string) (*Booking, error) {
	return scan(s.DB.QueryRowContext(ctx, `SELECT `+columns+` FROM bookings WHERE id = $1 AND office_id = $2`, id, officeID))
}
