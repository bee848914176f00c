package sportello

import (
	"context"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	tokens "github.com/civico-pa/civico/internal/token"
)

// What the dashboard reads of the applications: one registered at the
// counter is in the window of its registration, by channel and the
// applicant's sex, and open in its state; late once past its due day.
func TestFiguresForTheDashboard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTestStore(t, d)
		ctx := context.Background()
		before := time.Now().Add(-time.Minute)
		a, err := s.RegisterCounter(ctx, CounterApplication{ServiceID: svc, Key: tokens.ID(), FiscalCode: "RSSMRA85T10A562S", GivenName: "Mario", FamilyName: "Rossi",
			Answers: Answers{"tipo": {"b"}, "conferma": {"yes"}, "dettaglio": {"Dettaglio"}}, Operator: "op-1"})
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now().Add(time.Minute)
		list, err := s.Registered(ctx, before, after)
		if err != nil || len(list) != 1 || list[0].Channel != "counter" || list[0].Sex != "M" || list[0].Service != svc {
			t.Fatalf("registered: %+v, %v", list, err)
		}
		if list, err := s.Registered(ctx, after, after.Add(time.Hour)); err != nil || len(list) != 0 {
			t.Fatalf("registered after: %+v, %v", list, err)
		}
		states, err := s.States(ctx, time.Now())
		if err != nil || len(states) != 1 || states[0].State != string(a.State) || states[0].N != 1 || states[0].Late != 0 || states[0].Sex != "M" {
			t.Fatalf("open today: %+v, %v", states, err)
		}
		if states, err := s.States(ctx, time.Now().AddDate(1, 0, 0)); err != nil || len(states) != 1 || states[0].Late != 1 {
			t.Fatalf("open in a year: %+v, %v", states, err)
		}
	})
}
