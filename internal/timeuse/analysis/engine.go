package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Options configure Compute. The zero value is the published defaults.
type Options struct {
	// MinCell is the minimum number of respondents a published cell (a
	// group on a day type) rests on; 0 means DefaultMinCell.
	MinCell int
	// CVFlag and CVSuppress are the coefficients of variation above which
	// an estimate is flagged (use with caution) and suppressed (too
	// unreliable); 0 means DefaultCVFlag and DefaultCVSuppress.
	CVFlag, CVSuppress float64
	// Progress, when set, is called now and then with the work done and
	// the work to do.
	Progress func(done, total int)
}

// The defaults of Options: the minimum cell size, and Statistics Canada's
// time-use thresholds (flag E from 16.6%, suppress F above 33.3%).
const (
	DefaultMinCell    = 10
	DefaultCVFlag     = 0.166
	DefaultCVSuppress = 0.333
)

// Status says whether an indicator is published.
type Status uint8

const (
	Published           Status = iota // published
	Flagged                           // published, CV above Options.CVFlag: use with caution
	SuppressedCV                      // CV above Options.CVSuppress: too unreliable
	SuppressedSize                    // fewer respondents than Options.MinCell (primary suppression)
	SuppressedSecondary               // hidden so a suppressed cell cannot be recovered from totals
)

// String is the value of indicators.csv's suppressed column.
func (s Status) String() string {
	return [...]string{"no", "flag", "cv", "size", "secondary"}[s]
}

// Suppressed reports whether the estimates are withheld.
func (s Status) Suppressed() bool { return s >= SuppressedCV }

// The day types of the results: the three diary day types and the week.
var ResultDays = []string{"weekday", "saturday", "sunday", DayWeek}

// weekFactor weighs the day types in the average week.
var weekFactor = [3]float64{5.0 / 7, 1.0 / 7, 1.0 / 7}

// Slots is the number of ten-minute slots of a diary day.
const Slots = DayLength / 10

// Indicator is one row of indicators.csv. Estimates are NaN where they are
// undefined (DPP with no participant, SE with one respondent) or
// suppressed.
type Indicator struct {
	Group         int // index into Results.Groups
	Day           int // index into ResultDays
	Activity      string
	Respondents   int
	DPR           float64 // mean minutes per respondent
	Participation float64 // share of respondents doing the activity, 0-1
	DPP           float64 // mean minutes per participant
	SE            float64 // standard error of DPR
	CV            float64 // SE / DPR
	Status        Status
}

// Results are every indicator and tempogram of a dataset.
type Results struct {
	Groups     []string    // group names, "all" first, then by number of keys
	Indicators []Indicator // by group, day (ResultDays order), activity (list order)
	Activities []string    // the 1- and 2-digit codes, in list order
	// tempo are views into the sums Compute built (a day's sums turned
	// into shares in place), or the week's own slice.
	tempo    [][]float64 // per group*4+day: Slots*10 shares, nil when not published
	cellStat []Status    // per group*4+day: Published, SuppressedSize or SuppressedSecondary
}

// Tempogram returns the shares of group g on day (index into ResultDays):
// shares[slot*10+k] is the share of the group doing 1-digit activity k in
// that ten-minute slot (slot 0 is 04:00-04:10). ok is false when the cell
// is suppressed or empty. The slice belongs to r: read it, do not change it.
func (r *Results) Tempogram(g, day int) (shares []float64, ok bool) {
	s := r.tempo[g*4+day]
	return s, s != nil
}

// CellStatus is the disclosure status of group g on day: Published,
// SuppressedSize or SuppressedSecondary.
func (r *Results) CellStatus(g, day int) Status { return r.cellStat[g*4+day] }

// cube describes the groups: every combination of a value or "all" for
// each key. Coordinate 0 of a key is "all", 1..len(values) its values, so
// group 0 is "all" and the groups with no 0 coordinate are the finest
// cells a respondent belongs to.
type cube struct {
	radix  [5]int
	stride [5]int
	n      int
}

func newCube() cube {
	var c cube
	c.n = 1
	for k := 4; k >= 0; k-- {
		c.radix[k] = len(keyValues[k]) + 1
		c.stride[k] = c.n
		c.n *= c.radix[k]
	}
	return c
}

func (c cube) coord(g, k int) int { return g / c.stride[k] % c.radix[k] }

func (c cube) name(g int) string {
	var parts []string
	for k := range 5 {
		if v := c.coord(g, k); v > 0 {
			parts = append(parts, Keys[k]+"="+keyValues[k][v-1])
		}
	}
	if parts == nil {
		return "all"
	}
	return strings.Join(parts, "&")
}

func (c cube) keys(g int) int {
	n := 0
	for k := range 5 {
		if c.coord(g, k) > 0 {
			n++
		}
	}
	return n
}

