package main

import (
	"context"
	"html"
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
	"github.com/civico-pa/civico/internal/identity"
)

// mainOf is a page's main content, without the header and footer.
func mainOf(page string) string {
	i, j := strings.Index(page, `<main id="main-container">`), strings.Index(page, "</main>")
	if i < 0 || j < i {
		return page
	}
	return page[i:j]
}

// residentBrowser is a resident with a password account, logged in.
func residentBrowser(t *testing.T, s *idSite, email, password string) *browser {
	t.Helper()
	if _, err := s.apps.identity.ImportResident(context.Background(), identity.NewResident{Email: email, Password: password,
		GivenName: "Anna", FamilyName: "Colombo"}, "test"); err != nil {
		t.Fatal(err)
	}
	return loggedIn(t, s, email, password)
}

func loggedIn(t *testing.T, s *idSite, email, password string) *browser {
	t.Helper()
	b := s.browser(t, nil)
	if res, _ := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {email}, "password": {password}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login of %s: %d", email, res.StatusCode)
	}
	return b
}

// A dead link says so when it is opened, and leads to the page that sends
// a new one of its kind.
func TestDeadLinksLeadToANewOne(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		if _, err := s.apps.identity.ImportResident(ctx, identity.NewResident{Email: "anna@example.org", Password: "tram-per-Sesto-alle-7",
			GivenName: "Anna", FamilyName: "Colombo"}, "test"); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t, nil)
		b.do("POST", s.plain.URL+"/password-dimenticata", url.Values{"email": {"anna@example.org"}})
		b.do("POST", s.plain.URL+"/registrati", url.Values{"email": {"sara@example.org"}, "privacy": {"1"}})
		reset := tokenOf(t, s.deliverTo(t, "anna@example.org")[0])
		signup := tokenOf(t, s.deliverTo(t, "sara@example.org")[0])

		// Three hours later both have expired.
		later := func() time.Time { return time.Now().Add(3 * time.Hour) }
		s.apps.identity.Now, s.apps.identity.Store.Now = later, later
		for _, c := range []struct{ path, again, other string }{
			{"/reimposta-password?token=" + reset, "/password-dimenticata", "/registrati"},
			{"/registrati/completa?token=" + signup, "/registrati", "/password-dimenticata"},
		} {
			res, body := b.do("GET", s.plain.URL+c.path, nil)
			m := mainOf(body)
			if res.StatusCode != http.StatusBadRequest || strings.Contains(m, `name="password"`) {
				t.Errorf("%s: %d, or the form of a dead link", c.path, res.StatusCode)
			}
			again := regexp.MustCompile(`<a class="btn btn-primary" href="([^"]+)">([^<]+)</a>`).FindStringSubmatch(m)
			if again == nil || again[1] != c.again || !strings.Contains(again[2], "nuovo") {
				t.Errorf("%s: the way to a new link is %v, want %s", c.path, again, c.again)
			}
			if strings.Contains(m, `href="`+c.other+`"`) {
				t.Errorf("%s: leads to %s, a link of another kind", c.path, c.other)
			}
		}
	})
}

// The profile says which characters a name may not hold, takes phone
// numbers as people write them and refuses what is not one, and shows
// sessions in the town's time.
func TestProfileFieldsAndSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := residentBrowser(t, s, "anna@example.org", "tram-per-Sesto-alle-7")
		base := s.plain.URL
		save := func(given, phone string) (int, string) {
			res, body := b.do("POST", base+"/profilo", url.Values{"given_name": {given}, "family_name": {"Colombo"}, "phone": {phone}, "address": {""}})
			return res.StatusCode, body
		}
		status, body := save("Anna<b>", "")
		msg := regexp.MustCompile(`id="f-given_name-error">([^<]+)<`).FindStringSubmatch(body)
		if status != http.StatusUnprocessableEntity || msg == nil || !strings.Contains(html.UnescapeString(msg[1]), "<") ||
			!strings.Contains(html.UnescapeString(msg[1]), ">") || strings.Contains(msg[1], "da 1 a 100") {
			t.Errorf("a name with markup: %d %v", status, msg)
		}
		if !strings.Contains(body, `value="Anna&lt;b&gt;"`) {
			t.Error("the name typed is not kept")
		}
		for _, bad := range []string{"123", "+39", "+39 02 66<b>", "02-660231-02-660231-02", "++39 02 660231", "02 66a0231"} {
			if status, body := save("Anna", bad); status != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-phone-error"`) {
				t.Errorf("phone %q: %d", bad, status)
			}
		}
		for _, good := range []string{"02 660231", "+39 02 660231", "0039 333 123 4567", "333-1234567", "+44 20 7946 0958"} {
			if status, _ := save("Anna", good); status != http.StatusSeeOther {
				t.Errorf("phone %q: %d", good, status)
			}
		}

		// Sessions: the time of the login as a clock in Rome reads it.
		started := time.Now()
		_, body = b.do("GET", base+"/profilo", nil)
		cells := regexp.MustCompile(`(?s)id="sessioni".*?<tbody>\s*<tr>\s*<td>([^<]+)</td>`).FindStringSubmatch(body)
		want := []string{started.In(hours.Rome).Format("02/01/2006 15:04"), started.Add(-time.Minute).In(hours.Rome).Format("02/01/2006 15:04")}
		if cells == nil || cells[1] != want[0] && cells[1] != want[1] {
			t.Errorf("session start %v, want %s (Europe/Rome)", cells, want[0])
		}
	})
}

