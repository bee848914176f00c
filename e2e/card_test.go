package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// policyDir is where Debian's Chromium reads the machine's mandatory
// policies.
const policyDir = "/etc/chromium/policies/managed"

// A resident logs in with the demo smart card (Luca Ferrari's) over the
// demo's TLS listener. Chromium finds the card's certificate in the NSS
// database of its HOME and, told by the AutoSelectCertificateForUrls policy,
// presents it without asking; the personal area then shows the card
// holder, and /api/v1/me says the login's assurance is high.
func TestSmartCardLogin(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(b, d)
	b.wantText(`header [data-element="personal-area-login"]`, demoCardName)

	clickAndLoad(b, "opening the personal area", chromedp.CSS(`header [data-element="personal-area-login"]`), 200)
	if p := b.path(); p != "/area-personale" {
		t.Fatalf("the personal-area button led to %s, want /area-personale", p)
	}
	b.wantText("main h1", "Area personale")
	b.wantText("main", demoCardFiscalCode) // the card proved it
	clickAndLoad(b, "opening the profile", chromedp.CSS(`main a[href="/profilo"]`), 200)
	b.wantText("main .lead", "Ciao "+demoCardName+".")
	b.wantText("main", "Hai effettuato l'accesso con la carta: livello di sicurezza alto.")

	b.open(d.TLS+"/api/v1/me", 200)
	raw := eval[string](b, `document.body.innerText`)
	var me struct {
		FiscalCode string `json:"fiscal_code"`
		Assurance  string `json:"assurance"`
		Method     string `json:"method"`
	}
	if err := json.Unmarshal([]byte(raw), &me); err != nil {
		t.Fatalf("/api/v1/me is not JSON: %v\n%s", err, raw)
	}
	if me.Assurance != "high" || me.FiscalCode != demoCardFiscalCode {
		t.Fatalf("after the card login /api/v1/me says %s", raw)
	}
	t.Logf("/api/v1/me: %s", strings.Join(strings.Fields(raw), " "))

	// Single sign-on: with the portal session started by the card, one
	// click on Partecipa's "Accedi" logs the resident in there too (the
	// browser goes through the portal's OpenID Connect provider and back).
	b.open(d.Partecipa+"/", 200)
	clickAndLoad(b, "Partecipa's Accedi", chromedp.CSS(`header [data-element="personal-area-login"]`), 200)
	if loc := b.location(); !strings.HasPrefix(loc, d.Partecipa+"/") {
		t.Fatalf("after Accedi on Partecipa the page is %s, want Partecipa logged in (no second login)", loc)
	}
	b.wantText(`header [data-element="personal-area-login"]`, demoCardName)
	clickAndLoad(b, "Partecipa's personal area", chromedp.CSS(`header [data-element="personal-area-login"]`), 200)
	b.wantText("main", "Alto: Carta Regionale")

	// Logging out of Partecipa ends the portal session too: Partecipa's
	// page takes the id_token to the portal in a form's body, sent by
	// Partecipa's own script (no click), and the portal, finding its own
	// session named, ends it and returns to Partecipa.
	clickAndLoad(b, "logging out of Partecipa", chromedp.CSS(`main form[action="/esci"] button`), 200)
	b.waitLocation("Partecipa's logout going on through the portal by itself", d.Partecipa+"/")
	b.open(d.TLS+"/api/v1/me", 401)

	// And logging out of the portal ends Partecipa's session.
	b.open(d.TLS+"/login/crs", 200)
	b.open(d.Partecipa+"/accedi?next=/profilo", 200)
	b.wantText("main", "Alto: Carta Regionale")
	b.open(d.TLS+"/profilo", 200)
	clickAndLoad(b, "logging out of the portal", chromedp.CSS(`main form[action="/esci"] button`), 200)
	b.open(d.Partecipa+"/profilo", 200)
	if loc := b.location(); !strings.HasPrefix(loc, d.Portal+"/accedi?") {
		t.Fatalf("Partecipa after the portal's logout shows %s, want the portal's login page", loc)
	}
}

