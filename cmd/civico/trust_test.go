package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/web"
	"golang.org/x/oauth2"
)

// The findings of an attacker against the demo, one test each (issue
// "Trust before transactions"). Each failed before the change it names.

// Pre-account hijacking, first way: a stranger registered a password account
// with someone's fiscal code (only the check character was verified) and
// waited for the holder's card login to land in it. A typed fiscal code is
// now no field at all; one stored before is a claim, and the holder's card
// takes it away and opens the holder's own account.
func TestCardNeverEntersAnAccountThatOnlyClaimsItsFiscalCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		code, _ := cf.Complete("FRRLCU78H15C707")
		attacker := s.browser(t, nil)
		s.register(t, attacker, "attacker@example.org", "Luca", "Ferrari", "tram-per-Sesto-alle-7")
		// The form takes no fiscal code any more; an account from before
		// this change may hold one, marked as the claim it is.
		if _, err := d.ExecContext(ctx, `UPDATE accounts SET fiscal_code = $1, fiscal_code_source = 'self', sex = 'M', birth_date = '1978-06-15', birth_source = 'self'
			WHERE email = 'attacker@example.org'`, string(code)); err != nil {
			t.Fatal(err)
		}
		s.apps.identity.Store.Cache.Sync() // a change behind the processes' back: seen at their next reading
		attacker.do("POST", s.plain.URL+"/profilo", url.Values{"given_name": {"Luca"}, "family_name": {"Ferrari"}, "phone": {"+39 333 1234567"}})

		holder := s.browser(t, s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil))
		holder.do("GET", s.tls.URL+"/login/crs", nil)
		_, me := holder.me(s.tls.URL)
		if me.Email == "attacker@example.org" || me.FiscalCode != string(code) || me.Assurance != "high" {
			t.Fatalf("the card landed in the stranger's account: %+v", me)
		}
		if _, body := holder.do("GET", s.tls.URL+"/profilo", nil); strings.Contains(body, "333 1234567") {
			t.Error("the holder sees what the stranger saved")
		}
		// The stranger's password now opens an account without the code.
		if _, me := attacker.me(s.plain.URL); me.FiscalCode != "" {
			t.Errorf("the claimant still shows the fiscal code: %+v", me)
		}
		if a, err := s.apps.identity.Store.ByEmail(ctx, "attacker@example.org"); err != nil || a.FiscalCode != "" || a.BirthDate != "" {
			t.Errorf("the claim stayed on the stranger's account: %+v %v", a, err)
		}
		records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "account.claim_dropped", Limit: 5})
		if len(records) != 1 {
			t.Errorf("%d claim_dropped entries in the audit log, want 1", len(records))
		}
	})
}

// Pre-account hijacking, second way: a stranger registered the victim's
// address with the stranger's own fiscal code, so that the stranger's card
// opened the account the victim later recovered. Registration now proves
// the address first, and linking needs the account's password in the
// browser where the card was used.
func TestACardCannotTakeAnAccountItsHolderDoesNotControl(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		attacker := s.ssoBrowser(t, s.card(t, "RSSMRA85T10A562", "MARIO", "ROSSI", nil))
		// The stranger asks to register the victim's address: the link goes
		// to the victim, and nothing exists until it is followed.
		attacker.do("POST", s.plain.URL+"/registrati", url.Values{"email": {"victim@example.org"}, "privacy": {"1"}})
		if n := s.count(t, "accounts"); n != 0 {
			t.Fatalf("%d accounts before anyone followed the link", n)
		}
		victim := s.browser(t, nil)
		msgs := s.deliverTo(t, "victim@example.org")
		victim.do("POST", s.plain.URL+"/registrati/completa", url.Values{"token": {tokenOf(t, msgs[0])}, "given_name": {"Vittoria"},
			"family_name": {"Neri"}, "password": {"Quarzo-Tram-Sesto-91"}, "password2": {"Quarzo-Tram-Sesto-91"}})
		// The stranger's card opens the stranger's own account, and cannot
		// take the victim's without its password.
		attacker.do("GET", s.tls.URL+"/login/crs", nil)
		if res, _ := attacker.do("POST", s.tls.URL+"/profilo/collega", url.Values{"link_email": {"victim@example.org"}, "link_password": {"guess-guess-1"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("linking without the password: %d", res.StatusCode)
		}
		if _, me := attacker.me(s.tls.URL); me.Email != "" {
			t.Fatalf("the stranger's card reached the victim's address: %+v", me)
		}
		a, err := s.apps.identity.Store.ByEmail(ctx, "victim@example.org")
		if err != nil || a.FiscalCode != "" {
			t.Fatalf("the victim's account holds a fiscal code: %+v %v", a, err)
		}
		// A relying party asking the victim's password session for the
		// fiscal code gets none, and an email only as confirmed.
		res, body := victim.do("GET", s.plain.URL+"/api/v1/me", nil)
		if res.StatusCode != 200 || strings.Contains(body, "fiscal_code") || !strings.Contains(body, `"email": "email_link"`) {
			t.Errorf("the victim's /api/v1/me: %s", body)
		}
	})
}

