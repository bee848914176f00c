package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/booking"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/content"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/forms"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/news"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/partecipa"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/schools"
	"github.com/civico-pa/civico/internal/spid/spidtest"
	"github.com/civico-pa/civico/internal/sportello"
	"github.com/civico-pa/civico/internal/timeuse"
	"github.com/civico-pa/civico/internal/town"

	"software.sslmate.com/src/go-pkcs12"
)

// The demo town's people. Their addresses are under .invalid: nothing is
// ever delivered to them.
type demoPerson struct {
	first15, given, family, email string
	password                      bool // has a password account
	card                          bool // has a smart card
	operator                      []string
	district                      string // the district of residence; "" for a non-resident
	// What the register states for certificates: the birthplace as it
	// writes it ("" when the demo does not say), the address, and the
	// household's other members.
	birthPlace, address string
	household           []demoMember
}

// demoMember is someone who lives with a demo person: in the register,
// without an account.
type demoMember struct {
	given, family, sex, birth, place, placeName, relation string
}

var demoPeople = []demoPerson{
	{first15: "RSSMRA85T10A562", given: "Mario", family: "Rossi", email: "mario.rossi@demo.civico.invalid", password: true, district: "Crocetta"},
	{first15: "CLMNNA82M62F205", given: "Anna", family: "Colombo", email: "anna.colombo@demo.civico.invalid", password: true},
	{first15: "BNCGLI90A41F205", given: "Giulia", family: "Bianchi", email: "giulia.bianchi@demo.civico.invalid", password: true, card: true, district: "Centro",
		birthPlace: "Milano (MI)", address: "Via Frova 14"},
	{first15: "FRRLCU78H15C707", given: "Luca", family: "Ferrari", card: true, district: "Sant'Eusebio", birthPlace: "Cinisello Balsamo (MI)", address: "Via Monte Ortigara 31",
		household: []demoMember{{"Elena", "Marchetti", "F", "1981-03-22", "F205", "Milano (MI)", "coniuge"}, {"Sofia", "Ferrari", "F", "2012-09-05", "C707", "Cinisello Balsamo (MI)", "figlia"}}},
	{first15: "SPSPLA75C50C707", given: "Paola", family: "Esposito", email: "paola.esposito@demo.civico.invalid", card: true, operator: []string{"admin", "urp", "participation", "participation_desk"}, district: "Balsamo",
		birthPlace: "Cinisello Balsamo (MI)", address: "Via Sardegna 7"},
	{first15: "GLLMRC80A01F205", given: "Marco", family: "Galli", email: "marco.galli@demo.civico.invalid", operator: []string{"desk"}},
}

// Demo passwords: printed at every start, they are not secrets.
const (
	demoResidentPassword = "Tram-Sesto-alle-7"       // #nosec G101 -- a demo password, printed at every start and in the README
	demoOperatorPassword = "Sportello-URP-demo-2026" // #nosec G101 -- a demo password, printed at every start and in the README
)

// demoLogins is filled by prepareDemo with what the demo prints.
var demoLogins string

// demoAddrs fills in the demo's own listeners, before anything is opened:
// the portal over TLS for smart-card login (CIVICO_TLS_ADDR, by default
// 127.0.0.1:8443) and the metrics (CIVICO_METRICS_ADDR, by default
// 127.0.0.1:8082).
func (c *config) demoAddrs() {
	if c.TLSAddr == "" {
		c.TLSAddr = demoTLSAddr(c.Addr)
	}
	if c.MetricsAddr == "" {
		c.MetricsAddr = demoMetricsAddr(c.Addr)
	}
}