// nAct is the number of 1-digit activities, the tempograms' columns.
const nAct = 10

// layout is the position of each sum in a group's vector of sums.
// Clusters are respondents: W^d_j and Y^d_ja are respondent j's weighted
// diary days and minutes of activity a on day type d.
type layout struct {
	acts               int // number of activity columns
	n, nAny, w, w2, ww int // counts, ΣW, ΣW², ΣW^dW^e
	y, y2, wy, pw      int // per d, a: ΣY, ΣY², ΣWY, Σw[t>0]
	yy, yw, wyx        int // per pair, a: ΣY^dY^e, ΣY^dW^e, ΣW^dY^e
	tempo              int // per d, slot, 1-digit activity: Σ w·minutes/10
	size               int
	pairs              [3][2]int
}

func newLayout(acts int) layout {
	l := layout{acts: acts}
	at := 0
	next := func(n int) int { p := at; at += n; return p }
	l.n = next(3)
	l.nAny = next(1)
	l.w = next(3)
	l.w2 = next(3)
	l.ww = next(3)
	l.y = next(3 * acts)
	l.y2 = next(3 * acts)
	l.wy = next(3 * acts)
	l.pw = next(3 * acts)
	l.yy = next(3 * acts)
	l.yw = next(3 * acts)
	l.wyx = next(3 * acts)
	l.tempo = next(3 * Slots * nAct)
	l.size = at
	l.pairs = [3][2]int{{0, 1}, {0, 2}, {1, 2}}
	return l
}

