package main

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/news"
)

// newsService is the news rules as buildApps wired them, for what a test
// runs directly (the digest).
func newsService(s *idSite) *news.Service { return s.apps.civico.news.Service }

// The portal's Novità section is the news package's: the national
// categories, their lists, the feeds and the subscription form.
func TestNewsSectionIsWired(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		res, body := get(t, s.portal.URL+"/novita")
		if res.StatusCode != 200 || countElement(body, "news-category-link") != 3 || !strings.Contains(body, `href="/novita/iscriviti"`) {
			t.Fatalf("GET /novita: %d", res.StatusCode)
		}
		for _, c := range []string{"notizie", "comunicati", "avvisi"} {
			if res, _ := get(t, s.portal.URL+"/novita/"+c); res.StatusCode != 200 {
				t.Errorf("/novita/%s: %d", c, res.StatusCode)
			}
			res, body := get(t, s.portal.URL+"/novita/"+c+"/feed.atom")
			var f struct {
				XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
				ID      string   `xml:"id"`
			}
			if res.StatusCode != 200 || xml.Unmarshal([]byte(body), &f) != nil || f.ID != "http://portal.test/novita/"+c+"/feed.atom" {
				t.Errorf("/novita/%s/feed.atom: %d %+v", c, res.StatusCode, f)
			}
		}
		if res, _ := get(t, s.portal.URL+"/novita/eventi"); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown category: %d", res.StatusCode)
		}
		if res, body := get(t, s.portal.URL+"/novita/iscriviti", "Accept-Language", "en"); res.StatusCode != 200 || !strings.Contains(body, "Get the news by email") {
			t.Errorf("subscription form: %d", res.StatusCode)
		}
		res, _ = get(t, s.portal.URL+"/backoffice/notizie")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accedi?next=%2Fbackoffice%2Fnotizie" {
			t.Errorf("anonymous back office: %d to %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// From the operator who publishes to the resident who reads the digest.
func TestNewsFromOperatorToResident(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		base := s.plain.URL
		svc := newsService(s)

		desk := operatorBrowser(t, s, "desk@comune.example.it", "desk")
		if res, _ := desk.do("GET", base+"/backoffice/notizie", nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("operator without urp or admin: %d", res.StatusCode)
		}
		urp := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		if _, body := urp.do("GET", base+"/backoffice", nil); !strings.Contains(body, `href="/backoffice/notizie"`) {
			t.Error("the back-office home does not lead to the news")
		}

		// A resident subscribes to public transport, without an account.
		resident := s.browser(t, nil)
		res, body := resident.do("POST", base+"/novita/iscriviti", url.Values{"email": {"anna@example.org"}, "topics": {"trasporto-pubblico"}})
		if res.StatusCode != 200 {
			t.Fatalf("subscription: %d\n%s", res.StatusCode, body)
		}
		msgs := s.deliver(t, 1)
		if msgs[0].To[0] != "anna@example.org" || !strings.Contains(msgs[0].Subject, "Comune di Cinisello Balsamo") {
			t.Fatalf("confirmation mail: %+v", msgs[0])
		}
		tok := tokenOf(t, msgs[0])
		if res, body := resident.do("GET", base+"/novita/conferma?token="+tok, nil); res.StatusCode != 200 || !strings.Contains(body, `value="`+tok+`"`) {
			t.Fatalf("confirmation page: %d", res.StatusCode)
		}
		if res, _ := resident.do("POST", base+"/novita/conferma", url.Values{"token": {tok}}); res.StatusCode != 200 {
			t.Fatalf("confirmation: %d", res.StatusCode)
		}

		// The URP publishes an item on public transport.
		form := url.Values{"title": {"Sciopero dei mezzi pubblici venerdì"}, "summary": {"Autobus e tram a rischio dalle 8.30 alle 17."},
			"body": {"Venerdì è previsto uno sciopero.\n\nLe fasce garantite sono quelle del mattino e della sera."}, "category": {"avvisi"},
			"topics": {"trasporto-pubblico"}, "action": {"publish"}}
		res, _ = urp.do("POST", base+"/backoffice/notizie/nuova", form)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("publish: %d", res.StatusCode)
		}
		res, body = get(t, base+"/novita/avvisi/sciopero-dei-mezzi-pubblici-venerdi")
		if res.StatusCode != 200 || !strings.Contains(body, `<h1 lang="it">Sciopero dei mezzi pubblici venerdì</h1>`) {
			t.Fatalf("the published item: %d", res.StatusCode)
		}
		if _, body := get(t, base+"/novita"); !strings.Contains(body, "Sciopero dei mezzi pubblici venerdì") {
			t.Error("the section page does not show the latest item")
		}
		if latest, err := svc.Latest(ctx, 3); err != nil || len(latest) != 1 {
			t.Errorf("Latest: %v %d", err, len(latest))
		}

		// The daily digest brings it to her, once.
		digest := &news.Digest{News: svc}
		if n, err := digest.Send(ctx, time.Now()); n != 1 || err != nil {
			t.Fatalf("digest: %d %v", n, err)
		}
		if n, _ := digest.Send(ctx, time.Now()); n != 0 {
			t.Errorf("a second digest: %d", n)
		}
		m := s.deliver(t, 2)[1]
		if !strings.Contains(m.Text, "Sciopero dei mezzi pubblici venerdì") || !strings.Contains(m.Text, base+"/novita/avvisi/sciopero-dei-mezzi-pubblici-venerdi") {
			t.Fatalf("digest mail:\n%s", m.Text)
		}
		unsub := tokenOf(t, m)
		if res, _ := resident.do("POST", base+"/novita/disiscriviti", url.Values{"token": {unsub}}); res.StatusCode != 200 {
			t.Errorf("unsubscribe: %d", res.StatusCode)
		}

		records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "news.published", Limit: 10})
		if len(records) != 1 || !strings.HasPrefix(records[0].Actor, "account:") {
			t.Errorf("audit: %+v", records)
		}
		if n, err := (&audit.Log{DB: d}).Verify(ctx); err != nil || n == 0 {
			t.Errorf("audit chain: %d %v", n, err)
		}
	})
}
