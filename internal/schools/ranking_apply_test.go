package schools

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/problem"
)

// A service by ranking: during the window every enrolment is received
// (pending, no place taken); when the window closes the ranking job,
// run three times at once, ranks each unit once by the office's points
// (residence from the population register, the declared sibling and
// working parents), then the lower ISEE, then the order received; the
// first get the places, the others the waiting list in rank order, and
// every parent is mailed; a withdrawal then promotes the next in rank.
// The mode cannot change once someone enrolled.
func TestRankingAtWindowClose(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		clock := time.Now().UTC().Truncate(time.Second)
		s.Now = func() time.Time { return clock }
		register := &population.Register{DB: d}
		s.Resident = func(ctx context.Context, code string) (bool, error) {
			_, ok, err := register.Lookup(ctx, code)
			return ok, err
		}
		in := ServiceInput{SchoolYear: "2026/2027", Kind: string(Canteen), Title: "Refezione scolastica", Mode: string(Ranking),
			Opens: clock.Add(-time.Hour).In(rome).Format(formTime), Closes: clock.Add(time.Hour).In(rome).Format(formTime), Classes: []string{"P2"},
			TariffUnit: "month", Bands: "7000: 30,00\noltre: 60,00", PointsResident: "10", PointsSibling: "5", PointsWorking: "3"}
		if _, err := s.PutService(ctx, "", ServiceInput{PointsResident: "1001"}, office); err == nil {
			t.Fatal("1001 points accepted")
		}
		id, err := s.PutService(ctx, "", in, office)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria Garibaldi", Capacity: "2"}, office); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Service(ctx, id)
		if err != nil || !svc.ByRanking() || svc.Points != (Points{Resident: 10, Sibling: 5, WorkingParents: 3}) {
			t.Fatalf("%+v %v", svc, err)
		}
		if err := register.Put(ctx, population.Person{FiscalCode: child(t, 0), District: "Centro"}, population.Person{FiscalCode: child(t, 2), District: "Centro"},
			population.Person{FiscalCode: child(t, 4), District: "Centro"}); err != nil {
			t.Fatal(err)
		}
		ps := parents(t, d, 5)
		type decl struct {
			isee             string
			sibling, working bool
		}
		// Points: 10, 8, 13 (no ISEE), 0, 10 (a lower ISEE than the first).
		decls := []decl{{"6.500", false, false}, {"6.500", true, true}, {"", false, true}, {"1.000", false, false}, {"5.000", false, false}}
		ids := make([]string, len(ps))
		for i, p := range ps {
			r := request(t, svc, 0, i)
			r.ISEE, r.NoISEE, r.Sibling, r.WorkingParents = decls[i].isee, decls[i].isee == "", decls[i].sibling, decls[i].working
			o, err := s.Enrol(ctx, p, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != Pending || o.Position != 0 {
				t.Fatalf("enrolment %d before the ranking: %s %d", i, o.Status, o.Position)
			}
			ids[i] = o.ID
		}
		if svc, _ := s.Service(ctx, id); svc.Units[0].Taken != 0 || svc.Units[0].Waiting != 0 {
			t.Fatalf("places taken before the ranking: %+v", svc.Units[0])
		}
		if in2 := in; true {
			in2.Mode = string(FirstCome)
			var fe problem.Fields
			if _, err := s.PutService(ctx, id, in2, office); !errors.As(err, &fe) || fe["mode"] != "schools.error.mode_locked" {
				t.Fatalf("mode changed after enrolments: %v", err)
			}
		}
		if n, err := s.RankDue(ctx); err != nil || n != 0 {
			t.Fatalf("ranked while open: %d %v", n, err)
		}
		clock = clock.Add(2 * time.Hour)
		if _, err := s.Enrol(ctx, ps[0], request(t, svc, 0, 9), nil); !errors.Is(err, ErrWindow) {
			t.Fatalf("after the close: %v", err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ranked := 0
		for range 3 {
			wg.Go(func() {
				n, err := s.RankDue(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				ranked += n
				mu.Unlock()
			})
		}
		wg.Wait()
		if ranked != 1 {
			t.Fatalf("ranked %d times", ranked)
		}
		want := []struct {
			status   Status
			position int
			points   int
			letter   string
		}{{Waiting, 1, 10, "ranked_waiting"}, {Waiting, 2, 8, "ranked_waiting"}, {Accepted, 0, 13, "ranked_accepted"},
			{Waiting, 3, 0, "ranked_waiting"}, {Accepted, 0, 10, "ranked_accepted"}}
		letters := map[string][]string{}
		for _, l := range s.letters() {
			letters[l.id] = append(letters[l.id], l.what)
		}
		for i, w := range want {
			e, err := s.Get(ctx, ids[i], ps[i].AccountID)
			if err != nil || e.Status != w.status || e.Position != w.position || e.Points != w.points {
				t.Errorf("enrolment %d: %+v %v, want %+v", i, e, err, w)
			}
			if got := letters[ids[i]]; len(got) != 2 || got[0] != "pending" || got[1] != w.letter {
				t.Errorf("enrolment %d's mail: %v", i, got)
			}
		}
		svc, _ = s.Service(ctx, id)
		if u := svc.Units[0]; u.Taken != 2 || u.Waiting != 3 || svc.RankedAt == nil {
			t.Fatalf("after the ranking: %+v %v", u, svc.RankedAt)
		}
		// A withdrawal promotes the first in rank.
		if _, err := s.Withdraw(ctx, ids[4], ps[4].AccountID, office); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Get(ctx, ids[0], ps[0].AccountID); e.Status != Accepted {
			t.Fatalf("the first waiting after a withdrawal: %s", e.Status)
		}
		if e, _ := s.Get(ctx, ids[3], ps[3].AccountID); e.Position != 2 {
			t.Fatalf("the last waiting's position after a promotion: %d", e.Position)
		}
		if n, err := s.RankDue(ctx); err != nil || n != 0 {
			t.Fatalf("ranked again: %d %v", n, err)
		}
	})
}

// An enrolment sent just before a ranking service's window closes, whose
// transaction begins after the window closed and the ranking ran, is
// refused (the window is read again in the transaction, the unit's row
// held): it is not left pending for ever, never ranked (outside review
// S3).
func TestEnrolmentRacingTheRankingIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		clock := clockAt(time.Now().UTC().Truncate(time.Second))
		s.Now = clock.Now
		start := clock.Now()
		register := &population.Register{DB: d}
		in := ServiceInput{SchoolYear: "2026/2027", Kind: string(Canteen), Title: "Refezione", Mode: string(Ranking), ResidentsOnly: true,
			Opens: start.Add(-time.Hour).In(rome).Format(formTime), Closes: start.Add(time.Minute).In(rome).Format(formTime), Classes: []string{"P2"},
			TariffUnit: "month", Bands: "7000: 30,00\noltre: 60,00", PointsResident: "10"}
		id, err := s.PutService(ctx, "", in, office)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria", Capacity: "5"}, office); err != nil {
			t.Fatal(err)
		}
		svc, err := s.Service(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := register.Put(ctx, population.Person{FiscalCode: child(t, i), District: "Centro"}); err != nil {
				t.Fatal(err)
			}
		}
		ps := parents(t, d, 2)
		ranked := false
		s.Resident = func(ctx context.Context, code string) (bool, error) {
			_, ok, err := register.Lookup(ctx, code)
			if code == child(t, 1) && !ranked {
				// The late parent's request is between its window check
				// and its transaction when the window closes and the job runs.
				ranked = true
				clock.Set(start.Add(2 * time.Minute))
				if done, err := s.ApplyRanking(ctx, id); err != nil || !done {
					t.Errorf("ranking: %v %v", done, err)
				}
			}
			return ok, err
		}
		if _, err := s.Enrol(ctx, ps[0], request(t, svc, 0, 0), nil); err != nil {
			t.Fatal(err)
		}
		if o, err := s.Enrol(ctx, ps[1], request(t, svc, 0, 1), nil); !errors.Is(err, ErrWindow) {
			t.Errorf("an enrolment after the window closed and the ranking ran: %+v %v", o, err)
		}
		var pending, accepted int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'accepted') FROM schools_enrolments
			WHERE service_id = $1`, id).Scan(&pending, &accepted); err != nil {
			t.Fatal(err)
		}
		if pending != 0 || accepted != 1 {
			t.Errorf("%d pending, %d accepted after the ranking: want 0 and 1", pending, accepted)
		}
	})
}

// A service whose ranking fails does not hold up the others due: the job
// ranks them, returns the failure, and the next run ranks the one that
// failed (outside review S5).
func TestRankDueGoesOnPastAFailure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		clock := clockAt(time.Now().UTC().Truncate(time.Second))
		s.Now = clock.Now
		start := clock.Now()
		ps := parents(t, d, 2)
		var ids []string
		for i := range 2 {
			in := ServiceInput{SchoolYear: "2026/2027", Kind: string(Canteen), Title: "Refezione", Mode: string(Ranking),
				Opens: start.Add(-time.Hour).In(rome).Format(formTime), Closes: start.Add(time.Duration(i+1) * time.Minute).In(rome).Format(formTime),
				Classes: []string{"P2"}, TariffUnit: "month", Bands: "oltre: 60,00", PointsResident: "10"}
			id, err := s.PutService(ctx, "", in, office)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.AddUnit(ctx, id, UnitInput{Label: "Primaria", Capacity: "5"}, office); err != nil {
				t.Fatal(err)
			}
			svc, err := s.Service(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Enrol(ctx, ps[i], request(t, svc, 0, i), nil); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		down := errors.New("the register does not answer")
		s.Resident = func(_ context.Context, code string) (bool, error) {
			if code == child(t, 0) {
				return false, down
			}
			return true, nil
		}
		clock.Set(start.Add(3 * time.Minute))
		n, err := s.RankDue(ctx)
		if n != 1 || !errors.Is(err, down) {
			t.Fatalf("ranked %d, %v: want the second service ranked and the first's failure", n, err)
		}
		for i, id := range ids {
			svc, err := s.Service(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if (svc.RankedAt != nil) != (i == 1) {
				t.Errorf("service %d ranked at %v", i, svc.RankedAt)
			}
		}
		s.Resident = nil
		if n, err := s.RankDue(ctx); n != 1 || err != nil {
			t.Fatalf("the next run: %d %v", n, err)
		}
	})
}
