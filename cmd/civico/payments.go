package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/town"
)

// paymentsConfig is the payments feature's configuration.
type paymentsConfig struct {
	// Segregation is the pagoPA segregation code (CIVICO_PAGOPA_SEGREGATION_CODE).
	Segregation string
	// Gateway is "sandbox" or "none" (CIVICO_PAYMENTS_GATEWAY); empty is
	// none for serve and the sandbox for the demo: with the sandbox anyone
	// logged in marks their notices paid without paying.
	Gateway string
	// RatesFile holds the tax rates (CIVICO_TAX_RATES_FILE); empty: the demo's.
	RatesFile string
	// CallersFile lists the pagoPA intermediaries (CIVICO_PAGOPA_CALLERS_FILE).
	CallersFile string
	// AppIOURL and AppIOKey turn on reminders through the IO app.
	AppIOURL, AppIOKey string
	// ReconcileAfter is CIVICO_PAYMENTS_RECONCILE_AFTER.
	ReconcileAfter time.Duration
	// SandboxDelay is CIVICO_PAYMENTS_SANDBOX_DELAY.
	SandboxDelay time.Duration
}

func loadPaymentsConfig(env func(string) string, c *paymentsConfig) error {
	c.Segregation = env("CIVICO_PAGOPA_SEGREGATION_CODE")
	if c.Segregation != "" && !pagopa.ValidSegregationCode(c.Segregation) {
		return usagef("CIVICO_PAGOPA_SEGREGATION_CODE must be the two digits PagoPA assigned to the town, not %q", c.Segregation)
	}
	c.Gateway = env("CIVICO_PAYMENTS_GATEWAY")
	switch c.Gateway {
	case "", "sandbox", "none":
	default:
		return usagef("CIVICO_PAYMENTS_GATEWAY must be sandbox or none, not %q", c.Gateway)
	}
	c.RatesFile, c.CallersFile, c.AppIOURL = env("CIVICO_TAX_RATES_FILE"), env("CIVICO_PAGOPA_CALLERS_FILE"), env("CIVICO_APPIO_URL")
	var err error
	if c.AppIOKey, err = getenv(env, "CIVICO_APPIO_KEY", true); err != nil {
		return err
	}
	if (c.AppIOURL == "") != (c.AppIOKey == "") {
		return usagef("CIVICO_APPIO_URL and CIVICO_APPIO_KEY go together")
	}
	if v := env("CIVICO_PAYMENTS_RECONCILE_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			return usagef("CIVICO_PAYMENTS_RECONCILE_AFTER must be a duration from 1s to 1h, such as 3m, not %q", v)
		}
		c.ReconcileAfter = d
	}
	if v := env("CIVICO_PAYMENTS_SANDBOX_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return usagef("CIVICO_PAYMENTS_SANDBOX_DELAY must be a duration from 1s to 24h, such as 20s, not %q", v)
		}
		c.SandboxDelay = d
	}
	return nil
}

// callerFile is one entry of CIVICO_PAGOPA_CALLERS_FILE.
type callerFile struct {
	ID string `json:"id"`
	// HMACKey is hex; CertFile a PEM certificate whose SHA-256 is pinned,
	// or CertSHA256 the hex digest itself.
	HMACKey    string `json:"hmac_key"`
	CertFile   string `json:"cert_file"`
	CertSHA256 string `json:"cert_sha256"`
}

func loadCallers(path string) ([]payments.Caller, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path) // #nosec G304 -- the operator's configured file
	if err != nil {
		return nil, usagef("CIVICO_PAGOPA_CALLERS_FILE: %v", err)
	}
	var list []callerFile
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, usagef("CIVICO_PAGOPA_CALLERS_FILE: %v", err)
	}
	var out []payments.Caller
	for i, e := range list {
		c := payments.Caller{ID: e.ID, CertSHA256: strings.ToLower(e.CertSHA256)}
		if e.HMACKey != "" {
			if c.HMACKey, err = hex.DecodeString(e.HMACKey); err != nil || len(c.HMACKey) < 32 {
				return nil, usagef("CIVICO_PAGOPA_CALLERS_FILE entry %d: hmac_key must be at least 32 bytes in hex", i+1)
			}
		}
		if e.CertFile != "" {
			if c.CertSHA256, err = certDigest(filepath.Clean(e.CertFile)); err != nil {
				return nil, usagef("CIVICO_PAGOPA_CALLERS_FILE entry %d: %v", i+1, err)
			}
		}
		if c.ID == "" || len(c.HMACKey) == 0 && len(c.CertSHA256) != 64 {
			return nil, usagef("CIVICO_PAGOPA_CALLERS_FILE entry %d needs an id and an hmac_key or a client certificate", i+1)
		}
		out = append(out, c)
	}
	return out, nil
}

