package main

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/population"
)

// Findings of an outside attacker's review of identity and throttling,
// after the issue "Trust before transactions". Each test failed before the
// change that came with it.

// The news subscription form sent a confirmation mail to any address for
// any anonymous client, with no budget at all: 300 mails in 11 s from one
// client against the demo, while the registration and reset forms allow
// ten an hour. Every form that mails an address a stranger typed now draws
// on the same budget of the asking client.
func TestAttack_NewsSubscriptionMailsAnyone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		spammer := s.browser(t, nil)
		spammer.from = "203.0.113.80"
		answers := map[int]int{}
		for i := range 15 {
			res, _ := spammer.do("POST", s.plain.URL+"/novita/iscriviti", url.Values{"email": {fmt.Sprintf("target%d@example.org", i)}})
			answers[res.StatusCode]++
			if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
				t.Error("a refused subscription says nothing of when to try again")
			}
		}
		if answers[http.StatusOK] != 10 || answers[http.StatusTooManyRequests] != 5 {
			t.Errorf("one client asked 15 subscription mails: %v, want 10 sent and 5 refused", answers)
		}
		if n := s.count(t, "mail_outbox"); n != 10 {
			t.Errorf("%d mails queued, want 10", n)
		}
		// One budget for every form that mails a typed address: a client
		// that spent part of it on registrations has the rest for news.
		other := s.browser(t, nil)
		other.from = "203.0.113.81"
		for i := range 6 {
			if res, _ := other.do("POST", s.plain.URL+"/registrati", url.Values{"email": {fmt.Sprintf("reg%d@example.org", i)}, "privacy": {"1"}}); res.StatusCode != http.StatusOK {
				t.Fatalf("registration %d: %d", i, res.StatusCode)
			}
		}
		sent := 0
		for i := range 6 {
			if res, _ := other.do("POST", s.plain.URL+"/novita/iscriviti", url.Values{"email": {fmt.Sprintf("news%d@example.org", i)}}); res.StatusCode == http.StatusOK {
				sent++
			}
		}
		if sent != 4 {
			t.Errorf("after 6 registration mails the client got %d subscription mails, want the 4 left of 10", sent)
		}
	})
}

// Strangers' failures lock an account for every browser that never logged
// into it, the owner's included; a password reset, the owner's way back,
// also forgot the browsers the owner had logged in with, and did not trust
// the one that followed the link. So whoever kept an account's budget spent
// (50 wrong passwords per 15 minutes from a few addresses) kept its owner
// out even after a reset: against the demo, the owner's new password got
// "Troppi tentativi" in the browser that had just reset it. The browser
// that sets a new password through the mailed link proved it reads the
// mailbox, and is trusted from then on; strangers stay locked out.
func TestAttack_ResetLeavesTheOwnerLockedOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		// The account's budget from anywhere lowered by configuration to
		// 6 (50 by default), so that the strangers' failures cost fewer
		// password checks.
		s := newTunedIDSite(t, d, func(c *config) { c.Limits.AccountAttempts = 6 })
		now := time.Now()
		s.apps.identity.Limiter.Now = func() time.Time { return now }
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Anna", FamilyName: "Colombo"}, "test"); err != nil {
			t.Fatal(err)
		}
		login := func(b *browser, password string) int {
			res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {password}})
			return res.StatusCode
		}
		for i := range 6 {
			stranger := s.browser(t, nil)
			stranger.from = "203.0.113." + strconv.Itoa(i+1)
			if st := login(stranger, "not-her-password"); st != http.StatusUnauthorized {
				t.Fatalf("stranger %d: %d", i, st)
			}
		}
		// The owner, on a computer she never used here, is locked out like
		// any stranger, and asks for a reset.
		owner := s.browser(t, nil)
		owner.from = "192.0.2.77"
		if st := login(owner, "tram-per-Sesto-alle-7"); st != http.StatusTooManyRequests {
			t.Fatalf("a new browser after the strangers' failures: %d, want 429", st)
		}
		if res, _ := owner.do("POST", s.plain.URL+"/password-dimenticata", url.Values{"email": {"anna@example.org"}}); res.StatusCode != http.StatusOK {
			t.Fatalf("reset request: %d", res.StatusCode)
		}
		msgs := s.deliverTo(t, "anna@example.org")
		newPassword := "Bicicletta-Verde-al-Parco-42"
		if res, _ := owner.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tokenOf(t, msgs[len(msgs)-1])},
			"password": {newPassword}, "password2": {newPassword}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("reset: %d", res.StatusCode)
		}
		if st := login(owner, newPassword); st != http.StatusSeeOther {
			t.Errorf("the owner, in the browser that reset the password, with the new one: %d, want 303", st)
		}
		// The strangers' lockout still holds for everyone else.
		newcomer := s.browser(t, nil)
		newcomer.from = "192.0.2.50"
		if st := login(newcomer, newPassword); st != http.StatusTooManyRequests {
			t.Errorf("another browser with the new password during the lockout: %d, want 429", st)
		}
	})
}

