package forms

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	for q, want := range map[string][]string{
		"Dichiarazione di residenza":           {"dichiarazion", "di", "residenz"},
		"MULTA":                                {"mult"},
		"passo-carraio, 2026":                  {"pass", "carrai", "2026"},
		"a % _ é":                              nil,
		"uno due tre quattro cinque sei sette": {"uno", "due", "tre", "quattr", "cinqu", "sei"},
	} {
		if got := Words(q); !slices.Equal(got, want) {
			t.Errorf("Words(%q) = %q, want %q", q, got, want)
		}
	}
	if got, want := likePattern(`50%_\`), `%50\%\_\\%`; got != want {
		t.Errorf("likePattern = %q, want %q", got, want)
	}
}
