package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/cie"
	"github.com/civico-pa/civico/internal/cie/cietest"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
)

// cieSite is the portal as serve builds it, configured for a CIE
// federation that runs inside the test (trust anchor, intermediate,
// provider).
type cieSite struct {
	*idSite
	fed     *cietest.Federation
	clients atomic.Int32
	codes   atomic.Int32
}

func newCIESite(t *testing.T, d *db.DB) *cieSite {
	t.Helper()
	fed := cietest.New()
	t.Cleanup(fed.Close)
	s := &cieSite{fed: fed}
	s.idSite = newTunedIDSite(t, d, func(c *config) {
		c.CIE = fed.Config()
		c.cieHTTP = fed.Client
	})
	// As serve does at start.
	if err := s.apps.civico.cie.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The browser reaches the provider (httptest's certificate).
	s.roots.AddCert(fed.OP.Server.Certificate())
	return s
}

func (s *cieSite) cieBrowser(t *testing.T) *browser {
	b := s.browser(t, nil)
	n := s.clients.Add(1)
	b.from = fmt.Sprintf("10.78.%d.%d", n/200, n%200+1)
	return b
}

// person is a new person with a valid fiscal code, logged in next.
func (s *cieSite) person(t *testing.T) cietest.Person {
	n := int(s.codes.Add(1))
	first15 := fmt.Sprintf("CIETST%02dA%02dC707", 50+n/28, 1+n%28)
	c, err := cf.CheckChar(first15)
	if err != nil {
		t.Fatal(err)
	}
	p := cietest.Person{FiscalNumber: "TINIT-" + first15 + string(c), GivenName: "Prova", FamilyName: fmt.Sprintf("Cie%d", n), BirthDate: "1950-01-01"}
	s.fed.Set(func(f *cietest.Federation) { f.Person = p })
	return p
}

// login runs a login as the browser does: the portal's start, the
// provider's authorization endpoint, the callback and its redirects. It
// returns the final status and address, and the callback's address.
func (s *cieSite) login(t *testing.T, b *browser, level string) (int, string, string) {
	t.Helper()
	status, cb, body := s.toCallback(t, b, level)
	if cb == "" {
		return status, s.plain.URL + cie.PathLogin, body
	}
	u, final, _, _ := b.follow(cb, "")
	return final.StatusCode, u, cb
}

// toCallback runs a login up to the provider's redirect to the callback,
// which it returns ("" when the portal did not send the browser on).
func (s *cieSite) toCallback(t *testing.T, b *browser, level string) (int, string, string) {
	t.Helper()
	res, body := b.do("GET", s.plain.URL+cie.PathLogin+"?"+url.Values{"livello": {level}, "next": {"/area-personale"}}.Encode(), nil)
	if res.StatusCode != http.StatusSeeOther {
		return res.StatusCode, "", body
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, s.fed.OP.ID+"/authorize?") {
		t.Fatalf("start went to %s", loc)
	}
	res, body = b.do("GET", loc, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("provider: %d %s", res.StatusCode, body)
	}
	return res.StatusCode, res.Header.Get("Location"), body
}

// TestCIEFederationLogin runs the federation's login: the success lands in
// the personal area with the fiscal code proven by the CIE at the level
// the acr gives; each row breaks one check and asserts the final status
// and that no account, session or login was made.
func TestCIEFederationLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newCIESite(t, d)
		rp := s.apps.civico.cie.Web.RP

		t.Run("entity configuration", func(t *testing.T) {
			res, body := s.cieBrowser(t).do("GET", s.plain.URL+cie.PathEntityConfiguration, nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != cie.TypeEntityStatement {
				t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			fed, _ := s.apps.civico.cie.Keys.JWKS(context.Background(), cie.UseFederation)
			ec, err := cie.VerifyStatement(body, fed, time.Now())
			if err != nil || ec.Issuer != rp.EntityID() || ec.Subject != rp.EntityID() || len(ec.AuthorityHints) != 1 || ec.AuthorityHints[0] != s.fed.TA.ID {
				t.Fatalf("%v %+v", err, ec)
			}
			var md struct {
				RP struct {
					ClientID   string   `json:"client_id"`
					Redirects  []string `json:"redirect_uris"`
					AuthMethod string   `json:"token_endpoint_auth_method"`
				} `json:"openid_relying_party"`
			}
			raw, _ := json.Marshal(ec.Metadata)
			if err := json.Unmarshal(raw, &md); err != nil || md.RP.ClientID != rp.EntityID() || md.RP.AuthMethod != "private_key_jwt" ||
				len(md.RP.Redirects) != 1 || md.RP.Redirects[0] != rp.RedirectURI() {
				t.Fatalf("%v %+v", err, md)
			}
		})

		t.Run("the button on the login page", func(t *testing.T) {
			res, body := s.cieBrowser(t).do("GET", s.plain.URL+"/accedi?next=%2Farea-personale", nil)
			want := `<a class="btn btn-primary btn-cie" href="` + cie.PathLogin + `?livello=substantial&amp;next=%2Farea-personale">`
			if res.StatusCode != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "Entra con CIE</a>") {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
		})

		cases := []struct {
			name   string
			level  string
			breaks func(f *cietest.Federation)
			status int
			// why is in the refusal's reason (the audit log's, or the
			// chain's error).
			why string
		}{
			{name: "chain: a statement not signed by its authority", why: "bad signature", breaks: func(f *cietest.Federation) { f.Intermediate.ForeignSignature = true }, status: http.StatusServiceUnavailable},
			{name: "chain: the anchor's statement not by the pinned key", why: "bad signature", breaks: func(f *cietest.Federation) { f.TA.ForeignSignature = true }, status: http.StatusServiceUnavailable},
			{name: "chain: expired subordinate statement", why: "expired", breaks: func(f *cietest.Federation) { f.TA.ExpiredStatements = true }, status: http.StatusServiceUnavailable},
			{name: "chain: expired entity configuration", why: "expired", breaks: func(f *cietest.Federation) { f.Intermediate.ExpiredConfiguration = true }, status: http.StatusServiceUnavailable},
			{name: "chain: expired provider configuration", why: "expired", breaks: func(f *cietest.Federation) { f.OP.ExpiredConfiguration = true }, status: http.StatusServiceUnavailable},
			{name: "chain: a policy the provider's metadata does not meet", why: "superset", breaks: func(f *cietest.Federation) {
				f.TA.Policy = map[string]any{"openid_provider": map[string]any{"token_endpoint_auth_methods_supported": map[string]any{"superset_of": []string{"private_key_jwt", "tls_client_auth"}}}}
			}, status: http.StatusServiceUnavailable},
			{name: "ID token for another audience", why: "ID token audience", breaks: func(f *cietest.Federation) { f.WrongAudience = true }, status: http.StatusForbidden},
			{name: "ID token also for another party, named as authorized", why: "authorized party", breaks: func(f *cietest.Federation) { f.SharedAudience = true }, status: http.StatusForbidden},
			{name: "userinfo expired", why: "userinfo expired", breaks: func(f *cietest.Federation) { f.StaleUserinfo = true }, status: http.StatusForbidden},
			{name: "nonce mismatch", why: "nonce", breaks: func(f *cietest.Federation) { f.WrongNonce = true }, status: http.StatusForbidden},
			{name: "PKCE verifier does not match", why: "PKCE verifier", breaks: func(f *cietest.Federation) { f.ForgetChallenge = true }, status: http.StatusForbidden},
			{name: "userinfo not encrypted", why: "not encrypted", breaks: func(f *cietest.Federation) { f.PlainUserinfo = true }, status: http.StatusForbidden},
			{name: "userinfo not signed by the provider", why: "userinfo signature", breaks: func(f *cietest.Federation) { f.UserinfoKey = true }, status: http.StatusForbidden},
			{name: "acr below the level asked", why: "level substantial, high asked", level: "high", breaks: func(f *cietest.Federation) { f.ACR = cie.AcrL2 }, status: http.StatusForbidden},
			{name: "acr unknown", why: "is not a CIE level", breaks: func(f *cietest.Federation) { f.ACR = "urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL3" }, status: http.StatusForbidden},
			{name: "callback naming another issuer", why: "is not the provider", breaks: func(f *cietest.Federation) { f.WrongIssuer = true }, status: http.StatusForbidden},
			{name: "access denied", why: "access_denied", breaks: func(f *cietest.Federation) { f.Deny = true }, status: http.StatusForbidden},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s.reset()
				s.fed.Set(c.breaks)
				t.Cleanup(s.reset)
				s.person(t)
				before := s.counts(t)
				level := c.level
				if level == "" {
					level = "substantial"
				}
				status, u, _ := s.login(t, s.cieBrowser(t), level)
				if status != c.status {
					t.Fatalf("want %d, got %d at %s", c.status, status, u)
				}
				if after := s.counts(t); after != before {
					t.Fatalf("made something: %v, then %v", before, after)
				}
				why := s.lastRefusal(t)
				if status == http.StatusServiceUnavailable {
					_, err := rp.Resolver.Provider(context.Background(), time.Now())
					why = fmt.Sprint(err)
				}
				if !strings.Contains(why, c.why) {
					t.Fatalf("refused for %q, not %q", why, c.why)
				}
			})
		}

		t.Run("an encrypted ID token, under the anchor's policy", func(t *testing.T) {
			s.reset()
			s.fed.Set(func(f *cietest.Federation) {
				f.EncryptIDToken = true
				f.TA.Policy = map[string]any{"openid_provider": map[string]any{"acr_values_supported": map[string]any{"subset_of": []string{cie.AcrL2, cie.AcrL3}}}}
			})
			t.Cleanup(s.reset)
			p := s.person(t)
			b := s.cieBrowser(t)
			if status, u, _ := s.login(t, b, "high"); status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
				t.Fatalf("%d at %s", status, u)
			}
			if _, me := b.me(s.plain.URL); me.FiscalCode != strings.TrimPrefix(p.FiscalNumber, "TINIT-") || me.Assurance != "high" {
				t.Fatalf("me: %+v", me)
			}
			if op, err := rp.Provider(context.Background()); err != nil || len(op.AcrValuesSupported) != 2 {
				t.Fatalf("the policy not applied: %v %+v", err, op)
			}
		})

		t.Run("state of no login in flight", func(t *testing.T) {
			s.reset()
			before := s.counts(t)
			b := s.cieBrowser(t)
			res, _ := b.do("GET", s.plain.URL+cie.PathCallback+"?"+url.Values{"code": {"x"}, "state": {strings.Repeat("a", 64)}}.Encode(), nil)
			if res.StatusCode != http.StatusForbidden || s.counts(t) != before {
				t.Fatalf("%d", res.StatusCode)
			}
		})

		t.Run("callback in another browser", func(t *testing.T) {
			s.reset()
			s.person(t)
			b := s.cieBrowser(t)
			res, _ := b.do("GET", s.plain.URL+cie.PathLogin+"?livello=substantial", nil)
			res, _ = b.do("GET", res.Header.Get("Location"), nil)
			before := s.counts(t)
			other := s.cieBrowser(t)
			_, final, _, _ := other.follow(res.Header.Get("Location"), "")
			if final.StatusCode != http.StatusForbidden || s.counts(t) != before {
				t.Fatalf("%d", final.StatusCode)
			}
		})

		t.Run("success, then the code replayed", func(t *testing.T) {
			s.reset()
			p := s.person(t)
			b := s.cieBrowser(t)
			before := s.counts(t)
			_, cb, _ := s.toCallback(t, b, "substantial")
			// The browser's binding cookie, kept to replay with it.
			cbURL, _ := url.Parse(cb)
			kept := b.c.Jar.Cookies(cbURL)
			u, final, _, _ := b.follow(cb, "")
			status := final.StatusCode
			if status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
				t.Fatalf("want 200 at the personal area, got %d at %s", status, u)
			}
			code, me := b.me(s.plain.URL)
			if code != http.StatusOK || me.Method != cie.Method || me.Assurance != "high" || me.FiscalCode != strings.TrimPrefix(p.FiscalNumber, "TINIT-") ||
				me.FamilyName != p.FamilyName || me.Sources["fiscal_code"] != identity.SourceCIE {
				t.Fatalf("me: %d %+v", code, me)
			}
			if after := s.counts(t); after.accounts != before.accounts+1 || after.sessions != before.sessions+1 {
				t.Fatalf("%v then %v", before, after)
			}
			// The request object carried PKCE S256 and the level's acr.
			ro := s.fed.LastRequest()
			if ro["code_challenge_method"] != "S256" || ro["code_challenge"] == "" || ro["acr_values"] != cie.AcrL2 || ro["iss"] != rp.EntityID() {
				t.Fatalf("request object %v", ro)
			}
			// The same callback again, in the same browser with its
			// binding cookie back: refused, the state answered already
			// (before the code reaches the provider).
			if len(kept) != 1 || kept[0].Name != cie.BindCookie {
				t.Fatalf("binding cookie %v", kept)
			}
			b.c.Jar.SetCookies(cbURL, kept)
			mid := s.counts(t)
			_, final, _, _ = b.follow(cb, "")
			if final.StatusCode != http.StatusForbidden || s.counts(t) != mid || !strings.Contains(s.lastRefusal(t), "no login in flight") {
				t.Fatalf("replay: %d %s", final.StatusCode, s.lastRefusal(t))
			}
			// A second login of the same person enters the same account.
			b2 := s.cieBrowser(t)
			if status, _, _ := s.login(t, b2, "substantial"); status != http.StatusOK {
				t.Fatalf("second login %d", status)
			}
			if _, me2 := b2.me(s.plain.URL); me2.ID != me.ID {
				t.Fatalf("another account %s, not %s", me2.ID, me.ID)
			}
		})
	})
}

