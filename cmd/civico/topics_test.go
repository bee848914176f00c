package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/news"
)

// A topic page lists the services and the published news that carry the
// topic, and nothing else: the topic chips of service pages lead there.
func TestTopicPagesListWhatCarriesTheTopic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		svc := s.apps.civico.news.Service
		by := news.Actor{AccountID: "test"}
		add := func(title, topic, action string) *news.Item {
			t.Helper()
			it, err := svc.Create(ctx, news.Input{Title: title, Summary: "Il riassunto di " + title, Body: "Il testo.", Category: "notizie",
				Topics: []string{"tempo-libero", topic}, Action: action}, by)
			if err != nil {
				t.Fatal(err)
			}
			return it
		}
		published := add("Nuovi orari dell'anagrafe", "anagrafe", news.ActionPublish)
		draft := add("Bozza sull'anagrafe", "anagrafe", news.ActionDraft)
		other := add("Lavori in biblioteca", "patrimonio-culturale", news.ActionPublish)

		res, body := get(t, s.portal.URL+"/argomenti/anagrafe")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /argomenti/anagrafe: %d", res.StatusCode)
		}
		cat, err := s.apps.civico.catalog.Store.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, sv := range cat.Services {
			href := `href="/servizi/` + sv.Category + `/` + sv.ID + `"`
			switch has := slices.Contains(sv.Topics, "anagrafe"); {
			case has && !strings.Contains(body, href):
				t.Errorf("the topic page does not list %s", sv.ID)
			case !has && strings.Contains(body, href):
				t.Errorf("the topic page lists %s, which does not carry the topic", sv.ID)
			}
			if slices.Contains(sv.Topics, "anagrafe") {
				n++
			}
		}
		if n < 8 {
			t.Fatalf("the demo has %d services on anagrafe", n)
		}
		if !strings.Contains(body, `href="`+published.Path()+`"`) {
			t.Error("the topic page does not list the published item")
		}
		for _, it := range []*news.Item{draft, other} {
			if strings.Contains(body, it.Path()) {
				t.Errorf("the topic page lists %q", it.Title)
			}
		}
		if strings.Contains(body, "Nessun contenuto pubblicato") {
			t.Error("the topic page says nothing is published")
		}

		// A topic nothing carries says so.
		if _, body := get(t, s.portal.URL+"/argomenti/pnrr"); !strings.Contains(body, "Nessun contenuto pubblicato") {
			t.Error("an empty topic does not say so")
		}

		// The news are paginated.
		for i := range 12 {
			add(fmt.Sprintf("Evento sportivo numero %d", i), "sport", news.ActionPublish)
		}
		card := regexp.MustCompile(`href="/novita/notizie/evento-sportivo-numero-`)
		_, p1 := get(t, s.portal.URL+"/argomenti/sport")
		res, p2 := get(t, s.portal.URL+"/argomenti/sport?pagina=2")
		if a, b := len(card.FindAllString(p1, -1)), len(card.FindAllString(p2, -1)); res.StatusCode != 200 || a+b != 12 || b == 0 {
			t.Errorf("pages of sport news: %d and %d (%d)", a, b, res.StatusCode)
		}
		if !strings.Contains(p1, `href="/argomenti/sport?pagina=2"`) {
			t.Error("the first page does not lead to the second")
		}
		for _, q := range []string{"?pagina=3", "?pagina=0", "?pagina=x"} {
			if res, _ := get(t, s.portal.URL+"/argomenti/sport"+q); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", q, res.StatusCode)
			}
		}
		if res, _ := get(t, s.portal.URL+"/argomenti/nessuno"); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown topic: %d", res.StatusCode)
		}
	})
}
