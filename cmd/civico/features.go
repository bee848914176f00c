package main

import (
	"cmp"
	"context"
	"database/sql"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/cards"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/certificates"
	"github.com/civico-pa/civico/internal/cie"
	"github.com/civico-pa/civico/internal/content"
	"github.com/civico-pa/civico/internal/dashboard"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/feature"
	"github.com/civico-pa/civico/internal/feedback"
	"github.com/civico-pa/civico/internal/forms"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/news"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/partecipa"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/portal"
	"github.com/civico-pa/civico/internal/protocol"
	"github.com/civico-pa/civico/internal/schools"
	"github.com/civico-pa/civico/internal/segnala"
	"github.com/civico-pa/civico/internal/spid"
	"github.com/civico-pa/civico/internal/sportello"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/timeuse"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/upstream"
	"github.com/civico-pa/civico/internal/web"
)

// civico is what civico is made of: the one explicit list of features, in
// the order they are wired, that serve, migrate, the demo and the tests
// all build from, and the handles of the features serve and the tests
// reach into. A new feature is a line in features (and, when it needs
// another feature, the lines below that join them).
type civico struct {
	catalog   *catalog.Module
	content   *content.Module
	forms     *forms.Module
	news      *news.Module
	oidc      *oidcop.Module
	partecipa *partecipa.Module
	payments  *payments.Module
	sportello *sportello.Module
	// certificates reads the population register.
	certificates *certificates.Module
	booking      *booking.Module
	schools      *schools.Module
	// spid is the SPID Service Provider (the demo registers its test
	// provider through it).
	spid *spid.Module
	// cie is the CIE ID OpenID Connect federation relying party (off
	// without CIVICO_CIE_OIDC_CONFIG).
	cie *cie.Module
	// upstream is proxy mode: a regional or vendor SPID/CIE proxy as
	// upstream OpenID Connect provider (off without
	// CIVICO_UPSTREAM_OIDC_CONFIG).
	upstream *upstream.Module
	// cards is the card registry and the PINs' delivery; identity asks it
	// at every card login whether the registry refuses the card.
	cards *cards.Module
	// dashboard counts what the features hand it (dashboardSources).
	dashboard *dashboard.Module
	// timeuse is the time-use survey (its results weighed as configured).
	timeuse *timeuse.Module
	// identity is the accounts' store, set when civico is built
	// (buildApps): payments asks it whose a bearer token is.
	identity *identity.Store
	features []feature.Feature
}

// partecipaClientID is the built-in client of the consultation platform.
const partecipaClientID = "partecipa"

