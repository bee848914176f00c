package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/upstream"
	"github.com/civico-pa/civico/internal/upstream/upstreamtest"
)

// upstreamSite is the portal as serve builds it, in proxy mode with an
// upstream OpenID Connect provider that runs inside the test.
type upstreamSite struct {
	*idSite
	op      *upstreamtest.Provider
	clients atomic.Int32
	codes   atomic.Int32
}

func newUpstreamSite(t testing.TB, d *db.DB, tune ...func(*config)) *upstreamSite {
	t.Helper()
	op := upstreamtest.New()
	t.Cleanup(op.Close)
	s := &upstreamSite{op: op}
	s.idSite = newTunedIDSite(t, d, func(c *config) {
		c.Upstream = op.Config()
		c.upstreamHTTP = op.Server.Client()
		for _, fn := range tune {
			fn(c)
		}
	})
	// The browser reaches the provider (httptest's certificate).
	s.roots.AddCert(op.Server.Certificate())
	return s
}

func (s *upstreamSite) upBrowser(t *testing.T) *browser {
	b := s.browser(t, nil)
	n := s.clients.Add(1)
	b.from = fmt.Sprintf("10.79.%d.%d", n/200, n%200+1)
	return b
}

// fiscal is a new valid fiscal code.
func (s *upstreamSite) fiscal(t testing.TB) string {
	n := int(s.codes.Add(1))
	first15 := fmt.Sprintf("UPSTRM%02dA%02dC707", 50+n/28, 1+n%28)
	c, err := cf.CheckChar(first15)
	if err != nil {
		t.Fatal(err)
	}
	return first15 + string(c)
}

// person makes the provider log in a new person next.
func (s *upstreamSite) person(t testing.TB) upstreamtest.Person {
	n := s.codes.Load()
	p := upstreamtest.Person{FiscalNumber: "TINIT-" + s.fiscal(t), GivenName: "PROVA", FamilyName: fmt.Sprintf("Proxy%d", n), BirthDate: "1950-01-01"}
	s.op.Set(func(o *upstreamtest.Provider) { o.Person = p })
	return p
}

// toCallback runs a login up to the provider's redirect to the callback,
// which it returns ("" when the portal did not send the browser on).
func (s *upstreamSite) toCallback(t *testing.T, b *browser, level, next string) (int, string) {
	t.Helper()
	res, _ := b.do("GET", s.plain.URL+upstream.PathLogin+"?"+url.Values{"livello": {level}, "next": {next}}.Encode(), nil)
	if res.StatusCode != http.StatusSeeOther {
		return res.StatusCode, ""
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, s.op.Issuer+"/authorize?") {
		t.Fatalf("start went to %s", loc)
	}
	res, body := b.do("GET", loc, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("provider: %d %s", res.StatusCode, body)
	}
	return res.StatusCode, res.Header.Get("Location")
}

// login runs a whole login and returns the final status and address.
func (s *upstreamSite) login(t *testing.T, b *browser, level string) (int, string) {
	t.Helper()
	status, cb := s.toCallback(t, b, level, "/area-personale")
	if cb == "" {
		return status, s.plain.URL + upstream.PathLogin
	}
	u, final, _, _ := b.follow(cb, "")
	return final.StatusCode, u
}

func (s *upstreamSite) lastRefusal(t *testing.T) string {
	t.Helper()
	var details string
	if err := s.d.QueryRowContext(context.Background(), `SELECT details FROM audit_log WHERE action = 'upstream.refused' ORDER BY id DESC LIMIT 1`).Scan(&details); err != nil {
		return ""
	}
	return details
}

type upstreamCounts struct{ accounts, sessions, requests, upSessions int }

func (s *upstreamSite) counts(t *testing.T) upstreamCounts {
	return upstreamCounts{s.count(t, "accounts"), s.count(t, "sessions"), s.count(t, "upstream_requests WHERE answered_at IS NULL"), s.count(t, "upstream_sessions")}
}

