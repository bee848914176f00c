package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cardca"
)

func TestOIDCCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": testSecretKey}

	code, out, errOut := runCLI(t, env, "oidc", "client", "add", "--name", "Biblioteca", "--redirect-uri", "https://biblioteca.example/cb",
		"--scopes", "openid profile residence", "--backchannel-logout-uri", "https://biblioteca.example/logout")
	if code != 0 {
		t.Fatalf("client add: %d %s", code, errOut)
	}
	id := regexp.MustCompile(`client_id: (\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil || len(secret[1]) < 40 {
		t.Fatalf("client add printed %q", out)
	}
	code, out, _ = runCLI(t, env, "oidc", "client", "add", "--name", "App", "--redirect-uri", "it.comune.app:/cb", "--public", "--first-party")
	if code != 0 || strings.Contains(out, "client_secret") || !strings.Contains(out, "PKCE") {
		t.Fatalf("public client add: %d %q", code, out)
	}

	for name, args := range map[string][]string{
		"no redirect":   {"--name", "X"},
		"fragment":      {"--name", "X", "--redirect-uri", "https://x.example/cb#frag"},
		"relative":      {"--name", "X", "--redirect-uri", "/cb"},
		"custom scheme": {"--name", "X", "--redirect-uri", "javascript:alert(1)"},
		"unknown scope": {"--name", "X", "--redirect-uri", "https://x.example/cb", "--scopes", "openid everything"},
		"no name":       {"--redirect-uri", "https://x.example/cb"},
		"existing id":   {"--name", "X", "--redirect-uri", "https://x.example/cb", "--id", id[1]},
		"bad id":        {"--name", "X", "--redirect-uri", "https://x.example/cb", "--id", "a b"},
	} {
		if code, _, errOut := runCLI(t, env, append([]string{"oidc", "client", "add"}, args...)...); code != 2 || errOut == "" {
			t.Errorf("%s: exit %d, %q", name, code, errOut)
		}
	}

	code, out, _ = runCLI(t, env, "oidc", "client", "list")
	if code != 0 || !strings.Contains(out, "Biblioteca") || !strings.Contains(out, "pairwise") || !strings.Contains(out, "first-party") {
		t.Fatalf("client list: %d %q", code, out)
	}
	if strings.Contains(out, secret[1]) {
		t.Fatal("the list shows a secret")
	}
	if code, _, errOut := runCLI(t, env, "oidc", "client", "disable", "--id", id[1]); code != 0 {
		t.Fatalf("disable: %d %s", code, errOut)
	}
	if _, out, _ = runCLI(t, env, "oidc", "client", "list"); !strings.Contains(out, "disabled") {
		t.Fatalf("list after disable: %q", out)
	}
	if code, _, _ := runCLI(t, env, "oidc", "client", "disable", "--id", "nobody"); code != 2 {
		t.Fatalf("disabling an unknown client: exit %d", code)
	}

	// Keys: the first rotation makes the first key; the second retires it.
	for i := 0; i < 2; i++ {
		if code, out, errOut := runCLI(t, env, "oidc", "rotate-keys"); code != 0 || !strings.Contains(out, "new signing key") {
			t.Fatalf("rotate-keys: %d %q %q", code, out, errOut)
		}
	}
	code, out, _ = runCLI(t, env, "oidc", "keys")
	if code != 0 || strings.Count(out, "(signs)") != 1 || len(strings.Split(strings.TrimSpace(out), "\n")) != 3 { // header, one key in force, one retired
		t.Fatalf("keys: %q", out)
	}
	other := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": strings.Repeat("z", 40)}
	if code, _, errOut := runCLI(t, other, "oidc", "rotate-keys"); code == 0 || !strings.Contains(errOut, "CIVICO_SECRET_KEY") {
		t.Fatalf("rotate-keys with another secret: %d %q", code, errOut)
	}
	code, out, _ = runCLI(t, env, "audit", "list")
	for _, action := range []string{"oidc.client.added", "oidc.client.disabled", "oidc.keys.rotated"} {
		if code != 0 || !strings.Contains(out, action) {
			t.Errorf("audit list lacks %s", action)
		}
	}

	// The registry of residents.
	csv := filepath.Join(dir, "residenti.csv")
	if err := writeFile(csv, "codice_fiscale;quartiere\nRSSMRA85T10A562S;Crocetta\n"); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "residents", "import", csv); code != 0 || !strings.Contains(out, "1 residents") {
		t.Fatalf("residents import: %d %q %q", code, out, errOut)
	}
	if err := writeFile(csv, "RSSMRA85T10A562X;Crocetta\n"); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "residents", "import", csv); code != 2 || !strings.Contains(errOut, "line 1") || !strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("bad registry: %d %q", code, errOut)
	}
}

func TestStrictCRLSetting(t *testing.T) {
	ca, err := cardca.Init(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := ca.Files()
	for _, v := range []string{"true", "false"} {
		cfg, err := loadConfig(func(k string) string {
			return map[string]string{"CIVICO_CRS_STRICT_CRL": v, "CIVICO_CRS_CA_FILE": f.CA, "CIVICO_CRS_CRL_FILE": f.CRL}[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := newCardReader(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if r.verifier.StrictCRL != (v == "true") {
			t.Errorf("CIVICO_CRS_STRICT_CRL=%s: verifier StrictCRL %v", v, r.verifier.StrictCRL)
		}
	}
}
