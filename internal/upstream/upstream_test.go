package upstream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/assurance"
)

// TestLoadConfig: a file with the defaults filled; each bad file refused
// with its reason.
func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	load := func(body string) (*Config, error) {
		f := filepath.Join(dir, "c.json")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(f)
	}
	c, err := load(`{"issuer": "https://login.regione.example/oidc", "client_id": "comune", "client_secret": "s", "claims": {"fiscal_number": "fiscal_number"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Claims.FiscalNumber != "fiscal_number" || c.Claims.GivenName != "given_name" || c.Scopes[0] != "openid" || c.AcrOf(assurance.High) != AcrSpidL3 {
		t.Fatalf("%+v", c)
	}
	if l, ok := c.LevelOf(AcrEidasSubstantial); !ok || l != assurance.Substantial {
		t.Fatalf("eIDAS substantial: %v %v", l, ok)
	}
	if _, ok := c.LevelOf("urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL3"); ok {
		t.Fatal("an acr not configured accepted")
	}
	for _, bad := range []struct{ body, why string }{
		{`{"issuer": "http://login.regione.example", "client_id": "c", "client_secret": "s"}`, "not https"},
		{`{"issuer": "http://127.0.0.1:8080", "client_id": "c", "client_secret": "s"}`, "not https"},
		{`{"issuer": "https://login.regione.example", "client_id": "c", "client_secret": "s", "clientsecret": "x"}`, "unknown field"},
		{`{"issuer": "https://login.regione.example", "client_secret": "s"}`, "client_id"},
		{`{"issuer": "https://login.regione.example", "client_id": "c"}`, "client_secret"},
		{`{"issuer": "https://login.regione.example", "client_id": "c", "client_secret": "s", "acr_levels": {"x": "top"}}`, "is not low"},
		{`{"issuer": "https://login.regione.example", "client_id": "c", "client_secret": "s", "acr_values": {"low": "a", "substantial": "b", "high": "` + AcrSpidL2 + `"}}`, "asked for high"},
	} {
		if _, err := load(bad.body); err == nil || !strings.Contains(err.Error(), bad.why) {
			t.Errorf("%s: %v, want %q", bad.body, err, bad.why)
		}
	}
	// Loopback http only for tests, and only when Insecure.
	tc := &Config{Issuer: "http://127.0.0.1:8080", ClientID: "c", ClientSecret: "s", Insecure: true}
	if err := tc.Check(); err != nil {
		t.Fatal(err)
	}
	tc = &Config{Issuer: "http://login.regione.example", ClientID: "c", ClientSecret: "s", Insecure: true}
	if err := tc.Check(); err == nil {
		t.Fatal("http on another host admitted")
	}
}

// TestClientAuth: a secret with client_secret, none with private_key_jwt.
func TestClientAuth(t *testing.T) {
	for _, c := range []struct {
		c   Config
		why string
	}{
		{Config{ClientAuth: AuthPrivateKeyJWT}, ""},
		{Config{ClientAuth: AuthPrivateKeyJWT, ClientSecret: "s"}, "not used with private_key_jwt"},
		{Config{ClientAuth: AuthClientSecret}, "client_secret: required"},
		{Config{ClientAuth: "tls_client_auth", ClientSecret: "s"}, "is not client_secret or private_key_jwt"},
	} {
		c.c.Issuer, c.c.ClientID = "https://login.regione.example", "c"
		err := c.c.Check()
		if (c.why == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.why)) {
			t.Errorf("%+v: %v, want %q", c.c, err, c.why)
		}
	}
}
