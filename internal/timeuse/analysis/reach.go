package analysis

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Unavailable reports whether a person doing activity code cannot go to
// an office: asleep (01, sick in bed included), at work or in activities
// related to it (1), studying at school or university (2 except 22,
// free-time study), caring for a child (38) or an adult of the household
// (39), or travelling (9 except 99, unspecified time use). Secondary
// activities are not considered.
func Unavailable(code string) bool {
	switch {
	case code == "":
		return false
	case code[0] == '1':
		return true
	case code[0] == '2':
		return len(code) == 1 || code[1] != '2'
	case code[0] == '9':
		return len(code) == 1 || code[1] != '9'
	case len(code) >= 2:
		p := code[:2]
		return p == "01" || p == "38" || p == "39"
	}
	return false
}

// Opening is one opening of an office: on Weekday from From to To,
// minutes since midnight (9:00-12:30 is 540-750).
type Opening struct {
	Weekday  time.Weekday
	From, To int
}

// Office is a place residents go to, with its weekly openings and the
// travel time from home, one way, in minutes.
type Office struct {
	Name     string
	Openings []Opening
	Travel   int
}

// ReachOptions configure Reachability and Recommend. The zero value is
// the defaults.
type ReachOptions struct {
	MinFree int // consecutive minutes needed at the office; 0 means 30
	MinCell int // respondents a group needs to count; 0 means DefaultMinCell
	// The recommender's candidate openings: Length minutes (0 means 120)
	// starting every Step minutes (0 means 30) from Earliest (0 means
	// 07:00) with the end no later than Latest (0 means 21:00).
	Length, Step, Earliest, Latest int
}

func (o *ReachOptions) defaults() {
	if o.MinFree <= 0 {
		o.MinFree = 30
	}
	if o.MinCell <= 0 {
		o.MinCell = DefaultMinCell
	}
	if o.Length <= 0 {
		o.Length = 120
	}
	if o.Step <= 0 {
		o.Step = 30
	}
	if o.Earliest <= 0 {
		o.Earliest = 7 * 60
	}
	if o.Latest <= 0 {
		o.Latest = 21 * 60
	}
}

// GroupReach is a group's reachability: the weighted share of its weekday
// diaries with a window to reach at least one of the offices (Share) and
// each office (PerOffice).
type GroupReach struct {
	Group       string
	Respondents int  // respondents with a weekday diary
	Eligible    bool // Respondents >= MinCell: the group counts and may be published
	Share       float64
	PerOffice   []float64
}

// freeDay is a weekday diary's free intervals, in diary minutes.
type freeDay struct {
	cell int32
	w    float64
	iv   [][2]int
}

// window is an opening in diary minutes (0 is 04:00).
type window struct{ a, b int }

func windows(ops []Opening) []window {
	var out []window
	for _, op := range ops {
		if op.Weekday == time.Saturday || op.Weekday == time.Sunday || op.To <= op.From {
			continue
		}
		a, b := op.From-240, op.To-240
		if a < 0 { // before 04:00: the end of the previous diary day
			a, b = a+DayLength, b+DayLength
		}
		if b > DayLength {
			out = append(out, window{a, DayLength}, window{0, b - DayLength})
		} else {
			out = append(out, window{a, b})
		}
	}
	slices.SortFunc(out, func(x, y window) int { return x.a - y.a })
	return slices.Compact(out)
}

// reaches reports whether someone free during iv can spend MinFree
// minutes at an office open during w, travelling t minutes each way.
func reaches(iv [][2]int, ws []window, t, minFree int) bool {
	for _, w := range ws {
		for _, f := range iv {
			if max(w.a, f[0]+t)+minFree <= min(w.b, f[1]-t) {
				return true
			}
		}
	}
	return false
}

type reachModel struct {
	cb    cube
	days  []freeDay
	opt   ReachOptions
	nResp []int // per cube group: respondents with a weekday diary
	// base[o][j]: diary j reaches office o as it opens now (reach).
	base [][]bool
	// groups are the cube's groups with weekday diaries in the results'
	// order, names their names (reach).
	groups []int
	names  []string
}