// A resident changes their password from the profile: the current one
// first, then the new one; their other sessions end, the change is audited
// and their address told.
func TestChangePasswordFromTheProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		base := s.plain.URL
		const old, next = "tram-per-Sesto-alle-7", "metro-fino-a-Bignami-8"
		b := residentBrowser(t, s, "anna@example.org", old)
		other := loggedIn(t, s, "anna@example.org", old)
		if _, body := b.do("GET", base+"/profilo", nil); !strings.Contains(body, `action="/profilo/password"`) {
			t.Fatal("the profile has no form to change the password")
		}
		change := func(current, pw, pw2 string) (int, string) {
			res, body := b.do("POST", base+"/profilo/password", url.Values{"current": {current}, "password": {pw}, "password2": {pw2}})
			return res.StatusCode, body
		}
		if st, body := change("sbagliata-del-tutto-1", next, next); st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-current-error"`) {
			t.Errorf("a wrong current password: %d", st)
		}
		if st, body := change(old, "password123", "password123"); st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-password-error"`) {
			t.Errorf("a weak new password: %d", st)
		}
		if st, body := change(old, next, next+"x"); st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-password2-error"`) {
			t.Errorf("new passwords that differ: %d", st)
		}
		if st, _ := other.me(base); st != 200 {
			t.Fatal("a refused change ended the other session")
		}
		// The other session (stolen, with the password) asks to move the
		// account to another address: the link dies with the password.
		if res, _ := other.do("POST", base+"/profilo/email", url.Values{"new_email": {"thief@example.org"}, "email_password": {old}}); res.StatusCode >= 400 {
			t.Fatalf("the change of address: %d", res.StatusCode)
		}
		countLinks := func() (n int) {
			if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_tokens t JOIN accounts a ON a.id = t.account_id WHERE a.email = 'anna@example.org' AND t.purpose = 'email'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if countLinks() != 1 {
			t.Fatal("no link for the change of address")
		}
		if st, body := change(old, next, next); st != http.StatusSeeOther {
			t.Fatalf("the change: %d\n%s", st, body)
		}
		if st, _ := b.me(base); st != 200 {
			t.Error("the change ended the session that made it")
		}
		if st, _ := other.me(base); st != http.StatusUnauthorized {
			t.Error("the other session survived the change")
		}
		if n := countLinks(); n != 0 {
			t.Errorf("%d links to change the address survived the new password", n)
		}
		if res, _ := s.browser(t, nil).do("POST", base+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {old}}); res.StatusCode == http.StatusSeeOther {
			t.Error("the old password still logs in")
		}
		loggedIn(t, s, "anna@example.org", next)
		msgs := s.deliverTo(t, "anna@example.org")
		if last := msgs[len(msgs)-1]; !strings.Contains(last.Subject, "password") || strings.Contains(last.Text, next) {
			t.Errorf("the notice: %q\n%s", last.Subject, last.Text)
		}
		if recs, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "password.changed", Limit: 10}); len(recs) != 1 {
			t.Errorf("audit entries of the change: %d", len(recs))
		}
		// Guessing the current password draws on the login budgets.
		throttled := false
		for range 8 {
			if st, _ := change("indovino-"+time.Now().Format("150405.000"), next+"!", next+"!"); st == http.StatusTooManyRequests {
				throttled = true
				break
			}
		}
		if !throttled {
			t.Error("wrong current passwords are never throttled")
		}
	})
}

