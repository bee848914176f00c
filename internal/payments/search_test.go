package payments

import (
	"context"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// TestSearchTakesTheWordsAsTyped: the finance office's search finds the
// reasons that contain what was typed; a % or an _ in it is a character,
// not LIKE's wildcard.
func TestSearchTakesTheWordsAsTyped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		mustCreate(t, s, canteen(anna, 4520))
		sconto := canteen(mario, 3000)
		sconto.Reason = "Mensa, sconto 50% secondo_figlio"
		mustCreate(t, s, sconto)
		for q, want := range map[string]int{"mensa": 2, "%": 1, "50%": 1, "_": 1, "o_f": 1, "a_s": 0, "%%": 0} {
			_, total, err := s.Search(ctx, Filter{Q: q, Page: 1})
			if err != nil || total != want {
				t.Errorf("search %q: %d found, want %d (%v)", q, total, want, err)
			}
		}
	})
}
