package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/content"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/town"
)

// newContentSite is the demo town with its content, news and forms, as
// `civico demo` fills it, served as serve builds it.
func newContentSite(t testing.TB, d *db.DB) *formsSite { return newTunedContentSite(t, d, nil) }

func newTunedContentSite(t testing.TB, d *db.DB, tune func(*config)) *formsSite {
	t.Helper()
	s := newTunedFormsSite(t, d, tune)
	ctx := context.Background()
	if err := ensureDemoContent(ctx, d, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoNews(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoForms(ctx, d, town.NewStore(d, 0), s.dir); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *formsSite) page(t testing.TB, path string, header ...string) (int, string) {
	t.Helper()
	res, b := s.do(t, "GET", path, "", nil, header...)
	return res.StatusCode, string(b)
}

// metadataOf decodes a page's schema.org description.
func metadataOf(t testing.TB, page string) map[string]any {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no schema.org description")
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(m[1]), &out); err != nil {
		t.Fatalf("schema.org description: %v", err)
	}
	return out
}

func crumbs(page string) []string {
	nav := regexp.MustCompile(`(?s)<ol class="breadcrumb p-0" data-element="breadcrumb">(.*?)</ol>`).FindStringSubmatch(page)
	if nav == nil {
		return nil
	}
	var out []string
	for _, m := range regexp.MustCompile(`<li class="breadcrumb-item[^"]*"[^>]*>(?:<a href="[^"]*">)?([^<]*)`).FindAllStringSubmatch(nav[1], -1) {
		out = append(out, m[1])
	}
	return out
}

// The places, the events and the Amministrazione pages show the demo's
// content in the national model's markup: breadcrumbs, schema.org
// descriptions, the calendar's links and iCalendar files.
func TestContentPagesFollowTheMunicipalModel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newContentSite(t, d)
		status, places := s.page(t, "/vivere-il-comune/luoghi")
		if status != 200 || !strings.Contains(places, "Biblioteca civica Il Pertini") || !strings.Contains(places, "Parco del Grugnotorto") {
			t.Fatalf("places: %d", status)
		}
		if _, parks := s.page(t, "/vivere-il-comune/luoghi?tipo=parco"); strings.Contains(parks, "Biblioteca civica") || !strings.Contains(parks, "Parco di Villa Ghirlanda") {
			t.Error("the places of a type include others, or leave out its own")
		}
		for _, bad := range []string{"/vivere-il-comune/luoghi?tipo=nessuno", "/vivere-il-comune/luoghi?pagina=0", "/vivere-il-comune/luoghi?pagina=2",
			"/vivere-il-comune/luoghi/nessuno", "/vivere-il-comune/eventi?periodo=ieri", "/amministrazione/nessuna", "/amministrazione/politici/nessuno",
			"/amministrazione/documenti-e-dati?tipo=nessuno", "/vivere-il-comune/eventi/nessuno/evento.ics"} {
			if status, _ := s.page(t, bad); status != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", bad, status)
			}
		}

		status, lib := s.page(t, "/vivere-il-comune/luoghi/biblioteca-civica-il-pertini")
		if status != 200 {
			t.Fatalf("place: %d", status)
		}
		if got, want := strings.Join(crumbs(lib), " / "), "Home / Vivere il Comune / Luoghi / Biblioteca civica Il Pertini"; got != want {
			t.Errorf("place breadcrumb %q, want %q", got, want)
		}
		m := metadataOf(t, lib)
		if m["@type"] != "Library" || m["address"].(map[string]any)["streetAddress"] != "Piazza Confalonieri 3" || m["geo"] == nil {
			t.Errorf("place metadata: %v", m)
		}
		if !strings.Contains(lib, `href="https://www.openstreetmap.org/directions?route=%3B45.555300%2C9.217200&amp;to=45.555300%2C9.217200"`) ||
			!strings.Contains(lib, `href="geo:45.555300,9.217200"`) || !strings.Contains(lib, "Indicazioni stradali") {
			t.Error("the place has no directions to its coordinates")
		}
		if strings.Contains(lib, "<svg class=\"map-static\"") {
			t.Error("a map without a tile server configured")
		}
		if !strings.Contains(lib, "Prossimi eventi in questo luogo") || !strings.Contains(lib, "Letture animate per bambini") {
			t.Error("the library's page does not list its coming events")
		}

		// The calendar: coming events soonest first, each an event-link;
		// the past ones apart.
		status, events := s.page(t, "/vivere-il-comune/eventi")
		if status != 200 || countElement(events, "event-link") != 7 {
			t.Fatalf("events: %d, %d event links", status, countElement(events, "event-link"))
		}
		var starts []string
		for _, m := range regexp.MustCompile(`<p class="small mb-2 fw-semibold">(?:dal )?<time datetime="([^"]+)"`).FindAllStringSubmatch(events, -1) {
			starts = append(starts, m[1])
		}
		for i := 1; i < len(starts); i++ {
			a, _ := time.Parse(time.RFC3339, starts[i-1])
			b, _ := time.Parse(time.RFC3339, starts[i])
			if b.Before(a) {
				t.Errorf("events out of order: %s before %s", starts[i-1], starts[i])
			}
		}
		if strings.Contains(events, "Pulizia collettiva del parco") {
			t.Error("a past event among the coming ones")
		}
		if _, past := s.page(t, "/vivere-il-comune/eventi?periodo=passati"); !strings.Contains(past, "Pulizia collettiva del parco") {
			t.Error("the past events do not list the past one")
		}
		status, ev := s.page(t, "/vivere-il-comune/eventi/letture-animate-per-bambini")
		if status != 200 || !strings.Contains(ev, `href="/vivere-il-comune/eventi/letture-animate-per-bambini/evento.ics"`) {
			t.Fatalf("event: %d", status)
		}
		if got, want := strings.Join(crumbs(ev), " / "), "Home / Vivere il Comune / Eventi / Letture animate per bambini"; got != want {
			t.Errorf("event breadcrumb %q, want %q", got, want)
		}
		em := metadataOf(t, ev)
		start, err := time.Parse(time.RFC3339, em["startDate"].(string))
		if em["@type"] != "Event" || err != nil || start.In(hours.Rome).Format("15:04") != "10:30" || em["location"].(map[string]any)["name"] != "Biblioteca civica Il Pertini" {
			t.Errorf("event metadata: %v", em)
		}
		// Its calendar file: the same at every download (a subscribed
		// calendar updates it rather than adding it twice), in UTC.
		res1, ics1 := s.do(t, "GET", "/vivere-il-comune/eventi/letture-animate-per-bambini/evento.ics", "", nil)
		time.Sleep(1100 * time.Millisecond)
		_, ics2 := s.do(t, "GET", "/vivere-il-comune/eventi/letture-animate-per-bambini/evento.ics", "", nil)
		if res1.Header.Get("Content-Type") != "text/calendar; charset=utf-8" || string(ics1) != string(ics2) {
			t.Errorf("the event's iCalendar file changes between downloads:\n%s\n%s", ics1, ics2)
		}
		if !strings.Contains(string(ics1), "DTSTART:"+start.UTC().Format("20060102T150405Z")+"\r\n") || !strings.Contains(string(ics1), "GEO:45.555300;9.217200") {
			t.Errorf("iCalendar:\n%s", ics1)
		}
		_, feed := s.do(t, "GET", "/vivere-il-comune/eventi/calendario.ics", "", nil)
		if n := strings.Count(string(feed), "BEGIN:VEVENT"); n != 7 {
			t.Errorf("the calendar feed has %d events, want the 7 coming", n)
		}

		// Amministrazione: the national categories, the bodies with their
		// members, people, documents by type.
		status, adm := s.page(t, "/amministrazione")
		if status != 200 || countElement(adm, "management-category-link") != 7 {
			t.Fatalf("/amministrazione: %d", status)
		}
		_, organs := s.page(t, "/amministrazione/organi-di-governo")
		for _, name := range []string{"Sindaco", "Giunta comunale", "Consiglio comunale"} {
			if !strings.Contains(organs, `lang="it">`+name+`</a>`) {
				t.Errorf("Organi di governo lacks %s", name)
			}
		}
		_, giunta := s.page(t, "/amministrazione/organi-di-governo/giunta-comunale")
		if !strings.Contains(giunta, "Davide Conti") || !strings.Contains(giunta, "Sara Greco") || metadataOf(t, giunta)["@type"] != "GovernmentOrganization" {
			t.Error("the Giunta's page does not list its members")
		}
		if got := strings.Join(crumbs(giunta), " / "); got != "Home / Amministrazione / Organi di governo / Giunta comunale" {
			t.Errorf("body breadcrumb %q", got)
		}
		_, person := s.page(t, "/amministrazione/politici/davide-conti")
		pm := metadataOf(t, person)
		if pm["@type"] != "Person" || pm["worksFor"].(map[string]any)["name"] != "Giunta comunale" {
			t.Errorf("person metadata: %v", pm)
		}
		// A person asked for under another category goes to their own.
		if res, _ := s.do(t, "GET", "/amministrazione/personale-amministrativo/davide-conti", "", nil); res.StatusCode != http.StatusMovedPermanently ||
			res.Header.Get("Location") != "/amministrazione/politici/davide-conti" {
			t.Errorf("person under another category: %d to %s", res.StatusCode, res.Header.Get("Location"))
		}
		_, docs := s.page(t, "/amministrazione/documenti-e-dati?tipo=dataset")
		if !strings.Contains(docs, "Calendario degli eventi (iCalendar)") || strings.Contains(docs, "TUEL") || !strings.Contains(docs, `href="/moduli"`) {
			t.Error("the datasets list is wrong, or does not lead to the forms")
		}
		_, doc := s.page(t, "/amministrazione/documenti-e-dati/carta-dei-servizi")
		if dm := metadataOf(t, doc); dm["@type"] != "DigitalDocument" || dm["url"] != "/servizi" {
			t.Errorf("document metadata: %v", dm)
		}
		if strings.Contains(mustGet(t, s.srv.URL+"/amministrazione"), "Nessun contenuto pubblicato") {
			t.Error("Amministrazione still says nothing is published")
		}
	})
}

