package main

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
)

// caLoginURL is where the printed curl command logs in.
const caLoginURL = "https://127.0.0.1:8443/login/crs"

// ca runs the TEST card authority that lets demos and tests log in with a
// CRS/CNS certificate without a card reader:
//
//	civico ca init [--dir DIR]
//	civico ca card --cf CF --given-name N --family-name N [--dir DIR] [--out DIR] [--password P] [--days N]
//	civico ca revoke SERIAL [--dir DIR]
//
// DIR defaults to $CIVICO_DATA_DIR/ca.
func (c *cli) ca(args []string) error {
	if len(args) == 0 {
		return usagef("expected `civico ca init`, `civico ca card --cf CF --given-name N --family-name N` or `civico ca revoke SERIAL`")
	}
	switch args[0] {
	case "init":
		return c.caInit(args[1:])
	case "card":
		return c.caCard(args[1:])
	case "revoke":
		return c.caRevoke(args[1:])
	}
	return usagef("unknown subcommand %q: expected init, card or revoke", args[0])
}

// caFlags starts the flag set of a ca subcommand with --dir.
func (c *cli) caFlags(name string) (*flag.FlagSet, *string, error) {
	cfg, err := loadConfig(c.env)
	if err != nil {
		return nil, nil, err
	}
	fs := c.flags("ca " + name)
	dir := fs.String("dir", filepath.Join(cfg.DataDir, "ca"), "directory of the test card authority")
	return fs, dir, nil
}

func (c *cli) caInit(args []string) error {
	fs, dir, err := c.caFlags("init")
	if err != nil {
		return err
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	a, err := cardca.Init(abs, time.Now())
	if err != nil {
		return err
	}
	f := a.Files()
	w := c.stdout
	fmt.Fprintf(w, "Test card authority %q created in %s.\nFor demos and tests only: never trust it in production.\n\n", cardca.Name, f.Dir)
	fmt.Fprintf(w, "  CA certificate      %s\n", f.CA)
	fmt.Fprintf(w, "  CA private key      %s\n", f.CAKey)
	fmt.Fprintf(w, "  server certificate  %s (localhost, 127.0.0.1, ::1)\n", f.ServerCert)
	fmt.Fprintf(w, "  server private key  %s\n", f.ServerKey)
	fmt.Fprintf(w, "  revocation list     %s\n", f.CRL)
	fmt.Fprintf(w, "  issued cards        %s\n\n", f.State)
	fmt.Fprintf(w, "Serve with:\n")
	fmt.Fprintf(w, "  CIVICO_TLS_CERT_FILE=%s\n", shellQuote(f.ServerCert))
	fmt.Fprintf(w, "  CIVICO_TLS_KEY_FILE=%s\n", shellQuote(f.ServerKey))
	fmt.Fprintf(w, "  CIVICO_CRS_CA_FILE=%s\n", shellQuote(f.CA))
	fmt.Fprintf(w, "  CIVICO_CRS_CRL_FILE=%s\n\n", shellQuote(f.CRL))
	fmt.Fprintf(w, "Then issue a card:\n  civico ca card%s --cf RSSMRA80A01F205X --given-name Mario --family-name Rossi\n", dirFlag(fs, f.Dir))
	return nil
}

// cardPassword is the password of a test card's PKCS#12 file: `civico ca
// card`'s default and the demo's cards'.
const cardPassword = "civico"

func (c *cli) caCard(args []string) error {
	fs, dir, err := c.caFlags("card")
	if err != nil {
		return err
	}
	fiscal := fs.String("cf", "", "the card holder's codice fiscale (required)")
	given := fs.String("given-name", "", "the card holder's given name (required)")
	family := fs.String("family-name", "", "the card holder's family name (required)")
	out := fs.String("out", "", "directory to write the card's files to (default DIR/cards)")
	password := fs.String("password", cardPassword, "password of the PKCS#12 file a browser imports")
	days := fs.Int("days", 365, "days the card is valid, from 1 to 3650")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *fiscal == "" || strings.TrimSpace(*given) == "" || strings.TrimSpace(*family) == "" {
		return usagef("--cf, --given-name and --family-name are required")
	}
	code, err := cf.Parse(*fiscal)
	if err != nil {
		return usagef("--cf %q is not a valid codice fiscale: %v", *fiscal, err)
	}
	if *days < 1 || *days > 3650 {
		return usagef("--days must be from 1 to 3650, not %d", *days)
	}
	if *password == "" {
		return usagef("--password must not be empty: browsers import a PKCS#12 file without one badly")
	}
	a, err := cardca.Open(*dir)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(a.Files().Dir, "cards")
	}
	if *out, err = filepath.Abs(*out); err != nil {
		return err
	}
	now := time.Now()
	card, err := a.IssueCard(cardca.CardRequest{
		FiscalCode: string(code),
		GivenName:  strings.TrimSpace(*given),
		FamilyName: strings.TrimSpace(*family),
		NotBefore:  now.Add(-5 * time.Minute),
		NotAfter:   now.AddDate(0, 0, *days),
	})
	if err != nil {
		return err
	}
	serial := card.Cert.SerialNumber.Text(16)
	paths, err := card.WriteFiles(*out, string(code)+"-"+serial, *password)
	if err != nil {
		return err
	}
	caFile, err := filepath.Abs(a.Files().CA)
	if err != nil {
		return err
	}
	w := c.stdout
	fmt.Fprintf(w, "Card issued to %s %s (%s), serial %s, valid until %s.\n\n", strings.TrimSpace(*given), strings.TrimSpace(*family), code, serial, card.Cert.NotAfter.Format(time.DateOnly))
	fmt.Fprintf(w, "  certificate        %s\n", paths.Cert)
	fmt.Fprintf(w, "  private key        %s\n", paths.Key)
	fmt.Fprintf(w, "  for a browser      %s (password: %s)\n\n", paths.P12, *password)
	fmt.Fprintf(w, "Log in with curl:\n  curl --cacert %s --cert %s --key %s %s\n\n", shellQuote(caFile), shellQuote(paths.Cert), shellQuote(paths.Key), caLoginURL)
	fmt.Fprintf(w, "Revoke it with:\n  civico ca revoke %s%s\n", serial, dirFlag(fs, a.Files().Dir))
	return nil
}

func (c *cli) caRevoke(args []string) error {
	fs, dir, err := c.caFlags("revoke")
	if err != nil {
		return err
	}
	// SERIAL may come before the flags or after them.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() == 0 {
		return usagef("expected `civico ca revoke SERIAL`, with the serial in hex or decimal")
	}
	serialArg := fs.Arg(0)
	if err := parse(fs, fs.Args()[1:]); err != nil {
		return err
	}
	a, err := cardca.Open(*dir)
	if err != nil {
		return err
	}
	serial, err := a.ParseSerial(serialArg)
	if err != nil {
		return usagef("%v", err)
	}
	if err := a.Revoke(serial, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Card %x revoked; %s rewritten.\nA running civico reads it again within a second and refuses the card from then on.\n", serial, a.Files().CRL)
	return nil
}

// dirFlag is " --dir DIR" when DIR is not the default, for the commands
// printed as a next step.
func dirFlag(fs *flag.FlagSet, dir string) string {
	def, err := filepath.Abs(fs.Lookup("dir").DefValue)
	if err == nil && def == dir {
		return ""
	}
	return " --dir " + shellQuote(dir)
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