func newReachModel(ds *Dataset, opt ReachOptions) (*reachModel, error) {
	opt.defaults()
	m := &reachModel{cb: newCube(), opt: opt}
	respCell := make(map[string]int32, len(ds.Respondents))
	for i := range ds.Respondents {
		r := &ds.Respondents[i]
		g := 0
		for k, v := range [5]string{r.Sex, r.AgeBand, r.Employment, r.Commuter, r.Children} {
			x := slices.Index(keyValues[k], v)
			if x < 0 {
				return nil, fmt.Errorf("respondent %q: %s %q is not a known value", r.ID, Keys[k], v)
			}
			g += (x + 1) * m.cb.stride[k]
		}
		respCell[r.ID] = int32(g)
	}
	idx := map[string]int{}
	seen := map[string]bool{}
	counted := make([]float64, m.cb.n)
	for i := range ds.Diaries {
		d := &ds.Diaries[i]
		if d.DayType != "weekday" {
			continue
		}
		c, ok := respCell[d.RespondentID]
		if !ok {
			return nil, fmt.Errorf("diary %q: respondent %q unknown", d.ID, d.RespondentID)
		}
		idx[d.ID] = len(m.days)
		m.days = append(m.days, freeDay{cell: c, w: d.Weight})
		if !seen[d.RespondentID] {
			seen[d.RespondentID] = true
			counted[c]++
		}
	}
	busy := make([][]bool, len(m.days))
	for i := range ds.Episodes {
		e := &ds.Episodes[i]
		j, ok := idx[e.DiaryID]
		if !ok {
			continue
		}
		if busy[j] == nil {
			busy[j] = make([]bool, DayLength)
		}
		if Unavailable(e.Activity) {
			for t := e.Start; t < e.End; t++ {
				busy[j][t] = true
			}
		}
	}
	for j := range m.days {
		start := -1
		for t := 0; t <= DayLength; t++ {
			free := t < DayLength && busy[j] != nil && !busy[j][t]
			switch {
			case free && start < 0:
				start = t
			case !free && start >= 0:
				m.days[j].iv = append(m.days[j].iv, [2]int{start, t})
				start = -1
			}
		}
	}
	m.cb.rollup(counted, 1)
	m.nResp = make([]int, m.cb.n)
	for g, c := range counted {
		m.nResp[g] = int(c)
	}
	return m, nil
}

// rollup sums the finest cells of v (width floats per group) into every
// group, as Compute does.
func (c cube) rollup(v []float64, width int) {
	for k := range 5 {
		for g := range c.n {
			if c.coord(g, k) != 0 {
				continue
			}
			dst := v[g*width : (g+1)*width]
			for x := 1; x < c.radix[k]; x++ {
				src := v[(g+x*c.stride[k])*width : (g+x*c.stride[k]+1)*width]
				for i, s := range src {
					dst[i] += s
				}
			}
		}
	}
}

// shares returns, per cube group, the weighted share of diaries for which
// ok(j) holds, for each of width predicates.
func (m *reachModel) shares(width int, ok func(j, k int) bool) []float64 {
	v := make([]float64, m.cb.n*(width+1))
	for j := range m.days {
		d := &m.days[j]
		base := int(d.cell) * (width + 1)
		v[base] += d.w
		for k := range width {
			if ok(j, k) {
				v[base+1+k] += d.w
			}
		}
	}
	m.cb.rollup(v, width+1)
	out := make([]float64, m.cb.n*width)
	for g := range m.cb.n {
		W := v[g*(width+1)]
		for k := range width {
			if W > 0 {
				out[g*width+k] = v[g*(width+1)+1+k] / W
			} else {
				out[g*width+k] = math.NaN()
			}
		}
	}
	return out
}

// Reach is the reachability of every group with weekday diaries: "all"
// first, then by number of keys as in Results.
type Reach struct {
	Groups []GroupReach
}