func (s *upstreamSite) reset() {
	s.op.Set(func(o *upstreamtest.Provider) {
		o.ACR, o.ForeignKey, o.WrongAudience, o.WrongNonce, o.OtherIssuer, o.InUserinfo = "", false, false, false, false, false
		o.Down, o.TokenDown, o.NoEndSession, o.MethodClaim, o.Deny, o.TokenRedirect = false, false, false, "", false, ""
	})
	s.apps.civico.upstream.Web.RP.Forget()
}

// TestUpstreamLogin runs proxy mode's login: the success lands in the
// personal area with the fiscal code proven by the upstream provider at
// the level its acr gives; each refusal row breaks one check and asserts
// the final status, the reason audited and that nothing was made.
func TestUpstreamLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newUpstreamSite(t, d)
		ctx := context.Background()

		t.Run("the button on the login and step-up pages", func(t *testing.T) {
			b := s.upBrowser(t)
			_, body := b.do("GET", s.plain.URL+"/accedi?next=%2Farea-personale", nil)
			want := `href="` + upstream.PathLogin + `?livello=substantial&amp;next=%2Farea-personale">Entra con SPID o CIE (Regione)</a>`
			if !strings.Contains(body, want) {
				t.Fatalf("login page without the proxy's button:\n%s", body)
			}
			_, body = b.do("GET", s.plain.URL+"/accedi/carta?livello=high&next=%2Fprofilo", nil)
			if !strings.Contains(body, `href="`+upstream.PathLogin+`?livello=high&amp;next=%2Fprofilo"`) {
				t.Fatalf("step-up page without the proxy's button:\n%s", body)
			}
		})

		cases := []struct {
			name   string
			level  string
			breaks func(o *upstreamtest.Provider)
			status int
			why    string
		}{
			{name: "ID token signed by a key not the provider's", why: "ID token", breaks: func(o *upstreamtest.Provider) { o.ForeignKey = true }, status: http.StatusForbidden},
			{name: "ID token for another audience", why: "audience", breaks: func(o *upstreamtest.Provider) { o.WrongAudience = true }, status: http.StatusForbidden},
			{name: "nonce mismatch", why: "nonce", breaks: func(o *upstreamtest.Provider) { o.WrongNonce = true }, status: http.StatusForbidden},
			{name: "answer naming another issuer (mix-up)", why: "is not the provider", breaks: func(o *upstreamtest.Provider) { o.OtherIssuer = true }, status: http.StatusForbidden},
			{name: "acr unknown", why: "not a configured level", breaks: func(o *upstreamtest.Provider) { o.ACR = "urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL3" }, status: http.StatusForbidden},
			{name: "acr below the level asked", level: "high", why: "level substantial, high asked", breaks: func(o *upstreamtest.Provider) { o.ACR = upstream.AcrSpidL2 }, status: http.StatusForbidden},
			{name: "no fiscal number", why: "the fiscal number", breaks: func(o *upstreamtest.Provider) { o.Person.FiscalNumber = "" }, status: http.StatusForbidden},
			{name: "fiscal number with a wrong check character", why: "valid fiscal number", breaks: func(o *upstreamtest.Provider) {
				c := o.Person.FiscalNumber
				last := byte('A')
				if c[len(c)-1] == 'A' {
					last = 'B'
				}
				o.Person.FiscalNumber = c[:len(c)-1] + string(last)
			}, status: http.StatusForbidden},
			{name: "fiscal number in look-alike Unicode letters", why: "ASCII", breaks: func(o *upstreamtest.Provider) {
				// ToUpper would make the dotless ı an I and the long ſ an S.
				o.Person.FiscalNumber = "tınıt-" + strings.NewReplacer("i", "ı", "s", "ſ").Replace(strings.ToLower(strings.TrimPrefix(o.Person.FiscalNumber, "TINIT-")))
			}, status: http.StatusForbidden},
			{name: "token endpoint redirecting to plain http", why: "redirect", breaks: func(o *upstreamtest.Provider) {
				o.TokenRedirect = strings.Replace(o.Issuer, "https://", "http://", 1) + "/token"
			}, status: http.StatusBadGateway},
			{name: "access denied at the provider", why: "access_denied", breaks: func(o *upstreamtest.Provider) { o.Deny = true }, status: http.StatusForbidden},
			{name: "provider down at the start", why: "unreachable", breaks: func(o *upstreamtest.Provider) { o.Down = true }, status: http.StatusBadGateway},
			{name: "token endpoint down", why: "unreachable", breaks: func(o *upstreamtest.Provider) { o.TokenDown = true }, status: http.StatusBadGateway},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s.reset()
				t.Cleanup(s.reset)
				s.person(t)
				s.op.Set(c.breaks)
				before := s.counts(t)
				level := c.level
				if level == "" {
					level = "substantial"
				}
				status, u := s.login(t, s.upBrowser(t), level)
				if status != c.status {
					t.Fatalf("want %d, got %d at %s", c.status, status, u)
				}
				if after := s.counts(t); after != before {
					t.Fatalf("made something: %v, then %v", before, after)
				}
				if why := s.lastRefusal(t); !strings.Contains(why, c.why) || !strings.Contains(why, s.op.Issuer) {
					t.Fatalf("refused for %q, not %q", why, c.why)
				}
			})
		}

		t.Run("state of no login in flight", func(t *testing.T) {
			s.reset()
			before := s.counts(t)
			res, _ := s.upBrowser(t).do("GET", s.plain.URL+upstream.PathCallback+"?"+url.Values{"code": {"x"}, "state": {strings.Repeat("a", 64)}}.Encode(), nil)
			if res.StatusCode != http.StatusForbidden || s.counts(t) != before {
				t.Fatalf("%d", res.StatusCode)
			}
		})

		t.Run("callback in another browser (login CSRF)", func(t *testing.T) {
			s.reset()
			s.person(t)
			_, cb := s.toCallback(t, s.upBrowser(t), "substantial", "/area-personale")
			before := s.counts(t)
			_, final, _, _ := s.upBrowser(t).follow(cb, "")
			if final.StatusCode != http.StatusForbidden || s.counts(t) != before || !strings.Contains(s.lastRefusal(t), "no login in flight") {
				t.Fatalf("%d %s", final.StatusCode, s.lastRefusal(t))
			}
		})

		var firstID string
		t.Run("success, then the callback replayed", func(t *testing.T) {
			s.reset()
			s.op.Set(func(o *upstreamtest.Provider) { o.MethodClaim = "cie" })
			p := s.person(t)
			b := s.upBrowser(t)
			before := s.counts(t)
			// next names another site: the login lands on the portal.
			res, _ := b.do("GET", s.plain.URL+upstream.PathLogin+"?"+url.Values{"livello": {"high"}, "next": {"https://evil.example/x"}}.Encode(), nil)
			ask, _ := url.Parse(res.Header.Get("Location"))
			q := ask.Query()
			if q.Get("code_challenge_method") != "S256" || q.Get("acr_values") != upstream.AcrSpidL3 || q.Get("nonce") == "" || len(q.Get("state")) < 32 {
				t.Fatalf("authorization request %v", q)
			}
			res, _ = b.do("GET", ask.String(), nil)
			cb := res.Header.Get("Location")
			cbURL, _ := url.Parse(cb)
			kept := b.c.Jar.Cookies(cbURL)
			u, final, _, _ := b.follow(cb, "")
			if final.StatusCode != http.StatusOK || !strings.HasPrefix(u, s.plain.URL+"/") || strings.Contains(u, "evil") {
				t.Fatalf("want 200 on the portal, got %d at %s", final.StatusCode, u)
			}
			code, me := b.me(s.plain.URL)
			if code != http.StatusOK || me.Method != upstream.Method || me.Assurance != "high" || me.FiscalCode != strings.TrimPrefix(p.FiscalNumber, "TINIT-") ||
				me.FamilyName != p.FamilyName || me.Sources["fiscal_code"] != identity.SourceUpstream || me.Sources["name"] != identity.SourceUpstream {
				t.Fatalf("me: %d %+v", code, me)
			}
			firstID = me.ID
			if after := s.counts(t); after.accounts != before.accounts+1 || after.sessions != before.sessions+1 || after.upSessions != before.upSessions+1 {
				t.Fatalf("%v then %v", before, after)
			}
			var details string
			if err := d.QueryRowContext(ctx, `SELECT details FROM audit_log WHERE action = 'upstream.login' ORDER BY id DESC LIMIT 1`).Scan(&details); err != nil ||
				!strings.Contains(details, s.op.Issuer) || !strings.Contains(details, `"upstream_method":"cie"`) {
				t.Fatalf("audit: %q %v", details, err)
			}
			// The same callback again with the binding cookie back:
			// refused, the state answered already.
			if len(kept) != 1 || kept[0].Name != upstream.BindCookie {
				t.Fatalf("binding cookie %v", kept)
			}
			b.c.Jar.SetCookies(cbURL, kept)
			mid := s.counts(t)
			if _, final, _, _ = b.follow(cb, ""); final.StatusCode != http.StatusForbidden || s.counts(t) != mid || !strings.Contains(s.lastRefusal(t), "no login in flight") {
				t.Fatalf("replay: %d %s", final.StatusCode, s.lastRefusal(t))
			}
			// A second login of the same person, with the attributes in
			// the userinfo this time, enters the same account.
			s.op.Set(func(o *upstreamtest.Provider) { o.InUserinfo = true })
			b2 := s.upBrowser(t)
			if status, _ := s.login(t, b2, "substantial"); status != http.StatusOK {
				t.Fatalf("second login %d %s", status, s.lastRefusal(t))
			}
			if _, me2 := b2.me(s.plain.URL); me2.ID != me.ID || me2.Assurance != "substantial" {
				t.Fatalf("another account %s (%s), not %s", me2.ID, me2.Assurance, me.ID)
			}
		})

		t.Run("an account that only claimed the fiscal code does not get it", func(t *testing.T) {
			s.reset()
			p := s.person(t)
			fiscal := strings.TrimPrefix(p.FiscalNumber, "TINIT-")
			claimant := s.upBrowser(t)
			s.register(t, claimant, "claimant@example.org", "Prova", "Altri", "tram-per-Sesto-alle-7")
			if _, err := d.ExecContext(ctx, `UPDATE accounts SET fiscal_code = $1, fiscal_code_source = 'self' WHERE email = 'claimant@example.org'`, fiscal); err != nil {
				t.Fatal(err)
			}
			holder := s.upBrowser(t)
			if status, _ := s.login(t, holder, "substantial"); status != http.StatusOK {
				t.Fatalf("login %d %s", status, s.lastRefusal(t))
			}
			_, me := holder.me(s.plain.URL)
			if me.Email == "claimant@example.org" || me.FiscalCode != fiscal || me.ID == firstID {
				t.Fatalf("the proven login landed in the claimant's account: %+v", me)
			}
			if a, err := s.apps.identity.Store.ByEmail(ctx, "claimant@example.org"); err != nil || a.FiscalCode != "" {
				t.Fatalf("the claim stayed: %+v %v", a, err)
			}
		})

		t.Run("logout ends the session here and at the provider", func(t *testing.T) {
			s.reset()
			s.person(t)
			b := s.upBrowser(t)
			if status, _ := s.login(t, b, "substantial"); status != http.StatusOK {
				t.Fatal(status)
			}
			// The ID token kept for the hint is sealed.
			var kept string
			if err := d.QueryRowContext(ctx, `SELECT id_token FROM upstream_sessions ORDER BY created_at DESC LIMIT 1`).Scan(&kept); err != nil || strings.HasPrefix(kept, "eyJ") {
				t.Fatalf("the ID token kept: %q %v", kept, err)
			}
			res, _ := b.do("POST", s.plain.URL+"/esci", url.Values{})
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), s.op.Issuer+"/logout?") || loc.Query().Get("id_token_hint") == "" ||
				loc.Query().Get("post_logout_redirect_uri") != s.plain.URL+"/" {
				t.Fatalf("logout: %d %s", res.StatusCode, loc)
			}
			if code, _ := b.me(s.plain.URL); code == http.StatusOK {
				t.Fatal("still logged in here")
			}
			// Without an end_session_endpoint the logout is local only.
			s.reset()
			s.op.Set(func(o *upstreamtest.Provider) { o.NoEndSession = true })
			b = s.upBrowser(t)
			if status, _ := s.login(t, b, "substantial"); status != http.StatusOK {
				t.Fatal(status)
			}
			res, _ = b.do("POST", s.plain.URL+"/esci", url.Values{})
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
				t.Fatalf("local logout: %d %s", res.StatusCode, res.Header.Get("Location"))
			}
			if code, _ := b.me(s.plain.URL); code == http.StatusOK {
				t.Fatal("still logged in here")
			}
		})
	})
}