// An English page shows the English text where there is one; where there
// is none, the Italian, marked lang="it", and says so.
func TestContentInEnglishFallsBackToItalian(t *testing.T) {
	s := newContentSite(t, dbtest.SQLite(t)) // rendering only: the same on either database
	_, lib := s.page(t, "/vivere-il-comune/luoghi/biblioteca-civica-il-pertini", "Accept-Language", "en")
	if !strings.Contains(lib, `<h1 lang="en">Il Pertini civic library</h1>`) || !strings.Contains(lib, `<div lang="en"><p>Monday 2-7 pm;`) {
		t.Error("the English version is not shown")
	}
	// Its long description has no English version.
	if !strings.Contains(lib, "Text in Italian") || !strings.Contains(lib, `<div lang="it"><p>Il Pertini ospita la biblioteca civica`) {
		t.Error("the Italian text of an English page is not marked and announced")
	}
	_, it := s.page(t, "/vivere-il-comune/luoghi/biblioteca-civica-il-pertini")
	if strings.Contains(it, "Testo in italiano") || !strings.Contains(it, `<h1 lang="it">Biblioteca civica Il Pertini</h1>`) {
		t.Error("the Italian page announces an Italian text, or lost its title")
	}
	_, walk := s.page(t, "/vivere-il-comune/eventi/camminata-nel-parco-del-grugnotorto", "Accept-Language", "en")
	if strings.Contains(walk, "Text in Italian") || !strings.Contains(walk, `<h1 lang="en">A walk in Grugnotorto Park</h1>`) {
		t.Error("an entry written in both languages announces an Italian text")
	}
}

