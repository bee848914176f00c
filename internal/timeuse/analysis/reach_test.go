package analysis

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestUnavailable(t *testing.T) {
	for code, want := range map[string]bool{
		"011": true, "012": true, "01": true, "021": false, "031": false, "0": false,
		"1": true, "111": true, "121": true, "2": true, "211": true, "22": false, "221": false,
		"3": false, "311": false, "381": true, "38": true, "391": true, "36": false,
		"9": true, "91": true, "936": true, "98": true, "99": false, "995": false, "821": false,
	} {
		if got := Unavailable(code); got != want {
			t.Errorf("Unavailable(%q) = %v, want %v", code, got, want)
		}
	}
}

// addDays adds n respondents of a sex and employment whose weekday is the
// given episodes (start, end, activity), then a Saturday of sleep.
func addDays(ds *Dataset, n int, sex, emp string, eps ...any) {
	for range n {
		i := len(ds.Respondents)
		id := fmt.Sprintf("r%d", i)
		ds.Respondents = append(ds.Respondents, Respondent{ID: id, Sex: sex, Age: 40, AgeBand: "35-44", Employment: emp, Commuter: "yes", Children: "0", Weight: 1})
		ds.Diaries = append(ds.Diaries, Diary{ID: "d" + id, RespondentID: id, DayType: "weekday", Weight: 1}, Diary{ID: "s" + id, RespondentID: id, DayType: "saturday", Weight: 1})
		for k := 0; k < len(eps); k += 3 {
			ds.Episodes = append(ds.Episodes, Episode{DiaryID: "d" + id, Start: eps[k].(int), End: eps[k+1].(int), Activity: eps[k+2].(string)})
		}
		ds.Episodes = append(ds.Episodes, Episode{DiaryID: "s" + id, Start: 0, End: DayLength, Activity: "011"})
	}
}

// Diary minutes: 0 is 04:00, 600 is 14:00.
func reachDataset() *Dataset {
	ds := &Dataset{}
	// Women at work 08:00-18:00, home at 18:30, free until midnight.
	addDays(ds, 10, "F", "employed", 0, 210, "011", 210, 240, "91", 240, 840, "111", 840, 870, "91", 870, 1200, "821", 1200, 1440, "011")
	// Retired men, free 07:00-23:00.
	addDays(ds, 10, "M", "retired", 0, 180, "011", 180, 1140, "531", 1140, 1440, "011")
	return ds
}

