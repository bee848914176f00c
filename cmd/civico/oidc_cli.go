package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/schollz/progressbar/v3"
)

// demoSecretFile keeps the demo's secret key in its data directory, so that
// the demo's signing keys survive restarts. A real installation sets
// CIVICO_SECRET_KEY.
const demoSecretFile = "demo-secret.key"

// demoSecret reads the demo's secret key, creating it on the first run.
func demoSecret(dataDir string) (string, error) {
	path := filepath.Join(dataDir, demoSecretFile)
	b, err := os.ReadFile(path) // #nosec G304 -- a file of civico's own data directory
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := base64.StdEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return "", err
	}
	return s, os.WriteFile(path, []byte(s+"\n"), 0o600)
}

// oidc manages the OpenID Connect provider: its clients and signing keys.
func (c *cli) oidc(args []string) error {
	if len(args) == 0 {
		return usagef("expected `civico oidc client add|list|disable|enable` or `civico oidc rotate-keys|keys`")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	verb, args := args[0], args[1:]
	if verb == "client" {
		if len(args) == 0 {
			return usagef("expected `civico oidc client add|list|disable|enable`")
		}
		verb, args = "client "+args[0], args[1:]
	}
	fs := c.flags("oidc " + verb)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	var n oidcop.NewClient
	var redirects, postLogout, scopes stringList
	var id string
	switch verb {
	case "client add":
		fs.StringVar(&n.Name, "name", "", "the application's name, shown on the consent page")
		fs.Var(&redirects, "redirect-uri", "a redirect URI, matched exactly (repeatable)")
		fs.Var(&postLogout, "post-logout-uri", "where the application may send the browser after logout (repeatable)")
		fs.StringVar(&n.BackchannelLogoutURI, "backchannel-logout-uri", "", "where the provider posts logout tokens")
		fs.Var(&scopes, "scopes", "allowed scopes, space- or comma-separated: "+strings.Join(oidcop.KnownScopes, " ")+" (default openid profile email)")
		fs.BoolVar(&n.Public, "public", false, "a public client (mobile or desktop app): no secret, PKCE S256 required")
		fs.BoolVar(&n.FirstParty, "first-party", false, "the town's own application: no consent screen")
		fs.BoolVar(&n.PublicSubject, "public-subject", false, "give this client the same sub as other public-subject clients (default: pairwise)")
		fs.StringVar(&n.ID, "id", "", "the client id (default: random)")
	case "client disable", "client enable":
		fs.StringVar(&id, "id", "", "the client id")
	case "client list", "rotate-keys", "keys":
	default:
		return usagef("unknown `civico oidc %s`", verb)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if (verb == "client disable" || verb == "client enable") && id == "" {
		return usagef("--id is required")
	}
	ctx := context.Background()
	log := newLogger(cfg, c.stderr)
	d, err := c.open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer d.Close()
	clients := &oidcop.Clients{DB: d}
	auditLog := &audit.Log{DB: d}
	switch verb {
	case "client add":
		n.RedirectURIs, n.PostLogoutURIs = redirects, postLogout
		for _, s := range scopes {
			n.Scopes = append(n.Scopes, strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })...)
		}
		cl, secret, err := clients.Add(ctx, n)
		var invalid *oidcop.InvalidClientError
		switch {
		case errors.Is(err, oidcop.ErrClientExists):
			return usagef("--id %s: %v", n.ID, err)
		case errors.As(err, &invalid):
			return usagef("%v", err)
		case err != nil:
			return err
		}
		if err := auditLog.RecordNow(ctx, audit.Entry{Actor: "cli", Action: "oidc.client.added", Subject: cl.ID,
			Details: map[string]string{"name": cl.Name, "redirect_uris": strings.Join(cl.Redirects, " "), "scopes": strings.Join(cl.Scopes, " ")}}); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "client_id: %s\n", cl.ID)
		if secret != "" {
			fmt.Fprintf(c.stdout, "client_secret: %s\n", secret)
			fmt.Fprintln(c.stdout, "(the secret is shown once: civico keeps only its hash)")
		} else {
			fmt.Fprintln(c.stdout, "public client: no secret; it must use PKCE with S256")
		}
		return nil
	case "client list":
		list, err := clients.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tTYPE\tCONSENT\tSUB\tSCOPES\tREDIRECT URIS\tSTATE")
		for _, cl := range list {
			kind, consent, sub, state := "confidential", "asked", "pairwise", "enabled"
			if cl.Public {
				kind = "public"
			}
			if cl.FirstParty {
				consent = "first-party"
			}
			if !cl.Pairwise {
				sub = "public"
			}
			if cl.DisabledAt != nil {
				state = "disabled " + cl.DisabledAt.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Name, kind, consent, sub, strings.Join(cl.Scopes, " "),
				strings.Join(cl.Redirects, " "), state)
		}
		return tw.Flush()
	case "client disable", "client enable":
		err := clients.SetDisabled(ctx, id, verb == "client disable")
		if errors.Is(err, oidcop.ErrClientNotFound) {
			return usagef("no client with id %q (civico oidc client list)", id)
		}
		if err != nil {
			return err
		}
		if err := auditLog.RecordNow(ctx, audit.Entry{Actor: "cli", Action: "oidc.client." + strings.TrimPrefix(verb, "client ") + "d", Subject: id}); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "client %s %sd\n", id, strings.TrimPrefix(verb, "client "))
		return nil
	case "keys":
		list, err := (&oidcop.Keys{DB: d}).List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tCREATED\tRETIRED")
		for _, k := range list {
			ret := "— (signs)"
			if k.RetiredAt != nil {
				ret = k.RetiredAt.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.CreatedAt.Format("2006-01-02 15:04:05"), ret)
		}
		return tw.Flush()
	}
	// rotate-keys
	s, err := cliSecret(cfg)
	if err != nil {
		return err
	}
	keys := &oidcop.Keys{DB: d, Secret: s}
	existing, err := keys.List(ctx)
	if err != nil {
		return err
	}
	// The key in force must open with this secret: rotating with another
	// secret would leave processes unable to sign.
	if len(existing) > 0 {
		if _, err := keys.SigningKey(ctx); err != nil {
			return err
		}
	}
	kid, err := keys.Rotate(ctx)
	if err != nil {
		return err
	}
	if err := auditLog.RecordNow(ctx, audit.Entry{Actor: "cli", Action: "oidc.keys.rotated", Subject: kid}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "new signing key %s; the previous keys stay published for two hours, until every token they signed has expired\n", kid)
	return nil
}