// contentForm is an entry form's fields, as a browser would send them back.
func contentForm(t *testing.T, page string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="[a-z-]+" class="form-control[^"]*" id="f-[a-z_]+" name="([a-z_]+)" value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea[^>]*name="([a-z_]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(page, -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<select[^>]*name="([a-z_]+)"[^>]*>.*?<option value="([^"]*)" selected`).FindAllStringSubmatch(page, -1) {
		v.Set(m[1], m[2])
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#39;", "'", "&amp;", "&", "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&#34;", `"`).Replace(s)
}

func (s *formsSite) post(t *testing.T, path, session string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	res, b := s.do(t, "POST", path, session, []byte(form.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
	return res, string(b)
}

func contentRows(t *testing.T, d *db.DB, kind string) int {
	t.Helper()
	var n int
	if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM content_entries WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An editor writes a place and an event from the back office: every
// error at once, beside its field, in the editor's language, nothing
// stored; then saved, published, audited, shown at once; what points at
// what is kept whole (no retiring or deleting a place an event uses).
func TestContentBackOffice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newContentSite(t, d)
		ctx := context.Background()
		urp := s.operator(t, "urp@comune.example.it", "urp")
		desk := s.operator(t, "desk@comune.example.it", "desk")
		if res, _ := s.do(t, "GET", "/backoffice/luoghi", desk, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("an operator without urp or admin: %d", res.StatusCode)
		}
		if res, _ := s.do(t, "GET", "/backoffice/luoghi", "", nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("anonymous: %d", res.StatusCode)
		}
		res, home := s.do(t, "GET", "/backoffice", urp, nil)
		for _, href := range []string{"/backoffice/luoghi", "/backoffice/eventi", "/backoffice/organi", "/backoffice/persone", "/backoffice/documenti", "/backoffice/in-evidenza"} {
			if !strings.Contains(string(home), `href="`+href+`"`) {
				t.Errorf("the back office's home does not lead to %s (%d)", href, res.StatusCode)
			}
		}
		// The public list, kept by the page cache for anonymous visitors.
		_, before := s.page(t, "/vivere-il-comune/luoghi?tipo=impianto-sportivo")

		bad := url.Values{"category": {"impianto-sportivo"}, "title": {"Pa"}, "title_en": {strings.Repeat("x", 201)}, "summary": {"Palestra comunale di via Verdi."},
			"address": {"Via Verdi 10"}, "postal_code": {"ABC"}, "lat": {"95"}, "lon": {"9,22"}, "email": {"not-an-email"}, "phone": {"<b>"},
			"website": {"javascript:alert(1)"}, "action": {"publish"}}
		for _, lang := range []string{"it", "en"} {
			res, page := s.post(t, "/backoffice/luoghi/nuovo", urp, bad, "Accept-Language", lang)
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: invalid place: %d", lang, res.StatusCode)
			}
			for _, f := range []string{"title", "title_en", "postal_code", "lat", "email", "phone", "website"} {
				if !strings.Contains(page, `id="f-`+f+`-error"`) || !strings.Contains(page, `href="#f-`+f+`"`) {
					t.Errorf("%s: no error beside %s, or not in the summary", lang, f)
				}
			}
			if strings.Contains(page, `id="f-lon-error"`) || strings.Contains(page, `id="f-summary-error"`) {
				t.Errorf("%s: an error beside a right field", lang)
			}
			want := map[string][]string{"it": {"Scrivi almeno 3 caratteri.", "Al massimo 200 caratteri.", "Il CAP è fatto di 5 cifre.", "La latitudine va da -90 a 90."},
				"en": {"Write at least 3 characters.", "At most 200 characters.", "A postcode is 5 digits.", "Latitude goes from -90 to 90."}}[lang]
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("%s: the page lacks %q", lang, w)
				}
			}
			if !strings.Contains(page, `value="Via Verdi 10"`) || !strings.Contains(page, `value="not-an-email"`) {
				t.Errorf("%s: the input was not kept", lang)
			}
		}
		if n := contentRows(t, d, "place"); n != len(demoPlacesCount(t, s)) {
			t.Fatalf("refused forms stored a place: %d", n)
		}

		good := url.Values{"category": {"impianto-sportivo"}, "title": {"Palestra comunale di via Verdi"}, "summary": {"Palestra per i corsi delle associazioni."},
			"address": {"Via Verdi 10"}, "postal_code": {"20092"}, "lat": {"45,5512"}, "lon": {"9.2201"}, "email": {"palestre@comune.example.it"},
			"phone": {"02 660231"}, "action": {"publish"}}
		res, _ = s.post(t, "/backoffice/luoghi/nuovo", urp, good)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/backoffice/luoghi/") {
			t.Fatalf("save a place: %d", res.StatusCode)
		}
		placeAdmin := strings.TrimSuffix(res.Header.Get("Location"), "?salvato=1")
		placeID := strings.TrimPrefix(placeAdmin, "/backoffice/luoghi/")
		if _, after := s.page(t, "/vivere-il-comune/luoghi?tipo=impianto-sportivo"); after == before || !strings.Contains(after, "Palestra comunale di via Verdi") {
			t.Error("the public list does not show the new place at once")
		}
		if status, _ := s.page(t, "/vivere-il-comune/luoghi/palestra-comunale-di-via-verdi"); status != 200 {
			t.Errorf("the new place's page: %d", status)
		}

		// An event at a place that is not published is refused; the
		// place may not be withdrawn while a published event uses it.
		draft := url.Values{"category": {"parco"}, "title": {"Giardino in allestimento"}, "summary": {"Un giardino non ancora aperto."},
			"address": {"Via Roma 1"}, "postal_code": {"20092"}, "lat": {"45.55"}, "lon": {"9.21"}, "action": {"draft"}}
		res, _ = s.post(t, "/backoffice/luoghi/nuovo", urp, draft)
		draftID := strings.TrimSuffix(strings.TrimPrefix(res.Header.Get("Location"), "/backoffice/luoghi/"), "?salvato=1")
		event := url.Values{"title": {"Torneo di pallavolo"}, "summary": {"Torneo delle scuole medie."}, "starts_at": {"2030-05-10T15:00"},
			"ends_at": {"2030-05-10T14:00"}, "place": {draftID}, "action": {"publish"}}
		res, page := s.post(t, "/backoffice/eventi/nuovo", urp, event)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-ends_at-error"`) {
			t.Fatalf("an event that ends before it starts: %d", res.StatusCode)
		}
		event.Set("ends_at", "2030-05-10T19:00")
		res, page = s.post(t, "/backoffice/eventi/nuovo", urp, event)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Il luogo scelto non è pubblicato") {
			t.Fatalf("an event at an unpublished place: %d", res.StatusCode)
		}
		event.Set("place", placeID)
		if res, _ = s.post(t, "/backoffice/eventi/nuovo", urp, event); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save the event: %d", res.StatusCode)
		}
		eventAdmin := strings.TrimSuffix(res.Header.Get("Location"), "?salvato=1")
		_, evPage := s.page(t, "/vivere-il-comune/eventi/torneo-di-pallavolo")
		if em := metadataOf(t, evPage); em["startDate"] != "2030-05-10T15:00:00+02:00" {
			t.Errorf("the event's start in Rome: %v", em["startDate"])
		}
		_, form := s.do(t, "GET", placeAdmin, urp, nil)
		values := contentForm(t, string(form))
		values.Set("action", "retire")
		if res, page := s.post(t, placeAdmin, urp, values); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-action-error"`) {
			t.Errorf("withdrawing a place a published event uses: %d", res.StatusCode)
		}
		if res, page := s.post(t, placeAdmin+"/elimina", urp, url.Values{}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-confirm-error"`) {
			t.Errorf("deleting without confirming: %d", res.StatusCode)
		}
		if res, page := s.post(t, placeAdmin+"/elimina", urp, url.Values{"confirm": {"yes"}}); res.StatusCode != http.StatusConflict || !strings.Contains(page, "Non si può eliminare") {
			t.Errorf("deleting a place an event uses: %d", res.StatusCode)
		}
		if status, _ := s.page(t, "/vivere-il-comune/luoghi/palestra-comunale-di-via-verdi"); status != 200 {
			t.Fatal("a refused deletion removed the place")
		}
		// The event goes, then the place can.
		if res, _ := s.post(t, eventAdmin+"/elimina", urp, url.Values{"confirm": {"yes"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete the event: %d", res.StatusCode)
		}
		values.Set("action", "retire")
		if res, _ := s.post(t, placeAdmin, urp, values); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("withdraw the place: %d", res.StatusCode)
		}
		if status, _ := s.page(t, "/vivere-il-comune/luoghi/palestra-comunale-di-via-verdi"); status != http.StatusNotFound {
			t.Errorf("a withdrawn place's page: %d", status)
		}
		if res, _ := s.post(t, placeAdmin+"/elimina", urp, url.Values{"confirm": {"yes"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete the place: %d", res.StatusCode)
		}
		// Another kind's editor path does not open the entry.
		if res, _ := s.do(t, "GET", "/backoffice/eventi/"+draftID, urp, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("a place through the events' editor: %d", res.StatusCode)
		}

		log := &audit.Log{DB: d}
		for action, want := range map[string]int{"content.created": 3, "content.published": 2, "content.retired": 1, "content.deleted": 2} {
			records, err := log.List(ctx, audit.ListFilter{Action: action, Limit: 100})
			mine := 0
			for _, r := range records {
				if strings.HasPrefix(r.Actor, "account:") {
					mine++
				}
			}
			if err != nil || mine != want {
				t.Errorf("audit %s: %d by an operator, want %d (%v)", action, mine, want, err)
			}
		}
		if n, err := log.Verify(ctx); err != nil || n == 0 {
			t.Errorf("audit chain: %d %v", n, err)
		}
	})
}

