package sportello

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// TestApplicantName: the queue shows the applicant's name from its own
// column, written with the applicant by every statement that writes it,
// and filled from the JSON by the migration for the applications made
// before it (the same name as Applicant.Name, on both engines).
func TestApplicantName(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		a, o := draft(t, s, 1)
		if _, err := s.Submit(ctx, a.ID, o, "test"); err != nil {
			t.Fatal(err)
		}
		queued := func() string {
			t.Helper()
			list, _, err := s.List(ctx, Filter{Queue: QueueOpen})
			if err != nil || len(list) != 1 {
				t.Fatalf("the queue: %v %v", list, err)
			}
			return list[0].Applicant
		}
		if got := queued(); got != "Mario Rossi1" {
			t.Errorf("the queue shows %q", got)
		}

		// The migration's filling, run again on applicants of every shape.
		text, err := fs.ReadFile(Migrations, "0271_sportello_applicant_name.sql")
		if err != nil {
			t.Fatal(err)
		}
		sqlText, err := db.Translate(string(text), d.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		fill := sqlText[strings.Index(sqlText, "UPDATE"):]
		for _, ap := range []Applicant{
			{GivenName: Attribute{Value: "Ànna Maria"}, FamilyName: Attribute{Value: "D'Àngelo"}},
			{FamilyName: Attribute{Value: "Rossi"}},
			{GivenName: Attribute{Value: "Luca"}},
			{},
			{GivenName: Attribute{Value: `"Zoë" \ Ülker`}, FamilyName: Attribute{Value: "Ng  Wei"}},
			{GivenName: Attribute{Value: "Anna\t"}, FamilyName: Attribute{Value: "Rossi\n"}},
			// A NUL in what the name does not read (jsonb refuses the
			// whole document).
			{GivenName: Attribute{Value: "Luca"}, FamilyName: Attribute{Value: "Neri"}, Address: Attribute{Value: "Via Roma\x001"}},
		} {
			if _, err := d.ExecContext(ctx, `UPDATE sportello_applications SET applicant = $1, applicant_name = 'stale' WHERE id = $2`, mustJSON(ap), a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := d.ExecContext(ctx, fill); err != nil {
				t.Fatalf("the migration's filling: %v", err)
			}
			if got := queued(); got != ap.Name() {
				t.Errorf("filled from %s: %q, want %q", mustJSON(ap), got, ap.Name())
			}
		}
	})
}

// TestApplicantControlCharacters: a control character in any of the
// applicant's data is refused beside its field, at submission and in a
// draft saved half filled alike (PostgreSQL's text refuses a NUL: it was
// a failure of the server, not an error of the form).
func TestApplicantControlCharacters(t *testing.T) {
	ok := Applicant{GivenName: Attribute{Value: "Anna"}, FamilyName: Attribute{Value: "Rossi"}, Email: Attribute{Value: "anna@example.org"},
		Phone: Attribute{Value: "02 1234567"}, Address: Attribute{Value: "Via Roma 1"}}
	if fe := CheckApplicant(ok); fe != nil {
		t.Fatalf("a good applicant: %v", fe)
	}
	for field, set := range map[string]func(*Applicant, string){
		"given_name":  func(a *Applicant, v string) { a.GivenName.Value = v },
		"family_name": func(a *Applicant, v string) { a.FamilyName.Value = v },
		"email":       func(a *Applicant, v string) { a.Email.Value = v },
		"phone":       func(a *Applicant, v string) { a.Phone.Value = v },
		"address":     func(a *Applicant, v string) { a.Address.Value = v },
	} {
		for _, bad := range []string{"Via\x00Roma", "a\x1bb", "riga\nriga", "x\u0085y"} {
			a := ok
			set(&a, bad)
			if fe := CheckApplicant(a); fe[field] == "" {
				t.Errorf("%s %q accepted at submission", field, bad)
			}
			if fe := controlChars(a); len(fe) != 1 || fe[field] != "sportello.error.invalid" {
				t.Errorf("%s %q in a draft: %v", field, bad, fe)
			}
		}
	}
	half := Applicant{GivenName: Attribute{Value: "Anna"}}
	if fe := controlChars(half); fe != nil {
		t.Errorf("a draft half filled: %v", fe)
	}
}
