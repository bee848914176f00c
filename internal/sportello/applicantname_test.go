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