// Claims nobody proved: a password account got resident, district and an age
// band computed from a birth date it could edit. Password sessions now give
// no fiscal code, no residence, and names only as the person's own choice;
// sex and birth date are not editable at all.
func TestPasswordSessionsCarryNoProvenClaims(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := s.ssoBrowser(t, nil)
		s.passwordResident(t, b, "giulia@example.org")
		if res, _ := b.do("POST", s.plain.URL+"/profilo", url.Values{"given_name": {"Giulia"}, "family_name": {"Bianchi"}, "sex": {"M"}, "birth_date": {"1940-01-01"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving the profile: %d", res.StatusCode)
		}
		a, _ := s.apps.identity.Store.ByEmail(context.Background(), "giulia@example.org")
		if a.BirthDate != "" || a.Sex != "" {
			t.Errorf("a posted birth date or sex was stored: %q %q", a.BirthDate, a.Sex)
		}
		c, secret := s.addClient(t, newTrustedClient())
		rp := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid", "profile", "email", "fiscal_code", "residence")
		claims := rp.login(t, b)
		for _, k := range []string{"fiscal_code", "resident", "district", "age_band", "name", "given_name", "family_name"} {
			if _, ok := claims[k]; ok {
				t.Errorf("a password login gave the application %s = %v", k, claims[k])
			}
		}
		if claims["preferred_username"] != "Giulia Bianchi" || claims["email"] != "giulia@example.org" {
			t.Errorf("claims of a password login: %v", claims)
		}
	})
}

// Login throttling raced: 59 wrong passwords in parallel were all checked
// before the first failure was recorded, then the right one logged in. Now
// the check and the record are one transaction: three are checked, the rest
// wait, and so does the right password.
func TestParallelWrongPasswordsCannotRaceTheBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Mario", FamilyName: "Rossi"}, "test"); err != nil {
			t.Fatal(err)
		}
		// The clock stands still during the burst: however long the
		// machine takes to answer 59 requests, none of them may count on
		// a wait having passed.
		now := time.Now()
		var clock sync.Mutex
		s.apps.identity.Limiter.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[int]int{}
		for i := range 59 {
			wg.Go(func() {
				res, _ := s.browser(t, nil).do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {fmt.Sprintf("guess-%02d-xyz", i)}})
				mu.Lock()
				counts[res.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if counts[http.StatusUnauthorized] != 3 || counts[http.StatusTooManyRequests] != 56 {
			t.Fatalf("answers %v, want 3 checked (401) and 56 told to wait (429)", counts)
		}
		records, _ := (&audit.Log{DB: d}).List(context.Background(), audit.ListFilter{Action: "login.password.refused", Limit: 100})
		if len(records) != 3 {
			t.Errorf("%d passwords checked, want 3", len(records))
		}
		// Refused attempts were not failures: once the one-second wait after
		// the third has passed, the owner's password is checked and right.
		clock.Lock()
		now = now.Add(time.Second)
		clock.Unlock()
		if res, _ := s.browser(t, nil).do("POST", s.plain.URL+"/accedi", url.Values{"email": {"mario@example.org"}, "password": {"tram-per-Sesto-alle-7"}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the right password after the wait: %d, want 303", res.StatusCode)
		}
	})
}

