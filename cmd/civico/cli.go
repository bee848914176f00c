package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"syscall"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/town"
)

const usage = `civico serves a town's digital services: the portal and Partecipa.

Usage:
  civico serve              serve the portal and Partecipa
  civico demo               create the demo town (Cinisello Balsamo) if needed and serve it
  civico migrate            bring the database schema up to date
  civico backup --out FILE  write the database (SQLite) and the data directory's files to one archive
  civico restore --from FILE [--data-dir DIR]
                            restore a backup archive into an empty data directory
  civico town import FILE   load the town profile from a JSON file
  civico town show          print the town profile as JSON
  civico user add-operator --email E --role R [--role R2] [--fiscal-code CF]
                            create a back-office operator (prints a first password)
  civico user grant|revoke --email E --role R
                            change an operator's roles
  civico user list          list the operators
  civico ca init            create a TEST smart-card authority and a localhost TLS certificate
  civico ca card --cf CF --given-name N --family-name N
                            issue a TEST smart card (PEM for curl, PKCS#12 for browsers)
  civico ca revoke SERIAL   revoke a test card (updates the CRL)
  civico oidc client add --name N --redirect-uri U [--public] [--first-party]
                   [--scopes "openid profile email fiscal_code residence"]
                   [--post-logout-uri U] [--backchannel-logout-uri U] [--public-subject]
                            register an application with the OpenID Connect provider
                            (prints the client id and, once, its secret)
  civico oidc client list   list the registered applications
  civico oidc client disable|enable --id ID
  civico oidc rotate-keys   start signing with a new key (old tokens stay verifiable)
  civico oidc keys          list the signing keys
  civico residents import FILE.csv
                            load the registry of residents (codice_fiscale;quartiere)
  civico cert verify FILE.pdf [--keys FILE.json]
                            check a certificate's PDF offline against the town's seal keys
                            (from the database, or as /api/v1/certificates/keys serves them);
                            exit 1 when it is not authentic (an edited file, another key)
  civico cert keys          list the certificates' seal keys with their public halves
  civico cert rotate-keys   start sealing with a new key (old certificates stay verifiable)
  civico spid metadata      print the SPID Service Provider's signed metadata (to send to AgID)
  civico spid keys          list the SPID keys and certificates
  civico spid rotate-keys [--overlap 168h]
                            add a SPID key published at once and signing after the overlap
  civico spid registry import PATH [--profile spid|cie|eidas] [--signer CERT.pem]
                            load identity providers from SAML metadata (one XML file or a folder;
                            with --signer, only files whose signature by that certificate holds)
  civico spid registry list list the identity providers
  civico spid registry remove ENTITYID
                            take an identity provider off the list
  civico cie keys           list the CIE relying party's keys (federation, sig, enc)
  civico cie rotate-keys [--overlap 168h] [--use federation,sig,enc]
                            add CIE keys published at once and used after the overlap
  civico cie entity-configuration
                            print the relying party's signed entity configuration
  civico payments import FILE.csv
                            load debt positions (all lines or none, with a progress bar)
  civico payments report [--day YYYY-MM-DD]
                            the day's balancing as CSV (exit 1 when it does not balance)
  civico payments reconcile release node activations past their expiry
  civico billing run [--month YYYY-MM]
                            the school services' bills of a month through payments (with a progress bar; a month runs once)
  civico billing attendance --service ID FILE.csv
                            load a month's meals of a service billed per meal (codice_fiscale;mese;pasti; all lines or none, a file once)
  civico cards import FILE.csv
                            load the regional authority's card registry (all lines or none, with a progress bar)
  civico cards envelopes FILE.csv
                            load PIN/PUK envelopes encrypted for the town (all lines or none)
  civico cards key [--rotate]
                            print the age recipient the issuing service encrypts envelopes for
  civico dashboard history
                            load the demo's history (accounts since 2008, PINs since 2009) once, and count it on the dashboard
  civico timeuse synth --n N [--seed S]
                            add N synthetic time-use respondents (marked synthetic)
  civico timeuse export --out DIR [--rows real|synthetic|all]
                            write the anonymous time-use dataset as CSV (real answers by default)
  civico timeuse invite --n N [--days D]
                            print N invitation links to the time-use survey (each good for one answer)
  civico timeuse analyze --in DIR --out DIR [--min-cell N] [--margins FILE.csv] [--offices FILE.json]
                            a time-use dataset's indicators and tempograms by group (README: Time-use analysis)
  civico audit verify       check the audit log's hash chain
  civico audit list         show the latest audit entries
  civico jobs list [--state failed|pending|done|all] [--kind K]
                            list background jobs (failed ones by default)
  civico jobs show ID       print a job and the error of each attempt
  civico jobs retry ID      run a failed job again at once
  civico version            print the version
  civico help               print this help

Configuration comes from environment variables (see the README):
  CIVICO_DATA_DIR, CIVICO_DATABASE_URL, CIVICO_ADDR, CIVICO_PARTECIPA_ADDR,
  CIVICO_BASE_URL, CIVICO_PARTECIPA_BASE_URL, CIVICO_LOG_FORMAT,
  CIVICO_LOG_LEVEL, CIVICO_ACCESS_LOG, CIVICO_DEBUG_QUERIES, CIVICO_PAGE_CACHE_TTL,
  CIVICO_TLS_ADDR,
  CIVICO_TLS_CERT_FILE, CIVICO_TLS_KEY_FILE, CIVICO_TLS_BASE_URL,
  CIVICO_CRS_CA_FILE, CIVICO_CRS_CRL_FILE, CIVICO_CRS_STRICT_CRL,
  CIVICO_CRS_PROXY_HEADER,
  CIVICO_TRUSTED_PROXIES, CIVICO_SESSION_IDLE, CIVICO_SESSION_MAX,
  CIVICO_SMTP_URL, CIVICO_MAIL_FROM, CIVICO_SECRET_KEY, CIVICO_METRICS_ADDR,
  CIVICO_MAX_CONNS, CIVICO_MAX_CONNS_PER_CLIENT, CIVICO_READ_HEADER_TIMEOUT,
  CIVICO_READ_TIMEOUT, CIVICO_WRITE_TIMEOUT, CIVICO_IDLE_TIMEOUT,
  CIVICO_UPLOAD_TIMEOUT, CIVICO_PAGOPA_SEGREGATION_CODE, CIVICO_PAYMENTS_GATEWAY,
  CIVICO_PAYMENTS_RECONCILE_AFTER, CIVICO_PAYMENTS_SANDBOX_DELAY, CIVICO_TAX_RATES_FILE,
  CIVICO_PAGOPA_CALLERS_FILE,
  CIVICO_APPIO_URL, CIVICO_APPIO_KEY, CIVICO_JOB_WORKERS, CIVICO_TIMEUSE_ASSURANCE, CIVICO_TIMEUSE_TRAVEL_MIN,
  CIVICO_TIMEUSE_MARGINS, CIVICO_CARDS_PLACE. Secrets may also be given as NAME_FILE.
`

