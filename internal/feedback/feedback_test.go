package feedback

import (
	"context"
	"errors"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

func TestSummariesPutTheLeastClearPageFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &Store{DB: d}
		for _, r := range []Rating{
			{Path: "/faq", Stars: 5, Lang: "it"},
			{Path: "/faq", Stars: 4, Reason: "Le indicazioni erano chiare", Lang: "it"},
			{Path: "/servizi", Stars: 1, Reason: "Ho avuto problemi tecnici", Comment: "non trovo il modulo", Lang: "en"},
			{Path: "/servizi", Stars: 2, Lang: "it"},
		} {
			if err := s.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Add(ctx, Rating{Path: "/faq", Stars: 5, Reason: "Ho avuto problemi tecnici"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("a negative reason with five stars: %v", err)
		}
		got, err := s.Summaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []Summary{{Path: "/servizi", Count: 2, Average: 1.5}, {Path: "/faq", Count: 2, Average: 4.5}}
		if len(got) != len(want) {
			t.Fatalf("Summaries = %+v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("summary %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}
