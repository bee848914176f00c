package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeTags are the rules axe-core runs: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeResult is what axeRunJS returns for one page.
type axeResult struct {
	Version    string
	Passed     int // rules that passed
	Violations []axeRule
	Incomplete []axeRule // "needs review": logged, not failed
}

type axeRule struct {
	ID, Impact, Help, HelpURL string
	Nodes                     []axeNode
}

type axeNode struct {
	Target  []string
	HTML    string
	Summary string
}

var axeRunJS = `axe.run(document, {runOnly: {type: "tag", values: ` + jsonString(axeTags) + `}, resultTypes: ["violations"]}).then(r => {
	const rules = list => list.map(v => ({ID: v.id, Impact: v.impact || "", Help: v.help, HelpURL: v.helpUrl,
		Nodes: v.nodes.map(n => ({Target: n.target.map(x => Array.isArray(x) ? x.join(" >>> ") : String(x)),
			HTML: n.html, Summary: n.failureSummary || ""}))}));
	return {Version: axe.version, Passed: r.passes.length, Violations: rules(r.violations), Incomplete: rules(r.incomplete)};
})`

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// loadAxe reads axe-core's axe.min.js from CIVICO_AXE_JS.
func loadAxe(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CIVICO_AXE_JS")
	if path == "" {
		t.Fatal("CIVICO_AXE_JS is not set: it must name axe-core's axe.min.js " +
			"(scripts/ci/e2e.sh installs axe-core@4.14.1 with npm and sets it)")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("CIVICO_AXE_JS: %v", err)
	}
	return string(src)
}

// Every page reachable from the portal's and Partecipa's home pages by
// same-origin links passes axe-core's WCAG 2.1 A and AA rules, for a
// visitor and for a logged-in resident; and so do the pages no link leads
// to: those a mail's link opens (the completion of a registration, a dead
// link), those a form answers (an operator's enrolment of an authenticator,
// with its QR code; Partecipa's logout page) and the personal area of a
// card login, with its form to link a password account.
func TestAccessibility(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)
	// The error pages of single sign-on are seeds too: the provider's own
	// (an unknown application, at login and at logout) and Partecipa's (a
	// login it did not start).
	seeds := []string{d.Portal + "/", d.Partecipa + "/",
		d.Portal + "/oidc/authorize?client_id=nessuna&redirect_uri=https%3A%2F%2Fx.example%2Fcb&response_type=code&scope=openid",
		d.Portal + "/oidc/end_session?client_id=nessuna",
		d.Partecipa + "/auth/callback?code=x&state=y"}

	// The crawls run side by side, each in a browser of its own.
	t.Run("logged out", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t)
		r := newAxeRun(t, b, axeJS)
		// The completion of a registration, by the link of a real
		// registration mail; and the page of a dead link (the crawl
		// checks one page per path: the dead registration link is the
		// logged-in crawl's).
		completion := requestRegistration(b, d, "accessibilita@example.invalid")
		r.crawl(append(slices.Clone(seeds), completion, d.Portal+"/reimposta-password?token=scaduto"))

		// An operator's first password login: the enrolment of an
		// authenticator app, with the secret as a QR code.
		email, password := demoLogin(t, d, demoOperatorEmail)
		passwordLogin(b, d.Portal, email, password, 200)
		if n := eval[int](b, `document.querySelectorAll('main form[action="/accedi/codice"] svg[role="img"]').length`); n != 1 {
			t.Fatalf("an operator's first password login shows %s without a QR code", b.location())
		}
		r.check("an operator's enrolment of an authenticator")
		r.finish()
	})

	t.Run("logged in", func(t *testing.T) {
		t.Parallel()
		email, password := demoLogin(t, d, demoResidentEmail)
		b := newBrowser(t)
		passwordLogin(b, d.Portal, email, password, 200)
		b.wantText(`header [data-element="personal-area-login"]`, demoResidentName)
		// The consent page of single sign-on, for the demo's example
		// third-party application.
		consent := d.Portal + "/oidc/authorize?" + url.Values{"client_id": {"esempio-biblioteca"}, "redirect_uri": {"http://127.0.0.1:5556/callback"},
			"response_type": {"code"}, "scope": {"openid profile email residence"}, "state": {"axe"}}.Encode()
		// The page that asks before a logout an application requested;
		// first, since the crawl checks one page per path and the logout's
		// error page has the same.
		logout := d.Portal + "/oidc/end_session?" + url.Values{"client_id": {"partecipa"}, "post_logout_redirect_uri": {d.Partecipa + "/"}}.Encode()
		// An old registration link, followed by someone logged in.
		dead := d.Portal + "/registrati/completa?token=scaduto"
		r := newAxeRun(t, b, axeJS)
		r.crawl(append([]string{logout}, append(slices.Clone(seeds), consent, dead)...))

		// Partecipa's logout page, which its script sends on to the
		// portal at once: in a browser that does not load the script
		// (axe-core itself needs scripts) it stays, with its button.
		b.open(d.Partecipa+"/accedi?next=/profilo", 200)
		if loc := b.location(); loc != d.Partecipa+"/profilo" {
			t.Fatalf("Partecipa's Accedi, logged in on the portal, ends on %s, want %s/profilo", loc, d.Partecipa)
		}
		b.block(d.Partecipa + "/*autosubmit.js")
		clickAndLoad(b, "logging out of Partecipa without its script", chromedp.CSS(`main form[action="/esci"] button`), 200)
		b.wantText("main", "Sei uscito da Partecipa.")
		r.check("Partecipa's logout page")
		if loc := b.location(); loc != d.Partecipa+"/esci" {
			t.Fatalf("Partecipa's logout page went on to %s while axe-core checked it", loc)
		}
		r.finish()
	})

	t.Run("logged in with the card", func(t *testing.T) {
		t.Parallel()
		// Giulia Bianchi's card: she has a password account too, which the
		// personal area of her card login offers to link.
		b := cardBrowser(t, d, demoBothCardFile, demoBothFiscalCode)
		cardLogin(b, d)
		r := newAxeRun(t, b, axeJS)
		b.open(d.TLS+"/profilo", 200)
		b.wantText("main dl", demoBothFiscalCode)
		if n := eval[int](b, `document.querySelectorAll('main form[action="/profilo/collega"]').length`); n != 1 {
			t.Fatal("the personal area of a card login without a password has no form to link a password account")
		}
		r.check("the personal area of a card login, with the linking form")

		email, password := demoLogin(t, d, demoBothEmail)
		linkAccount(b, email, password+"-sbagliata", 422)
		b.wantText("#f-link_email-error", "Email o password non corretti.")
		r.check("the linking form refusing a wrong password")

		linkAccount(b, email, password, 200)
		b.wantText(`main .alert-success[role="status"]`, "Abbiamo scritto all'indirizzo")
		r.check("the personal area after asking to link")

		followLinkMail(b, d, email)
		r.check("the confirmation of the mailed linking link")
		clickAndLoad(b, "confirming the link", chromedp.CSS(`main form[action="/profilo/collega/conferma"] button[type="submit"]`), 200)
		b.wantText(`main .alert-success[role="status"]`, "Account collegati")
		r.check("the personal area after linking")
		r.finish()
	})
}

