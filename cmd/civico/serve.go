package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/crs"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/partecipa"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/portal"
	"github.com/civico-pa/civico/internal/protocol"
	"github.com/civico-pa/civico/internal/spid"
	"github.com/civico-pa/civico/internal/spid/spidtest"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// serve runs the portal and Partecipa until SIGINT or SIGTERM. With demo, an
// empty database is first filled with the demo town.
func (c *cli) serve(args []string, demo bool) error {
	cfg, err := loadConfig(c.env)
	if err != nil {
		return err
	}
	name := "serve"
	if demo {
		name = "demo"
	}
	fs := c.flags(name)
	cfg.serverFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	if demo {
		cfg.demoAddrs()
		// The demo's TEST SPID provider, with a key of its own at each
		// start, served on the portal (never by serve).
		if cfg.demoSPID, err = spidtest.New(strings.TrimSuffix(cfg.BaseURL, "/")+spid.TestIdPPath, strings.TrimSuffix(cfg.BaseURL, "/")+spid.TestIdPPath); err != nil {
			return err
		}
	}
	fdLimit, fdKnown := raiseFDLimit()
	if err := cfg.fitConns(fdLimit, fdKnown); err != nil {
		return err
	}
	log := newLogger(cfg, c.stderr)
	gc := tuneGC(c.env)
	// zitadel/oidc logs its protocol refusals to the default logger.
	slog.SetDefault(log.With("component", "oidc"))
	ctx, stop := signalContext()
	defer stop()

	d, err := c.open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer d.Close()
	towns := town.NewStore(d, cfg.Caches.Town)
	if demo {
		if err := prepareDemo(ctx, &cfg, d, towns); err != nil {
			return err
		}
	} else if err := cfg.checkLogin(); err != nil {
		return err
	}
	profile, err := towns.Get(ctx)
	if err != nil {
		return err
	}
	if cfg.Payments.Segregation == "" {
		log.Warn("payments: CIVICO_PAGOPA_SEGREGATION_CODE is not set: no payment notice can be issued until it is")
	}
	if cfg.Payments.Gateway == "sandbox" && !demo {
		log.Warn("payments: CIVICO_PAYMENTS_GATEWAY=sandbox: residents can mark their notices paid without paying; a test installation only")
	}

	cards, err := newCardReader(cfg, log)
	if err != nil {
		return err
	}
	apps, err := buildApps(cfg, d, towns, log, cards)
	if err != nil {
		return err
	}
	if demo {
		if err := prepareDemoSPID(ctx, apps); err != nil {
			return err
		}
	}
	// The SPID key likewise, once the town has its IPA code.
	if err := apps.civico.spid.Ensure(ctx, profile); err != nil {
		return err
	}
	// The CIE relying party's keys, when CIE login is configured.
	if err := apps.civico.cie.Ensure(ctx); err != nil {
		return err
	}
	// The upstream provider's client key, with private_key_jwt.
	if err := apps.civico.upstream.Ensure(ctx); err != nil {
		return err
	}
	// The signing key is made at the first start and must open with the
	// configured secret key: a wrong secret stops civico here, not at the
	// first login.
	if err := apps.oidc.Storage.Keys.Ensure(ctx); err != nil {
		return err
	}
	if _, err := apps.oidc.Storage.Keys.SigningKey(ctx); err != nil {
		return err
	}
	// river's schema must be complete before anything listens.
	if err := jobs.Check(ctx, d); err != nil {
		return err
	}
	worker, err := newMailWorker(cfg, d, log, demo, c.stdout)
	if err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if cfg.TLSAddr != "" {
		if tlsConfig, err = crs.TLSConfig(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("CIVICO_TLS_CERT_FILE, CIVICO_TLS_KEY_FILE: %w", err)
		}
		if cards != nil {
			// Name the card authorities in the handshake, so browsers offer
			// only the resident's card and not every certificate they hold.
			tlsConfig.ClientCAs = cards.verifier.ClientCAs()
		}
	}
	listeners := serverListeners(cfg, apps, tlsConfig)
	if err := web.Listen(listeners); err != nil {
		return err
	}
	// Partecipa reaches the provider through the portal's own listener in
	// this process, whatever the public address resolves to from here.
	apps.partecipaAuth.Via = "http://" + loopback(listeners[0].Address())
	// So does the payments feature reach its sandbox gateway.
	apps.civico.payments.SetSandboxVia("http://" + loopback(listeners[0].Address()))
	// Background work stops with the server and is waited for before the
	// database closes, so its last writes land.
	var background sync.WaitGroup
	defer background.Wait()
	bctx, stopBackground := context.WithCancel(ctx)
	defer stopBackground() // runs before Wait: deferred calls run last-in, first-out
	if worker != nil {
		background.Go(func() { worker.Run(bctx) })
	}
	// Jobs: this process works them and takes part in electing the leader
	// that inserts the periodic ones. At shutdown running jobs get
	// jobs.DefaultStopGrace to finish; one still running then is cancelled
	// and retried later, here or by another process.
	if err := apps.jobs.Start(bctx); err != nil {
		return err
	}
	background.Go(func() {
		<-bctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), jobs.DefaultStopGrace+10*time.Second)
		defer cancel()
		if err := apps.jobs.Stop(sctx); err != nil {
			log.Error("stopping the jobs", "err", err)
		}
	})
	metricsAt := ""
	if m := listeners[len(listeners)-1]; cfg.MetricsAddr != "" {
		metricsAt = "http://" + m.Address() + "/metrics"
	}
	// What the start allocated (the templates parsed for each language,
	// the messages, the features' wiring) is garbage now: collect it and
	// give its memory back, which GOGC=400 would otherwise leave to the
	// first collection under load (bench/start.sh: idle RSS 69.8 -> 62.8
	// MiB, medians of 7; README "Start and memory").
	debug.FreeOSMemory()
	log.Info("civico started", "version", buildVersion(), "database", d.Describe(), "town", profile.FullName(),
		"portal", listeners[0].Address(), "partecipa", listeners[1].Address(), "metrics", metricsAt,
		"max_conns", cfg.MaxConns, "max_conns_per_client", cfg.MaxConnsPerClient, "fd_limit", fdLimit,
		"gc_percent", gc.Percent, "memory_limit", gc.limitText())
	if demo {
		fmt.Fprintf(c.stdout, "\nThe demo town, the %s, is served at:\n  portal     %s/\n  Partecipa  %s/\n",
			profile.FullName(), cfg.BaseURL, cfg.PartecipaBaseURL)
		if cfg.TLSAddr != "" {
			fmt.Fprintf(c.stdout, "  portal with smart-card login  %s/\n", cfg.TLSBaseURL)
		}
		if metricsAt != "" {
			fmt.Fprintf(c.stdout, "  metrics    %s (Prometheus; CIVICO_METRICS_ADDR)\n", metricsAt)
		}
		fmt.Fprintf(c.stdout, "  SPID       a TEST identity provider, \"%s\", under \"Entra con SPID\" (demo only)\n", spid.TestIdPName)
		fmt.Fprintf(c.stdout, "Data: %s\n%sStop with Ctrl-C.\n\n", d.Describe(), demoLogins)
	}
	if err := web.Serve(ctx, log, gracePeriod, listeners); err != nil {
		return err
	}
	log.Info("civico stopped")
	return nil
}

