package dashboard

import (
	"math"
	"sort"
)

// Threshold is the disclosure control of the public figures (README,
// "Cruscotto": "Disclosure control"): a count from 1 to Threshold-1 is
// withheld from the public page and the open data, and so is any other
// count that would let it be computed back from what is published. The
// statistics office's page shows every figure exactly.
const Threshold = 5

// Protect decides which of the published quantities to withhold. cells
// are the counts the figures are sums of; sums are the published
// quantities, each the list of the cells it adds up (a cell published by
// itself is the sum of one). It returns, for each sum, whether to
// withhold it:
//
//  1. Primary: every sum from 1 to Threshold-1.
//  2. Secondary, until nothing withheld can be recovered: a withheld sum
//     is recoverable when it is a linear combination of the published
//     ones (exactly: its vector of cells, restricted to the cells not
//     themselves published, lies in the span of the published sums'
//     vectors so restricted). For each one recoverable, a published cell
//     of an equation whose only unknown it is goes too (the smallest
//     count, zeros last), else a cell of any published sum sharing a
//     cell with it, else that sum; then the check starts again.
//
// It guards against recovery by subtraction (a total less the other
// cells) through any chain of published sums; it does not bound a
// withheld count between the values the published ones allow
// (intervals).
func Protect(cells []int64, sums [][]int) []bool {
	value := make([]int64, len(sums))
	for i, s := range sums {
		for _, c := range s {
			value[i] += cells[c]
		}
	}
	withheld := make([]bool, len(sums))
	for i, v := range value {
		withheld[i] = v > 0 && v < Threshold
	}
	// A round finds every withheld sum the published ones give away and
	// withholds one more for each, then checks again (a round costs an
	// elimination; one for each would cost as many).
	for {
		qs := recoverable(sums, withheld)
		if len(qs) == 0 {
			return withheld
		}
		for _, q := range qs {
			protect(q, sums, value, withheld)
		}
	}
}

// protect withholds one more published sum to hide withheld sum q.
func protect(q int, sums [][]int, value []int64, withheld []bool) {
	// A published cell of an equation that gives q away: a published
	// sum of several cells whose only withheld cell is in q. The
	// smallest count, a zero last (withholding a zero hides little);
	// else, recovered through a chain, of any published sum sharing
	// a cell with q; else that sum itself.
	in := map[int]bool{}
	for _, c := range sums[q] {
		in[c] = true
	}
	single := map[int]int{} // cell → its sum, when published alone
	for i, s := range sums {
		if len(s) == 1 && !withheld[i] {
			single[s[0]] = i
		}
	}
	pick := func(onlyOne bool) int {
		best := -1
		for k, s := range sums {
			if withheld[k] || len(s) < 2 || !shares(s, in) {
				continue
			}
			open := 0
			for _, c := range s {
				if _, ok := single[c]; !ok {
					open++
				}
			}
			if onlyOne && open != 1 {
				continue
			}
			for _, c := range s {
				i, ok := single[c]
				if !ok || in[c] {
					continue
				}
				if best < 0 || less(value[i], value[best]) {
					best = i
				}
			}
		}
		return best
	}
	best := pick(true)
	if best < 0 {
		best = pick(false)
	}
	if best < 0 {
		for i, s := range sums {
			if !withheld[i] && shares(s, in) {
				best = i
				break
			}
		}
	}
	if best >= 0 {
		withheld[best] = true
	}
}

// less orders the counts to withhold: the smallest first, a zero last.
func less(a, b int64) bool {
	if (a == 0) != (b == 0) {
		return b == 0
	}
	return a < b
}

func shares(s []int, in map[int]bool) bool {
	for _, c := range s {
		if in[c] {
			return true
		}
	}
	return false
}

// recoverable are the withheld sums that the published ones give away.
func recoverable(sums [][]int, withheld []bool) []int {
	// The cells published by themselves are known; the unknown ones are
	// the coordinates of the question.
	known := map[int]bool{}
	for i, s := range sums {
		if !withheld[i] && len(s) == 1 {
			known[s[0]] = true
		}
	}
	unknown := map[int]int{}
	restrict := func(s []int) map[int]float64 {
		v := map[int]float64{}
		for _, c := range s {
			if !known[c] {
				if _, ok := unknown[c]; !ok {
					unknown[c] = len(unknown)
				}
				v[unknown[c]]++
			}
		}
		return v
	}
	// The published sums' restrictions, reduced to echelon form.
	var basis []map[int]float64
	var pivots []int
	reduce := func(v map[int]float64) map[int]float64 {
		for k, b := range basis {
			if f := v[pivots[k]]; f != 0 {
				for c, x := range b {
					v[c] -= f * x
					if math.Abs(v[c]) < 1e-9 {
						delete(v, c)
					}
				}
			}
		}
		return v
	}
	for i, s := range sums {
		if withheld[i] || len(s) == 1 {
			continue
		}
		v := reduce(restrict(s))
		if len(v) == 0 {
			continue
		}
		keys := make([]int, 0, len(v))
		for c := range v {
			keys = append(keys, c)
		}
		sort.Ints(keys)
		p := keys[0]
		f := v[p]
		for c := range v {
			v[c] /= f
		}
		// Keep the basis reduced: the new pivot out of the others.
		for k, b := range basis {
			if g := b[p]; g != 0 {
				for c, x := range v {
					b[c] -= g * x
					if math.Abs(b[c]) < 1e-9 {
						delete(b, c)
					}
				}
				basis[k] = b
			}
		}
		basis, pivots = append(basis, v), append(pivots, p)
	}
	var out []int
	for i, s := range sums {
		if withheld[i] {
			if len(reduce(restrict(s))) == 0 {
				out = append(out, i)
			}
		}
	}
	return out
}