// TestUpstreamOff: without CIVICO_UPSTREAM_OIDC_CONFIG there is no button
// and the login says it is not available.
func TestUpstreamOff(t *testing.T) {
	s := newIDSite(t, dbtest.SQLite(t))
	b := s.browser(t, nil)
	if _, body := b.do("GET", s.plain.URL+"/accedi", nil); strings.Contains(body, upstream.PathLogin) {
		t.Fatal("a proxy button while proxy mode is off")
	}
	if res, _ := b.do("GET", s.plain.URL+upstream.PathLogin, nil); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login: %d", res.StatusCode)
	}
}

// BenchmarkUpstreamCallback measures the callback of a proxy-mode login:
// the state claimed, the code exchanged at the provider (over TLS, in the
// same process), the ID token verified, the person logged in and the
// session recorded. The start and the provider's authorization are made
// with the timer stopped. One person logs in b.N times (the budget of
// logins an hour raised), from a new address each time.
func BenchmarkUpstreamCallback(b *testing.B) {
	s := newUpstreamSite(b, dbtest.SQLite(b), func(c *config) { c.Limits.CardLogins = 1 << 30 })
	s.person(b)
	tc := &tls.Config{RootCAs: s.roots}
	get := func(c *http.Client, u, from string) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("X-Forwarded-For", from)
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		return res
	}
	// The process's CPU time (civico's and the provider's, which share
	// it) spent in the callbacks, beside the wall time the machine's load
	// stretches.
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var spent time.Duration
	n := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tc},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		from := fmt.Sprintf("10.%d.%d.%d", 80+i/65536%100, i/256%256, i%256)
		res := get(c, s.plain.URL+upstream.PathLogin+"?livello=substantial", from)
		res = get(c, res.Header.Get("Location"), from)
		cb := res.Header.Get("Location")
		b.StartTimer()
		before := cpu()
		if res = get(c, cb, from); res.StatusCode != http.StatusSeeOther || strings.HasPrefix(res.Header.Get("Location"), "/accedi") {
			b.Fatalf("callback: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		spent += cpu() - before
		n++
	}
	b.ReportMetric(float64(spent.Microseconds())/float64(n), "cpu-µs/op")
}