func TestReachabilityHandComputed(t *testing.T) {
	ds := reachDataset()
	if err := ds.Validate(); err != nil {
		t.Fatal(err)
	}
	// Open 14:00-16:00 (diary 600-720) on Tuesdays: the retired men reach
	// it, the working women do not; on Saturdays: does not count.
	office := Office{Name: "Anagrafe", Travel: 10, Openings: []Opening{{time.Tuesday, 14 * 60, 16 * 60}, {time.Saturday, 9 * 60, 12 * 60}}}
	r, err := Reachability(ds, []Office{office}, ReachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	share := map[string]float64{}
	for _, g := range r.Groups {
		share[g.Group] = g.Share
		if g.PerOffice[0] != g.Share {
			t.Errorf("%s: one office, per office %v != %v", g.Group, g.PerOffice[0], g.Share)
		}
	}
	if share["sex=F"] != 0 || share["sex=M"] != 1 || share["all"] != 0.5 || r.Groups[0].Group != "all" {
		t.Errorf("shares %v", share)
	}
	// Travel: free 18:30 (diary 870); open 18:00-19:10 (diary 840-910):
	// arriving at 18:40 after 10 minutes, 30 minutes there ends 19:10.
	late := Office{Name: "late", Travel: 10, Openings: []Opening{{time.Wednesday, 18 * 60, 19*60 + 10}}}
	r, _ = Reachability(ds, []Office{late}, ReachOptions{})
	if got := r.Groups[1].Share; r.Groups[1].Group != "sex=F" || got != 1 {
		t.Errorf("%s %v, want women reach 18:00-19:10", r.Groups[1].Group, got)
	}
	late.Openings[0].To = 19*60 + 9
	r, _ = Reachability(ds, []Office{late}, ReachOptions{})
	if got := r.Groups[1].Share; got != 0 {
		t.Errorf("women reach 18:00-19:09: %v, want 0 (29 minutes)", got)
	}
	late.Travel = 11
	late.Openings[0].To = 19*60 + 11
	r, _ = Reachability(ds, []Office{late}, ReachOptions{})
	if got := r.Groups[1].Share; got != 1 {
		t.Errorf("women reach 18:00-19:11 with 11 minutes' travel: %v", got)
	}
}

func TestRecommendRaisesTheLeastServed(t *testing.T) {
	ds := reachDataset()
	offices := []Office{
		{Name: "Anagrafe", Travel: 10, Openings: []Opening{{time.Monday, 9 * 60, 12 * 60}, {time.Tuesday, 14 * 60, 16 * 60}, {time.Thursday, 9 * 60, 12 * 60}}},
		{Name: "Tributi", Travel: 40, Openings: []Opening{{time.Monday, 9 * 60, 12 * 60}}},
	}
	rec, err := Recommend(ds, offices, ReachOptions{})
	if err != nil || rec == nil {
		t.Fatal(rec, err)
	}
	// The women are free from 18:30 (diary 870) with 10 minutes' travel:
	// the first two-hour window from 07:00 every 30 minutes that fits
	// [880, 910] is 17:30-19:30 at the near office. Tributi is 40 minutes
	// away: 18:30+40+30 = 19:40, also reachable from 17:30 on, but the
	// near office comes first among equals.
	if rec.Name != "Anagrafe" || rec.Opening.From != 17*60+30 || rec.Opening.To != 19*60+30 {
		t.Errorf("recommended %s %v", rec.Name, rec.Opening)
	}
	// Anagrafe is open least on Wednesday and Friday (0 hours): Wednesday first.
	if rec.Opening.Weekday != time.Wednesday {
		t.Errorf("weekday %v", rec.Opening.Weekday)
	}
	if rec.MinBefore != 0 || rec.MinAfter != 1 || rec.AllBefore != 0.5 || rec.AllAfter != 1 || rec.LeastServed != "sex=F" {
		t.Errorf("before/after: %+v", rec)
	}
	// Already everyone reaches: nothing to recommend.
	offices[0].Openings = append(offices[0].Openings, Opening{time.Friday, 18 * 60, 20 * 60})
	if rec, err := Recommend(ds, offices, ReachOptions{}); err != nil || rec != nil {
		t.Errorf("nothing to gain, got %+v %v", rec, err)
	}
}

func TestRecommendOnASurvey(t *testing.T) {
	ds := Synthetic(6000, 9)
	offices := []Office{{Name: "Anagrafe", Travel: 15, Openings: []Opening{{time.Monday, 9 * 60, 12 * 60}, {time.Wednesday, 9 * 60, 12 * 60}}}}
	rec, err := Recommend(ds, offices, ReachOptions{})
	if err != nil || rec == nil {
		t.Fatal(rec, err)
	}
	if rec.MinAfter < rec.MinBefore || math.IsNaN(rec.AllAfter) || rec.AllAfter < rec.AllBefore {
		t.Errorf("the recommendation lowers reachability: %+v", rec)
	}
	t.Logf("%s %v %d-%d: least served %s %.3f -> %.3f, all %.3f -> %.3f", rec.Name, rec.Opening.Weekday, rec.Opening.From, rec.Opening.To, rec.LeastServed, rec.MinBefore, rec.MinAfter, rec.AllBefore, rec.AllAfter)
}

func TestRecommendEachOffice(t *testing.T) {
	ds := reachDataset()
	offices := []Office{
		{Name: "Anagrafe", Travel: 10, Openings: []Opening{{time.Monday, 9 * 60, 12 * 60}, {time.Tuesday, 14 * 60, 16 * 60}}},
		{Name: "Tributi", Travel: 40, Openings: []Opening{{time.Monday, 9 * 60, 12 * 60}}},
		// Open every evening already: no extra opening here adds anyone.
		{Name: "Biblioteca", Travel: 5, Openings: []Opening{{time.Monday, 18*60 + 40, 21 * 60}}},
	}
	recs, before, err := RecommendEach(ds, offices, ReachOptions{})
	if err != nil || len(recs) != 3 || before == nil {
		t.Fatal(recs, before, err)
	}
	// The library's evenings already give everyone a window: no office
	// has an opening to propose.
	for o, r := range recs {
		if r != nil {
			t.Errorf("%s: everyone reaches already, got %+v", offices[o].Name, r)
		}
	}
	if before.Groups[0].Share != 1 {
		t.Errorf("before: %v", before.Groups[0].Share)
	}
	// Without the library: Anagrafe as Recommend, 17:30-19:30. Tributi is
	// 40 minutes away: the women, free from 18:30, arrive at 19:10 and
	// need until 19:40, so its first window on the half hour that holds
	// that is 18:00-20:00 (17:30-19:30 ends too early).
	offices = offices[:2]
	recs, _, err = RecommendEach(ds, offices, ReachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := recs[0]; r == nil || r.Opening.From != 17*60+30 || r.Opening.To != 19*60+30 || r.MinAfter != 1 || r.LeastServed != "sex=F" {
		t.Errorf("Anagrafe: %+v", r)
	}
	if r := recs[1]; r == nil || r.Office != 1 || r.Opening.From != 18*60 || r.Opening.To != 20*60 || r.MinAfter != 1 || r.AllAfter != 1 {
		t.Errorf("Tributi: %+v", r)
	}
	// Each office's proposal is the one Recommend finds when only that
	// office may open more.
	whole, _ := Recommend(ds, offices, ReachOptions{})
	if whole.Office != recs[0].Office || whole.Opening != recs[0].Opening {
		t.Errorf("Recommend %+v, RecommendEach %+v", whole, recs[0])
	}
}
