package partecipa

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// recompute is an attacker with everything published: the shown cells,
// every column's total (the question's results, and its number of
// answers for the totals column) and the rule that a group's choices add
// up to its total (single choice). It solves every row and column with a
// single unknown, again and again, and returns the hidden cells it worked
// out.
// determined lists the hidden cells whose value the published sums fix,
// taken all together: one equation per row (the choices less the total)
// and one per column (the column's total over the rows, published as the
// result), over the hidden cells as unknowns. A cell is fixed exactly when
// its unit vector lies in the span of the equations' rows, which Gaussian
// elimination tells by the rank: an attacker's whole linear algebra, not
// line by line.
func determined(cells [][]Cell) [][2]int {
	rows, cols := len(cells), len(cells[0])
	var vars [][2]int
	index := map[[2]int]int{}
	for i := range rows {
		for j := range cols {
			if cells[i][j].Hidden {
				index[[2]int{i, j}] = len(vars)
				vars = append(vars, [2]int{i, j})
			}
		}
	}
	var eqs [][]float64
	for i := range rows {
		e := make([]float64, len(vars))
		for j := range cols {
			if k, ok := index[[2]int{i, j}]; ok {
				e[k] = 1
				if j == cols-1 {
					e[k] = -1
				}
			}
		}
		eqs = append(eqs, e)
	}
	for j := range cols {
		e := make([]float64, len(vars))
		for i := range rows {
			if k, ok := index[[2]int{i, j}]; ok {
				e[k] = 1
			}
		}
		eqs = append(eqs, e)
	}
	base := rank(eqs)
	var out [][2]int
	for k, v := range vars {
		unit := make([]float64, len(vars))
		unit[k] = 1
		if rank(append(slices.Clone(eqs), unit)) == base {
			out = append(out, v)
		}
	}
	return out
}

func rank(m [][]float64) int {
	a := make([][]float64, len(m))
	for i := range m {
		a[i] = slices.Clone(m[i])
	}
	r := 0
	for c := 0; len(a) > 0 && c < len(a[0]) && r < len(a); c++ {
		p := -1
		for i := r; i < len(a); i++ {
			if math.Abs(a[i][c]) > 1e-9 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		a[r], a[p] = a[p], a[r]
		for i := range a {
			if i != r && math.Abs(a[i][c]) > 1e-9 {
				f := a[i][c] / a[r][c]
				for k := c; k < len(a[i]); k++ {
					a[i][k] -= f * a[r][k]
				}
			}
		}
		r++
	}
	return r
}

func recompute(n [][]int64, cells [][]Cell) [][2]int {
	known := make([][]bool, len(cells))
	val := make([][]int64, len(cells))
	for i := range cells {
		known[i] = make([]bool, len(cells[i]))
		val[i] = make([]int64, len(cells[i]))
		for j, c := range cells[i] {
			known[i][j], val[i][j] = !c.Hidden, c.N
		}
	}
	cols := len(n[0])
	colTotal := make([]int64, cols)
	for i := range n {
		for j := range cols {
			colTotal[j] += n[i][j]
		}
	}
	var found [][2]int
	for progress := true; progress; {
		progress = false
		// A row: the choices minus the total is zero.
		for i := range cells {
			unknown, at := 0, 0
			var sum int64
			for j := range cols {
				sign := int64(1)
				if j == cols-1 {
					sign = -1
				}
				if known[i][j] {
					sum += sign * val[i][j]
				} else {
					unknown, at = unknown+1, j
				}
			}
			if unknown == 1 {
				v := -sum
				if at == cols-1 {
					v = sum
				}
				known[i][at], val[i][at], progress = true, v, true
				found = append(found, [2]int{i, at})
			}
		}
		// A column: adds up to its published total.
		for j := range cols {
			unknown, at := 0, 0
			sum := int64(0)
			for i := range cells {
				if known[i][j] {
					sum += val[i][j]
				} else {
					unknown, at = unknown+1, i
				}
			}
			if unknown == 1 {
				known[at][j], val[at][j], progress = true, colTotal[j]-sum, true
				found = append(found, [2]int{at, j})
			}
		}
	}
	return found
}

// Secondary suppression is not undone by the totals: for thousands of
// tables of single-choice answers by group, nothing shown stands for
// fewer than the smallest cell, and an attacker who knows every
// published number (shown cells, group totals, answer totals, number of
// answers) works out no hidden cell.
func TestSuppressionCannotBeRecomputed(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 5))
	const min = 10
	for trial := range 5000 {
		groups, choices := 2+rng.IntN(5), 2+rng.IntN(5)
		n := make([][]int64, groups)
		for i := range n {
			var total int64
			for range choices {
				v := int64(rng.IntN(40))
				if rng.IntN(3) == 0 {
					v = int64(rng.IntN(min))
				}
				n[i] = append(n[i], v)
				total += v
			}
			n[i] = append(n[i], total)
		}
		cells := Suppress(n, min)
		for i := range cells {
			for _, c := range cells[i] {
				if !c.Hidden && c.N < min {
					t.Fatalf("trial %d: a cell of %d shown", trial, c.N)
				}
			}
		}
		if found := recompute(n, cells); len(found) > 0 {
			t.Fatalf("trial %d: %v\n%v\nhidden cells worked out from the totals: %v", trial, n, cells, found)
		}
		if found := determined(cells); len(found) > 0 {
			t.Fatalf("trial %d: %v\n%v\nhidden cells fixed by the sums taken together: %v", trial, n, cells, found)
		}
	}
	// The outside review's table (M1): no line has one hidden cell, yet
	// rows 0 and 3 with columns A and B pin the cell of row 3, column D.
	m1 := [][]int64{{1, 0, 21, 17, 39}, {17, 10, 7, 7, 41}, {21, 24, 21, 21, 87}, {8, 7, 16, 1, 32}, {22, 23, 15, 5, 65}, {17, 21, 6, 13, 57}}
	if found := determined(Suppress(m1, min)); len(found) > 0 {
		t.Fatalf("the review's table: hidden cells fixed by the sums: %v", found)
	}
	// The case of the outside review: one small cell in a row.
	n := [][]int64{{3, 40, 43}, {25, 30, 55}}
	cells := Suppress(n, min)
	if !cells[0][0].Hidden || len(recompute(n, cells)) > 0 {
		t.Fatalf("one small cell: %v", cells)
	}
}

