package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/taxonomy"
)

// biClasses is every class name Bootstrap Italia's stylesheet defines: what
// the national check (criterion C.SI.1.2) counts as Bootstrap Italia's.
func biClasses(t testing.TB) map[string]bool {
	t.Helper()
	css, err := os.ReadFile("../../internal/web/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`\.(-?[_a-zA-Z][_a-zA-Z0-9-]*)`).FindAllStringSubmatch(string(css), -1) {
		out[m[1]] = true
	}
	if !out["container"] || !out["it-header-wrapper"] || !out["card-teaser"] || len(out) < 1000 {
		t.Fatalf("%d classes read from Bootstrap Italia: the test reads the wrong file", len(out))
	}
	return out
}

// bootstrapShare is the share of the page's distinct class names that are
// Bootstrap Italia's, and the others.
func bootstrapShare(page string, bi map[string]bool) (float64, []string) {
	seen := map[string]bool{}
	var own []string
	for _, m := range regexp.MustCompile(`\sclass="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		for c := range strings.FieldsSeq(m[1]) {
			if seen[c] {
				continue
			}
			seen[c] = true
			if !bi[c] {
				own = append(own, c)
			}
		}
	}
	if len(seen) == 0 {
		return 0, nil
	}
	slices.Sort(own)
	return float64(len(seen)-len(own)) / float64(len(seen)), own
}

// conformanceIssues lists what a page lacks of what the national check of
// the municipal model reads on every page (designers-italia-markup.md,
// "Page checklist"), as far as a page's HTML shows it: the four menu
// entries once each with their titles, the topics and booking links, the
// clarity rating above the footer, the footer's five links, Bootstrap
// Italia's version and at least 30% of its classes, one h1.
func conformanceIssues(page string, bi map[string]bool) []string {
	var issues []string
	for element, title := range map[string]string{"management": "Amministrazione", "news": "Novità", "all-services": "Servizi", "live": "Vivere il Comune"} {
		if n := countElement(page, element); n != 1 {
			issues = append(issues, "the menu entry "+element+" appears "+itoa(n)+" times")
		}
		if !regexp.MustCompile(`<a [^>]*data-element="` + element + `"[^>]*><span>` + title + `</span>`).MatchString(page) {
			issues = append(issues, "the menu entry "+element+" is not a link titled "+title)
		}
	}
	for _, element := range []string{"all-topics", "appointment-booking"} {
		if !regexp.MustCompile(`<a [^>]*href="/[^"#]*"[^>]*data-element="` + element + `"|<a [^>]*data-element="` + element + `"[^>]*href="/[^"#]*"`).MatchString(page) {
			issues = append(issues, "no link "+element+" with an address")
		}
	}
	footerAt, mainEnd, feedbackAt := strings.Index(page, "<footer"), strings.LastIndex(page, "</main>"), strings.Index(page, `data-element="feedback"`)
	if footerAt < 0 || mainEnd < 0 || feedbackAt < 0 || feedbackAt > footerAt {
		issues = append(issues, "no clarity rating above the footer")
	} else {
		rating := page[feedbackAt:footerAt]
		if !strings.Contains(rating, `data-element="feedback-title" lang="it">Quanto sono chiare le informazioni su questa pagina?</span>`) {
			issues = append(issues, "the clarity rating's title is not the national wording")
		}
		for i := 1; i <= 5; i++ {
			if !strings.Contains(rating, `for="rate`+itoa(i)+`" data-element="feedback-rate-`+itoa(i)+`"`) {
				issues = append(issues, "the clarity rating has no label for "+itoa(i)+" stars")
			}
		}
		for _, element := range []string{"feedback-rating-positive", "feedback-rating-negative", "feedback-input-text"} {
			if !strings.Contains(rating, `data-element="`+element+`"`) {
				issues = append(issues, "the clarity rating lacks "+element)
			}
		}
	}
	if footerAt >= 0 {
		footer := page[footerAt:]
		for _, element := range []string{"faq", "legal-notes", "privacy-policy-link", "accessibility-link"} {
			if !regexp.MustCompile(`<a [^>]*href="[^"#][^"]*"[^>]*data-element="` + element + `"`).MatchString(footer) {
				issues = append(issues, "the footer has no link "+element)
			}
		}
		if !strings.Contains(footer, `data-element="report-inefficiency">Segnala disservizio</a>`) {
			issues = append(issues, "the footer has no link titled Segnala disservizio")
		}
	}
	if !strings.Contains(page, "/vendor/bootstrap-italia/css/bootstrap-italia.min.css") {
		issues = append(issues, "Bootstrap Italia's stylesheet is not linked")
	}
	if share, own := bootstrapShare(page, bi); share < 0.30 {
		issues = append(issues, "only "+itoa(int(share*100))+"% of the classes are Bootstrap Italia's; the others: "+strings.Join(own, " "))
	}
	if n := strings.Count(page, "<h1"); n != 1 {
		issues = append(issues, itoa(n)+" h1")
	}
	return issues
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

