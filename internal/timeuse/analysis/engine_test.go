package analysis

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// handDataset: three respondents' weekdays, one Saturday, one Sunday.
//
//	r1 w=1 weekday: sleep 0-600, main job 600-1085, TV 1085-1440; Saturday: sleep all day
//	r2 w=2 weekday: sleep 0-720, TV 720-1440;                      Sunday: sleep 0-720, TV 720-1440
//	r3 w=1 weekday: sleep 0-480, main job 480-1440
func handDataset() *Dataset {
	resp := func(id, sex string, age int, emp string) Respondent {
		return Respondent{ID: id, Sex: sex, Age: age, AgeBand: AgeBand(age), Employment: emp, Commuter: "no", Children: "0", Weight: 1}
	}
	ep := func(d string, s, e int, a string) Episode { return Episode{DiaryID: d, Start: s, End: e, Activity: a} }
	return &Dataset{
		Respondents: []Respondent{resp("r1", "F", 30, "employed"), resp("r2", "M", 70, "retired"), resp("r3", "F", 40, "employed")},
		Diaries: []Diary{
			{"d1", "r1", "weekday", 1}, {"d1s", "r1", "saturday", 1},
			{"d2", "r2", "weekday", 2}, {"d2s", "r2", "sunday", 2},
			{"d3", "r3", "weekday", 1},
		},
		Episodes: []Episode{
			ep("d1", 0, 600, "011"), ep("d1", 600, 1085, "111"), ep("d1", 1085, 1440, "821"),
			ep("d1s", 0, 1440, "011"),
			ep("d2", 0, 720, "011"), ep("d2", 720, 1440, "821"),
			ep("d2s", 0, 720, "011"), ep("d2s", 720, 1440, "821"),
			ep("d3", 0, 480, "011"), ep("d3", 480, 1440, "111"),
		},
	}
}

