package feedback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/throttle"
)

func TestSummariesPutTheLeastClearPageFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &Store{DB: d, Limiter: &throttle.Limiter{DB: d}}
		for i, r := range []Rating{
			{Path: "/faq", Stars: 5, Lang: "it"},
			{Path: "/faq", Stars: 4, Reason: "Le indicazioni erano chiare", Lang: "it"},
			{Path: "/servizi", Stars: 1, Reason: "Ho avuto problemi tecnici", Comment: "non trovo il modulo", Lang: "en"},
			{Path: "/servizi", Stars: 2, Lang: "it"},
		} {
			if err := s.Add(ctx, r, fmt.Sprintf("192.0.2.%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Add(ctx, Rating{Path: "/faq", Stars: 5, Reason: "Ho avuto problemi tecnici"}, "192.0.2.9"); !errors.Is(err, ErrInvalid) {
			t.Errorf("a negative reason with five stars: %v", err)
		}
		got, total, err := s.Summaries(ctx, 0, PerPage)
		if err != nil || total != 2 {
			t.Fatal(total, err)
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

// A token is bound to one path under one key; without a key of
// MinTokenKey bytes nothing is signed and nothing accepted, so a missing
// key cannot make every path rateable.
func TestTokensBindThePath(t *testing.T) {
	tk := Tokens{Key: []byte(strings.Repeat("k", MinTokenKey))}
	faq := tk.Sign("/faq")
	if len(faq) != 22 || !tk.Check("/faq", faq) {
		t.Fatalf("Sign(/faq) = %q, not accepted back", faq)
	}
	other := Tokens{Key: []byte(strings.Repeat("j", MinTokenKey))}
	for name, ok := range map[string]bool{
		"another path":        tk.Check("/faq/", faq),
		"another key":         other.Check("/faq", faq),
		"no token":            tk.Check("/faq", ""),
		"a token cut short":   tk.Check("/faq", faq[:21]),
		"a key too short":     Tokens{Key: []byte("short")}.Check("/faq", Tokens{Key: []byte("short")}.Sign("/faq")),
		"no key, no token":    Tokens{}.Check("/faq", ""),
		"the path as a token": tk.Check("/faq", "/faq"),
	} {
		if ok {
			t.Errorf("%s accepted", name)
		}
	}
}

// A page's detail counts the reasons by side (Altro of the satisfied apart
// from Altro of the dissatisfied) and pages its comments newest first; no
// comment is read when none is asked for.
func TestDetailCountsReasonsAndPagesComments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &Store{DB: d, Limiter: &throttle.Limiter{DB: d}}
		add := func(i int, r Rating) {
			t.Helper()
			if err := s.Add(ctx, r, fmt.Sprintf("198.51.100.%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		add(200, Rating{Path: "/faq", Stars: 5, Reason: "Altro", Lang: "it"})
		add(201, Rating{Path: "/faq", Stars: 1, Reason: "Altro", Lang: "it"})
		add(202, Rating{Path: "/faq", Stars: 2, Reason: "Altro", Lang: "it"})
		add(203, Rating{Path: "/altro", Stars: 2, Comment: "di un'altra pagina", Lang: "it"})
		for i := range PerPage + 2 {
			add(i, Rating{Path: "/faq", Stars: 3, Comment: fmt.Sprintf("commento %d", i), Lang: "it"})
		}
		first, err := s.Detail(ctx, "/faq", 0, PerPage)
		if err != nil {
			t.Fatal(err)
		}
		if first.Count != PerPage+5 || first.CommentCount != PerPage+2 || len(first.Comments) != PerPage {
			t.Fatalf("detail: %d ratings, %d comments, %d shown", first.Count, first.CommentCount, len(first.Comments))
		}
		want := []ReasonCount{{Reason: "Altro", Positive: false, Count: 2}, {Reason: "Altro", Positive: true, Count: 1}}
		if !slices.Equal(first.Reasons, want) {
			t.Errorf("reasons = %+v, want %+v", first.Reasons, want)
		}
		second, err := s.Detail(ctx, "/faq", PerPage, PerPage)
		if err != nil || len(second.Comments) != 2 {
			t.Fatalf("second page: %+v, %v", second, err)
		}
		seen := map[string]bool{}
		for _, c := range append(first.Comments, second.Comments...) {
			if seen[c.Comment] || !strings.HasPrefix(c.Comment, "commento ") {
				t.Errorf("comment %q twice or of another page", c.Comment)
			}
			seen[c.Comment] = true
		}
		if first.Comments[0].Comment != fmt.Sprintf("commento %d", PerPage+1) {
			t.Errorf("first comment %q, want the newest", first.Comments[0].Comment)
		}
		numbers, err := s.Detail(ctx, "/faq", 0, 0)
		if err != nil || len(numbers.Comments) != 0 || numbers.CommentCount != PerPage+2 {
			t.Errorf("numbers only: %+v, %v", numbers, err)
		}
		if _, err := s.Detail(ctx, "/mai-valutata", 0, PerPage); !errors.Is(err, ErrNoRatings) {
			t.Errorf("a page never rated: %v", err)
		}
		page, total, err := s.Summaries(ctx, 1, 1)
		if err != nil || total != 2 || len(page) != 1 || page[0].Path != "/faq" {
			t.Errorf("Summaries(1, 1) = %+v, %d, %v", page, total, err)
		}
	})
}