// Anyone could lock anyone: ten failures from any address locked the account
// for its owner too. Failures now count per account and address, per
// address, and per account from anywhere; the last locks out only browsers
// that never logged into the account. Behind the trusted proxy each client
// is its forwarded address.
func TestStrangersCannotLockTheOwnerOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		now := time.Now()
		s.apps.identity.Limiter.Now = func() time.Time { return now }
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Anna", FamilyName: "Colombo"}, "test"); err != nil {
			t.Fatal(err)
		}
		owner := s.browser(t, nil)
		owner.from = "198.51.100.7"
		login := func(b *browser, password string) int {
			res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {password}})
			return res.StatusCode
		}
		if st := login(owner, "tram-per-Sesto-alle-7"); st != http.StatusSeeOther {
			t.Fatalf("the owner's first login: %d", st)
		}
		owner.do("POST", s.plain.URL+"/esci", url.Values{})
		// Ten strangers, five wrong passwords each, from their own addresses.
		for i := range 10 {
			stranger := s.browser(t, nil)
			stranger.from = "203.0.113." + strconv.Itoa(i+1)
			for range 5 {
				if st := login(stranger, "not-her-password"); st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
					t.Fatalf("stranger: %d", st)
				}
				now = now.Add(5 * time.Second)
			}
		}
		// A new stranger, or the owner from a browser she never used, is
		// now locked out of the account...
		newcomer := s.browser(t, nil)
		newcomer.from = "192.0.2.50"
		if st := login(newcomer, "tram-per-Sesto-alle-7"); st != http.StatusTooManyRequests {
			t.Errorf("a browser that never logged in, after 50 failures from anywhere: %d, want 429", st)
		}
		// ...but not the owner, in her own browser, from any address.
		owner.from = "192.0.2.77"
		if st := login(owner, "tram-per-Sesto-alle-7"); st != http.StatusSeeOther {
			t.Errorf("the owner in her own browser: %d, want 303", st)
		}
	})
}

// The one-time code of operators had no attempt limit (25 wrong codes in a
// row, never 429). Now a pending login ends after three, and the account's
// codes draw on a budget like passwords.
func TestOneTimeCodesAreLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := operatorBrowser(t, s, "urp@comune.example.it", "urp") // enrolled
		b.do("POST", s.plain.URL+"/esci", url.Values{})
		tokenRE := regexp.MustCompile(`name="token" value="([^"]+)"`)
		var statuses []int
		for range 4 {
			_, body := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"urp@comune.example.it"}, "password": {"Sportello-Prima-Volta-1"}})
			token := tokenRE.FindStringSubmatch(body)
			if token == nil {
				statuses = append(statuses, -1)
				continue
			}
			for range 3 {
				res, body := b.do("POST", s.plain.URL+"/accedi/codice", url.Values{"token": {token[1]}, "code": {"000000"}})
				statuses = append(statuses, res.StatusCode)
				if res.StatusCode == http.StatusUnauthorized && !strings.Contains(body, `name="code"`) {
					statuses = append(statuses, 0) // back to the password: the pending login ended
				}
			}
		}
		joined := fmt.Sprint(statuses)
		if !strings.Contains(joined, "401 401 401 0") {
			t.Errorf("a pending login survived three wrong codes: %v", statuses)
		}
		if !strings.Contains(joined, "429") {
			t.Errorf("twelve wrong codes in a row never waited: %v", statuses)
		}
	})
}

