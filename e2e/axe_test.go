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
// visitor and for a logged-in resident.
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

	// The two crawls run side by side, each in a browser of its own.
	t.Run("logged out", func(t *testing.T) {
		t.Parallel()
		b := newBrowser(t)
		checkPages(t, b, axeJS, seeds)
	})

	t.Run("logged in", func(t *testing.T) {
		t.Parallel()
		email, password := demoLogin(t, d, demoResidentEmail)
		b := newBrowser(t)
		b.open(d.Portal+"/accedi", 200)
		b.step("typing email and password",
			chromedp.SendKeys(chromedp.CSS("#f-email"), email),
			chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		)
		clickAndLoad(b, "logging in as "+email, `//main//form[@action="/accedi"]//button[@type="submit"]`, 200)
		b.wantText(`header [data-element="personal-area-login"]`, demoResidentName)
		// The consent page of single sign-on, for the demo's example
		// third-party application.
		consent := d.Portal + "/oidc/authorize?" + url.Values{"client_id": {"esempio-biblioteca"}, "redirect_uri": {"http://127.0.0.1:5556/callback"},
			"response_type": {"code"}, "scope": {"openid profile email residence"}, "state": {"axe"}}.Encode()
		// The page that asks before a logout an application requested;
		// first, since the crawl checks one page per path and the logout's
		// error page has the same.
		logout := d.Portal + "/oidc/end_session?" + url.Values{"client_id": {"partecipa"}, "post_logout_redirect_uri": {d.Partecipa + "/"}}.Encode()
		checkPages(t, b, axeJS, append([]string{logout}, append(slices.Clone(seeds), consent)...))
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

// checkPages crawls from seeds along same-origin links, runs axe-core on
// every page and fails the test with every violation, grouped by rule and
// element.
func checkPages(t *testing.T, b *browser, axeJS string, seeds []string) {
	t.Helper()
	start := time.Now()
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
	findings := map[string]*finding{}
	var order []string
	var broken, files []string
	review := map[string][]string{} // rule: "page element"
	version := ""
	visited := map[string]bool{} // every URL loaded
	checked := map[string]bool{} // the HTML pages among them
	var loading, checking time.Duration
	passed := 0
	for len(queue) > 0 {
		page := queue[0]
		queue = queue[1:]
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(page))
		cancel()
		loading += time.Since(t0)
		var loadErr *chromedp.LoadError
		switch {
		case errors.As(err, &loadErr) && loadErr.ErrorText == "net::ERR_ABORTED":
			files = append(files, shortURL(page)) // a download: not a page
			continue
		case err != nil:
			t.Fatalf("opening %s (linked from %s): %v", page, referrer[page], err)
		case resp == nil:
			t.Fatalf("opening %s: no response", page)
		case resp.Status >= 400 && !seed[page]:
			broken = append(broken, fmt.Sprintf("%s answers %d (linked from %s)", page, resp.Status, referrer[page]))
			continue
		}
		final, _ := crawlable(b.location(), origins)
		if final == "" || visited[final] {
			continue // redirected off-site or to a page already checked
		}
		visited[final] = true
		if ct := eval[string](b, `document.contentType`); ct != "text/html" {
			files = append(files, shortURL(page)+" ("+ct+")") // shown by the browser, but not a page
			continue
		}
		checked[final] = true
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
		t0 = time.Now()
		if !eval[bool](b, `typeof axe === "object"`) {
			run(b, "injecting axe-core", chromedp.Evaluate[chromedp.Void](axeJS))
		}
		res := evalAsync[axeResult](b, axeRunJS)
		checking += time.Since(t0)
		version = res.Version
		passed += res.Passed
		for _, v := range res.Violations {
			for _, n := range v.Nodes {
				key := v.ID + "\x00" + strings.Join(n.Target, ",") + "\x00" + n.HTML
				f := findings[key]
				if f == nil {
					f = &finding{rule: v, node: n}
					findings[key] = f
					order = append(order, key)
				}
				f.pages = append(f.pages, shortURL(final))
			}
		}
		for _, v := range res.Incomplete {
			for _, n := range v.Nodes {
				review[v.ID] = append(review[v.ID], shortURL(final)+" "+strings.Join(n.Target, ","))
			}
		}
	}
	if len(checked) == 0 {
		t.Fatal("no page was checked")
	}
	t.Logf("axe-core %s checked %d pages in %s (loading them %s, axe %s), %.1f rules passed per page on average; pages: %s",
		version, len(checked), time.Since(start).Round(100*time.Millisecond), loading.Round(100*time.Millisecond),
		checking.Round(100*time.Millisecond), float64(passed)/float64(len(checked)), summarise(sortedKeys(checked)))
	if len(files) > 0 {
		t.Logf("linked files, not checked: %s", strings.Join(files, " "))
	}
	if len(review) > 0 {
		t.Logf("axe-core could not decide on some elements (\"needs review\", not failed): %s", formatReview(review))
	}
	if len(broken) > 0 {
		t.Errorf("broken links:\n  %s", strings.Join(broken, "\n  "))
	}
	if len(findings) == 0 {
		return
	}
	report := func(full bool) string {
		var r strings.Builder
		fmt.Fprintf(&r, "axe-core %s found %d violations of WCAG 2.1 A/AA (rule on element) on the %d pages checked:\n", version, len(findings), len(checked))
		for _, key := range order {
			f := findings[key]
			pages := pagesList(f.pages, 8)
			if full {
				pages = pagesList(f.pages, 0)
			}
			fmt.Fprintf(&r, "\n- %s (%s): %s\n    element: %s\n    html:    %s\n    fix:     %s\n    pages:   %s\n    about:   %s\n",
				f.rule.ID, f.rule.Impact, f.rule.Help, strings.Join(f.node.Target, ", "), shorten(f.node.HTML, 300),
				strings.ReplaceAll(strings.TrimSpace(f.node.Summary), "\n", "\n             "), pages, f.rule.HelpURL)
		}
		return r.String()
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