// newCivico lists the features for a configuration. Nothing here touches
// the database: features get it when they are wired (feature.Host), so the
// list also serves `civico migrate` and `civico version`, which only read
// the features' migrations.
func newCivico(cfg config, secret oidcop.Secret, register *population.Register) *civico {
	c := &civico{catalog: catalog.New(cfg.Caches.Catalog), forms: &forms.Module{}, news: &news.Module{}}
	// The catalogue lists each service's forms; the forms library checks
	// the service a form belongs to against the catalogue.
	c.catalog.Forms = serviceForms(c.forms)
	c.forms.Services = formServices(c.catalog.Store)
	// The Sportello reads the catalogue's services (their terms and
	// assurance) and checks its API's bearer tokens with the provider.
	c.sportello = &sportello.Module{Services: sportelloServices(c.catalog.Store), Tokens: c.bearer, CountsTTL: cfg.Caches.QueueCounts}
	// Certificates state what the population register holds.
	c.certificates = &certificates.Module{Register: register}
	// Booking cuts the catalogue's offices' hours into slots for their
	// services; the offers are kept as long as the catalogue, the places
	// taken a second.
	c.booking = &booking.Module{Catalogue: bookingCatalogue(c.catalog.Store), OffersTTL: cfg.Caches.Catalog, TakenTTL: cfg.Caches.Taken}
	// The school services bill their fees through payments (set below).
	c.schools = &schools.Module{}
	// What the home page puts in evidence is chosen among the
	// catalogue's services.
	c.content = &content.Module{Services: contentServices(c.catalog.Store)}
	// A service that forms belong to is not deleted.
	c.catalog.Store.Uses = serviceUses(c.forms)
	// Partecipa is a first-party client of the portal's provider, with a
	// secret derived from the installation secret.
	p := cfg.PartecipaBaseURL
	c.oidc = &oidcop.Module{Secret: secret, Residents: register, CounterClient: partecipaClientID, Clients: []oidcop.NewClient{{ID: partecipaClientID, Name: "Partecipa", FirstParty: true,
		RedirectURIs: []string{p + "/auth/callback"}, PostLogoutURIs: []string{p + "/"}, BackchannelLogoutURI: p + "/auth/backchannel-logout",
		Scopes: []string{"openid", "profile", "email", oidcop.ScopeResidence, oidcop.ScopeRoles, oidcop.ScopeDemographics}, Secret: secret.ClientSecret(partecipaClientID)}}}
	// Partecipa reaches the provider through the portal's listener from a
	// loopback address like any client: its connections are kept under
	// half the per-client cap, so that a burst of logins queues here
	// instead of being refused there.
	toPortal := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.MaxConnsPerClient > 0 {
		toPortal.MaxConnsPerHost = max(1, cfg.MaxConnsPerClient/2)
	}
	c.partecipa = &partecipa.Module{ClientID: partecipaClientID, ClientSecret: secret.ClientSecret(partecipaClientID),
		HTTP: &http.Client{Timeout: 10 * time.Second, Transport: toPortal}, Threshold: cfg.ProposalThreshold,
		AnswerWithin: time.Duration(cfg.ProposalAnswerDays) * 24 * time.Hour}

	// Payments reads the provider's bearer tokens for its API, and
	// identity's accounts for them and for reminders (buildApps).
	var err error
	if c.payments, err = paymentsModule(cfg, c); err != nil {
		// The configuration was checked when it was loaded; a file that
		// went missing since fails the start with its message.
		c.payments = &payments.Module{Segregation: cfg.Payments.Segregation, Sandbox: true, ConfigErr: err}
	}
	c.schools.Biller = schoolsBiller{c.payments.Biller()}
	// A certificate that bears the stamp duty waits for its payment, when
	// the town can issue pagoPA notices; otherwise the form says it is not
	// online.
	if c.payments.ConfigErr == nil && cfg.Payments.Segregation != "" {
		c.certificates.Payments = certificatesPayments{c.payments.Biller()}
	}
	c.spid = &spid.Module{TestIdP: cfg.demoSPID}
	c.cie = &cie.Module{Config: cfg.CIE, HTTP: cfg.cieHTTP}
	c.upstream = &upstream.Module{Config: cfg.Upstream, HTTP: cfg.upstreamHTTP}
	c.cards = &cards.Module{Place: cfg.CardsPlace}
	// The time-use survey weighs the catalogue's offices' hours; the
	// coordination view shows the extra openings its results propose.
	tu := &timeuse.Module{Need: cfg.TimeUseAssurance, Offices: timeuseOffices(c.catalog.Store), Travel: cfg.TimeUseTravel, Margins: cfg.TimeUseMargins}
	c.catalog.Proposals = hoursProposals(tu)
	c.timeuse = tu
	// The dashboard counts the features' figures without reading their
	// tables.
	c.dashboard = c.dashboardModule()
	c.features = []feature.Feature{
		// The platform: tables every feature stands on, and their upkeep.
		{Name: "town", Migrations: town.Migrations},
		{Name: "audit", Migrations: audit.Migrations},
		// The job queue: river's tables, built by river's migrator.
		{Name: "jobs", Steps: jobs.Migrations},
		{Name: "mail", Migrations: mail.Migrations, Wire: wireMail},
		{Name: "throttle", Migrations: throttle.Migrations, Wire: func(h *feature.Host) error {
			h.Every("spent budgets", 5*time.Minute, h.Limiter.Sweep)
			return nil
		}},
		{Name: "population", Migrations: population.Migrations, Wire: func(h *feature.Host) error {
			// The register's record of a person whose fiscal code a
			// login proved (someone's claim leads to no one's record).
			h.Export("population_register", func(ctx context.Context, a *identity.Account) (any, error) {
				if a.FiscalCode == "" || !a.FiscalCodeSource.Proven() {
					return nil, nil
				}
				p, ok, err := (&population.Register{DB: h.DB}).Lookup(ctx, a.FiscalCode)
				if err != nil || !ok {
					return nil, err
				}
				return p, nil
			})
			return nil
		}},
		identityFeature(c.cards),
		areaFeature(onlineServices(c.catalog.Store)),
		protocolFeature(),
		{Name: "attachments", Messages: attachments.Messages, Migrations: attachments.Migrations, Wire: func(h *feature.Host) error {
			h.Every("collect unreferenced attachments", 5*time.Minute, func(ctx context.Context) error {
				n, err := h.Attachments.GC(ctx)
				if n > 0 {
					h.Log.Info("attachments: removed unreferenced files", "files", n)
				}
				return err
			})
			return nil
		}},
		// The features.
		portal.Feature(cfg.PartecipaBaseURL, c.homeSources(), portal.Topics{Services: topicServices(c.catalog.Store), News: topicNews(c.news)}),
		c.catalog.Feature(),
		c.forms.Feature(),
		c.news.Feature(),
		c.content.Feature(),
		feedback.Feature(),
		c.oidc.Feature(),
		c.partecipa.Feature(),
		c.payments.Feature(),
		c.sportello.Feature(),
		c.certificates.Feature(),
		segnala.Feature(),
		c.booking.Feature(),
		c.spid.Feature(),
		c.cie.Feature(),
		c.upstream.Feature(),
		tu.Feature(),
		c.schools.Feature(),
		c.cards.Feature(),
		c.dashboard.Feature(),
	}
	return c
}

