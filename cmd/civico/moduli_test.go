package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/attachments"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/forms"
)

// /moduli lists the forms residents can download, with a search over
// their titles, descriptions and services; the demo's are real PDFs on
// their services' pages.
func TestPublicFormsIndex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newContentSite(t, d)
		status, all := s.page(t, "/moduli")
		if status != 200 || !strings.Contains(all, "Tutti i moduli (6)") {
			t.Fatalf("/moduli: %d", status)
		}
		if got := strings.Join(crumbs(all), " / "); got != "Home / Servizi / Moduli" {
			t.Errorf("breadcrumb %q", got)
		}
		link := regexp.MustCompile(`<a href="(/moduli/[0-9a-f]{32})" type="application/pdf" lang="it">Dichiarazione di residenza</a>`).FindStringSubmatch(all)
		if link == nil {
			t.Fatal("the residence declaration is not listed as a PDF")
		}
		res, pdf := s.do(t, "GET", link[1], "", nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("download: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if typ, err := attachments.Detect(strings.NewReader(string(pdf)), int64(len(pdf))); err != nil || typ != attachments.PDF {
			t.Errorf("the download is not a PDF: %v", err)
		}
		if _, svc := s.page(t, "/servizi/anagrafe-e-stato-civile/cambio-residenza"); !strings.Contains(svc, "Dichiarazione di residenza") {
			t.Error("the service page does not list its form")
		}
		for q, want := range map[string][]string{
			"residenza":              {"Dichiarazione di residenza"},
			"Dichiarazioni":          {"Dichiarazione di residenza"},                     // another ending
			"carraio":                {"Domanda di autorizzazione per il passo carraio"}, // the title
			"mensa dieta":            {"Richiesta di dieta speciale per la mensa scolastica"},
			"disabilità":             {"Richiesta del contrassegno di parcheggio per persone con disabilità (CUDE)"}, // the service's title holds it
			"suolo %_":               {"Domanda di occupazione temporanea di suolo pubblico"},                        // LIKE's wildcards are not words
			"pratiche edilizie orti": nil,
		} {
			status, page := s.page(t, "/moduli?"+url.Values{"q": {q}}.Encode())
			if status != 200 {
				t.Errorf("q=%q: %d", q, status)
				continue
			}
			titles := regexp.MustCompile(`type="application/pdf" lang="it">([^<]+)</a>`).FindAllStringSubmatch(page, -1)
			var got []string
			for _, m := range titles {
				got = append(got, htmlUnescape(m[1]))
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("q=%q found %v, want %v", q, got, want)
			}
			if want == nil && !strings.Contains(page, "Nessun modulo contiene tutte queste parole") {
				t.Errorf("q=%q: no message for no result", q)
			}
		}
		for q, msg := range map[string]string{strings.Repeat("a", 101): "Scrivi al massimo 100 caratteri.", "a %_": "Scrivi almeno una parola di due lettere."} {
			status, page := s.page(t, "/moduli?"+url.Values{"q": {q}}.Encode())
			if status != http.StatusBadRequest || !strings.Contains(page, `id="f-q-error"`) || !strings.Contains(page, msg) || !strings.Contains(page, `aria-invalid="true"`) {
				t.Errorf("q=%q: %d, the error is not beside the field", q, status)
			}
		}
		if status, _ := s.page(t, "/moduli?pagina=2"); status != http.StatusNotFound {
			t.Errorf("a page past the last: %d", status)
		}
		// An archived form leaves the index.
		list, _ := s.store.List(context.Background())
		if err := s.store.SetArchived(context.Background(), list[0].ID, true, forms.Actor{AccountID: "test"}); err != nil {
			t.Fatal(err)
		}
		s.apps.portal.PurgeCaches()
		if _, after := s.page(t, "/moduli"); !strings.Contains(after, "Tutti i moduli (5)") || strings.Contains(after, ">"+list[0].Title+"</a>") {
			t.Error("an archived form is still listed")
		}
	})
}

// Page after page: 20 forms a page, each once, in title order.
func TestPublicFormsIndexPages(t *testing.T) {
	s := newContentSite(t, dbtest.SQLite(t)) // the pages' arithmetic; the query runs on both in TestPublicFormsIndex
	op := s.operator(t, "desk@comune.example.it", "desk")
	for i := range 40 {
		s.createForm(t, op, "tari", "Modulo di prova "+string(rune('A'+i%26))+string(rune('a'+i/26)), "prova.pdf", []byte(demoPDF(t)))
	}
	seen := map[string]bool{}
	for n, want := range map[int]int{1: 20, 2: 20, 3: 6} {
		status, page := s.page(t, "/moduli?"+url.Values{"pagina": {string(rune('0' + n))}}.Encode())
		titles := regexp.MustCompile(`type="application/pdf" lang="it">([^<]+)</a>`).FindAllStringSubmatch(page, -1)
		if status != 200 || len(titles) != want {
			t.Errorf("page %d: %d, %d forms, want %d", n, status, len(titles), want)
		}
		for _, m := range titles {
			if seen[m[1]] {
				t.Errorf("%s on two pages", m[1])
			}
			seen[m[1]] = true
		}
	}
	if len(seen) != 46 {
		t.Errorf("%d forms over the pages, want 46", len(seen))
	}
}

func demoPDF(t *testing.T) string {
	t.Helper()
	b, err := forms.DemoForms[0].PDF("Comune di Prova", "Via Roma 1")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
