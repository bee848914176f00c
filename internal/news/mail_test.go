package news_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/news"
)

func TestSubscribeConfirmDigestUnsubscribe(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		b := s.browser(t)
		res, body := b.get("/novita/iscriviti")
		if res.StatusCode != 200 || strings.Count(body, `name="topics"`) != 64 || !strings.Contains(body, `<label for="f-email"`) {
			t.Fatalf("subscription form: %d", res.StatusCode)
		}
		// Mistakes are named beside their field.
		res, body = b.do("POST", "/novita/iscriviti", url.Values{"email": {"non è un indirizzo"}, "topics": {"sport", "gatti"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-email-error"`) || !strings.Contains(body, `aria-describedby="f-email-error"`) ||
			!strings.Contains(body, `id="f-topics-error"`) || !strings.Contains(body, `value="sport" checked`) {
			t.Fatalf("invalid subscription: %d\n%s", res.StatusCode, body)
		}
		// An English page subscribes in English.
		res, body = b.do("POST", "/novita/iscriviti", url.Values{"email": {" Anna.Neri@Example.org "}, "topics": {"trasporto-pubblico", "sport"}},
			"Accept-Language", "en")
		if res.StatusCode != 200 || !strings.Contains(body, "we have written to it") {
			t.Fatalf("subscription: %d\n%s", res.StatusCode, body)
		}
		msgs := s.deliver(t, 1)
		m := msgs[0]
		if m.To[0] != "anna.neri@example.org" || m.Subject != "Confirm your subscription to the news — Comune di Cinisello Balsamo" {
			t.Fatalf("confirmation mail %q to %v", m.Subject, m.To)
		}
		tok := tokenIn(t, m.Text, "/novita/conferma")
		// Nothing is sent before the confirmation.
		s.clock.Add(time.Hour)
		s.publish(t, news.Input{Title: "Prima della conferma", Topics: []string{"sport"}})
		s.clock.Add(time.Hour)
		// Opening the link shows the topics and a button: a mail scanner confirms nothing.
		res, body = b.get("/novita/conferma?token=" + tok)
		if res.StatusCode != 200 || !strings.Contains(body, `name="token" value="`+tok+`"`) || !strings.Contains(body, `lang="it">Trasporto pubblico</li>`) ||
			!strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("confirmation page: %d", res.StatusCode)
		}
		if n, _ := (&news.Digest{News: s.news}).Send(ctx, s.clock.Now()); n != 0 {
			t.Fatalf("a digest to an unconfirmed address: %d", n)
		}
		if res, _ := b.do("POST", "/novita/conferma", url.Values{"token": {tok}}); res.StatusCode != 200 {
			t.Fatalf("confirmation: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", "/novita/conferma", url.Values{"token": {tok}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a confirmation link worked twice: %d", res.StatusCode)
		}
		if res, _ := b.get("/novita/conferma?token=" + tok); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a used confirmation link still shows its button: %d", res.StatusCode)
		}

		// Three items after the confirmation: two on her topics, one not.
		s.clock.Add(time.Hour)
		bus := s.publish(t, news.Input{Title: "Nuovi orari dei bus", Summary: "Dal lunedì i bus passano ogni dieci minuti.", Topics: []string{"trasporto-pubblico"}})
		s.publish(t, news.Input{Title: "Bilancio approvato", Topics: []string{"bilancio"}})
		at := s.clock.Now().Add(60 * time.Hour).In(hours.Rome).Format(news.DateTimeLocal)
		later := s.publish(t, news.Input{Title: "Torneo di calcio", Category: "avvisi", Topics: []string{"sport"}, Action: news.ActionSchedule, PublishAt: at})
		digest := &news.Digest{News: s.news}
		day1 := s.clock.Add(24 * time.Hour)
		if n, err := digest.Send(ctx, day1); n != 1 || err != nil {
			t.Fatalf("digest: %d, %v", n, err)
		}
		m = s.deliver(t, 2)[1]
		if m.Subject != "News from the Comune di Cinisello Balsamo" || !strings.Contains(m.Text, "Nuovi orari dei bus\nNotizie · ") ||
			!strings.Contains(m.Text, "Dal lunedì i bus passano ogni dieci minuti.\n"+s.srv.URL+bus.Path()) ||
			strings.Contains(m.Text, "Bilancio") || strings.Contains(m.Text, "Prima della conferma") || strings.Contains(m.Text, "Torneo") {
			t.Fatalf("digest mail:\n%s", m.Text)
		}
		// The scheduled item comes in the digest after its time, once.
		if n, _ := digest.Send(ctx, s.clock.Add(24*time.Hour)); n != 0 {
			t.Errorf("a digest before the scheduled item's time: %d", n)
		}
		if n, _ := digest.Send(ctx, s.clock.Add(24*time.Hour)); n != 1 {
			t.Fatalf("no digest with the scheduled item")
		}
		m = s.deliver(t, 3)[2]
		if !strings.Contains(m.Text, later.Title) || strings.Contains(m.Text, bus.Title) {
			t.Errorf("second digest:\n%s", m.Text)
		}
		if n, _ := digest.Send(ctx, s.clock.Add(24*time.Hour)); n != 0 {
			t.Errorf("a digest with nothing new: %d", n)
		}

		// Every digest carries its own unsubscribe link; an old one works too.
		unsub := tokenIn(t, s.smtp.Messages()[1].Text, "/novita/disiscriviti")
		if tokenIn(t, m.Text, "/novita/disiscriviti") == unsub {
			t.Error("two digests carry the same unsubscribe link")
		}
		res, body = b.get("/novita/disiscriviti?token=" + unsub)
		if res.StatusCode != 200 || !strings.Contains(body, `name="token" value="`+unsub+`"`) {
			t.Fatalf("unsubscribe page: %d", res.StatusCode)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM news_subscriptions`); n != 1 {
			t.Fatalf("opening the unsubscribe link changed something: %d subscriptions", n)
		}
		if res, body := b.do("POST", "/novita/disiscriviti", url.Values{"token": {unsub}}); res.StatusCode != 200 || !strings.Contains(body, "Iscrizione annullata") {
			t.Fatalf("unsubscribe: %d", res.StatusCode)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM news_subscriptions`) + count(t, d, `SELECT COUNT(*) FROM news_unsubscribe_tokens`); n != 0 {
			t.Errorf("the address is still stored after unsubscribing: %d rows", n)
		}
		if res, _ := b.do("POST", "/novita/disiscriviti", url.Values{"token": {unsub}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("unsubscribing twice: %d", res.StatusCode)
		}
		s.publish(t, news.Input{Title: "Dopo la disiscrizione", Topics: []string{"sport"}})
		if n, _ := digest.Send(ctx, s.clock.Add(24*time.Hour)); n != 0 {
			t.Errorf("a digest after unsubscribing: %d", n)
		}
		if res, _ := b.get("/novita/disiscriviti?token=sbagliato"); res.StatusCode != http.StatusBadRequest {
			t.Errorf("unknown unsubscribe link: %d", res.StatusCode)
		}
	})
}

// The form answers the same whether the address is new, waiting for its
// confirmation or subscribed: only the mailbox's owner learns which.
func TestSubscriptionDoesNotRevealWhoIsSubscribed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		b := s.browser(t)
		answer := func(email string) (int, string) {
			res, body := b.do("POST", "/novita/iscriviti", url.Values{"email": {email}, "topics": {"sport"}})
			return res.StatusCode, body
		}
		code0, fresh := answer("nuovo@example.org")
		// A subscribed address.
		if err := s.news.Subscribe(ctx, "iscritto@example.org", nil, "it", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		msgs := s.deliver(t, 2)
		if err := s.news.Confirm(ctx, tokenIn(t, msgs[1].Text, "/novita/conferma")); err != nil {
			t.Fatal(err)
		}
		s.clock.Add(time.Hour)
		code1, subscribed := answer("iscritto@example.org")
		code2, pending := answer("nuovo@example.org")
		if code0 != 200 || code1 != code0 || code2 != code0 || subscribed != fresh || pending != fresh {
			t.Fatalf("answers differ: %d %d %d", code0, code1, code2)
		}
		// The subscribed address is asked to confirm the new topics; until
		// then it keeps the old ones (all), and it is still subscribed.
		msgs = s.deliver(t, 4)
		if msgs[2].To[0] != "iscritto@example.org" {
			t.Fatalf("mail to %v", msgs[2].To)
		}
		var topics string
		d.QueryRowContext(ctx, `SELECT topics FROM news_subscriptions WHERE email = 'iscritto@example.org'`).Scan(&topics)
		if topics != "" {
			t.Errorf("topics changed before the confirmation: %q", topics)
		}
		if err := s.news.Confirm(ctx, tokenIn(t, msgs[2].Text, "/novita/conferma")); err != nil {
			t.Fatal(err)
		}
		d.QueryRowContext(ctx, `SELECT topics FROM news_subscriptions WHERE email = 'iscritto@example.org'`).Scan(&topics)
		if topics != "sport" {
			t.Errorf("topics after confirming the change: %q", topics)
		}
		// The form cannot flood a mailbox: one confirmation mail per address every few minutes.
		before := count(t, d, `SELECT COUNT(*) FROM mail_outbox`)
		for range 3 {
			if code, body := answer("vittima@example.org"); code != code0 || body != fresh {
				t.Fatal("a repeated request got another answer")
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM mail_outbox`) - before; n != 1 {
			t.Errorf("%d confirmation mails for three requests in a row", n)
		}
		s.clock.Add(news.ResendAfter)
		answer("vittima@example.org")
		if n := count(t, d, `SELECT COUNT(*) FROM mail_outbox`) - before; n != 2 {
			t.Errorf("%d confirmation mails after the pause, want 2", n)
		}
		// A confirmation link expires, and the unconfirmed address is then forgotten.
		s.clock.Add(news.ConfirmTTL + time.Minute)
		if _, err := s.news.PendingTopics(ctx, tokenIn(t, s.deliver(t, 6)[5].Text, "/novita/conferma")); err != news.ErrTokenInvalid {
			t.Errorf("expired link: %v", err)
		}
		(&news.Digest{News: s.news}).Send(ctx, s.clock.Now())
		if n := count(t, d, `SELECT COUNT(*) FROM news_subscriptions WHERE confirmed_at IS NULL`); n != 0 {
			t.Errorf("%d unconfirmed addresses kept past their link", n)
		}
	})
}

// Two processes send the digest at once: every subscriber gets it once.
func TestDigestIsSentOnceByConcurrentProcesses(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			handles := dbtest.Handles(t, dialect, 2)
			s := newSite(t, handles[0])
			ctx := context.Background()
			// Twelve subscribers: all topics, sport, or the environment.
			const n = 12
			for i := range n {
				var topics []string
				switch i % 3 {
				case 1:
					topics = []string{"sport"}
				case 2:
					topics = []string{"aria"}
				}
				if err := s.news.Subscribe(ctx, "persona"+string(rune('a'+i))+"@example.org", topics, "it", fmt.Sprintf("192.0.2.%d", i+1)); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := handles[0].QueryContext(ctx, `SELECT body_text FROM mail_outbox`)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for rows.Next() {
				var text string
				rows.Scan(&text)
				texts = append(texts, text)
			}
			rows.Close()
			for _, text := range texts {
				if err := s.news.Confirm(ctx, tokenIn(t, text, "/novita/conferma")); err != nil {
					t.Fatal(err)
				}
			}
			s.clock.Add(time.Minute)
			s.publish(t, news.Input{Title: "Partita di beneficenza", Topics: []string{"sport"}})
			s.publish(t, news.Input{Title: "Qualità dell'aria", Topics: []string{"aria", "inquinamento"}})
			// The second process: same database, its own handle.
			other := *s.news
			other.DB, other.Outbox = handles[1], &mail.Outbox{DB: handles[1]}
			digests := []*news.Digest{{News: s.news}, {News: &other}}

			round := func(now time.Time) int {
				var wg sync.WaitGroup
				var mu sync.Mutex
				total := 0
				for i := range 4 {
					wg.Go(func() {
						// Clocks a little apart, as on two machines.
						sent, err := digests[i%2].Send(ctx, now.Add(time.Duration(i)*time.Millisecond))
						if err != nil {
							t.Error(err)
						}
						mu.Lock()
						total += sent
						mu.Unlock()
					})
				}
				wg.Wait()
				return total
			}
			before := count(t, handles[0], `SELECT COUNT(*) FROM mail_outbox`)
			if sent := round(s.clock.Add(24 * time.Hour)); sent != n {
				t.Errorf("first round: %d digests, want %d", sent, n)
			}
			if got := count(t, handles[0], `SELECT COUNT(*) FROM mail_outbox`) - before; got != n {
				t.Fatalf("%d digests in the outbox, want %d", got, n)
			}
			perAddress := map[string]int{}
			rows, _ = handles[0].QueryContext(ctx, `SELECT to_addr, body_text FROM mail_outbox WHERE subject LIKE 'Le novità%'`)
			for rows.Next() {
				var to, text string
				rows.Scan(&to, &text)
				perAddress[to]++
				sport, air := strings.Contains(text, "Partita di beneficenza"), strings.Contains(text, "Qualità dell'aria")
				i := int(to[len("persona")] - 'a')
				if want := [3][2]bool{{true, true}, {true, false}, {false, true}}[i%3]; sport != want[0] || air != want[1] {
					t.Errorf("%s got sport %v, air %v", to, sport, air)
				}
			}
			rows.Close()
			for to, k := range perAddress {
				if k != 1 {
					t.Errorf("%s got %d digests", to, k)
				}
			}
			// Nothing new: nothing sent, however many run.
			if sent := round(s.clock.Add(time.Hour)); sent != 0 {
				t.Errorf("second round: %d", sent)
			}
			s.clock.Add(time.Minute)
			s.publish(t, news.Input{Title: "Nuova pista ciclabile", Topics: []string{"pista-ciclabile"}})
			if sent := round(s.clock.Add(24 * time.Hour)); sent != n/3 {
				t.Errorf("third round: %d digests, want %d (the subscribers of every topic)", sent, n/3)
			}
		})
	}
}

type atomFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID        string `xml:"id"`
		Title     string `xml:"title"`
		Updated   string `xml:"updated"`
		Published string `xml:"published"`
		Link      struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Summary string `xml:"summary"`
		Content struct {
			Type string `xml:"type,attr"`
			Text string `xml:",chardata"`
		} `xml:"content"`
		Categories []struct {
			Term string `xml:"term,attr"`
		} `xml:"category"`
	} `xml:"entry"`
}

func TestAtomFeeds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		b := s.browser(t)
		var want []*news.Item
		for i := range 55 {
			s.clock.Add(time.Minute)
			cat := "notizie"
			if i%5 == 0 {
				cat = "avvisi"
			}
			want = append(want, s.publish(t, news.Input{Title: "Notizia <n. " + string(rune('A'+i%26)) + "> & co " + string(rune('a'+i/26)), Category: cat,
				Body: "Testo con caratteri \"speciali\" & <tag>.\x01"}))
		}
		s.publish(t, news.Input{Title: "Bozza nascosta", Action: news.ActionDraft})
		s.publish(t, news.Input{Title: "Domani", Action: news.ActionSchedule, PublishAt: s.clock.Now().Add(24 * time.Hour).In(hours.Rome).Format(news.DateTimeLocal)})

		res, body := b.get("/novita/feed.atom")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" || !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`) {
			t.Fatalf("feed: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		var f atomFeed
		if err := xml.Unmarshal([]byte(body), &f); err != nil {
			t.Fatalf("the feed is not Atom XML: %v\n%s", err, body)
		}
		if f.ID != s.srv.URL+"/novita/feed.atom" || f.Title != "Comune di Cinisello Balsamo — Novità" || f.Author.Name != "Comune di Cinisello Balsamo" || len(f.Links) != 2 ||
			f.Links[0].Rel != "self" || f.Links[0].Href != f.ID || f.Links[1].Href != s.srv.URL+"/novita" {
			t.Errorf("feed head: %+v", f)
		}
		if len(f.Entries) != news.FeedSize {
			t.Fatalf("%d entries, want %d", len(f.Entries), news.FeedSize)
		}
		newest := want[len(want)-1]
		e := f.Entries[0]
		if e.ID != "urn:uuid:"+newest.ID || e.Title != newest.Title || e.Link.Href != s.srv.URL+newest.Path() || e.Summary != newest.Summary ||
			e.Content.Type != "text" || !strings.HasPrefix(e.Content.Text, `Testo con caratteri "speciali" & <tag>.`) || f.Updated != e.Updated {
			t.Errorf("newest entry: %+v", e)
		}
		if len(e.Categories) != 2 || e.Categories[1].Term != "mobilita-sostenibile" {
			t.Errorf("entry categories: %+v", e.Categories)
		}
		for _, e := range f.Entries {
			for _, v := range []string{e.Updated, e.Published} {
				if _, err := time.Parse(time.RFC3339, v); err != nil {
					t.Errorf("entry time %q: %v", v, err)
				}
			}
			if strings.Contains(e.Title, "Bozza") || e.Title == "Domani" {
				t.Errorf("the feed has %q", e.Title)
			}
		}
		if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(e.ID) {
			t.Errorf("entry id %q", e.ID)
		}
		// One feed per category.
		_, body = b.get("/novita/avvisi/feed.atom")
		var fa atomFeed
		if err := xml.Unmarshal([]byte(body), &fa); err != nil || len(fa.Entries) != 11 || fa.Title != "Comune di Cinisello Balsamo — Avvisi" {
			t.Fatalf("avvisi feed: %v, %d entries", err, len(fa.Entries))
		}
		for _, e := range fa.Entries {
			if e.Categories[0].Term != "avvisi" {
				t.Errorf("the avvisi feed has an item of %s", e.Categories[0].Term)
			}
		}
		// An empty feed is valid too.
		_, body = b.get("/novita/comunicati/feed.atom")
		var fc atomFeed
		if err := xml.Unmarshal([]byte(body), &fc); err != nil || len(fc.Entries) != 0 || fc.Updated == "" {
			t.Errorf("empty feed: %v %+v", err, fc)
		}
		// Pages name their feed.
		if _, page := b.get("/novita/avvisi"); !strings.Contains(page, `<link rel="alternate" type="application/atom+xml" title="Avvisi" href="/novita/avvisi/feed.atom">`) {
			t.Error("the category page does not announce its feed")
		}
	})
}