// prepareDemo fills an empty database with the demo town and its people,
// creates the test card authority and the demo cards, and turns smart-card
// login on (on CIVICO_TLS_ADDR, see demoAddrs). Run again, it reuses all
// of it.
func prepareDemo(ctx context.Context, cfg *config, d *db.DB, towns *town.Store) error {
	if err := ensureDemo(ctx, towns); err != nil {
		return err
	}
	if err := ensureDemoCatalog(ctx, d); err != nil {
		return err
	}
	if err := ensureDemoContent(ctx, d, time.Now()); err != nil {
		return err
	}
	if err := ensureDemoNews(ctx, d); err != nil {
		return err
	}
	if err := ensureDemoForms(ctx, d, towns, cfg.DataDir); err != nil {
		return err
	}
	if err := ensureDemoOnlineForms(ctx, d); err != nil {
		return err
	}
	if err := ensureDemoRegister(ctx, d); err != nil {
		return err
	}
	if err := (&booking.Store{DB: d}).SeedDemo(ctx); err != nil {
		return err
	}
	if err := (&schools.Store{DB: d}).SeedDemo(ctx, time.Now()); err != nil {
		return err
	}
	// Synthetic time-use respondents, marked as such, for the analysis.
	if err := (&timeuse.Store{DB: d}).SeedDemo(ctx); err != nil {
		return err
	}
	// Ten years and more of registrations and PINs, and the appointments
	// since 2022, for the dashboard.
	if _, _, err := ensureDemoHistory(ctx, d, time.Now()); err != nil {
		return err
	}
	if _, err := ensureDemoAppointments(ctx, d, time.Now()); err != nil {
		return err
	}
	// A few proposals on Partecipa, one answered and one discussed.
	if err := (&partecipa.Store{DB: d, Audit: &audit.Log{DB: d}}).SeedDemo(ctx); err != nil {
		return err
	}
	caDir := filepath.Join(cfg.DataDir, "ca")
	ca, err := cardca.Open(caDir)
	if err != nil {
		if ca, err = cardca.Init(caDir, time.Now()); err != nil {
			return fmt.Errorf("demo card authority: %w", err)
		}
	}
	files := ca.Files()
	if cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" {
		cfg.TLSCertFile, cfg.TLSKeyFile = files.ServerCert, files.ServerKey
	}
	if cfg.CRSCAFile == "" {
		cfg.CRSCAFile, cfg.CRSCRLFile = files.CA, files.CRL
	}
	if cfg.SecretKey == "" {
		secret, err := demoSecret(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("demo secret key: %w", err)
		}
		cfg.SecretKey = secret
	}
	if err := cfg.checkLogin(); err != nil {
		return err
	}
	if cfg.Payments.Segregation == "" {
		cfg.Payments.Segregation = demoSegregation
	}
	if cfg.Payments.Gateway == "" {
		cfg.Payments.Gateway = "sandbox"
	}
	if err := ensureDemoPayments(ctx, *cfg, d, towns); err != nil {
		return err
	}

	svc := newIdentityService(*cfg, d, towns, nil)
	var out strings.Builder
	fmt.Fprintf(&out, "\nDemo logins (smart-card authority: %s)\n", caDir)
	cardDir := filepath.Join(caDir, "cards")
	for _, p := range demoPeople {
		code, err := cf.Complete(p.first15)
		if err != nil {
			return fmt.Errorf("demo person %s %s: %w", p.given, p.family, err)
		}
		if err := ensureDemoAccount(ctx, svc, p, string(code)); err != nil {
			return err
		}
		if err := ensureDemoWelcome(ctx, d, svc, p); err != nil {
			return err
		}
		if p.district != "" {
			if err := ensureDemoResident(ctx, d, p, code); err != nil {
				return err
			}
		}
		fmt.Fprintf(&out, "  %s %s (%s)", p.given, p.family, code)
		if len(p.operator) > 0 {
			fmt.Fprintf(&out, ", operator [%s]", strings.Join(p.operator, ", "))
		}
		fmt.Fprintln(&out)
		if p.email != "" {
			pw := demoResidentPassword
			if len(p.operator) > 0 {
				pw = demoOperatorPassword + "  (then set up an authenticator app: TOTP)"
			}
			fmt.Fprintf(&out, "    password login: %s / %s\n", p.email, pw)
		}
		if p.card {
			base := strings.ToLower(p.given + "-" + p.family)
			cf, err := ensureDemoCard(ca, cardDir, base, p, string(code))
			if err != nil {
				return err
			}
			fmt.Fprintf(&out, "    smart card: %s (browser, password %q)\n", cf.P12, cardPassword)
			// The login sets the session cookie in the jar; the next request uses it.
			jar := filepath.Join(cardDir, base+".cookies")
			fmt.Fprintf(&out, "      curl --cacert %s --cert %s --key %s -c %s %s/login/crs\n", files.CA, cf.Cert, cf.Key, jar, cfg.TLSBaseURL)
			fmt.Fprintf(&out, "      curl --cacert %s -b %s %s/api/v1/me\n", files.CA, jar, cfg.TLSBaseURL)
		}
	}
	fmt.Fprintf(&out, "  The TLS certificate of %s is issued by the demo authority: trust %s, or accept the browser's warning.\n",
		cfg.TLSBaseURL, files.CA)
	cardsNote, err := ensureDemoCards(ctx, cfg, d, cardDir)
	if err != nil {
		return fmt.Errorf("demo cards: %w", err)
	}
	out.WriteString(cardsNote)
	sso, err := demoSSO(ctx, cfg, d)
	if err != nil {
		return err
	}
	out.WriteString(sso)
	demoLogins = out.String()
	return nil
}