// paymentsModule is the payments feature for a configuration, joined to
// the OpenID Connect provider (bearer tokens), identity (a resident's
// address for reminders) and the outbox.
func paymentsModule(cfg config, c *civico) (*payments.Module, error) {
	pc := cfg.Payments
	m := &payments.Module{Segregation: pc.Segregation, Sandbox: pc.Gateway == "sandbox", ReconcileAfter: pc.ReconcileAfter, SandboxDelay: pc.SandboxDelay, TLSBaseURL: cfg.TLSBaseURL}
	if pc.RatesFile != "" {
		r, err := payments.LoadRates(pc.RatesFile)
		if err != nil {
			return nil, usagef("CIVICO_TAX_RATES_FILE: %v", err)
		}
		m.Rates = r
	}
	var err error
	if m.Callers, err = loadCallers(pc.CallersFile); err != nil {
		return nil, err
	}
	m.Tokens = bearerTokens{c: c}
	return m, nil
}

// bearerTokens reads the provider's access tokens for the payments API:
// the token's account, and its fiscal code only when the login behind the
// token proved it.
type bearerTokens struct{ c *civico }

func (b bearerTokens) Check(ctx context.Context, token string) (payments.Grant, error) {
	p := b.c.oidc.Provider
	if p == nil {
		return payments.Grant{}, payments.ErrToken
	}
	g, err := p.Bearer(ctx, token)
	if errors.Is(err, oidcop.ErrTokenInvalid) {
		return payments.Grant{}, payments.ErrToken
	}
	if err != nil {
		return payments.Grant{}, err
	}
	a, err := b.c.identity.ByID(ctx, g.AccountID)
	if errors.Is(err, identity.ErrNotFound) {
		return payments.Grant{}, payments.ErrToken
	}
	if err != nil {
		return payments.Grant{}, err
	}
	if a.ClosedAt != nil {
		return payments.Grant{}, payments.ErrToken
	}
	code, _ := a.ProvenFiscalCode(&identity.Session{Assurance: g.Level})
	return payments.Grant{FiscalCode: code, Payments: g.Has(oidcop.ScopePayments)}, nil
}

// reminderNotifiers are the channels reminders go through: mail to the
// account whose proven fiscal code is the debtor's, and the IO app when
// configured.
func reminderNotifiers(cfg config, d *db.DB, store *identity.Store) []payments.Notifier {
	out := []payments.Notifier{&payments.MailNotifier{DB: d, Outbox: &mail.Outbox{DB: d}, Contacts: func(ctx context.Context, code string) (string, bool, error) {
		a, err := store.ByFiscalCode(ctx, code)
		if errors.Is(err, identity.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		if a.ClosedAt != nil || !a.FiscalCodeSource.Proven() || a.Email == "" || a.EmailVerifiedAt == nil {
			return "", false, nil
		}
		return a.Email, true, nil
	}}}
	if cfg.Payments.AppIOURL != "" {
		out = append(out, &payments.AppIO{URL: cfg.Payments.AppIOURL, Key: cfg.Payments.AppIOKey, HTTP: &http.Client{Timeout: 15 * time.Second}})
	}
	return out
}

// payments runs `civico payments import|report|reconcile`.
func (c *cli) payments(args []string) error {
	if len(args) == 0 {
		return usagef("payments needs a command: import FILE, report [--day YYYY-MM-DD], reconcile")
	}
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	fs := c.flags("payments " + args[0])
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory (CIVICO_DATA_DIR)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "database URL (CIVICO_DATABASE_URL)")
	day := fs.String("day", time.Now().Format("2006-01-02"), "the day to balance (report)")
	rest := args[1:]
	file := ""
	if args[0] == "import" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usagef("payments import needs a CSV file")
		}
		file, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	d, svc, err := c.openPayments(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	switch args[0] {
	case "import":
		return c.paymentsImport(ctx, cfg, svc, file)
	case "report":
		rep, err := svc.DailyReport(ctx, *day)
		if err != nil {
			return usagef("%v", err)
		}
		if err := rep.WriteCSV(c.stdout); err != nil {
			return err
		}
		if !rep.Balanced() {
			return errors.New("the day does not balance: see the checks in the report")
		}
		return nil
	case "reconcile":
		svc.Gateway = nil // outside serve, only activations past their expiry are released
		r, err := svc.Reconcile(ctx, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "released %d, pending %d\n", r.Released, r.Pending)
		return nil
	}
	return usagef("unknown payments command %q: import, report or reconcile", args[0])
}

