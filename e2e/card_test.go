package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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
			"so it did not apply the policy %s (AutoSelectCertificateForUrls for port %d)%s", d.TLS, stepTimeout, policyFile, d.TLSPort, rivalPolicies())
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
//
// Policies are machine-wide, and Chromium does not merge a list policy
// across the files of its policy directory: of two files that both set
// AutoSelectCertificateForUrls, the last in name order wins outright. So
// every run on the machine (suites side by side, or the file a killed run
// left behind) shares one file, civico-e2e.json, holding one rule per port:
// each run adds its own rule and removes only that one, under a lock, and
// the file is replaced by a rename, so Chromium never reads half of it. A
// rule a killed run left behind selects the certificate for a port nobody
// listens on, does no harm, and goes when the next run adds its own.
func writePolicy(t *testing.T, port int) error {
	rule, err := json.Marshal(map[string]any{"pattern": fmt.Sprintf("https://127.0.0.1:%d", port), "filter": map[string]any{}})
	if err != nil {
		return err
	}
	if err := editPolicy(func(rules []string) []string {
		// The rules of runs that were killed go: their port no longer
		// answers (every run's listener answers before it adds its rule).
		rules = slices.DeleteFunc(rules, func(r string) bool { return !ruleListens(r) })
		return append(rules, string(rule))
	}); err != nil {
		return err
	}
	t.Cleanup(func() {
		if err := editPolicy(func(rules []string) []string {
			return slices.DeleteFunc(rules, func(r string) bool { return r == string(rule) })
		}); err != nil {
			t.Errorf("removing this run's rule from the Chromium policy: %v", err)
		}
	})
	return nil
}

// policyFile is the one file of the machine's Chromium policies that the
// journeys write (writePolicy).
var policyFile = filepath.Join(policyDir, "civico-e2e.json")

// editPolicy changes the rules of AutoSelectCertificateForUrls in
// policyFile, holding a lock beside the policy directory, and removes the
// file when no rule is left.
func editPolicy(edit func(rules []string) []string) error {
	if err := os.MkdirAll(policyDir, 0o755); err != nil {
		return err
	}
	// The lock and the file being written live in the parent directory:
	// Chromium reads every file in policyDir.
	parent := filepath.Dir(policyDir)
	lock, err := os.OpenFile(filepath.Join(parent, ".civico-e2e.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking the Chromium policy: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	var policy struct {
		Rules []string `json:"AutoSelectCertificateForUrls"`
	}
	switch raw, err := os.ReadFile(policyFile); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(raw, &policy); err != nil {
			// Not ours to repair by guessing: say what is there.
			return fmt.Errorf("the Chromium policy %s is not the JSON the journeys write: %v", policyFile, err)
		}
	}
	policy.Rules = edit(policy.Rules)
	if len(policy.Rules) == 0 {
		if err := os.Remove(policyFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	raw, err := json.Marshal(policy)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(parent, ".civico-e2e-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing is left to remove
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), policyFile)
}

// ruleListens says whether something listens on the port of a rule of
// AutoSelectCertificateForUrls.
func ruleListens(rule string) bool {
	var r struct {
		Pattern string `json:"pattern"`
	}
	if json.Unmarshal([]byte(rule), &r) != nil {
		return false
	}
	u, err := url.Parse(r.Pattern)
	if err != nil || u.Port() == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// rivalPolicies names the other files of the policy directory that set
// AutoSelectCertificateForUrls: the last in name order overrides the rest.
func rivalPolicies() string {
	entries, _ := os.ReadDir(policyDir)
	var rivals []string
	for _, e := range entries {
		path := filepath.Join(policyDir, e.Name())
		if path == policyFile {
			continue
		}
		if raw, err := os.ReadFile(path); err == nil && strings.Contains(string(raw), "AutoSelectCertificateForUrls") {
			rivals = append(rivals, path)
		}
	}
	if len(rivals) == 0 {
		return ""
	}
	return "; other files set that policy too, and Chromium takes it whole from the last of them in name order, not merged: " + strings.Join(rivals, ", ")
}