func demoPlacesCount(t *testing.T, s *formsSite) []content.Entry {
	t.Helper()
	list, _, err := (&content.Store{DB: s.d}).All(context.Background(), content.KindPlace, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// The home page's choice of services and topics: at most six of each,
// only what exists; saved, the home page shows it at once.
func TestFeaturedOnTheHomePage(t *testing.T) {
	s := newContentSite(t, dbtest.SQLite(t)) // the form's rules; the store's SQL is tested on both by the others
	urp := s.operator(t, "urp@comune.example.it", "urp")
	res, page := s.post(t, "/backoffice/in-evidenza", urp, url.Values{"services": {"tari", "nessuno"},
		"topics": {"anagrafe", "residenza", "istruzione", "sport", "turismo", "tempo-libero", "viaggi"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-services-error"`) || !strings.Contains(page, "Scegline al massimo 6.") {
		t.Fatalf("a wrong choice: %d", res.StatusCode)
	}
	if res, _ := s.post(t, "/backoffice/in-evidenza", urp, url.Values{"services": {"imu"}, "topics": {"imposte"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	_, home := s.page(t, "/")
	if !strings.Contains(home, `href="/servizi/tributi-finanze-e-contravvenzioni/imu"`) || !strings.Contains(home, `href="/argomenti/imposte"`) ||
		strings.Contains(home, `href="/argomenti/anagrafe"`) {
		t.Error("the home page does not show the new choice at once")
	}
}

// The home page says which offices are open now and this evening, as the
// catalogue's hours make them, and leads to the finder; an anonymous
// visitor's copy is kept 10 s at most even when pages are kept longer.
func TestHomePageSaysWhatIsOpen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newContentSite(t, d)
		cat, err := s.apps.civico.catalog.Store.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Hours are to the minute: the page and the check must see the same one.
		var home string
		var now time.Time
		for {
			now = time.Now()
			_, home = s.page(t, "/")
			if time.Now().Truncate(time.Minute).Equal(now.Truncate(time.Minute)) {
				break
			}
			s.apps.portal.PurgeCaches()
		}
		o := cat.Openings(now)
		open := regexp.MustCompile(`(?s)<div class="card card-teaser shadow rounded h-100" id="open-now">(.*?)</div>\s*</div>\s*</div>`).FindStringSubmatch(home)
		evening := regexp.MustCompile(`(?s)<div class="card card-teaser shadow rounded h-100" id="open-evening">(.*?)</div>\s*</div>\s*</div>`).FindStringSubmatch(home)
		if open == nil || evening == nil {
			t.Fatal("no list of the offices open now and this evening")
		}
		if got := strings.Count(open[1], `<li class="mb-1">`); got != len(o.Now) {
			t.Errorf("%d offices listed as open now, the catalogue says %d", got, len(o.Now))
		}
		if got := strings.Count(evening[1], `<li class="mb-1">`); got != len(o.Evening) {
			t.Errorf("%d offices listed as open this evening, the catalogue says %d", got, len(o.Evening))
		}
		for _, x := range o.Evening {
			if !strings.Contains(evening[1], `href="/amministrazione/uffici/`+x.ID+`"`) {
				t.Errorf("%s is open this evening but not listed", x.ID)
			}
		}
		for _, x := range o.Now {
			if !strings.Contains(open[1], `href="/amministrazione/uffici/`+x.ID+`"`) {
				t.Errorf("%s is open now but not listed", x.ID)
			}
		}
		for _, want := range []string{`href="/dove-e-quando"`, `<form class="mt-4" method="get" action="/servizi" role="search">`, `id="open-evening"`,
			"Lo sportello polifunzionale apre anche la sera", `href="/vivere-il-comune/eventi/`, `href="/servizi/anagrafe-e-stato-civile/carta-identita-elettronica"`,
			`href="/argomenti/anagrafe"`, `href="/moduli"`} {
			if !strings.Contains(home, want) {
				t.Errorf("the home page lacks %s", want)
			}
		}
		if countElement(home, "all-services") != 1 || countElement(home, "management") != 1 || countElement(home, "news") != 1 || countElement(home, "live") != 1 {
			t.Error("the home page repeats a national menu entry")
		}
	})
}

// BenchmarkContentPages measures the home page and the lists and pages of
// places, events, Amministrazione and forms as an anonymous visitor gets
// them without the page cache and the shared contents
// (CIVICO_PAGE_CACHE_TTL=0), on the demo's content: every part read and
// rendered at each request. BenchmarkCaches has the home page with them.
func BenchmarkContentPages(b *testing.B) {
	for name, path := range map[string]string{"home": "/", "places": "/vivere-il-comune/luoghi", "place": "/vivere-il-comune/luoghi/biblioteca-civica-il-pertini",
		"events": "/vivere-il-comune/eventi", "event": "/vivere-il-comune/eventi/letture-animate-per-bambini",
		"events.ics": "/vivere-il-comune/eventi/calendario.ics", "management": "/amministrazione",
		"organs": "/amministrazione/organi-di-governo", "body": "/amministrazione/organi-di-governo/giunta-comunale",
		"documents": "/amministrazione/documenti-e-dati", "forms": "/moduli", "forms-search": "/moduli?q=domanda+suolo+pubblico"} {
		b.Run(name, func(b *testing.B) {
			s := newTunedContentSite(b, dbtest.SQLite(b), func(c *config) { c.PageCacheTTL = 0 })
			h := s.apps.portal.Handler()
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", path, w.Code)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