func (c *cli) paymentsImport(ctx context.Context, cfg config, svc *payments.Service, file string) error {
	data, err := os.ReadFile(file) // #nosec G304 G703 -- the file the operator named on the command line
	if err != nil {
		return usagef("%v", err)
	}
	rates, err := payments.DemoRates()
	if cfg.Payments.RatesFile != "" {
		rates, err = payments.LoadRates(cfg.Payments.RatesFile)
	}
	if err != nil {
		return err
	}
	lines, err := svc.ParseImport(ctx, data, rates)
	var ie payments.ImportErrors
	if errors.As(err, &ie) {
		return c.importRefused(ie)
	}
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if f, ok := c.stderr.(*os.File); ok && isTerminal(f) {
		bar = progressbar.NewOptions(len(lines), progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	last := time.Now()
	imp, err := svc.Import(ctx, filepath.Base(file), data, lines, payments.Actor{Name: "cli"}, func(done int) {
		if bar != nil {
			_ = bar.Set(done)
		} else if time.Since(last) > 2*time.Second || done == len(lines) {
			fmt.Fprintf(c.stderr, "importing: %d/%d\n", done, len(lines))
			last = time.Now()
		}
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if errors.As(err, &ie) {
		return c.importRefused(ie)
	}
	if errors.Is(err, payments.ErrDuplicate) {
		return errors.New("this file was imported before: nothing imported")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "imported %d positions, € %s (import %s)\n", imp.Positions, payments.Euro(imp.Amount), imp.ID)
	return nil
}

func (c *cli) importRefused(ie payments.ImportErrors) error {
	msgs, _ := paymentsMessages()
	for _, e := range ie {
		text := e.Message
		if m, ok := msgs[e.Message]; ok {
			text = m
		}
		fmt.Fprintf(c.stderr, "line %d, %s: %s\n", e.Line, e.Column, text)
	}
	return fmt.Errorf("%d wrong lines: nothing imported", len(ie))
}

// paymentsMessages are the feature's English messages, for the command line.
func paymentsMessages() (map[string]string, error) {
	b, err := payments.Messages.ReadFile("locales/en.json")
	if err != nil {
		return nil, err
	}
	var m map[string]string
	return m, json.Unmarshal(b, &m)
}

// demoSegregation is the demo town's segregation code.
const demoSegregation = "01"

// segregationCode is the town's pagoPA segregation code, the demo's when
// none is configured.
func segregationCode(cfg config) string {
	if cfg.Payments.Segregation == "" {
		return demoSegregation
	}
	return cfg.Payments.Segregation
}

// openPayments opens the database (without migrating it) and the payments
// service on it, as the commands that make or read debt positions use them
// (`civico payments`, `civico billing`); the caller closes the database.
func (c *cli) openPayments(ctx context.Context, cfg config) (*db.DB, *payments.Service, error) {
	log := newLogger(cfg, c.stderr)
	d, err := c.open(ctx, cfg, log, false)
	if err != nil {
		return nil, nil, err
	}
	return d, &payments.Service{DB: d, Audit: auditLog(d), Towns: town.NewStore(d, 0), Segregation: segregationCode(cfg), Log: log}, nil
}

// certDigest is the hex SHA-256 of a PEM certificate's DER.
func certDigest(path string) (string, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- a file named in the operator's configuration
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s holds no PEM certificate", path)
	}
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	sum := sha256.Sum256(blk.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

func auditLog(d *db.DB) *audit.Log { return &audit.Log{DB: d} }

// ensureDemoPayments gives the demo's card holder Luca Ferrari notices to
// pay (the school canteen, the school bus, a parking fine, the year's TARI
// in instalments), through the import the finance office uses; loaded
// once (the same file again is refused as a duplicate, and skipped).
func ensureDemoPayments(ctx context.Context, cfg config, d *db.DB, towns *town.Store) error {
	code, err := cf.Complete("FRRLCU78H15C707")
	if err != nil {
		return err
	}
	rates, err := payments.DemoRates()
	if err != nil {
		return err
	}
	svc := &payments.Service{DB: d, Audit: auditLog(d), Towns: towns, Segregation: segregationCode(cfg)}
	data := []byte("id;codice_fiscale;nominativo;categoria;causale;anno;importo;scadenza;rate\n" +
		"demo-mensa-11;" + string(code) + ";Luca Ferrari;mensa;Mensa scolastica, novembre 2026;2026;45,20;2026-12-31;\n" +
		"demo-scuolabus-1;" + string(code) + ";Luca Ferrari;trasporto;Scuolabus, primo quadrimestre 2026/27;2026;120,00;2027-01-31;\n" +
		"demo-sanzione-1;" + string(code) + ";Luca Ferrari;sanzione;Sanzione sosta vietata, verbale 2026/1187;2026;42,00;2026-12-15;\n" +
		"demo-tari-2026;" + string(code) + ";Luca Ferrari;tari;Abitazione, via Frova 12;2026;240,00;2026-05-31;\n")
	lines, err := svc.ParseImport(ctx, data, rates)
	if err != nil {
		return fmt.Errorf("demo payments: %w", err)
	}
	_, err = svc.Import(ctx, "demo-pagamenti.csv", data, lines, payments.Actor{Name: "demo"}, nil)
	if errors.Is(err, payments.ErrDuplicate) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo payments: %w", err)
	}
	return nil
}