// demoLogin reads the password of a demo resident from what the demo printed.
func demoLogin(t *testing.T, d *demo, email string) (string, string) {
	t.Helper()
	m := regexp.MustCompile(`password login: ` + regexp.QuoteMeta(email) + ` / (\S+)`).FindStringSubmatch(d.Stdout())
	if m == nil {
		t.Fatalf("the demo no longer prints a password login for %s; its output:\n%s", email, d.Stdout())
	}
	return email, m[1]
}

// finding is one violation on one element, with the pages it is on.
type finding struct {
	rule  axeRule
	node  axeNode
	pages []string
}

// axeRun runs axe-core on the pages one browser shows, collects what it
// finds, and reports it at the end (finish).
type axeRun struct {
	t     *testing.T
	b     *browser
	axeJS string
	start time.Time

	findings          map[string]*finding
	order             []string            // keys of findings, first seen first
	review            map[string][]string // rule: "page element"
	version           string
	checked           map[string]bool // the addresses of the HTML pages checked
	runs              int             // pages checked (a form's answer may share its address)
	reached           []string        // those reached by a form or a script, not by an address
	broken, files     []string
	loading, checking time.Duration
	passed            int // rules passed, summed over the pages
}

func newAxeRun(t *testing.T, b *browser, axeJS string) *axeRun {
	return &axeRun{t: t, b: b, axeJS: axeJS, start: time.Now(), findings: map[string]*finding{},
		review: map[string][]string{}, checked: map[string]bool{}}
}

