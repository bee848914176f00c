package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civico-pa/civico/internal/timeuse"
)

// The survey's instrument side of `civico timeuse` (see docs/TIMEUSE.md):
// synth, export and invite, verbs of the dispatcher in cli.go.

func (c *cli) timeuseSynth(args []string) error {
	return c.timeuseStore(append([]string{"synth"}, args...))
}

func (c *cli) timeuseExport(args []string) error {
	return c.timeuseStore(append([]string{"export"}, args...))
}

func (c *cli) timeuseInvite(args []string) error {
	return c.timeuseStore(append([]string{"invite"}, args...))
}

// timeuseStore runs the commands that read or write the survey's dataset.
func (c *cli) timeuseStore(args []string) error {
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("timeuse " + args[0])
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	n := fs.Int("n", 0, "synthetic respondents to add (synth), invitations to make (invite)")
	days := fs.Int("days", timeuse.DefaultInvitationDays, "days an invitation works (invite)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (synth): the same seed makes the same respondents")
	out := fs.String("out", "", "directory to write respondents.csv, diaries.csv and episodes.csv into (export)")
	rows := fs.String("rows", timeuse.RealOnly, "respondents to export: real, synthetic or all (export)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	switch {
	case args[0] == "synth" && (*n < 1 || *n > 1_000_000):
		return usagef("timeuse synth needs --n between 1 and 1000000")
	case args[0] == "invite" && (*n < 1 || *n > timeuse.MaxInvitations || *days < 1 || *days > 366):
		return usagef("timeuse invite needs --n between 1 and %d and --days between 1 and 366", timeuse.MaxInvitations)
	case args[0] == "export" && *out == "":
		return usagef("timeuse export needs --out DIR")
	case args[0] == "export" && *rows != timeuse.RealOnly && *rows != timeuse.SyntheticOnly && *rows != timeuse.AllRows:
		return usagef("--rows %q: real, synthetic or all", *rows)
	}
	ctx, stop := signalContext()
	defer stop()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), false)
	if err != nil {
		return err
	}
	defer d.Close()
	s := &timeuse.Store{DB: d, Acts: timeuse.ACL()}
	if args[0] == "invite" {
		baseURL, err := publicURL("CIVICO_BASE_URL", cfg.BaseURL, cfg.Addr)
		if err != nil {
			return err
		}
		secrets, err := s.Invite(ctx, auditLog(d), *n, *days, "cli", "")
		if err != nil {
			return err
		}
		for _, secret := range secrets {
			fmt.Fprintln(c.stdout, timeuse.InviteURL(baseURL, secret))
		}
		return nil
	}
	if args[0] == "synth" {
		progress := c.countBar(*n, "synthetic respondents")
		if err := s.Synth(ctx, *n, *seed, progress); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "added %d synthetic respondents (seed %d)\n", *n, *seed)
		return nil
	}
	counts, err := s.Count(ctx)
	if err != nil {
		return err
	}
	total := counts.Real
	switch *rows {
	case timeuse.SyntheticOnly:
		total = counts.Synthetic
	case timeuse.AllRows:
		total += counts.Synthetic
	}
	got, err := s.ExportDir(ctx, *out, *rows, c.countBar(total, "exporting respondents"))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %d respondents, %d diaries, %d episodes to %s\n", got.Respondents, got.Diaries, got.Episodes, *out)
	return nil
}

// countBar reports work done out of total: a bar on a terminal, a line
// every two seconds otherwise.
func (c *cli) countBar(total int, what string) func(done int) {
	var bar *progressbar.ProgressBar
	if f, ok := c.stderr.(*os.File); ok && isTerminal(f) {
		bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	last := time.Now()
	return func(done int) {
		if bar != nil {
			_ = bar.Set(done)
			if done == total {
				_ = bar.Finish()
			}
		} else if time.Since(last) > 2*time.Second || done == total {
			fmt.Fprintf(c.stderr, "%s: %d/%d\n", what, done, total)
			last = time.Now()
		}
	}
}
