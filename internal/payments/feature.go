package payments

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// Templates and Messages are the payments pages and their translations.
//
//go:embed templates
var Templates embed.FS

//go:embed locales
var Messages embed.FS

//go:embed migrations/*.sql
var migrationFiles embed.FS

// FinanceRoles may run the finance back office.
var FinanceRoles = []string{"finance", "admin"}

// Need is the assurance a resident's payments need: a login that proved
// who they are (a password account is offered the step-up to the card).
const Need = assurance.Substantial

// Module is the payments feature as civico wires it.
type Module struct {
	// Segregation is the town's pagoPA segregation code
	// (CIVICO_PAGOPA_SEGREGATION_CODE).
	Segregation string
	// Sandbox serves the sandbox gateway and pays through it (the
	// default: CIVICO_PAYMENTS_GATEWAY=sandbox).
	Sandbox bool
	// SandboxVia, when set, is where the sandbox's API is reached from
	// this process (the portal's loopback address), if not BaseURL.
	SandboxVia string
	// Tokens checks an API bearer token (the OpenID Connect provider's):
	// nil turns the positions API off.
	Tokens TokenChecker
	// Callers are the pagoPA intermediaries allowed to call the
	// creditor-side endpoints.
	Callers []Caller
	// Rates are the tax rates and tariffs (nil: the embedded demo town's).
	Rates *Rates
	// Notifiers send reminders (mail, App IO); Contacts finds a debtor's
	// address for the mail one.
	Notifiers []Notifier
	// TLSBaseURL is the portal's TLS listener's address (card logins
	// come back to it from the gateway).
	TLSBaseURL string
	// ReconcileAfter is how long an attempt stays in payment before the
	// gateway is asked (ReconcileAfter when 0).
	ReconcileAfter time.Duration
	// SandboxDelay is how long the sandbox's delayed outcome waits before
	// its notification (SandboxDelay when 0).
	SandboxDelay time.Duration

	// ConfigErr is a configuration the module could not be built from:
	// wiring fails with it.
	ConfigErr error

	Service *Service
	sandbox *Sandbox
	client  *SandboxClient
}

// SandboxGateway is the sandbox gateway, nil when it is off.
func (m *Module) SandboxGateway() *Sandbox { return m.sandbox }

// SetSandboxVia points the sandbox client at this process's own listener
// once it is open (serve calls it).
func (m *Module) SetSandboxVia(url string) {
	if m.client != nil {
		m.client.URL = url
	}
}

// Feature is payments: its pages, API, creditor endpoints, back office
// and background work.
func (m *Module) Feature() feature.Feature {
	return feature.Feature{
		Name: "payments", Messages: Messages, Portal: Templates, Migrations: migrations(),
		Wire: m.wire,
	}
}

func (m *Module) wire(h *feature.Host) error {
	if m.ConfigErr != nil {
		return m.ConfigErr
	}
	s := &Service{DB: h.DB, Audit: h.Audit, Towns: h.Towns, Segregation: m.Segregation, Log: h.Log, Jobs: h.Jobs}
	m.Service = s
	if m.Rates == nil {
		r, err := DemoRates()
		if err != nil {
			return err
		}
		m.Rates = r
	}
	// The back office's imports run as jobs; their files are deleted
	// ImportFilesKept after the import ended.
	h.Job(s.ImportJob(m.Rates))
	h.Every("import files retention", time.Hour, func(ctx context.Context) error {
		n, err := s.PurgeImportFiles(ctx)
		if n > 0 {
			h.Log.Info("payments: deleted the files of ended imports", "files", n)
		}
		return err
	})
	if m.Sandbox {
		key := h.Key("payments sandbox gateway")
		m.sandbox = &Sandbox{DB: h.DB, App: h.Portal, Key: key, Log: h.Log, Delay: m.SandboxDelay}
		m.sandbox.Routes()
		via := m.SandboxVia
		if via == "" {
			via = h.BaseURL
		}
		m.client = &SandboxClient{URL: via, Public: h.BaseURL, Key: key}
		s.Gateway = m.client
		h.Every("sandbox gateway: delayed outcomes", 2*time.Second, m.sandbox.SendDelayed)
	}
	w := &Web{App: h.Portal, Svc: s, BaseURL: h.BaseURL, TLSBaseURL: m.TLSBaseURL, Tokens: m.Tokens, Callers: m.Callers, Rates: m.Rates, Limiter: h.Limiter}
	w.Routes()
	h.BackOffice(identity.Section{Label: "payments.admin.title", Href: "/backoffice/pagamenti", Roles: FinanceRoles})
	h.Panel(area.Of(area.Activities, area.PanelFunc(w.panel)))
	h.Export("payments", func(ctx context.Context, a *identity.Account) (any, error) {
		if a.FiscalCode == "" || !a.FiscalCodeSource.Proven() {
			return nil, nil
		}
		return s.Export(ctx, a.FiscalCode)
	})
	after := m.ReconcileAfter
	if after == 0 {
		after = ReconcileAfter
	}
	h.Every("reconciliation", time.Minute/2, func(ctx context.Context) error {
		_, err := s.Reconcile(ctx, after)
		return err
	})
	h.Every("expired notices", 10*time.Minute, func(ctx context.Context) error {
		_, err := s.Expire(ctx)
		return err
	})
	if len(m.Notifiers) > 0 {
		rem := &Reminders{Svc: s, Notifiers: m.Notifiers, Log: h.Log, BaseURL: h.BaseURL}
		h.Every("payment reminders", 10*time.Minute, rem.Plan)
		h.Every("payment reminders delivery", 30*time.Second, rem.Deliver)
		h.Every("payment receipts to their debtors", 30*time.Second, func(ctx context.Context) error {
			if err := rem.PlanReceipts(ctx); err != nil {
				return err
			}
			return rem.DeliverReceipts(ctx)
		})
	}
	return nil
}

// Web serves the payments pages.
type Web struct {
	App     *web.App
	Svc     *Service
	BaseURL string
	// TLSBaseURL is the portal's TLS listener (card login), if any.
	TLSBaseURL string
	Tokens     TokenChecker
	Callers    []Caller
	Rates      *Rates
	Limiter    *throttle.Limiter
}

func migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}