// schema is every feature's tables.
func schema() db.Schema {
	return feature.Migrations(newCivico(config{}, oidcop.Secret{}, nil).features)
}

// identityFeature is who is asking: accounts, logins, sessions, operators.
// identity is a platform package (every feature asks it who is logged in),
// so its feature is described here rather than in its own folder.
// checks refuse verified cards at login (the card registry's state).
func identityFeature(checks ...identity.CardCheck) feature.Feature {
	return feature.Feature{
		Name: "identity", Messages: identity.Messages, Portal: identity.Templates, Migrations: identity.Migrations,
		Wire: func(h *feature.Host) error {
			h.ID.Routes()
			for _, c := range checks {
				h.ID.AddCardCheck(c)
			}
			h.Portal.Middleware = append(h.Portal.Middleware, h.ID.Middleware)
			h.Portal.Viewer = identity.Viewer
			// The download of a person's data holds their audit entries:
			// what they did, and what was done about their account. The
			// card an entry names (its authority and serial) only for a
			// session that proved the fiscal code.
			h.Export("audit_log", func(ctx context.Context, a *identity.Account) (any, error) {
				records, err := (&audit.Log{DB: h.DB}).About(ctx, "account:"+a.ID, a.ID, a.Email)
				if !a.FiscalCodeSource.Proven() {
					for _, r := range records {
						delete(r.Details, "card")
					}
				}
				return records, err
			})
			h.Every("expired sessions", 5*time.Minute, h.ID.Svc.Sessions.Sweep)
			h.Every("sessions of revoked cards", time.Minute, h.ID.EndRevokedSessions)
			h.Every("expired registration links", 5*time.Minute, h.ID.Svc.SweepSignups)
			return nil
		},
	}
}