// A card revoked after its holder logged in ended the portal session only
// when that browser came back to the portal: its Partecipa session (and
// any application's) kept the card's high assurance for up to 12 hours,
// and the portal session and its tokens stayed in the database. Against
// the demo, after `civico ca revoke`, Partecipa still greeted the holder at
// acr high while the card itself was refused. A periodic job, run every
// minute across the processes, now ends the sessions of revoked cards,
// which tells every application (back-channel logout) and stops their
// tokens.
func TestAttack_RevokedCardKeepsItsApplicationSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		card := s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
		b := s.ssoBrowser(t, card)
		s.cardLogin(t, b, "/")
		if _, res, body, _ := s.partecipaLogin(t, b, "/accedi?next=/profilo"); res.StatusCode != 200 || !strings.Contains(body, "Luca Ferrari") {
			t.Fatalf("single sign-on into Partecipa: %d", res.StatusCode)
		}
		if s.count(t, "partecipa_sessions") != 1 || s.count(t, "oidc_tokens") != 1 {
			t.Fatal("no Partecipa session or access token after the login")
		}
		if err := s.ca.Revoke(card.Cert.SerialNumber, time.Now()); err != nil {
			t.Fatal(err)
		}
		// The verifier looks at the CRL file at most once a second.
		time.Sleep(1100 * time.Millisecond)
		// The holder stays on Partecipa and never comes back to the
		// portal; the identity feature's periodic jobs run.
		for _, task := range s.apps.tasks {
			if task.Feature == "identity" && task.Run != nil {
				if err := task.Run(context.Background()); err != nil {
					t.Fatalf("%s: %v", task.Name, err)
				}
			}
		}
		if _, body := b.do("GET", s.part.URL+"/profilo", nil); strings.Contains(body, "Luca Ferrari") {
			t.Error("Partecipa still greets the holder of a revoked card")
		}
		for _, table := range []string{"partecipa_sessions", "sessions", "oidc_tokens"} {
			if n := s.count(t, table); n != 0 {
				t.Errorf("%d rows left in %s after the card's revocation", n, table)
			}
		}
		records, _ := (&audit.Log{DB: d}).List(context.Background(), audit.ListFilter{Action: "session.ended.card_revoked", Limit: 5})
		if len(records) != 1 {
			t.Errorf("%d audit entries for the ended session, want 1", len(records))
		}
	})
}

