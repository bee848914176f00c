package news_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/news"
)

func TestPublishingRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		b := s.browser(t)
		published := s.publish(t, news.Input{Title: "Nuova linea di autobus per Sesto", Body: "Dal 1° giugno la linea 708 arriva a Sesto.\n\nLe fermate sono dodici.\nIl biglietto è quello urbano.",
			Topics: []string{"trasporto-pubblico", "mobilita-sostenibile"}})
		draft := s.publish(t, news.Input{Title: "Bozza sul bilancio", Action: news.ActionDraft})
		at := s.clock.Now().Add(2 * time.Hour).In(hours.Rome).Format(news.DateTimeLocal)
		scheduled := s.publish(t, news.Input{Title: "Chiusura estiva della biblioteca", Category: "avvisi", Action: news.ActionSchedule, PublishAt: at})

		now := s.clock.Now()
		if published.State(now) != news.StatePublished || draft.State(now) != news.StateDraft || scheduled.State(now) != news.StateScheduled {
			t.Fatalf("states: %s %s %s", published.State(now), draft.State(now), scheduled.State(now))
		}
		if published.Slug != "nuova-linea-di-autobus-per-sesto" || !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(published.ID) {
			t.Errorf("slug %q, id %q", published.Slug, published.ID)
		}
		// Only the published item is anywhere public.
		latest, err := s.news.Latest(ctx, 10)
		if err != nil || len(latest) != 1 || latest[0].ID != published.ID {
			t.Fatalf("Latest: %v %+v", err, latest)
		}
		res, body := b.get(published.Path())
		if res.StatusCode != 200 {
			t.Fatalf("published item: %d", res.StatusCode)
		}
		for _, want := range []string{`data-element="breadcrumb"`, `<a href="/novita">Novità</a>`, `<a href="/novita/notizie">Notizie</a>`,
			`aria-current="page">Nuova linea di autobus per Sesto</li>`, `<h1 lang="it">Nuova linea di autobus per Sesto</h1>`,
			`<time datetime="2026-05-12T11:00:00&#43;02:00">12/05/2026</time>`, `href="/argomenti/trasporto-pubblico"`, `lang="it">Trasporto pubblico</span>`,
			`<p>Dal 1° giugno la linea 708 arriva a Sesto.</p><p>Le fermate sono dodici.<br>Il biglietto è quello urbano.</p>`} {
			if !strings.Contains(body, want) {
				t.Errorf("item page lacks %s", want)
			}
		}
		for _, it := range []*news.Item{draft, scheduled} {
			if res, _ := b.get(it.Path()); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s item: %d, want 404", it.State(now), res.StatusCode)
			}
		}
		_, list := b.get("/novita/notizie")
		if !strings.Contains(list, published.Title) || strings.Contains(list, draft.Title) {
			t.Error("the category lists a draft, or not the published item")
		}
		_, avvisi := b.get("/novita/avvisi")
		if strings.Contains(avvisi, scheduled.Title) || !strings.Contains(avvisi, "non ci sono ancora notizie pubblicate") {
			t.Error("a scheduled item shows before its time")
		}
		_, index := b.get("/novita")
		if strings.Contains(index, scheduled.Title) || !strings.Contains(index, published.Title) {
			t.Error("the section page shows a scheduled item, or not the published one")
		}
		// The scheduled item appears at its time, not a second before.
		s.clock.Set(scheduled.PublishAt.Add(-time.Second))
		if res, _ := b.get(scheduled.Path()); res.StatusCode != http.StatusNotFound {
			t.Errorf("a second before its time: %d", res.StatusCode)
		}
		s.clock.Set(scheduled.PublishAt)
		if res, _ := b.get(scheduled.Path()); res.StatusCode != 200 {
			t.Errorf("at its time: %d", res.StatusCode)
		}
		if latest, _ := s.news.Latest(ctx, 10); len(latest) != 2 || latest[0].ID != scheduled.ID {
			t.Errorf("newest first: %+v", latest)
		}
		// Withdrawn, it is gone again; a wrong category redirects, unknown ones are 404.
		if _, err := s.news.Update(ctx, published.ID, news.Input{Title: published.Title, Summary: published.Summary, Body: published.Body,
			Category: "comunicati", Topics: published.Topics, Action: news.ActionDraft}, news.Actor{AccountID: "test"}); err != nil {
			t.Fatal(err)
		}
		if res, _ := b.get(published.Path()); res.StatusCode != http.StatusNotFound {
			t.Errorf("withdrawn item: %d", res.StatusCode)
		}
		if res, _ := b.get("/novita/notizie/" + scheduled.Slug); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != scheduled.Path() {
			t.Errorf("item under another category: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		for _, p := range []string{"/novita/eventi", "/novita/eventi/feed.atom", "/novita/notizie/nessuna", "/novita/notizie?pagina=0", "/novita/notizie?pagina=x"} {
			if res, _ := b.get(p); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", p, res.StatusCode)
			}
		}
	})
}

