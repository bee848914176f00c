package catalog_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

func TestDemoCatalog(t *testing.T) {
	c, err := catalog.Demo()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Offices) < 8 || len(c.Services) < 40 {
		t.Errorf("demo catalogue: %d offices, %d services", len(c.Offices), len(c.Services))
	}
	cats := map[string]bool{}
	for _, s := range c.Services {
		cats[s.Category] = true
	}
	if len(cats) < 10 {
		t.Errorf("services in %d categories", len(cats))
	}
	// Some offices open in the evening or on Saturday: commuters can reach them.
	evening, saturday := 0, 0
	wed := time.Date(2026, 11, 25, 18, 30, 0, 0, hours.Rome)
	sat := time.Date(2026, 11, 28, 10, 0, 0, 0, hours.Rome)
	for _, o := range c.Offices {
		if o.Hours.OpenAt(wed) {
			evening++
		}
		if o.Hours.OpenAt(sat) {
			saturday++
		}
	}
	if evening == 0 || saturday == 0 {
		t.Errorf("%d offices open on Wednesday evening, %d on Saturday morning", evening, saturday)
	}
	christmas := time.Date(2026, 12, 25, 10, 0, 0, 0, hours.Rome)
	for _, o := range c.Offices {
		if o.Hours.OpenAt(christmas) {
			t.Errorf("%s is open on Christmas morning", o.ID)
		}
	}
}

func TestValidationNamesTheField(t *testing.T) {
	base := func() string {
		return `{"offices": [{"id": "urp", "name": "URP", "description": "Informazioni", "address": "Via XXV Aprile 4", "postal_code": "20092", "lat": 45.5, "lon": 9.2,
			"phone": "02 660231", "email": "", "accessibility": "", "hours": {"week": {"monday": ["09:00-12:00"]}}}],
		"services": [{"id": "cie", "category": "anagrafe-e-stato-civile", "title": "Carta d'identità", "status": "active", "status_reason": "",
			"summary": "La carta", "audience": "Tutti", "how_to": "Prenota", "needed": "Foto", "outcome": "La carta", "deadlines": "6 giorni",
			"max_days": 10, "online_url": "", "assurance": "", "channel": "desk", "fees": "", "conditions": "Nessuna", "topics": ["anagrafe"],
			"audiences": ["cittadini"], "offices": ["urp"]}]}`
	}
	if _, err := catalog.ParseJSON([]byte(base()), hours.Holidays{}); err != nil {
		t.Fatalf("valid catalogue: %v", err)
	}
	tests := []struct{ from, to, field string }{
		{`"category": "anagrafe-e-stato-civile"`, `"category": "burocrazia"`, "services[0].category"},
		{`"offices": ["urp"]}]}`, `"offices": ["nessuno"]}]}`, "services[0].offices"},
		{`"topics": ["anagrafe"]`, `"topics": ["gatti"]`, "services[0].topics"},
		{`"status": "active"`, `"status": "suspended"`, "services[0].status_reason"},
		{`"how_to": "Prenota"`, `"how_to": ""`, "services[0].how_to"},
		{`"channel": "desk"`, `"channel": "fax"`, "services[0].channel"},
		// A service that claims to be online says where.
		{`"channel": "desk"`, `"channel": "online"`, "services[0].online_url"},
		{`"channel": "desk"`, `"channel": "both"`, "services[0].online_url"},
		{`"online_url": "", "assurance": "", "channel": "desk"`, `"online_url": "   ", "assurance": "", "channel": "both"`, "services[0].online_url"},
		{`"online_url": ""`, `"online_url": "http://example.org/"`, "services[0].online_url"},
		{`"monday": ["09:00-12:00"]`, `"monday": ["09:00-12:00", "11:00-13:00"]`, "offices[0].hours.week.monday"},
		{`"id": "urp"`, `"id": "URP!"`, "offices[0].id"},
	}
	for _, tt := range tests {
		_, err := catalog.ParseJSON([]byte(strings.Replace(base(), tt.from, tt.to, 1)), hours.Holidays{})
		var fe *catalog.FieldError
		if !errors.As(err, &fe) || fe.Path != tt.field {
			t.Errorf("%s: %v, want an error naming %s", tt.to, err, tt.field)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := catalog.NewStore(d, time.Minute)
		if empty, err := s.Empty(ctx); err != nil || !empty {
			t.Fatalf("new store: empty %v, %v", empty, err)
		}
		demo, err := catalog.Demo()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Import(ctx, demo); err != nil {
			t.Fatal(err)
		}
		got, err := catalog.NewStore(d, time.Minute).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Offices) != len(demo.Offices) || len(got.Services) != len(demo.Services) {
			t.Fatalf("read back %d offices, %d services", len(got.Offices), len(got.Services))
		}
		for _, want := range demo.Services {
			s, ok := got.Service(want.ID)
			if !ok || s.HowTo != want.HowTo || strings.Join(s.Offices, ",") != strings.Join(want.Offices, ",") || strings.Join(s.Topics, ",") != strings.Join(want.Topics, ",") {
				t.Errorf("service %s read back differently", want.ID)
			}
		}
		for _, want := range demo.Offices {
			o, ok := got.Office(want.ID)
			at := time.Date(2026, 11, 25, 18, 30, 0, 0, hours.Rome)
			if !ok || o.Hours.OpenAt(at) != want.Hours.OpenAt(at) {
				t.Errorf("office %s read back differently", want.ID)
			}
		}
	})
}

