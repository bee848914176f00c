package dashboard

import (
	"slices"
	"testing"
)

// table is a hand-made table of rows × columns with its row, column and
// grand totals published, as the public page publishes a figure by year
// and sex: the cells first, then the rows' totals, the columns', the
// grand total.
func table(rows [][]int64) ([]int64, [][]int) {
	var cells []int64
	var sums [][]int
	nc := len(rows[0])
	for _, r := range rows {
		for _, v := range r {
			sums = append(sums, []int{len(cells)})
			cells = append(cells, v)
		}
	}
	all := []int{}
	for r := range rows {
		var s []int
		for c := range nc {
			s = append(s, r*nc+c)
		}
		sums = append(sums, s)
		all = append(all, s...)
	}
	for c := range nc {
		var s []int
		for r := range rows {
			s = append(s, r*nc+c)
		}
		sums = append(sums, s)
	}
	return cells, append(sums, all)
}

func withheldOf(w []bool) []int {
	var out []int
	for i, x := range w {
		if x {
			out = append(out, i)
		}
	}
	return out
}

func TestProtect(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows [][]int64
		want []int // the sums withheld
	}{
		// Nothing small: everything published.
		{"no small count", [][]int64{{12, 20}, {7, 15}}, nil},
		// A zero is no small count.
		{"a zero", [][]int64{{0, 20}, {7, 15}}, nil},
		// 2×2 with one small cell: the other three must go, else a
		// total less the others gives it (the rows' and columns' totals
		// stay: 13, 20 and 11, 22 do not give a, b, c, d apart).
		{"2×2", [][]int64{{3, 10}, {8, 12}}, []int{0, 1, 2, 3}},
		// Three years by sex (F, M), 2009's women 3: row 2009 and
		// column F give it back unless a second cell of each goes; the
		// smallest (2010's women, 9) then its row's man (11) and 2009's
		// man close the square: 2008 stays.
		{"3×2", [][]int64{{12, 20}, {3, 15}, {9, 11}}, []int{2, 3, 4, 5}},
		// Two small cells in one row of three columns: they hide each
		// other in their row, but column totals give each back unless a
		// second row's cells go too.
		{"two small in a row", [][]int64{{2, 4, 30}, {10, 12, 40}}, []int{0, 1, 3, 4}},
		// A small row total: the grand total less the other rows gives it
		// whatever cells go, so more goes than a statistician would
		// choose (the heuristic over-suppresses; see below: nothing is
		// recoverable).
		{"a small row", [][]int64{{0, 2}, {20, 30}, {25, 35}}, []int{0, 1, 2, 3, 4, 5, 6, 7, 9, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cells, sums := table(tc.rows)
			w := Protect(cells, sums)
			got := withheldOf(w)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("withheld %v, want %v", got, want)
			}
			// Whatever is withheld is no combination of the published.
			if q := recoverable(sums, w); len(q) > 0 {
				t.Errorf("sums %v can be recovered", q)
			}
		})
	}
}

// The counter's wait is the queue's measured mean once it has enough
// tickets (each bucket counted at its middle, "60+" at 60), and the
// assumption before, or with a bucket it does not know.
func TestMeasuredWait(t *testing.T) {
	for _, tt := range []struct {
		n        map[string]int64
		minutes  float64
		tickets  int64
		measured bool
	}{
		{nil, WaitMinutes, 0, false},
		{map[string]int64{"0-10": 29}, WaitMinutes, 29, false},
		{map[string]int64{"0-10": 10, "10-20": 10, "60+": 10}, (50 + 150 + 600) / 30.0, 30, true},
		{map[string]int64{"20-30": 20, "30-60": 20}, 35, 40, true},
		{map[string]int64{"0-10": 40, "2-3": 1}, WaitMinutes, 0, false},
	} {
		m, n, ok := MeasuredWait(tt.n)
		if m != tt.minutes || n != tt.tickets || ok != tt.measured {
			t.Errorf("MeasuredWait(%v) = %v, %d, %v; want %v, %d, %v", tt.n, m, n, ok, tt.minutes, tt.tickets, tt.measured)
		}
	}
	if _, h := Saved(6, 45); h != 6*(TripMinutes+45)/60.0 {
		t.Errorf("Saved(6, 45) hours = %v", h)
	}
}