// protocolFeature is the protocol register: a platform package (features
// register through Host.Protocol, in their own transactions), with its
// back office and its daily job.
func protocolFeature() feature.Feature {
	return feature.Feature{
		Name: "protocol", Messages: protocol.Messages, Portal: protocol.Templates, Migrations: protocol.Migrations,
		Wire: func(h *feature.Host) error {
			(&protocol.Web{App: h.Portal, Registry: h.Protocol, Audit: h.Audit}).Routes()
			h.BackOffice(identity.Section{Label: "protocol.backoffice.title", Href: "/backoffice/protocollo", Roles: protocol.Roles})
			// The daily registers of the days that are over, once each:
			// every hour, so a day is exported within the hour after it ends.
			h.Every("daily protocol registers", time.Hour, func(ctx context.Context) error {
				n, err := h.Protocol.ExportDue(ctx)
				if n > 0 {
					h.Log.Info("protocol: daily registers exported", "days", n)
				}
				return err
			})
			return nil
		},
	}
}

// mailRetention is how long sent and failed mail stays in the outbox: the
// messages hold addresses and links that need not outlive their use.
const mailRetention = 30 * 24 * time.Hour

func wireMail(h *feature.Host) error {
	h.Every("old mail", time.Hour, func(ctx context.Context) error {
		_, err := h.Outbox.Purge(ctx, time.Now().Add(-mailRetention))
		return err
	})
	return nil
}

// serviceForms lists a service's forms for its page in the catalogue's
// words.
func serviceForms(m *forms.Module) catalog.FormsOf {
	return func(ctx context.Context, serviceID string) ([]catalog.ServiceForm, error) {
		list, err := m.ForService(ctx, serviceID)
		if err != nil {
			return nil, err
		}
		out := make([]catalog.ServiceForm, 0, len(list))
		for _, f := range list {
			v := f.Latest
			size := map[string]string{}
			for _, lang := range web.Languages {
				size[lang] = v.HumanSize(lang)
			}
			out = append(out, catalog.ServiceForm{Title: f.Title, Description: f.Description, URL: v.URL(), MediaType: v.MediaType,
				Icon: v.Icon(), TypeLabel: v.TypeLabel(), Version: v.Number, Date: v.Date(), Size: size})
		}
		return out, nil
	}
}

// serviceUses lists the forms of a service, archived ones too, as what
// keeps the catalogue from deleting it.
func serviceUses(m *forms.Module) catalog.ServiceUses {
	return func(ctx context.Context, tx *sql.Tx, serviceID string) ([]catalog.Use, error) {
		list, err := m.OfService(ctx, tx, serviceID)
		if err != nil {
			return nil, err
		}
		out := make([]catalog.Use, 0, len(list))
		for _, f := range list {
			kind := "form"
			if f.Archived {
				kind = "form_archived"
			}
			out = append(out, catalog.Use{Kind: kind, Title: f.Title, Href: "/backoffice/moduli/" + f.ID})
		}
		return out, nil
	}
}

// formServices lets the forms library check and list the catalogue's
// services without importing the catalogue.
func formServices(c *catalog.Store) forms.Services {
	return func(ctx context.Context) ([]forms.Service, error) {
		cat, err := c.Get(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]forms.Service, 0, len(cat.Services))
		for _, s := range cat.Services {
			out = append(out, forms.Service{ID: s.ID, Title: s.Title, Path: "/servizi/" + s.Category + "/" + s.ID})
		}
		return out, nil
	}
}

// sportelloServices lets the Sportello read the catalogue's services
// without importing the catalogue.
func sportelloServices(c *catalog.Store) sportello.Services {
	return func(ctx context.Context) ([]sportello.Service, error) {
		cat, err := c.Get(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]sportello.Service, 0, len(cat.Services))
		for _, s := range cat.Services {
			level, _ := assurance.Parse(s.Assurance)
			out = append(out, sportello.Service{ID: s.ID, Title: s.Title, Category: s.Category, MaxDays: s.MaxDays, Assurance: level, Active: s.Active()})
		}
		return out, nil
	}
}