// The Novità page keeps the national model's categories, as the portal had them.
func TestSectionPageFollowsTheMunicipalModel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		for _, lang := range []string{"it", "en"} {
			res, body := s.browser(t).get("/novita", "Accept-Language", lang)
			if res.StatusCode != 200 {
				t.Fatalf("GET /novita: %d", res.StatusCode)
			}
			for _, c := range []string{"notizie\" data-element=\"news-category-link\" lang=\"it\">Notizie</a>", "comunicati\" data-element=\"news-category-link\" lang=\"it\">Comunicati</a>",
				"avvisi\" data-element=\"news-category-link\" lang=\"it\">Avvisi</a>"} {
				if !strings.Contains(body, `href="/novita/`+c) {
					t.Errorf("%s: no category link %s", lang, c)
				}
			}
			if n := strings.Count(body, `data-element="news-category-link"`); n != 3 {
				t.Errorf("%s: %d category links", lang, n)
			}
			if !strings.Contains(body, "<h1>Novità</h1>") || !strings.Contains(body, `href="/novita/iscriviti"`) {
				t.Errorf("%s: title or subscription link missing", lang)
			}
		}
	})
}

func TestPagination(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		for i := range 45 {
			s.clock.Add(time.Minute)
			s.publish(t, news.Input{Title: "Comunicato numero " + string(rune('A'+i/26)) + string(rune('a'+i%26))})
		}
		b := s.browser(t)
		titles := regexp.MustCompile(`<h2 class="card-title h5"[^>]*><a href="[^"]+">([^<]+)</a>`)
		_, p1 := b.get("/novita/notizie")
		got := titles.FindAllStringSubmatch(p1, -1)
		if len(got) != 20 || got[0][1] != "Comunicato numero Bs" || got[19][1] != "Comunicato numero Az" {
			t.Fatalf("page 1: %d items, first %v", len(got), got[:1])
		}
		if !strings.Contains(p1, `href="/novita/notizie?pagina=2" rel="next"`) || strings.Contains(p1, `rel="prev"`) || !strings.Contains(p1, "Pagina 1 di 3") {
			t.Error("page 1 navigation")
		}
		_, p2 := b.get("/novita/notizie?pagina=2")
		if !strings.Contains(p2, `href="/novita/notizie" rel="prev"`) || !strings.Contains(p2, `href="/novita/notizie?pagina=3" rel="next"`) {
			t.Error("page 2 navigation")
		}
		_, p3 := b.get("/novita/notizie?pagina=3")
		if got := titles.FindAllStringSubmatch(p3, -1); len(got) != 5 || got[4][1] != "Comunicato numero Aa" || strings.Contains(p3, `rel="next"`) {
			t.Errorf("page 3: %d items", len(got))
		}
		if res, _ := b.get("/novita/notizie?pagina=4"); res.StatusCode != http.StatusNotFound {
			t.Errorf("page 4: %d", res.StatusCode)
		}
	})
}

func TestBackOfficeNeedsTheRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		anon := s.browser(t)
		for _, p := range []string{"/backoffice/notizie", "/backoffice/notizie/nuova"} {
			res, _ := anon.get(p)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accedi?next="+url.QueryEscape(p) {
				t.Errorf("anonymous %s: %d to %q", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
		if res, _ := anon.do("POST", "/backoffice/notizie/nuova", url.Values{"title": {"Intruso"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("anonymous post: %d", res.StatusCode)
		}
		desk, _ := s.operator(t, "desk@comune.example.it", "desk")
		for _, p := range []string{"/backoffice/notizie", "/backoffice/notizie/nuova"} {
			if res, body := desk.get(p); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Operazione non consentita") {
				t.Errorf("operator without the role, %s: %d", p, res.StatusCode)
			}
		}
		form := url.Values{"title": {"Avviso importante"}, "summary": {"Un riassunto"}, "body": {"Il testo"}, "category": {"avvisi"},
			"topics": {"protezione-civile"}, "action": {"publish"}}
		if res, _ := desk.do("POST", "/backoffice/notizie/nuova", form); res.StatusCode != http.StatusForbidden {
			t.Errorf("operator without the role, post: %d", res.StatusCode)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM news_items`); n != 0 {
			t.Fatalf("%d items written by people without the role", n)
		}
		for _, role := range []string{"urp", "admin"} {
			b, _ := s.operator(t, role+"@comune.example.it", role)
			res, body := b.get("/backoffice/notizie")
			if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "no-store") || !strings.Contains(body, "Nuova notizia") {
				t.Errorf("%s: %d", role, res.StatusCode)
			}
		}
	})
}

func TestBackOfficeWritesAndAudits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		b, op := s.operator(t, "urp@comune.example.it", "urp")
		form := url.Values{"title": {"Lavori in via Garibaldi"}, "summary": {"Strada chiusa per due settimane"},
			"body": {"Dal 18 maggio la strada è chiusa.\r\n\r\nSi passa da via Dante."}, "category": {"avvisi"},
			"topics": {"mobilita-sostenibile", "zone-pedonali"}, "action": {"draft"}}
		res, _ := b.do("POST", "/backoffice/notizie/nuova", form)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/backoffice/notizie/") || !strings.HasSuffix(loc, "?salvato=1") {
			t.Fatalf("create: %d to %q", res.StatusCode, loc)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(loc, "/backoffice/notizie/"), "?salvato=1")
		res, body := b.get(loc)
		if res.StatusCode != 200 || !strings.Contains(body, "Salvato come bozza") || !strings.Contains(body, `data-state="draft"`) ||
			!strings.Contains(body, "Dal 18 maggio la strada è chiusa.\n\nSi passa da via Dante.</textarea>") {
			t.Fatalf("edit page after create: %d\n%s", res.StatusCode, body)
		}
		// Enter presses the first button: for a draft it saves the draft.
		if i, j := strings.Index(body, `value="draft"`), strings.Index(body, `value="publish"`); i < 0 || j < 0 || i > j {
			t.Error("the first button of a draft's form does not keep it a draft")
		}
		it, _ := s.news.Get(ctx, id)
		if it.AuthorID != op.ID || it.Body != "Dal 18 maggio la strada è chiusa.\n\nSi passa da via Dante." || strings.Join(it.Topics, ",") != "mobilita-sostenibile,zone-pedonali" {
			t.Errorf("stored item %+v", it)
		}
		// Schedule it for tomorrow at 08:00, Rome time.
		form.Set("action", "schedule")
		form.Set("publish_at", "2026-05-13T08:00")
		if res, _ := b.do("POST", "/backoffice/notizie/"+id, s.current(t, id, form)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("schedule: %d", res.StatusCode)
		}
		_, body = b.get("/backoffice/notizie/" + id + "?salvato=1")
		if !strings.Contains(body, "sarà pubblicato il 13/05/2026 alle 08:00") || !strings.Contains(body, `value="2026-05-13T08:00"`) {
			t.Error("the scheduled time is not shown in Rome time")
		}
		it, _ = s.news.Get(ctx, id)
		if want := time.Date(2026, 5, 13, 6, 0, 0, 0, time.UTC); !it.PublishAt.Equal(want) {
			t.Errorf("publish_at %v, want %v", it.PublishAt, want)
		}
		form.Set("action", "publish")
		b.do("POST", "/backoffice/notizie/"+id, s.current(t, id, form))
		form.Set("action", "draft")
		b.do("POST", "/backoffice/notizie/"+id, s.current(t, id, form))
		_, list := b.get("/backoffice/notizie")
		if !strings.Contains(list, "Lavori in via Garibaldi") || !strings.Contains(list, `data-state="draft"`) {
			t.Error("the back-office list lacks the item or its state")
		}
		var actions []string
		records, _ := s.log.List(ctx, audit.ListFilter{Subject: "news:" + id})
		for i := len(records) - 1; i >= 0; i-- {
			r := records[i]
			if r.Actor != "account:"+op.ID {
				t.Errorf("audit actor %q", r.Actor)
			}
			actions = append(actions, r.Action)
		}
		want := "news.created news.updated news.scheduled news.updated news.published news.updated news.unpublished"
		if strings.Join(actions, " ") != want {
			t.Errorf("audit trail:\n%s\nwant\n%s", strings.Join(actions, " "), want)
		}
		if n, err := s.log.Verify(ctx); err != nil || n == 0 {
			t.Errorf("audit chain: %d %v", n, err)
		}
		if res, _ := b.get("/backoffice/notizie/nessuna"); res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown item: %d", res.StatusCode)
		}
	})
}

func TestValidationNamesTheFieldAndChangesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		b, _ := s.operator(t, "urp@comune.example.it", "urp")
		existing := s.publish(t, news.Input{Title: "Titolo originale"})
		good := url.Values{"title": {"Un titolo"}, "summary": {"Un riassunto"}, "body": {"Un testo"}, "category": {"notizie"},
			"topics": {"sport"}, "action": {"publish"}}
		tests := []struct {
			field, value, message string
		}{
			{"title", "ab", "Il titolo deve avere da 3 a 200 caratteri."},
			{"title", strings.Repeat("à", 201), "Il titolo deve avere da 3 a 200 caratteri."},
			{"summary", "  ", "La descrizione breve deve avere da 3 a 300 caratteri."},
			{"summary", strings.Repeat("x", 301), "La descrizione breve deve avere da 3 a 300 caratteri."},
			{"body", "ok", "Il testo deve avere almeno 3 caratteri."},
			{"category", "eventi", "Scegli una delle categorie."},
			{"topics", "gatti", "Scegli gli argomenti dall&#39;elenco."},
			{"topics", "", "Scegli almeno un argomento."},
			{"publish_at", "domani", "Scrivi data e ora"},
			{"en_title", "ab", "Il titolo in inglese, se lo scrivi, deve avere da 3 a 200 caratteri."},
			{"en_summary", strings.Repeat("x", 301), "La descrizione breve in inglese, se la scrivi, deve avere da 3 a 300 caratteri."},
			{"en_body", "ok", "Il testo in inglese, se lo scrivi, deve avere almeno 3 caratteri."},
		}
		entries := count(t, d, `SELECT COUNT(*) FROM audit_log`)
		for _, tt := range tests {
			for _, path := range []string{"/backoffice/notizie/nuova", "/backoffice/notizie/" + existing.ID} {
				form := url.Values{}
				for k, v := range good {
					form[k] = v
				}
				form.Set(tt.field, tt.value)
				res, body := b.do("POST", path, form)
				if res.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("%s=%q on %s: %d", tt.field, tt.value, path, res.StatusCode)
					continue
				}
				if !strings.Contains(body, `id="f-`+tt.field+`-error">`+tt.message) || !strings.Contains(body, `href="#f-`+tt.field+`"`) {
					t.Errorf("%s=%q: no message beside the field\n%s", tt.field, tt.value, body)
				}
				if tt.field != "topics" && tt.field != "category" && !strings.Contains(body, `aria-describedby="f-`+tt.field+`-error`) {
					t.Errorf("%s: the error is not tied to the field", tt.field)
				}
				if tt.field != "title" && !strings.Contains(body, `value="Un titolo"`) {
					t.Errorf("%s: the form lost what was typed", tt.field)
				}
			}
		}
		// Scheduling needs a future time.
		for value, message := range map[string]string{"": "Per programmare la pubblicazione scegli data e ora.", "2026-05-12T10:00": "scegli un momento futuro"} {
			form := url.Values{}
			for k, v := range good {
				form[k] = v
			}
			form.Set("action", "schedule")
			form.Set("publish_at", value)
			if res, body := b.do("POST", "/backoffice/notizie/nuova", form); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, message) {
				t.Errorf("schedule at %q: %d", value, res.StatusCode)
			}
		}
		if res, _ := b.do("POST", "/backoffice/notizie/nuova", url.Values{"title": {"Un titolo"}, "action": {"delete"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("unknown action: %d", res.StatusCode)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM news_items`); n != 1 {
			t.Errorf("%d items after invalid posts, want 1", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log`); n != entries {
			t.Errorf("invalid posts wrote %d audit entries", n-entries)
		}
		after, _ := s.news.Get(ctx, existing.ID)
		if after.Title != existing.Title || !after.UpdatedAt.Equal(existing.UpdatedAt) {
			t.Errorf("an invalid post changed the item: %+v", after)
		}
		_, err := s.news.Create(ctx, news.Input{Title: "x", Action: news.ActionPublish}, news.Actor{})
		var fe news.FieldErrors
		if !errors.As(err, &fe) || fe["title"] == "" || fe["summary"] == "" || fe["body"] == "" || fe["category"] == "" || fe["topics"] == "" {
			t.Errorf("Create with everything wrong: %v", err)
		}
	})
}

