package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
)

var (
	initialPasswordRE = regexp.MustCompile(`data-element="initial-password">([A-Za-z0-9]+)</code>`)
	enrolSecretRE     = regexp.MustCompile(`<code class="fs-5">([A-Z2-7]+)</code>`)
	pendingTokenRE    = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// passwordLogin logs b in with a password and the one-time code of the
// time at (enrolling the authenticator if asked to) and returns the
// secret and the login's answer.
func passwordLogin(t *testing.T, s *idSite, b *browser, email, password, secret string, at time.Time) (string, *http.Response) {
	t.Helper()
	res, body := b.do("POST", s.plain.URL+"/accedi", url.Values{"email": {email}, "password": {password}})
	token := pendingTokenRE.FindStringSubmatch(body)
	if res.StatusCode != 200 || token == nil {
		t.Fatalf("password login of %s: %d", email, res.StatusCode)
	}
	if m := enrolSecretRE.FindStringSubmatch(body); m != nil {
		secret = m[1]
	} else if secret == "" {
		t.Fatalf("%s: no enrolment and no secret", email)
	}
	code, _ := identity.TOTPCode(secret, at)
	res, _ = b.do("POST", s.plain.URL+"/accedi/codice", url.Values{"token": {token[1]}, "code": {code}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("code of %s: %d", email, res.StatusCode)
	}
	return secret, res
}

// An administrator adds an operator from the web, who logs in with the
// password shown once and must choose their own first; the administrator
// resets their authenticator and forces a new password; every step is
// audited, every error shown beside its field, in the reader's language.
func TestOperatorsFromTheWeb(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		base := s.plain.URL
		svc := s.apps.identity
		admin := operatorBrowser(t, s, "admin@comune.example.it", "admin")
		adminAcc, _ := svc.Store.ByEmail(ctx, "admin@comune.example.it")
		lg := &audit.Log{DB: d}

		if res, body := admin.do("GET", base+"/backoffice/operatori", nil); res.StatusCode != 200 || !strings.Contains(body, `href="/backoffice/operatori/nuovo"`) ||
			!strings.Contains(body, `href="/backoffice/operatori/`+adminAcc.ID+`"`) {
			t.Fatalf("operators page: %d", res.StatusCode)
		}
		if res, body := admin.do("GET", base+"/backoffice/operatori/nuovo", nil); res.StatusCode != 200 || !strings.Contains(body, `name="role" value="urp"`) {
			t.Fatalf("new operator form: %d", res.StatusCode)
		}
		// Everything wrong at once: every error beside its field, what
		// was typed kept, nothing created, nothing audited.
		accounts, entries := s.count(t, "accounts"), s.count(t, "audit_log")
		bad := url.Values{"email": {"non-un-indirizzo"}, "given_name": {"<b>Anna</b>"}, "family_name": {strings.Repeat("x", 101)}, "fiscal_code": {"RSSMRA80A01"},
			"role": {"re"}}
		for _, lang := range []string{"it", "en"} {
			admin.inLanguage(base, lang)
			res, body := admin.do("POST", base+"/backoffice/operatori/nuovo", bad)
			want := map[string][2]string{
				"email":       {"Scrivi un indirizzo email valido", "Type a valid email address"},
				"given_name":  {"Scrivi da 1 a 100 caratteri.", "Type from 1 to 100 characters."},
				"family_name": {"Scrivi da 1 a 100 caratteri.", "Type from 1 to 100 characters."},
				"fiscal_code": {"Il codice fiscale ha 16 caratteri.", "The tax code has 16 characters."},
				"role":        {"Ruolo sconosciuto.", "Unknown role."},
			}
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: invalid operator: %d", lang, res.StatusCode)
			}
			for field, msg := range want {
				m := msg[0]
				if lang == "en" {
					m = msg[1]
				}
				if !regexp.MustCompile(`id="f-` + field + `-error">` + regexp.QuoteMeta(m)).MatchString(body) {
					t.Errorf("%s: no message %q beside %s", lang, m, field)
				}
			}
			if !strings.Contains(body, `value="non-un-indirizzo"`) || !strings.Contains(body, `value="RSSMRA80A01"`) {
				t.Errorf("%s: the form lost what was typed", lang)
			}
		}
		admin.inLanguage(base, "it")
		if res, body := admin.do("POST", base+"/backoffice/operatori/nuovo", url.Values{"email": {"Admin@Comune.example.it"}, "role": {"urp"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-email-error">Questo indirizzo ha già un account`) {
			t.Errorf("an address taken: %d", res.StatusCode)
		}
		if s.count(t, "accounts") != accounts || s.count(t, "audit_log") != entries {
			t.Error("an invalid form created an account or wrote to the audit log")
		}

		// The operator is added; their password is shown once.
		res, body := admin.do("POST", base+"/backoffice/operatori/nuovo", url.Values{"email": {" Anna.Neri@Comune.example.it "}, "given_name": {"Anna"},
			"family_name": {"Neri"}, "role": {"urp", "desk"}})
		m := initialPasswordRE.FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil || res.Header.Get("Cache-Control") != "private, no-store" {
			t.Fatalf("operator added: %d, password shown: %v, %q", res.StatusCode, m != nil, res.Header.Get("Cache-Control"))
		}
		first := m[1]
		anna, err := svc.Store.ByEmail(ctx, "anna.neri@comune.example.it")
		if err != nil || !anna.PasswordChange || strings.Join(anna.Roles, ",") != "desk,urp" || anna.Kind != identity.KindOperator || anna.TOTPSecret != "" {
			t.Fatalf("stored operator: %v %+v", err, anna)
		}
		if strings.Contains(anna.PasswordHash, first) {
			t.Error("the password is stored readable")
		}
		records, _ := lg.List(ctx, audit.ListFilter{Action: "operator.created", Subject: anna.ID})
		if len(records) != 1 || records[0].Actor != "account:"+adminAcc.ID || records[0].Remote == "" || records[0].Details["roles"] != "desk,urp" {
			t.Errorf("operator.created audit: %+v", records)
		}

		// Anna logs in, enrols an authenticator, and must choose her own
		// password before any back-office page.
		ab := s.browser(t, nil)
		secret, res := passwordLogin(t, s, ab, "anna.neri@comune.example.it", first, "", time.Now())
		if loc := res.Header.Get("Location"); loc != "/profilo/password?next=%2F" {
			t.Errorf("after the first login: %q", loc)
		}
		if res, _ := ab.do("GET", base+"/backoffice/notizie", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profilo/password?next=%2Fbackoffice%2Fnotizie" {
			t.Errorf("a back-office page before the change: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res, body = ab.do("GET", base+"/profilo/password?next=%2Fbackoffice%2Fnotizie", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "La tua password è stata scelta da un amministratore") || !strings.Contains(body, `name="next" value="/backoffice/notizie"`) {
			t.Fatalf("the change page: %d", res.StatusCode)
		}
		own := "Biblioteca-di-Sesto-2026"
		for _, tt := range []struct {
			form          url.Values
			field, errMsg string
		}{
			{url.Values{"current": {"sbagliata-del-tutto"}, "password": {own}, "password2": {own}}, "current", "La password attuale non è corretta."},
			{url.Values{"current": {""}, "password": {own}, "password2": {own}}, "current", "Scrivi la password attuale."},
			{url.Values{"current": {first}, "password": {first}, "password2": {first}}, "password", "La nuova password deve essere diversa da quella attuale."},
			{url.Values{"current": {first}, "password": {"password123"}, "password2": {"password123"}}, "password", "Questa password è troppo comune"},
			{url.Values{"current": {first}, "password": {own}, "password2": {own + "x"}}, "password2", "Le due password non coincidono."},
		} {
			res, body := ab.do("POST", base+"/profilo/password", tt.form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-`+tt.field+`-error">`+tt.errMsg) {
				t.Errorf("%s %q: %d", tt.field, tt.errMsg, res.StatusCode)
			}
		}
		if a, _ := svc.Store.ByID(ctx, anna.ID); !a.PasswordChange || a.PasswordHash != anna.PasswordHash {
			t.Fatal("a refused change changed the password")
		}
		// Another session of hers ends with the change; this one stays.
		other := s.browser(t, nil)
		passwordLogin(t, s, other, "anna.neri@comune.example.it", first, secret, time.Now().Add(30*time.Second))
		res, _ = ab.do("POST", base+"/profilo/password", url.Values{"current": {first}, "password": {own}, "password2": {own}, "next": {"/backoffice/notizie"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/backoffice/notizie" {
			t.Fatalf("the change: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := ab.do("GET", base+"/backoffice/notizie", nil); res.StatusCode != 200 {
			t.Errorf("the back office after the change: %d", res.StatusCode)
		}
		if st, _ := other.me(base); st != http.StatusUnauthorized {
			t.Errorf("her other session survived the change: %d", st)
		}
		if res, _ := s.browser(t, nil).do("POST", base+"/accedi", url.Values{"email": {"anna.neri@comune.example.it"}, "password": {first}}); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("the first password still works: %d", res.StatusCode)
		}
		// Only an administrator adds operators or acts on them.
		for _, p := range []string{"/backoffice/operatori/nuovo", "/backoffice/operatori/" + adminAcc.ID + "/password", "/backoffice/operatori/" + adminAcc.ID + "/autenticatore"} {
			if res, _ := ab.do("POST", base+p, url.Values{"email": {"x@comune.example.it"}, "role": {"admin"}}); res.StatusCode != http.StatusForbidden {
				t.Errorf("an urp operator POST %s: %d", p, res.StatusCode)
			}
		}

		// Her phone is lost: the administrator resets the authenticator.
		res, body = admin.do("GET", base+"/backoffice/operatori/"+anna.ID, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "<h1>anna.neri@comune.example.it</h1>") || !strings.Contains(body, `action="/backoffice/operatori/`+anna.ID+`/autenticatore"`) {
			t.Fatalf("operator page: %d", res.StatusCode)
		}
		res, _ = admin.do("POST", base+"/backoffice/operatori/"+anna.ID+"/autenticatore", url.Values{})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("authenticator reset: %d", res.StatusCode)
		}
		if _, body := admin.do("GET", base+res.Header.Get("Location"), nil); !strings.Contains(body, "App di autenticazione azzerata") {
			t.Error("no confirmation of the reset")
		}
		if st, _ := ab.me(base); st != http.StatusUnauthorized {
			t.Errorf("her session survived the reset: %d", st)
		}
		newSecret, res := passwordLogin(t, s, ab, "anna.neri@comune.example.it", own, "", time.Now())
		if newSecret == secret || res.Header.Get("Location") != "/" {
			t.Errorf("after the reset: the same secret %v, going to %s", newSecret == secret, res.Header.Get("Location"))
		}

		// She may have given her password away: the administrator forces a new one.
		res, body = admin.do("POST", base+"/backoffice/operatori/"+anna.ID+"/password", url.Values{})
		m = initialPasswordRE.FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("forced password: %d", res.StatusCode)
		}
		if st, _ := ab.me(base); st != http.StatusUnauthorized {
			t.Errorf("her session survived the forced password: %d", st)
		}
		if res, _ := s.browser(t, nil).do("POST", base+"/accedi", url.Values{"email": {"anna.neri@comune.example.it"}, "password": {own}}); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("her own password still works: %d", res.StatusCode)
		}
		_, res = passwordLogin(t, s, ab, "anna.neri@comune.example.it", m[1], newSecret, time.Now().Add(30*time.Second))
		if res.Header.Get("Location") != "/profilo/password?next=%2F" {
			t.Errorf("after a forced password: %s", res.Header.Get("Location"))
		}

		// Not on oneself, not on residents or unknown accounts.
		if res, body := admin.do("POST", base+"/backoffice/operatori/"+adminAcc.ID+"/password", url.Values{}); res.StatusCode != http.StatusConflict ||
			!strings.Contains(body, "Non puoi farlo sul tuo account") {
			t.Errorf("forcing one's own password: %d", res.StatusCode)
		}
		resident, err := svc.ImportResident(ctx, identity.NewResident{Email: "mario@example.org", Password: "tram-per-Sesto-alle-7", GivenName: "Mario", FamilyName: "Rossi"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{resident.ID, "nessuno"} {
			for _, p := range []string{"", "/password", "/autenticatore"} {
				method := "POST"
				if p == "" {
					method = "GET"
				}
				if res, _ := admin.do(method, base+"/backoffice/operatori/"+id+p, url.Values{}); res.StatusCode != http.StatusNotFound {
					t.Errorf("%s %s%s: %d", method, id, p, res.StatusCode)
				}
			}
		}
		if r, _ := svc.Store.ByID(ctx, resident.ID); r.PasswordChange || r.PasswordHash != resident.PasswordHash {
			t.Error("an administrator changed a resident's password")
		}

		var actions []string
		all, _ := lg.List(ctx, audit.ListFilter{Subject: anna.ID, Limit: 100})
		for i := len(all) - 1; i >= 0; i-- {
			if strings.HasPrefix(all[i].Action, "login.") {
				continue
			}
			actions = append(actions, all[i].Action)
		}
		if got, want := strings.Join(actions, " "), "operator.created role.granted role.granted totp.enrolled password.change.refused password.changed totp.reset totp.enrolled password.forced"; got != want {
			t.Errorf("audit trail:\n%s\nwant\n%s", got, want)
		}
		if n, err := lg.Verify(ctx); err != nil || n == 0 {
			t.Errorf("audit chain: %d %v", n, err)
		}
	})
}

// BenchmarkOperatorAdministration measures, on SQLite, what the operators'
// pages cost the server: adding an operator (one argon2id hash, the
// audit), forcing a new password (one hash; sessions, pending logins and
// trusted browsers ended) and an operator's change of their own password
// (the current one verified, the new one hashed: two argon2id runs).
func BenchmarkOperatorAdministration(b *testing.B) {
	s := newIDSiteB(b)
	ctx := context.Background()
	svc := s.apps.identity
	admin, err := svc.CreateOperator(ctx, identity.NewOperator{Email: "admin@comune.example.it", Roles: []string{"admin"}}, "Sportello-Prima-Volta-1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("add", func(b *testing.B) {
		n := 0
		cpu := processCPU()
		defer func() { b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op") }()
		for b.Loop() {
			n++
			if _, err := svc.CreateOperator(ctx, identity.NewOperator{Email: "operatore" + strconv.Itoa(n) + "@comune.example.it", GivenName: "Anna", FamilyName: "Neri",
				Roles: []string{"urp"}, ChangePassword: true}, identity.GeneratePassword(), "account:"+admin.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	op, err := svc.CreateOperator(ctx, identity.NewOperator{Email: "anna@comune.example.it", Roles: []string{"urp"}}, "Sportello-Prima-Volta-2", "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("force", func(b *testing.B) {
		cpu := processCPU()
		defer func() { b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op") }()
		for b.Loop() {
			if _, _, err := svc.ForcePassword(ctx, op.ID, admin.ID, "127.0.0.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("change", func(b *testing.B) {
		passwords := []string{"Biblioteca-di-Sesto-2026", "Tram-per-Sesto-alle-7"}
		current := "Sportello-Prima-Volta-2"
		if _, err := svc.ImportResident(ctx, identity.NewResident{Email: "mario@example.org", Password: current, GivenName: "Mario", FamilyName: "Rossi"}, "bench"); err != nil {
			b.Fatal(err)
		}
		se := &identity.Session{Hash: "bench"}
		n := 0
		cpu := processCPU()
		defer func() { b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op") }()
		for b.Loop() {
			a, err := svc.Store.ByEmail(ctx, "mario@example.org")
			if err != nil {
				b.Fatal(err)
			}
			next := passwords[n%2]
			n++
			if err := svc.ChangePassword(ctx, a, se, identity.PasswordChange{Current: current, Password: next, Password2: next}, "127.0.0.1"); err != nil {
				b.Fatal(err)
			}
			current = next
		}
	})
}
