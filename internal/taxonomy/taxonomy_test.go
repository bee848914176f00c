package taxonomy

import "testing"

func TestSlug(t *testing.T) {
	tests := map[string]string{
		"Mobilità e trasporti":               "mobilita-e-trasporti",
		"Tributi, finanze e contravvenzioni": "tributi-finanze-e-contravvenzioni",
		"Accesso all'informazione":           "accesso-all-informazione",
		"Covid-19":                           "covid-19",
		"  PNRR  ":                           "pnrr",
	}
	for in, want := range tests {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVocabulariesHaveUniqueSlugs(t *testing.T) {
	for name, vocab := range map[string][]Term{
		"services": ServiceCategories, "management": ManagementCategories, "news": NewsCategories, "topics": Topics,
		"life events": LifeEvents, "business events": BusinessEvents,
	} {
		seen := map[string]bool{}
		for _, term := range vocab {
			if term.Slug == "" || seen[term.Slug] {
				t.Errorf("%s: slug %q empty or repeated", name, term.Slug)
			}
			seen[term.Slug] = true
			if got, ok := Find(vocab, term.Slug); !ok || got != term {
				t.Errorf("%s: Find(%q) = %v, %v", name, term.Slug, got, ok)
			}
		}
	}
	if len(Topics) != 64 {
		t.Errorf("%d topics, the national vocabulary has 64", len(Topics))
	}
	// The national codes: life-event 9 is the change of residence,
	// business-event 1 the start of a company.
	if e, _ := Find(LifeEvents, "9"); len(LifeEvents) != 19 || e.Title != "Cambio di residenza/domicilio" {
		t.Errorf("%d life events, code 9 is %q", len(LifeEvents), e.Title)
	}
	if e, _ := Find(BusinessEvents, "1"); len(BusinessEvents) != 15 || e.Title != "Avvio impresa" {
		t.Errorf("%d business events, code 1 is %q", len(BusinessEvents), e.Title)
	}
}