// demoExampleClient is a third-party application registered by the demo,
// to try single sign-on with an outside client (its consent page included).
const demoExampleClient = "esempio-biblioteca"

// demoSSO registers the example application and says how to try single
// sign-on; Partecipa registers itself at every start.
func demoSSO(ctx context.Context, cfg *config, d *db.DB) (string, error) {
	secret, err := oidcop.NewSecret([]byte(cfg.SecretKey))
	if err != nil {
		return "", err
	}
	redirect := "http://127.0.0.1:5556/callback"
	clientSecret := secret.ClientSecret(demoExampleClient)
	err = (&oidcop.Clients{DB: d}).Upsert(ctx, oidcop.NewClient{ID: demoExampleClient, Name: "Biblioteca civica (applicazione di esempio)",
		RedirectURIs: []string{redirect}, Scopes: []string{"openid", "profile", "email", oidcop.ScopeResidence}, Secret: clientSecret})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nSingle sign-on (OpenID Connect provider %s/.well-known/openid-configuration)\n", cfg.BaseURL)
	fmt.Fprintf(&b, "  Log in on the portal (card or password), then open Partecipa at %s/ and choose Accedi: one click, no second password.\n", cfg.PartecipaBaseURL)
	fmt.Fprintf(&b, "  Logging out of either ends both.\n")
	fmt.Fprintf(&b, "  Example third-party application (asks for consent): client_id %s, client_secret %s, redirect URI %s\n",
		demoExampleClient, clientSecret, redirect)
	fmt.Fprintf(&b, "  Register another: civico oidc client add --name NAME --redirect-uri URI\n")
	return b.String(), nil
}

// ensureDemoAccount creates a demo person's password account (operators
// with the fiscal code an administrator writes, so that their card opens
// it); card holders' accounts are made by their first card login, like
// everyone's. A resident with both has two accounts until they link them
// from the personal area after a card login.
func ensureDemoAccount(ctx context.Context, svc *identity.Service, p demoPerson, code string) error {
	if p.email == "" {
		return nil
	}
	if _, err := svc.Store.ByEmail(ctx, p.email); err == nil {
		return nil
	} else if !errors.Is(err, identity.ErrNotFound) {
		return err
	}
	if len(p.operator) > 0 {
		_, err := svc.CreateOperator(ctx, identity.NewOperator{Email: p.email, FiscalCode: code, GivenName: p.given, FamilyName: p.family, Roles: p.operator},
			demoOperatorPassword, "demo")
		return err
	}
	if !p.password {
		return nil // created at the first card login
	}
	_, err := svc.ImportResident(ctx, identity.NewResident{Email: p.email, Password: demoResidentPassword,
		GivenName: p.given, FamilyName: p.family, Lang: "it"}, "demo")
	return err
}

// ensureDemoWelcome puts a message from the town in the personal area of a
// demo resident with a password account whose inbox is empty, so that the
// demo's Messaggi tab shows one (without a mail: the demo prints mail).
func ensureDemoWelcome(ctx context.Context, d *db.DB, svc *identity.Service, p demoPerson) error {
	if p.email == "" || !p.password || len(p.operator) > 0 {
		return nil
	}
	a, err := svc.Store.ByEmail(ctx, p.email)
	if err != nil {
		return err
	}
	inbox := &area.Inbox{DB: d}
	if total, _, err := inbox.Counts(ctx, a.ID); err != nil || total > 0 {
		return err
	}
	return d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := inbox.Post(ctx, tx, a.ID, area.Message{Sender: "area", Category: "area.category.town", Public: true,
			Subject: "Benvenuta, benvenuto nell'area personale",
			Body: "Qui il Comune ti scrive: le ricevute delle tue domande, le richieste di integrazione, le scadenze dei pagamenti.\n\n" +
				"Nella Scrivania trovi ciò che aspetta una tua azione; in Servizi, quelli che puoi richiedere online.",
			Link: area.Home + "/servizi"})
		return err
	})
}

