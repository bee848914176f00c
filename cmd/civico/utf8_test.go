package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// TestAddressesAndFormsAreUTF8: a path or a query with bytes that are not
// UTF-8 or with a NUL, or a posted form that is not UTF-8 (which no
// browser sends: only a crafted request), gets the 400 page and changes
// nothing, instead of reaching a lookup or a write that PostgreSQL
// refuses with a 500.
func TestAddressesAndFormsAreUTF8(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		b := residentBrowser(t, s, "utf8@example.org", "correct horse battery")
		for _, p := range []string{"/novita/notizie/%FF", "/amministrazione/politici/%C3", "/vivere-il-comune/luoghi/a%FFb",
			"/servizi?q=%FF", "/moduli?q=caf%C3", "/dove-e-quando?quando=%FF", "/area-personale/pratiche/%FF", "/api/v1/notices/%FF",
			"/novita/avvisi/a%00b", "/amministrazione/documenti-e-dati/%00", "/servizi?q=a%00",
			// A pair with a malformed escape does not hide the others.
			"/oidc/accedi?x=%zz&id=%00", "/spid/accedi?x=%zz&idp=%FF", "/backoffice/pratiche?x=%zz&servizio=%00"} {
			if res, _ := b.do("GET", s.plain.URL+p, nil); res.StatusCode != http.StatusBadRequest {
				t.Errorf("GET %s: %d", p, res.StatusCode)
			}
		}
		// A well-formed address that names nothing is still a 404, and an
		// accented one a page.
		if res, _ := b.do("GET", s.plain.URL+"/novita/notizie/citt%C3%A0", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown news item: %d", res.StatusCode)
		}
		if res, _ := b.do("GET", s.plain.URL+"/servizi?q=citt%C3%A0", nil); res.StatusCode != http.StatusOK {
			t.Errorf("an accented search: %d", res.StatusCode)
		}
		for _, f := range []url.Values{
			{"given_name": {"Anna"}, "family_name": {"Colombo"}, "phone": {"02\xff"}, "address": {"Via \xc3"}},
			{"given_name": {"Anna"}, "family_name": {"Colombo"}, "phone": {"02"}, "address": {"Via\x00Roma"}},
		} {
			if res, _ := b.do("POST", s.plain.URL+"/profilo", f); res.StatusCode != http.StatusBadRequest {
				t.Errorf("a profile with %q: %d", f, res.StatusCode)
			}
		}
		// Anonymous forms: a login, a rating of a page.
		anon := s.browser(t, nil)
		for p, f := range map[string]url.Values{
			"/accedi":      {"email": {"a\x00@example.org"}, "password": {"x"}},
			"/valutazione": {"comment": {"utile\x00"}, "page": {"/servizi"}, "rating": {"5"}},
		} {
			if res, _ := anon.do("POST", s.plain.URL+p, f); res.StatusCode != http.StatusBadRequest {
				t.Errorf("POST %s with a NUL: %d", p, res.StatusCode)
			}
		}
		// The single sign-on's endpoints read their own parameters.
		for _, f := range []url.Values{
			{"grant_type": {"authorization_code"}, "client_id": {"partecipa\x00"}, "code": {"x"}},
			{"grant_type": {"authorization_code"}, "client_id": {"partecipa"}, "code": {"\xff"}},
		} {
			if res, _ := anon.do("POST", s.plain.URL+"/oidc/token", f); res.StatusCode != http.StatusBadRequest {
				t.Errorf("the token endpoint with %q: %d", f, res.StatusCode)
			}
		}
		if res, _ := anon.do("POST", s.plain.URL+"/oidc/authorize", url.Values{"client_id": {"partecipa\x00"}, "response_type": {"code"}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("the authorization endpoint with a NUL: %d", res.StatusCode)
		}
		// A malformed pair does not hide a value read before it.
		if res := rawPost(t, s.plain.URL+"/oidc/authorize", "client_id=%FF&x=%zz"); res.StatusCode != http.StatusBadRequest {
			t.Errorf("the authorization endpoint with a malformed form: %d", res.StatusCode)
		}
		// The endpoints the library reads itself: no client, not a failure.
		for _, p := range []string{"/oidc/revoke", "/oidc/introspect"} {
			if res := rawPost(t, s.plain.URL+p, "token=x&client_id=%00&client_secret=y"); res.StatusCode >= 500 {
				t.Errorf("%s with a NUL client: %d", p, res.StatusCode)
			}
		}
		// A bearer token is opened without authentication by the
		// library: whatever it opens to names no token (401, never 500).
		for i := range 60 {
			tok := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(string(rune('a'+i%26)), 16+i)))
			req, _ := http.NewRequest("GET", s.plain.URL+"/api/v1/positions", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("a made-up bearer token %q: %d", tok, res.StatusCode)
			}
		}
		var phone string
		if err := d.QueryRowContext(t.Context(), `SELECT phone FROM accounts WHERE email = 'utf8@example.org'`).Scan(&phone); err != nil || phone != "" {
			t.Errorf("the phone is %q (%v)", phone, err)
		}
	})
}

// rawPost posts body as a form, as it is (not re-encoded).
func rawPost(t *testing.T, u, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}