// crawl visits the seeds and every page reachable from them by
// same-origin links, and runs axe-core on each.
func (r *axeRun) crawl(seeds []string) {
	t, b := r.t, r.b
	t.Helper()
	origins := map[string]bool{}
	var queue []string
	queued := map[string]bool{}
	enqueue := func(raw string) {
		u, ok := crawlable(raw, origins)
		if ok && !queued[u] {
			queued[u] = true
			queue = append(queue, u)
		}
	}
	for _, s := range seeds {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		origins[u.Scheme+"://"+u.Host] = true
	}
	seed := map[string]bool{}
	for _, s := range seeds {
		// A seed is visited as given, query included (the consent page is
		// reached through an authorization request), and checked even when
		// it is an error page on purpose.
		if _, ok := crawlable(s, origins); ok && !queued[s] {
			queued[s], seed[s] = true, true
			queue = append(queue, s)
		}
	}
	referrer := map[string]string{}
	visited := map[string]bool{} // every URL loaded
	for len(queue) > 0 {
		page := queue[0]
		queue = queue[1:]
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(page))
		cancel()
		r.loading += time.Since(t0)
		var loadErr *chromedp.LoadError
		switch {
		case errors.As(err, &loadErr) && loadErr.ErrorText == "net::ERR_ABORTED":
			r.files = append(r.files, shortURL(page)) // a download: not a page
			continue
		case err != nil:
			t.Fatalf("opening %s (linked from %s): %v", page, referrer[page], err)
		case resp == nil:
			t.Fatalf("opening %s: no response", page)
		case resp.Status >= 400 && !seed[page]:
			r.broken = append(r.broken, fmt.Sprintf("%s answers %d (linked from %s)", page, resp.Status, referrer[page]))
			continue
		}
		final, _ := crawlable(b.location(), origins)
		if final == "" || visited[final] {
			continue // redirected off-site or to a page already checked
		}
		visited[final] = true
		if ct := eval[string](b, `document.contentType`); ct != "text/html" {
			r.files = append(r.files, shortURL(page)+" ("+ct+")") // shown by the browser, but not a page
			continue
		}
		here, _, _ := strings.Cut(b.location(), "#")
		for _, link := range eval[[]string](b, `[...document.querySelectorAll("a[href]")].map(a => a.href)`) {
			if l, _, _ := strings.Cut(link, "#"); l == here {
				continue // a skip link or an anchor of this very page
			}
			if u, ok := crawlable(link, origins); ok && !queued[u] {
				referrer[u] = final
				enqueue(u)
			}
		}
		r.axe(final)
	}
}

// check runs axe-core on the page the browser shows now, which a form or
// a script led to (what names it in the log): the crawl cannot reach it
// by an address.
func (r *axeRun) check(what string) {
	r.t.Helper()
	if ct := eval[string](r.b, `document.contentType`); ct != "text/html" {
		r.t.Fatalf("%s: the browser shows %s (%s), not a page", what, r.b.location(), ct)
	}
	page, _, _ := strings.Cut(r.b.location(), "?")
	page, _, _ = strings.Cut(page, "#")
	r.reached = append(r.reached, what+" ("+shortURL(page)+")")
	r.axe(page)
}

// axe runs axe-core on the page the browser shows, recorded as page.
func (r *axeRun) axe(page string) {
	r.t.Helper()
	b := r.b
	r.checked[page] = true
	r.runs++
	t0 := time.Now()
	if !eval[bool](b, `typeof axe === "object"`) {
		run(b, "injecting axe-core", chromedp.Evaluate[chromedp.Void](r.axeJS))
	}
	res := evalAsync[axeResult](b, axeRunJS)
	r.checking += time.Since(t0)
	r.version = res.Version
	r.passed += res.Passed
	for _, v := range res.Violations {
		for _, n := range v.Nodes {
			key := v.ID + "\x00" + strings.Join(n.Target, ",") + "\x00" + n.HTML
			f := r.findings[key]
			if f == nil {
				f = &finding{rule: v, node: n}
				r.findings[key] = f
				r.order = append(r.order, key)
			}
			f.pages = append(f.pages, shortURL(page))
		}
	}
	for _, v := range res.Incomplete {
		for _, n := range v.Nodes {
			r.review[v.ID] = append(r.review[v.ID], shortURL(page)+" "+strings.Join(n.Target, ","))
		}
	}
}

