package timeuse

import (
	"context"
	"database/sql"
	"math/rand/v2"
)

// Synthetic respondents: `civico timeuse synth` and the demo make them so
// that the analysis and its pages have data before a survey runs. They
// are plausible by group (employed commuters leave early and come back
// late, retirees do not, students study, parents care for their children)
// and are marked synthetic in the dataset: the export leaves them out
// unless asked.

// SynthBatch is how many respondents one transaction writes.
const SynthBatch = 50

// Synth writes n synthetic respondents drawn from seed, reporting the
// number written so far to progress (may be nil).
func (s *Store) Synth(ctx context.Context, n int, seed uint64, progress func(done int)) error {
	g := &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} // #nosec G404 -- synthetic respondents, repeatable from the seed on purpose; nothing secret
	for done := 0; done < n; {
		k := min(SynthBatch, n-done)
		batch := make([]*Respondent, k)
		for i := range batch {
			batch[i] = g.respondent()
		}
		if err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			for _, r := range batch {
				if err := insert(ctx, tx, r, true); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		done += k
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

type generator struct{ r *rand.Rand }

func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

func (g *generator) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// tens is a duration between lo and hi minutes, in ten-minute steps.
func (g *generator) tens(lo, hi int) int { return g.between(lo/10, hi/10) * 10 }

func pick[T any](g *generator, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// respondent draws a person and their two days.
func (g *generator) respondent() *Respondent {
	q := Questionnaire{Sex: pick(g, "F", "M"), Done: true}
	// Ages 15-89, fewer at the ends.
	q.Age = min(89, 15+int(g.r.Float64()*g.r.Float64()*50+g.r.Float64()*45))
	switch {
	case q.Age < 20:
		q.Employment = "student"
		if q.Age >= 18 && g.chance(0.2) {
			q.Employment = "employed"
		}
	case q.Age < 25:
		q.Employment = pick(g, "student", "student", "employed", "employed", "unemployed")
	case q.Age < 65:
		x := g.r.Float64()
		switch {
		case x < 0.62:
			q.Employment = "employed"
		case x < 0.74:
			q.Employment = "self_employed"
		case x < 0.82:
			q.Employment = "unemployed"
		case x < 0.95 && q.Sex == "F":
			q.Employment = "homemaker"
		case q.Age >= 60:
			q.Employment = "retired"
		default:
			q.Employment = "other"
		}
	default:
		q.Employment = "retired"
		if q.Sex == "F" && g.chance(0.15) {
			q.Employment = "homemaker"
		}
	}
	if Works(q.Employment) {
		q.WorkHours = pick(g, 36, 38, 40, 40, 40, 45, 50)
		if g.chance(0.2) {
			q.WorkHours = pick(g, 18, 20, 24, 30)
		}
	}
	q.Commuter = (Works(q.Employment) && g.chance(0.8)) || (q.Employment == "student" && g.chance(0.9))
	if q.Commuter {
		q.Destination = pick(g, "town", "nearby", "milan", "milan", "other")
		q.CommuteMode = pick(g, "21", "22", "24", "24", "31", "31")
		q.CommuteMinutes = map[string]int{"town": g.between(5, 20), "nearby": g.between(15, 35), "milan": g.between(30, 75), "other": g.between(20, 60)}[q.Destination]
	}
	q.HouseholdSize = 1
	if q.Age >= 25 && q.Age < 55 && g.chance(0.55) {
		for range g.between(1, 3) {
			q.ChildrenAges = append(q.ChildrenAges, g.between(0, min(17, q.Age-22)))
		}
	}
	if q.Age < 25 {
		q.HouseholdSize = g.between(3, 5)
	} else {
		q.HouseholdSize = len(q.ChildrenAges) + pick(g, 1, 2, 2, 2)
	}
	q.Education = pick(g, "lower_secondary", "upper_secondary", "upper_secondary", "tertiary")
	if q.Age >= 70 {
		q.Education = pick(g, "primary", "lower_secondary", "upper_secondary")
	}
	if q.Commuter {
		q.Preferred = []string{pick(g, "weekday_early", "weekday_evening", "saturday_morning", "online_only")}
	} else {
		q.Preferred = []string{pick(g, "weekday_morning", "weekday_afternoon")}
	}
	r := &Respondent{Q: q, Weight: 1}
	r.Diaries = []Diary{g.day(&q, "weekday"), g.day(&q, pick(g, "saturday", "sunday"))}
	return r
}

// dayBuilder appends episodes one after the other from 04:00.
type dayBuilder struct {
	at  int
	eps []Episode
}

// add appends an episode of d minutes, leaving at least an hour for the
// night's sleep that closes the day.
func (b *dayBuilder) add(d int, act, where, who string) {
	end := min(b.at+d, DayMinutes-60)
	if end <= b.at {
		return
	}
	if n := len(b.eps); n > 0 && b.eps[n-1].Activity == act && b.eps[n-1].Location == where && b.eps[n-1].WithWhom == who {
		b.eps[n-1].End = end
	} else {
		b.eps = append(b.eps, Episode{Start: b.at, End: end, Activity: act, Location: where, WithWhom: who})
	}
	b.at = end
}

// until appends an episode up to minute m (from 04:00).
func (b *dayBuilder) until(m int, act, where, who string) { b.add(m-b.at, act, where, who) }

// day draws one diary day of a person.
func (g *generator) day(q *Questionnaire, dayType string) Diary {
	b := &dayBuilder{}
	kids := Children(q.ChildrenAges) != "0"
	home := "alone"
	if q.HouseholdSize > 1 {
		home = pick(g, "partner", "other_household")
		if kids {
			home = "children"
		}
	}
	weekday := dayType == "weekday"
	travel := func(code string, minutes int) {
		mode := q.CommuteMode
		if mode == "" || code != "91" && code != "92" {
			mode = pick(g, "21", "24", "24")
		}
		b.add(max(10, (minutes+5)/10*10), code, mode, "alone")
	}
	switch {
	case weekday && (Works(q.Employment) || q.Employment == "student" && q.Commuter):
		study := q.Employment == "student"
		wake := g.tens(120, 210) // 06:00-07:30
		if !q.Commuter {
			wake += 30
		}
		if q.CommuteMinutes > 45 {
			wake -= 40
		}
		b.until(wake, "011", "11", "alone")
		b.add(g.tens(20, 40), "031", "11", "alone")
		b.add(g.tens(10, 20), "021", "11", home)
		if kids {
			b.add(g.tens(10, 30), "384", pick(g, "21", "24"), "children")
		}
		work, jobTravel, lunch, place := "111", "91", "121", "13"
		if study {
			work, jobTravel, lunch = "211", "92", "021"
		}
		if q.Commuter {
			travel(jobTravel, q.CommuteMinutes)
		}
		hours := q.WorkHours / 5 * 60
		if study {
			hours = g.tens(300, 360)
		}
		if hours == 0 {
			hours = 420
		}
		first := min(hours/2, g.tens(200, 260))
		b.add(first, work, place, "others")
		b.add(g.tens(30, 60), lunch, pick(g, "13", "15"), "others")
		b.add(hours-first, work, place, "others")
		if q.Commuter {
			travel(jobTravel, q.CommuteMinutes)
		}
		if study {
			b.add(g.tens(60, 150), "212", "11", "alone")
		}
		if g.chance(0.4) {
			b.add(g.tens(20, 50), "361", "16", "alone")
		}
		if kids {
			b.add(g.tens(30, 80), pick(g, "381", "383"), "11", "children")
		}
		b.add(g.tens(30, 60), "311", "11", home)
		b.add(g.tens(30, 50), "021", "11", home)
		b.add(g.tens(60, 150), pick(g, "821", "821", "812", "723"), "11", home)
	case weekday:
		// At home on weekdays: retirees, the unemployed, homemakers,
		// students who do not commute.
		b.until(g.tens(150, 270), "011", "11", "alone")
		b.add(g.tens(20, 50), "031", "11", "alone")
		b.add(g.tens(20, 30), "021", "11", home)
		if kids {
			b.add(g.tens(10, 30), "384", "21", "children")
		}
		if q.Employment == "unemployed" {
			b.add(g.tens(60, 120), "722", "11", "alone")
		}
		b.add(g.tens(40, 90), pick(g, "321", "331", "341"), "11", "alone")
		travel("936", 15)
		b.add(g.tens(30, 70), "361", "16", "alone")
		travel("936", 15)
		b.add(g.tens(40, 70), "311", "11", home)
		b.add(g.tens(40, 60), "021", "11", home)
		b.add(g.tens(40, 90), "531", "11", home)
		b.add(g.tens(40, 90), pick(g, "611", "512", "812"), pick(g, "19", "14", "11"), pick(g, "others", "alone"))
		if kids {
			b.add(g.tens(60, 120), "381", "11", "children")
		}
		b.add(g.tens(40, 70), "311", "11", home)
		b.add(g.tens(30, 50), "021", "11", home)
		b.add(g.tens(90, 180), "821", "11", home)
	default:
		// The weekend: later up, chores, shopping, friends, sport, TV.
		b.until(g.tens(210, 330), "011", "11", "alone")
		b.add(g.tens(20, 50), "031", "11", "alone")
		b.add(g.tens(20, 40), "021", "11", home)
		b.add(g.tens(40, 100), pick(g, "321", "331", "352"), "11", home)
		if dayType == "saturday" {
			travel("936", 15)
			b.add(g.tens(40, 90), "361", "16", home)
			travel("936", 15)
		} else if q.Age < 65 && g.chance(0.5) {
			b.add(g.tens(60, 120), pick(g, "612", "613", "614", "615"), "19", "others")
		} else {
			b.add(g.tens(40, 70), "432", "19", "others")
		}
		b.add(g.tens(60, 90), "311", "11", home)
		b.add(g.tens(50, 90), "021", "11", home)
		if kids {
			b.add(g.tens(60, 150), "383", "11", "children")
		}
		travel("95", 20)
		b.add(g.tens(90, 180), pick(g, "512", "511", "522"), pick(g, "14", "15", "19"), "others")
		travel("95", 20)
		b.add(g.tens(30, 50), "021", "11", home)
		b.add(g.tens(60, 150), "821", "11", home)
	}
	// The evening until bedtime (22:00-24:00), then to bed.
	if bed := g.tens(18*60, 20*60); b.at < bed {
		b.until(bed, pick(g, "821", "821", "812", "511"), "11", home)
	}
	b.add(g.tens(10, 20), "031", "11", "alone")
	// The night's sleep, at least an hour (add leaves it), to 04:00.
	b.eps = append(b.eps, Episode{Start: b.at, End: DayMinutes, Activity: "011", Location: "11", WithWhom: "alone"})
	return Diary{DayType: dayType, Episodes: b.eps}
}

// DemoRespondents is how many synthetic respondents the demo holds, so
// that the analysis and its pages have data.
const DemoRespondents = 600

// SeedDemo adds the demo's synthetic respondents when there are none
// (always the same ones: a fixed seed).
func (s *Store) SeedDemo(ctx context.Context) error {
	c, err := s.Count(ctx)
	if err != nil || c.Synthetic > 0 {
		return err
	}
	return s.Synth(ctx, DemoRespondents, 2026, nil)
}
