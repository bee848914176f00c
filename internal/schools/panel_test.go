package schools

import (
	"context"
	"testing"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// The desk's panel lists the parent's latest enrolments with their
// status, the newest first, in one statement however many of them wait on
// a list (their places, which it does not show, are not read); another
// parent's are not there, and a session without a proven fiscal code
// reads nothing.
func TestPanelIsOneStatement(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		svc := openService(t, s.Store, PreSchool, 1)
		ps := parents(t, d, 2)
		want := map[string]Status{}
		for i, p := range []Parent{ps[0], ps[0], ps[0], ps[1]} {
			o, err := s.Enrol(ctx, p, request(t, svc, 0, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p == ps[0] {
				want[o.Enrolment.ID] = o.Status
			}
		}
		m := &Module{Store: s.Store}
		cctx, count := db.CountQueries(ctx)
		sum, err := m.Panel(cctx, area.Resident{AccountID: ps[0].AccountID, FiscalCode: ps[0].FiscalCode, Level: assurance.Substantial})
		if err != nil {
			t.Fatal(err)
		}
		if n := count.Queries(); n != 1 {
			t.Errorf("the panel ran %d statements, want 1", n)
		}
		if len(sum.Items) != 3 {
			t.Fatalf("%d items, want 3: %+v", len(sum.Items), sum.Items)
		}
		waiting := 0
		for i, it := range sum.Items {
			id := it.Href[len(AreaPath)+1:]
			st, ok := want[id]
			if !ok || it.Status != "schools.status."+string(st) {
				t.Errorf("item %+v: want status %q (%v)", it, st, ok)
			}
			if st == Waiting {
				waiting++
			}
			if i > 0 && it.When.After(sum.Items[i-1].When) {
				t.Errorf("not the newest first: %+v", sum.Items)
			}
		}
		if waiting != 2 {
			t.Errorf("%d waiting, want 2: the test does not test the waiting list", waiting)
		}
		cctx, count = db.CountQueries(ctx)
		if sum, err := m.Panel(cctx, area.Resident{AccountID: ps[0].AccountID, Level: assurance.Low}); err != nil || len(sum.Items) != 0 || count.Queries() != 0 {
			t.Errorf("without a proven fiscal code: %+v, %d statements (%v)", sum, count.Queries(), err)
		}
	})
}
