package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
)

// audit runs `civico audit verify` and `civico audit list`.
func (c *cli) audit(args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "list") {
		return usagef("expected `civico audit verify` or `civico audit list [--limit N] [--actor A] [--action A] [--subject S] [--fiscal-code CF] [--before ID]`")
	}
	verb := args[0]
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("audit " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	var filter audit.ListFilter
	var full bool
	var fiscalCode string
	if verb == "list" {
		fs.IntVar(&filter.Limit, "limit", audit.DefaultLimit, fmt.Sprintf("most entries to print, newest first (at most %d)", audit.MaxLimit))
		fs.StringVar(&filter.Actor, "actor", "", "only entries by this actor, e.g. user:42, operator:3, system, cli")
		fs.StringVar(&filter.Action, "action", "", "only entries with this action, e.g. login.password.ok")
		fs.StringVar(&filter.Subject, "subject", "", "only entries about this subject")
		fs.StringVar(&fiscalCode, "fiscal-code", "", "only entries about this fiscal code (counter look-ups: the log keeps a keyed hash of it, made here with the installation's secret)")
		fs.Int64Var(&filter.BeforeID, "before", 0, "only entries older than this id (the next page)")
		fs.BoolVar(&full, "full", false, "print every detail whole (lines are otherwise cut to stay readable)")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if verb == "list" && (filter.Limit < 1 || filter.Limit > audit.MaxLimit) {
		return usagef("--limit must be from 1 to %d", audit.MaxLimit)
	}
	if fiscalCode != "" {
		code, err := cf.Parse(fiscalCode)
		if err != nil {
			return usagef("--fiscal-code: %v", err)
		}
		secret, err := oidcop.NewSecret([]byte(cfg.SecretKey))
		if err != nil {
			return fmt.Errorf("--fiscal-code needs the installation's secret (CIVICO_SECRET_KEY): %w", err)
		}
		filter.DetailKey = "fiscal_code_mac"
		filter.DetailValue = (&identity.Store{AuditPepper: auditPepper(secret)}).FiscalCodeAuditMAC(string(code))
	}
	ctx := context.Background()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), true)
	if err != nil {
		return err
	}
	defer d.Close()
	log := &audit.Log{DB: d}
	if verb == "list" {
		return c.auditList(ctx, log, filter, full)
	}
	n, err := log.Verify(ctx)
	var broken *audit.BrokenError
	if errors.As(err, &broken) {
		return fmt.Errorf("audit log broken at entry %d: %s", broken.ID, broken.Reason)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "audit log: %d entries, chain intact\n", n)
	if n > 0 {
		id, hash, err := log.Head(ctx)
		if err != nil {
			return err
		}
		// Noted somewhere else, the newest hash shows later that no entry
		// was removed from the end.
		fmt.Fprintf(c.stdout, "newest entry: %d, hash %s\n", id, hash)
	}
	return nil
}

func (c *cli) auditList(ctx context.Context, log *audit.Log, filter audit.ListFilter, full bool) error {
	recs, err := log.List(ctx, filter)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Fprintln(c.stdout, "no audit entries match")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT (UTC)\tACTOR\tACTION\tSUBJECT\tREMOTE\tDETAILS")
	cut := false
	for _, r := range recs {
		details, short := formatDetails(r.Details, full)
		cut = cut || short
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.At.Format(time.DateTime), dash(r.Actor), dash(r.Action),
			dash(r.Subject), dash(r.Remote), details)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if cut {
		fmt.Fprintln(c.stdout, "details marked … were cut: add --full to print them whole")
	}
	if len(recs) == filter.Limit {
		fmt.Fprintf(c.stdout, "more entries may follow: add --before %d\n", recs[len(recs)-1].ID)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// How much of the details a line of `audit list` prints without --full:
// each value at most maxDetailRunes, the whole column at most
// maxDetailsRunes; what is cut ends with "…".
const (
	maxDetailRunes  = 60
	maxDetailsRunes = 240
)

// formatDetails prints details as key=value pairs in key order, values
// quoted when they hold spaces or special characters; cut to the bounds
// above unless full, and then says whether it cut something.
func formatDetails(details map[string]string, full bool) (string, bool) {
	if len(details) == 0 {
		return "-", false
	}
	cut := false
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := details[k]
		if !full && utf8.RuneCountInString(v) > maxDetailRunes {
			v, cut = string([]rune(v)[:maxDetailRunes])+"…", true
		}
		parts[i] = quote(k) + "=" + quote(v)
	}
	line := strings.Join(parts, " ")
	if !full && utf8.RuneCountInString(line) > maxDetailsRunes {
		line, cut = string([]rune(line)[:maxDetailsRunes-1])+"…", true
	}
	return line, cut
}

// quote returns s as it is when it reads unambiguously in key=value pairs,
// else as a Go string literal.
func quote(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '=' || r == '\\' || r == utf8.RuneError
	}) {
		return strconv.Quote(s)
	}
	return s
}
