package analysis

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestPostStratifyHandComputed(t *testing.T) {
	ds := handDataset() // F: r1, r3; M: r2; all weight 1
	// The Saturday has only a woman, the Sunday only a man: their day
	// types cannot stand for both sexes.
	if _, err := PostStratify(ds, Margins{"sex": {"F": 50, "M": 50}}); err == nil || !strings.Contains(err.Error(), "saturday diaries: no respondent with sex=M") {
		t.Errorf("weekend without men: %v", err)
	}
	ds.Diaries = slices.DeleteFunc(ds.Diaries, func(d Diary) bool { return d.DayType != "weekday" })
	ds.Episodes = slices.DeleteFunc(ds.Episodes, func(e Episode) bool { return strings.HasSuffix(e.DiaryID, "s") })
	out, err := PostStratify(ds, Margins{"sex": {"F": 50, "M": 50}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"r1": 25, "r2": 50, "r3": 25}
	for _, r := range out.Respondents {
		if !near(r.Weight, want[r.ID]) {
			t.Errorf("%s weight %v, want %v", r.ID, r.Weight, want[r.ID])
		}
	}
	// Weekday diaries stand for 5 days of the population of 100.
	wd := map[string]float64{"d1": 125, "d2": 250, "d3": 125}
	for _, d := range out.Diaries {
		if w, ok := wd[d.ID]; ok && !near(d.Weight, w) {
			t.Errorf("%s weight %v, want %v", d.ID, d.Weight, w)
		}
	}
	if ds.Respondents[0].Weight != 1 {
		t.Error("PostStratify changed its input")
	}
	// Women and men now count the same on weekdays: employment DPR is the
	// mean of women's (1445/2) and men's (0).
	res, err := Compute(out, Options{MinCell: 1, CVSuppress: 100, CVFlag: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ind := find(t, res, "all", "weekday", "1"); !near(ind.DPR, 1445.0/4) {
		t.Errorf("DPR %v", ind.DPR)
	}
}

func TestPostStratifyMeetsTheMargins(t *testing.T) {
	ds := Synthetic(4000, 5)
	m := Margins{
		"sex":      {"F": 5200, "M": 4800},
		"commuter": {"yes": 3000, "no": 7000},
		"children": {"0": 6000, "1": 2000, "2": 1500, "3+": 500},
	}
	out, err := PostStratify(ds, m)
	if err != nil {
		t.Fatal(err)
	}
	for key, vals := range m {
		got := map[string]float64{}
		gotSat := map[string]float64{}
		resp := map[string]Respondent{}
		for _, r := range out.Respondents {
			resp[r.ID] = r
			got[[5]string{r.Sex, r.AgeBand, r.Employment, r.Commuter, r.Children}[indexOf(key)]] += r.Weight
		}
		for _, d := range out.Diaries {
			if d.DayType == "saturday" {
				r := resp[d.RespondentID]
				gotSat[[5]string{r.Sex, r.AgeBand, r.Employment, r.Commuter, r.Children}[indexOf(key)]] += d.Weight
			}
		}
		for v, pop := range vals {
			if math.Abs(got[v]-pop) > 1e-4 || math.Abs(gotSat[v]-pop) > 1e-4 {
				t.Errorf("%s=%s: respondents %v, Saturday diaries %v, want %v", key, v, got[v], gotSat[v], pop)
			}
		}
	}
}

func indexOf(key string) int {
	for i, k := range Keys {
		if k == key {
			return i
		}
	}
	return -1
}

func TestPostStratifyRefuses(t *testing.T) {
	ds := handDataset()
	for _, c := range []struct {
		m    Margins
		want string
	}{
		{Margins{"sex": {"F": 50}}, "M is in the sample but not in the margins"},
		{Margins{"sex": {"F": 50, "M": 50}, "children": {"0": 60, "1": 40}}, "no respondent with children=1"},
		{Margins{"sex": {"F": 50, "M": 50}, "commuter": {"no": 200}}, "same population"},
		{Margins{"region": {"x": 1}}, "not a grouping key"},
		{Margins{}, "no key"},
	} {
		if _, err := PostStratify(ds, c.m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want ~%q", c.m, err, c.want)
		}
	}
}

func TestReadMargins(t *testing.T) {
	m, err := ReadMargins(strings.NewReader("key,value,population\nsex,F,5210\nsex,M,4980\nage_band,75+,1200\n"))
	if err != nil || m["sex"]["F"] != 5210 || m["age_band"]["75+"] != 1200 {
		t.Fatalf("%v %v", m, err)
	}
	for _, c := range []struct{ body, want string }{
		{"key,value,population\nsex,X,1\n", "margins line 2, column value"},
		{"key,value,population\nsex,F,1\nsex,F,2\n", "margins line 3, column value: sex=F given twice"},
		{"key,value,population\nsex,F,-3\n", "margins line 2, column population"},
		{"key,value\nsex,F\n", "margins line 1, column population"},
	} {
		_, err := ReadMargins(strings.NewReader(c.body))
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want ~%q", c.body, err, c.want)
		}
	}
}
