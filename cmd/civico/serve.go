package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/feedback"
	"github.com/civico-pa/civico/internal/partecipa"
	"github.com/civico-pa/civico/internal/portal"
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
	log := newLogger(cfg, c.stderr)
	ctx, stop := signalContext()
	defer stop()

	d, err := c.open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer d.Close()
	towns := town.NewStore(d, 30*time.Second)
	if demo {
		if err := ensureDemo(ctx, towns); err != nil {
			return err
		}
	}
	profile, err := towns.Get(ctx)
	if err != nil {
		return err
	}

	apps, err := buildApps(cfg, d, towns, log)
	if err != nil {
		return err
	}
	listeners := []*web.Listener{
		{Name: "portal (CIVICO_ADDR)", Addr: cfg.Addr, Handler: apps.portal.Handler()},
		{Name: "Partecipa (CIVICO_PARTECIPA_ADDR)", Addr: cfg.PartecipaAddr, Handler: apps.partecipa.Handler()},
	}
	if err := web.Listen(listeners); err != nil {
		return err
	}
	log.Info("civico started", "version", buildVersion(), "database", d.Describe(), "town", profile.FullName(),
		"portal", listeners[0].Address(), "partecipa", listeners[1].Address())
	if demo {
		fmt.Fprintf(c.stdout, "\nThe demo town, the %s, is served at:\n  portal     %s/\n  Partecipa  %s/\nData: %s\nStop with Ctrl-C.\n\n",
			profile.FullName(), cfg.BaseURL, cfg.PartecipaBaseURL, d.Describe())
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

type apps struct {
	portal, partecipa *web.App
}

// buildApps wires every feature into the two applications.
func buildApps(cfg config, d *db.DB, towns *town.Store, log *slog.Logger) (*apps, error) {
	i18n, err := web.NewI18n(web.Messages, portal.Messages, partecipa.Messages)
	if err != nil {
		return nil, err
	}
	static, err := web.NewStatic()
	if err != nil {
		return nil, err
	}
	metrics := web.NewMetrics()
	newApp := func(chrome web.Chrome, templates web.TemplateFS, serveMetrics bool) (*web.App, error) {
		r, err := web.NewRenderer(templates)
		if err != nil {
			return nil, err
		}
		a := &web.App{Chrome: chrome, Mux: http.NewServeMux(), Render: r, I18n: i18n, Static: static, Town: towns,
			DB: d, Metrics: metrics, Log: log.With("app", chrome.App), AccessLog: cfg.AccessLog, ServeMetrics: serveMetrics,
			Cache: web.NewPageCache(cfg.PageCacheTTL, 4096)}
		a.Routes()
		return a, nil
	}

	portalApp, err := newApp(portal.Chrome(), portal.Templates, true)
	if err != nil {
		return nil, err
	}
	(&portal.Portal{App: portalApp, PartecipaURL: cfg.PartecipaBaseURL}).Routes()
	fb := &feedback.Handler{App: portalApp, Store: &feedback.Store{DB: d}}
	portalApp.Mux.HandleFunc("POST /valutazione", fb.Submit)

	partecipaApp, err := newApp(partecipa.Chrome(cfg.BaseURL), partecipa.Templates, false)
	if err != nil {
		return nil, err
	}
	(&partecipa.Partecipa{App: partecipaApp}).Routes()
	return &apps{portal: portalApp, partecipa: partecipaApp}, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