// ensureDemo stores the demo town's profile unless the database has one.
func ensureDemo(ctx context.Context, towns *town.Store) error {
	_, err := towns.Get(ctx)
	if errors.Is(err, town.ErrNoProfile) {
		return towns.Put(ctx, town.Demo())
	}
	return err
}

// apps is civico built for one configuration: the two applications with
// every feature wired, the background work they registered, and the
// handles serve and the tests reach into.
type apps struct {
	portal, partecipa *web.App
	metrics           *web.Metrics
	civico            *civico
	// tasks are the features' periodic jobs, which a test may run in place.
	tasks []feature.Task
	// panels are the features' panels on the personal area.
	panels []feature.Panel
	// jobs is the job queue, ready (every kind registered), not started:
	// serve starts it.
	jobs          *jobs.Jobs
	identity      *identity.Service
	oidc          *oidcop.Provider
	partecipaAuth *partecipa.Auth
	// limiter keeps every budget (logins, mail, ratings, the coordination
	// view).
	limiter *throttle.Limiter
	// protocol is the protocol register features register through.
	protocol *protocol.Registry
	// inbox is the residents' messages features post to.
	inbox *area.Inbox
}

// buildApps builds civico from its one list of features (newCivico): the
// translations and templates of every feature, the two applications, the
// platform every feature is wired onto, then each feature in order. serve
// and every test build it this way. cards is nil when smart-card login is
// not configured. extra are features a test adds after the list's,
// through the same Host (panels of the personal area's tests and
// benchmark); serve adds none.
func buildApps(cfg config, d *db.DB, towns *town.Store, log *slog.Logger, cards *cardReader, extra ...feature.Feature) (*apps, error) {
	secret, err := oidcop.NewSecret([]byte(cfg.SecretKey))
	if err != nil {
		return nil, usagef("CIVICO_SECRET_KEY: %v", err)
	}
	c := newCivico(cfg, secret, &population.Register{DB: d})
	c.features = append(c.features, extra...)
	i18n, err := web.NewI18n(append([]fs.FS{web.Messages}, feature.Messages(c.features)...)...)
	if err != nil {
		return nil, err
	}
	static, err := web.NewStatic()
	if err != nil {
		return nil, err
	}
	metrics := web.NewMetrics()
	newApp := func(chrome web.Chrome, templates ...fs.FS) (*web.App, error) {
		r, err := web.NewLocalizedRenderer(i18n, templates...)
		if err != nil {
			return nil, err
		}
		a := &web.App{Chrome: chrome, Mux: http.NewServeMux(), Render: r, I18n: i18n, Static: static, Town: towns,
			DB: d, Metrics: metrics, Log: log.With("app", chrome.App), AccessLog: cfg.AccessLog, DebugQueries: cfg.DebugQueries, Timeouts: cfg.Timeouts,
			Cache: web.NewPageCache(cfg.PageCacheTTL, cfg.Caches.Pages), Content: web.NewContentCache(cfg.PageCacheTTL, cfg.Caches.Contents),
			Answers:     web.NewAnswerCache(cfg.PageCacheTTL, cfg.Caches.Answers),
			Fragments:   web.NewFragmentCache(cfg.Caches.FragmentTTL, cfg.Caches.Fragments),
			PublicHTTPS: strings.HasPrefix(cfg.BaseURL, "https://"), Proxies: cfg.TrustedProxies}
		a.Routes()
		return a, nil
	}
	chrome := portal.Chrome()
	chrome.Login = "/accedi"
	portalApp, err := newApp(chrome, feature.PortalTemplates(c.features)...)
	if err != nil {
		return nil, err
	}
	// Maps on the portal's office and place pages, when the town chose a
	// tile server: its origin joins the portal's img-src.
	portalApp.Maps = cfg.Maps
	partecipaApp, err := newApp(partecipa.Chrome(cfg.BaseURL), feature.PartecipaTemplates(c.features)...)
	if err != nil {
		return nil, err
	}
	// Proposals' places on Partecipa, with the same tile server.
	partecipaApp.Maps = cfg.Maps
	// Partecipa's logout continues at the portal's provider.
	partecipaApp.FormOrigins = []string{origin(cfg.BaseURL)}

	limiter := &throttle.Limiter{DB: d, Key: secret.Derive("throttle keys", 32)}
	svc := newIdentityService(cfg, d, towns, i18n)
	svc.Limiter = limiter // one set of budgets, one sweep
	id := &identity.Web{App: portalApp, Svc: svc, BaseURL: cfg.BaseURL}
	if cards != nil {
		id.Card = cards
		if cfg.TLSBaseURL != "" {
			id.CardLoginURL = cfg.TLSBaseURL + "/login/crs"
		} else {
			// Behind a TLS proxy that forwards the card: the portal's own address.
			id.CardLoginURL = cfg.BaseURL + "/login/crs"
		}
	}
	// Every guarded route of every feature is checked by identity.
	portalApp.Guard = id.Require
	c.identity = svc.Store
	c.payments.Notifiers = reminderNotifiers(cfg, d, svc.Store)
	registry := &protocol.Registry{DB: d, Dir: filepath.Join(cfg.DataDir, "protocol"), Town: func(ctx context.Context) (string, error) {
		t, err := towns.Get(ctx)
		return t.FullName(), err
	}}
	var scanner attachments.Scanner = attachments.NoScan{}
	if cfg.Clamd != nil {
		scanner = cfg.Clamd
	}
	queue := jobs.New(d, jobs.Config{Workers: cfg.JobWorkers, Log: log.With("component", "jobs"), Metrics: metrics.Registry()})
	host := &feature.Host{Attachments: attachments.NewStore(d, cfg.DataDir, scanner), DB: d, Portal: portalApp, Partecipa: partecipaApp, ID: id, Audit: &audit.Log{DB: d}, Outbox: &mail.Outbox{DB: d},
		Limiter: limiter, Towns: towns, Protocol: registry, Jobs: queue, Log: log, Key: func(purpose string) []byte { return secret.Derive(purpose, 32) },
		BaseURL: cfg.BaseURL, PartecipaBaseURL: cfg.PartecipaBaseURL, DataDir: cfg.DataDir}
	host.Messages = newInbox(host, i18n, svc.Store, towns)
	host.Messages.UnreadTTL = cfg.Caches.Unread
	host.Tokens = c.bearer
	if err := host.Wire(c.features); err != nil {
		return nil, err
	}
	if err := queue.Ready(); err != nil {
		return nil, err
	}
	return &apps{portal: portalApp, partecipa: partecipaApp, metrics: metrics, civico: c, tasks: host.Tasks(), panels: host.Panels(), jobs: queue, identity: svc,
		oidc: c.oidc.Provider, partecipaAuth: c.partecipa.Auth, limiter: limiter, protocol: registry, inbox: host.Messages}, nil
}