// cli carries what every subcommand needs.
type cli struct {
	stdout, stderr io.Writer
	env            func(string) string
	// flagSet is the command's last flag set (flags), whose flags --help
	// prints.
	flagSet *flag.FlagSet
}

// verbCommands are the commands whose first argument is a verb: `civico
// NAME --help` prints their lines of the usage.
var verbCommands = map[string]bool{"town": true, "user": true, "ca": true, "oidc": true, "residents": true, "audit": true, "cert": true, "timeuse": true, "spid": true, "cie": true, "cards": true, "dashboard": true}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

// commandUsage is the lines of the usage about one command: each line
// "  civico NAME ..." and the lines that continue it.
func commandUsage(name string) string {
	var b strings.Builder
	in := false
	for line := range strings.SplitSeq(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "  civico "+name+" "):
			in = true
		case strings.HasPrefix(line, "  civico "), strings.TrimSpace(line) == "":
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// run executes a command line and returns the process's exit status: 0 on
// success, 1 when the work failed, 2 when the command line or configuration
// is wrong.
func run(args []string, stdout, stderr io.Writer, env func(string) string) int {
	c := &cli{stdout: stdout, stderr: stderr, env: env}
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return 0
	}
	commands := map[string]func([]string) error{
		"serve":     func(a []string) error { return c.serve(a, false) },
		"demo":      func(a []string) error { return c.serve(a, true) },
		"migrate":   c.migrate,
		"backup":    c.backup,
		"restore":   c.restore,
		"town":      c.town,
		"version":   c.version,
		"user":      c.user,
		"ca":        c.ca,
		"audit":     c.audit,
		"oidc":      c.oidc,
		"residents": c.residents,
		"jobs":      c.jobs,
		"payments":  c.payments,
		"billing":   c.billing,
		"cert":      c.cert,
		"spid":      c.spidCmd,
		"cie":       c.cieCmd,
		"timeuse":   c.timeuse,
		"cards":     c.cardsCmd,
		"dashboard": c.dashboardCmd,
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "civico: unknown command %q; run `civico help` for the list\n", name)
		return 2
	}
	if verbCommands[name] && len(args) > 1 && isHelp(args[1]) {
		fmt.Fprintf(stdout, "Usage:\n%s", commandUsage(name))
		return 0
	}
	err := cmd(args[1:])
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		// Asked for: the flags, on standard output.
		if fs := c.flagSet; fs != nil {
			fmt.Fprintf(stdout, "Usage of %s:\n", fs.Name())
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "civico %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "civico %s: %v\n", name, err)
		return 1
	}
}

