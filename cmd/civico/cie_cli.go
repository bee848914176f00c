package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cie"
	"github.com/civico-pa/civico/internal/town"
)

// cieCmd manages the CIE relying party: its keys and its entity
// configuration (what the federation's registration asks for).
func (c *cli) cieCmd(args []string) error {
	const expected = "expected `civico cie keys`, `civico cie rotate-keys [--overlap D] [--use federation,sig,enc]` or `civico cie entity-configuration`"
	if len(args) == 0 {
		return usagef(expected)
	}
	verb := args[0]
	switch verb {
	case "keys", "rotate-keys", "entity-configuration":
	default:
		return usagef("unknown `civico cie %s`: %s", verb, expected)
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("cie " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	fs.StringVar(&cfg.BaseURL, "base-url", cfg.BaseURL, "the portal's public address (CIVICO_BASE_URL): the relying party's entity id")
	overlap := fs.Duration("overlap", 7*24*time.Hour, "how long the new keys are published before they are used (the federation must have them)")
	uses := fs.String("use", "", "the keys to rotate, among federation, sig and enc (all when empty)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() != 0 {
		return usagef("civico cie %s takes no argument", verb)
	}
	var which []string
	if *uses != "" {
		for _, u := range strings.Split(*uses, ",") {
			if u != cie.UseFederation && u != cie.UseSig && u != cie.UseEnc {
				return usagef("--use: %q is not federation, sig or enc", u)
			}
			which = append(which, u)
		}
	}
	if *overlap < 0 {
		return usagef("--overlap must not be negative")
	}
	ctx := context.Background()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), true)
	if err != nil {
		return err
	}
	defer d.Close()
	box, err := cliSealer(cfg, cie.KeyPurpose)
	if err != nil {
		return err
	}
	keys := &cie.Keys{DB: d, Box: box}
	// The keys in force must open with this secret (made when none).
	if err := keys.Ensure(ctx); err != nil {
		return err
	}
	switch verb {
	case "keys":
		list, err := keys.All(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tUSE\tUSED FROM\tRETIRED")
		for _, k := range list {
			ret := "—"
			if k.RetiredAt != nil {
				ret = k.RetiredAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Use, k.SignsFrom.Format("2006-01-02 15:04"), ret)
		}
		return tw.Flush()
	case "entity-configuration":
		if cfg.CIE == nil {
			return usagef("CIVICO_CIE_OIDC_CONFIG is not set: the entity configuration names the trust anchor and authority hints")
		}
		p, err := town.NewStore(d, 0).Get(ctx)
		if err != nil {
			return err
		}
		ec, err := (&cie.RP{Config: cfg.CIE, Keys: keys, BaseURL: cfg.BaseURL}).EntityConfiguration(ctx, p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(c.stdout, ec)
		return err
	}
	ids, err := keys.Rotate(ctx, *overlap, which...)
	if err != nil {
		return err
	}
	from := time.Now().Add(*overlap).UTC()
	if err := (&audit.Log{DB: d}).RecordNow(ctx, audit.Entry{Actor: "cli", Action: "cie.keys.rotated", Subject: strings.Join(ids, ","),
		Details: map[string]string{"used_from": from.Format(time.RFC3339)}}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "new CIE key(s) %s, published from now and used from %s, when the others retire.\n", strings.Join(ids, ", "), from.Format("2006-01-02 15:04 MST"))
	if len(which) == 0 || strings.Contains(*uses, cie.UseFederation) {
		fmt.Fprintln(c.stdout, "The federation key changed: have the trust anchor (or your aggregator) update the relying party's keys before then.")
	}
	return nil
}