// lastRefusal is the reason of the last refused callback in the audit log.
func (s *cieSite) lastRefusal(t *testing.T) string {
	t.Helper()
	var details string
	if err := s.d.QueryRowContext(context.Background(), `SELECT details FROM audit_log WHERE action = 'cie.refused' ORDER BY id DESC LIMIT 1`).Scan(&details); err != nil {
		return ""
	}
	return details
}

type cieCounts struct{ accounts, sessions, requests int }

func (s *cieSite) counts(t *testing.T) cieCounts {
	return cieCounts{s.count(t, "accounts"), s.count(t, "sessions"), s.count(t, "cie_requests WHERE answered_at IS NULL")}
}

// reset clears the federation's switches and the relying party's cached
// chain.
func (s *cieSite) reset() {
	s.fed.Set(func(f *cietest.Federation) {
		f.ACR, f.WrongAudience, f.WrongNonce, f.PlainUserinfo, f.ForgetChallenge, f.Deny, f.UserinfoKey = "", false, false, false, false, false, false
		f.EncryptIDToken, f.WrongIssuer, f.SharedAudience, f.StaleUserinfo = false, false, false, false
		for _, e := range []*cietest.Entity{f.TA, f.Intermediate, f.OP} {
			e.ExpiredStatements, e.ForeignSignature, e.ExpiredConfiguration, e.Policy = false, false, false, nil
		}
	})
	s.apps.civico.cie.Web.RP.Forget()
}

