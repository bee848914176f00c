package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civico-pa/civico/internal/timeuse/analysis"
)

// timeuseAnalyze is `civico timeuse analyze --in DIR --out DIR`: the
// indicators and tempograms of an anonymous time-use dataset (civico's
// export or another survey's in the same format), and with --offices the
// reachability of the offices and the recommended extra opening.
func (c *cli) timeuseAnalyze(args []string) error {
	fs := c.flags("timeuse analyze")
	in := fs.String("in", "", "directory with respondents.csv, diaries.csv, episodes.csv")
	out := fs.String("out", "", "directory to write indicators.csv and tempograms.csv to")
	minCell := fs.Int("min-cell", analysis.DefaultMinCell, "minimum respondents of a published cell")
	cvFlag := fs.Float64("cv-flag", analysis.DefaultCVFlag, "coefficient of variation above which an estimate is flagged")
	cvSuppress := fs.Float64("cv-suppress", analysis.DefaultCVSuppress, "coefficient of variation above which an estimate is suppressed")
	margins := fs.String("margins", "", "CSV key,value,population: post-stratify the weights to the town's population")
	offices := fs.String("offices", "", "JSON offices with opening hours and travel time: write reachability.csv and recommend an extra opening")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return usagef("expected `civico timeuse analyze --in DIR --out DIR`")
	}
	if *minCell < 1 || *cvFlag <= 0 || *cvSuppress < *cvFlag {
		return usagef("--min-cell must be 1 or more and 0 < --cv-flag <= --cv-suppress")
	}
	var offs []analysis.Office
	if *offices != "" {
		f, err := os.Open(*offices) // #nosec G304 -- the file named on the command line
		if err != nil {
			return usagef("%v", err)
		}
		offs, err = analysis.ReadOffices(f)
		_ = f.Close()
		if err != nil {
			return usagef("%v", err)
		}
	}
	start := time.Now()
	reading := c.timeuseProgress("reading")
	ds, err := analysis.ReadDatasetProgress(*in, func(done, total int64) { reading.set(int(done), int(total)) })
	reading.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "read %d respondents, %d diaries, %d episodes in %v\n", len(ds.Respondents), len(ds.Diaries), len(ds.Episodes), time.Since(start).Round(time.Millisecond))
	if *margins != "" {
		f, err := os.Open(*margins) // #nosec G304 -- the file named on the command line
		if err != nil {
			return usagef("%v", err)
		}
		m, err := analysis.ReadMargins(f)
		_ = f.Close()
		if err != nil {
			return err
		}
		if ds, err = analysis.PostStratify(ds, m); err != nil {
			return err
		}
	}
	progress := c.timeuseProgress("computing")
	start = time.Now()
	res, err := analysis.Compute(ds, analysis.Options{MinCell: *minCell, CVFlag: *cvFlag, CVSuppress: *cvSuppress, Progress: progress.set})
	progress.finish()
	if err != nil {
		return err
	}
	computed := time.Since(start)
	if err := os.MkdirAll(*out, 0o750); err != nil {
		return err
	}
	start = time.Now()
	if err := analysis.WriteFile(filepath.Join(*out, analysis.IndicatorsFile), res.WriteIndicators); err != nil {
		return err
	}
	if err := analysis.WriteFile(filepath.Join(*out, analysis.TempogramsFile), res.WriteTempograms); err != nil {
		return err
	}
	var hidden, tempos int
	for _, ind := range res.Indicators {
		if ind.Status.Suppressed() {
			hidden++
		}
	}
	for g := range res.Groups {
		for day := range analysis.ResultDays {
			if _, ok := res.Tempogram(g, day); ok {
				tempos++
			}
		}
	}
	fmt.Fprintf(c.stdout, "%d indicators (%d suppressed) and %d tempograms of %d groups: computed in %v, written in %v to %s\n",
		len(res.Indicators), hidden, tempos, len(res.Groups), computed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), *out)
	if offs == nil {
		return nil
	}
	opt := analysis.ReachOptions{MinCell: *minCell}
	rec, err := analysis.Recommend(ds, offs, opt)
	if err != nil {
		return err
	}
	var before, after *analysis.Reach
	if rec != nil {
		before, after = rec.Before, rec.After
	} else {
		if before, err = analysis.Reachability(ds, offs, opt); err != nil {
			return err
		}
		after = before
	}
	if err := analysis.WriteFile(filepath.Join(*out, "reachability.csv"), func(w io.Writer) error { return writeReach(w, offs, before, after) }); err != nil {
		return err
	}
	if rec == nil {
		fmt.Fprintf(c.stdout, "reachability written to %s; no extra two-hour opening raises any group's share\n", filepath.Join(*out, "reachability.csv"))
		return nil
	}
	fmt.Fprintf(c.stdout, "recommended: %s, %s %s-%s; least-served group %s %.1f%% -> %.1f%%, everyone %.1f%% -> %.1f%% (reachability.csv: before and after)\n",
		rec.Name, rec.Opening.Weekday, analysis.Clock(rec.Opening.From), analysis.Clock(rec.Opening.To),
		rec.LeastServed, 100*rec.MinBefore, 100*rec.MinAfter, 100*rec.AllBefore, 100*rec.AllAfter)
	return nil
}

// writeReach writes reachability.csv: for each group with enough
// respondents and each office ("any" for at least one), the share of the
// group's weekdays with a window to reach it, before and after the
// recommended opening.
func writeReach(w io.Writer, offs []analysis.Office, before, after *analysis.Reach) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group", "office", "respondents", "share_before", "share_after"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	for i, g := range before.Groups {
		if !g.Eligible {
			continue
		}
		a := after.Groups[i]
		n := strconv.Itoa(g.Respondents)
		_ = cw.Write([]string{g.Group, "any", n, f(g.Share), f(a.Share)})
		for o, of := range offs {
			_ = cw.Write([]string{g.Group, of.Name, n, f(g.PerOffice[o]), f(a.PerOffice[o])})
		}
	}
	cw.Flush()
	return cw.Error()
}

// cliProgress shows work done: a bar on a terminal, a line every two
// seconds otherwise.
type cliProgress struct {
	c    *cli
	what string
	bar  *progressbar.ProgressBar
	last time.Time
}

func (c *cli) timeuseProgress(what string) *cliProgress {
	return &cliProgress{c: c, what: what, last: time.Now()}
}

func (p *cliProgress) set(done, total int) {
	if p.bar == nil {
		if f, ok := p.c.stderr.(*os.File); ok && isTerminal(f) {
			p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.c.stderr), progressbar.OptionSetDescription(p.what),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
		}
	}
	if p.bar != nil {
		_ = p.bar.Set(done)
	} else if time.Since(p.last) > 2*time.Second {
		fmt.Fprintf(p.c.stderr, "%s: %d/%d\n", p.what, done, total)
		p.last = time.Now()
	}
}

func (p *cliProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