// bookingCatalogue lets the booking read the catalogue's offices (their
// hours) and services (their competent offices) without importing it. The
// directory is made once for each catalogue read (Version), not at every
// request.
func bookingCatalogue(c *catalog.Store) booking.Catalogue {
	type made struct {
		cat *catalog.Catalog
		dir *booking.Directory
	}
	var last atomic.Pointer[made]
	return func(ctx context.Context) (*booking.Directory, error) {
		cat, err := c.Get(ctx)
		if err != nil {
			return nil, err
		}
		if m := last.Load(); m != nil && m.cat == cat {
			return m.dir, nil
		}
		offices := make([]*booking.Office, 0, len(cat.Offices))
		for _, o := range cat.Offices {
			offices = append(offices, &booking.Office{ID: o.ID, Name: o.Name, Address: o.Address, Hours: o.Hours})
		}
		services := make([]*booking.Service, 0, len(cat.Services))
		for _, s := range cat.Services {
			services = append(services, &booking.Service{ID: s.ID, Title: s.Title, Category: s.Category, Offices: s.Offices, Active: s.Active()})
		}
		dir := booking.NewDirectory(offices, services)
		dir.Version = cat.Version
		last.Store(&made{cat: cat, dir: dir})
		return dir, nil
	}
}

// timeuseOffices lets the time-use survey's results weigh the
// catalogue's offices' ordinary weekly hours without importing it.
func timeuseOffices(c *catalog.Store) timeuse.Offices {
	return func(ctx context.Context) ([]timeuse.ResultsOffice, error) {
		cat, err := c.Get(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]timeuse.ResultsOffice, 0, len(cat.Offices))
		for _, o := range cat.Offices {
			ro := timeuse.ResultsOffice{ID: o.ID, Name: o.Name}
			for name, list := range o.Spec.Week {
				for _, d := range catalog.Weekdays {
					if !strings.EqualFold(name, d.Name) {
						continue
					}
					for _, s := range list {
						// The catalogue checked its hours when they were saved.
						if iv, err := hours.ParseInterval(s); err == nil {
							ro.Openings = append(ro.Openings, analysis.Opening{Weekday: d.Day, From: int(iv.Start), To: int(iv.End)})
						}
					}
				}
			}
			// In the week's order, so that the same hours fingerprint the same.
			slices.SortFunc(ro.Openings, func(a, b analysis.Opening) int { return cmp.Or(int(a.Weekday)-int(b.Weekday), a.From-b.From) })
			out = append(out, ro)
		}
		return out, nil
	}
}

// hoursProposals lets the coordination view show the time-use survey's
// proposed openings without importing it.
func hoursProposals(m *timeuse.Module) catalog.HoursProposals {
	return func(ctx context.Context, lang string) (string, map[string]catalog.HoursProposal, error) {
		version, list, err := m.Proposals(ctx, lang)
		if err != nil || list == nil {
			return version, nil, err
		}
		out := make(map[string]catalog.HoursProposal, len(list))
		for id, p := range list {
			hp := catalog.HoursProposal{Weekday: p.Weekday, From: hours.Clock(p.From), To: hours.Clock(p.To), LeastServed: p.LeastServed,
				MinBefore: p.MinBefore, MinAfter: p.MinAfter, AllBefore: p.AllBefore, AllAfter: p.AllAfter}
			for _, g := range p.Gains {
				hp.Gains = append(hp.Gains, catalog.HoursGain{Group: g.Group, Respondents: g.Respondents, Before: g.Before, After: g.After})
			}
			out[id] = hp
		}
		return version, out, nil
	}
}

// contentServices lets the content's back office offer the catalogue's
// services for the home page without importing the catalogue.
func contentServices(c *catalog.Store) content.Services {
	return func(ctx context.Context) ([]content.Service, error) {
		cat, err := c.Get(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]content.Service, 0, len(cat.Services))
		for _, s := range cat.Services {
			out = append(out, content.Service{ID: s.ID, Title: s.Title})
		}
		return out, nil
	}
}

// schoolsBiller lets the school services make their bills' debt
// positions through payments without importing it.
type schoolsBiller struct{ b *payments.Biller }