// argon2 ran for anonymous requests before any cheap check: /registrati
// hashed every plausible form, /reimposta-password before checking the
// link. Now registration hashes nothing until the address is proven, a dead
// link is refused before the password is looked at, and when the password
// checks are full the answer is a quick 503 with Retry-After.
func TestPasswordHashingOnlyForThoseWhoEarnedIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTunedIDSite(t, d, func(c *config) { c.PasswordQueue = 1 })
		b := s.browser(t, nil)
		strong := "Una-Password-Forte-2026"
		if res, body := b.do("POST", s.plain.URL+"/reimposta-password", url.Values{"token": {"dead"}, "password": {"x"}, "password2": {"y"}}); res.StatusCode != http.StatusBadRequest ||
			strings.Contains(body, "f-password-error") {
			t.Errorf("a dead reset link was not refused first: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", s.plain.URL+"/registrati/completa", url.Values{"token": {"dead"}, "given_name": {"A"}, "family_name": {"B"}, "password": {strong}, "password2": {strong}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a dead registration link: %d", res.StatusCode)
		}
		// A flood of logins from many clients: with one core busy per
		// hash and one waiting, the rest are turned away at once.
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[int]int{}
		retry := true
		for i := range 24 {
			wg.Go(func() {
				c := s.browser(t, nil)
				c.from = "203.0.113." + strconv.Itoa(i+1)
				res, _ := c.do("POST", s.plain.URL+"/accedi", url.Values{"email": {fmt.Sprintf("u%d@example.org", i)}, "password": {strong}})
				mu.Lock()
				counts[res.StatusCode]++
				if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "" {
					retry = false
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusUnauthorized] == 0 || counts[http.StatusUnauthorized]+counts[http.StatusServiceUnavailable] != 24 || !retry {
			t.Errorf("answers to a flood: %v (Retry-After on every 503: %v)", counts, retry)
		}
		// A login turned away as busy was not counted as a failure.
		c := s.browser(t, nil)
		c.from = "203.0.113.250"
		for range 3 {
			if res, _ := c.do("POST", s.plain.URL+"/accedi", url.Values{"email": {"u0@example.org"}, "password": {strong}}); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("after the flood: %d", res.StatusCode)
			}
		}
	})
}

// Mail bombing and content injection: no per-address limit on reset and
// registration mails, each reset killing the previous link, and a name of
// the requester's choice inserted into mail sent to any address.
func TestMailCannotBeTurnedIntoABomb(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Anna", FamilyName: "Colombo"}, "test"); err != nil {
			t.Fatal(err)
		}
		spammer := s.browser(t, nil)
		spammer.from = "203.0.113.66"
		answers := map[int]int{}
		for range 20 {
			for _, path := range []string{"/password-dimenticata", "/registrati"} {
				res, _ := spammer.do("POST", s.plain.URL+path, url.Values{"email": {"anna@example.org"}, "privacy": {"1"}})
				answers[res.StatusCode]++
			}
		}
		// Ten asks an hour from one client, then 429; one mail, since the
		// first link lives until it is used or expires.
		if answers[200] != 10 || answers[http.StatusTooManyRequests] != 30 {
			t.Errorf("forty asks from one client: %v", answers)
		}
		msgs := s.deliverTo(t, "anna@example.org")
		if len(msgs) != 1 {
			t.Fatalf("%d mails to one address from a burst, want 1 (one live link)", len(msgs))
		}
		if strings.Contains(msgs[0].Text, "Anna") {
			t.Errorf("the mail carries text a requester could choose: %q", msgs[0].Text)
		}
		// The link is still the first one, and it works.
		if res, _ := s.browser(t, nil).do("GET", s.plain.URL+"/reimposta-password?token="+tokenOf(t, msgs[0]), nil); res.StatusCode != 200 {
			t.Errorf("the first link was killed by later requests: %d", res.StatusCode)
		}
		// Another client asking for many addresses: ten mails an hour.
		other := s.browser(t, nil)
		other.from = "203.0.113.67"
		var sent, refused int
		for i := range 15 {
			res, _ := other.do("POST", s.plain.URL+"/registrati", url.Values{"email": {fmt.Sprintf("target%d@example.org", i)}, "privacy": {"1"}})
			switch res.StatusCode {
			case 200:
				sent++
			case http.StatusTooManyRequests:
				refused++
			}
		}
		if sent != 10 || refused != 5 {
			t.Errorf("one client asked 15 mails: %d sent, %d refused; want 10 and 5", sent, refused)
		}
	})
}

