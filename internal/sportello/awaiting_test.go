package sportello

import (
	"context"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	tokens "github.com/civico-pa/civico/internal/token"
)

// The desk's panel counts every application that waits for the resident,
// not only those it lists: seven drafts, two of them submitted, are five
// awaiting whatever the list's limit, the list the most recently changed
// first; another resident's draft counts for them only, and a resident
// with nothing has nothing awaiting.
func TestAwaitingCountsBeyondTheList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestStore(t, d)
		acc, se := testResident(1)
		o := OwnerOf(acc, se)
		var ids []string
		for range 7 {
			a, err := s.Start(ctx, svc, acc, se, tokens.ID(), "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Save(ctx, a.ID, o, DraftEdit{Answers: Answers{"tipo": {"a"}, "conferma": {"yes"}}, Fields: []string{"tipo", "conferma"}}, "test"); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.ID)
		}
		for _, id := range ids[:2] {
			if _, err := s.Submit(ctx, id, o, "test"); err != nil {
				t.Fatal(err)
			}
		}
		_, other := draft(t, s, 2)
		for _, limit := range []int{1, 5, 10} {
			n, list, err := s.Awaiting(ctx, o, limit)
			if err != nil {
				t.Fatal(err)
			}
			if n != 5 || len(list) != min(limit, 7) {
				t.Fatalf("limit %d: %d awaiting, %d listed; want 5, %d", limit, n, len(list), min(limit, 7))
			}
			for i := 1; i < len(list); i++ {
				if list[i].UpdatedAt.After(list[i-1].UpdatedAt) {
					t.Fatalf("limit %d: not the most recently changed first: %+v", limit, list)
				}
			}
		}
		if n, list, err := s.Awaiting(ctx, other, 5); err != nil || n != 1 || len(list) != 1 {
			t.Fatalf("the other resident: %d awaiting, %d listed (%v)", n, len(list), err)
		}
		if n, list, err := s.Awaiting(ctx, Owner{AccountID: "acc-9999"}, 5); err != nil || n != 0 || len(list) != 0 {
			t.Fatalf("a resident with nothing: %d awaiting, %d listed (%v)", n, len(list), err)
		}
	})
}