func (s schoolsBiller) Bill(ctx context.Context, tx *sql.Tx, b schools.Bill) (schools.BillNotice, error) {
	n, err := s.b.Bill(ctx, tx, payments.NewPosition{DebtorCF: b.DebtorCF, Category: payments.Category(b.Category), Reason: b.Reason, Year: b.Year,
		Amount: b.Amount, DueDate: b.DueDate, ExternalID: b.ExternalID, Source: "schools", Detail: b.Detail})
	if err != nil {
		return schools.BillNotice{}, err
	}
	return schools.BillNotice{ID: n.ID, PositionID: n.PositionID, Number: n.Number}, nil
}

// certificatesPayments bills a certificate's stamp duty through payments,
// and tells certificates which of its bills were paid.
type certificatesPayments struct{ b *payments.Biller }

func (c certificatesPayments) BillDuty(ctx context.Context, tx *sql.Tx, d certificates.Duty) (certificates.DutyNotice, error) {
	n, err := c.b.Bill(ctx, tx, payments.NewPosition{DebtorCF: d.DebtorCF, DebtorName: d.DebtorName, Category: payments.Stamp, Reason: d.Reason,
		Year: d.Year, Amount: d.Amount, DueDate: d.DueDate, PayableUntil: d.DueDate, ExternalID: d.ExternalID, Source: "certificates"})
	if err != nil {
		return certificates.DutyNotice{}, err
	}
	return certificates.DutyNotice{ID: n.ID, Number: n.Number}, nil
}

func (c certificatesPayments) DutyStatuses(ctx context.Context, ids []string) (map[string]string, error) {
	return c.b.Statuses(ctx, "certificates", ids)
}

// bearer checks a bearer token of the portal's provider for the features'
// APIs, once the provider is wired.
func (c *civico) bearer(ctx context.Context, token string) (feature.Grant, error) {
	if c.oidc.Provider == nil {
		return feature.Grant{}, oidcop.ErrTokenInvalid
	}
	g, err := c.oidc.Provider.Bearer(ctx, token)
	if err != nil {
		return feature.Grant{}, err
	}
	return feature.Grant{AccountID: g.AccountID, Scopes: g.Scopes, Level: g.Level}, nil
}

// homeSources are what the home page shows of the catalogue (the offices
// open now and this evening, the services in evidence), the news and the
// content (the next events, what is in evidence), in the portal's words.
func (c *civico) homeSources() portal.Sources {
	office := func(o *catalog.Office, start, end time.Time) portal.Opening {
		return portal.Opening{Name: o.Name, Href: "/amministrazione/uffici/" + o.ID, Start: start, End: end}
	}
	return portal.Sources{
		Openings: func(ctx context.Context, now time.Time) (portal.Openings, error) {
			cat, err := c.catalog.Store.Get(ctx)
			if err != nil {
				return portal.Openings{}, err
			}
			o := cat.Openings(now)
			out := portal.Openings{EveningStart: o.EveningStart}
			for _, x := range o.Now {
				out.Now = append(out.Now, office(x.Office, x.Start, x.End))
			}
			for _, x := range o.Evening {
				out.Evening = append(out.Evening, office(x.Office, x.Start, x.End))
			}
			if o.Next != nil {
				next := office(o.Next.Office, o.Next.Start, o.Next.End)
				out.Next = &next
			}
			return out, nil
		},
		News: func(ctx context.Context, n int) ([]portal.Teaser, error) {
			if c.news.Service == nil {
				return nil, nil
			}
			items, err := c.news.Service.Latest(ctx, n)
			out := make([]portal.Teaser, 0, len(items))
			for _, it := range items {
				out = append(out, portal.Teaser{Title: it.Title, Summary: it.Summary, Href: it.Path(), Meta: it.CategoryTitle(), Date: it.PublishAt.In(hours.Rome)})
			}
			return out, err
		},
		Events: func(ctx context.Context, now time.Time, n int) ([]portal.Event, error) {
			events, err := c.content.Upcoming(ctx, now, n)
			out := make([]portal.Event, 0, len(events))
			for _, e := range events {
				// The home page's calendar is in Italian: titles keep the
				// town's own words, marked as such.
				ev := portal.Event{Title: e.Title.IT, Summary: e.Summary.IT, Href: e.Path(), TitleLang: "it", Start: e.Start(), End: e.End()}
				if e.Place != nil {
					ev.Place = e.Place.Title.IT
				}
				out = append(out, ev)
			}
			return out, err
		},
		Featured: func(ctx context.Context) ([]portal.Teaser, []taxonomy.Term, error) {
			ids, slugs, err := c.content.Featured(ctx)
			if err != nil {
				return nil, nil, err
			}
			var services []portal.Teaser
			if len(ids) > 0 {
				cat, err := c.catalog.Store.Get(ctx)
				if err != nil {
					return nil, nil, err
				}
				for _, id := range ids {
					if s, ok := cat.Service(id); ok {
						services = append(services, portal.Teaser{Title: s.Title, Summary: s.Summary, Href: "/servizi/" + s.Category + "/" + s.ID})
					}
				}
			}
			var topics []taxonomy.Term
			for _, slug := range slugs {
				if t, ok := taxonomy.Find(taxonomy.Topics, slug); ok {
					topics = append(topics, t)
				}
			}
			return services, topics, nil
		},
		Version: func(ctx context.Context) string {
			cat, err := c.catalog.Store.Get(ctx)
			if err != nil {
				return "" // no version: nothing shared
			}
			return strconv.FormatInt(cat.Version, 10)
		},
	}
}