func ensureDemoCard(ca *cardca.Authority, dir, base string, p demoPerson, code string) (cardca.CardFiles, error) {
	files := cardca.CardFiles{Cert: filepath.Join(dir, base+".pem"), Key: filepath.Join(dir, base+".key"), P12: filepath.Join(dir, base+".p12")}
	if p12, err := os.ReadFile(files.P12); err == nil {
		if _, _, _, err := pkcs12.DecodeChain(p12, cardPassword); err == nil {
			return files, nil
		}
		// Made with another password (civico's demo used "demo"): made
		// anew, so the password printed opens it.
		for _, f := range []string{files.Cert, files.Key, files.P12} {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return files, err
			}
		}
	}
	card, err := ca.IssueCard(cardca.CardRequest{FiscalCode: code, GivenName: strings.ToUpper(p.given), FamilyName: strings.ToUpper(p.family),
		NotAfter: time.Now().AddDate(3, 0, 0)})
	if err != nil {
		return files, fmt.Errorf("demo card of %s %s: %w", p.given, p.family, err)
	}
	return card.WriteFiles(dir, base, cardPassword)
}

// demoTLSAddr is where the demo serves the portal over TLS when
// CIVICO_TLS_ADDR is not set: the portal's host, its port + 363 (8080 ->
// 8443), so that several demos on one machine do not collide.
func demoTLSAddr(portal string) string {
	host, port, err := net.SplitHostPort(portal)
	if err != nil {
		return "127.0.0.1:8443"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n == 0 || n+363 > 65535 {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, strconv.Itoa(n+363))
}

// demoMetricsAddr is where the demo serves its metrics when
// CIVICO_METRICS_ADDR is not set: always on the loopback interface, whatever
// the portal's host, at the portal's port + 2 (8080 -> 8082).
func demoMetricsAddr(portal string) string {
	_, port, err := net.SplitHostPort(portal)
	if err != nil {
		return "127.0.0.1:8082"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n == 0 || n+2 > 65535 {
		return "127.0.0.1:0"
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(n+2))
}

// ensureDemoCatalog loads the demo town's offices and services into an
// empty catalogue.
func ensureDemoCatalog(ctx context.Context, d *db.DB) error {
	store := newCatalogStore(d)
	empty, err := store.Empty(ctx)
	if err != nil || !empty {
		return err
	}
	c, err := catalog.Demo()
	if err != nil {
		return err
	}
	return store.Import(ctx, c)
}

// ensureDemoOnlineForms publishes the demo's online forms (six services) for
// the services that have none.
func ensureDemoOnlineForms(ctx context.Context, d *db.DB) error {
	_, err := sportello.NewForms(d, &audit.Log{DB: d}).SeedDemo(ctx)
	return err
}

// ensureDemoContent fills the demo town's places, events, Amministrazione
// and home page choices (internal/content's demo), and dates new events
// from now when none is coming.
func ensureDemoContent(ctx context.Context, d *db.DB, now time.Time) error {
	return (&content.Store{DB: d, Audit: &audit.Log{DB: d}}).EnsureDemo(ctx, now)
}

// demoNews are the demo town's first news items, published by the demo
// when it has none.
var demoNews = []news.Input{
	{Category: "notizie", Title: "Lo sportello polifunzionale apre anche la sera", Topics: []string{"anagrafe", "residenza"},
		Summary: "Il giovedì lo sportello resta aperto fino alle 18.30: carta d'identità, certificati e cambi di residenza anche dopo il lavoro.",
		Body:    "Da questa settimana lo sportello polifunzionale del cittadino resta aperto il giovedì fino alle 18.30.\n\nGli orari di ogni ufficio, con le aperture di oggi e di stasera, sono nella pagina «Dove e quando»."},
	{Category: "avvisi", Title: "Raccolta dei rifiuti nei giorni festivi", Topics: []string{"gestione-rifiuti"},
		Summary: "Nei giorni festivi la raccolta porta a porta si sposta al giorno dopo; la piattaforma ecologica resta chiusa.",
		Body:    "Il calendario completo della raccolta è disponibile all'Ufficio relazioni con il pubblico e nella scheda del servizio."},
	{Category: "comunicati", Title: "Bilancio partecipativo: i progetti dei quartieri su Partecipa", Topics: []string{"bilancio", "comunicazione-istituzionale"},
		Summary: "I cittadini possono leggere e votare online i progetti proposti per i quartieri, con un solo accesso per il portale e per Partecipa.",
		Body:    "La votazione resta aperta quattro settimane. Chi non ha accesso a internet può votare all'URP o nei centri civici."},
}

// ensureDemoNews publishes the demo's news items when there are none.
func ensureDemoNews(ctx context.Context, d *db.DB) error {
	svc := &news.Service{DB: d, Audit: &audit.Log{DB: d}}
	if _, total, err := svc.All(ctx, 1, 1); err != nil || total > 0 {
		return err
	}
	for _, in := range demoNews {
		in.Action = news.ActionPublish
		if _, err := svc.Create(ctx, in, news.Actor{}); err != nil {
			return fmt.Errorf("demo news %q: %w", in.Title, err)
		}
	}
	return nil
}

// ensureDemoForms adds the demo's forms (PDFs made now with fpdf) to the
// services they belong to, when the library has none.
func ensureDemoForms(ctx context.Context, d *db.DB, towns *town.Store, dataDir string) error {
	store := forms.NewStore(d, dataDir, &audit.Log{DB: d}, formServices(newCatalogStore(d)))
	if list, err := store.List(ctx); err != nil || len(list) > 0 {
		return err
	}
	t, err := towns.Get(ctx)
	if err != nil {
		return err
	}
	for _, f := range forms.DemoForms {
		pdf, err := f.PDF(t.FullName(), t.Address+", "+t.PostalCode+" "+t.Name+" ("+t.Province+")")
		if err != nil {
			return fmt.Errorf("demo form %q: %w", f.Title, err)
		}
		st, err := store.Stage(ctx, bytes.NewReader(pdf), f.Filename)
		if err != nil {
			return fmt.Errorf("demo form %q: %w", f.Title, err)
		}
		if _, err := store.Create(ctx, forms.NewForm{ServiceID: f.ServiceID, Title: f.Title, Description: f.Description}, st, forms.Actor{AccountID: "demo"}); err != nil {
			return fmt.Errorf("demo form %q: %w", f.Title, err)
		}
	}
	return nil
}

// demoSyntheticResidents is the size of the demo's invented population
// register (population.Synthetic): made-up people, never anyone's data.
const demoSyntheticResidents = 3000

// demoDistricts are the districts the invented residents live in.
var demoDistricts = []string{"Centro", "Crocetta", "Sant'Eusebio", "Balsamo", "Cornaggia", "Borgomisto"}

// ensureDemoRegister fills the register with the invented residents when
// it holds fewer (a first start; an installation's own import is kept).
func ensureDemoRegister(ctx context.Context, d *db.DB) error {
	r := &population.Register{DB: d}
	n, err := r.Count(ctx)
	if err != nil || n >= demoSyntheticResidents {
		return err
	}
	return r.Put(ctx, population.Synthetic(demoSyntheticResidents, 2026, demoDistricts)...)
}

// ensureDemoResident puts a demo person, and the people they live with,
// in the register.
func ensureDemoResident(ctx context.Context, d *db.DB, p demoPerson, code cf.Code) error {
	birth := code.BirthDate(time.Now()).Format("2006-01-02")
	head := population.Person{FiscalCode: string(code), District: p.district, Sex: code.Sex(), BirthDate: birth,
		FamilyName: p.family, GivenName: p.given, BirthPlace: p.birthPlace, Address: p.address}
	if p.birthPlace != "" {
		head.Citizenship = "italiana"
		head.Household, head.Relation = "D"+string(code)[:11], population.HeadOfHousehold
	}
	people := []population.Person{head}
	for _, m := range p.household {
		born, err := time.Parse("2006-01-02", m.birth)
		if err != nil {
			return err
		}
		mc, err := cf.Make(m.family, m.given, m.sex, born, m.place)
		if err != nil {
			return err
		}
		people = append(people, population.Person{FiscalCode: string(mc), District: p.district, Sex: m.sex, BirthDate: m.birth, FamilyName: m.family,
			GivenName: m.given, BirthPlace: m.placeName, Citizenship: "italiana", Address: p.address, Household: head.Household, Relation: m.relation})
	}
	return (&population.Register{DB: d}).Put(ctx, people...)
}

// prepareDemoSPID puts the demo's TEST SPID provider on the registry, with
// the demo's people as the identities it vouches for.
func prepareDemoSPID(ctx context.Context, a *apps) error {
	var people []spidtest.Person
	for _, p := range demoPeople {
		check, err := cf.CheckChar(p.first15)
		if err != nil {
			return err
		}
		code := p.first15 + string(check)
		parsed, err := cf.Parse(code)
		if err != nil {
			return err
		}
		people = append(people, spidtest.Person{FiscalNumber: "TINIT-" + code, Name: p.given, FamilyName: p.family,
			DateOfBirth: parsed.BirthDate(time.Now()).Format("2006-01-02"), PlaceOfBirth: p.first15[11:15]})
	}
	a.civico.spid.TestPeople = people
	return a.civico.spid.RegisterTestIdP(ctx)
}
