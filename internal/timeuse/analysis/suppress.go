package analysis

// suppress decides the disclosure status of every cell (cube group g on
// day, index g*4+day): SuppressedSize when it rests on fewer than minCell
// respondents (primary suppression), SuppressedSecondary when it must be
// hidden so that no suppressed cell can be recovered from published ones.
//
// The published indicators obey two kinds of additive relations: a group
// is the weighted sum of its children over any one key it leaves open
// (sex=F is the sum of sex=F&age_band=… over the age bands), and the week
// is 5/7 weekday + 1/7 Saturday + 1/7 Sunday of the same group. A relation
// with exactly one hidden member gives that member away, so the rule is:
// in every relation, no hidden cell or at least two. Where a relation has
// exactly one, the published member with the fewest respondents (the
// smallest loss of information) is hidden too, and the check repeats
// until no relation has a single hidden member. Empty cells (no
// respondents) are not published and take no part.
//
// This is the standard necessary condition of secondary suppression for
// tables linked by one-dimension totals; it does not solve the full
// linear-programming audit of every combination of relations (as tau-argus
// does), which is beyond a town's survey tables.
func suppress(cb cube, count func(g, day int) int, minCell int) []Status {
	st := make([]Status, cb.n*4)
	n := make([]int, cb.n*4)
	for g := range cb.n {
		for day := range 4 {
			c := count(g, day)
			n[g*4+day] = c
			if c > 0 && c < minCell {
				st[g*4+day] = SuppressedSize
			}
		}
	}
	hidden := func(i int) bool { return st[i] != Published }
	// fix makes a relation over members (indices into st) hold: when
	// exactly one non-empty member is hidden, hide the smallest published
	// one. It reports whether it changed anything.
	fix := func(members []int) bool {
		nh, pick := 0, -1
		for _, i := range members {
			if n[i] == 0 {
				continue
			}
			if hidden(i) {
				nh++
			} else if pick < 0 || n[i] < n[pick] {
				pick = i
			}
		}
		if nh != 1 || pick < 0 {
			return false
		}
		st[pick] = SuppressedSecondary
		return true
	}
	members := make([]int, 0, 16)
	for changed := true; changed; {
		changed = false
		for g := range cb.n {
			for k := range 5 {
				if cb.coord(g, k) != 0 {
					continue
				}
				for day := range 4 {
					members = append(members[:0], g*4+day)
					for x := 1; x < cb.radix[k]; x++ {
						members = append(members, (g+x*cb.stride[k])*4+day)
					}
					if fix(members) {
						changed = true
					}
				}
			}
			if n[g*4+3] > 0 && fix(append(members[:0], g*4, g*4+1, g*4+2, g*4+3)) {
				changed = true
			}
		}
	}
	return st
}
