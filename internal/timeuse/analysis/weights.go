package analysis

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Margins are the town's population by grouping key and value, for
// post-stratification: {"sex": {"F": 5210, "M": 4980}, "age_band": {...}}.
// Keys are among Keys; each key's values must cover every value the
// respondents have, and the keys' totals must agree.
type Margins map[string]map[string]float64

// daysPerWeek is how many days of the week each day type stands for.
var daysPerWeek = [3]float64{5, 1, 1}

// PostStratify returns a copy of ds whose weights are calibrated to the
// population margins m by raking (iterative proportional fitting, one key
// after the other until every margin is met within 1e-8):
//
//   - a respondent's weight: the respondents, starting from their weights
//     as given (design weights), raked to m;
//   - a diary's weight: the diaries of each day type separately, starting
//     from their respondent's given weight, raked to m times the days of
//     the week the day type stands for (5 weekdays, 1 Saturday, 1 Sunday),
//     so that each day type's diaries represent the whole population and a
//     diary weight counts person-days of a week.
//
// Estimates for one day type depend only on the relative weights within
// it; the average week is built from the day types' means (5/7, 1/7, 1/7),
// so it does not depend on the day-of-week factor either.
func PostStratify(ds *Dataset, m Margins) (*Dataset, error) {
	total := math.NaN()
	for key, vals := range m {
		k := slices.Index(Keys, key)
		if k < 0 {
			return nil, fmt.Errorf("margins: %q is not a grouping key (%s)", key, strings.Join(Keys, ", "))
		}
		sum := 0.0
		for v, pop := range vals {
			if !slices.Contains(keyValues[k], v) {
				return nil, fmt.Errorf("margins: %q is not a value of %s", v, key)
			}
			if math.IsNaN(pop) || math.IsInf(pop, 0) || pop < 0 {
				return nil, fmt.Errorf("margins: %s=%s: the population must be a number, 0 or more", key, v)
			}
			sum += pop
		}
		if sum <= 0 {
			return nil, fmt.Errorf("margins: %s has no population", key)
		}
		if math.IsNaN(total) {
			total = sum
		} else if math.Abs(sum-total) > 0.005*total {
			return nil, fmt.Errorf("margins: %s totals %.0f, another key %.0f: the margins must describe the same population", key, sum, total)
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("margins: no key given")
	}
	out := &Dataset{
		Respondents: slices.Clone(ds.Respondents),
		Diaries:     slices.Clone(ds.Diaries),
		Episodes:    ds.Episodes,
	}
	values := func(r *Respondent) [5]string {
		return [5]string{r.Sex, r.AgeBand, r.Employment, r.Commuter, r.Children}
	}
	// Respondents.
	units := make([]rakeUnit, len(out.Respondents))
	for i := range out.Respondents {
		units[i] = rakeUnit{values(&out.Respondents[i]), out.Respondents[i].Weight}
	}
	if err := rake(units, m, 1, "respondents"); err != nil {
		return nil, err
	}
	resp := make(map[string]int, len(out.Respondents))
	for i := range out.Respondents {
		out.Respondents[i].Weight = units[i].w
		resp[out.Respondents[i].ID] = i
	}
	// Diaries, by day type.
	for d, dt := range DayTypes {
		var idx []int
		units = units[:0]
		for i := range out.Diaries {
			if out.Diaries[i].DayType != dt {
				continue
			}
			r := &ds.Respondents[resp[out.Diaries[i].RespondentID]]
			idx = append(idx, i)
			units = append(units, rakeUnit{values(r), r.Weight})
		}
		if len(idx) == 0 {
			continue
		}
		if err := rake(units, m, daysPerWeek[d], dt+" diaries"); err != nil {
			return nil, err
		}
		for j, i := range idx {
			out.Diaries[i].Weight = units[j].w
		}
	}
	return out, nil
}

type rakeUnit struct {
	v [5]string
	w float64
}

func rake(units []rakeUnit, m Margins, scale float64, what string) error {
	type margin struct {
		k      int
		target map[string]float64
	}
	var ms []margin
	for _, key := range Keys { // a fixed order: the same weights every run
		if vals, ok := m[key]; ok {
			ms = append(ms, margin{slices.Index(Keys, key), vals})
		}
	}
	for _, mg := range ms {
		seen := map[string]bool{}
		for _, u := range units {
			if _, ok := mg.target[u.v[mg.k]]; !ok {
				return fmt.Errorf("post-stratification of %s: %s=%s is in the sample but not in the margins", what, Keys[mg.k], u.v[mg.k])
			}
			seen[u.v[mg.k]] = true
		}
		for v, pop := range mg.target {
			if pop > 0 && !seen[v] {
				return fmt.Errorf("post-stratification of %s: no respondent with %s=%s to stand for its population of %.0f (merge it with another value or leave the key out of the margins)", what, Keys[mg.k], v, pop)
			}
		}
	}
	sums := map[string]float64{}
	for range 500 {
		worst := 0.0
		for _, mg := range ms {
			clear(sums)
			for _, u := range units {
				sums[u.v[mg.k]] += u.w
			}
			for v, s := range sums {
				worst = max(worst, math.Abs(s/(scale*mg.target[v])-1))
			}
			for i := range units {
				v := units[i].v[mg.k]
				units[i].w *= scale * mg.target[v] / sums[v]
			}
		}
		if worst < 1e-8 {
			return nil
		}
	}
	return fmt.Errorf("post-stratification of %s: the margins cannot all be met (raking did not converge: too few respondents in some combination)", what)
}

// ReadMargins reads margins from CSV with the columns key, value,
// population (a header row first), e.g. "sex,F,5210". A malformed row is
// refused with its line and the reason.
func ReadMargins(in io.Reader) (Margins, error) {
	t, err := newTable("margins", in, []string{"key", "value", "population"})
	if err != nil {
		return nil, err
	}
	m := Margins{}
	for {
		ok, err := t.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		key, val := t.field(0), t.field(1)
		k := slices.Index(Keys, key)
		if k < 0 {
			return nil, &FormatError{t.file, t.line, "key", fmt.Sprintf("%q is not one of %s", key, strings.Join(Keys, ", "))}
		}
		if !slices.Contains(keyValues[k], val) {
			return nil, &FormatError{t.file, t.line, "value", fmt.Sprintf("%q is not a value of %s (%s)", val, key, strings.Join(keyValues[k], ", "))}
		}
		pop, err := t.float(2)
		if err != nil {
			return nil, err
		}
		if pop < 0 || math.IsInf(pop, 0) || math.IsNaN(pop) {
			return nil, &FormatError{t.file, t.line, "population", "must be 0 or more"}
		}
		if m[key] == nil {
			m[key] = map[string]float64{}
		}
		if _, dup := m[key][val]; dup {
			return nil, &FormatError{t.file, t.line, "value", fmt.Sprintf("%s=%s given twice", key, val)}
		}
		m[key][val] = pop
	}
	if len(m) == 0 {
		return nil, &FormatError{"margins", 1, "", "no margins after the header"}
	}
	return m, nil
}