// topicServices lists the catalogue's services on a topic's page.
func topicServices(c *catalog.Store) func(ctx context.Context, topic string) ([]portal.TopicItem, error) {
	return func(ctx context.Context, topic string) ([]portal.TopicItem, error) {
		cat, err := c.Get(ctx)
		if err != nil {
			return nil, err
		}
		list := cat.About(topic)
		out := make([]portal.TopicItem, len(list))
		for i, s := range list {
			term, _ := taxonomy.Find(taxonomy.ServiceCategories, s.Category)
			out[i] = portal.TopicItem{Href: "/servizi/" + s.Category + "/" + s.ID, Title: s.Title, Summary: s.Summary, Kind: term.Title}
		}
		return out, nil
	}
}

// topicNews lists the published news on a topic's page.
func topicNews(m *news.Module) func(ctx context.Context, topic string, page, perPage int) ([]portal.TopicItem, int, error) {
	return func(ctx context.Context, topic string, page, perPage int) ([]portal.TopicItem, int, error) {
		items, total, err := m.Service.ByTopic(ctx, topic, page, perPage)
		if err != nil {
			return nil, 0, err
		}
		out := make([]portal.TopicItem, len(items))
		for i, it := range items {
			out[i] = portal.TopicItem{Href: it.Path(), Title: it.Title, Summary: it.Summary, Kind: it.CategoryTitle(), Date: it.Date(), DateTime: it.DateTime()}
		}
		return out, total, nil
	}
}

