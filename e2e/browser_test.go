package e2e

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// browserPath is the Chromium the journeys drive: Debian's, unless
// CIVICO_E2E_CHROMIUM names another.
func browserPath() string {
	if p := os.Getenv("CIVICO_E2E_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// stepTimeout bounds every browser step of a journey: a page that never
// loads (or a certificate dialog nobody answers) fails the test instead of
// hanging it. A minute, not less: the parallel journeys share two cores
// with argon2 hashing, and a step that waited 30 s on a loaded machine
// failed a run that was otherwise right.
const stepTimeout = time.Minute

// browser is a headless Chromium with a fresh profile, one tab, for one test.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab; lives until the end of the test
	log *syncBuffer     // what Chromium printed
}

type browserOptions struct {
	env []string // extra environment of the browser process (HOME for the NSS database)
}

type browserOption func(*browserOptions)

// withEnv adds variables to the browser's environment.
func withEnv(kv ...string) browserOption {
	return func(o *browserOptions) { o.env = append(o.env, kv...) }
}

// newBrowser starts Chromium for the test; it is closed at the end of the
// test, after a failing test's screenshot and page HTML are saved.
func newBrowser(t *testing.T, opts ...browserOption) *browser {
	t.Helper()
	var o browserOptions
	for _, opt := range opts {
		opt(&o)
	}
	exe := browserPath()
	if _, err := exec.LookPath(exe); err != nil {
		t.Fatalf("no browser at %s (%v): install Debian's chromium (apt-get install -y chromium) or set CIVICO_E2E_CHROMIUM", exe, err)
	}
	b := &browser{t: t, log: &syncBuffer{}}
	// A HOME of its own, so that nothing the browser keeps there (caches,
	// an NSS database) comes from or lands in the user's; withEnv may name
	// another.
	home, err := os.MkdirTemp("", "civico-e2e-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeLater(home) })
	o.env = append([]string{"HOME=" + home}, o.env...)
	// The flags Chromium needs on a closed network: without the
	// background-networking ones it waits for servers it cannot reach.
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 900),
		// Bootstrap Italia scrolls smoothly unless the person asked for
		// reduced motion: a click scrolls its element into view and
		// presses the mouse at its centre while the page still moves,
		// so the button gets the press and something else the release
		// (focus on the button, no click, no navigation: seen in CI on
		// a loaded machine).
		chromedp.Flag("force-prefers-reduced-motion", true),
		// An Italian resident's browser: Accept-Language it.
		chromedp.Flag("lang", "it-IT"),
		chromedp.Flag("accept-lang", "it-IT,it"),
		chromedp.CombinedOutput(b.log),
	}
	allocOpts = append(allocOpts, chromedp.Env(o.env...))
	// No user-data-dir flag: chromedp makes a fresh profile directory and
	// removes it when the browser ends.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// Cleanups run last-in first-out: this one runs while the tab is open.
	t.Cleanup(func() {
		if t.Failed() {
			b.saveArtifacts()
		}
	})
	// The first action starts the browser; it must run on a context without
	// a deadline, which would end the browser with it, so the wait for it
	// is bounded here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v\n%s", exe, err, b.log.tail(3000))
		}
	case <-time.After(60 * time.Second):
		cancelTab()
		cancelAlloc()
		t.Fatalf("%s did not start within 60 s (it waits for the network without --disable-background-networking)\n%s",
			exe, b.log.tail(3000))
	}
	// A link to a file (an iCalendar feed) is not saved anywhere: the
	// navigation to it ends with net::ERR_ABORTED.
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior,
		cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny}); err != nil {
		t.Fatalf("turning downloads off: %v", err)
	}
	if !eval[bool](b, `matchMedia("(prefers-reduced-motion: reduce)").matches`) {
		t.Fatal("the browser scrolls smoothly (no --force-prefers-reduced-motion): a click can miss while the page moves")
	}
	return b
}

// removeLater removes a directory the browser used; its helper processes
// may still be writing there for a moment after it closed.
func removeLater(dir string) {
	for range 50 {
		if os.RemoveAll(dir) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// step runs actions with the step timeout and stops the test when one fails.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (page: %s)", what, err, b.location())
	}
}

// run runs one action that returns a value, with the step timeout.
func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v (page: %s)", what, err, b.location())
	}
	return v
}

// eval evaluates a JavaScript expression in the page (through the DevTools
// protocol, so the page's Content-Security-Policy does not apply).
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	return run(b, "evaluating "+shorten(expr, 80), chromedp.Evaluate[T](expr))
}

