package sportello

import (
	"context"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// A volume copies a submitted application: the first Owned its owner's,
// the rest PerResident each of made-up accounts, a third of them in each
// phase's state, each with its own protocol of last year's register above
// the town's own numbers; a draft is not copied.
func TestAddVolume(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		a, o := draft(t, s, 0)
		if _, err := s.AddVolume(ctx, Volume{Template: a.ID, N: 10, PerResident: 5}); err == nil {
			t.Fatal("a draft copied")
		}
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		if n, err := s.AddVolume(ctx, Volume{Template: a.ID, N: 30, Owned: 5, PerResident: 10}); err != nil || n != 30 {
			t.Fatalf("added %d, %v", n, err)
		}
		if _, total, err := s.Mine(ctx, o, 1); err != nil || total != 6 {
			t.Errorf("the owner's: %d, %v; want 6 (theirs and 5 copies)", total, err)
		}
		for account, want := range map[string]int{"volume-000000": 10, "volume-000001": 10, "volume-000002": 5} {
			if _, total, err := s.Mine(ctx, Owner{AccountID: account}, 1); err != nil || total != want {
				t.Errorf("%s: %d, %v; want %d", account, total, err, want)
			}
		}
		var states, protocols int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(DISTINCT state), COUNT(DISTINCT protocol) FROM sportello_applications WHERE id <> $1`,
			a.ID).Scan(&states, &protocols); err != nil {
			t.Fatal(err)
		}
		if states != 3 || protocols != 30 {
			t.Errorf("%d states, %d protocols; want 3 and 30", states, protocols)
		}
		var first string
		if err := d.QueryRowContext(ctx, `SELECT MIN(protocol) FROM sportello_applications WHERE id <> $1`, a.ID).Scan(&first); err != nil {
			t.Fatal(err)
		}
		if seq := protocolSeq(t, first); seq != VolumeProtocolBase+1 {
			t.Errorf("the first copy's protocol %s, want number %d", first, VolumeProtocolBase+1)
		}
	})
}

// A resident's list is in pages of PageSize, the most recently changed
// first, each application on exactly one page.
func TestMinePages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		a, o := draft(t, s, 0)
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		// The copies are dated one a second before now, the newest last;
		// the template (submitted now) is the most recent.
		if _, err := s.AddVolume(ctx, Volume{Template: a.ID, N: 120, Owned: 120, PerResident: 1, Now: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var last time.Time
		for page, want := range []int{50, 50, 21, 0} {
			list, total, err := s.Mine(ctx, o, page+1)
			if err != nil || total != 121 || len(list) != want {
				t.Fatalf("page %d: %d of %d, %v; want %d of 121", page+1, len(list), total, err, want)
			}
			for i, x := range list {
				if seen[x.ID] {
					t.Fatalf("page %d: %s twice", page+1, x.ID)
				}
				seen[x.ID] = true
				if (page > 0 || i > 0) && x.UpdatedAt.After(last) {
					t.Fatalf("page %d, row %d: %v after %v: not the most recent first", page+1, i, x.UpdatedAt, last)
				}
				last = x.UpdatedAt
			}
			if page == 0 && list[0].ID != a.ID {
				t.Errorf("the first row %s, want the template, the most recent", list[0].ID)
			}
		}
	})
}

// The queues' counts kept (CountsTTL) follow this store's changes at once:
// a submission adds to the queue to assign, an operator taking it moves it
// to theirs, a purge or a volume added changes them too.
func TestCountsFollowThisStoresChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		s.CountsTTL = time.Hour
		counts := func() (toAssign, mine Count) {
			t.Helper()
			c, err := s.Counts(ctx, "op-1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return c[QueueToAssign], c[QueueMine]
		}
		if a, m := counts(); a != 0 || m != 0 {
			t.Fatalf("before: %d to assign, %d mine", a, m)
		}
		a, o := draft(t, s, 0)
		if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		if a, m := counts(); a != 1 || m != 0 {
			t.Fatalf("after a submission: %d to assign, %d mine; want 1 and 0", a, m)
		}
		if _, err := s.Act(ctx, a.ID, nil, Step{Action: Take, Actor: Office, ActorID: "op-1"}); err != nil {
			t.Fatal(err)
		}
		if a, m := counts(); a != 0 || m != 1 {
			t.Fatalf("after taking it: %d to assign, %d mine; want 0 and 1", a, m)
		}
		if _, err := s.AddVolume(ctx, Volume{Template: a.ID, N: 3, PerResident: 3}); err != nil {
			t.Fatal(err)
		}
		if a, _ := counts(); a != 1 {
			t.Fatalf("after a volume of 3 (one to assign): %d to assign", a)
		}
		// A change the store did not make (another process) shows after
		// the TTL only.
		if _, err := d.ExecContext(ctx, `UPDATE sportello_applications SET assignee_id = 'op-9' WHERE assignee_id IS NULL AND phase = 'open'`); err != nil {
			t.Fatal(err)
		}
		if a, _ := counts(); a != 1 {
			t.Fatalf("a change elsewhere within the TTL: %d to assign, want the kept 1", a)
		}
	})
}