// dashboardModule hands the dashboard each feature's figures, in the
// dashboard's words: identity's registrations and active residents, the
// cards' PINs handed out, the Sportello's applications by channel and
// those open, the payments by channel, the queue's waits, the appointments' waits
// by the booker's sex; the catalogue names the services and gives
// their weekly hours.
func (c *civico) dashboardModule() *dashboard.Module {
	return &dashboard.Module{
		Sources: []dashboard.Source{
			{Figure: dashboard.Registrations, Events: func(ctx context.Context, from, to time.Time) ([]dashboard.Event, error) {
				list, err := c.identity.Registrations(ctx, from, to)
				out := make([]dashboard.Event, len(list))
				for i, r := range list {
					out[i] = dashboard.Event{At: r.At, Key: r.Method, Sex: r.Sex}
				}
				return out, err
			}},
			{Figure: dashboard.PINs, Events: func(ctx context.Context, from, to time.Time) ([]dashboard.Event, error) {
				list, err := c.cards.Svc.PINs(ctx, from, to)
				out := make([]dashboard.Event, len(list))
				for i, p := range list {
					out[i] = dashboard.Event{At: p.At, Sex: p.Sex}
				}
				return out, err
			}},
			{Figure: dashboard.Applications, Events: func(ctx context.Context, from, to time.Time) ([]dashboard.Event, error) {
				list, err := c.sportello.Store.Registered(ctx, from, to)
				out := make([]dashboard.Event, len(list))
				for i, r := range list {
					out[i] = dashboard.Event{At: r.At, Key: r.Service + ":" + r.Channel, Sex: r.Sex}
				}
				return out, err
			}},
			{Figure: dashboard.Payments, Events: func(ctx context.Context, from, to time.Time) ([]dashboard.Event, error) {
				if c.payments.Service == nil {
					return nil, nil
				}
				list, err := c.payments.Service.Receipts(ctx, from, to)
				out := make([]dashboard.Event, len(list))
				for i, p := range list {
					out[i] = dashboard.Event{At: p.At, Key: p.Category + ":" + p.Channel, Sex: p.Sex}
				}
				return out, err
			}},
			{Figure: dashboard.QueueWaits, Events: func(ctx context.Context, from, to time.Time) ([]dashboard.Event, error) {
				list, err := c.booking.Store.Served(ctx, from, to)
				out := make([]dashboard.Event, len(list))
				for i, t := range list {
					out[i] = dashboard.Event{At: t.At, Key: t.Service + ":" + dashboard.WaitBucket(t.Wait), Sex: t.Sex}
				}
				return out, err
			}},
			{Figure: dashboard.AppointmentWaits, Events: func(ctx context.Context, from, to time.Time) ([]dashboard.Event, error) {
				list, err := c.booking.Store.Kept(ctx, from, to)
				out := make([]dashboard.Event, len(list))
				for i, a := range list {
					out[i] = dashboard.Event{At: a.At, Key: a.Service + ":" + dashboard.DaysBucket(a.Days), Sex: a.Sex}
				}
				return out, err
			}},
		},
		Gauges: []dashboard.Gauge{
			{Figure: dashboard.Active30, Levels: activeSince(c, 30)},
			{Figure: dashboard.Active90, Levels: activeSince(c, 90)},
			{Figure: dashboard.Open, Levels: func(ctx context.Context, now time.Time) ([]dashboard.Level, error) {
				list, err := c.sportello.Store.States(ctx, now)
				out := make([]dashboard.Level, len(list))
				for i, s := range list {
					out[i] = dashboard.Level{Key: s.State, Sex: s.Sex, N: s.N, Late: s.Late}
				}
				return out, err
			}},
		},
		// The regular week of the measure's week, from its Monday.
		Reach: func(ctx context.Context, now time.Time) ([]dashboard.Reach, error) {
			cat, err := c.catalog.Store.Get(ctx)
			if err != nil {
				return nil, err
			}
			today := hours.DateOf(now)
			list := cat.Reach(today.AddDays(-((int(today.Weekday()) + 6) % 7)))
			out := make([]dashboard.Reach, len(list))
			for i, r := range list {
				out[i] = dashboard.Reach{Service: r.Service, Total: r.Total, Outside: r.Outside}
			}
			return out, nil
		},
		Names: func(ctx context.Context) (map[string]string, error) {
			cat, err := c.catalog.Store.Get(ctx)
			if err != nil {
				return nil, err
			}
			out := make(map[string]string, len(cat.Services))
			for _, s := range cat.Services {
				out[s.ID] = s.Title
			}
			return out, nil
		},
	}
}

// activeSince counts the residents who logged in in the last days.
func activeSince(c *civico, days int) func(ctx context.Context, now time.Time) ([]dashboard.Level, error) {
	return func(ctx context.Context, now time.Time) ([]dashboard.Level, error) {
		by, err := c.identity.ActiveBySex(ctx, now.AddDate(0, 0, -days))
		out := make([]dashboard.Level, 0, len(by))
		for sex, n := range by {
			out = append(out, dashboard.Level{Sex: sex, N: n})
		}
		return out, err
	}
}
