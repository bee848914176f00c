package analysis_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// TestSQLMatchesEngine checks that the benchmark's SQL computes the same
// figures as the engine, so that comparing their speed is fair.
func TestSQLMatchesEngine(t *testing.T) {
	ds := analysis.Synthetic(150, 2)
	ctx := context.Background()
	d, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: filepath.Join(t.TempDir(), "tu.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := loadSQL(ctx, d, ds); err != nil {
		t.Fatal(err)
	}
	if _, err := aggregateSQL(ctx, d); err != nil {
		t.Fatal(err)
	}
	res, err := analysis.Compute(ds, analysis.Options{MinCell: 1, CVFlag: 100, CVSuppress: 100})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range []struct {
		group, where string
		mask         int
	}{
		{"all", "", 0},
		{"sex=F", "AND k1 = 'F'", 1},
		{"sex=M&employment=employed", "AND k1 = 'M' AND k3 = 'employed'", 5},
		{"age_band=25-34&commuter=yes&children=2", "AND k2 = '25-34' AND k4 = 'yes' AND k5 = '2'", 26},
	} {
		rows, err := d.QueryContext(ctx, `SELECT day, a, n, dpr, p, dpp, se FROM ind WHERE m = ? `+c.where, c.mask)
		if err != nil {
			t.Fatal(err)
		}
		g := slices.Index(res.Groups, c.group)
		for rows.Next() {
			var day, a string
			var n int
			var dpr, p, dpp float64
			var se *float64
			if err := rows.Scan(&day, &a, &n, &dpr, &p, &dpp, &se); err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(res.Indicators, func(x analysis.Indicator) bool {
				return x.Group == g && analysis.ResultDays[x.Day] == day && x.Activity == a
			})
			if i < 0 {
				t.Fatalf("%s %s %s: not in the engine's results", c.group, day, a)
			}
			x := res.Indicators[i]
			ok := x.Respondents == n && same(x.DPR, dpr) && same(x.Participation, p) && same(x.DPP, dpp)
			if se != nil {
				ok = ok && same(x.SE, *se)
			}
			if !ok {
				t.Errorf("%s %s %s: engine %+v, SQL n=%d dpr=%v p=%v dpp=%v se=%v", c.group, day, a, x, n, dpr, p, dpp, se)
			}
			checked++
		}
		_ = rows.Close()
		// Tempogram shares.
		tr, err := d.QueryContext(ctx, `SELECT b.day, b.s, b.a, b.v / a.w FROM gt b JOIN gw a ON `+sameGroup+` AND a.day = b.day WHERE b.m = ? `+
			map[int]string{0: "", 1: "AND b.k1 = 'F'", 5: "AND b.k1 = 'M' AND b.k3 = 'employed'", 26: "AND b.k2 = '25-34' AND b.k4 = 'yes' AND b.k5 = '2'"}[c.mask], c.mask)
		if err != nil {
			t.Fatal(err)
		}
		for tr.Next() {
			var day string
			var s, a int
			var share float64
			if err := tr.Scan(&day, &s, &a, &share); err != nil {
				t.Fatal(err)
			}
			sh, ok := res.Tempogram(g, slices.Index(analysis.ResultDays, day))
			if ok && !same(sh[s*10+a], share) {
				t.Errorf("%s %s slot %d activity %d: engine %v, SQL %v", c.group, day, s, a, sh[s*10+a], share)
			}
			checked++
		}
		_ = tr.Close()
	}
	if checked < 1000 {
		t.Errorf("only %d figures compared", checked)
	}
}

func same(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
