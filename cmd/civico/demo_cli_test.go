package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/town"
	"software.sslmate.com/src/go-pkcs12"
)

// The demo's cards open with the password `civico ca card` gives by
// default, which the demo prints; its curl lines log in with a cookie jar
// and use it, as the README does. A data directory whose cards were made
// with the old password ("demo") gets them made anew.
func TestDemoCardsAsTheCAMakesThem(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: filepath.Join(dir, "civico.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(ctx, schema()); err != nil {
		t.Fatal(err)
	}
	prepare := func() string {
		t.Helper()
		cfg := testConfig(t)
		cfg.DataDir, cfg.SecretKey = dir, ""
		if err := prepareDemo(ctx, &cfg, d, town.NewStore(d, 0)); err != nil {
			t.Fatal(err)
		}
		return demoLogins
	}
	out := prepare()
	if !strings.Contains(out, `password "`+cardPassword+`"`) {
		t.Errorf("the demo does not print the cards' password %q:\n%s", cardPassword, out)
	}
	p12s, _ := filepath.Glob(filepath.Join(dir, "ca", "cards", "*.p12"))
	if len(p12s) == 0 {
		t.Fatal("no demo card")
	}
	for _, p := range p12s {
		if _, _, _, err := pkcs12.DecodeChain(mustRead(t, p), cardPassword); err != nil {
			t.Errorf("%s does not open with %q: %v", filepath.Base(p), cardPassword, err)
		}
	}
	login := regexp.MustCompile(`curl --cacert \S+ --cert \S+ --key \S+ -c (\S+) \S*/login/crs\n`).FindStringSubmatch(out)
	if login == nil {
		t.Fatalf("no card login with a cookie jar:\n%s", out)
	}
	if !strings.Contains(out, "-b "+login[1]+" ") || !strings.Contains(out, "/api/v1/me") {
		t.Errorf("no request that uses the jar %s:\n%s", login[1], out)
	}

	// A card made before with the old password is made anew.
	old := p12s[0]
	base := strings.TrimSuffix(old, ".p12")
	for _, f := range []string{old, base + ".pem", base + ".key"} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	writeOldCard(t, dir, filepath.Base(base))
	if _, _, _, err := pkcs12.DecodeChain(mustRead(t, old), cardPassword); err == nil {
		t.Fatal("the old card opens with the new password: the test proves nothing")
	}
	prepare()
	if _, _, _, err := pkcs12.DecodeChain(mustRead(t, old), cardPassword); err != nil {
		t.Errorf("a card of the old password was kept: %v", err)
	}
}

// writeOldCard writes a demo card as civico did before: PKCS#12 password
// "demo".
func writeOldCard(t *testing.T, dataDir, base string) {
	t.Helper()
	ca, err := cardca.Open(filepath.Join(dataDir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	card, err := ca.IssueCard(cardca.CardRequest{FiscalCode: "RSSMRA80A01F205X", GivenName: "OLD", FamilyName: "CARD", NotAfter: time.Now().AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := card.WriteFiles(filepath.Join(dataDir, "ca", "cards"), base, "demo"); err != nil {
		t.Fatal(err)
	}
}