// Enumeration: registering a known address, or asking a reset for one, must
// answer the same page and do the same work as for an unknown one: one
// token, one mail with one link, one audit entry. Checked by structure
// here; timed by bench/enumeration.sh, never in a test.
func TestRegistrationAndResetRevealNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		for _, email := range []string{"known-registrati@example.org", "known-password-dimenticata@example.org"} {
			if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: email, Password: "tram-per-Sesto-alle-7", GivenName: "Nota", FamilyName: "Bene"}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		strip := regexp.MustCompile(`(?s)<head>.*</head>`)
		for _, path := range []string{"/registrati", "/password-dimenticata"} {
			var pages []string
			var work [][3]int
			for _, email := range []string{"known-" + strings.Trim(path, "/") + "@example.org", "unknown-" + strings.Trim(path, "/") + "@example.org"} {
				before := [3]int{s.count(t, "account_tokens") + s.count(t, "signups"), s.count(t, "mail_outbox"), s.count(t, "audit_log")}
				_, body := s.browser(t, nil).do("POST", s.plain.URL+path, url.Values{"email": {email}, "privacy": {"1"}})
				pages = append(pages, strip.ReplaceAllString(body, ""))
				work = append(work, [3]int{s.count(t, "account_tokens") + s.count(t, "signups") - before[0], s.count(t, "mail_outbox") - before[1], s.count(t, "audit_log") - before[2]})
				m := s.deliverTo(t, email)
				if links := linkRE.FindAllString(m[len(m)-1].Text, -1); len(links) != 1 {
					t.Errorf("%s %s: the mail has %d token links, want 1", path, email, len(links))
				}
			}
			if pages[0] != pages[1] {
				t.Errorf("%s answers a known and an unknown address differently", path)
			}
			if work[0] != work[1] || work[0] != [3]int{1, 1, 1} {
				t.Errorf("%s: work for a known address %v, for an unknown one %v (tokens, mails, audit entries), want 1 each", path, work[0], work[1])
			}
		}
	})
}

// A revoked card's session kept high assurance until it expired. The session
// remembers the card, and its revocation ends it at the next request.
func TestRevokedCardEndsItsSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		card := s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
		b := s.browser(t, card)
		b.do("GET", s.tls.URL+"/login/crs", nil)
		if st, me := b.me(s.tls.URL); st != 200 || me.Assurance != "high" {
			t.Fatalf("card login: %d %+v", st, me)
		}
		if err := s.ca.Revoke(card.Cert.SerialNumber, time.Now()); err != nil {
			t.Fatal(err)
		}
		// The verifier looks at the CRL file at most once a second.
		time.Sleep(1100 * time.Millisecond)
		if st, _ := b.me(s.tls.URL); st != http.StatusUnauthorized {
			t.Fatalf("the revoked card's session still answers %d", st)
		}
		records, _ := (&audit.Log{DB: d}).List(context.Background(), audit.ListFilter{Action: "session.ended.card_revoked", Limit: 5})
		if len(records) != 1 {
			t.Errorf("%d audit entries for the ended session, want 1", len(records))
		}
	})
}

// newTrustedClient is a first-party application (no consent page) that may
// ask for every scope.
func newTrustedClient() oidcop.NewClient {
	return oidcop.NewClient{Name: "Ufficio tributi", RedirectURIs: []string{outsideRedirect}, FirstParty: true,
		Scopes: []string{"openid", "profile", "email", oidcop.ScopeFiscalCode, oidcop.ScopeResidence}}
}

