package schools

import (
	"cmp"
	"fmt"
	"slices"
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
