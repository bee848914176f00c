package timeuse_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/timeuse"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

func demoOffices(calls *int) timeuse.Offices {
	return func(context.Context) ([]timeuse.ResultsOffice, error) {
		*calls++
		return []timeuse.ResultsOffice{
			{ID: "anagrafe", Name: "Anagrafe", Openings: []analysis.Opening{{Weekday: time.Monday, From: 9 * 60, To: 12 * 60}, {Weekday: time.Thursday, From: 9 * 60, To: 12 * 60}}},
			{ID: "tributi", Name: "Tributi", Openings: []analysis.Opening{{Weekday: time.Tuesday, From: 9 * 60, To: 11 * 60}}},
		}, nil
	}
}

// The results job computes the engine on the stored answers once per
// change, stores it, and the pages read it back as the engine gave it:
// synthetic answers while there is no real one, then the real ones only,
// whose single respondent is a cell too small to publish.
func TestResultsComputedStoredAndPublished(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		calls := 0
		offices := demoOffices(&calls)
		if did, err := s.RefreshResults(ctx, offices, timeuse.Weighting{Travel: timeuse.DefaultTravel}); did || err != nil {
			t.Fatalf("no answers: computed %v, %v", did, err)
		}
		if _, err := s.Results(ctx, timeuse.LatestResults); !errors.Is(err, timeuse.ErrNoResults) {
			t.Fatalf("no results yet: %v", err)
		}
		if err := s.Synth(ctx, 300, 7, nil); err != nil {
			t.Fatal(err)
		}
		if did, err := s.RefreshResults(ctx, offices, timeuse.Weighting{Travel: timeuse.DefaultTravel}); !did || err != nil {
			t.Fatalf("computed %v, %v", did, err)
		}
		// Nothing changed: nothing computed again.
		if did, err := s.RefreshResults(ctx, offices, timeuse.Weighting{Travel: timeuse.DefaultTravel}); did || err != nil {
			t.Fatalf("computed again %v, %v", did, err)
		}
		sum, err := s.Results(ctx, timeuse.LatestResults)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Synthetic || sum.Respondents != 300 || sum.Diaries != 600 || len(sum.Groups) != 24 || sum.Groups[0].Name != "all" || sum.Groups[1].Name != "sex=F" {
			t.Fatalf("summary: synthetic %v, %d respondents, %d diaries, %d groups", sum.Synthetic, sum.Respondents, sum.Diaries, len(sum.Groups))
		}
		// The same figures as the engine on the same dataset.
		ds, err := s.Dataset(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		res, err := analysis.Compute(ds, analysis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]analysis.Indicator{}
		for _, ind := range res.Indicators {
			if res.Groups[ind.Group] == "sex=F" && analysis.ResultDays[ind.Day] == "weekday" {
				want[ind.Activity] = ind
			}
		}
		day := sum.Groups[1].Days[0]
		if day == nil || day.Status != "no" || len(day.Indicators) != len(sum.Activities) {
			t.Fatalf("sex=F on weekdays: %+v", day)
		}
		for a, code := range sum.Activities {
			got, w := day.Indicators[a], want[code]
			if !same(float64(got.DPR), w.DPR) || !same(float64(got.P), w.Participation) || !same(float64(got.DPP), w.DPP) ||
				!same(float64(got.CV), w.CV) || got.Status != w.Status.String() {
				t.Errorf("%s: stored %+v, engine %+v", code, got, w)
			}
			// DPR = DPP × P on a single day type.
			if got.DPP.Valid() && math.Abs(float64(got.DPR)-float64(got.DPP)*float64(got.P)) > 1e-3 {
				t.Errorf("%s: DPR %v != DPP %v × P %v", code, got.DPR, got.DPP, got.P)
			}
		}
		// Every slot of a stored tempogram sums to 1 (in ten-thousandths,
		// up to rounding each of ten shares).
		for s := range analysis.Slots {
			total := 0
			for k := range 10 {
				total += int(day.Tempogram[s*10+k])
			}
			if total < 9995 || total > 10005 {
				t.Fatalf("slot %d sums to %d", s, total)
			}
		}
		// Reachability and a proposal per office.
		if len(sum.Offices) != 2 || sum.Groups[0].Reach == nil || !sum.Groups[0].Reach.Share.Valid() || sum.Best == nil {
			t.Fatalf("reach: %+v best %+v", sum.Offices, sum.Best)
		}
		for _, o := range sum.Offices {
			p := o.Proposal
			if p == nil {
				continue
			}
			if p.Office != o.ID || p.To-p.From != 120 || float64(p.MinAfter) < float64(p.MinBefore) || float64(p.AllAfter) < float64(p.AllBefore) {
				t.Errorf("%s: proposal %+v", o.ID, p)
			}
			for _, g := range p.Gains {
				if g.After <= g.Before || g.Respondents < sum.MinCell {
					t.Errorf("%s: gain %+v", o.ID, g)
				}
			}
		}

		// Publishing: audited, the office's version only.
		log := &audit.Log{DB: d}
		if err := s.Publish(ctx, log, 12345, "operator:o1", "192.0.2.1"); !errors.Is(err, timeuse.ErrResultsChanged) {
			t.Fatalf("publishing another version: %v", err)
		}
		if _, err := s.Results(ctx, timeuse.PublishedResults); !errors.Is(err, timeuse.ErrNoResults) {
			t.Fatalf("nothing published yet: %v", err)
		}
		if err := s.Publish(ctx, log, sum.Computed.UnixNano(), "operator:o1", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		pub, err := s.Results(ctx, timeuse.PublishedResults)
		if err != nil || pub.Respondents != 300 {
			t.Fatalf("published %+v, %v", pub, err)
		}
		var n int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'timeuse.results.published' AND actor = 'operator:o1'`).Scan(&n)
		if n != 1 {
			t.Errorf("%d audit entries", n)
		}

		// A real answer: once mixed, the results are the real answers'
		// alone, and a single respondent is a cell too small to show.
		account(t, d, "acc1")
		if err := s.SaveDraft(ctx, timeuse.Subject{Account: "acc1"}, complete()); err != nil {
			t.Fatal(err)
		}
		if err := s.Submit(ctx, timeuse.Subject{Account: "acc1"}); err != nil {
			t.Fatal(err)
		}
		if did, err := s.RefreshResults(ctx, offices, timeuse.Weighting{Travel: timeuse.DefaultTravel}); did || err != nil {
			t.Fatalf("an answer not mixed yet counts: %v %v", did, err)
		}
		if _, err := s.Mix(ctx); err != nil {
			t.Fatal(err)
		}
		if did, err := s.RefreshResults(ctx, offices, timeuse.Weighting{Travel: timeuse.DefaultTravel}); !did || err != nil {
			t.Fatalf("after the mix: %v %v", did, err)
		}
		real, err := s.Results(ctx, timeuse.LatestResults)
		if err != nil || real.Synthetic || real.Respondents != 1 {
			t.Fatalf("real results: %+v %v", real, err)
		}
		all := real.Groups[0]
		if wd := all.Days[0]; wd == nil || wd.Status != "size" || wd.Tempogram != nil || wd.Indicators[0].DPR.Valid() || wd.Indicators[0].Status != "size" {
			t.Errorf("one respondent published: %+v", wd)
		}
		if all.Reach == nil || all.Reach.Eligible || all.Reach.Share.Valid() || real.Best != nil {
			t.Errorf("one respondent's reachability published: %+v %+v", all.Reach, real.Best)
		}
		// The published results stay as they were until published again.
		if pub, _ := s.Results(ctx, timeuse.PublishedResults); pub.Respondents != 300 {
			t.Errorf("published changed: %d", pub.Respondents)
		}
		// Offices changed: computed again.
		changed := func(ctx context.Context) ([]timeuse.ResultsOffice, error) {
			o, err := offices(ctx)
			o[0].Openings = o[0].Openings[:1]
			return o, err
		}
		if did, err := s.RefreshResults(ctx, changed, timeuse.Weighting{Travel: timeuse.DefaultTravel}); !did || err != nil {
			t.Fatalf("new hours: %v %v", did, err)
		}
	})
}

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-5*math.Max(1, math.Abs(b))
}

// The results job weighs the answers to the town's population margins
// when they are given: the published figures are the engine's on the
// post-stratified dataset, the change of margins computes them again, and
// margins the answers cannot be weighted to leave them unweighted, saying
// why.
func TestResultsWeightedToTheTownsMargins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, ctx := newStore(t, d), context.Background()
		calls := 0
		offices := demoOffices(&calls)
		if err := s.Synth(ctx, 300, 7, nil); err != nil {
			t.Fatal(err)
		}
		// Three women for each man: the synthetic sample is about even.
		margins := analysis.Margins{"sex": {"F": 30000, "M": 10000}}
		if did, err := s.RefreshResults(ctx, offices, timeuse.Weighting{Margins: margins}); !did || err != nil {
			t.Fatalf("computed %v, %v", did, err)
		}
		sum, err := s.Results(ctx, timeuse.LatestResults)
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Weighted || sum.MarginsError != "" || sum.Travel != timeuse.DefaultTravel {
			t.Fatalf("weighted %v, error %q, travel %d", sum.Weighted, sum.MarginsError, sum.Travel)
		}
		ds, err := s.Dataset(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		raked, err := analysis.PostStratify(ds, margins)
		if err != nil {
			t.Fatal(err)
		}
		allOf := func(ds *analysis.Dataset) map[string]float64 {
			res, err := analysis.Compute(ds, analysis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]float64{}
			for _, ind := range res.Indicators {
				if res.Groups[ind.Group] == "all" && analysis.ResultDays[ind.Day] == "weekday" {
					out[ind.Activity] = ind.DPR
				}
			}
			return out
		}
		want, plain := allOf(raked), allOf(ds)
		differs := false
		for a, code := range sum.Activities {
			got := float64(sum.Groups[0].Days[0].Indicators[a].DPR)
			if !same(got, want[code]) {
				t.Errorf("everyone's weekday %s: %v published, %v the engine's on the weighted answers", code, got, want[code])
			}
			differs = differs || !same(want[code], plain[code])
		}
		if !differs {
			t.Fatal("the margins changed no figure: the test weighs nothing")
		}

		// Margins the answers cannot be weighted to (two keys that do not
		// describe the same population): unweighted, and why.
		bad := analysis.Margins{"employment": {"employed": 100, "other": 0, "student": 5, "retired": 1, "unemployed": 1, "self_employed": 1, "homemaker": 1}}
		bad["sex"] = map[string]float64{"F": 50, "M": 60}
		if did, err := s.RefreshResults(ctx, offices, timeuse.Weighting{Margins: bad}); !did || err != nil {
			t.Fatalf("new margins: computed %v, %v", did, err)
		}
		if sum, err = s.Results(ctx, timeuse.LatestResults); err != nil || sum.Weighted || sum.MarginsError == "" {
			t.Fatalf("margins that cannot be met: weighted %v, error %q (%v)", sum.Weighted, sum.MarginsError, err)
		}
		for a, code := range sum.Activities {
			if got := float64(sum.Groups[0].Days[0].Indicators[a].DPR); !same(got, plain[code]) {
				t.Errorf("unweighted after a margins error, %s: %v, want %v", code, got, plain[code])
			}
		}
	})
}