func find(t *testing.T, r *Results, group, day, act string) Indicator {
	t.Helper()
	g, d := slices.Index(r.Groups, group), slices.Index(ResultDays, day)
	for _, ind := range r.Indicators {
		if ind.Group == g && ind.Day == d && ind.Activity == act {
			return ind
		}
	}
	t.Fatalf("no indicator %s %s %s", group, day, act)
	return Indicator{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestIndicatorsHandComputed(t *testing.T) {
	ds := handDataset()
	if err := ds.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := Compute(ds, Options{MinCell: 1, CVFlag: 10, CVSuppress: 10})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		group, day, act string
		n               int
		dpr, p, dpp, se float64
	}{
		// Employment on weekdays: (1·485 + 2·0 + 1·960)/4; two of four
		// weight units work; 1445/2 per worker. Linearised SE with
		// z = w(t-R): 123.75, -722.5, 598.75.
		{"all", "weekday", "1", 3, 1445.0 / 4, 0.5, 1445.0 / 2, math.Sqrt(1.5 * (123.75*123.75 + 722.5*722.5 + 598.75*598.75) / 16)},
		{"all", "weekday", "11", 3, 1445.0 / 4, 0.5, 1445.0 / 2, math.Sqrt(1.5 * (123.75*123.75 + 722.5*722.5 + 598.75*598.75) / 16)},
		// TV (1-digit 8 and 2-digit 82): (355 + 2·720)/4, 3/4, 1795/3.
		{"all", "weekday", "8", 3, 1795.0 / 4, 0.75, 1795.0 / 3, math.NaN()},
		{"all", "weekday", "82", 3, 1795.0 / 4, 0.75, 1795.0 / 3, math.NaN()},
		{"sex=F", "weekday", "1", 2, 1445.0 / 2, 1, 1445.0 / 2, math.NaN()},
		{"sex=M", "weekday", "01", 1, 720, 1, 720, math.NaN()},
		{"all", "saturday", "0", 1, 1440, 1, 1440, math.NaN()},
		{"all", "sunday", "82", 1, 720, 1, 720, math.NaN()},
		{"all", "sunday", "1", 1, 0, 0, math.NaN(), math.NaN()},
		// The week: 5/7 weekday + 1/7 Saturday + 1/7 Sunday.
		{"all", "week", "82", 3, (5*1795.0/4 + 0 + 720) / 7, (5*0.75 + 0 + 1) / 7, (5*1795.0/4 + 720) / (5*0.75 + 1), math.NaN()},
	}
	for _, c := range cases {
		ind := find(t, res, c.group, c.day, c.act)
		if ind.Respondents != c.n || !near(ind.DPR, c.dpr) || !near(ind.Participation, c.p) {
			t.Errorf("%s %s %s: n=%d DPR=%v P=%v, want %d %v %v", c.group, c.day, c.act, ind.Respondents, ind.DPR, ind.Participation, c.n, c.dpr, c.p)
		}
		if math.IsNaN(c.dpp) != math.IsNaN(ind.DPP) || (!math.IsNaN(c.dpp) && !near(ind.DPP, c.dpp)) {
			t.Errorf("%s %s %s: DPP=%v, want %v", c.group, c.day, c.act, ind.DPP, c.dpp)
		}
		if !math.IsNaN(c.se) && !near(ind.SE, c.se) {
			t.Errorf("%s %s %s: SE=%v, want %v", c.group, c.day, c.act, ind.SE, c.se)
		}
		// DPR = DPP × P for single days (not for the constructed week,
		// where it holds by definition of its DPP).
		if ind.Participation > 0 && !near(ind.DPR, ind.DPP*ind.Participation) {
			t.Errorf("%s %s %s: DPR %v != DPP %v × P %v", c.group, c.day, c.act, ind.DPR, ind.DPP, ind.Participation)
		}
	}
	// A respondent alone: SE undefined.
	if ind := find(t, res, "sex=M", "weekday", "01"); !math.IsNaN(ind.SE) {
		t.Errorf("SE of one respondent = %v, want undefined", ind.SE)
	}
}

func TestTempogramHandComputed(t *testing.T) {
	res, err := Compute(handDataset(), Options{MinCell: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := slices.Index(res.Groups, "all")
	sh, ok := res.Tempogram(g, 0)
	if !ok {
		t.Fatal("no weekday tempogram for all")
	}
	want := map[[2]int]float64{
		{0, 0}:  1,                 // 04:00 everyone asleep
		{60, 0}: 0.5, {60, 1}: 0.5, // minute 600: r2 asleep (w 2), r1 and r3 at work
		{108, 1}: (0.5 + 1) / 4,        // 1080-1090: r1 works 5 of 10 minutes, r3 all
		{108, 8}: (0.5 + 2) / 4,        // r1 TV 5 minutes, r2 TV
		{143, 8}: 0.75, {143, 1}: 0.25, // last slot
	}
	for k, v := range want {
		if got := sh[k[0]*10+k[1]]; !near(got, v) {
			t.Errorf("weekday slot %d activity %d share %v, want %v", k[0], k[1], got, v)
		}
	}
	wk, _ := res.Tempogram(g, 3)
	if got, w := wk[143*10+8], (5*0.75+0+1)/7; !near(got, w) {
		t.Errorf("week slot 143 TV %v, want %v", got, w)
	}
}

func TestTempogramSharesSumToOne(t *testing.T) {
	res, err := Compute(Synthetic(3000, 7), Options{})
	if err != nil {
		t.Fatal(err)
	}
	published := 0
	for g := range res.Groups {
		for day := range ResultDays {
			sh, ok := res.Tempogram(g, day)
			if !ok {
				continue
			}
			published++
			for s := range Slots {
				sum := 0.0
				for k := range 10 {
					if sh[s*10+k] < 0 {
						t.Fatalf("negative share")
					}
					sum += sh[s*10+k]
				}
				if math.Abs(sum-1) > 1e-9 {
					t.Fatalf("%s %s slot %d: shares sum to %v", res.Groups[g], ResultDays[day], s, sum)
				}
			}
		}
	}
	if published < 100 {
		t.Errorf("only %d tempograms published", published)
	}
}

// bruteSE is the linearised SE of DPR computed the long way: per
// respondent (cluster) z_j, then n/(n-1) Σ z² / X², for one day type or
// the week (day 3).
func bruteSE(ds *Dataset, in func(*Respondent) bool, day int, act string) (dpr, se float64) {
	minutes := map[string]float64{}
	for _, e := range ds.Episodes {
		if strings.HasPrefix(e.Activity, act) {
			minutes[e.DiaryID] += float64(e.End - e.Start)
		}
	}
	type cl struct{ W, Y [3]float64 }
	cls := map[string]*cl{}
	resp := map[string]*Respondent{}
	for i := range ds.Respondents {
		resp[ds.Respondents[i].ID] = &ds.Respondents[i]
	}
	for _, d := range ds.Diaries {
		if !in(resp[d.RespondentID]) {
			continue
		}
		c := cls[d.RespondentID]
		if c == nil {
			c = &cl{}
			cls[d.RespondentID] = c
		}
		k := slices.Index(DayTypes, d.DayType)
		c.W[k] += d.Weight
		c.Y[k] += d.Weight * minutes[d.ID]
	}
	var X, Ysum [3]float64
	var nd [3]int
	for _, c := range cls {
		for k := range 3 {
			X[k] += c.W[k]
			Ysum[k] += c.Y[k]
			if c.W[k] > 0 {
				nd[k]++
			}
		}
	}
	var R [3]float64
	for k := range 3 {
		R[k] = Ysum[k] / X[k]
	}
	var z2 float64
	n := 0
	for _, c := range cls {
		var z float64
		if day < 3 {
			if c.W[day] == 0 {
				continue
			}
			z = c.Y[day] - R[day]*c.W[day]
		} else {
			for k := range 3 {
				z += weekFactor[k] * (c.Y[k] - R[k]*c.W[k]) / X[k]
			}
		}
		n++
		z2 += z * z
	}
	if day < 3 {
		return R[day], math.Sqrt(float64(n) / float64(n-1) * z2 / (X[day] * X[day]))
	}
	return weekFactor[0]*R[0] + weekFactor[1]*R[1] + weekFactor[2]*R[2], math.Sqrt(float64(n) / float64(n-1) * z2)
}

func TestStandardErrorsMatchTheLongWay(t *testing.T) {
	ds := Synthetic(2000, 3)
	// A respondent with two weekday diaries: one cluster, not two.
	ds.Diaries[1].DayType = "weekday"
	res, err := Compute(ds, Options{MinCell: 1, CVFlag: 10, CVSuppress: 10})
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]func(*Respondent) bool{
		"all":                       func(*Respondent) bool { return true },
		"sex=F&employment=employed": func(r *Respondent) bool { return r.Sex == "F" && r.Employment == "employed" },
		"age_band=25-34&children=1": func(r *Respondent) bool { return r.AgeBand == "25-34" && r.Children == "1" },
	}
	for name, in := range groups {
		for day, dt := range ResultDays {
			for _, act := range []string{"1", "11", "0", "82", "9"} {
				dpr, se := bruteSE(ds, in, day, act)
				ind := find(t, res, name, dt, act)
				if !near(ind.DPR, dpr) || math.Abs(ind.SE-se) > 1e-6*math.Max(1, se) {
					t.Errorf("%s %s %s: DPR %v SE %v, the long way %v %v", name, dt, act, ind.DPR, ind.SE, dpr, se)
				}
			}
		}
	}
}

func TestCVFlagsAndSuppression(t *testing.T) {
	res, err := Compute(handDataset(), Options{MinCell: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Employment on weekdays: CV = 289/361 > 33.3%: suppressed.
	ind := find(t, res, "all", "weekday", "1")
	if ind.Status != SuppressedCV || !math.IsNaN(ind.DPR) || !math.IsNaN(ind.SE) {
		t.Errorf("CV %v: status %v DPR %v", ind.CV, ind.Status, ind.DPR)
	}
	ind = find(t, res, "all", "weekday", "0") // everyone sleeps a bit: small CV
	if ind.Status != Published || math.IsNaN(ind.DPR) {
		t.Errorf("sleep: status %v CV %v", ind.Status, ind.CV)
	}
	res, err = Compute(handDataset(), Options{MinCell: 1, CVFlag: 0.5, CVSuppress: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if ind := find(t, res, "all", "weekday", "1"); ind.Status != Flagged || math.IsNaN(ind.DPR) {
		t.Errorf("CV %v between the thresholds: status %v", ind.CV, ind.Status)
	}
}

func TestComputeRefusesWhatValidateWould(t *testing.T) {
	for _, bad := range []func(*Dataset){
		func(ds *Dataset) { ds.Episodes[0].Activity = "" },
		func(ds *Dataset) { ds.Episodes[0].Activity = "97" },
		func(ds *Dataset) { ds.Episodes[0].End = 2000 },
		func(ds *Dataset) { ds.Episodes[0].DiaryID = "nobody" },
		func(ds *Dataset) { ds.Respondents[0].Sex = "X" },
	} {
		ds := handDataset()
		bad(ds)
		if _, err := Compute(ds, Options{}); err == nil {
			t.Errorf("%+v computed", ds.Episodes[0])
		}
	}
}
