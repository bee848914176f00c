package sportello

import (
	"context"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/hours"
)

// Registration is one application registered, as the dashboard counts
// it: when, for which service, by which channel (online, counter) and the
// applicant's sex where their fiscal code gives it.
type Registration struct {
	At                    time.Time
	Service, Channel, Sex string
}

// Registered are the applications registered in [from, to): what the
// dashboard adds to its counters of channel shift as they happen.
func (s *Store) Registered(ctx context.Context, from, to time.Time) ([]Registration, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT registered_at, service_id, channel, fiscal_code FROM sportello_applications
		WHERE registered_at >= $1 AND registered_at < $2 ORDER BY registered_at`, from.UTC(), to.UTC())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []Registration
	for rows.Next() {
		var r Registration
		var code string
		if err := rows.Scan(&r.At, &r.Service, &r.Channel, &code); err != nil {
			return nil, err
		}
		if c, err := cf.Parse(code); err == nil {
			r.Sex = c.Sex()
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StateCount is how many applications are in a state now, by the
// applicant's sex, and how many of them are past their due day.
type StateCount struct {
	State, Sex string
	N, Late    int64
}

// States counts the open applications by state and the applicant's sex,
// with those past their due day (Rome) at now: the dashboard's
// applications by status and lateness, asked once a day.
func (s *Store) States(ctx context.Context, now time.Time) ([]StateCount, error) {
	today := now.In(hours.Rome).Format(time.DateOnly)
	rows, err := s.DB.QueryContext(ctx, `SELECT state, fiscal_code, due_on FROM sportello_applications WHERE phase = 'open'`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	tally := map[[2]string]*StateCount{}
	var order [][2]string
	for rows.Next() {
		var state, code, due string
		if err := rows.Scan(&state, &code, &due); err != nil {
			return nil, err
		}
		sex := ""
		if c, err := cf.Parse(code); err == nil {
			sex = c.Sex()
		}
		k := [2]string{state, sex}
		t := tally[k]
		if t == nil {
			t = &StateCount{State: state, Sex: sex}
			tally[k] = t
			order = append(order, k)
		}
		t.N++
		if due != "" && due < today {
			t.Late++
		}
	}
	out := make([]StateCount, 0, len(order))
	for _, k := range order {
		out = append(out, *tally[k])
	}
	return out, rows.Err()
}
