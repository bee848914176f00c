package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/certificates"
	"github.com/civico-pa/civico/internal/hours"
)

// errNotAuthentic is the exit status 1 of `civico cert verify` on a file
// that does not verify.
var errNotAuthentic = errors.New("not authentic")

// cert verifies certificates' PDFs and manages the seal keys.
func (c *cli) cert(args []string) error {
	if len(args) == 0 {
		return usagef("expected `civico cert verify FILE.pdf [--keys FILE.json]`, `civico cert keys` or `civico cert rotate-keys`")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	verb := args[0]
	fs := c.flags("cert " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	var keysFile string
	switch verb {
	case "verify":
		fs.StringVar(&keysFile, "keys", "", "the town's public keys as /api/v1/certificates/keys serves them (default: read from the database)")
	case "keys", "rotate-keys":
	default:
		return usagef("unknown `civico cert %s`: expected verify, keys or rotate-keys", verb)
	}
	// Flags may follow the file: `civico cert verify FILE.pdf --keys K`.
	rest := args[1:]
	var files []string
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usagef("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files, rest = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	ctx := context.Background()
	if verb == "verify" {
		if len(files) != 1 {
			return usagef("expected one file: civico cert verify FILE.pdf [--keys FILE.json]")
		}
		return c.certVerify(ctx, cfg, files[0], keysFile)
	}
	if len(files) != 0 {
		return usagef("civico cert %s takes no file", verb)
	}
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), true)
	if err != nil {
		return err
	}
	defer d.Close()
	if verb == "keys" {
		list, err := (&certificates.Keys{DB: d}).Public(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tCREATED\tRETIRED\tPUBLIC KEY (Ed25519)")
		for _, k := range list {
			ret := "— (seals)"
			if k.RetiredAt != nil {
				ret = k.RetiredAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.CreatedAt.Format("2006-01-02 15:04:05"), ret, k.Key)
		}
		return tw.Flush()
	}
	box, err := cliSealer(cfg, certificates.KeyPurpose)
	if err != nil {
		return err
	}
	keys := &certificates.Keys{DB: d, Box: box}
	// The key in force must open with this secret: rotating with another
	// would seal with a key the servers cannot open.
	if _, err := keys.InForce(ctx); err != nil {
		return err
	}
	kid, err := keys.Rotate(ctx)
	if err != nil {
		return err
	}
	if err := (&audit.Log{DB: d}).RecordNow(ctx, audit.Entry{Actor: "cli", Action: "certificates.keys.rotated", Subject: kid}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "new seal key %s; the previous keys seal nothing new and still verify what they sealed\n", kid)
	return nil
}

// certVerify checks a certificate's PDF offline: its seal against the
// town's public keys (a file, or the database), and, when the database is
// at hand, its status.
func (c *cli) certVerify(ctx context.Context, cfg config, file, keysFile string) error {
	pdf, err := os.ReadFile(file) // #nosec G304 G703 -- the file the operator names on the command line, read with their rights
	if err != nil {
		return usagef("%v", err)
	}
	var keys []certificates.PublicKey
	var store *certificates.Store
	if keysFile != "" {
		b, err := os.ReadFile(keysFile) // #nosec G304 -- the file named on the command line
		if err != nil {
			return usagef("%v", err)
		}
		var doc certificates.KeysDoc
		if err := json.Unmarshal(b, &doc); err != nil {
			return usagef("%s: not the town's keys (/api/v1/certificates/keys): %v", keysFile, err)
		}
		keys = doc.Keys
	} else {
		d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), false)
		if err != nil {
			return err
		}
		defer d.Close()
		store = &certificates.Store{DB: d, Keys: &certificates.Keys{DB: d}}
		if keys, err = store.Keys.Public(ctx); err != nil {
			return err
		}
	}
	content, err := certificates.VerifyPDF(pdf, certificates.Set(keys))
	if err != nil {
		fmt.Fprintf(c.stdout, "NOT AUTHENTIC: %s: %v\n", file, err)
		return errNotAuthentic
	}
	h := content.Holder
	fmt.Fprintf(c.stdout, "AUTHENTIC: %s, sealed by the %s\n", file, content.Town)
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  identifier\t%s\n", certificates.GroupID(content.ID))
	fmt.Fprintf(tw, "  kind\t%s\n", content.Kind)
	fmt.Fprintf(tw, "  holder\t%s %s (%s), born %s in %s\n", h.GivenName, h.FamilyName, h.FiscalCode, h.BirthDate, h.BirthPlace)
	if h.Address != "" {
		fmt.Fprintf(tw, "  residence\t%s\n", h.Address)
	}
	for _, m := range content.Household {
		fmt.Fprintf(tw, "  household\t%s %s, %s\n", m.GivenName, m.FamilyName, m.Relation)
	}
	fmt.Fprintf(tw, "  issued\t%s\n", content.Issued().In(hours.Rome).Format("2006-01-02 15:04"))
	if u := content.Until(); u != nil {
		fmt.Fprintf(tw, "  valid until\t%s\n", u.In(hours.Rome).Format("2006-01-02"))
	} else {
		fmt.Fprintf(tw, "  valid until\twithout limit\n")
	}
	if content.Use == certificates.StampDuty {
		fmt.Fprintf(tw, "  stamp duty\tpaid through pagoPA, notice %s (%s)\n", content.Duty, content.Norm)
	} else {
		fmt.Fprintf(tw, "  exemption\t%s (%s)\n", content.Use, content.Norm)
	}
	if store != nil {
		cert, err := store.Find(ctx, content.ID)
		if err != nil {
			fmt.Fprintf(tw, "  status\tunknown to this database: %v\n", err)
		} else {
			st := cert.StatusAt(time.Now())
			fmt.Fprintf(tw, "  status\t%s", st)
			if cert.RevokedAt != nil {
				fmt.Fprintf(tw, " on %s: %s", cert.RevokedAt.In(hours.Rome).Format("2006-01-02 15:04"), cert.Reason)
			}
			fmt.Fprintln(tw)
		}
	} else {
		fmt.Fprintf(tw, "  status\tnot checked offline: see %s%s?id=%s\n", strings.TrimSuffix(cfg.BaseURL, "/"), certificates.VerifyPath, certificates.GroupID(content.ID))
	}
	return tw.Flush()
}