// BenchmarkRevokedCardSweep is the minute's look for sessions of revoked
// cards (a periodic job), with 1,000 live card sessions of which
// none is revoked (the usual case): one read of the card sessions and a
// CRL lookup each.
func BenchmarkRevokedCardSweep(b *testing.B) {
	s := newIDSiteB(b)
	ctx := context.Background()
	code, _ := cf.Complete("FRRLCU78H15C707")
	card, err := s.ca.IssueCard(cardca.CardRequest{FiscalCode: string(code), GivenName: "LUCA", FamilyName: "FERRARI"})
	if err != nil {
		b.Fatal(err)
	}
	holder, err := s.verifier.Verify([]*x509.Certificate{card.Cert}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.apps.identity.LoginCard(ctx, identity.CardHolder{FiscalCode: string(holder.FiscalCode), Proof: holder.Proof}, holder.Proof, "192.0.2.1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	authority, _, _ := strings.Cut(holder.Proof, ":")
	err = s.d.Tx(ctx, func(tx *sql.Tx) error {
		for i := range 999 {
			if _, err := s.apps.identity.Sessions.Create(ctx, tx, a.Account.ID, assurance.High, "crs", fmt.Sprintf("%s:%x", authority, 1000+i), "bench"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var sweep func(context.Context) error
	for _, t := range s.apps.tasks {
		if t.Name == "sessions of revoked cards" {
			sweep = t.Run
		}
	}
	if sweep == nil {
		b.Fatal("no sweep of revoked cards' sessions")
	}
	// On a shared machine the time per sweep includes waiting for a core;
	// its CPU time is what it costs.
	cpu := processCPU()
	for b.Loop() {
		if err := sweep(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	var n int
	if err := s.d.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil || n != 1000 {
		b.Fatalf("%d sessions after the sweeps, want the 1000 of cards not revoked (%v)", n, err)
	}
}

// The news subscription sent its confirmation again to the same address
// every 5 minutes (each mail killing the link before): 12 mails an hour to
// one address from clients that each stayed within their budget, where
// registration and reset send at most two. It now keeps the pace of reset
// links (identity.MailEvery, 30 minutes): two mails an hour at most, and
// the asks in between answer the same page and send nothing.
func TestAttack_NewsConfirmationsEveryFiveMinutes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		now := time.Now()
		s.apps.civico.news.Service.Now = func() time.Time { return now }
		for i := range 10 { // one ask every 6 minutes for 54 minutes, each from another client
			b := s.browser(t, nil)
			b.from = fmt.Sprintf("203.0.113.%d", 100+i)
			if res, _ := b.do("POST", s.plain.URL+"/novita/iscriviti", url.Values{"email": {"victim@example.org"}}); res.StatusCode != http.StatusOK {
				t.Fatalf("ask %d: %d", i, res.StatusCode)
			}
			now = now.Add(6 * time.Minute)
		}
		msgs := s.deliverTo(t, "victim@example.org")
		if len(msgs) != 2 {
			t.Errorf("%d confirmation mails to one address in 54 minutes; want 2, as registration and reset", len(msgs))
		}
		// The last mail's link works.
		if _, err := s.apps.civico.news.Service.PendingTopics(context.Background(), tokenOf(t, msgs[len(msgs)-1])); err != nil {
			t.Errorf("the last confirmation link: %v", err)
		}
	})
}

// Budgets counted an IPv6 client by its /64 alone. A single person holding
// a /48 (Hurricane Electric's tunnel broker hands one out for free; many
// providers give homes a /56 or /48) was 65,536 or 256 clients: 65,536
// times the mail budget (10 mails an hour each, to addresses of their
// choice), the login budgets, and enough password checks to keep the
// argon2 queue full. Every budget of an IPv6 /64 now also draws on its
// /48's, ten clients' worth, in the same step; IPv4 addresses are as they
// were.
func TestAttack_OneSlash48IsThousandsOfClients(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ask := func(from, email string) int {
			b := s.browser(t, nil)
			b.from = from
			res, _ := b.do("POST", s.plain.URL+"/registrati", url.Values{"email": {email}, "privacy": {"1"}})
			if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
				t.Error("a refused registration says nothing of when to try again")
			}
			return res.StatusCode
		}
		answers := map[int]int{}
		for i := range 101 { // 101 /64s of one /48, 1 mail each
			answers[ask(fmt.Sprintf("2001:db8:77:%x::1", i), fmt.Sprintf("target%d@example.org", i))]++
		}
		if answers[http.StatusOK] != 100 || answers[http.StatusTooManyRequests] != 1 {
			t.Errorf("101 /64s of one /48 asked a mail each: %v, want 100 sent (ten clients' worth) and 1 refused", answers)
		}
		if n := s.count(t, "mail_outbox"); n != 100 {
			t.Errorf("%d mails queued, want 100", n)
		}
		// Another /48 has its own budget, and IPv4 is counted as before.
		if st := ask("2001:db8:78::1", "other@example.org"); st != http.StatusOK {
			t.Errorf("another /48: %d", st)
		}
		for i := range 20 {
			if st := ask(fmt.Sprintf("198.51.100.%d", i), fmt.Sprintf("v4-%d@example.org", i)); st != http.StatusOK {
				t.Errorf("IPv4 address %d: %d", i, st)
			}
		}
	})
}

// A password session read, in the download of the person's data, the
// fiscal code a card proved, the sex and birth date that came with it and
// the population register's record (district), which /api/v1/me and
// /profilo show only to a session that proved the fiscal code ("a password
// session never gets one, whatever the account holds"). A card account
// gets a password by linking. The download now follows the same rule, and
// says what it withheld and how to get it.
func TestAttack_PasswordSessionDownloadsTheProvenFiscalCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		code := s.inRegister(t, population.Person{FiscalCode: "FRRLCU78H15C707", District: "Crocetta", Sex: "M", BirthDate: "1978-06-15"})
		if _, err := s.apps.identity.ImportResident(ctx, identity.NewResident{Email: "luca@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Luca", FamilyName: "Ferrari"}, "test"); err != nil {
			t.Fatal(err)
		}
		card := s.browser(t, s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil))
		card.do("GET", s.tls.URL+"/login/crs", nil)
		s.linkByCard(t, card, "luca@example.org", "tram-per-Sesto-alle-7")
		// An entry naming a card, as the end of a revoked card's session
		// writes.
		_, me := card.me(s.tls.URL)
		if err := (&audit.Log{DB: d}).Write(ctx, nil, audit.Entry{Actor: "system", Action: "session.ended.card_revoked", Subject: me.ID,
			Details: map[string]string{"card": "CN=Test CA|0x5eed"}}); err != nil {
			t.Fatal(err)
		}
		body, out := card.download(t, s.tls.URL)
		if !strings.Contains(body, string(code)) || !strings.Contains(string(out["population_register"]), "Crocetta") || !strings.Contains(body, "0x5eed") ||
			!strings.Contains(string(out["account"]), "1978-06-15") || out["withheld"] != nil {
			t.Errorf("the card session's download lacks what the card proved: %s", body)
		}
		pw := s.browser(t, nil)
		pw.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"luca@example.org"}, "password": {"tram-per-Sesto-alle-7"}})
		if _, pme := pw.me(s.plain.URL); pme.FiscalCode != "" || pme.Assurance != "low" {
			t.Fatalf("password session: %+v", pme)
		}
		body, out = pw.download(t, s.plain.URL)
		for _, proven := range []string{string(code), "Crocetta", "1978-06-15", "0x5eed"} {
			if strings.Contains(body, proven) {
				t.Errorf("a password session downloads %s, which only a card proved", proven)
			}
		}
		if string(out["population_register"]) != "null" || !strings.Contains(string(out["withheld"]), "accedi con la carta") {
			t.Errorf("the password session's download: register %s, withheld %s; want null and a note saying to log in with the card", out["population_register"], out["withheld"])
		}
		if !strings.Contains(string(out["account"]), "luca@example.org") || !strings.Contains(string(out["audit_log"]), "account.linked") {
			t.Errorf("the password session's download lacks the rest: %s", body)
		}
	})
}

