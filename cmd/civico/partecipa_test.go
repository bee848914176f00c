package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/population"
)

const journeyQuestions = `[parco] single required
Quale parco vorresti rinnovare per primo?
- nord: Parco Nord
- ghirlanda: Villa Ghirlanda

[perche] short if=parco:nord
Perché il Parco Nord?

[voto] scale 1-5 required
Quanto sei soddisfatto dei parchi?
`

var consultationRE = regexp.MustCompile(`^/ufficio/([0-9a-f]{32})`)

// partecipaResident is a card holder in the population register, logged
// into the portal with the card and into Partecipa by single sign-on.
func partecipaResident(t *testing.T, s *idSite, first15, given, family, next string) *browser {
	t.Helper()
	s.inRegister(t, population.Person{FiscalCode: first15, District: "Crocetta"})
	b := s.ssoBrowser(t, s.card(t, first15, given, family, nil))
	s.cardLogin(t, b, "/")
	if last, res, _, _ := s.partecipaLogin(t, b, "/accedi?livello=high&next="+url.QueryEscape(next)); res.StatusCode != 200 || last != s.part.URL+next {
		t.Fatalf("%s into Partecipa: %d at %s", given, res.StatusCode, last)
	}
	return b
}

// The participation office creates a consultation (a wrong questionnaire
// first), previews and opens it; two residents answer, one of them twice
// from two sessions at once and again later; the office closes it and
// publishes; the results count 2. Through the server as built, on both
// engines.
func TestPartecipaConsultationJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		part := s.part.URL
		ctx := context.Background()

		// The office: an operator with the participation role, logged into
		// Partecipa through the portal; a resident without it is refused.
		office := operatorBrowser(t, s, "partecipazione@comune.example.it", "participation")
		if last, res, body, _ := office.follow(part+"/accedi?next=/ufficio", ""); res.StatusCode != 200 || last != part+"/ufficio" || !strings.Contains(body, "Ufficio partecipazione") {
			t.Fatalf("the office into Partecipa: %d at %s", res.StatusCode, last)
		}
		now := time.Now().In(hours.Rome)
		form := url.Values{"title": {"I parchi di Cinisello"}, "summary": {"Dove investire nel verde."}, "min_level": {"substantial"}, "residents_only": {"1"}, "editable": {"1"},
			"opens_at": {now.Add(-time.Minute).Format("2006-01-02T15:04")}, "closes_at": {now.Add(48 * time.Hour).Format("2006-01-02T15:04")},
			"source": {"[parco] single required\nQuale parco?\n- nord: Parco Nord\n\n[voto] colour\nTesto"}}
		res, body := office.do("POST", part+"/ufficio/nuova", form)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-source-error"`) || !strings.Contains(body, "Riga 5") ||
			!strings.Contains(body, `value="I parchi di Cinisello"`) {
			t.Fatalf("a wrong questionnaire: %d\n%s", res.StatusCode, body)
		}
		form.Set("source", journeyQuestions)
		res, _ = office.do("POST", part+"/ufficio/nuova", form)
		m := consultationRE.FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("create: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		id := m[1]
		// A draft is not public; its preview shows the questions.
		if res, _ := office.do("GET", part+"/consultazioni/"+id, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("a draft's public page: %d", res.StatusCode)
		}
		if res, body := office.do("GET", part+"/ufficio/"+id+"/anteprima", nil); res.StatusCode != 200 || !strings.Contains(body, "Quale parco vorresti rinnovare per primo?") {
			t.Fatalf("preview: %d", res.StatusCode)
		}
		if res, _ := office.do("POST", part+"/ufficio/"+id+"/apri", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("open: %d", res.StatusCode)
		}

		page := "/consultazioni/" + id
		if res, body := s.browser(t, nil).do("GET", part+"/", nil); res.StatusCode != 200 || !strings.Contains(body, `href="`+page+`"`) {
			t.Fatalf("the open consultation on the home page: %d", res.StatusCode)
		}
		luca := partecipaResident(t, s, "FRRLCU78H15C707", "LUCA", "FERRARI", page)
		if res, _ := luca.do("GET", part+"/ufficio", nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a resident in the office: %d", res.StatusCode)
		}
		// A missing answer is told beside its question, the rest kept.
		res, body = luca.do("POST", part+page, url.Values{"q-parco": {"nord"}, "q-perche": {"Più alberi"}, "action": {"send"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="q-voto-error"`) || !strings.Contains(body, `value="Più alberi"`) ||
			!regexp.MustCompile(`value="nord" checked`).MatchString(body) {
			t.Fatalf("a missing answer: %d", res.StatusCode)
		}
		// Saved, then resumed from the page.
		if res, _ := luca.do("POST", part+page, url.Values{"q-parco": {"nord"}, "q-perche": {"Più alberi"}, "action": {"save"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d", res.StatusCode)
		}
		if res, body := luca.do("GET", part+page, nil); res.StatusCode != 200 || !strings.Contains(body, `value="Più alberi"`) {
			t.Fatalf("resume: %d", res.StatusCode)
		}
		res, body = luca.do("POST", part+page, url.Values{"q-parco": {"nord"}, "q-perche": {"Più alberi"}, "q-voto": {"4"}, "action": {"send"}})
		if res.StatusCode != 200 || !strings.Contains(body, "le tue risposte sono state registrate") {
			t.Fatalf("send: %d", res.StatusCode)
		}
		receipt := regexpFind(t, body, `data-element="receipt">([A-Z0-9-]{24})<`)
		// Changing his mind: a wrong code is told beside its field; his
		// own opens his answers, which he changes.
		if res, body := luca.do("POST", part+page+"/modifica", url.Values{"receipt": {"ABCD-EFGH-JKMN-PQRS-TUVW"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="receipt-error"`) || !strings.Contains(body, `value="ABCD-EFGH-JKMN-PQRS-TUVW"`) {
			t.Fatalf("a wrong receipt: %d", res.StatusCode)
		}
		res, body = luca.do("POST", part+page+"/modifica", url.Values{"receipt": {strings.ToLower(receipt)}})
		if res.StatusCode != 200 || !strings.Contains(body, `value="Più alberi"`) || !regexp.MustCompile(`value="4" checked`).MatchString(body) {
			t.Fatalf("his answers by receipt: %d", res.StatusCode)
		}
		if res, body := luca.do("POST", part+page+"/modifica", url.Values{"receipt": {receipt}, "q-parco": {"ghirlanda"}, "q-voto": {"4"}, "action": {"send"}}); res.StatusCode != 200 ||
			!strings.Contains(body, "risposte sono state aggiornate") {
			t.Fatalf("amend: %d", res.StatusCode)
		}
		// Luca again, later: one voice.
		if res, _ := luca.do("POST", part+page, url.Values{"q-parco": {"ghirlanda"}, "q-voto": {"1"}, "action": {"send"}}); res.StatusCode != http.StatusConflict {
			t.Fatalf("a second ballot: %d", res.StatusCode)
		}

		// Giulia sends from two sessions at once: one ballot.
		giulia := partecipaResident(t, s, "BNCGLI90A41F205", "GIULIA", "BIANCHI", page)
		giulia2 := s.ssoBrowser(t, s.card(t, "BNCGLI90A41F205", "GIULIA", "BIANCHI", nil))
		s.cardLogin(t, giulia2, "/")
		s.partecipaLogin(t, giulia2, "/accedi?livello=high&next="+url.QueryEscape(page))
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, b := range []*browser{giulia, giulia2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, _ := b.do("POST", part+page, url.Values{"q-parco": {"ghirlanda"}, "q-voto": {"5"}, "action": {"send"}})
				codes[i] = res.StatusCode
			}()
		}
		wg.Wait()
		slices.Sort(codes)
		if codes[0] != 200 || codes[1] != http.StatusConflict {
			t.Fatalf("two sessions at once: %v", codes)
		}

		// Not public before publication; then 2 verified answers.
		if _, body := luca.do("GET", part+page+"/risultati", nil); !strings.Contains(body, "saranno pubblicati dopo la chiusura") {
			t.Fatal("results before publication")
		}
		for _, step := range []string{"chiudi", "pubblica"} {
			if res, _ := office.do("POST", part+"/ufficio/"+id+"/"+step, nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: %d", step, res.StatusCode)
			}
		}
		res, body = s.browser(t, nil).do("GET", part+page+"/risultati", nil)
		if res.StatusCode != 200 || !strings.Contains(body, `data-element="ballots-1">2<`) || !strings.Contains(body, "<svg role=\"img\"") ||
			!regexp.MustCompile(`(?s)<th scope="row">Parco Nord</th><td>0</td><td>0.0</td>.*<th scope="row">Villa Ghirlanda</th><td>2</td><td>100.0</td>`).MatchString(body) {
			t.Fatalf("results: %d\n%s", res.StatusCode, body)
		}
		var entries int
		_ = d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'partecipa.%'`).Scan(&entries)
		if entries != 4 {
			t.Fatalf("%d audit entries of the office's actions, want create, open, close, publish", entries)
		}
		assertUnlinkable(t, d, id)
	})
}

// assertUnlinkable reads the whole database after residents answered and
// checks that nothing in the ballot box points at a person: no column of
// a ballot holds a subject, a session, an account, a fiscal code or a
// time; and on PostgreSQL every ballot carries the mix's transaction,
// none a roll mark's.
func assertUnlinkable(t *testing.T, d *db.DB, consultation string) {
	t.Helper()
	ctx := context.Background()
	rows, err := d.QueryContext(ctx, `SELECT * FROM partecipa_ballots`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	// channel (online or counter) is the one column a ballot shares with
	// its roll mark: docs/PARTECIPA.md, "The counter channel".
	if want := []string{"id", "consultation_id", "verified", "answers", "counted", "fresh", "channel"}; !slices.Equal(cols, want) {
		t.Fatalf("the ballot box's columns are %v, want %v", cols, want)
	}
	var ballots []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		// A time, in any column but the random id.
		for i, v := range vals[1:] {
			if _, isTime := v.(time.Time); isTime || regexp.MustCompile(`20\d\d-\d\d-\d\d|\b\d{10}\b`).MatchString(fmt.Sprint(v)) {
				t.Fatalf("the ballot's %s holds a time: %v", cols[i+1], v)
			}
		}
		ballots = append(ballots, fmt.Sprintln(vals...))
	}
	rows.Close()
	if len(ballots) != 2 {
		t.Fatalf("%d ballots", len(ballots))
	}
	// Everything the database knows of the people who answered.
	var known []string
	for _, q := range []string{`SELECT subject FROM partecipa_roll`, `SELECT subject FROM partecipa_sessions`, `SELECT id_hash FROM partecipa_sessions`,
		`SELECT id FROM accounts`, `SELECT fiscal_code FROM accounts WHERE fiscal_code <> ''`, `SELECT subject FROM oidc_tokens`} {
		r, err := d.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var v string
			_ = r.Scan(&v)
			known = append(known, v)
		}
		r.Close()
	}
	if len(known) < 6 {
		t.Fatalf("only %d identifiers read: the check would prove nothing", len(known))
	}
	for _, b := range ballots {
		for _, k := range known {
			if strings.Contains(b, k) {
				t.Fatalf("a ballot holds %q, which names a person", k)
			}
		}
	}
	if d.Dialect != db.Postgres {
		return
	}
	var ballotTx, rollTx []string
	for q, into := range map[string]*[]string{
		`SELECT xmin::text FROM partecipa_ballots WHERE consultation_id = $1`: &ballotTx,
		`SELECT xmin::text FROM partecipa_roll WHERE consultation_id = $1`:    &rollTx,
	} {
		r, err := d.QueryContext(ctx, q, consultation)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var v string
			_ = r.Scan(&v)
			*into = append(*into, v)
		}
		r.Close()
	}
	if len(ballotTx) != 2 || ballotTx[0] != ballotTx[1] {
		t.Fatalf("the ballots were written by transactions %v: the mix did not rewrite them together", ballotTx)
	}
	for _, x := range rollTx {
		if slices.Contains(ballotTx, x) {
			t.Fatalf("a ballot and a roll mark share the transaction %s", x)
		}
	}
}
