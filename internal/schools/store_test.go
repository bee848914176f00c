package schools

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/problem"
)

type letter struct{ id, what string }

type testStore struct {
	*Store
	mu   sync.Mutex
	sent []letter
}

func (ts *testStore) letters() []letter {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.sent)
}

func newTestStore(t testing.TB, d *db.DB) *testStore {
	t.Helper()
	ts := &testStore{}
	ts.Store = &Store{DB: d, Audit: &audit.Log{DB: d}, Letters: func(_ context.Context, _ *sql.Tx, e *Enrolment, what string) error {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		ts.sent = append(ts.sent, letter{e.ID, what})
		return nil
	}}
	return ts
}

var office = Actor{Name: "operator:test", Remote: "127.0.0.1"}

// openService adds a service of kind whose window is open now, with one
// unit per capacity, and returns it.
func openService(t testing.TB, s *Store, kind Kind, capacities ...int) *Service {
	t.Helper()
	return openServiceAt(t, s, kind, time.Now(), capacities...)
}

// openServiceAt is openService whose window is open at now (the store's
// clock, for the bills of a past month).
func openServiceAt(t testing.TB, s *Store, kind Kind, now time.Time, capacities ...int) *Service {
	t.Helper()
	ctx := context.Background()
	now = now.In(rome)
	id, err := s.PutService(ctx, "", ServiceInput{SchoolYear: "2026/2027", Kind: string(kind), Title: "Refezione scolastica",
		Opens: now.Add(-time.Hour).Format(formTime), Closes: now.Add(24 * time.Hour).Format(formTime), Classes: []string{"P1", "P2", "P3"},
		TariffUnit: "month", Bands: "4000: 0\n7000: 30,00\noltre: 60,00"}, office)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range capacities {
		if _, err := s.AddUnit(ctx, id, UnitInput{Label: fmt.Sprintf("Scuola %d", i+1), Capacity: fmt.Sprint(c), Stops: "Piazza Gramsci\nVia Frova"}, office); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := s.Service(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// parents makes n accounts, each with a proven fiscal code.
func parents(t testing.TB, d *db.DB, n int) []Parent {
	t.Helper()
	out := make([]Parent, n)
	for i := range out {
		id := fmt.Sprintf("acc-%04d", i)
		if _, err := d.ExecContext(context.Background(), `INSERT INTO accounts (id, kind, created_at, updated_at) VALUES ($1, 'resident', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, id); err != nil {
			t.Fatal(err)
		}
		out[i] = Parent{AccountID: id, FiscalCode: fmt.Sprintf("PRNT%012d", i), Email: fmt.Sprintf("p%d@example.invalid", i), Lang: "it"}
	}
	return out
}

// child is the n-th test child's fiscal code: born in 2019, a valid code.
func child(t testing.TB, n int) string {
	t.Helper()
	given := []string{"Sofia", "Luca", "Giulia", "Marco", "Anna", "Paolo", "Elena", "Pietro"}
	family := []string{"Rossi", "Bianchi", "Ferrari", "Colombo", "Galli", "Esposito", "Ricci", "Marino"}
	c, err := cf.Make(family[n%8], given[(n/8)%8], "F", time.Date(2019, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/64), "F205")
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

func request(t testing.TB, svc *Service, unit, n int) Request {
	return Request{ServiceID: svc.ID, UnitID: svc.Units[unit].ID, ChildFC: child(t, n), ChildGiven: "Sofia", ChildFamily: "Rossi",
		School: "Primaria Garibaldi", Class: "P2", Stop: "Via Frova", ISEE: "6.500,00", Privacy: true}
}

// The rush: many parents press "send" at once for fewer places.
// No more are accepted than the capacity, each is told at once the truth
// (accepted, or a place on the waiting list that is theirs alone), and the
// unit's count is the accepted enrolments'.
func TestRushNeverOverbooks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const parentsN, places = 200, 20
		ctx := context.Background()
		s := newTestStore(t, d)
		svc := openService(t, s.Store, Canteen, places)
		ps := parents(t, d, parentsN)
		outcomes := make([]*Outcome, parentsN)
		errs := make([]error, parentsN)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ps {
			wg.Go(func() {
				<-start
				outcomes[i], errs[i] = s.Enrol(ctx, ps[i], request(t, svc, 0, i), nil)
			})
		}
		close(start)
		wg.Wait()
		accepted, positions := 0, map[int]bool{}
		for i, o := range outcomes {
			if errs[i] != nil {
				t.Fatalf("parent %d: %v", i, errs[i])
			}
			switch o.Status {
			case Accepted:
				accepted++
			case Waiting:
				if o.Position < 1 || positions[o.Position] {
					t.Errorf("parent %d: waiting position %d (given twice or none)", i, o.Position)
				}
				positions[o.Position] = true
			default:
				t.Errorf("parent %d: status %s", i, o.Status)
			}
			// The answer is what the database holds.
			e, err := s.Get(ctx, o.ID, ps[i].AccountID)
			if err != nil || e.Status != o.Status || e.Position != o.Position {
				t.Errorf("parent %d was told %s/%d, the database says %+v (%v)", i, o.Status, o.Position, e, err)
			}
		}
		if accepted != places || len(positions) != parentsN-places {
			t.Errorf("accepted %d of %d places, %d waiting", accepted, places, len(positions))
		}
		after, err := s.Service(ctx, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u := after.Units[0]; u.Taken != places || u.Waiting != parentsN-places {
			t.Errorf("unit: taken %d, waiting %d", u.Taken, u.Waiting)
		}
		if n := len(s.letters()); n != parentsN {
			t.Errorf("%d letters for %d enrolments", n, parentsN)
		}
	})
}

// A parent who sends twice (a double click, a retry) gets one enrolment and
// the same answer; another parent cannot enrol the same child.
// A parent's two sends that share one transaction (group commit, SQLite)
// both hear the truth: one enrolment, the second told it is the same; the
// second's unique violation is answered only once the first has committed,
// so it reads the first instead of "taken by another account" (outside
// review of db.Batch, finding 1).
func TestSubmittingTwiceInOneTransaction(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	s := newTestStore(t, d)
	svc := openService(t, s.Store, Canteen, 5)
	ps := parents(t, d, 1)
	started, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- d.Batch(ctx, func(ctx context.Context, tx *sql.Tx) error { close(started); <-release; return nil })
	}()
	<-started
	from, _ := d.BatchStats()
	outcomes, errs := make([]*Outcome, 2), make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { outcomes[i], errs[i] = s.Enrol(ctx, ps[0], request(t, svc, 0, 1), nil) })
	}
	for c, _ := d.BatchStats(); c-from < 2; c, _ = d.BatchStats() {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if _, txs := d.BatchStats(); txs != 2 {
		t.Fatalf("%d transactions: the two sends did not share one", txs)
	}
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("send %d: %v, want accepted or the same enrolment", i, errs[i])
		}
	}
	if outcomes[0].ID != outcomes[1].ID || outcomes[0].Again == outcomes[1].Again {
		t.Errorf("outcomes %+v and %+v: want one enrolment, one send told so", outcomes[0], outcomes[1])
	}
}

func TestSubmittingTwiceIsOneEnrolment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		svc := openService(t, s.Store, Canteen, 5)
		ps := parents(t, d, 2)
		const sends = 8
		outcomes := make([]*Outcome, sends)
		var wg sync.WaitGroup
		for i := range sends {
			wg.Go(func() {
				var err error
				if outcomes[i], err = s.Enrol(ctx, ps[0], request(t, svc, 0, 1), nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		again := 0
		for _, o := range outcomes {
			if o == nil {
				t.FailNow()
			}
			if o.ID != outcomes[0].ID || o.Status != Accepted {
				t.Errorf("outcome %+v, first %+v", o.Enrolment, outcomes[0].Enrolment)
			}
			if o.Again {
				again++
			}
		}
		if again != sends-1 {
			t.Errorf("%d answers say the enrolment was already there, want %d", again, sends-1)
		}
		after, _ := s.Service(ctx, svc.ID)
		if after.Units[0].Taken != 1 {
			t.Errorf("taken %d places", after.Units[0].Taken)
		}
		if _, err := s.Enrol(ctx, ps[1], request(t, svc, 0, 1), nil); !errors.Is(err, ErrTaken) {
			t.Errorf("another parent enrolling the same child: %v", err)
		}
	})
}

// Withdrawing an accepted enrolment promotes the waiting list's first in
// the same transaction; withdrawing a waiting one moves the others up.
// Each change is mailed.
func TestWithdrawPromotes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		svc := openService(t, s.Store, Canteen, 2)
		ps := parents(t, d, 5)
		var ids []string
		for i, p := range ps {
			o, err := s.Enrol(ctx, p, request(t, svc, 0, i), nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
			if want := max(0, i-1); o.Position != want {
				t.Errorf("enrolment %d: position %d, want %d", i, o.Position, want)
			}
		}
		if _, err := s.Withdraw(ctx, ids[0], ps[1].AccountID, office); problem.KindOf(err) != problem.NotFound {
			t.Errorf("withdrawing another parent's enrolment: %v", err)
		}
		if _, err := s.Withdraw(ctx, ids[3], ps[3].AccountID, office); err != nil { // waiting 2nd
			t.Fatal(err)
		}
		if e, _ := s.Get(ctx, ids[4], ps[4].AccountID); e.Position != 2 {
			t.Errorf("the last moved to %d, want 2", e.Position)
		}
		w, err := s.Withdraw(ctx, ids[0], ps[0].AccountID, office) // accepted
		if err != nil || w.Status != Withdrawn {
			t.Fatal(w, err)
		}
		if e, _ := s.Get(ctx, ids[2], ps[2].AccountID); e.Status != Accepted {
			t.Errorf("the first waiting is %s, want accepted", e.Status)
		}
		if e, _ := s.Get(ctx, ids[4], ps[4].AccountID); e.Position != 1 {
			t.Errorf("the last is at %d, want 1", e.Position)
		}
		if again, err := s.Withdraw(ctx, ids[0], ps[0].AccountID, office); err != nil || again.Status != Withdrawn {
			t.Errorf("withdrawing again: %v %v", again, err)
		}
		after, _ := s.Service(ctx, svc.ID)
		if u := after.Units[0]; u.Taken != 2 || u.Waiting != 1 {
			t.Errorf("taken %d, waiting %d", u.Taken, u.Waiting)
		}
		want := []letter{{ids[0], "accepted"}, {ids[1], "accepted"}, {ids[2], "waiting"}, {ids[3], "waiting"}, {ids[4], "waiting"},
			{ids[3], "withdrawn"}, {ids[0], "withdrawn"}, {ids[2], "promoted"}}
		if got := s.letters(); !slices.Equal(got, want) {
			t.Errorf("letters\n got %v\nwant %v", got, want)
		}
		// The child withdrawn may enrol again, at the end of the list.
		o, err := s.Enrol(ctx, ps[0], request(t, svc, 0, 0), nil)
		if err != nil || o.Status != Waiting || o.Position != 2 {
			t.Errorf("enrolling again: %+v %v", o, err)
		}
		// More places go to the waiting list; fewer than taken are refused.
		if _, err := s.SetCapacity(ctx, svc.Units[0].ID, "1", office); !errors.As(err, new(problem.Fields)) {
			t.Errorf("capacity below the accepted: %v", err)
		}
		if n, err := s.SetCapacity(ctx, svc.Units[0].ID, "10", office); err != nil || n != 2 {
			t.Errorf("capacity 10 promoted %d: %v", n, err)
		}
	})
}

// Withdrawals and enrolments at once: the count stays the accepted
// enrolments', never above the capacity, and no one waits while a place
// is free.
func TestWithdrawalsDuringTheRush(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		const places = 10
		svc := openService(t, s.Store, Canteen, places)
		ps := parents(t, d, 60)
		first := make([]*Outcome, 20)
		for i := range first {
			var err error
			if first[i], err = s.Enrol(ctx, ps[i], request(t, svc, 0, i), nil); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for i := range first {
			if i%2 == 0 {
				wg.Go(func() {
					if _, err := s.Withdraw(ctx, first[i].ID, ps[i].AccountID, office); err != nil {
						t.Error(err)
					}
				})
			}
		}
		for i := 20; i < 60; i++ {
			wg.Go(func() {
				if _, err := s.Enrol(ctx, ps[i], request(t, svc, 0, i), nil); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var accepted, waiting, taken int
		if err := d.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM schools_enrolments WHERE status = 'accepted'),
			(SELECT COUNT(*) FROM schools_enrolments WHERE status = 'waiting'),
			(SELECT taken FROM schools_units)`).Scan(&accepted, &waiting, &taken); err != nil {
			t.Fatal(err)
		}
		if accepted != places || taken != places || waiting != 60-10-places {
			t.Errorf("accepted %d, taken %d, waiting %d", accepted, taken, waiting)
		}
	})
}

// What a form gets wrong is named field by field, and nothing is written.
func TestEnrolRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		svc := openService(t, s.Store, Bus, 3)
		ps := parents(t, d, 1)
		bad := request(t, svc, 0, 0)
		bad.ChildFC, bad.Class, bad.Stop, bad.Diet, bad.ISEE, bad.Privacy = "RSSMRA85T10A562X", "S1", "Via Nessuna", "senza glutine", "tanti", false
		_, err := s.Enrol(ctx, ps[0], bad, nil)
		var fe problem.Fields
		if !errors.As(err, &fe) {
			t.Fatalf("%v", err)
		}
		for field, msg := range map[string]string{"child_fc": "schools.error.child_fc", "class": "schools.error.class_not_admitted",
			"stop": "schools.error.stop", "certificate": "schools.error.certificate", "isee": "schools.error.isee", "privacy": "schools.error.privacy"} {
			if fe[field] != msg {
				t.Errorf("%s: %q, want %q", field, fe[field], msg)
			}
		}
		if _, err := s.Enrol(ctx, Parent{AccountID: ps[0].AccountID}, request(t, svc, 0, 0), nil); problem.KindOf(err) != problem.Forbidden {
			t.Errorf("without a proven fiscal code: %v", err)
		}
		s.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
		if _, err := s.Enrol(ctx, ps[0], request(t, svc, 0, 0), nil); !errors.Is(err, ErrWindow) {
			t.Errorf("after the window: %v", err)
		}
		var n int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_enrolments`).Scan(&n)
		if n != 0 {
			t.Errorf("%d enrolments written", n)
		}
	})
}

func TestTariffBands(t *testing.T) {
	b, err := ParseBands("4.000: 0\n7000,00: 2,50\n 15000 : 3.5\noltre: 4,50")
	if err != nil {
		t.Fatal(err)
	}
	v := func(euro int64) *int64 { c := euro * 100; return &c }
	for _, c := range []struct {
		isee      *int64
		band      int
		cents     int64
		situation string
	}{{v(0), 0, 0, "nothing"}, {v(4000), 0, 0, "the limit itself"}, {v(4001), 1, 250, "a euro above"}, {v(15000), 2, 350, "third"},
		{v(90000), 3, 450, "above all"}, {nil, 3, 450, "no ISEE is the last band"}} {
		if band, cents := b.Tariff(c.isee); band != c.band || cents != c.cents {
			t.Errorf("%s: band %d %d cents, want %d %d", c.situation, band, cents, c.band, c.cents)
		}
	}
	if got := b.String(); got != "4.000,00: 0,00\n7.000,00: 2,50\n15.000,00: 3,50\noltre: 4,50\n" {
		t.Errorf("written back: %q", got)
	}
	for _, bad := range []string{"", "4000: 1\n3000: 2\noltre: 3", "4000: 1", "oltre: 1\n4000: 2", "4000 1\noltre: 2", "4000: -1\noltre: 2"} {
		if _, err := ParseBands(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseEuro(t *testing.T) {
	for in, want := range map[string]int64{"12": 1200, "12,5": 1250, "4.000,50": 400050, "4000.50": 400050, "€ 7.000": 700000, "0,99": 99, "1.234.567": 123456700} {
		if got, err := ParseEuro(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-3", "abc", "1,2,3x", "12345678901"} {
		if _, err := ParseEuro(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Closing an account gives its places to the waiting list and deletes its
// enrolments, in the closure's transaction.
func TestEraseGivesThePlacesOn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		svc := openService(t, s.Store, Camp, 1, 1)
		ps := parents(t, d, 2)
		var waiting []string
		for u := range 2 {
			if _, err := s.Enrol(ctx, ps[0], request(t, svc, u, 0), nil); err != nil {
				t.Fatal(err)
			}
			o, err := s.Enrol(ctx, ps[1], request(t, svc, u, 1), nil)
			if err != nil || o.Position != 1 {
				t.Fatal(o, err)
			}
			waiting = append(waiting, o.ID)
		}
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return s.Erase(ctx, tx, ps[0].AccountID) }); err != nil {
			t.Fatal(err)
		}
		for _, id := range waiting {
			if e, err := s.Get(ctx, id, ps[1].AccountID); err != nil || e.Status != Accepted {
				t.Errorf("after the erasure: %+v %v", e, err)
			}
		}
		if list, total, err := s.Mine(ctx, ps[0].AccountID, 1); err != nil || total != 0 || len(list) != 0 {
			t.Errorf("the closed account keeps %d enrolments (%v)", total, err)
		}
	})
}

// The ranking's order: points, then the lower ISEE (none last), then who
// sent first; the same whatever order the candidates come in.
func TestRank(t *testing.T) {
	v := func(euro int64) *int64 { c := euro * 100; return &c }
	list := []Candidate{
		{ID: "late-rich", Points: 10, ISEE: v(30000), Seq: 9},
		{ID: "no-isee", Points: 10, Seq: 1},
		{ID: "poor", Points: 10, ISEE: v(5000), Seq: 8},
		{ID: "top", Points: 25, Seq: 7},
		{ID: "poor-later", Points: 10, ISEE: v(5000), Seq: 10},
		{ID: "none", Points: 0, ISEE: v(0), Seq: 2},
	}
	want := []string{"top", "poor", "poor-later", "late-rich", "no-isee", "none"}
	for range 20 {
		got := Rank(list)
		ids := make([]string, len(got))
		for i, c := range got {
			ids[i] = c.ID
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("rank %v, want %v", ids, want)
		}
		slices.Reverse(list)
		list = append(list[1:], list[0])
	}
	p := Points{Resident: 10, Sibling: 5, WorkingParents: 3}
	if got := p.Score(true, false, true); got != 13 {
		t.Errorf("score %d", got)
	}
	if (Points{Resident: -1}).Validate() == nil || (Points{Sibling: MaxPoints + 1}).Validate() == nil {
		t.Error("points out of range accepted")
	}
}