func BenchmarkCatalogGet(b *testing.B) {
	d := dbtest.SQLite(b)
	s := catalog.NewStore(d, 0)
	demo, _ := catalog.Demo()
	if err := s.Import(context.Background(), demo); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Get(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSearchInItalian(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := catalog.NewStore(d, time.Minute)
		demo, _ := catalog.Demo()
		if err := s.Import(ctx, demo); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"carta d'identità", "Carta identita", "certificati", "mensa scolastica"} {
			ids, err := s.Search(ctx, q)
			if err != nil || len(ids) == 0 {
				t.Errorf("Search(%q) = %v, %v", q, ids, err)
			}
		}
		ids, _ := s.Search(ctx, "carta d'identità elettronica")
		if len(ids) == 0 || ids[0] != "carta-identita-elettronica" {
			t.Errorf("the CIE is not the first result: %v", ids)
		}
		for _, q := range []string{"", "  ", `" OR 1=1 --`, "NEAR(", strings.Repeat("a", 5000)} {
			if _, err := s.Search(ctx, q); err != nil {
				t.Errorf("Search(%q): %v", q, err)
			}
		}
		if ids, _ := s.Search(ctx, "zzzzqqq"); len(ids) != 0 {
			t.Errorf("nonsense found %v", ids)
		}
	})
}

// A catalogue stored before services online needed an address still
// loads: the migration that brought the rule gives them their own
// instructions.
func TestStoredOnlineServiceWithoutAddressLoads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		demo, err := catalog.Demo()
		if err != nil {
			t.Fatal(err)
		}
		if err := catalog.NewStore(d, 0).Import(ctx, demo); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`UPDATE services SET online_url = '' WHERE id = 'iscrizione-mensa-scolastica'`,
			`DELETE FROM schema_migrations WHERE version = 21`} {
			if _, err := d.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Migrate(ctx, dbtest.Schema(t)); err != nil {
			t.Fatal(err)
		}
		c, err := catalog.NewStore(d, 0).Get(ctx)
		if err != nil {
			t.Fatalf("the stored catalogue does not load: %v", err)
		}
		s, _ := c.Service("iscrizione-mensa-scolastica")
		if want := "/servizi/educazione-e-formazione/iscrizione-mensa-scolastica#come-fare"; s.OnlineURL != want {
			t.Errorf("online address %q, want %q", s.OnlineURL, want)
		}
	})
}