// finish logs what was checked and fails the test with every violation,
// grouped by rule and element, and every broken link.
func (r *axeRun) finish() {
	t := r.t
	t.Helper()
	if len(r.checked) == 0 {
		t.Fatal("no page was checked")
	}
	version, checked, findings := r.version, r.checked, r.findings
	t.Logf("axe-core %s checked %d pages in %s (loading them %s, axe %s), %.1f rules passed per page on average; pages: %s",
		version, r.runs, time.Since(r.start).Round(100*time.Millisecond), r.loading.Round(100*time.Millisecond),
		r.checking.Round(100*time.Millisecond), float64(r.passed)/float64(r.runs), summarise(sortedKeys(checked)))
	if len(r.reached) > 0 {
		t.Logf("pages reached by a form or a script: %s", strings.Join(r.reached, "; "))
	}
	if len(r.files) > 0 {
		t.Logf("linked files, not checked: %s", strings.Join(r.files, " "))
	}
	if len(r.review) > 0 {
		t.Logf("axe-core could not decide on some elements (\"needs review\", not failed): %s", formatReview(r.review))
	}
	if len(r.broken) > 0 {
		t.Errorf("broken links:\n  %s", strings.Join(r.broken, "\n  "))
	}
	if len(findings) == 0 {
		return
	}
	report := func(full bool) string {
		var w strings.Builder
		fmt.Fprintf(&w, "axe-core %s found %d violations of WCAG 2.1 A/AA (rule on element) on the %d pages checked:\n", version, len(findings), r.runs)
		for _, key := range r.order {
			f := findings[key]
			pages := pagesList(f.pages, 8)
			if full {
				pages = pagesList(f.pages, 0)
			}
			fmt.Fprintf(&w, "\n- %s (%s): %s\n    element: %s\n    html:    %s\n    fix:     %s\n    pages:   %s\n    about:   %s\n",
				f.rule.ID, f.rule.Impact, f.rule.Help, strings.Join(f.node.Target, ", "), shorten(f.node.HTML, 300),
				strings.ReplaceAll(strings.TrimSpace(f.node.Summary), "\n", "\n             "), pages, f.rule.HelpURL)
		}
		return w.String()
	}
	saveArtifact(t, ".axe.txt", []byte(report(true)))
	t.Error(report(false))
}

// crawlable normalises a link and tells whether the crawl follows it: same
// origin as a seed, not a language switch, logout, static file or download.
func crawlable(raw string, origins map[string]bool) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || !origins[u.Scheme+"://"+u.Host] {
		return "", false
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	for _, prefix := range []string{"/lingua/", "/esci", "/static/"} {
		if strings.HasPrefix(p, prefix) {
			return "", false
		}
	}
	if strings.HasSuffix(p, ".json") {
		return "", false
	}
	// The query (?next=..., ?valutazione=...) does not make another page.
	return u.Scheme + "://" + u.Host + p, true
}

func shortURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Host + p.Path
}

// pagesList names the pages, or the first max of them and how many more
// (max 0: all).
func pagesList(pages []string, max int) string {
	pages = slices.Compact(slices.Sorted(slices.Values(pages)))
	if max == 0 || len(pages) <= max {
		return strings.Join(pages, " ")
	}
	return fmt.Sprintf("%s and %d more (%d pages)", strings.Join(pages[:max], " "), len(pages)-max, len(pages))
}

// summarise lists pages by origin and path, folding the pages below a
// section: "127.0.0.1:8080/servizi (+15 below)".
func summarise(urls []string) string {
	below := map[string]int{}
	var tops []string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		top := u.Path
		if i := strings.Index(u.Path[1:], "/"); i >= 0 {
			top = u.Path[:i+1]
			below[u.Host+top]++
		}
		if top = u.Host + top; !slices.Contains(tops, top) {
			tops = append(tops, top)
		}
	}
	var parts []string
	for _, top := range tops {
		if n := below[top]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s (+%d below)", top, n))
		} else {
			parts = append(parts, top)
		}
	}
	return strings.Join(parts, " ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatReview lists the rules axe-core could not decide, with the first
// few pages and elements of each.
func formatReview(m map[string][]string) string {
	var parts []string
	for _, rule := range sortedKeys(m) {
		where := m[rule]
		more := ""
		if len(where) > 5 {
			where, more = where[:5], fmt.Sprintf(" and %d more", len(m[rule])-5)
		}
		parts = append(parts, fmt.Sprintf("%s on %d elements (%s%s)", rule, len(m[rule]), strings.Join(where, "; "), more))
	}
	return strings.Join(parts, ", ")
}