// Reachability computes each group's share of weekday diaries with
// MinFree consecutive free minutes at an office while it is open, plus the
// travel there and back in free time too, for any office (Share) and each
// one (PerOffice). Only weekday openings count: the weekday diaries do not
// say which weekday they are, so an opening on any weekday stands for
// every weekday.
func Reachability(ds *Dataset, offices []Office, opt ReachOptions) (*Reach, error) {
	m, err := newReachModel(ds, opt)
	if err != nil {
		return nil, err
	}
	return m.reach(offices, nil), nil
}

// reach computes the groups' reachability; extra, when not nil, adds a
// window to office extra.office. Whether each diary reaches each office
// without extra is computed once (m.base) and reused: a candidate changes
// one office's windows only.
func (m *reachModel) reach(offices []Office, extra *candidate) *Reach {
	nO := len(offices)
	if m.base == nil {
		m.base = make([][]bool, nO)
		for o, of := range offices {
			ws := windows(of.Openings)
			m.base[o] = make([]bool, len(m.days))
			for j := range m.days {
				m.base[o][j] = reaches(m.days[j].iv, ws, of.Travel, m.opt.MinFree)
			}
		}
	}
	var extraHit []bool
	if extra != nil {
		ws := append(windows(offices[extra.office].Openings), extra.w)
		extraHit = make([]bool, len(m.days))
		for j := range m.days {
			extraHit[j] = m.base[extra.office][j] || reaches(m.days[j].iv, ws, offices[extra.office].Travel, m.opt.MinFree)
		}
	}
	hit := func(j, o int) bool {
		if extraHit != nil && o == extra.office {
			return extraHit[j]
		}
		return m.base[o][j]
	}
	sh := m.shares(nO+1, func(j, k int) bool {
		if k < nO {
			return hit(j, k)
		}
		for o := range nO {
			if hit(j, o) {
				return true
			}
		}
		return false
	})
	if m.groups == nil {
		// The groups with weekday diaries, in the results' order, named
		// once: every candidate of the recommender lists them.
		for _, g := range m.cb.order() {
			if m.nResp[g] > 0 {
				m.groups = append(m.groups, g)
				m.names = append(m.names, m.cb.name(g))
			}
		}
	}
	r := &Reach{Groups: make([]GroupReach, len(m.groups))}
	for i, g := range m.groups {
		// PerOffice is a view of sh, which this call made.
		r.Groups[i] = GroupReach{Group: m.names[i], Respondents: m.nResp[g], Eligible: m.nResp[g] >= m.opt.MinCell, Share: sh[g*(nO+1)+nO],
			PerOffice: sh[g*(nO+1) : g*(nO+1)+nO : g*(nO+1)+nO]}
	}
	return r
}

// order is the groups' order in the results: "all", then by number of
// keys, then by their values in key order (sex=F, sex=M, age_band=15-17,
// …; sex=F&age_band=15-17, …).
func (c cube) order() []int {
	order := make([]int, c.n)
	for g := range order {
		order[g] = g
	}
	rank := func(g, k int) int {
		if v := c.coord(g, k); v > 0 {
			return v
		}
		return 1 << 10
	}
	slices.SortFunc(order, func(a, b int) int {
		if d := c.keys(a) - c.keys(b); d != 0 {
			return d
		}
		for k := range 5 {
			if d := rank(a, k) - rank(b, k); d != 0 {
				return d
			}
		}
		return 0
	})
	return order
}

type candidate struct {
	office int
	w      window
}

// Recommendation is the extra opening Recommend proposes.
type Recommendation struct {
	Office  int     // index into the offices
	Name    string  // the office's name
	Opening Opening // the extra weekly opening
	Before  *Reach
	After   *Reach
	// The least-served eligible group's share before and after, and the
	// share of everyone ("all").
	MinBefore, MinAfter, AllBefore, AllAfter float64
	LeastServed                              string // the least-served eligible group before
}

