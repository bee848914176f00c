package partecipa

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

var deskOperator = &Viewer{Subject: "sub-operator", Level: assurance.Substantial, Roles: []string{CounterRole}}

func counterResident(sub string) *Viewer { return CounterResident(sub, true, "Crocetta", "25-34", "F") }

// One roll, one constraint: the counter and online meet at the roll's
// primary key, in either order and at once, and the loser writes nothing.
func TestCounterAndOnlineShareOneVoice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		c := newConsultation(t, s, assurance.High, false)
		// Counter first, then online.
		if err := s.CastCounter(ctx, c, deskOperator, counterResident("sub-anna"), answers("nord", "4")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cast(ctx, c, resident("sub-anna", assurance.High), answers("ghirlanda", "1")); !errors.Is(err, ErrAnswered) {
			t.Fatalf("online after the counter: %v", err)
		}
		// Online first, then the counter.
		if _, err := s.Cast(ctx, c, resident("sub-bruno", assurance.High), answers("nord", "2")); err != nil {
			t.Fatal(err)
		}
		if err := s.CastCounter(ctx, c, deskOperator, counterResident("sub-bruno"), answers("nord", "2")); !errors.Is(err, ErrAnswered) {
			t.Fatalf("the counter after online: %v", err)
		}
		// At once: six at the counter, six online, for one person.
		const tries = 12
		var wg sync.WaitGroup
		errs := make([]error, tries)
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 {
					errs[i] = s.CastCounter(ctx, c, deskOperator, counterResident("sub-carla"), answers("nord", fmt.Sprint(1+i%5)))
				} else {
					_, errs[i] = s.Cast(ctx, c, resident("sub-carla", assurance.High), answers("nord", fmt.Sprint(1+i%5)))
				}
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrAnswered):
			default:
				t.Fatalf("a concurrent submission failed otherwise: %v", err)
			}
		}
		var ballots, roll, counterRoll, counterBallots int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_ballots`).Scan(&ballots)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll`).Scan(&roll)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll WHERE channel = 'counter'`).Scan(&counterRoll)
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_ballots WHERE channel = 'counter'`).Scan(&counterBallots)
		if ok != 1 || ballots != 3 || roll != 3 || counterRoll != counterBallots {
			t.Fatalf("%d accepted at once; %d ballots, %d on the roll (want 3 each); %d counter marks, %d counter ballots", ok, ballots, roll, counterRoll, counterBallots)
		}
		// The operator's action is audited, without the resident.
		var audited int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'partecipa.counter.recorded' AND actor = 'partecipa:sub-operator'`).Scan(&audited)
		if audited != counterRoll {
			t.Fatalf("%d audit entries for %d counter answers", audited, counterRoll)
		}
		var leak int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE details LIKE '%sub-anna%' OR subject LIKE '%sub-anna%'`).Scan(&leak)
		if leak != 0 {
			t.Fatal("the audit log names the resident of a counter answer")
		}
	})
}

// A counter answer obeys the consultation like an online one: not for
// someone outside its districts, not for the operator themselves.
func TestCounterEligibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		ctx := context.Background()
		c := newConsultation(t, s, assurance.High, false)
		if err := s.CastCounter(ctx, c, deskOperator, CounterResident("sub-out", false, "", "", ""), answers("nord", "4")); err == nil {
			t.Fatal("a non-resident answered a residents' consultation at the counter")
		}
		if err := s.CastCounter(ctx, c, deskOperator, counterResident(deskOperator.Subject), answers("nord", "4")); err == nil {
			t.Fatal("an operator recorded their own answer")
		}
		var n int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_roll`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d roll marks after refusals", n)
		}
	})
}

// The counter's column is published apart only once the consultation is
// closed and when it stands for at least MinCell answers; below, or while
// open, its answers are inside the verified column and no published
// number tells them apart (P5, outside review M2).
func TestCounterColumnSuppressedBelowMinCell(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		s.MinCell = 3
		ctx := context.Background()
		c := newConsultation(t, s, assurance.High, false)
		for i := range 4 {
			if _, err := s.Cast(ctx, c, resident(fmt.Sprint("online-", i), assurance.High), answers("ghirlanda", "2")); err != nil {
				t.Fatal(err)
			}
		}
		cast := func(i int) {
			t.Helper()
			if err := s.CastCounter(ctx, c, deskOperator, counterResident(fmt.Sprint("desk-", i)), answers("nord", "5")); err != nil {
				t.Fatal(err)
			}
			if err := s.MixFresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cast(0)
		cast(1)
		r, err := s.Results(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Split || len(r.Channels) != 1 || r.Ballots != [nch]int64{0, 6, 0} || r.Questions[0].Rows[0].N != [nch]int64{0, 2, 0} {
			t.Fatalf("two counter answers: split %v, channels %v, ballots %v, nord %v", r.Split, r.Channels, r.Ballots, r.Questions[0].Rows[0].N)
		}
		for _, l := range resultLines(r) {
			if l.Channel != "verified" {
				t.Fatalf("a line of channel %q below the smallest cell", l.Channel)
			}
		}
		cast(2)
		// Mixed, no ballot says it came from the counter: the channel is in
		// the tallies only (outside review M3).
		var marked int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM partecipa_ballots WHERE channel <> 'online'`).Scan(&marked); err != nil || marked != 0 {
			t.Fatalf("%d mixed ballots keep their channel (%v)", marked, err)
		}
		// Enough for the column, but open: it stays merged, or its change
		// from one mix to the next would be one resident's answers.
		if r, err = s.Results(ctx, c); err != nil {
			t.Fatal(err)
		}
		if r.Split || r.Ballots != [nch]int64{0, 7, 0} {
			t.Fatalf("three counter answers while open: split %v, ballots %v", r.Split, r.Ballots)
		}
		if err := s.Close(ctx, c.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if c, err = s.Get(ctx, c.ID, true); err != nil {
			t.Fatal(err)
		}
		if r, err = s.Results(ctx, c); err != nil {
			t.Fatal(err)
		}
		if !r.Split || len(r.Channels) != 2 || r.Ballots != [nch]int64{0, 4, 3} || r.Questions[0].Rows[0].N != [nch]int64{0, 0, 3} || r.Questions[0].Rows[1].N != [nch]int64{0, 4, 0} {
			t.Fatalf("three counter answers once closed: split %v, ballots %v, nord %v, ghirlanda %v", r.Split, r.Ballots, r.Questions[0].Rows[0].N, r.Questions[0].Rows[1].N)
		}
	})
}
