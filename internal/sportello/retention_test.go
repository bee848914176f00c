package sportello

import (
	"context"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// An application concluded longer ago than its form's retention goes,
// with its history and messages, each with an audit entry naming its
// service and registry number; one concluded a day less ago, an open one
// and a recent draft stay; a draft untouched for DraftRetention goes; a
// second purge finds nothing; a bad retention is refused by the form.
func TestPurgeAfterRetention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		def := testDef()
		def.RetentionYears = 2
		if _, err := s.Forms.Edit(ctx, svc, "test", "", nil, func(x *Definition) error { *x = *def; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Forms.Publish(ctx, svc, "test", ""); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		now := start
		s.Now = func() time.Time { return now }
		conclude := func(n int) string {
			a, o := draft(t, s, n)
			if _, err := s.Submit(ctx, a.ID, o, ""); err != nil {
				t.Fatal(err)
			}
			for _, step := range []Step{{Action: Take, Actor: Office, ActorID: "op-1"}, {Action: Cancel, Actor: Office, ActorID: "op-1", Note: "Annullata: doppia"}} {
				if _, err := s.Act(ctx, a.ID, nil, step); err != nil {
					t.Fatalf("%s: %v", step.Action, err)
				}
			}
			return a.ID
		}
		old := conclude(1)
		now = start.AddDate(0, 0, 1)
		younger := conclude(2)
		open, o := draft(t, s, 3)
		if _, err := s.Submit(ctx, open.ID, o, ""); err != nil {
			t.Fatal(err)
		}
		staleDraft, _ := draft(t, s, 4)
		now = start.AddDate(2, 0, 0).Add(time.Hour)
		freshDraft, _ := draft(t, s, 5)

		concluded, drafts, err := s.Purge(ctx)
		if err != nil || concluded != 1 || drafts != 1 {
			t.Fatalf("purge: %d concluded, %d drafts, %v; want 1, 1", concluded, drafts, err)
		}
		exists := func(id string) bool {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM sportello_applications WHERE id = $1`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 1
		}
		for id, want := range map[string]bool{old: false, younger: true, open.ID: true, staleDraft.ID: false, freshDraft.ID: true} {
			if exists(id) != want {
				t.Errorf("application %s kept %v, want %v", id, !want, want)
			}
		}
		var rows int
		if err := d.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM sportello_history WHERE application_id = $1) +
			(SELECT COUNT(*) FROM sportello_messages WHERE application_id = $1)`, old).Scan(&rows); err != nil || rows != 0 {
			t.Errorf("the purged application left %d history or message rows (%v)", rows, err)
		}
		records, err := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Subject: "application:" + old, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var purged *audit.Record
		for i := range records {
			if records[i].Action == "sportello.application.purged" {
				purged = &records[i]
			}
		}
		if purged == nil || purged.Details["service"] != svc || purged.Details["protocol"] == "" || purged.Details["retention_years"] != "2" {
			t.Errorf("the purge's audit entry: %+v", purged)
		}
		if c, dr, err := s.Purge(ctx); err != nil || c+dr != 0 {
			t.Errorf("a second purge: %d, %d, %v", c, dr, err)
		}
		// A day later the younger one's term has passed too.
		now = now.AddDate(0, 0, 1)
		if c, _, err := s.Purge(ctx); err != nil || c != 1 || exists(younger) {
			t.Errorf("the next day: %d purged (%v), younger kept %v", c, err, exists(younger))
		}
	})
}

func TestRetentionIsBounded(t *testing.T) {
	for _, y := range []int{-1, MaxRetentionYears + 1} {
		d := testDef()
		d.RetentionYears = y
		if err := d.Validate(); err == nil {
			t.Errorf("a retention of %d years was accepted", y)
		}
	}
	d := testDef()
	if d.Retention() != DefaultRetentionYears {
		t.Errorf("no retention set: %d years, want %d", d.Retention(), DefaultRetentionYears)
	}
}
