package analysis

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// weekdayOnly is n respondents of the given sex, each with one weekday.
func addWeekdays(ds *Dataset, sex string, n int, age int) {
	for range n {
		i := len(ds.Respondents)
		id := fmt.Sprintf("r%d", i)
		ds.Respondents = append(ds.Respondents, Respondent{ID: id, Sex: sex, Age: age, AgeBand: AgeBand(age), Employment: "employed", Commuter: "yes", Children: "0", Weight: 1})
		ds.Diaries = append(ds.Diaries, Diary{ID: "d" + id, RespondentID: id, DayType: "weekday", Weight: 1})
		ds.Episodes = append(ds.Episodes,
			Episode{DiaryID: "d" + id, Start: 0, End: 480 + i, Activity: "011"},
			Episode{DiaryID: "d" + id, Start: 480 + i, End: 1440, Activity: "111"})
	}
}

func TestSmallCellsAreSuppressedAndCannotBeRecovered(t *testing.T) {
	ds := &Dataset{}
	addWeekdays(ds, "F", 12, 30)
	addWeekdays(ds, "M", 3, 30)
	res, err := Compute(ds, Options{})
	if err != nil {
		t.Fatal(err)
	}
	status := func(group string) Status { return res.CellStatus(slices.Index(res.Groups, group), 0) }
	// Three men: primary suppression. all = F + M: with only M hidden, M =
	// all - F, so F is hidden too (secondary); all stays published.
	if s := status("sex=M"); s != SuppressedSize {
		t.Errorf("sex=M: %v, want size", s)
	}
	if s := status("sex=F"); s != SuppressedSecondary {
		t.Errorf("sex=F: %v, want secondary", s)
	}
	if s := status("all"); s != Published {
		t.Errorf("all: %v", s)
	}
	// Everyone is 25-34, employed, commuter, childless: those groups are
	// "all" again and published; sex=M&age_band=25-34 is M again, hidden.
	if s := status("age_band=25-34&employment=employed"); s != Published {
		t.Errorf("age_band=25-34&employment=employed: %v", s)
	}
	if s := status("sex=M&age_band=25-34"); !s.Suppressed() {
		t.Errorf("sex=M&age_band=25-34: %v", s)
	}
	for _, group := range []string{"sex=M", "sex=F", "sex=M&children=0"} {
		ind := find(t, res, group, "weekday", "1")
		if !math.IsNaN(ind.DPR) || !math.IsNaN(ind.Participation) || !math.IsNaN(ind.DPP) || !ind.Status.Suppressed() {
			t.Errorf("%s: %+v published", group, ind)
		}
		if _, ok := res.Tempogram(slices.Index(res.Groups, group), 0); ok {
			t.Errorf("%s: tempogram published", group)
		}
	}
	if ind := find(t, res, "all", "weekday", "1"); math.IsNaN(ind.DPR) {
		t.Errorf("all hidden: %+v", ind)
	}
	// No week without weekend diaries.
	for _, ind := range res.Indicators {
		if ind.Day != 0 {
			t.Fatalf("indicator for %s with no diary of that day type", ResultDays[ind.Day])
		}
	}
}

// TestNoRelationHasOneHiddenCell checks the rule on a survey of realistic
// size: in every relation (a group and its children over one key, on one
// day type; the three day types and the week of one group) no hidden
// non-empty cell or at least two, so no hidden cell is a published total
// minus published parts.
func TestNoRelationHasOneHiddenCell(t *testing.T) {
	res, err := Compute(Synthetic(1500, 11), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cb := newCube()
	pos := map[string]int{}
	for i, g := range res.Groups {
		pos[g] = i
	}
	respondents := map[[2]int]int{}
	for _, ind := range res.Indicators {
		respondents[[2]int{ind.Group, ind.Day}] = ind.Respondents
	}
	check := func(what string, cells [][2]int) {
		hidden, nonEmpty := 0, 0
		for _, c := range cells {
			if respondents[c] == 0 {
				continue
			}
			nonEmpty++
			if res.CellStatus(c[0], c[1]) != Published {
				hidden++
			}
		}
		// A relation with one non-empty member is no relation (the
		// parent's week when no child has all three day types).
		if hidden == 1 && nonEmpty > 1 {
			t.Errorf("%s: one hidden cell among %d", what, nonEmpty)
		}
	}
	primary, secondary := 0, 0
	for g := range cb.n {
		p := pos[cb.name(g)]
		for day := range 4 {
			switch res.CellStatus(p, day) {
			case SuppressedSize:
				primary++
			case SuppressedSecondary:
				secondary++
			}
		}
		for k := range 5 {
			if cb.coord(g, k) != 0 {
				continue
			}
			for day := range 4 {
				cells := [][2]int{{p, day}}
				for x := 1; x < cb.radix[k]; x++ {
					cells = append(cells, [2]int{pos[cb.name(g+x*cb.stride[k])], day})
				}
				check(fmt.Sprintf("%s over %s on %s", cb.name(g), Keys[k], ResultDays[day]), cells)
			}
		}
		if respondents[[2]int{p, 3}] > 0 {
			check(cb.name(g)+" week", [][2]int{{p, 0}, {p, 1}, {p, 2}, {p, 3}})
		}
	}
	if primary == 0 || secondary == 0 {
		t.Errorf("%d primary and %d secondary suppressions: the test proves nothing", primary, secondary)
	}
	t.Logf("%d primary, %d secondary suppressions", primary, secondary)
}