// A resident changes their mail address from the profile: the new address
// gets a link, and the address changes only when it is followed; the old
// address is told; one live link per address.
func TestChangeEmailFromTheProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		base := s.plain.URL
		const pw = "tram-per-Sesto-alle-7"
		b := residentBrowser(t, s, "anna@example.org", pw)
		if _, err := s.apps.identity.ImportResident(ctx, identity.NewResident{Email: "preso@example.org", Password: pw, GivenName: "Piero", FamilyName: "Preso"}, "test"); err != nil {
			t.Fatal(err)
		}
		ask := func(email, password string) (int, string) {
			res, body := b.do("POST", base+"/profilo/email", url.Values{"new_email": {email}, "email_password": {password}})
			return res.StatusCode, body
		}
		if _, body := b.do("GET", base+"/profilo", nil); !strings.Contains(body, `action="/profilo/email"`) {
			t.Fatal("the profile has no form to change the address")
		}
		for _, c := range []struct{ email, password, field string }{
			{"non un indirizzo", pw, "new_email"}, {"anna@example.org", pw, "new_email"}, {"nuova@example.org", "sbagliata-del-tutto-1", "email_password"},
		} {
			if st, body := ask(c.email, c.password); st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-`+c.field+`-error"`) {
				t.Errorf("%q: %d", c.email, st)
			}
		}
		if st, body := ask("Nuova@Example.org", pw); st != http.StatusOK || !strings.Contains(body, "nuova@example.org") {
			t.Fatalf("the request: %d", st)
		}
		ask("nuova@example.org", pw) // again while the link lives: nothing new
		msgs := s.deliverTo(t, "nuova@example.org")
		if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "/profilo/email/conferma?token=") {
			t.Fatalf("mails to the new address: %d", len(msgs))
		}
		if st, me := b.me(base); st != 200 || me.Email != "anna@example.org" {
			t.Fatalf("the address changed before the link was followed: %+v", me)
		}
		tok := tokenOf(t, msgs[0])

		// The link shows what it will do; only the form changes it.
		res, body := s.browser(t, nil).do("GET", base+"/profilo/email/conferma?token="+tok, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "nuova@example.org") || !strings.Contains(body, `action="/profilo/email/conferma"`) {
			t.Fatalf("the confirmation page: %d", res.StatusCode)
		}
		if res, _ := b.do("GET", base+"/profilo/email/conferma?token=nope", nil); res.StatusCode != http.StatusBadRequest {
			t.Errorf("a dead link: %d", res.StatusCode)
		}
		if res, _ := s.browser(t, nil).do("POST", base+"/profilo/email/conferma", url.Values{"token": {tok}}); res.StatusCode != http.StatusOK {
			t.Fatalf("the confirmation: %d", res.StatusCode)
		}
		if st, me := b.me(base); st != 200 || me.Email != "nuova@example.org" || me.Sources["email"] != identity.SourceEmailLink {
			t.Errorf("after the confirmation: %d %+v", st, me)
		}
		if res, _ := s.browser(t, nil).do("POST", base+"/profilo/email/conferma", url.Values{"token": {tok}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("the link worked twice: %d", res.StatusCode)
		}
		told := s.deliverTo(t, "anna@example.org")
		if last := told[len(told)-1]; !strings.Contains(last.Text, "nuova@example.org") || linkRE.MatchString(last.Text) {
			t.Errorf("the old address was not told, or was sent a link:\n%s", last.Text)
		}
		loggedIn(t, s, "nuova@example.org", pw)
		if res, _ := s.browser(t, nil).do("POST", base+"/accedi", url.Values{"email": {"anna@example.org"}, "password": {pw}}); res.StatusCode == http.StatusSeeOther {
			t.Error("the old address still logs in")
		}
		if recs, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "account.email_changed", Limit: 10}); len(recs) != 1 {
			t.Errorf("audit entries of the change: %d", len(recs))
		}

		// An address another account holds: the same page, no link; its
		// owner is told.
		if st, _ := ask("preso@example.org", pw); st != http.StatusOK {
			t.Errorf("asking for a taken address: %d", st)
		}
		if m := s.deliverTo(t, "preso@example.org"); linkRE.MatchString(m[len(m)-1].Text) {
			t.Error("a taken address got a link")
		}
		if st, me := b.me(base); st != 200 || me.Email != "nuova@example.org" {
			t.Errorf("after asking for a taken address: %+v", me)
		}
	})
}
