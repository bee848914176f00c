package catalog_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/catalog"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

// failingAudit writes its entry in the transaction, then fails: the
// change it records must not be committed without it.
type failingAudit struct{ log *audit.Log }

var errAudit = errors.New("the audit log is full")

func (f failingAudit) Write(ctx context.Context, tx *sql.Tx, e audit.Entry) error {
	if err := f.log.Write(ctx, tx, e); err != nil {
		return err
	}
	return errAudit
}

func demoStore(t *testing.T, d *db.DB) *catalog.Store {
	t.Helper()
	s := catalog.NewStore(d, time.Minute)
	demo, err := catalog.Demo()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Import(context.Background(), demo); err != nil {
		t.Fatal(err)
	}
	return s
}

func newOffice(id string) *catalog.Office {
	return &catalog.Office{ID: id, Name: "Punto prestito Nord", Description: "Prestito dei libri.", Address: "Via Verdi 3", PostalCode: "20092",
		Phone: "02 6602 9999", Spec: hours.Spec{Week: map[string][]string{"tuesday": {"15:00-18:00"}}}}
}

// Every edit and its audit entry are one transaction: when the entry
// cannot be written, the edit is not made; when it is, the entry is there.
func TestEditsAndTheirAuditAreOneTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := demoStore(t, d)
		log := &audit.Log{DB: d}
		broken := catalog.Editor{Audit: failingAudit{log}, Actor: "account:test"}
		c, _ := s.Get(ctx)
		cie, _ := c.Service("carta-identita-elettronica")
		edited := *cie
		edited.Title = "Carta d'identità (CIE)"
		edits := map[string]func(catalog.Editor) error{
			"create office":  func(ed catalog.Editor) error { return s.CreateOffice(ctx, ed, newOffice("punto-nord")) },
			"update service": func(ed catalog.Editor) error { v := edited; return s.UpdateService(ctx, ed, &v) },
			"retire service": func(ed catalog.Editor) error { return s.SetServiceRetired(ctx, ed, "carta-identita-elettronica", true) },
			"delete office":  func(ed catalog.Editor) error { return s.DeleteOffice(ctx, ed, "punto-nord") },
		}
		for _, name := range []string{"create office", "update service", "retire service"} {
			if err := edits[name](broken); !errors.Is(err, errAudit) {
				t.Fatalf("%s with a failing audit log: %v", name, err)
			}
		}
		c, err := s.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.AnyOffice("punto-nord"); ok {
			t.Error("the office was created without its audit entry")
		}
		if v, ok := c.Service("carta-identita-elettronica"); !ok || v.Title != "Carta d'identità elettronica" || v.Version != 1 {
			t.Errorf("the service was changed or retired without its audit entry: %+v", v)
		}
		if recs, _ := log.List(ctx, audit.ListFilter{Actor: "account:test"}); len(recs) != 0 {
			t.Errorf("%d audit entries of edits that were not made", len(recs))
		}
		good := catalog.Editor{Audit: log, Actor: "account:test"}
		for _, name := range []string{"create office", "update service", "retire service", "delete office"} {
			if err := edits[name](good); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		recs, _ := log.List(ctx, audit.ListFilter{Actor: "account:test"})
		if len(recs) != 4 {
			t.Errorf("%d audit entries for 4 edits", len(recs))
		}
		for _, r := range recs {
			if r.Action == "catalog.service.updated" && r.Details["changed"] != "title" {
				t.Errorf("the update's entry says %q changed, want title", r.Details["changed"])
			}
		}
	})
}

func TestFieldRules(t *testing.T) {
	phones := map[string]bool{"02 660231": true, "02 6602 1234": true, "+39 02 660231": true, "333 123 4567": true, "800 123 456": true,
		"+44 20 7946 0958": true, "<b>": false, "123": false, "02 660231 <b>": false, "tel:02660231": false, "+0 123 4567 89": false,
		"12345678": false, "0266023112345": false, "": false, "02--660231": true, " 02 660231": true}
	for p, want := range phones {
		if got := catalog.ValidPhone(p); got != want {
			t.Errorf("ValidPhone(%q) = %v", p, got)
		}
	}
	codes := map[string]bool{"20092": true, "00100": true, "ABC": false, "2009": false, "200921": false, "2009a": false, "": false}
	for c, want := range codes {
		if got := catalog.ValidPostalCode(c); got != want {
			t.Errorf("ValidPostalCode(%q) = %v", c, got)
		}
	}
	urls := map[string]bool{"https://www.anagrafenazionale.interno.it/": true, "/prenota-appuntamento": true, "http://example.it": false,
		"javascript:alert(1)": false, "//evil.example": false, "https://": false, "https:///path": false, "https://localhost": false,
		"/a b": false, `/x"onmouseover=1`: false}
	for u, want := range urls {
		if got := catalog.ValidURL(u); got != want {
			t.Errorf("ValidURL(%q) = %v", u, got)
		}
	}
}