func TestSlugsAreUnique(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		a := s.publish(t, news.Input{Title: "Mercato di Natale"})
		b := s.publish(t, news.Input{Title: "Mercato di Natale!"})
		c := s.publish(t, news.Input{Title: "¿¿??"})
		long := s.publish(t, news.Input{Title: strings.Repeat("parola ", 28)})
		if a.Slug != "mercato-di-natale" || b.Slug != "mercato-di-natale-2" || c.Slug != "notizia" || len(long.Slug) > 80 || strings.HasSuffix(long.Slug, "-") {
			t.Errorf("slugs %q %q %q %q", a.Slug, b.Slug, c.Slug, long.Slug)
		}
	})
}

// An item's English texts show on the English pages; where one is missing
// the page shows the Italian, marked lang="it", and says so.
func TestEnglishVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		b, _ := s.operator(t, "urp@comune.example.it", "urp")
		form := url.Values{"title": {"Nuova linea di autobus"}, "summary": {"La linea 708 arriva a Sesto"}, "body": {"Dal 1° giugno la linea 708 arriva a Sesto."},
			"en_title": {"  New bus line  "}, "en_summary": {"Line 708 reaches Sesto"}, "en_body": {""},
			"category": {"notizie"}, "topics": {"trasporto-pubblico"}, "action": {"publish"}}
		res, _ := b.do("POST", "/backoffice/notizie/nuova", form)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create: %d", res.StatusCode)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(res.Header.Get("Location"), "/backoffice/notizie/"), "?salvato=1")
		it, err := s.news.Get(ctx, id)
		if err != nil || it.Translations["en"] != (news.ItemText{Title: "New bus line", Summary: "Line 708 reaches Sesto"}) {
			t.Fatalf("stored translation: %v %+v", err, it)
		}
		_, edit := b.get("/backoffice/notizie/" + id)
		if !strings.Contains(edit, `name="en_title" value="New bus line" lang="en"`) || !strings.Contains(edit, `name="version" value="1"`) {
			t.Error("the edit form lacks the English title or the version")
		}
		plain := s.publish(t, news.Input{Title: "Chiusura della biblioteca"})

		// English: the title and summary in English, the body in Italian, said so.
		_, page := b.get(it.Path(), "Accept-Language", "en")
		for _, want := range []string{`<h1 lang="en">New bus line</h1>`, `<p class="lead" lang="en">Line 708 reaches Sesto</p>`,
			`<div class="mt-4" lang="it"><p>Dal 1° giugno la linea 708 arriva a Sesto.</p></div>`, "Some parts of this page are available in Italian only.",
			`aria-current="page">New bus line</li>`} {
			if !strings.Contains(page, want) {
				t.Errorf("English page lacks %s", want)
			}
		}
		_, page = b.get(plain.Path(), "Accept-Language", "en")
		if !strings.Contains(page, `<h1 lang="it">Chiusura della biblioteca</h1>`) || !strings.Contains(page, "This text is available in Italian only.") {
			t.Error("an untranslated item's English page does not mark the Italian")
		}
		_, list := b.get("/novita/notizie", "Accept-Language", "en")
		if !strings.Contains(list, `<h2 class="card-title h5" lang="en"><a href="`+it.Path()+`">New bus line</a>`) ||
			!strings.Contains(list, `<h2 class="card-title h5" lang="it"><a href="`+plain.Path()+`">Chiusura della biblioteca</a>`) {
			t.Error("the English list does not show each title in its language")
		}
		// Italian: the Italian text, no note.
		_, page = b.get(it.Path(), "Accept-Language", "it")
		if !strings.Contains(page, `<h1 lang="it">Nuova linea di autobus</h1>`) || strings.Contains(page, "solo in italiano") || strings.Contains(page, "New bus line") {
			t.Error("the Italian page shows English or a note")
		}
		// Emptied, the translation is gone.
		form.Set("en_title", "")
		form.Set("en_summary", "")
		if res, _ := b.do("POST", "/backoffice/notizie/"+id, s.current(t, id, form)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("update: %d", res.StatusCode)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM news_translations WHERE item_id = $1`, id); n != 0 {
			t.Errorf("%d translations left after emptying them", n)
		}
		records, _ := s.log.List(ctx, audit.ListFilter{Subject: "news:" + id})
		if len(records) < 2 || records[len(records)-1].Details["translations"] != "en" || records[0].Details["translations"] != "" {
			t.Errorf("the audit does not record the translations: %+v", records)
		}
	})
}

// An edit based on a version someone else has saved over is refused, what
// was typed kept; saving again from that page replaces it, knowingly.
func TestStaleEditIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		first, _ := s.operator(t, "urp@comune.example.it", "urp")
		second, _ := s.operator(t, "stampa@comune.example.it", "urp")
		it := s.publish(t, news.Input{Title: "Orari estivi"})
		form := func(title string, version string) url.Values {
			return url.Values{"title": {title}, "summary": {it.Summary}, "body": {it.Body}, "category": {it.Category},
				"topics": it.Topics, "action": {"publish"}, "version": {version}}
		}
		if res, _ := first.do("POST", "/backoffice/notizie/"+it.ID, form("Orari estivi della biblioteca", "1")); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first save: %d", res.StatusCode)
		}
		entries := count(t, d, `SELECT COUNT(*) FROM audit_log`)
		for _, version := range []string{"1", "", "x"} {
			res, body := second.do("POST", "/backoffice/notizie/"+it.ID, form("Orari estivi del museo", version))
			if res.StatusCode != http.StatusConflict || !strings.Contains(body, "Non salvato: qualcun altro ha salvato") ||
				!strings.Contains(body, `value="Orari estivi del museo"`) || !strings.Contains(body, `name="version" value="2"`) {
				t.Errorf("stale save (version %q): %d", version, res.StatusCode)
			}
		}
		if got, _ := s.news.Get(ctx, it.ID); got.Title != "Orari estivi della biblioteca" || got.Version != 2 {
			t.Errorf("a stale save changed the item: %q version %d", got.Title, got.Version)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log`); n != entries {
			t.Errorf("stale saves wrote %d audit entries", n-entries)
		}
		if res, _ := second.do("POST", "/backoffice/notizie/"+it.ID, form("Orari estivi del museo", "2")); res.StatusCode != http.StatusSeeOther {
			t.Errorf("save from the refreshed form: %d", res.StatusCode)
		}
		if got, _ := s.news.Get(ctx, it.ID); got.Title != "Orari estivi del museo" || got.Version != 3 {
			t.Errorf("after the knowing save: %q version %d", got.Title, got.Version)
		}
	})
}

