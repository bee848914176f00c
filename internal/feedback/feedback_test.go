package feedback

import (
	"context"
	"errors"
	"fmt"
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