// Linking took the password account's address and password into the card
// holder's account on the password alone, and told the address nothing.
// Whoever learnt a resident's password once (phishing, reuse) and had a
// card of their own linked the resident's account into their own: the
// resident's password, and the reset she did when she suspected something,
// then opened the thief's account, which the thief's card kept opening. A
// one-time compromise became permanent, and a reset did not end it. The
// password now only has a link mailed to the address, which tells its
// owner in any case; the link works only in a session of the card account
// that asked, and a reset kills it.
func TestAttack_LinkMakesAStolenPasswordPermanent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Anna", FamilyName: "Colombo"}, "test"); err != nil {
			t.Fatal(err)
		}
		thief := s.browser(t, s.card(t, "RSSMRA85T10A562", "MARIO", "ROSSI", nil))
		thief.do("GET", s.tls.URL+"/login/crs", nil)
		s.askLink(t, thief, "anna@example.org", "tram-per-Sesto-alle-7")
		if _, me := thief.me(s.tls.URL); me.Email != "" {
			t.Fatalf("the stolen password alone linked the account: %+v", me)
		}
		// The owner is told, and told what to do.
		mail := s.deliverTo(t, "anna@example.org")
		if len(mail) != 1 || !strings.Contains(mail[0].Text, "/password-dimenticata") || !strings.Contains(mail[0].Text, "qualcuno conosce la tua password") {
			t.Fatalf("the owner's mail: %+v", mail)
		}
		stolenLink := tokenOf(t, mail[0])
		// Clicked by the owner in her own card's session, the link links
		// nothing: only the card that asked may follow it.
		owner := s.browser(t, s.card(t, "CLMNNA80A41F205", "ANNA", "COLOMBO", nil))
		owner.do("GET", s.tls.URL+"/login/crs", nil)
		if res, body := owner.do("GET", s.tls.URL+"/profilo/collega/conferma?token="+stolenLink, nil); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "con un&#39;altra carta") {
			t.Errorf("the link in another card's session: %d", res.StatusCode)
		}
		if res, _ := owner.do("POST", s.tls.URL+"/profilo/collega/conferma", url.Values{"token": {stolenLink}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("confirming the link in another card's session: %d", res.StatusCode)
		}
		// She resets her password by mail: the link dies with the old one.
		pw := s.browser(t, nil)
		pw.do("POST", s.plain.URL+"/password-dimenticata", url.Values{"email": {"anna@example.org"}})
		msgs := s.deliverTo(t, "anna@example.org")
		newPassword := "Bicicletta-Verde-al-Parco-42"
		pw.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {tokenOf(t, msgs[len(msgs)-1])}, "password": {newPassword}, "password2": {newPassword}})
		pw.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {newPassword}})
		_, ownerMe := pw.me(s.plain.URL)
		if ownerMe.ID == "" {
			t.Fatal("the owner cannot log in after the reset")
		}
		// Even a thief who also got the mail cannot use it now.
		if res, _ := thief.do("POST", s.tls.URL+"/profilo/collega/conferma", url.Values{"token": {stolenLink}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("the link after the reset: %d, want 400", res.StatusCode)
		}
		thief.do("GET", s.tls.URL+"/login/crs", nil)
		if _, thiefMe := thief.me(s.tls.URL); thiefMe.ID == ownerMe.ID || thiefMe.Email != "" {
			t.Errorf("the thief's card opens the account her address and password open (%s, %s)", ownerMe.ID, thiefMe.Email)
		}
		var asked int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = 'account.link.requested'`).Scan(&asked); err != nil || asked != 1 {
			t.Errorf("%d audited link requests (%v), want 1", asked, err)
		}
	})
}

// Any resident (registration costs a mailbox) grew the audit log and the
// sessions table as fast as the server answered: every profile save was an
// audit entry, every card login a session and an audit entry, with no
// budget. Against the demo: 500 profile saves wrote 500 entries in 20 s,
// 300 card logins 300 sessions and 300 entries in 8 s. An account now holds
// at most 20 sessions (a new login ends the oldest, audited once as such),
// one fiscal code logs in with a card at most 30 times an hour, and an
// account saves its profile at most 60 times an hour; beyond, a translated
// 429 and nothing saved.
func TestAttack_ResidentGrowsTheAuditLogAtWill(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		actions := func(action string) int {
			var n int
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		card := s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
		b := s.browser(t, card)
		b.from = "203.0.113.90"
		answers := map[int]int{}
		for range 100 {
			res, body := b.do("GET", s.tls.URL+"/login/crs", nil)
			answers[res.StatusCode]++
			if res.StatusCode == http.StatusTooManyRequests && (res.Header.Get("Retry-After") == "" || !strings.Contains(body, "Troppi accessi con questa carta")) {
				t.Fatalf("a refused card login says nothing of why or when: %s", body)
			}
		}
		if answers[http.StatusSeeOther] != identity.DefaultLimits().CardLogins || answers[http.StatusTooManyRequests] != 100-identity.DefaultLimits().CardLogins {
			t.Errorf("100 card logins in a moment: %v, want %d and the rest refused", answers, identity.DefaultLimits().CardLogins)
		}
		if n := s.count(t, "sessions"); n != identity.MaxPerAccount {
			t.Errorf("one card logged in %d times holds %d live sessions, want %d", identity.DefaultLimits().CardLogins, n, identity.MaxPerAccount)
		}
		if ok, ended := actions("login.crs.ok"), actions("session.ended.limit"); ok != identity.DefaultLimits().CardLogins || ended != identity.DefaultLimits().CardLogins-identity.MaxPerAccount {
			t.Errorf("audited %d card logins and %d sessions ended by the bound, want %d and %d", ok, ended, identity.DefaultLimits().CardLogins, identity.DefaultLimits().CardLogins-identity.MaxPerAccount)
		}
		// The newest session, the browser's, is one of those kept.
		if st, me := b.me(s.tls.URL); st != 200 || me.FiscalCode == "" {
			t.Fatalf("the newest session after the bound: %d", st)
		}
		answers = map[int]int{}
		phone := func(i int) string { return fmt.Sprintf("02 66%04d", i) } // a phone number the profile takes
		for i := range 100 {
			res, body := b.do("POST", s.tls.URL+"/profilo", url.Values{"given_name": {"x"}, "family_name": {"y"}, "phone": {phone(i)}})
			answers[res.StatusCode]++
			if res.StatusCode == http.StatusTooManyRequests && (res.Header.Get("Retry-After") == "" || !strings.Contains(body, "non è stato salvato nulla") ||
				!strings.Contains(body, fmt.Sprintf(`value="%s"`, phone(i)))) {
				t.Fatalf("a refused profile save says nothing of why or when, or loses what was typed: %s", body)
			}
		}
		if answers[http.StatusSeeOther] != identity.ProfileSavesPerHour || answers[http.StatusTooManyRequests] != 100-identity.ProfileSavesPerHour {
			t.Errorf("100 profile saves in a moment: %v, want %d and the rest refused", answers, identity.ProfileSavesPerHour)
		}
		if n := actions("account.profile_updated"); n != identity.ProfileSavesPerHour {
			t.Errorf("%d profile saves audited, want %d", n, identity.ProfileSavesPerHour)
		}
		if _, me := b.me(s.tls.URL); me.ID != "" {
			a, err := s.apps.identity.Store.ByID(ctx, me.ID)
			if err != nil || a.Phone != phone(identity.ProfileSavesPerHour-1) {
				t.Errorf("the phone after the refused saves: %q (%v), want the last one saved", a.Phone, err)
			}
		}
	})
}
