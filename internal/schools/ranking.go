package schools

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Mode is how a service's places are given: first come by commit order,
// or by a ranking computed when the window closes.
type Mode string

// The modes.
const (
	FirstCome Mode = "first_come"
	Ranking   Mode = "ranking"
)

// Points are a ranking's points by criterion, set per service by the
// office: a child resident in the town (read from the population
// register, not declared), a sibling already using the service (declared),
// both parents working, or the one parent of a one-parent household
// (declared).
type Points struct {
	Resident       int `json:"resident"`
	Sibling        int `json:"sibling"`
	WorkingParents int `json:"working_parents"`
}

// MaxPoints bounds each criterion's points.
const MaxPoints = 1000

// Validate says whether the points are usable.
func (p Points) Validate() error {
	for _, v := range []int{p.Resident, p.Sibling, p.WorkingParents} {
		if v < 0 || v > MaxPoints {
			return fmt.Errorf("points from 0 to %d", MaxPoints)
		}
	}
	return nil
}

// Score is what an enrolment earns.
func (p Points) Score(resident, sibling, workingParents bool) int {
	n := 0
	if resident {
		n += p.Resident
	}
	if sibling {
		n += p.Sibling
	}
	if workingParents {
		n += p.WorkingParents
	}
	return n
}

// Candidate is an enrolment as the ranking reads it.
type Candidate struct {
	ID     string
	Points int
	// ISEE in cents; nil: none declared.
	ISEE *int64
	// Seq is the order the enrolments were received in (commit order).
	Seq int
}