// evalAsync evaluates an expression whose value is a promise, and returns
// what the promise resolves to.
func evalAsync[T any](b *browser, expr string) T {
	b.t.Helper()
	return run(b, "evaluating "+shorten(expr, 80), chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// open navigates to url and checks the HTTP status of the document.
func (b *browser) open(url string, wantStatus int64) {
	b.t.Helper()
	resp := run(b, "opening "+url, chromedp.NavigateResponse(url))
	if resp == nil {
		b.t.Fatalf("opening %s: no response", url)
	}
	if resp.Status != wantStatus {
		b.t.Fatalf("opening %s: status %d, want %d", url, resp.Status, wantStatus)
	}
}

// clickAndLoad clicks the element (CSS selector, or XPath as a plain
// string) and waits for the page it leads to, checking its status.
func clickAndLoad[S chromedp.Selectable](b *browser, what string, sel S, wantStatus int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel, chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("%s: %v (page: %s; %s)", what, err, b.location(), b.pageState())
	}
	if resp == nil {
		b.t.Fatalf("%s: no page loaded (page: %s)", what, b.location())
	}
	if resp.Status != wantStatus {
		b.t.Fatalf("%s: status %d, want %d (page: %s)", what, resp.Status, wantStatus, b.location())
	}
}

// clickBox clicks the start of an element's first line: on the label of a
// check box, the box Bootstrap Italia draws, away from any link in the
// label's text.
func (b *browser) clickBox(what, css string) {
	b.t.Helper()
	b.step(what+": scrolling to "+css, chromedp.ScrollIntoView(chromedp.CSS(css), chromedp.NodeVisible))
	type point struct{ X, Y float64 }
	p := eval[point](b, `(() => { const r = document.querySelector(`+strconv.Quote(css)+`).getBoundingClientRect();
		return {X: r.left + 10, Y: r.top + Math.min(12, r.height / 2)}; })()`)
	b.step(what, chromedp.MouseClickXY(p.X, p.Y))
}

// pageState says what a click that led nowhere may have hit: the page's
// load state and the focused element, for the failure's message.
func (b *browser) pageState() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`"readyState " + document.readyState + ", focus on " +
		(document.activeElement ? document.activeElement.outerHTML.slice(0, 160) : "nothing")`))
	if err != nil {
		return "state unknown: " + err.Error()
	}
	return s
}

// location is the tab's URL, or a note when it cannot be read.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// waitLocation waits until the tab shows want: a page that goes on by
// itself (a form its script submits) ends there.
func (b *browser) waitLocation(what, want string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		loc := b.location()
		if loc == want {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: the page is %s after %v, want %s", what, loc, stepTimeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// path is the path (and query) of the tab's URL.
func (b *browser) path() string {
	b.t.Helper()
	u, err := url.Parse(b.location())
	if err != nil {
		b.t.Fatalf("reading the location: %v", err)
	}
	return u.RequestURI()
}

// text is the rendered text (innerText) of the first element matching a CSS
// selector, waiting for it to be in the page.
func (b *browser) text(css string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "reading the text of "+css, chromedp.Text(chromedp.CSS(css), chromedp.NodeReady)))
}

// wantText fails the test unless the element's text contains want.
func (b *browser) wantText(css, want string) {
	b.t.Helper()
	if got := b.text(css); !strings.Contains(got, want) {
		b.t.Fatalf("%s on %s shows %q, want it to contain %q", css, b.location(), got, want)
	}
}

// saveArtifacts keeps a screenshot and the HTML of the page the test
// failed on.
func (b *browser) saveArtifacts() {
	shot := func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		return chromedp.Run(ctx, chromedp.CaptureScreenshot())
	}
	page := func() (string, error) {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		return chromedp.Run(ctx, chromedp.Evaluate[string](`"<!-- " + location.href + " -->\n" + document.documentElement.outerHTML`))
	}
	if png, err := shot(); err == nil {
		saveArtifact(b.t, ".png", png)
	} else {
		b.t.Logf("no screenshot: %v", err)
	}
	if html, err := page(); err == nil {
		saveArtifact(b.t, ".html", []byte(html))
	} else {
		b.t.Logf("no page HTML: %v", err)
	}
	saveArtifact(b.t, ".chromium.log", b.log.bytes())
}

// syncBuffer collects the browser's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

func (s *syncBuffer) tail(n int) string {
	b := s.bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