// Compute computes every indicator and tempogram of ds, which must be
// valid (ReadDataset and WriteDataset validate; see Dataset.Validate).
func Compute(ds *Dataset, opt Options) (*Results, error) {
	if opt.MinCell <= 0 {
		opt.MinCell = DefaultMinCell
	}
	if opt.CVFlag <= 0 {
		opt.CVFlag = DefaultCVFlag
	}
	if opt.CVSuppress <= 0 {
		opt.CVSuppress = DefaultCVSuppress
	}
	cb := newCube()
	// Activity columns in list order; col1/col2 map codes to columns.
	var acts []string
	var col1 [10]int
	var col2 [100]int
	for _, a := range activityList {
		switch a.Level {
		case 1:
			col1[a.Code[0]-'0'] = len(acts)
		case 2:
			col2[int(a.Code[0]-'0')*10+int(a.Code[1]-'0')] = len(acts)
		default:
			continue
		}
		acts = append(acts, a.Code)
	}
	A := len(acts)
	L := newLayout(A)
	total := len(ds.Diaries) + len(ds.Respondents) + cb.n
	done := 0
	progress := func(step int) {
		done += step
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}

	// Code the respondents: their finest cell.
	respIdx := make(map[string]int32, len(ds.Respondents))
	cell := make([]int32, len(ds.Respondents))
	for i := range ds.Respondents {
		r := &ds.Respondents[i]
		respIdx[r.ID] = int32(i)
		g := 0
		for k, v := range [5]string{r.Sex, r.AgeBand, r.Employment, r.Commuter, r.Children} {
			x := slices.Index(keyValues[k], v)
			if x < 0 {
				return nil, fmt.Errorf("respondent %q: %s %q is not a known value", r.ID, Keys[k], v)
			}
			g += (x + 1) * cb.stride[k]
		}
		cell[i] = int32(g)
	}
	diaryIdx := make(map[string]int32, len(ds.Diaries))
	dResp := make([]int32, len(ds.Diaries))
	dDay := make([]int8, len(ds.Diaries))
	for i := range ds.Diaries {
		d := &ds.Diaries[i]
		diaryIdx[d.ID] = int32(i)
		j, ok := respIdx[d.RespondentID]
		if !ok {
			return nil, fmt.Errorf("diary %q: respondent %q unknown", d.ID, d.RespondentID)
		}
		dResp[i] = j
		dDay[i] = int8(slices.Index(DayTypes, d.DayType)) // #nosec G115 -- an index of DayTypes (three) or -1
		if dDay[i] < 0 {
			return nil, fmt.Errorf("diary %q: day type %q unknown", d.ID, d.DayType)
		}
	}

	sums := make([]float64, cb.n*L.size)
	vec := func(g int) []float64 { return sums[g*L.size : (g+1)*L.size] }

	// One pass over the episodes: minutes per diary and activity column,
	// and the tempogram sums of the diary's finest cell.
	mins := make([]uint16, len(ds.Diaries)*A)
	last, di := "", int32(-1)
	for i := range ds.Episodes {
		e := &ds.Episodes[i]
		if e.DiaryID != last || di < 0 {
			var ok bool
			if di, ok = diaryIdx[e.DiaryID]; !ok {
				return nil, fmt.Errorf("episode of unknown diary %q", e.DiaryID)
			}
			last = e.DiaryID
		}
		a := e.Activity
		// Cheap checks, so that a dataset nobody validated gives an
		// error, not a panic or a wrong figure.
		if len(a) == 0 || len(a) > 3 || a[0] < '0' || a[0] > '9' || (len(a) >= 2 && (a[1] < '0' || a[1] > '9')) ||
			e.Start < 0 || e.End > DayLength || e.End <= e.Start {
			return nil, fmt.Errorf("episode %d of diary %q: not valid (%d-%d, %q): validate the dataset first", i, e.DiaryID, e.Start, e.End, a)
		}
		dur := uint16(e.End - e.Start) // #nosec G115 -- checked above: 0 < End-Start <= DayLength (1440)
		d1 := int(a[0] - '0')
		m := mins[int(di)*A : int(di)*A+A]
		m[col1[d1]] += dur
		if len(a) >= 2 {
			c := d1*10 + int(a[1]-'0')
			if twoDigit[c] < 0 {
				return nil, fmt.Errorf("episode %d of diary %q: %q is not a HETUS code", i, e.DiaryID, a)
			}
			m[col2[c]] += dur
		}
		w := ds.Diaries[di].Weight / 10
		t := vec(int(cell[dResp[di]]))[L.tempo+int(dDay[di])*Slots*nAct:]
		for s := e.Start / 10; s*10 < e.End; s++ {
			lo, hi := max(s*10, e.Start), min(s*10+10, e.End)
			t[s*nAct+d1] += w * float64(hi-lo)
		}
	}
	progress(len(ds.Diaries))

	// One pass over the respondents: their clusters' sums into their
	// finest cell.
	byResp := make([][]int32, len(ds.Respondents))
	for i, j := range dResp {
		byResp[j] = append(byResp[j], int32(i))
	}
	var W [3]float64
	Y := make([]float64, 3*A)
	for j, diaries := range byResp {
		if len(diaries) == 0 {
			continue
		}
		v := vec(int(cell[j]))
		W = [3]float64{}
		clear(Y)
		var has [3]bool
		for _, i := range diaries {
			d := int(dDay[i])
			w := ds.Diaries[i].Weight
			has[d] = true
			W[d] += w
			m := mins[int(i)*A : int(i)*A+A]
			pw, y := v[L.pw+d*A:L.pw+d*A+A], Y[d*A:d*A+A]
			for a, t := range m {
				if t > 0 {
					y[a] += w * float64(t)
					pw[a] += w
				}
			}
		}
		v[L.nAny]++
		for d := range 3 {
			if !has[d] {
				continue
			}
			v[L.n+d]++
			v[L.w+d] += W[d]
			v[L.w2+d] += W[d] * W[d]
			y, sy, sy2, swy := Y[d*A:d*A+A], v[L.y+d*A:L.y+d*A+A], v[L.y2+d*A:L.y2+d*A+A], v[L.wy+d*A:L.wy+d*A+A]
			for a, ya := range y {
				sy[a] += ya
				sy2[a] += ya * ya
				swy[a] += W[d] * ya
			}
		}
		for p, pr := range L.pairs {
			d, e := pr[0], pr[1]
			if !has[d] || !has[e] {
				continue
			}
			v[L.ww+p] += W[d] * W[e]
			yd, ye := Y[d*A:d*A+A], Y[e*A:e*A+A]
			syy, syw, swy := v[L.yy+p*A:L.yy+p*A+A], v[L.yw+p*A:L.yw+p*A+A], v[L.wyx+p*A:L.wyx+p*A+A]
			for a := range A {
				syy[a] += yd[a] * ye[a]
				syw[a] += yd[a] * W[e]
				swy[a] += W[d] * ye[a]
			}
		}
	}
	progress(len(ds.Respondents))

	// Roll the finest cells up to every group: for each key in turn, a
	// group with "all" for it is the sum of the groups with each value.
	cb.rollup(sums, L.size)

	res := &Results{Activities: acts, tempo: make([][]float64, cb.n*4), cellStat: make([]Status, cb.n*4)}
	order := cb.order()
	pos := make([]int, cb.n) // cube index -> position in res.Groups
	for i, g := range order {
		pos[g] = i
		res.Groups = append(res.Groups, cb.name(g))
	}

	// Cell sizes, primary and secondary suppression (see suppress.go).
	count := func(g, day int) int {
		v := vec(g)
		if day == 3 {
			if v[L.n] == 0 || v[L.n+1] == 0 || v[L.n+2] == 0 {
				return 0
			}
			return int(v[L.nAny])
		}
		return int(v[L.n+day])
	}
	stat := suppress(cb, count, opt.MinCell)

	res.Indicators = make([]Indicator, 0, cb.n*4*A)
	for _, g := range order {
		v := vec(g)
		if count(g, 3) > 0 && stat[g*4+3] == Published {
			res.tempo[pos[g]*4+3] = weekTempogram(v, L)
		}
		var R [3][]float64 // DPR per day type, for the week
		for day := range 4 {
			n := count(g, day)
			if n == 0 {
				continue
			}
			cs := stat[g*4+day]
			res.cellStat[pos[g]*4+day] = cs
			if day < 3 {
				R[day] = make([]float64, A)
			}
			for a := range A {
				ind := Indicator{Group: pos[g], Day: day, Activity: acts[a], Respondents: n}
				if day < 3 {
					ind.DPR, ind.Participation, ind.DPP, ind.SE = dayEstimates(v, L, day, a)
					R[day][a] = ind.DPR
				} else {
					ind.DPR, ind.Participation, ind.DPP, ind.SE = weekEstimates(v, L, R, a)
				}
				ind.CV = math.NaN()
				if ind.DPR > 0 {
					ind.CV = ind.SE / ind.DPR
				}
				switch {
				case cs != Published:
					ind.Status = cs
				case ind.CV > opt.CVSuppress:
					ind.Status = SuppressedCV
				case ind.CV > opt.CVFlag:
					ind.Status = Flagged
				}
				if ind.Status.Suppressed() {
					ind.DPR, ind.Participation, ind.DPP, ind.SE, ind.CV = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
				}
				res.Indicators = append(res.Indicators, ind)
			}
			if cs == Published && day < 3 {
				// The day's sums become its shares in place; the week was
				// computed from them before (see above).
				t := v[L.tempo+day*Slots*nAct : L.tempo+(day+1)*Slots*nAct]
				f := 1 / v[L.w+day]
				for i := range t {
					t[i] *= f
				}
				res.tempo[pos[g]*4+day] = t
			}
		}
		progress(1)
	}
	return res, nil
}