// Rank orders a unit's candidates: more points first; between equal
// points the lower ISEE first, and a candidate without an ISEE after
// every one with (the smaller means first, as the tariffs do); then the
// earlier received (Seq, unique in the unit). The order is total, so the
// ranking is the same whoever computes it and however often.
func Rank(list []Candidate) []Candidate {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b Candidate) int {
		if c := cmp.Compare(b.Points, a.Points); c != 0 {
			return c
		}
		switch {
		case a.ISEE != nil && b.ISEE == nil:
			return -1
		case a.ISEE == nil && b.ISEE != nil:
			return 1
		case a.ISEE != nil && b.ISEE != nil:
			if c := cmp.Compare(*a.ISEE, *b.ISEE); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	return out
}

// RankDue applies the ranking of every service by ranking whose window
// has closed and whose ranking is not applied yet, and returns how many
// it ranked. It is the periodic job's (every minute, once across the
// processes), safe to run twice at once: each service is claimed by
// setting its ranked_at in the ranking's transaction. A service that
// fails is logged and skipped: the error returned joins the failures.
func (s *Store) RankDue(ctx context.Context) (int, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM schools_services WHERE mode = 'ranking' AND ranked_at IS NULL AND closes_at <= $1 ORDER BY closes_at, id LIMIT $2`,
		s.now(), PageSize)
	if err != nil {
		return 0, fmt.Errorf("schools: rankings due: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	// A service whose ranking fails (the register does not answer, a
	// conflict) is logged and left to the next run: the others due are
	// ranked (outside review S5).
	n := 0
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return n, errors.Join(append(errs, err)...)
		}
		done, err := s.ApplyRanking(ctx, id)
		if err != nil {
			if s.Log != nil {
				s.Log.Error("schools: ranking failed, tried again at the next run", "service", id, "err", err)
			}
			errs = append(errs, fmt.Errorf("service %s: %w", id, err))
			continue
		}
		if done {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// ApplyRanking applies a closed service's ranking, in one transaction: the
// service claimed (ranked_at set, or false when it was ranked before or
// is not by ranking or still open), then unit by unit, each unit's row
// held, its pending enrolments ranked (Rank: points, ISEE, order
// received), the first ones accepted up to the places, the others on the
// waiting list in rank order (seq is the rank, so the waiting list and
// its promotions then work as first come), and every parent mailed.
// Residence is read from the register before the transaction.
func (s *Store) ApplyRanking(ctx context.Context, serviceID string) (bool, error) {
	svc, err := s.Service(ctx, serviceID)
	if err != nil {
		return false, err
	}
	now := s.now()
	if svc.Mode != Ranking || svc.RankedAt != nil || now.Before(svc.ClosesAt) {
		return false, nil
	}
	resident, err := s.residents(ctx, serviceID)
	if err != nil {
		return false, err
	}
	var counts map[string]string
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		claim, err := tx.ExecContext(ctx, `UPDATE schools_services SET ranked_at = $2 WHERE id = $1 AND mode = 'ranking' AND ranked_at IS NULL
			AND closes_at <= $2`, serviceID, now)
		if err != nil {
			return err
		}
		if n, err := claim.RowsAffected(); err != nil || n == 0 {
			return err // ranked by another process meanwhile, or its window moved on
		}
		accepted, waiting := 0, 0
		for _, u := range svc.Units {
			var capacity, taken, wait int
			if err := tx.QueryRowContext(ctx, `SELECT capacity, taken, waiting FROM schools_units WHERE id = $1`+s.DB.ForUpdate(), u.ID).Scan(&capacity, &taken, &wait); err != nil {
				return err
			}
			list, err := s.pending(ctx, tx, u.ID)
			if err != nil {
				return err
			}
			cands := make([]Candidate, 0, len(list))
			byID := map[string]*Enrolment{}
			for _, e := range list {
				isResident, ok := resident[e.ChildFC]
				if !ok {
					return fmt.Errorf("schools: ranking %s: enrolment %s came after the register was read", serviceID, e.ID)
				}
				e.Points = svc.Points.Score(isResident, e.SiblingDeclared, e.WorkingParents)
				cands = append(cands, Candidate{ID: e.ID, Points: e.Points, ISEE: e.ISEE, Seq: e.Seq})
				byID[e.ID] = e
			}
			for i, c := range Rank(cands) {
				e := byID[c.ID]
				e.Seq, e.UpdatedAt = i+1, now
				if taken < capacity {
					taken++
					e.Status, e.Position = Accepted, 0
				} else {
					wait++
					e.Status, e.Position = Waiting, wait
				}
				var acceptedAt any // NULL: waiting
				if e.Status == Accepted {
					acceptedAt = now
				}
				if _, err := tx.ExecContext(ctx, `UPDATE schools_enrolments SET status = $2, seq = $3, points = $4, updated_at = $5, accepted_at = $6 WHERE id = $1`,
					e.ID, string(e.Status), e.Seq, e.Points, now, acceptedAt); err != nil {
					return err
				}
				if s.Letters != nil {
					if err := s.Letters(ctx, tx, e, "ranked_"+string(e.Status)); err != nil {
						return err
					}
				}
			}
			// Later enrolments (a window opened again) number after the ranked.
			if _, err := tx.ExecContext(ctx, `UPDATE schools_units SET taken = $2, waiting = $3, queued = $4, last_outcome = '' WHERE id = $1`,
				u.ID, taken, wait, len(cands)); err != nil {
				return err
			}
			accepted, waiting = accepted+taken, waiting+wait
		}
		counts = map[string]string{"accepted": strconv.Itoa(accepted), "waiting": strconv.Itoa(waiting)}
		return s.audit(ctx, tx, Actor{Name: "system"}, "schools.ranking.applied", "schools_service:"+serviceID, counts)
	})
	if err != nil {
		return false, fmt.Errorf("schools: ranking: %w", err)
	}
	return counts != nil, nil
}

// pending are a unit's enrolments waiting for the ranking.
func (s *Store) pending(ctx context.Context, tx *sql.Tx, unitID string) ([]*Enrolment, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+enrolmentColumns+enrolmentFrom+` WHERE e.unit_id = $1 AND e.status = 'pending' ORDER BY e.seq`, unitID)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []*Enrolment
	for rows.Next() {
		e, err := scanEnrolment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// residents reads, for the children pending in a service, whether the
// population register holds them (nil Resident: everyone is).
func (s *Store) residents(ctx context.Context, serviceID string) (map[string]bool, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT child_fc FROM schools_enrolments WHERE service_id = $1 AND status = 'pending'`, serviceID)
	if err != nil {
		return nil, err
	}
	var codes []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			_ = rows.Close()
			return nil, err
		}
		codes = append(codes, c)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(codes))
	for _, c := range codes {
		ok := true
		if s.Resident != nil {
			var err error
			if ok, err = s.Resident(ctx, c); err != nil {
				return nil, err
			}
		}
		out[c] = ok
	}
	return out, nil
}