// residents loads the town's population register, which answers the
// residence scope of single sign-on and gives sex and birth date to logins
// that prove a fiscal code.
func (c *cli) residents(args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return usagef("expected `civico residents import FILE.csv`")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("residents import")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() != 1 {
		return usagef("expected one file: civico residents import FILE.csv (lines: codice_fiscale;quartiere[;sesso;data_nascita])")
	}
	f, err := os.Open(fs.Arg(0)) // #nosec G304 -- the file named on the command line
	if err != nil {
		return usagef("%v", err)
	}
	defer f.Close()
	ctx := context.Background()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), true)
	if err != nil {
		return err
	}
	defer d.Close()
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription("residents"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	n, err := (&population.Register{DB: d}).Import(ctx, f, func(done, total int) {
		if done == 1 {
			bar.ChangeMax(total)
		}
		_ = bar.Set(done)
	})
	_ = bar.Finish()
	if err != nil {
		return usagef("%s: %v (nothing was changed)", fs.Arg(0), err)
	}
	fmt.Fprintf(c.stdout, "%d residents loaded\n", n)
	return nil
}

// cliSecret is the installation's secret key for a command: the
// configured one, or the demo's file in its data directory.
func cliSecret(cfg config) (oidcop.Secret, error) {
	secret := cfg.SecretKey
	if secret == "" {
		if b, err := os.ReadFile(filepath.Join(cfg.DataDir, demoSecretFile)); err == nil { // #nosec G304 -- the demo's own secret file
			secret = strings.TrimSpace(string(b))
		}
	}
	s, err := oidcop.NewSecret([]byte(secret))
	if err != nil {
		return s, usagef("CIVICO_SECRET_KEY: %v", err)
	}
	return s, nil
}

// cliSealer is the box that seals a feature's keys (purpose names them),
// from the installation's secret, for a command.
func cliSealer(cfg config, purpose string) (*sealed.Box, error) {
	s, err := cliSecret(cfg)
	if err != nil {
		return nil, err
	}
	return sealed.New(s.Derive(purpose, 32))
}