// Breakdowns are counts per dimension kept by the mix, never beside a
// ballot: the fresh rows hold no subject and are gone after the mix; they
// are published only once the consultation closed (not while live
// results show), their columns add up to the results, and an editable
// consultation keeps none.
func TestBreakdownsAreCountsShownAfterClosing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		s.MinCell = 1
		ctx := context.Background()
		c := newConsultation(t, s, assurance.High, false)
		for i := range 9 {
			v := resident(fmt.Sprint("sub-", i), assurance.High)
			v.Sex = []string{"F", "M"}[i%2]
			choice := "nord"
			if i >= 6 {
				choice = "ghirlanda"
			}
			if _, err := s.Cast(ctx, c, v, answers(choice, "3")); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CastCounter(ctx, c, deskOperator, counterResident("desk-1"), answers("nord", "3")); err != nil {
			t.Fatal(err)
		}
		var fresh int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_breakdown_fresh`).Scan(&fresh)
		if fresh != 30 {
			t.Fatalf("%d fresh breakdown rows for 10 ballots, want 30", fresh)
		}
		var leak int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_breakdown_fresh WHERE answers LIKE '%sub-%' OR id LIKE '%sub-%'`).Scan(&leak)
		if leak != 0 {
			t.Fatal("a fresh breakdown row names a subject")
		}
		if err := s.MixFresh(ctx); err != nil {
			t.Fatal(err)
		}
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_breakdown_fresh`).Scan(&fresh)
		if fresh != 0 {
			t.Fatalf("%d fresh breakdown rows left after the mix", fresh)
		}
		if bd, err := s.Breakdowns(ctx, c); err != nil || bd != nil {
			t.Fatalf("breakdowns of an open consultation: %v, %v", bd, err)
		}
		if err := s.Close(ctx, c.ID, "office"); err != nil {
			t.Fatal(err)
		}
		if err := s.MixFresh(ctx); err != nil {
			t.Fatal(err)
		}
		c, _ = s.Get(ctx, c.ID, false)
		bd, err := s.Breakdowns(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := s.Results(ctx, c)
		var sex *BreakdownTable
		for i := range bd {
			if bd[i].Question.ID == "parco" && bd[i].Dimension == "sex" {
				sex = &bd[i]
			}
		}
		if sex == nil || len(sex.Groups) != 2 {
			t.Fatalf("no table of parco by sex: %+v", bd)
		}
		// F: sub-0,2,4 nord, sub-6,8 ghirlanda, desk-1 nord: 4 nord, 2 ghirlanda.
		want := [][]int64{{4, 2, 6}, {3, 1, 4}}
		for i := range want {
			for j := range want[i] {
				if sex.Cells[i][j].N != want[i][j] || sex.Cells[i][j].Hidden {
					t.Fatalf("parco by sex: %+v, want %v", sex.Cells, want)
				}
			}
		}
		// Columns add up to the published results (verified, counter in).
		nord := res.Questions[0].Rows[0].N
		if nord[Verified]+nord[Counter] != 7 {
			t.Fatalf("the results' nord %v, the breakdown's 7", nord)
		}
		// With cells of at least 2: the men's 1 is hidden, and another of
		// its row and of its column, so the totals do not give it away.
		s.MinCell = 2
		if bd, err = s.Breakdowns(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, t2 := range bd {
			if t2.Question.ID == "parco" && t2.Dimension == "sex" {
				if !t2.Cells[1][1].Hidden || len(recompute(want, t2.Cells)) > 0 {
					t.Fatalf("parco by sex, cells of 2: %+v", t2.Cells)
				}
			}
		}
		// The district table has one group only: not published.
		for _, t2 := range bd {
			if t2.Dimension == "district" {
				t.Fatalf("a district table of one group: %+v", t2)
			}
		}
		// An editable consultation keeps no breakdowns.
		e := newConsultation(t, s, assurance.High, true)
		if _, err := s.Cast(ctx, e, resident("sub-e", assurance.High), answers("nord", "3")); err != nil {
			t.Fatal(err)
		}
		var rows int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_breakdown_fresh WHERE consultation_id = $1`, e.ID).Scan(&rows)
		if rows != 0 {
			t.Fatalf("%d breakdown rows of an editable consultation", rows)
		}
	})
}