// timeuse dispatches `civico timeuse VERB`: each verb is in its own file
// (timeuse_analyze.go, ...).
func (c *cli) timeuse(args []string) error {
	verbs := map[string]func([]string) error{
		"analyze": c.timeuseAnalyze,
		"synth":   c.timeuseSynth,
		"export":  c.timeuseExport,
		"invite":  c.timeuseInvite,
	}
	if len(args) > 0 {
		if verb, ok := verbs[args[0]]; ok {
			return verb(args[1:])
		}
	}
	return usagef("expected `civico timeuse VERB`; run `civico timeuse --help` for the verbs")
}

// flags returns a flag set whose errors are reported as usage errors.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("civico "+name, flag.ContinueOnError)
	// A wrong flag is one sentence, said by run; the flags are printed
	// only when asked for (--help, see run).
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c.flagSet = fs
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// open reads the configuration, connects to the database and brings its
// schema up to date (migrate=true) or only checks it is not newer.
func (c *cli) open(ctx context.Context, cfg config, log *slog.Logger, migrate bool) (*db.DB, error) {
	target, err := db.ParseURL(cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, usagef("CIVICO_DATABASE_URL: %v", err)
	}
	d, err := db.Open(ctx, target)
	if err != nil {
		return nil, err
	}
	if migrate {
		applied, err := d.Migrate(ctx, schema())
		if err != nil {
			_ = d.Close()
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("database schema migrated", "database", d.Describe(), "versions", applied)
		}
		return d, nil
	}
	current, known, err := d.SchemaStatus(ctx, schema())
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	if current > known {
		_ = d.Close()
		return nil, fmt.Errorf("%w: the database is at version %d, this civico knows up to %d; run a newer civico", db.ErrSchemaTooNew, current, known)
	}
	return d, nil
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (c *cli) migrate(args []string) error {
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("migrate")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), false)
	if err != nil {
		return err
	}
	defer d.Close()
	applied, err := d.Migrate(ctx, schema())
	if err != nil {
		return err
	}
	current, _, err := d.SchemaStatus(ctx, schema())
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(c.stdout, "%s: schema already at version %d\n", d.Describe(), current)
		return nil
	}
	fmt.Fprintf(c.stdout, "%s: applied %d migration(s), schema now at version %d\n", d.Describe(), len(applied), current)
	return nil
}

func (c *cli) town(args []string) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "show") {
		return usagef("expected `civico town import FILE` or `civico town show`")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("town " + args[0])
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	if err := fs.Parse(args[1:]); err != nil {
		return usagef("%v", err)
	}
	ctx := context.Background()
	var profile town.Profile
	if args[0] == "import" {
		if fs.NArg() != 1 {
			return usagef("expected `civico town import FILE`")
		}
		b, err := os.ReadFile(fs.Arg(0)) // #nosec G703 G304 -- the operator names the file on `civico town import`'s command line: reading it is the command
		if err != nil {
			return usagef("%v", err)
		}
		if profile, err = town.ParseJSON(b); err != nil {
			return usagef("%s: %v", fs.Arg(0), err)
		}
	} else if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	d, err := c.open(ctx, cfg, newLogger(cfg, c.stderr), args[0] == "import")
	if err != nil {
		return err
	}
	defer d.Close()
	store := town.NewStore(d, 0)
	if args[0] == "import" {
		if err := store.Put(ctx, profile); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "town profile of the %s stored in %s\n", profile.FullName(), d.Describe())
		return nil
	}
	p, err := store.Get(ctx)
	if err != nil {
		return err
	}
	return writeJSON(c.stdout, p)
}

func (c *cli) version(args []string) error {
	if err := parse(c.flags("version"), args); err != nil {
		return err
	}
	ms, err := schema().Migrations(db.SQLite)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "civico %s (database schema %d)\n", buildVersion(), ms[len(ms)-1].Version)
	return nil
}

// buildVersion is the module version, or the VCS revision for a local build.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// gracePeriod is how long in-flight requests may take once shutdown begins.
const gracePeriod = 20 * time.Second
