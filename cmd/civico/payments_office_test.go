package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/payments"
)

// upload posts a file to a multipart form.
func (b *browser) upload(u, field, name string, data []byte) (*http.Response, string) {
	b.t.Helper()
	return b.postFiles(u, nil, formFile{field, name, data})
}

// The finance office creates a position, imports a file, finds, cancels
// with a reason, and reads the day's balancing; a resident may not.
func TestFinanceBackOffice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		op := operatorBrowser(t, s, "ragioneria@comune.example.it", "finance")
		base := s.plain.URL + "/backoffice/pagamenti"
		// A wrong form keeps what was typed and says why, beside each field.
		res, body := op.do("POST", base+"/nuova", url.Values{"debtor_cf": {"RSSMRA85T10A562X"}, "category": {"canteen"}, "reason": {"Mensa ottobre"},
			"year": {"2026"}, "amount": {"45,2x"}, "due_date": {"2026-11-30"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-debtor_cf-error"`) || !strings.Contains(body, `id="f-amount-error"`) ||
			!strings.Contains(body, `value="Mensa ottobre"`) {
			t.Fatalf("a wrong position: %d\n%s", res.StatusCode, body)
		}
		res, _ = op.do("POST", base+"/nuova", url.Values{"debtor_cf": {"RSSMRA85T10A562S"}, "category": {"tari"}, "reason": {"TARI 2026 Via Roma 1"},
			"year": {"2026"}, "amount": {"300,00"}, "due_date": {"2026-05-31"}, "instalments": {"2026-05-31 150,00\n2026-09-30 150,00"}, "single": {"1"}})
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/backoffice/pagamenti/posizioni/") {
			t.Fatalf("create: %d %s", res.StatusCode, loc)
		}
		_, body = op.do("GET", s.plain.URL+loc, nil)
		if strings.Count(body, "3010 ") < 3 {
			t.Fatalf("the position's page lacks its three notices:\n%s", body)
		}
		// Import: a wrong file is refused whole, naming the line.
		res, body = op.upload(base+"/importa", "file", "nov.csv", []byte("id,codice_fiscale,categoria,causale,anno,importo,scadenza\nA1,RSSMRA85T10A562S,mensa,Mensa,2026,\"45,20\",2026-11-30\nA2,XX,mensa,Mensa,2026,1,2026-11-30\n"))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-element="import-errors"`) || !strings.Contains(body, "<th scope=\"row\">3</th>") {
			t.Fatalf("a wrong import: %d\n%s", res.StatusCode, body)
		}
		res, _ = op.upload(base+"/importa", "file", "nov.csv", []byte("id,codice_fiscale,categoria,causale,anno,importo,scadenza\nA1,RSSMRA85T10A562S,mensa,Mensa,2026,\"45,20\",2026-11-30\n"))
		loc = res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/backoffice/pagamenti/importa/") {
			t.Fatalf("import: %d %s", res.StatusCode, loc)
		}
		// Its job, as river would run it.
		pay := s.apps.civico.payments
		if _, err := pay.Service.RunImport(context.Background(), strings.TrimPrefix(loc, "/backoffice/pagamenti/importa/"), pay.Rates, nil); err != nil {
			t.Fatal(err)
		}
		if _, body := op.do("GET", s.plain.URL+loc, nil); !strings.Contains(body, `data-element="import-done"`) {
			t.Fatalf("the import's page:\n%s", body)
		}
		// A year past any integer column's range is no year, not a 500.
		if res, body := op.do("GET", base+"?anno=99999999999&q=rssmra85t10a562s", nil); res.StatusCode != 200 || !strings.Contains(body, "2 posizioni trovate") {
			t.Fatalf("a year out of range: %d", res.StatusCode)
		}
		// Search by fiscal code, then cancel the canteen position.
		_, body = op.do("GET", base+"?q=rssmra85t10a562s", nil)
		m := regexp.MustCompile(`/backoffice/pagamenti/posizioni/([0-9a-f]+)">Mensa<`).FindStringSubmatch(body)
		if m == nil || !strings.Contains(body, "2 posizioni trovate") {
			t.Fatalf("search:\n%s", body)
		}
		if res, body := op.do("POST", base+"/posizioni/"+m[1]+"/annulla", url.Values{"reason": {"no"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-reason-error"`) {
			t.Fatalf("cancel without a reason: %d", res.StatusCode)
		}
		if res, _ := op.do("POST", base+"/posizioni/"+m[1]+"/annulla", url.Values{"reason": {"Iscrizione ritirata a ottobre"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("cancel: %d", res.StatusCode)
		}
		var status, reason string
		if err := d.QueryRowContext(context.Background(), `SELECT status, cancel_reason FROM payments_positions WHERE id = $1`, m[1]).Scan(&status, &reason); err != nil || status != "cancelled" {
			t.Fatalf("after cancelling: %s %v", status, err)
		}
		var audited int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action IN ('payments.position.created', 'payments.import', 'payments.position.cancelled')`).Scan(&audited); err != nil || audited != 3 {
			t.Fatalf("%d audit entries, %v", audited, err)
		}
		res, body = op.do("GET", base+"/quadratura", nil)
		if res.StatusCode != 200 || !strings.Contains(body, `data-element="report-outcome"`) {
			t.Fatalf("balancing page: %d", res.StatusCode)
		}
		if res, csv := op.do("GET", base+"/quadratura.csv", nil); res.StatusCode != 200 || !strings.Contains(csv, "QUADRA") {
			t.Fatalf("balancing CSV: %d\n%s", res.StatusCode, csv)
		}
		// A resident logged in with the card may not.
		resident := s.browser(t, s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil))
		s.cardLogin(t, resident, "/")
		if res, _ := resident.do("GET", s.tls.URL+"/backoffice/pagamenti", nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a resident in the finance back office: %d", res.StatusCode)
		}
	})
}

// GET /api/v1/notices/{number}: 400 with the reason, 404, or status and
// amount only. GET /api/v1/positions: the bearer's own positions, with
// the payments scope and a login that proved the fiscal code.
func TestPaymentsAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newPaySite(t, d)
		get := func(u, token string) (int, map[string]any, http.Header) {
			req, _ := http.NewRequest("GET", u, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(res.Body).Decode(&out)
			return res.StatusCode, out, res.Header
		}
		number := p.canteen.Notices[0].Number
		if st, out, _ := get(p.plain.URL+"/api/v1/notices/"+number, ""); st != 200 || out["status"] != "open" || out["amount"] != 4520.0 || len(out) != 3 {
			t.Fatalf("a notice: %d %v", st, out)
		}
		bad := number[:16] + "00"
		if number[16:] == "00" {
			bad = number[:16] + "01"
		}
		if st, out, _ := get(p.plain.URL+"/api/v1/notices/"+bad, ""); st != 400 || out["reason"] != "check" || out["message"] == "" {
			t.Fatalf("wrong check digits: %d %v", st, out)
		}
		if st, out, _ := get(p.plain.URL+"/api/v1/notices/12345", ""); st != 400 || out["reason"] != "length" {
			t.Fatalf("too short: %d %v", st, out)
		}
		unknown := "301" + strings.Repeat("9", 13)
		unknown += checkDigits(unknown)
		if st, _, _ := get(p.plain.URL+"/api/v1/notices/"+unknown, ""); st != 404 {
			t.Fatalf("unknown: %d", st)
		}
		// Walking the numbers (they follow a sequence) is bounded: 60
		// lookups a minute per client, then 429 with Retry-After.
		refused := 0
		for i := range 60 {
			base := fmt.Sprintf("301%013d", 9000000+i)
			st, _, h := get(p.plain.URL+"/api/v1/notices/"+base+checkDigits(base), "")
			if st == http.StatusTooManyRequests {
				if h.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				refused++
			}
		}
		if refused == 0 {
			t.Fatal("64 lookups of notice numbers from one client in a minute, none refused")
		}

		if st, _, h := get(p.plain.URL+"/api/v1/positions", ""); st != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "payments") {
			t.Fatalf("no token: %d", st)
		}
		if st, out, _ := get(p.plain.URL+"/api/v1/positions", "not-a-token"); st != 401 || out["error"] != "invalid_token" {
			t.Fatalf("a wrong token: %d %v", st, out)
		}
		token := func(scopes ...string) string {
			c, secret := p.addClient(t, oidcop.NewClient{Name: "App del Comune", RedirectURIs: []string{outsideRedirect}, FirstParty: true, Scopes: scopes})
			rp := p.relyingParty(t, c.ID, secret, outsideRedirect, scopes...)
			b := p.ssoBrowser(t, p.card)
			p.cardLogin(t, b, "/")
			a := rp.start()
			last, _, _, _ := b.follow(a.url, outsideRedirect)
			q := rp.callback(a, last)
			tok, err := rp.oauth.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(a.verifier))
			if err != nil {
				t.Fatal(err)
			}
			return tok.AccessToken
		}
		if st, out, _ := get(p.plain.URL+"/api/v1/positions", token("openid")); st != 403 || out["error"] != "insufficient_scope" {
			t.Fatalf("without the payments scope: %d %v", st, out)
		}
		st, out, _ := get(p.plain.URL+"/api/v1/positions", token("openid", oidcop.ScopePayments))
		list, _ := out["positions"].([]any)
		if st != 200 || out["total"] != 2.0 || len(list) != 2 {
			t.Fatalf("positions: %d %v", st, out)
		}
		if !strings.Contains(mustJSON(list), `"qr_code":"PAGOPA|002|`+p.canteen.Notices[0].Number+`|01971350150|4520"`) {
			t.Fatalf("the canteen's notice is not in %s", mustJSON(list))
		}
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func checkDigits(first16 string) string {
	var v uint64
	for _, c := range first16 {
		v = v*10 + uint64(c-'0')
	}
	return string([]byte{byte('0' + v%93/10), byte('0' + v%93%10)})
}

var _ = payments.AreaPath