// TestCIECommands: the relying party's keys and their rotation, and the
// entity configuration to register with the federation, from the
// command line; a configuration file that is wrong stops civico.
func TestCIECommands(t *testing.T) {
	dir := t.TempDir()
	fed := cietest.New()
	defer fed.Close()
	c := fed.Config()
	c.TrustAnchor, c.Provider, c.AuthorityHints = "https://registry.cie.example", "https://id.cie.example", []string{"https://registry.cie.example"}
	raw, _ := json.Marshal(c)
	conf := filepath.Join(dir, "cie.json")
	if err := os.WriteFile(conf, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": testSecretKey, "CIVICO_BASE_URL": "https://servizi.comune.example", "CIVICO_CIE_OIDC_CONFIG": conf}
	good := filepath.Join(dir, "town.json")
	if err := writeFile(good, string(mustRead(t, "../../internal/town/cinisello-balsamo.json"))); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "town", "import", good); code != 0 {
		t.Fatalf("town import: %q", errOut)
	}
	code, out, errOut := runCLI(t, env, "cie", "entity-configuration")
	if code != 0 || strings.Count(strings.TrimSpace(out), ".") != 2 {
		t.Fatalf("entity-configuration: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, env, "cie", "keys"); code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "federation") || !strings.Contains(out, "enc") {
		t.Fatalf("keys: %q", out)
	}
	if code, out, errOut := runCLI(t, env, "cie", "rotate-keys", "--overlap", "1h", "--use", "sig"); code != 0 || !strings.Contains(out, "new CIE key(s)") || strings.Contains(out, "federation key changed") {
		t.Fatalf("rotate-keys: %d %q %q", code, out, errOut)
	}
	if _, out, _ := runCLI(t, env, "cie", "keys"); strings.Count(out, "\n") != 5 {
		t.Fatalf("keys after rotation: %q", out)
	}
	if code, _, _ := runCLI(t, env, "cie", "rotate-keys", "--use", "signing"); code != 2 {
		t.Fatalf("a wrong --use: %d", code)
	}
	other := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": strings.Repeat("x", 40), "CIVICO_CIE_OIDC_CONFIG": conf}
	if code, _, errOut := runCLI(t, other, "cie", "entity-configuration"); code == 0 || !strings.Contains(errOut, "CIVICO_SECRET_KEY") {
		t.Fatalf("another secret: %d %q", code, errOut)
	}
	c.TrustAnchor = "http://registry.cie.example"
	raw, _ = json.Marshal(c)
	if err := os.WriteFile(conf, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "cie", "keys"); code != 2 || !strings.Contains(errOut, "trust_anchor") {
		t.Fatalf("an http trust anchor: %d %q", code, errOut)
	}
}

// TestCIEOff: without CIVICO_CIE_OIDC_CONFIG there is no button, the login
// says it is not available and no entity configuration is served.
func TestCIEOff(t *testing.T) {
	s := newIDSite(t, dbtest.SQLite(t))
	b := s.browser(t, nil)
	if _, body := b.do("GET", s.plain.URL+"/accedi", nil); strings.Contains(body, cie.PathLogin) {
		t.Fatal("a CIE button while CIE is off")
	}
	if res, _ := b.do("GET", s.plain.URL+cie.PathLogin, nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login: %d", res.StatusCode)
	}
	if res, _ := b.do("GET", s.plain.URL+cie.PathEntityConfiguration, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("entity configuration: %d", res.StatusCode)
	}
}
