package analysis

import (
	"fmt"
	"math/rand/v2"
)

// Synthetic is a deterministic SYNTHETIC dataset (no real person) of
// about days diary days (a weekday and a weekend day per respondent), for
// tests, benchmarks and trying the analysis on any size:
// plausible days by employment (sleep, work or study with travel, meals,
// housework, childcare for parents, leisure), with episode boundaries on
// minutes, not only ten-minute marks.
func Synthetic(days int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 0x7e3a)) // #nosec G404 -- a synthetic dataset, repeatable from the seed on purpose; nothing secret
	ds := &Dataset{}
	n := days / 2
	for i := range n {
		age := 15 + rng.IntN(76)
		emp := Employments[rng.IntN(len(Employments))]
		switch {
		case age < 20 && rng.IntN(4) > 0:
			emp = "student"
		case age >= 67 && rng.IntN(5) > 0:
			emp = "retired"
		}
		r := Respondent{
			ID: fmt.Sprintf("r%06d", i), Sex: Sexes[rng.IntN(2)], Age: age, AgeBand: AgeBand(age),
			Employment: emp, Commuter: YesNo[rng.IntN(2)], Children: ChildCounts[rng.IntN(4)],
			Weight: 0.5 + rng.Float64(),
		}
		ds.Respondents = append(ds.Respondents, r)
		for k, dt := range []string{"weekday", []string{"saturday", "sunday"}[rng.IntN(2)]} {
			d := Diary{ID: fmt.Sprintf("d%06d-%d", i, k), RespondentID: r.ID, DayType: dt, Weight: r.Weight * (0.8 + 0.4*rng.Float64())}
			ds.Diaries = append(ds.Diaries, d)
			ds.Episodes = append(ds.Episodes, syntheticDay(rng, d.ID, &r, dt == "weekday")...)
		}
	}
	return ds
}

func syntheticDay(rng *rand.Rand, id string, r *Respondent, weekday bool) []Episode {
	type step struct {
		act string
		min int
	}
	j := func(base, spread int) int { return base + rng.IntN(spread+1) }
	plan := []step{{"011", j(60, 180)}, {"031", j(15, 40)}, {"021", j(10, 20)}}
	worker := r.Employment == "employed" || r.Employment == "self_employed"
	switch {
	case weekday && worker:
		travel := "91"
		plan = append(plan, step{travel, j(10, 50)}, step{"111", j(180, 60)}, step{"121", j(30, 40)}, step{"111", j(150, 90)}, step{travel, j(10, 50)})
	case weekday && r.Employment == "student":
		plan = append(plan, step{"92", j(10, 30)}, step{"211", j(240, 60)}, step{"92", j(10, 30)}, step{"212", j(60, 120)})
	default:
		plan = append(plan, step{"321", j(30, 90)}, step{"936", j(10, 20)}, step{"361", j(20, 60)}, step{"936", j(10, 20)})
	}
	if r.Children != "0" {
		plan = append(plan, step{"381", j(30, 120)}, step{"938", j(0, 30)})
	}
	plan = append(plan, step{"311", j(30, 60)}, step{"021", j(20, 40)}, step{"512", j(0, 120)}, step{"61", j(0, 60)}, step{"821", j(30, 150)}, step{"812", j(0, 40)}, step{"021", j(15, 30)}, step{"821", j(20, 90)})
	var eps []Episode
	at := 0
	for _, s := range plan {
		if s.min == 0 || at >= DayLength-120 {
			continue
		}
		end := min(at+s.min, DayLength-120)
		eps = append(eps, Episode{DiaryID: id, Start: at, End: end, Activity: s.act, Location: "11", WithWhom: "1"})
		at = end
	}
	// Sleep until 04:00.
	return append(eps, Episode{DiaryID: id, Start: at, End: DayLength, Activity: "011", Location: "11"})
}
