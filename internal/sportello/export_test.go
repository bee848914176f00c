package sportello

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// The data download reads a page of applications with their histories,
// messages and files a statement each, and gives each application its own:
// a resident with 60 applications (two pages), some with messages from
// both sides, gets each with exactly the history and messages the
// application's page shows (History, Messages, Documents), and another
// resident's are in neither.
func TestExportGivesEachApplicationItsOwn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		var ids []string
		var o Owner
		for i := range 60 {
			a, owner := draft(t, s, 1)
			o = owner
			ids = append(ids, a.ID)
			if i%3 == 0 {
				continue // a draft: one history entry
			}
			if _, err := s.Submit(ctx, a.ID, o, "test"); err != nil {
				t.Fatal(err)
			}
			for k := range i % 4 {
				if _, err := s.Act(ctx, a.ID, &o, Step{Action: Message, Actor: Resident, ActorID: o.AccountID, Note: fmt.Sprintf("messaggio %d di %d", k, i)}); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Act(ctx, a.ID, nil, Step{Action: Message, Actor: Office, ActorID: "op-1", Note: fmt.Sprintf("risposta %d a %d", k, i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		other, otherOwner := draft(t, s, 2)
		if _, err := s.Submit(ctx, other.ID, otherOwner, "test"); err != nil {
			t.Fatal(err)
		}
		acc, _ := testResident(1)
		out, err := (&Module{Store: s}).export(ctx, acc)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		var got []struct {
			Application struct{ ID string } `json:"application"`
			History     []HistoryEntry      `json:"history"`
			Messages    []Note              `json:"messages"`
			Documents   []Document          `json:"documents"`
		}
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		entries, notes := 0, 0
		for _, it := range got {
			gotIDs = append(gotIDs, it.Application.ID)
			history, err := s.History(ctx, it.Application.ID)
			if err != nil {
				t.Fatal(err)
			}
			messages, err := s.Messages(ctx, it.Application.ID)
			if err != nil {
				t.Fatal(err)
			}
			h1, _ := json.Marshal(history)
			h2, _ := json.Marshal(it.History)
			m1, _ := json.Marshal(messages)
			m2, _ := json.Marshal(it.Messages)
			if string(h1) != string(h2) || string(m1) != string(m2) {
				t.Fatalf("%s: the download's history and messages are not the application's:\n%s\n%s\n%s\n%s", it.Application.ID, h2, h1, m2, m1)
			}
			entries += len(it.History)
			notes += len(it.Messages)
		}
		if entries == 0 || notes == 0 {
			t.Fatalf("the download holds %d history entries and %d messages", entries, notes)
		}
		slices.Sort(gotIDs)
		slices.Sort(ids)
		if !slices.Equal(gotIDs, ids) {
			t.Fatalf("the download holds %d applications, want the resident's %d", len(gotIDs), len(ids))
		}
	})
}