// Recommend finds the extra weekly opening of Length minutes, at one of
// the offices, that raises reachability most for the least-served groups.
// The objective is leximin over the eligible groups (those with at least
// MinCell respondents): maximise the lowest group share; among candidates
// equal on it, the second lowest, and so on; then the share of everyone;
// then the earliest candidate (office order, then start time). The
// weekday proposed is the one the office is open least on (the weekday
// diaries stand for any weekday). It returns nil when no candidate raises
// any eligible group's share.
func Recommend(ds *Dataset, offices []Office, opt ReachOptions) (*Recommendation, error) {
	m, before, err := recommender(ds, offices, opt)
	if err != nil {
		return nil, err
	}
	return m.best(offices, before, -1), nil
}

// RecommendEach is Recommend for each office on its own: out[o] is the
// extra opening at office o that raises reachability (to any office) most
// for the least-served groups, by the same objective, or nil when no
// opening there raises any eligible group's share. The coordination of
// opening hours offers each office's proposal.
func RecommendEach(ds *Dataset, offices []Office, opt ReachOptions) ([]*Recommendation, *Reach, error) {
	m, before, err := recommender(ds, offices, opt)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*Recommendation, len(offices))
	for o := range offices {
		out[o] = m.best(offices, before, o)
	}
	return out, before, nil
}

func recommender(ds *Dataset, offices []Office, opt ReachOptions) (*reachModel, *Reach, error) {
	if len(offices) == 0 {
		return nil, nil, fmt.Errorf("no office to recommend an opening for")
	}
	m, err := newReachModel(ds, opt)
	if err != nil {
		return nil, nil, err
	}
	before := m.reach(offices, nil)
	if len(before.Groups) == 0 {
		return nil, nil, fmt.Errorf("no weekday diary: nothing to recommend from")
	}
	return m, before, nil
}

// best is the best candidate opening at office only (every office when
// only is negative), nil when none raises any eligible group's share.
func (m *reachModel) best(offices []Office, before *Reach, only int) *Recommendation {
	key := func(r *Reach) []float64 {
		var s []float64
		for _, g := range r.Groups {
			if g.Eligible {
				s = append(s, g.Share)
			}
		}
		slices.Sort(s)
		return s
	}
	const eps = 1e-12
	better := func(a, b []float64, allA, allB float64) bool {
		for i := range a {
			if a[i] > b[i]+eps {
				return true
			}
			if a[i] < b[i]-eps {
				return false
			}
		}
		return allA > allB+eps
	}
	bestKey, bestAll := key(before), before.Groups[0].Share
	var best *candidate
	var bestReach *Reach
	for o := range offices {
		if only >= 0 && o != only {
			continue
		}
		for start := m.opt.Earliest; start+m.opt.Length <= m.opt.Latest; start += m.opt.Step {
			ws := windows([]Opening{{time.Monday, start, start + m.opt.Length}})
			if len(ws) != 1 {
				continue
			}
			c := &candidate{o, ws[0]}
			r := m.reach(offices, c)
			k := key(r)
			if better(k, bestKey, r.Groups[0].Share, bestAll) {
				best, bestKey, bestAll, bestReach = c, k, r.Groups[0].Share, r
			}
		}
	}
	if best == nil {
		return nil
	}
	rec := &Recommendation{Office: best.office, Name: offices[best.office].Name, Before: before, After: bestReach,
		AllBefore: before.Groups[0].Share, AllAfter: bestReach.Groups[0].Share}
	rec.Opening = Opening{Weekday: quietestWeekday(offices[best.office]), From: best.w.a + 240, To: best.w.b + 240}
	rec.MinBefore, rec.MinAfter = math.Inf(1), math.Inf(1)
	for i, g := range before.Groups {
		if !g.Eligible {
			continue
		}
		if g.Share < rec.MinBefore {
			rec.MinBefore, rec.LeastServed = g.Share, g.Group
		}
		rec.MinAfter = min(rec.MinAfter, bestReach.Groups[i].Share)
	}
	return rec
}

func quietestWeekday(o Office) time.Weekday {
	var open [7]int
	for _, op := range o.Openings {
		open[op.Weekday] += max(0, op.To-op.From)
	}
	best := time.Monday
	for d := time.Monday; d <= time.Friday; d++ {
		if open[d] < open[best] {
			best = d
		}
	}
	return best
}