// The home page, places, events, the Amministrazione pages and the forms
// index, with the demo's content, pass what the national check of the
// municipal model reads on every page; the second-level pages use the
// national titles only, and lead where they say.
func TestContentPagesPassTheNationalCheck(t *testing.T) {
	s := newContentSite(t, dbtest.SQLite(t)) // markup only: the pages' queries run on both engines in content_test.go
	bi := biClasses(t)
	pages := []string{"/", "/vivere-il-comune", "/vivere-il-comune/luoghi", "/vivere-il-comune/luoghi?tipo=parco",
		"/vivere-il-comune/luoghi/biblioteca-civica-il-pertini", "/vivere-il-comune/eventi", "/vivere-il-comune/eventi?periodo=passati",
		"/vivere-il-comune/eventi/letture-animate-per-bambini", "/amministrazione", "/amministrazione/organi-di-governo/giunta-comunale",
		"/amministrazione/politici/davide-conti", "/amministrazione/documenti-e-dati/carta-dei-servizi", "/moduli", "/moduli?q=residenza"}
	for _, c := range taxonomy.ManagementCategories {
		pages = append(pages, "/amministrazione/"+c.Slug)
	}
	for _, p := range pages {
		status, page := s.page(t, p)
		if status != 200 {
			t.Errorf("GET %s = %d", p, status)
			continue
		}
		for _, issue := range conformanceIssues(page, bi) {
			t.Errorf("%s: %s", p, issue)
		}
	}

	// Amministrazione: its category links, all of them national titles.
	_, adm := s.page(t, "/amministrazione")
	titles := regexp.MustCompile(`data-element="management-category-link"[^>]*>([^<]*)</a>`).FindAllStringSubmatch(adm, -1)
	if len(titles) != len(taxonomy.ManagementCategories) {
		t.Errorf("/amministrazione has %d category links, want %d", len(titles), len(taxonomy.ManagementCategories))
	}
	national := []string{"aree amministrative", "documenti e dati", "enti e fondazioni", "organi di governo", "personale amministrativo", "politici", "uffici"}
	for _, m := range titles {
		if !slices.Contains(national, strings.ToLower(m[1])) {
			t.Errorf("/amministrazione: the category %q is not a national title", m[1])
		}
	}
	// Vivere il Comune: its two buttons lead to the places and the events,
	// which list theirs.
	_, live := s.page(t, "/vivere-il-comune")
	for element, want := range map[string]string{"live-button-locations": `href="/vivere-il-comune/luoghi/`, "live-button-events": `data-element="event-link"`} {
		m := regexp.MustCompile(`href="(/[^"]+)" data-element="` + element + `"`).FindStringSubmatch(live)
		if m == nil {
			t.Errorf("/vivere-il-comune has no %s", element)
			continue
		}
		if status, list := s.page(t, m[1]); status != 200 || strings.Count(list, want) < 5 {
			t.Errorf("%s leads to %s: %d, %d times %s", element, m[1], status, strings.Count(list, want), want)
		}
	}
}
