package town_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/town"
)

func TestDemoProfileIsValid(t *testing.T) {
	p := town.Demo()
	if got, want := p.FullName(), "Comune di Cinisello Balsamo"; got != want {
		t.Errorf("FullName = %q, want %q", got, want)
	}
	if p.CadastralCode != "C707" || p.FiscalCode != "01971350150" {
		t.Errorf("demo identifiers: %+v", p)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(*town.Profile)
	}{
		{"name", func(p *town.Profile) { p.Name = " " }},
		{"province", func(p *town.Profile) { p.Province = "Milano" }},
		{"postal_code", func(p *town.Profile) { p.PostalCode = "2009" }},
		{"cadastral_code", func(p *town.Profile) { p.CadastralCode = "7070" }},
		{"fiscal_code", func(p *town.Profile) { p.FiscalCode = "0197135015X" }},
		{"vat_number", func(p *town.Profile) { p.VATNumber = "123" }},
		{"phone", func(p *town.Profile) { p.Phone = "call us" }},
		{"pec", func(p *town.Profile) { p.PEC = "Comune <x@y.it>" }},
		{"email", func(p *town.Profile) { p.Email = "not-an-address" }},
		{"accessibility_statement_url", func(p *town.Profile) { p.AccessibilityStatementURL = "http://form.agid.gov.it/x" }},
		{"patron_day", func(p *town.Profile) { p.PatronDay = "02-30" }},
	}
	for _, tt := range tests {
		p := town.Demo()
		tt.mutate(&p)
		var fe *town.FieldError
		if err := p.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%s: Validate() = %v, want an error naming the field", tt.field, err)
		}
	}
}

func TestParseJSONRefusesUnknownFields(t *testing.T) {
	if _, err := town.ParseJSON([]byte(`{"name":"X","provnce":"MI"}`)); err == nil {
		t.Error("a misspelt field was accepted")
	}
	if _, err := town.ParseJSON([]byte(`{} {}`)); err == nil {
		t.Error("two documents were accepted")
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := town.NewStore(d, time.Minute)
		if _, err := s.Get(ctx); !errors.Is(err, town.ErrNoProfile) {
			t.Fatalf("Get on an empty database: %v", err)
		}
		p := town.Demo()
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.Phone = "02 000000"
		if err := s.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		// A second process, with nothing cached, reads the latest profile.
		got, err := town.NewStore(d, time.Minute).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != p {
			t.Errorf("stored %+v, read %+v", p, got)
		}
		bad := p
		bad.PostalCode = "x"
		if err := s.Put(ctx, bad); err == nil {
			t.Error("an invalid profile was stored")
		}
		if got, _ := town.NewStore(d, time.Minute).Get(ctx); got != p {
			t.Error("a refused profile changed the stored one")
		}
	})
}

// BenchmarkStoreGet is what the profile cache saves: every page asks for
// the profile once (web.App.NewPage), on SQLite and on PostgreSQL, kept as
// civico keeps it (30 s) or read at every Get (ttl 0).
func BenchmarkStoreGet(b *testing.B) {
	for _, engine := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.SQLite}, {"postgres", dbtest.Postgres}} {
		for _, ttl := range []time.Duration{30 * time.Second, 0} {
			b.Run(engine.name+"/ttl="+ttl.String(), func(b *testing.B) {
				d := engine.open(b)
				s := town.NewStore(d, ttl)
				ctx := context.Background()
				if err := s.Put(ctx, town.Demo()); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Get(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