// searchTable is what residents type and what they must find: other forms
// of a word (multa finds Multe, tempi finds tempo), words cut short as they
// are typed, and stop words that do not count.
var searchTable = []struct {
	q    string
	want []string // among the results
	none bool     // no result at all
}{
	{q: "multa", want: []string{"multe-pagamento-ricorsi", "pagamenti-pagopa"}},
	{q: "multe", want: []string{"multe-pagamento-ricorsi"}},
	{q: "tempi", want: []string{"matrimonio-civile", "iscrizione-mensa-scolastica", "iscrizione-nidi-comunali", "permesso-sosta-residenti"}},
	{q: "tempo", want: []string{"matrimonio-civile", "permesso-sosta-residenti"}},
	{q: "certificato", want: []string{"certificati-anagrafici", "certificato-destinazione-urbanistica"}},
	{q: "anagraf", want: []string{"certificati-anagrafici"}},
	{q: "anagr", want: []string{"certificati-anagrafici"}},
	{q: "iscriz mens", want: []string{"iscrizione-mensa-scolastica"}},
	{q: "ingombrante", want: []string{"ritiro-ingombranti"}},
	{q: "rifiuto", want: []string{"tari", "ritiro-ingombranti", "segnalazione-abbandono-rifiuti"}},
	{q: "scrutatore", want: []string{"albo-scrutatori"}},
	{q: "carta di identità", want: []string{"carta-identita-elettronica"}},
	{q: "Carta identita", want: []string{"carta-identita-elettronica"}},
	{q: "iscriversi alla mensa", want: []string{"iscrizione-mensa-scolastica"}},
	{q: "zzzzqqq", none: true},
	{q: "di la per", none: true},
}

func searchDemo(t testing.TB, d *db.DB) *catalog.Store {
	t.Helper()
	s := catalog.NewStore(d, time.Minute)
	demo, _ := catalog.Demo()
	if err := s.Import(context.Background(), demo); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSearchFindsItalianWordForms(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := searchDemo(t, d)
		for _, c := range searchTable {
			ids, err := s.Search(context.Background(), c.q)
			if err != nil {
				t.Fatalf("Search(%q): %v", c.q, err)
			}
			if c.none && len(ids) > 0 {
				t.Errorf("Search(%q) = %v, want nothing", c.q, ids)
			}
			for _, w := range c.want {
				if !slices.Contains(ids, w) {
					t.Errorf("Search(%q) = %v, lacks %s", c.q, ids, w)
				}
			}
		}
	})
}

// Both engines find the same services for every query of the table.
func TestSearchIsTheSameOnBothEngines(t *testing.T) {
	lite, pg := searchDemo(t, dbtest.SQLite(t)), searchDemo(t, dbtest.Postgres(t))
	for _, c := range searchTable {
		a, err1 := lite.Search(context.Background(), c.q)
		b, err2 := pg.Search(context.Background(), c.q)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("Search(%q): SQLite %v, PostgreSQL %v", c.q, a, b)
		}
	}
}

// A SQLite index written before words were stemmed is emptied by a
// migration and written anew by Reindex; a full index is left alone.
func TestReindexWritesAnEmptiedIndex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := searchDemo(t, d)
		if d.Dialect == db.SQLite {
			if _, err := d.ExecContext(ctx, `DELETE FROM services_fts`); err != nil {
				t.Fatal(err)
			}
			if ids, _ := s.Search(ctx, "multa"); len(ids) != 0 {
				t.Fatalf("emptied index finds %v", ids)
			}
		}
		if err := s.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
		ids, err := s.Search(ctx, "multa")
		if err != nil || !slices.Contains(ids, "multe-pagamento-ricorsi") {
			t.Fatalf("Search(multa) after Reindex = %v, %v", ids, err)
		}
	})
}

// BenchmarkSearch is a resident's query of three words, one cut short, on
// the demo catalogue (stems and prefixes), on each engine.
func BenchmarkSearch(b *testing.B) {
	for _, e := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		b.Run(e.name, func(b *testing.B) {
			s := searchDemo(b, e.open(b))
			for b.Loop() {
				if ids, err := s.Search(context.Background(), "iscrizione alla mens"); err != nil || len(ids) == 0 {
					b.Fatal(ids, err)
				}
			}
		})
	}
}
