package schools

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/problem"
)

// Outside review S4, the ISEE: a declared ISEE is recorded as declared and
// listed for the school office; the office confirms it, or corrects it
// (audited, the parent mailed), and the bills made after a correction use
// the corrected band and exemption, also for the siblings' reductions: a
// decoy declared exempt and corrected to paying makes its brother the
// second child from the next month. A wrong value or a withdrawn
// enrolment changes nothing.
func TestISEECheckedByTheOffice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		b := &testBiller{}
		s.Biller = b
		s.Household = (&population.Register{DB: d}).Housemates
		clock := clockAt(summer)
		s.Now = clock.Now
		id, err := s.PutService(ctx, "", ServiceInput{SchoolYear: "2026/2027", Kind: string(PostSchool), Title: "Post scuola",
			Opens: summer.Add(-time.Hour).Format(formTime), Closes: summer.Add(24 * time.Hour).Format(formTime), Classes: []string{"P2"},
			TariffUnit: "month", Bands: "7000: 30,00\noltre: 60,00", Sibling2: "50", ExemptISEE: "3.000"}, office)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria Costa", Capacity: "5"}, office); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Service(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ps := parents(t, d, 2)
		house(t, d, "A", ps[0].FiscalCode, child(t, 0), child(t, 1))
		enrol := func(p Parent, n int, isee string) *Outcome {
			t.Helper()
			r := request(t, svc, 0, n)
			r.ISEE, r.NoISEE = isee, isee == ""
			o, err := s.Enrol(ctx, p, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		decoy := enrol(ps[0], 0, "2.500")
		paying := enrol(ps[0], 1, "6.500")
		none := enrol(ps[1], 2, "")
		withdrawn := enrol(ps[1], 3, "5.000")
		if _, err := s.Withdraw(ctx, withdrawn.ID, ps[1].AccountID, office); err != nil {
			t.Fatal(err)
		}
		list, total, err := s.ISEEToCheck(ctx, id, 1)
		if err != nil || total != 2 || len(list) != 2 || list[0].ID != decoy.ID || list[1].ID != paying.ID || list[0].ISEECheck != ISEEDeclaredOnly {
			t.Fatalf("to check: %d %v", total, err)
		}
		if none.ISEECheck != ISEENone {
			t.Errorf("no ISEE: %q", none.ISEECheck)
		}
		// Refused: a wrong value, both a value and none, a withdrawn
		// enrolment, confirming no ISEE; nothing changes.
		for _, bad := range []struct {
			id string
			in ISEECheckInput
		}{{decoy.ID, ISEECheckInput{ISEE: "tanti"}}, {decoy.ID, ISEECheckInput{ISEE: "5.000", NoISEE: true}}, {withdrawn.ID, ISEECheckInput{Confirm: true}},
			{none.ID, ISEECheckInput{Confirm: true}}} {
			var fe problem.Fields
			if _, err := s.CheckISEE(ctx, bad.id, bad.in, office); !errors.As(err, &fe) && !errors.Is(err, ErrISEEWithdrawn) {
				t.Errorf("%+v: %v", bad.in, err)
			}
		}
		if _, err := s.CheckISEE(ctx, "nope", ISEECheckInput{Confirm: true}, office); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
		clock.Set(time.Date(2026, time.October, 2, 9, 0, 0, 0, rome))
		if r, err := s.BillMonth(ctx, "2026-09", office, nil); err != nil || r.Billed != 2 || r.Exempt != 1 || r.Amount != 3000+6000 {
			t.Fatalf("September: %+v %v", r, err)
		}
		// The office finds the decoy's attestation says 6.500.
		e, err := s.CheckISEE(ctx, decoy.ID, ISEECheckInput{ISEE: "6.500,00"}, office)
		if err != nil || e.Exempt || e.AmountCents != 3000 || e.ISEECheck != ISEECorrected || *e.ISEEDeclared != 250000 || *e.ISEE != 650000 {
			t.Fatalf("corrected: %+v %v", e, err)
		}
		if _, err := s.CheckISEE(ctx, paying.ID, ISEECheckInput{Confirm: true}, office); err != nil {
			t.Fatal(err)
		}
		if _, total, err := s.ISEEToCheck(ctx, id, 1); err != nil || total != 0 {
			t.Fatalf("still to check: %d %v", total, err)
		}
		for _, action := range []string{"schools.isee.correct", "schools.isee.confirm"} {
			if recs, err := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: action}); err != nil || len(recs) != 1 {
				t.Fatalf("audit %s: %d %v", action, len(recs), err)
			}
		}
		if got := s.letters(); got[len(got)-1] != (letter{decoy.ID, "isee_corrected"}) {
			t.Errorf("mail: %v", got[len(got)-1])
		}
		b.bills = nil
		clock.Set(time.Date(2026, time.November, 2, 9, 0, 0, 0, rome))
		r, err := s.BillMonth(ctx, "2026-10", office, nil)
		if err != nil || r.Exempt != 0 {
			t.Fatalf("October: %+v %v", r, err)
		}
		got := map[string]int64{}
		for _, x := range b.bills {
			got[x.ExternalID] = x.Amount
		}
		if got["schools:"+decoy.ID+":2026-10"] != 3000 || got["schools:"+paying.ID+":2026-10"] != 1500 || got["schools:"+none.ID+":2026-10"] != 6000 {
			t.Fatalf("October after the correction: %v", got)
		}
		var sept int64
		if err := d.QueryRowContext(ctx, `SELECT amount_cents FROM schools_bills WHERE enrolment_id = $1 AND period = '2026-09'`, decoy.ID).Scan(&sept); err != nil || sept != 0 {
			t.Fatalf("September's bill changed: %d %v", sept, err)
		}
	})
}