// ByTopic finds the items a topic's page lists: published, visible now,
// carrying the topic; after an edit, by their new topics; and the items
// written before the topic index existed, by the migration that built it.
func TestNewsByTopic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		a := s.publish(t, news.Input{Title: "Orari dell'anagrafe", Topics: []string{"anagrafe", "residenza"}})
		s.publish(t, news.Input{Title: "Bozza", Topics: []string{"anagrafe"}, Action: news.ActionDraft})
		at := s.clock.Now().Add(time.Hour).In(hours.Rome).Format(news.DateTimeLocal)
		s.publish(t, news.Input{Title: "Domani", Topics: []string{"anagrafe"}, Action: news.ActionSchedule, PublishAt: at})
		ids := func(topic string, page int) ([]string, int) {
			t.Helper()
			items, total, err := s.news.ByTopic(ctx, topic, page, 10)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, it := range items {
				out = append(out, it.ID)
			}
			return out, total
		}
		if got, total := ids("anagrafe", 1); len(got) != 1 || got[0] != a.ID || total != 1 {
			t.Errorf("anagrafe: %v of %d", got, total)
		}
		if _, err := s.news.Update(ctx, a.ID, news.Input{Title: a.Title, Summary: a.Summary, Body: a.Body, Category: a.Category,
			Topics: []string{"residenza"}, Action: news.ActionPublish}, news.Actor{}); err != nil {
			t.Fatal(err)
		}
		if got, total := ids("anagrafe", 1); len(got) != 0 || total != 0 {
			t.Errorf("anagrafe after the edit: %v of %d", got, total)
		}
		if got, _ := ids("residenza", 1); len(got) != 1 {
			t.Errorf("residenza after the edit: %v", got)
		}

		// The index is rebuilt from the items' own lists by its migration.
		for _, q := range []string{`DROP TABLE news_item_topics`, `DELETE FROM schema_migrations WHERE version = 20`} {
			if _, err := d.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Migrate(ctx, dbtest.Schema(t)); err != nil {
			t.Fatal(err)
		}
		if got, total := ids("residenza", 1); len(got) != 1 || got[0] != a.ID || total != 1 {
			t.Errorf("residenza after the migration: %v of %d", got, total)
		}
		var rows int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM news_item_topics`).Scan(&rows); err != nil || rows != 3 {
			t.Errorf("topic rows after the migration: %d %v", rows, err)
		}
	})
}