// TestUpstreamConfigRefused: a configuration file that is wrong stops
// civico with its reason.
func TestUpstreamConfigRefused(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "upstream.json")
	if err := os.WriteFile(conf, []byte(`{"issuer": "http://login.regione.example", "client_id": "c", "client_secret": "s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": testSecretKey, "CIVICO_UPSTREAM_OIDC_CONFIG": conf}
	if code, _, errOut := runCLI(t, env, "audit", "verify"); code != 2 || !strings.Contains(errOut, "CIVICO_UPSTREAM_OIDC_CONFIG") || !strings.Contains(errOut, "not https") {
		t.Fatalf("an http issuer: %d %q", code, errOut)
	}
}

// TestUpstreamPrivateKeyJWT: with client_auth private_key_jwt, civico
// makes its client key at start (sealed), publishes it, and the provider
// that checks the assertion against it logs the person in; a provider that
// holds another key for the client refuses the code exchange, and nothing
// is made.
func TestUpstreamPrivateKeyJWT(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newUpstreamSite(t, d, func(c *config) { c.Upstream.ClientAuth, c.Upstream.ClientSecret = upstream.AuthPrivateKeyJWT, "" })
		if err := s.apps.civico.upstream.Ensure(context.Background()); err != nil {
			t.Fatal(err)
		}
		var enc string
		if err := d.QueryRowContext(context.Background(), `SELECT private_enc FROM upstream_keys`).Scan(&enc); err != nil || strings.Contains(enc, "PRIVATE") {
			t.Fatalf("the key: %v", err)
		}
		s.op.Set(func(o *upstreamtest.Provider) { o.ClientJWKS = s.plain.URL + upstream.PathJWKS })
		p := s.person(t)
		b := s.upBrowser(t)
		if status, u := s.login(t, b, "substantial"); status != http.StatusOK {
			t.Fatalf("%d at %s: %s", status, u, s.lastRefusal(t))
		}
		if _, me := b.me(s.plain.URL); me.FiscalCode != strings.TrimPrefix(p.FiscalNumber, "TINIT-") || me.Sources["fiscal_code"] != identity.SourceUpstream {
			t.Fatalf("me: %+v", me)
		}
		// The provider knows another key for the client, under the same
		// kid.
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		own, _ := s.apps.civico.upstream.Keys.JWKS(context.Background())
		otherKeys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: own.Keys[0].KeyID, Algorithm: "RS256", Use: "sig"}}})
		}))
		defer otherKeys.Close()
		s.op.Set(func(o *upstreamtest.Provider) { o.ClientJWKS = otherKeys.URL })
		s.person(t)
		before := s.counts(t)
		if status, _ := s.login(t, s.upBrowser(t), "substantial"); status != http.StatusForbidden || s.counts(t) != before ||
			!strings.Contains(s.lastRefusal(t), "invalid_client") {
			t.Fatalf("%d %v %s", status, s.counts(t), s.lastRefusal(t))
		}
	})
}

// A proven login whose feature record fails is no login: the account it
// would have created and its session are rolled back with the record
// (identity.Proven.Also; outside review M2). Without the failure the same
// login stands, with its record.
func TestProvenLoginStandsOrFallsWithItsRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		code, err := cf.Complete("RSSMRA80A01F205")
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("the feature's record failed")
		recorded := 0
		login := func(fail bool) (*identity.Login, error) {
			return s.apps.identity.LoginProven(ctx, identity.Proven{FiscalCode: string(code), GivenName: "MARIO", FamilyName: "ROSSI",
				Source: identity.SourceUpstream, Level: assurance.Substantial, Method: upstream.Method,
				Also: func(ctx context.Context, tx *sql.Tx, l *identity.Login) error {
					if fail {
						return boom
					}
					recorded++
					return nil
				}}, "10.0.0.9", "test")
		}
		accounts, sessions := s.count(t, "accounts"), s.count(t, "sessions")
		if _, err := login(true); !errors.Is(err, boom) {
			t.Fatalf("a failing record: %v", err)
		}
		if a, se := s.count(t, "accounts"), s.count(t, "sessions"); a != accounts || se != sessions {
			t.Fatalf("a login whose record failed left %d accounts and %d sessions (before: %d, %d)", a, se, accounts, sessions)
		}
		if l, err := login(false); err != nil || l.Account.FiscalCode != string(code) || recorded != 1 {
			t.Fatalf("the same login with its record: %v, recorded %d", err, recorded)
		}
		if a, se := s.count(t, "accounts"), s.count(t, "sessions"); a != accounts+1 || se != sessions+1 {
			t.Fatalf("after the login: %d accounts, %d sessions", a, se)
		}
	})
}