// login runs the code flow for a browser already logged into the portal
// and returns the id_token's claims.
func (rp *relyingParty) login(t *testing.T, b *browser) map[string]any {
	t.Helper()
	a := rp.start()
	last, _, _, _ := b.follow(a.url, outsideRedirect)
	q := rp.callback(a, last)
	tok, err := rp.oauth.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("id_token: %v", err)
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// BenchmarkEnumeration times the registration and reset forms for an address
// with an account and for one without: the work is the same (a link, a
// mail, an audit entry), and so should be the time. bench/enumeration.sh
// runs it several times and compares the medians; no test asserts a time.
func BenchmarkEnumeration(b *testing.B) {
	for _, path := range []string{"/registrati", "/password-dimenticata"} {
		for _, known := range []bool{true, false} {
			name := strings.Trim(path, "/") + "/unknown"
			if known {
				name = strings.Trim(path, "/") + "/known"
			}
			b.Run(name, func(b *testing.B) {
				s := newTunedIDSiteB(b, func(c *config) { c.Limits.MailsPerClient = 1 << 20 })
				ctx := context.Background()
				if known {
					// Accounts made at once in one transaction: a password
					// each would cost argon2 per row.
					a, err := s.apps.identity.ImportResident(ctx, identity.NewResident{Email: "seed@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Seme", FamilyName: "Prova"}, "bench")
					if err != nil {
						b.Fatal(err)
					}
					err = s.d.Tx(ctx, func(tx *sql.Tx) error {
						for i := range b.N {
							if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, kind, email, email_verified_at, password_hash, name_source, created_at, updated_at)
								VALUES ($1, 'resident', $2, $3, $4, 'self', $3, $3)`, fmt.Sprintf("bench%08d", i), fmt.Sprintf("a%d@example.org", i), time.Now().UTC(), a.PasswordHash); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				client := &http.Client{}
				b.ResetTimer()
				for i := range b.N {
					req, _ := http.NewRequest("POST", s.plain.URL+path, strings.NewReader(url.Values{"email": {fmt.Sprintf("a%d@example.org", i)}, "privacy": {"1"}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Fatalf("%s: %d", path, res.StatusCode)
					}
				}
			})
		}
	}
}

// An anonymous visitor's GET writes nothing: every public GET route of both
// applications (with its path parameters filled from the demo catalogue)
// leaves every table as it was. A flood of anonymous requests cannot grow
// the database. The one exception is a budget's row (package throttle):
// one per client and budget, updated in place and swept when spent.
func TestAnonymousGetsWriteNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if err := ensureDemoCatalog(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		s := newIDSite(t, d)
		before := rowCounts(t, d)
		fill := strings.NewReplacer("{$}", "", "{category}", "anagrafe-e-stato-civile", "{id}", "carta-identita-elettronica",
			"{slug}", "anagrafe", "{form}", "x", "{version}", "1", "{filename}", "x.pdf", "{lang}", "en", "{version}/{path...}", "x/y.css")
		visited := 0
		for _, app := range []struct {
			base   string
			routes []web.Route
		}{{s.plain.URL, s.apps.portal.RouteMap()}, {s.part.URL, s.apps.partecipa.RouteMap()}} {
			for _, r := range app.routes {
				method, path, ok := strings.Cut(r.Pattern, " ")
				if !ok {
					method, path = "GET", r.Pattern
				}
				if method != "GET" || r.Level != "" {
					continue
				}
				path = fill.Replace(path)
				for _, q := range []string{"", "?next=/profilo&settimana=2026-03-02&categoria=anagrafe-e-stato-civile&client_id=x&redirect_uri=x&response_type=code&scope=openid&token=x"} {
					s.browser(t, nil).do("GET", app.base+path+q, nil)
					visited++
				}
			}
		}
		if visited < 100 {
			t.Fatalf("only %d requests made", visited)
		}
		after := rowCounts(t, d)
		for table, n := range after {
			if table != "throttle" && n != before[table] {
				t.Errorf("anonymous GETs changed %s: %d rows before, %d after", table, before[table], n)
			}
		}
	})
}

// Refused attempts are audited while the client's budget of such entries
// lasts (60 an hour): a client hammering the login form cannot grow the
// audit log at will.
func TestRefusalsCannotFloodTheAuditLog(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := s.browser(t, nil)
		b.from = "203.0.113.9"
		for i := range 90 {
			b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {fmt.Sprintf("x%d@example.org", i%3)}, "password": {"wrong-password-xyz"}})
		}
		var n int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'login.password.%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 60 {
			t.Errorf("%d refusals audited from one client, want the budget's 60", n)
		}
	})
}
