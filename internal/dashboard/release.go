package dashboard

import (
	"slices"
	"strings"
	"sync"
)

// A public figure's cell: a counter's year, or a level's, by key and sex.
type baseCell struct {
	Figure, Period, Key, Sex string
	N                        int64
}

// Release is what the public sees of the counters (the public page and
// the open data), under disclosure control: each cell by year, key and
// sex, and the sums the page shows, each withheld or not (Protect).
type Release struct {
	cells    []baseCell
	sums     map[string]int
	withheld []bool

	mu      sync.Mutex
	missing map[string]bool
}

// Missing are the names of non-zero figures the page asked for that the
// release does not know (withheld, so shown as such): a page out of step
// with publicSums. Tests ask it after rendering.
func (r *Release) Missing() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.missing))
	for name := range r.missing {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Withheld reports whether the public sum or cell name, of value n, is
// withheld. A name the release does not know is the sum of no cell: a
// zero is shown, anything else withheld (a page's name out of step with
// publicSums shows nothing by mistake).
func (r *Release) Withheld(name string, n int64) bool {
	i, ok := r.sums[name]
	if !ok {
		if n != 0 {
			r.mu.Lock()
			if r.missing == nil {
				r.missing = map[string]bool{}
			}
			r.missing[name] = true
			r.mu.Unlock()
		}
		return n != 0
	}
	return r.withheld[i]
}

// cellName names a cell as a sum of one.
func cellName(figure, period, key, sex string) string {
	return "cell|" + figure + "|" + period + "|" + key + "|" + sex
}

// release protects the cells with the sums the public page publishes,
// figure by figure (no sum spans two figures).
func release(cells []baseCell) *Release {
	r := &Release{cells: cells, sums: map[string]int{}}
	byFigure := map[string][]int{}
	var order []string
	for i, c := range cells {
		if byFigure[c.Figure] == nil {
			order = append(order, c.Figure)
		}
		byFigure[c.Figure] = append(byFigure[c.Figure], i)
	}
	for _, figure := range order {
		idx := byFigure[figure]
		var names []string
		var sums [][]int
		agg := map[string][]int{}
		var aggOrder []string
		add := func(name string, i int) {
			if _, ok := agg[name]; !ok {
				aggOrder = append(aggOrder, name)
			}
			agg[name] = append(agg[name], i)
		}
		for _, i := range idx {
			c := cells[i]
			names, sums = append(names, cellName(c.Figure, c.Period, c.Key, c.Sex)), append(sums, []int{i})
			for _, name := range publicSums(c) {
				add(name, i)
			}
		}
		for _, name := range aggOrder {
			names, sums = append(names, name), append(sums, agg[name])
		}
		counts := make([]int64, len(cells))
		for i, c := range cells {
			counts[i] = c.N
		}
		w := Protect(counts, sums)
		for k, name := range names {
			r.sums[name] = len(r.withheld)
			r.withheld = append(r.withheld, w[k])
		}
	}
	return r
}

// publicSums are the names of the sums of the public page a cell is
// part of (web.go shows them by these names).
func publicSums(c baseCell) []string {
	f, y, k, s := c.Figure, c.Period, c.Key, c.Sex
	switch f {
	case Registrations, PINs:
		out := []string{f + "|" + y + "|" + s, f + "|" + y, f + "||" + s, f}
		if f == Registrations {
			out = append(out, f+"|m|"+y+"|"+k)
		}
		return out
	case Applications, Payments:
		what, channel, _ := strings.Cut(k, ":")
		if f == Applications {
			if channel != "online" {
				channel = "desk"
			}
			return []string{f + "|" + what + "|" + channel + "|" + s, f + "|" + what + "|" + channel, f + "||" + channel, f + "||" + channel + "|" + s}
		}
		out := []string{f + "|" + what + "|all|" + s, f + "|" + what + "|all", f + "||all"}
		if channel == "checkout" {
			out = append(out, f+"|"+what+"|online|"+s, f+"|"+what+"|online", f+"||online")
		}
		return out
	case QueueWaits, AppointmentWaits:
		_, bucket, _ := strings.Cut(k, ":")
		out := []string{f + "|" + y + "|" + bucket, f + "|" + y}
		return append(out, f+"||"+bucket+"|"+s, f+"||"+bucket)
	case Active30, Active90:
		return []string{f + "||" + s, f}
	case Open, Open + "_late":
		return []string{f + "|" + k + "|" + s, f + "|" + k}
	}
	return nil
}