// serverListeners are the addresses serve answers on, in this order: the
// portal, Partecipa, the portal over TLS (when tlsConfig is set), the
// metrics (when CIVICO_METRICS_ADDR is). Each has the configured caps and
// timeouts.
func serverListeners(cfg config, a *apps, tlsConfig *tls.Config) []*web.Listener {
	limits := web.ConnLimits{Total: cfg.MaxConns, PerClient: cfg.MaxConnsPerClient, Exempt: cfg.TrustedProxies}
	listener := func(name, label, addr string, h http.Handler) *web.Listener {
		return &web.Listener{Name: name, Label: label, Addr: addr, Handler: h, Limits: limits, Timeouts: cfg.Timeouts, Metrics: a.metrics}
	}
	portalHandler := a.portal.Handler()
	ls := []*web.Listener{
		listener("portal (CIVICO_ADDR)", "portal", cfg.Addr, portalHandler),
		listener("Partecipa (CIVICO_PARTECIPA_ADDR)", "partecipa", cfg.PartecipaAddr, a.partecipa.Handler()),
	}
	if tlsConfig != nil {
		l := listener("portal over TLS (CIVICO_TLS_ADDR)", "portal-tls", cfg.TLSAddr, portalHandler)
		l.TLS = tlsConfig
		ls = append(ls, l)
	}
	if cfg.MetricsAddr != "" {
		ls = append(ls, listener("metrics (CIVICO_METRICS_ADDR)", "metrics", cfg.MetricsAddr, a.metrics.Endpoint()))
	}
	return ls
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newCatalogStore is a catalogue outside serve (the demo's loading), which
// reads the database at every Get.
func newCatalogStore(d *db.DB) *catalog.Store { return catalog.NewStore(d, 0) }
