package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/partecipa"
	"github.com/civico-pa/civico/internal/population"
)

// openCounterConsultation opens a residents' consultation of
// journeyQuestions at substantial, closing in a day.
func openCounterConsultation(t *testing.T, s *idSite) string {
	t.Helper()
	ctx := context.Background()
	store := s.apps.civico.partecipa.Store
	id, err := store.Create(ctx, partecipa.Input{Title: "I parchi", Source: journeyQuestions, MinLevel: "substantial", ResidentsOnly: true,
		OpensAt: time.Now().Add(-time.Hour), ClosesAt: time.Now().Add(24 * time.Hour)}, "office")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Open(ctx, id, "office"); err != nil {
		t.Fatal(err)
	}
	return id
}

// omocodic is code with its last digit replaced by its omocodic letter and
// the check character recomputed: a valid code of another person.
func omocodic(t *testing.T, code cf.Code) cf.Code {
	t.Helper()
	b := []byte(code[:15])
	b[14] = "LMNPQRSTUV"[b[14]-'0']
	out, err := cf.Complete(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The counter channel through the server as built, on both engines: an
// operator with the counter role, logged into Partecipa by single
// sign-on, records the answer of a resident of the register who has no
// account yet; her first card login later makes an account with the same
// subject, and Partecipa tells her she took part. A resident who answered
// online is refused at the counter. An omocodic variant of a code, and a
// valid code of nobody, are refused, and nothing is written. The provider
// answers only the counter client with an operator's token, only while
// the operator holds the role, within a budget; each look-up is audited.
func TestPartecipaCounterChannel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		part := s.part.URL
		id := openCounterConsultation(t, s)
		page := "/consultazioni/" + id
		anna := s.inRegister(t, population.Person{FiscalCode: "RSSNNA85M41F205", District: "Crocetta", BirthDate: "1985-08-01", Sex: "F"})

		// An operator of the office only is refused the counter.
		office := operatorBrowser(t, s, "ufficio@comune.example.it", "participation")
		if last, res, _, _ := office.follow(part+"/accedi?next=/sportello", ""); res.StatusCode != http.StatusForbidden {
			t.Fatalf("the office at the counter: %d at %s", res.StatusCode, last)
		}
		desk := operatorBrowser(t, s, "banco@comune.example.it", oidcop.CounterRole)
		if last, res, body, _ := desk.follow(part+"/accedi?next=/sportello", ""); res.StatusCode != 200 || last != part+"/sportello" || !strings.Contains(body, `href="/sportello/`+id+`"`) {
			t.Fatalf("the counter: %d at %s", res.StatusCode, last)
		}
		started := time.Now()
		answer := func(code string) url.Values {
			return url.Values{"fiscal_code": {code}, "q-parco": {"nord"}, "q-voto": {"4"}, "action": {"send"}}
		}
		state := func() [3]int {
			return [3]int{countRows(t, d, `SELECT COUNT(*) FROM partecipa_roll`), countRows(t, d, `SELECT COUNT(*) FROM partecipa_ballots`),
				countRows(t, d, `SELECT COUNT(*) FROM account_successors`)}
		}

		// A missing answer: told beside its question, the code kept.
		res, body := desk.do("POST", part+"/sportello/"+id, url.Values{"fiscal_code": {string(anna)}, "q-parco": {"nord"}, "action": {"send"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="q-voto-error"`) || !strings.Contains(body, `value="`+string(anna)+`"`) {
			t.Fatalf("a missing answer at the counter: %d", res.StatusCode)
		}
		// An omocodic variant of Anna's code, a valid code of nobody, a
		// malformed one: refused beside the field, nothing written.
		before := state()
		nobody, _ := cf.Complete("VRDMRA70A01F205")
		for _, code := range []string{string(omocodic(t, anna)), string(nobody), "RSSNNA85M41F20"} {
			res, body := desk.do("POST", part+"/sportello/"+id, answer(code))
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="fiscal_code-error"`) {
				t.Fatalf("the code %s at the counter: %d", code, res.StatusCode)
			}
		}
		if after := state(); after != before {
			t.Fatalf("refused codes wrote something: %v then %v", before, after)
		}

		// Anna at the counter: recorded; a reservation of her subject waits
		// for her account.
		res, _ = desk.do("POST", part+"/sportello/"+id, answer(string(anna)))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sportello/"+id+"?registrata=1" {
			t.Fatalf("Anna at the counter: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if got := state(); got != [3]int{1, 1, 1} {
			t.Fatalf("after Anna at the counter: roll, ballots, reservations %v", got)
		}
		// Again at the counter: refused, whatever the answers.
		if res, body := desk.do("POST", part+"/sportello/"+id, answer(string(anna))); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "ha già partecipato") {
			t.Fatalf("Anna twice at the counter: %d", res.StatusCode)
		}
		// Two look-ups of Anna, who has no account: two notices kept for
		// her beside her reserved subject, nothing in anyone's inbox.
		if n := countRows(t, d, `SELECT COUNT(*) FROM oidc_counter_notices`); n != 2 {
			t.Fatalf("%d notices kept for Anna, want 2", n)
		}
		// Anna's first card login, then Partecipa: the same subject.
		annaOnline := s.ssoBrowser(t, s.card(t, string(anna)[:15], "ANNA", "ROSSI", nil))
		s.cardLogin(t, annaOnline, "/")
		if last, res, body, _ := s.partecipaLogin(t, annaOnline, "/accedi?livello=high&next="+url.QueryEscape(page)); res.StatusCode != 200 || last != part+page ||
			strings.Contains(body, `name="q-parco"`) {
			t.Fatalf("Anna online after the counter: %d at %s, a form shown: %v", res.StatusCode, last, strings.Contains(body, `name="q-parco"`))
		}
		if res, _ := annaOnline.do("POST", part+page, url.Values{"q-parco": {"ghirlanda"}, "q-voto": {"1"}, "action": {"send"}}); res.StatusCode != http.StatusConflict {
			t.Fatalf("Anna online after the counter: %d", res.StatusCode)
		}
		if got := state(); got != [3]int{1, 1, 0} {
			t.Fatalf("after Anna's account took her subject: roll, ballots, reservations %v", got)
		}
		// Her account took the notices with her subject: two messages in
		// her inbox, at the look-ups' own times (before her account), and
		// none kept any more.
		var annaID string
		var annaSince time.Time
		if err := d.QueryRowContext(context.Background(), `SELECT id, created_at FROM accounts WHERE fiscal_code = $1`, string(anna)).Scan(&annaID, &annaSince); err != nil {
			t.Fatal(err)
		}
		msgs, err := d.QueryContext(context.Background(), `SELECT created_at, body FROM area_messages WHERE account_id = $1 AND subject = 'Identificazione allo sportello di Partecipa' ORDER BY created_at`, annaID)
		if err != nil {
			t.Fatal(err)
		}
		var kept []time.Time
		for msgs.Next() {
			var at time.Time
			var body string
			if err := msgs.Scan(&at, &body); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(body, "Non avevi un account attivo") || !strings.Contains(body, at.In(hours.Rome).Format("02/01/2006 15:04")) {
				t.Errorf("a kept notice: %q at %s", body, at)
			}
			kept = append(kept, at)
		}
		msgs.Close()
		if len(kept) != 2 || !kept[0].After(started) || !kept[1].Before(annaSince) {
			t.Fatalf("Anna's inbox after her first login: %v, her account since %s", kept, annaSince)
		}
		if n := countRows(t, d, `SELECT COUNT(*) FROM oidc_counter_notices`); n != 0 {
			t.Fatalf("%d notices still kept after Anna's account took them", n)
		}

		// Luca answers online; the counter is refused after.
		luca := partecipaResident(t, s, "FRRLCU78H15C707", "LUCA", "FERRARI", page)
		if res, _ := luca.do("POST", part+page, url.Values{"q-parco": {"nord"}, "q-voto": {"2"}, "action": {"send"}}); res.StatusCode != 200 {
			t.Fatalf("Luca online: %d", res.StatusCode)
		}
		lucaCode, _ := cf.Complete("FRRLCU78H15C707")
		if res, body := desk.do("POST", part+"/sportello/"+id, answer(string(lucaCode))); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "ha già partecipato") {
			t.Fatalf("Luca at the counter after online: %d", res.StatusCode)
		}
		if got := state(); got != [3]int{2, 2, 0} {
			t.Fatalf("after Luca: roll, ballots, reservations %v", got)
		}
		// A resident with an account is told, in the inbox, that the desk
		// identified them (outside review L1); Anna, who had none, was told
		// when she had one.
		told := func(code string) int {
			return countRows(t, d, `SELECT COUNT(*) FROM area_messages m JOIN accounts a ON a.id = m.account_id
				WHERE a.fiscal_code = $1 AND m.subject = 'Identificazione allo sportello di Partecipa'`, code)
		}
		if l, a := told(string(lucaCode)), told(string(anna)); l != 1 || a != 2 {
			t.Errorf("inbox messages of the desk's look-ups: Luca %d, Anna %d; want 1 and 2", l, a)
		}

		// Every look-up is audited, by operator, with a keyed hash of the
		// code, never the code.
		if n := countRows(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'oidc.counter.subject' AND actor LIKE 'operator:%'`); n != 3 {
			t.Fatalf("%d audited look-ups, want 3", n)
		}
		annaMAC := s.apps.civico.identity.FiscalCodeAuditMAC(string(anna))
		if n := countRows(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'oidc.counter.subject' AND details LIKE $1`, `%"fiscal_code_mac":"`+annaMAC+`"%`); n != 2 {
			t.Fatalf("%d audited look-ups of Anna by her code's keyed hash, want 2", n)
		}
		if n := countRows(t, d, `SELECT COUNT(*) FROM audit_log WHERE details LIKE '%RSSNNA85M41F205%' OR details LIKE '%FRRLCU78H15C707%'`); n != 0 {
			t.Fatalf("%d audit entries with a fiscal code in clear", n)
		}
		if n := countRows(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'oidc.counter.unknown'`); n != 2 {
			t.Fatalf("%d audited refusals, want 2 (the malformed code never reached the register)", n)
		}

		// The endpoint itself: another client's credentials, no token, a
		// forged one: refused.
		endpoint := s.plain.URL + oidcop.PathCounterSubject
		post := func(form url.Values, bearer string) int {
			req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		secret := s.apps.civico.oidc.Secret.ClientSecret(partecipaClientID)
		if code := post(url.Values{"client_id": {partecipaClientID}, "client_secret": {"wrong"}, "fiscal_code": {string(anna)}}, "x"); code != http.StatusUnauthorized {
			t.Fatalf("a wrong client secret: %d", code)
		}
		if code := post(url.Values{"client_id": {partecipaClientID}, "client_secret": {secret}, "fiscal_code": {string(anna)}}, ""); code != http.StatusUnauthorized {
			t.Fatalf("no operator's token: %d", code)
		}
		if code := post(url.Values{"client_id": {partecipaClientID}, "client_secret": {secret}, "fiscal_code": {string(anna)}}, "forged"); code != http.StatusUnauthorized {
			t.Fatalf("a forged token: %d", code)
		}

		// The role, read at each look-up: taken away, the counter is refused.
		if _, err := d.ExecContext(context.Background(), `DELETE FROM account_roles WHERE role = $1`, oidcop.CounterRole); err != nil {
			t.Fatal(err)
		}
		s.apps.identity.Store.Cache.Sync() // a change behind the processes' back: seen at their next reading
		if res, _ := desk.do("POST", part+"/sportello/"+id, answer(string(nobody))); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a look-up after the role was taken away: %d", res.StatusCode)
		}
	})
}

// An operator's look-ups are limited (oidcop.CounterRule): past the
// budget the provider refuses, and the counter says to wait.
func TestPartecipaCounterBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		part := s.part.URL
		id := openCounterConsultation(t, s)
		desk := operatorBrowser(t, s, "banco@comune.example.it", oidcop.CounterRole)
		desk.follow(part+"/accedi?next=/sportello", "")
		nobody, _ := cf.Complete("VRDMRA70A01F205")
		form := url.Values{"fiscal_code": {string(nobody)}, "q-parco": {"nord"}, "q-voto": {"4"}, "action": {"send"}}
		for i := range oidcop.CounterRule.Free {
			if res, _ := desk.do("POST", part+"/sportello/"+id, form); res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("look-up %d: %d", i+1, res.StatusCode)
			}
		}
		if res, _ := desk.do("POST", part+"/sportello/"+id, form); res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("past the budget: %d", res.StatusCode)
		}
	})
}

// Outside review L4: one person under two spellings of a code (the
// register's omocodic variant, the card's base form, or the reverse)
// would have two subjects, two voices. The counter refuses to answer a
// subject kept for one spelling while another is on file, unless the
// register holds both as two people; nothing is written, the refusal is
// audited and the operator reads why beside the code. The reverse path
// (the counter first, then a card of the other spelling) is audited at
// the account's creation, and the counter refuses that spelling after.
func TestPartecipaCounterOtherSpelling(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		part := s.part.URL
		id := openCounterConsultation(t, s)
		desk := operatorBrowser(t, s, "banco@comune.example.it", oidcop.CounterRole)
		if last, res, _, _ := desk.follow(part+"/accedi?next=/sportello", ""); res.StatusCode != 200 || last != part+"/sportello" {
			t.Fatalf("the counter: %d at %s", res.StatusCode, last)
		}
		answer := func(code cf.Code) (int, string) {
			res, body := desk.do("POST", part+"/sportello/"+id, url.Values{"fiscal_code": {string(code)}, "q-parco": {"nord"}, "q-voto": {"4"}, "action": {"send"}})
			return res.StatusCode, body
		}
		state := func() [4]int {
			return [4]int{countRows(t, d, `SELECT COUNT(*) FROM partecipa_roll`), countRows(t, d, `SELECT COUNT(*) FROM partecipa_ballots`),
				countRows(t, d, `SELECT COUNT(*) FROM account_successors`), countRows(t, d, `SELECT COUNT(*) FROM oidc_counter_notices`)}
		}
		refused := func(who string, code cf.Code) {
			t.Helper()
			before := state()
			status, body := answer(code)
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="fiscal_code-error"`) || !strings.Contains(body, "ufficio anagrafe") {
				t.Fatalf("%s at the counter under another spelling: %d", who, status)
			}
			if after := state(); after != before {
				t.Fatalf("%s: a refused spelling wrote something: %v then %v", who, before, after)
			}
		}
		audited := func(action string) int {
			return countRows(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = $1`, action)
		}

		// Carla's card bears the base code; the register holds her code
		// with letters (a data error). Her account's subject is the base
		// code's; the register's spelling is refused at the counter.
		carlaCard, _ := cf.Complete("BNCCRL90A41F205")
		carlaRegister := s.inRegister(t, population.Person{FiscalCode: string(omocodic(t, carlaCard))[:15], District: "Crocetta"})
		carla := s.ssoBrowser(t, s.card(t, string(carlaCard)[:15], "CARLA", "BIANCHI", nil))
		s.cardLogin(t, carla, "/")
		refused("Carla", carlaRegister)
		if n := audited("oidc.counter.other_spelling"); n != 1 {
			t.Fatalf("%d audited refusals of another spelling, want 1", n)
		}

		// Dario and his omocodic namesake Davide are both in the register:
		// two people. Dario has an account; Davide is answered at the
		// counter.
		partecipaResident(t, s, "RSSDRA80A01F205", "DARIO", "ROSSI", "/")
		darioCode, _ := cf.Complete("RSSDRA80A01F205")
		davide := s.inRegister(t, population.Person{FiscalCode: string(omocodic(t, darioCode))[:15], District: "Bettola"})
		if status, _ := answer(davide); status != http.StatusSeeOther {
			t.Fatalf("Davide, in the register beside his namesake: %d", status)
		}

		// Elena: the register holds her code with letters; the counter
		// answers her first (no account, no other spelling on file yet).
		// Her card then proves the base code: the login goes on, audited;
		// the register's spelling is refused at the counter from then on.
		elenaCard, _ := cf.Complete("VRDLNE75B42F205")
		elenaRegister := s.inRegister(t, population.Person{FiscalCode: string(omocodic(t, elenaCard))[:15], District: "Crocetta"})
		second := openCounterConsultation(t, s)
		if status, _ := answer(elenaRegister); status != http.StatusSeeOther {
			t.Fatalf("Elena at the counter: %d", status)
		}
		elena := s.ssoBrowser(t, s.card(t, string(elenaCard)[:15], "ELENA", "VERDI", nil))
		s.cardLogin(t, elena, "/")
		if n := audited("account.other_spelling"); n != 1 {
			t.Fatalf("%d audited accounts with another spelling on file, want 1 (Elena)", n)
		}
		id = second
		refused("Elena", elenaRegister)
		if n := audited("oidc.counter.other_spelling"); n != 2 {
			t.Fatalf("%d audited refusals of another spelling, want 2", n)
		}
	})
}

// Two look-ups at the counter of a resident without an account, in two
// consultations, then her first login by SPID: her inbox shows both, at
// the look-ups' times, and nothing is kept any more.
func TestPartecipaCounterNoticesWaitForTheFirstLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		part := s.part.URL
		first, second := openCounterConsultation(t, s), openCounterConsultation(t, s)
		gina := s.inRegister(t, population.Person{FiscalCode: "GLLGNI70C45F205", District: "Crocetta"})
		desk := operatorBrowser(t, s, "banco@comune.example.it", oidcop.CounterRole)
		if last, res, _, _ := desk.follow(part+"/accedi?next=/sportello", ""); res.StatusCode != 200 || last != part+"/sportello" {
			t.Fatalf("the counter: %d at %s", res.StatusCode, last)
		}
		var looked []time.Time
		for _, id := range []string{first, second} {
			before := time.Now().Truncate(time.Microsecond)
			res, _ := desk.do("POST", part+"/sportello/"+id, url.Values{"fiscal_code": {string(gina)}, "q-parco": {"nord"}, "q-voto": {"4"}, "action": {"send"}})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("Gina at the counter of %s: %d", id, res.StatusCode)
			}
			looked = append(looked, before)
		}
		if n := countRows(t, d, `SELECT COUNT(*) FROM oidc_counter_notices`); n != 2 {
			t.Fatalf("%d notices kept for Gina, want 2", n)
		}
		login, err := s.apps.identity.LoginProven(ctx, identity.Proven{FiscalCode: string(gina), GivenName: "GINA", FamilyName: "GALLI",
			Source: identity.SourceSPID, Level: assurance.Substantial, Method: "spid"}, "192.0.2.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := d.QueryContext(ctx, `SELECT created_at FROM area_messages WHERE account_id = $1 AND subject = 'Identificazione allo sportello di Partecipa'
			ORDER BY created_at`, login.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		var at []time.Time
		for rows.Next() {
			var m time.Time
			if err := rows.Scan(&m); err != nil {
				t.Fatal(err)
			}
			at = append(at, m)
		}
		rows.Close()
		if len(at) != 2 || at[0].Before(looked[0]) || !at[0].Before(looked[1]) || at[1].Before(looked[1]) || !at[1].Before(login.Account.CreatedAt) {
			t.Fatalf("Gina's inbox: %v; looked up from %v, her account since %s", at, looked, login.Account.CreatedAt)
		}
		if n := countRows(t, d, `SELECT COUNT(*) FROM oidc_counter_notices`); n != 0 {
			t.Fatalf("%d notices still kept after Gina's account took them", n)
		}
	})
}