// cardBrowser starts a browser that holds a demo card: its HOME has an NSS
// database with the card (file, a PKCS#12 file of the demo's authority,
// whose certificate names fiscalCode) and the demo authority trusted for
// TLS. The Chromium policy that makes it present the card to the demo's
// TLS listener without asking is written once for the demo, until the end
// of the test that started it.
func cardBrowser(t *testing.T, d *demo, file, fiscalCode string) *browser {
	t.Helper()
	for _, tool := range []string{"certutil", "pk12util"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Debian's libnss3-tools (apt-get install -y libnss3-tools; scripts/ci/e2e.sh does)", tool)
		}
	}
	home, err := os.MkdirTemp("", "civico-e2e-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeLater(home) })
	nssdb := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(nssdb, 0o700); err != nil {
		t.Fatal(err)
	}
	db := "sql:" + nssdb
	nss(t, "certutil", "-N", "-d", db, "--empty-password")
	nss(t, "pk12util", "-i", d.CardFile(file), "-d", db, "-W", demoCardPassword)
	nss(t, "certutil", "-A", "-d", db, "-n", "civico demo card authority", "-t", "CT,C,C", "-i", d.CAFile())
	list := nss(t, "certutil", "-L", "-d", db)
	if !strings.Contains(list, fiscalCode) {
		t.Fatalf("the card's certificate (%s) is not in the NSS database:\n%s", fiscalCode, list)
	}

	// The policy that makes Chromium present the certificate to this
	// listener without a dialog (headless Chromium cannot show one, and
	// without the policy it waits for an answer forever).
	d.policyOnce.Do(func() { d.policyErr = writePolicy(d.owner, d.TLSPort) })
	if errors.Is(d.policyErr, fs.ErrPermission) {
		t.Skipf("smart-card journey skipped: cannot write Chromium's policy in %s (%v); run as root (CI does)", policyDir, d.policyErr)
	} else if d.policyErr != nil {
		t.Fatal(d.policyErr)
	}
	return newBrowser(t, withEnv("HOME="+home))
}

// cardLogin logs the browser, which holds a card (cardBrowser), in at the
// demo's /login/crs, and checks that it lands on the personal area.
func cardLogin(b *browser, d *demo) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(d.TLS+"/login/crs")) // 303 to the personal area, logged in
	cancel()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		b.t.Fatalf("the card login at %s/login/crs did not finish within %v: Chromium is waiting for someone to choose a certificate, "+
			"so it did not apply the policy %s/civico-e2e-%d.json (AutoSelectCertificateForUrls)", d.TLS, stepTimeout, policyDir, d.TLSPort)
	case err != nil:
		b.t.Fatalf("the card login at %s/login/crs: %v", d.TLS, err)
	case resp.Status != 200:
		b.t.Fatalf("the card login at %s/login/crs ends on %s with status %d, want the personal area (200)", d.TLS, resp.URL, resp.Status)
	}
	if p := b.path(); p != "/area-personale" {
		b.t.Fatalf("after the card login the page is %s, want /area-personale", p)
	}
}

// nss runs one of the NSS tools and returns its output.
func nss(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writePolicy installs, until the end of the test, a Chromium policy that
// selects the client certificate for https://127.0.0.1:port by itself.
// Policies are machine-wide: the file is named after the port, so that
// runs side by side do not remove each other's.
func writePolicy(t *testing.T, port int) error {
	if err := os.MkdirAll(policyDir, 0o755); err != nil {
		return err
	}
	rule, err := json.Marshal(map[string]any{"pattern": fmt.Sprintf("https://127.0.0.1:%d", port), "filter": map[string]any{}})
	if err != nil {
		return err
	}
	policy, err := json.Marshal(map[string][]string{"AutoSelectCertificateForUrls": {string(rule)}})
	if err != nil {
		return err
	}
	path := filepath.Join(policyDir, fmt.Sprintf("civico-e2e-%d.json", port))
	if err := os.WriteFile(path, policy, 0o644); err != nil {
		return err
	}
	t.Cleanup(func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("removing the Chromium policy: %v", err)
		}
	})
	return nil
}