// dayEstimates are DPR, P, DPP and the linearised standard error of DPR
// of activity a on day type d from a group's sums.
func dayEstimates(v []float64, L layout, d, a int) (dpr, p, dpp, se float64) {
	A := L.acts
	n, X := v[L.n+d], v[L.w+d]
	y, pw := v[L.y+d*A+a], v[L.pw+d*A+a]
	dpr = y / X
	p = pw / X
	dpp = math.NaN()
	if pw > 0 {
		dpp = y / pw
	}
	se = math.NaN()
	if n > 1 {
		z2 := v[L.y2+d*A+a] - 2*dpr*v[L.wy+d*A+a] + dpr*dpr*v[L.w2+d]
		se = math.Sqrt(max(0, n/(n-1)*z2) / (X * X))
	}
	return dpr, p, dpp, se
}

// weekEstimates are the average week's: DPR and P weighted 5/7, 1/7, 1/7
// over the day types, DPP = DPR/P, and the standard error of the weekly
// DPR linearised over respondents, with the covariance of a respondent's
// days of different types.
func weekEstimates(v []float64, L layout, R [3][]float64, a int) (dpr, p, dpp, se float64) {
	A := L.acts
	var X [3]float64
	for d := range 3 {
		X[d] = v[L.w+d]
		dpr += weekFactor[d] * R[d][a]
		p += weekFactor[d] * v[L.pw+d*A+a] / X[d]
	}
	dpp = math.NaN()
	if p > 0 {
		dpp = dpr / p
	}
	var z2 float64
	for d := range 3 {
		r := R[d][a]
		zdd := v[L.y2+d*A+a] - 2*r*v[L.wy+d*A+a] + r*r*v[L.w2+d]
		z2 += weekFactor[d] * weekFactor[d] / (X[d] * X[d]) * zdd
	}
	for p, pr := range L.pairs {
		d, e := pr[0], pr[1]
		rd, re := R[d][a], R[e][a]
		zde := v[L.yy+p*A+a] - re*v[L.yw+p*A+a] - rd*v[L.wyx+p*A+a] + rd*re*v[L.ww+p]
		z2 += 2 * weekFactor[d] * weekFactor[e] / (X[d] * X[e]) * zde
	}
	se = math.NaN()
	if n := v[L.nAny]; n > 1 {
		se = math.Sqrt(max(0, n/(n-1)*z2))
	}
	return dpr, p, dpp, se
}

// weekTempogram is the shares of a group's average week: 5/7, 1/7, 1/7
// of its day types' shares.
func weekTempogram(v []float64, L layout) []float64 {
	out := make([]float64, Slots*nAct)
	for d := range 3 {
		f := weekFactor[d] / v[L.w+d]
		t := v[L.tempo+d*Slots*nAct : L.tempo+(d+1)*Slots*nAct]
		for i, x := range t {
			out[i] += f * x
		}
	}
	return out
}
