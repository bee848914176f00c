package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/sportello"
)

// multipartFiles posts a form with several files (field: name and data).
func (b *browser) multipartFiles(u string, values url.Values, files map[string][2]string) (*http.Response, string) {
	b.t.Helper()
	var list []formFile
	for field, f := range files {
		list = append(list, formFile{field, f[0], []byte(f[1])})
	}
	return b.postFiles(u, values, list...)
}

// A delegation through the server as production builds it, on both
// engines: the desk records it (refused first, beside its fields, what
// was typed kept), the delegate's card login is offered to apply for the
// holder on the privacy step, and the application they submit shows both
// names on the resident's and the office's pages; the office opens the
// delegation's documents (audited); the holder, with their own card,
// finds the application. Revoked, the delegate no longer reaches it, is
// no longer offered the choice, and a start with its id is refused.
func TestSportelloDelegation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		ctx := context.Background()
		base := s.tls.URL
		const mailbox = "luca.ferrari@example.org"
		luca, _ := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", mailbox)
		_, lucaCode := accountOf(t, s, "FRRLCU78H15C707")
		holderCode, err := cf.Make("Ferrari", "Giuseppe", "M", time.Date(1940, 2, 3, 0, 0, 0, 0, time.UTC), "C707")
		if err != nil {
			t.Fatal(err)
		}
		desk := operatorBrowser(t, s.idSite, "desk1@comune.example.it", "desk")
		dg := s.plain.URL + "/backoffice/deleghe"
		if res, body := desk.do("GET", dg, nil); res.StatusCode != 200 || !strings.Contains(body, `action="/backoffice/deleghe"`) {
			t.Fatalf("the desk's delegations: %d", res.StatusCode)
		}
		if res, _ := luca.do("GET", s.plain.URL+"/backoffice/deleghe", nil); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
			t.Fatalf("a resident on the desk's delegations: %d", res.StatusCode)
		}
		pdf := string(attachmentstest.PDF("Delega firmata"))
		values := url.Values{"holder_fiscal_code": {string(holderCode)[:15] + "0"}, "holder_given_name": {"Giuseppe"}, "holder_family_name": {"Ferrari"},
			"delegate_fiscal_code": {lucaCode}, "basis": {"written"}, "services": {journeyService}, "valid_until": {time.Now().AddDate(1, 0, 0).Format(time.DateOnly)}}
		res, body := desk.multipartFiles(dg, values, map[string][2]string{"form": {"delega.pdf", pdf}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-dg-holder_fiscal_code-error"`) ||
			!strings.Contains(body, `id="f-dg-document-error"`) || !strings.Contains(body, `value="Giuseppe"`) {
			t.Fatalf("a wrong code and no document: %d\n%s", res.StatusCode, body)
		}
		values.Set("holder_fiscal_code", string(holderCode))
		res, _ = desk.multipartFiles(dg, values, map[string][2]string{"form": {"delega.pdf", pdf}, "document": {"carta-identita.pdf", string(attachmentstest.PDF("Carta d'identita"))}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("recording the delegation: %d", res.StatusCode)
		}
		list, _, err := s.apps.civico.sportello.Store.Delegations(ctx, 1)
		if err != nil || len(list) != 1 {
			t.Fatalf("delegations: %v %v", list, err)
		}
		id := list[0].ID

		// The delegate applies for the holder.
		res, body = luca.do("GET", base+"/servizi-online/"+journeyService, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `name="for" id="f-for-0" value="`+id+`"`) || !strings.Contains(body, "Per conto di Giuseppe Ferrari") {
			t.Fatalf("the privacy step offers no delegation: %d", res.StatusCode)
		}
		key := regexpFind(t, body, `name="key" value="([0-9a-f]{32})"`)
		res, _ = luca.do("POST", base+"/servizi-online/"+journeyService, url.Values{"key": {key}, "privacy": {"1"}, "for": {id}})
		m := appIDRE.FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("start for the holder: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		app := base + sportello.AreaPath + "/" + m[1]
		acting := "Presentata da Luca Ferrari (codice fiscale " + lucaCode + ") per conto di Giuseppe Ferrari"
		res, body = luca.do("GET", app+"/richiedente", nil)
		if res.StatusCode != 200 || !strings.Contains(body, acting) || !strings.Contains(body, string(holderCode)) {
			t.Fatalf("the applicant's step of the holder's application: %d\n%s", res.StatusCode, body)
		}
		answers := url.Values{"zona": {"crocetta"}, "targa": {"AB123CD"}, "conferma": {"yes"}, "action": {"next"}}
		if res, _ = luca.multipart(app+"/modulo", answers, "libretto", "libretto.pdf", attachmentstest.PDF("Libretto")); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("form step: %d", res.StatusCode)
		}
		if res, _ = luca.do("POST", app+"/invia", url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit: %d", res.StatusCode)
		}
		for _, p := range []string{"/ricevuta", ""} {
			if res, body = luca.do("GET", app+p, nil); res.StatusCode != 200 || !strings.Contains(body, acting) {
				t.Fatalf("the delegate's %s page: %d", p, res.StatusCode)
			}
		}
		if mails := s.mailsTo(mailbox); len(mails) != 1 {
			t.Fatalf("%d mails to the delegate, want the receipt's", len(mails))
		}

		// The office sees both, and the delegation's documents.
		bo := s.plain.URL + "/backoffice/pratiche/" + m[1]
		if res, body = desk.do("GET", bo, nil); res.StatusCode != 200 || !strings.Contains(body, acting) || !strings.Contains(body, `/backoffice/deleghe/`+id+`/documenti/delega"`) {
			t.Fatalf("the office's page: %d", res.StatusCode)
		}
		if res, body = desk.do("GET", dg+"/"+id+"/documenti/delega", nil); res.StatusCode != 200 || body != pdf {
			t.Fatalf("the delegation's form: %d", res.StatusCode)
		}
		if res, _ = luca.do("GET", s.plain.URL+"/backoffice/deleghe/"+id+"/documenti/delega", nil); res.StatusCode == 200 {
			t.Fatal("a resident reads the delegation's documents")
		}
		records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Subject: "delegation:" + id, Limit: 10})
		var acts []string
		for _, r := range records {
			acts = append(acts, r.Action)
		}
		if got := strings.Join(acts, " "); !strings.Contains(got, "sportello.delegation.recorded") || !strings.Contains(got, "sportello.delegation.document.read") {
			t.Fatalf("the delegation's audit: %v", acts)
		}

		// The holder, with their own card, finds it.
		holder, _ := s.resident(string(holderCode)[:15], "GIUSEPPE", "FERRARI", "")
		if res, body = holder.do("GET", base+sportello.AreaPath, nil); res.StatusCode != 200 || !strings.Contains(body, m[1]) {
			t.Fatalf("the holder's list: %d", res.StatusCode)
		}

		// Revoked: refused without a reason, then done; the delegate
		// reaches nothing more.
		if res, body = desk.do("POST", dg+"/"+id+"/revoca", url.Values{"reason": {" "}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-reason-`+id+`-error"`) {
			t.Fatalf("revoked without a reason: %d", res.StatusCode)
		}
		if res, _ = desk.do("POST", dg+"/"+id+"/revoca", url.Values{"reason": {"Revocata dal titolare"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		if res, _ = luca.do("GET", app, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("the revoked delegate reads the application: %d", res.StatusCode)
		}
		if res, body = luca.do("GET", base+sportello.AreaPath, nil); res.StatusCode != 200 || strings.Contains(body, m[1]) {
			t.Fatalf("the revoked delegate's list: %d", res.StatusCode)
		}
		res, body = luca.do("GET", base+"/servizi-online/"+journeyService, nil)
		if res.StatusCode != 200 || strings.Contains(body, `name="for"`) {
			t.Fatalf("the privacy step still offers the revoked delegation: %d", res.StatusCode)
		}
		key = regexpFind(t, body, `name="key" value="([0-9a-f]{32})"`)
		if res, body = luca.do("POST", base+"/servizi-online/"+journeyService, url.Values{"key": {key}, "privacy": {"1"}, "for": {id}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "non ti permette più") {
			t.Fatalf("a start under the revoked delegation: %d", res.StatusCode)
		}
		if res, _ = holder.do("GET", app, nil); res.StatusCode != 200 {
			t.Fatalf("the holder after the revocation: %d", res.StatusCode)
		}
	})
}
