package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// A visitor opens the home page, goes to Servizi through the main menu,
// opens a category, and switches the site to English and back.
func TestBrowse(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)

	b.open(d.Portal+"/", 200)
	b.wantText("main h1", "Comune di Cinisello Balsamo")
	if lang := eval[string](b, `document.documentElement.lang`); lang != "it" {
		t.Fatalf("home page: <html lang=%q>, want it", lang)
	}
	// C.SI.1.2 as the national validator checks it in its browser: the
	// computed --bootstrap-italia-version, double quotes stripped, is a version.
	if v := eval[string](b, `getComputedStyle(document.body).getPropertyValue('--bootstrap-italia-version').trim().replace(/"/g, '')`); !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("the validator reads the Bootstrap Italia version %q, want a version number", v)
	}

	clickAndLoad(b, `clicking "Servizi" in the main menu`,
		`//nav//ul[@data-element="main-navigation"]//a[normalize-space(.)="Servizi"]`, 200)
	if p := b.path(); p != "/servizi" {
		t.Fatalf("the menu entry Servizi led to %s, want /servizi", p)
	}
	b.wantText("main h1", "Servizi")
	if cur := eval[string](b, `document.querySelector('[data-element="main-navigation"] a[aria-current="page"]')?.textContent.trim() ?? ""`); cur != "Servizi" {
		t.Errorf("on /servizi the main menu marks %q as the current page, want Servizi", cur)
	}

	const category = "Anagrafe e stato civile"
	clickAndLoad(b, `clicking the category "`+category+`"`,
		`//main//a[@data-element="service-category-link"][normalize-space(.)="`+category+`"]`, 200)
	categoryPath := b.path()
	if !strings.HasPrefix(categoryPath, "/servizi/") {
		t.Fatalf("the category link led to %s, want a page under /servizi/", categoryPath)
	}
	b.wantText("main h1", category)
	b.wantText(`[data-element="breadcrumb"]`, "Servizi")

	// English, on the same page.
	clickAndLoad(b, `clicking "English" in the header`, `//header//a[@hreflang="en"]`, 200)
	if lang := eval[string](b, `document.documentElement.lang`); lang != "en" {
		t.Fatalf("after choosing English: <html lang=%q>, want en", lang)
	}
	if p := b.path(); p != categoryPath {
		t.Errorf("after choosing English the page is %s, want to stay on %s", p, categoryPath)
	}
	b.wantText("main h1", category) // the national category names stay Italian
	b.wantText(`[data-element="breadcrumb"]`, "Home")

	// And back to Italian.
	clickAndLoad(b, `clicking "Italiano" in the header`, `//header//a[@hreflang="it"]`, 200)
	if lang := eval[string](b, `document.documentElement.lang`); lang != "it" {
		t.Fatalf("after choosing Italiano: <html lang=%q>, want it", lang)
	}
	if p := b.path(); p != categoryPath {
		t.Errorf("after choosing Italiano the page is %s, want to stay on %s", p, categoryPath)
	}
}

// A visitor without JavaScript rates a page's clarity with 2 stars: the
// question about what went wrong appears (CSS :has, no script), they pick a
// reason, add a comment and send it, and are thanked.
func TestClarityRatingWithoutJavaScript(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	const page = "/servizi"
	b.open(d.Portal+page, 200)
	if !b.scripting() {
		t.Fatal("the check for JavaScript says it is off before it was turned off")
	}
	b.scriptsOff()
	b.open(d.Portal+page, 200)
	if b.scripting() {
		t.Fatal("JavaScript is still on in the page")
	}
	b.wantText(`[data-element="feedback-title"]`, "Quanto sono chiare le informazioni su questa pagina?")
	if b.displayed(".feedback-negative") || b.displayed(".feedback-positive") {
		t.Fatal("before a star is chosen, the follow-up questions are already shown")
	}

	b.step("choosing 2 stars", chromedp.Click(chromedp.CSS(`label[for="rate2"]`), chromedp.NodeVisible))
	if !eval[bool](b, `document.getElementById("rate2").checked`) {
		t.Fatal("clicking the label of the second star did not select 2 stars")
	}
	if !b.displayed(".feedback-negative") {
		t.Fatal("after choosing 2 stars the question \"Dove hai incontrato le maggiori difficoltà?\" is not shown")
	}
	if b.displayed(".feedback-positive") {
		t.Fatal("after choosing 2 stars the question about what went well is shown too")
	}
	b.wantText(`.feedback-negative legend`, "Dove hai incontrato le maggiori difficoltà?")

	const reason = "A volte le indicazioni non erano complete"
	b.step("picking a reason", chromedp.Click(
		`//fieldset[@data-element="feedback-rating-negative"]//label[normalize-space(.)="`+reason+`"]`, chromedp.NodeVisible))
	if got := eval[string](b, `document.querySelector('input[name="reason"]:checked')?.value ?? ""`); got != reason {
		t.Fatalf("the chosen reason is %q, want %q", got, reason)
	}
	b.step("typing a comment", chromedp.SendKeys(chromedp.CSS("#feedback-comment"), "Mancano gli orari dello sportello"))

	clickAndLoad(b, "sending the rating", chromedp.CSS(`.feedback-form button[type="submit"]`), 200)
	if p := b.path(); !strings.HasPrefix(p, page+"?") {
		t.Errorf("after sending, the page is %s, want %s again", p, page)
	}
	b.wantText(`#feedback .alert-success[role="status"]`, "Grazie, la tua valutazione ci aiuterà a migliorare il servizio.")
}

// displayed tells whether the first element matching css is rendered
// (display is not none on it and its ancestors).
func (b *browser) displayed(css string) bool {
	b.t.Helper()
	return eval[bool](b, `(() => { const e = document.querySelector(`+strconv.Quote(css)+`);
		if (!e) throw new Error("no element matches `+css+`");
		return e.getClientRects().length > 0; })()`)
}

// scripting tells whether the page runs scripts: with scripting off, the
// HTML parser reads the content of <noscript> as markup.
func (b *browser) scripting() bool {
	b.t.Helper()
	return eval[bool](b, `(() => { const d = document.createElement("div");
		d.innerHTML = "<noscript><p>x</p></noscript>";
		return d.querySelector("noscript p") === null; })()`)
}

// A resident registers with a password. The address comes first: a wrong
// one is refused with the message beside the field and the answer kept; the
// mail's link leads to the names and the password (a mismatch is refused
// the same way), and the resident lands in their personal area, which says
// that a password login proves no fiscal code.
func TestRegisterWithPassword(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	const (
		given    = "Giuseppe"
		family   = "Verdi"
		email    = "giuseppe.verdi@example.invalid"
		wrong    = "giuseppe.verdi@"
		password = "Lampione-Viola-di-sera-42"
	)

	b.open(d.Portal+"/registrati", 200)
	b.wantText("main h1", "Registrati")
	if n := eval[int](b, `document.querySelectorAll("#f-fiscal_code").length`); n != 0 {
		t.Error("the registration form still asks for a fiscal code: only a card, SPID or CIE prove one")
	}
	b.step("typing a wrong address", chromedp.SendKeys(chromedp.CSS("#f-email"), wrong))
	b.clickBox("ticking the privacy box", `label[for="f-privacy"]`)
	if !eval[bool](b, `document.getElementById("f-privacy").checked`) {
		t.Fatal("clicking the privacy box did not tick it")
	}
	clickAndLoad(b, "sending the form with a wrong address", chromedp.CSS(`main form button[type="submit"]`), 422)
	b.wantText(`main .alert-danger[role="alert"]`, "Alcuni campi non sono corretti")
	b.wantText("#f-email-error", "Scrivi un indirizzo email valido")
	wantErrorBeside(t, b, "f-email", wrong)
	if !eval[bool](b, `document.getElementById("f-privacy").checked`) {
		t.Error("after the error, the privacy box is no longer ticked")
	}

	b.step("correcting the address",
		chromedp.Clear(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
	)
	clickAndLoad(b, "sending the corrected form", chromedp.CSS(`main form button[type="submit"]`), 200)
	b.wantText(`main .alert-success[role="status"]`, "riceverai a breve un messaggio")

	msg := d.waitMail(t, 1)
	if len(msg.To) != 1 || msg.To[0] != email {
		t.Fatalf("the registration mail went to %v, want %s", msg.To, email)
	}
	if !strings.Contains(msg.Subject, "Completa la registrazione") {
		t.Errorf("the registration mail's subject is %q", msg.Subject)
	}
	link, err := linkIn(msg.Text, d.Portal+"/registrati/completa?token=")
	if err != nil {
		t.Fatalf("the registration mail: %v\n%s", err, msg.Text)
	}

	b.open(link, 200)
	b.wantText("main h1", "Completa la registrazione")
	b.wantText("main .lead", email)
	b.step("choosing names and two different passwords",
		chromedp.SendKeys(chromedp.CSS("#f-given_name"), given),
		chromedp.SendKeys(chromedp.CSS("#f-family_name"), family),
		chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		chromedp.SendKeys(chromedp.CSS("#f-password2"), password+"!"),
	)
	clickAndLoad(b, "sending two different passwords", chromedp.CSS(`main form button[type="submit"]`), 422)
	b.wantText("#f-password2-error", "Le due password non coincidono")
	wantErrorBeside(t, b, "f-password2", "")
	for id, want := range map[string]string{"f-given_name": given, "f-family_name": family, "f-password": ""} {
		if got := eval[string](b, `document.getElementById("`+id+`").value`); got != want {
			t.Errorf("after the error, #%s holds %q, want %q", id, got, want)
		}
	}
	b.step("typing the password twice",
		chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		chromedp.SendKeys(chromedp.CSS("#f-password2"), password),
	)
	clickAndLoad(b, "creating the account", chromedp.CSS(`main form button[type="submit"]`), 200)
	if p := b.path(); p != "/profilo?benvenuto=1" {
		t.Fatalf("after registering the page is %s, want the personal area", p)
	}
	b.wantText(`main .alert-success[role="status"]`, "Benvenuto")
	b.wantText("main .lead", "Ciao "+given+" "+family+".")
	b.wantText(`header [data-element="personal-area-login"]`, given+" "+family)
	b.wantText("main dl", email)
	b.wantText("main dl", "Non verificato in questo accesso")

	// Logged out, the personal area asks for a login and comes back after it.
	clickAndLoad(b, "logging out", `//main//form[@action="/esci"]//button`, 200)
	b.open(d.Portal+"/profilo", 200)
	if p := b.path(); !strings.HasPrefix(p, "/accedi?") {
		t.Fatalf("/profilo without a session shows %s, want the login page", p)
	}
	b.step("typing email and password",
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), password),
	)
	clickAndLoad(b, "logging in", `//main//form[@action="/accedi"]//button[normalize-space(.)="Accedi"]`, 200)
	if p := b.path(); p != "/profilo" {
		t.Fatalf("after logging in the page is %s, want /profilo", p)
	}
}

// wantErrorBeside checks that a field with an error is tied to it
// (aria-invalid, aria-describedby), that the message follows the field, and
// that the field keeps value.
func wantErrorBeside(t *testing.T, b *browser, id, value string) {
	t.Helper()
	type fieldState struct {
		Invalid, DescribedBy, Value string
		ErrorBeside                 bool
	}
	st := eval[fieldState](b, `(() => { const f = document.getElementById("`+id+`"), e = document.getElementById("`+id+`-error");
		return {Invalid: f.getAttribute("aria-invalid") ?? "", DescribedBy: f.getAttribute("aria-describedby") ?? "", Value: f.value,
			ErrorBeside: !!e && e.parentElement === f.parentElement && !!(f.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING)}; })()`)
	if st.Invalid != "true" || !strings.Contains(" "+st.DescribedBy+" ", " "+id+"-error ") || !st.ErrorBeside {
		t.Errorf("#%s is not tied to its error: aria-invalid=%q aria-describedby=%q, error right after the field: %v",
			id, st.Invalid, st.DescribedBy, st.ErrorBeside)
	}
	if st.Value != value {
		t.Errorf("#%s holds %q after the error, want %q", id, st.Value, value)
	}
}

// focusState describes the focused element after a key press.
type focusState struct {
	Desc     string // tag, text and target, for messages
	Path     string // where it is in the document, to tell elements apart
	Footer   bool   // inside <footer>
	LastLink bool   // the last link of the page
	OnScreen bool   // the element showing the focus is in the viewport, with a size
	// Indicator lists the visible outlines and box-shadows of the element
	// showing the focus and its descendants ("" when none).
	Indicator string
	// PrevIndicator is the same for the previous focused element, now that
	// it has lost focus.
	PrevIndicator string
}

// focusJS reads focusState, after the focus styles' transitions ended.
// The element showing the focus is the focused one, or the label of a
// control hidden off screen (the rating's stars are labels of radio
// buttons moved out of view).
const focusJS = `(async () => {
	const visibleColor = c => !/^rgba\(.*,\s*0\)$/.test(c) && c !== "transparent";
	const layers = v => v.split(/,(?![^(]*\))/).map(x => x.trim());
	const shadowVisible = v => v !== "none" && layers(v).some(l => {
		const color = (l.match(/rgba?\([^)]*\)/) || ["rgb(0, 0, 0)"])[0];
		const sizes = l.replace(/rgba?\([^)]*\)/, "").match(/-?[\d.]+px/g) || [];
		return visibleColor(color) && sizes.some(x => parseFloat(x) !== 0); });
	const indicator = el => [el, ...el.querySelectorAll("*")].slice(0, 30).map(n => {
		const s = getComputedStyle(n), out = [];
		if (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0 && visibleColor(s.outlineColor))
			out.push(n.tagName.toLowerCase() + " outline " + s.outlineStyle + " " + s.outlineWidth + " " + s.outlineColor);
		if (shadowVisible(s.boxShadow)) out.push(n.tagName.toLowerCase() + " box-shadow " + s.boxShadow);
		return out.join("; "); }).filter(x => x).join("; ");
	const onScreen = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
		return r.width > 2 && r.height > 2 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight &&
			s.visibility !== "hidden" && parseFloat(s.opacity) > 0; };
	const e = document.activeElement;
	let ind = e;
	if (e && e.labels && e.labels.length && !onScreen(e)) ind = e.labels[0];
	const prevEl = window.__civicoE2EPrev && window.__civicoE2EPrev.isConnected ? window.__civicoE2EPrev : null;
	// Let the focus styles' transitions and the (smooth) scrolling to the
	// focused element end, for at most a second.
	const sleep = ms => new Promise(r => setTimeout(r, ms));
	const anims = [ind, prevEl].filter(n => n).flatMap(n => [n, ...n.querySelectorAll("*")]).flatMap(n => n.getAnimations());
	await Promise.race([Promise.all(anims.map(a => a.finished.catch(() => null))), sleep(1000)]);
	for (let i = 0, y = -1; i < 20 && y !== scrollY; i++) { y = scrollY; await sleep(50); }
	const prev = prevEl ? indicator(prevEl) : "";
	if (!e || e === document.body || e === document.documentElement) {
		window.__civicoE2EPrev = null;
		return {Desc: "(nothing: the page has no focus)", PrevIndicator: prev};
	}
	window.__civicoE2EPrev = ind;
	const path = []; for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
		let i = 1; for (let s = n.previousElementSibling; s; s = s.previousElementSibling) i++;
		path.unshift(n.tagName.toLowerCase() + ":" + i); }
	const links = document.querySelectorAll("a[href]");
	const text = (e.innerText || e.value || e.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ").slice(0, 60);
	const target = e.getAttribute("href") || e.id || e.name || "";
	return {Desc: "<" + e.tagName.toLowerCase() + "> \"" + text + "\"" + (target ? " (" + target + ")" : ""), Path: path.join("/"),
		Footer: !!e.closest("footer"), LastLink: links.length > 0 && e === links[links.length - 1],
		OnScreen: onScreen(ind), Indicator: indicator(ind), PrevIndicator: prev};
})()`

// A keyboard user tabs through the home page: the first stop is the skip
// link, every stop shows where the focus is, and the focus reaches the
// footer's links without being trapped.
func TestKeyboardOnly(t *testing.T) {
	requireE2E(t)
	d := startDemo(t)
	b := newBrowser(t)
	b.open(d.Portal+"/", 200)

	tabbable := eval[int](b, `[...document.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]')]
		.filter(e => e.tabIndex >= 0 && !e.disabled).length`)
	limit := tabbable + 10
	tab := func() focusState {
		t.Helper()
		b.step("pressing Tab", chromedp.KeyEvent("\t"))
		return evalAsync[focusState](b, focusJS)
	}

	first := tab()
	if !strings.Contains(first.Desc, "Vai al contenuto") || !strings.Contains(first.Desc, "#main-container") {
		t.Fatalf("the first Tab focuses %s, want the skip link \"Vai al contenuto\" (#main-container)", first.Desc)
	}
	var seq []string
	seen := map[string]int{}
	var prev focusState
	cur := first
	for presses := 1; ; presses++ {
		if cur.Path == "" {
			t.Fatalf("after %d presses of Tab the focus left the page before reaching the footer's links; the stops were:\n  %s",
				presses, strings.Join(seq, "\n  "))
		}
		seq = append(seq, cur.Desc)
		t.Logf("Tab stop %d: %s; focus shown by: %s", presses, cur.Desc, cur.Indicator)
		if !cur.OnScreen {
			t.Errorf("Tab stop %d, %s, is not visible on screen while focused", presses, cur.Desc)
		}
		if cur.Indicator == "" {
			t.Errorf("Tab stop %d, %s, has no visible focus indicator (no outline, no box-shadow, on it or inside it)", presses, cur.Desc)
		}
		if n, ok := seen[cur.Path]; ok {
			t.Fatalf("focus trap: Tab stop %d, %s, was already stop %d; the stops were:\n  %s",
				presses, cur.Desc, n, strings.Join(seq, "\n  "))
		}
		seen[cur.Path] = presses
		if cur.Footer && cur.LastLink {
			t.Logf("the last footer link, %s, is reached after %d presses of Tab (%d tabbable elements)", cur.Desc, presses, tabbable)
			break
		}
		if presses >= limit {
			t.Fatalf("after %d presses of Tab (the page has %d tabbable elements) the focus has not reached the footer's last link; the stops were:\n  %s",
				presses, tabbable, strings.Join(seq, "\n  "))
		}
		prev, cur = cur, tab()
		// The indicator must come with the focus, not be there all along.
		if prev.Indicator != "" && cur.PrevIndicator == prev.Indicator {
			t.Errorf("Tab stop %d, %s, looks the same with and without focus (%s)", presses, prev.Desc, prev.Indicator)
		}
	}

	// The skip link works: Enter on it, and the next Tab lands in <main>.
	b.open(d.Portal+"/", 200)
	if s := tab(); !strings.Contains(s.Desc, "Vai al contenuto") {
		t.Fatalf("the first Tab focuses %s, want the skip link", s.Desc)
	}
	b.step("pressing Enter on the skip link", chromedp.KeyEvent("\r"))
	if h := eval[string](b, `location.hash`); h != "#main-container" {
		t.Errorf("Enter on the skip link leads to %q, want #main-container", h)
	}
	b.step("pressing Tab", chromedp.KeyEvent("\t"))
	if !eval[bool](b, `!!document.activeElement.closest("main")`) {
		t.Errorf("after the skip link, Tab focuses %s, want an element inside <main>", evalAsync[focusState](b, focusJS).Desc)
	}
}

// scriptsOff turns JavaScript off in the tab, for every page it opens next.
func (b *browser) scriptsOff() {
	b.t.Helper()
	b.step("turning JavaScript off", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
}

// block keeps the tab from loading what matches pattern (URLPattern
// syntax, an absolute address), from now on.
func (b *browser) block(pattern string) {
	b.t.Helper()
	b.step("blocking "+pattern, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: pattern, Block: true}}})
		return err
	}))
}

// field is a form field a stranger adds to a page's form before sending
// it: anyone can post fields a form does not have.
type field struct{ name, value string }

// forge adds hidden fields to the form matching css.
func (b *browser) forge(css string, fields ...field) {
	b.t.Helper()
	for _, f := range fields {
		if !eval[bool](b, `(() => { const form = document.querySelector(`+strconv.Quote(css)+`); if (!form) return false;
			const i = document.createElement("input"); i.type = "hidden"; i.name = `+strconv.Quote(f.name)+`; i.value = `+strconv.Quote(f.value)+`;
			form.appendChild(i); return true; })()`) {
			b.t.Fatalf("no form %s on %s to add the field %s to", css, b.location(), f.name)
		}
	}
}

// wantNoFiscalCodeField fails the test when a form of the page asks for a
// fiscal code: only a card (later SPID or CIE) proves one.
func wantNoFiscalCodeField(t *testing.T, b *browser, what string) {
	t.Helper()
	if n := eval[int](b, `document.querySelectorAll('main form [name="fiscal_code"], main #f-fiscal_code').length +
		[...document.querySelectorAll("main form label")].filter(l => /codice fiscale/i.test(l.textContent)).length`); n != 0 {
		t.Fatalf("%s (%s) asks for a fiscal code: a password account never carries one", what, b.location())
	}
}

// requestRegistration asks, in b, for the registration of addr (the form
// asks only the address), and returns the link of the mail the demo sends
// there. forged fields, which the form does not have, are added to it
// first.
func requestRegistration(b *browser, d *demo, addr string, forged ...field) string {
	t := b.t
	t.Helper()
	b.open(d.Portal+"/registrati", 200)
	wantNoFiscalCodeField(t, b, "the registration form")
	b.step("typing the address "+addr, chromedp.SendKeys(chromedp.CSS("#f-email"), addr))
	b.clickBox("ticking the privacy box", `label[for="f-privacy"]`)
	b.forge(`main form[action="/registrati"]`, forged...)
	clickAndLoad(b, "asking to register "+addr, chromedp.CSS(`main form[action="/registrati"] button[type="submit"]`), 200)
	b.wantText(`main .alert-success[role="status"]`, "riceverai a breve un messaggio")
	msg := d.mailTo(t, addr)
	if len(msg.To) != 1 {
		t.Fatalf("the registration mail for %s went to %v", addr, msg.To)
	}
	link, err := linkIn(msg.Text, d.Portal+"/registrati/completa?token=")
	if err != nil {
		t.Fatalf("the registration mail to %s: %v\n%s", addr, err, msg.Text)
	}
	return link
}

// completeRegistration follows a registration mail's link in b, chooses
// names and password, and checks that the new account's personal area
// opens. forged fields are added to the form first.
func completeRegistration(b *browser, link, given, family, password string, forged ...field) {
	t := b.t
	t.Helper()
	b.open(link, 200)
	b.wantText("main h1", "Completa la registrazione")
	wantNoFiscalCodeField(t, b, "the completion of a registration")
	b.step("choosing names and password",
		chromedp.SendKeys(chromedp.CSS("#f-given_name"), given),
		chromedp.SendKeys(chromedp.CSS("#f-family_name"), family),
		chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		chromedp.SendKeys(chromedp.CSS("#f-password2"), password),
	)
	b.forge(`main form[action="/registrati/completa"]`, forged...)
	clickAndLoad(b, "creating the account", chromedp.CSS(`main form[action="/registrati/completa"] button[type="submit"]`), 200)
	if p := b.path(); p != "/profilo?benvenuto=1" {
		t.Fatalf("after completing the registration the page is %s, want the personal area", p)
	}
	b.wantText("main .lead", "Ciao "+given+" "+family+".")
}

// passwordLogin logs in at base+"/accedi" with email and password; the
// answer has status want.
func passwordLogin(b *browser, base, email, password string, want int64) {
	b.t.Helper()
	b.open(base+"/accedi", 200)
	b.step("typing email and password",
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), password),
	)
	clickAndLoad(b, "logging in as "+email, `//main//form[@action="/accedi"]//button[@type="submit"]`, want)
}

// linkAccount sends the personal area's form that links a password
// account (the page must show it: a card login); the answer has status
// want.
func linkAccount(b *browser, email, password string, want int64) {
	b.t.Helper()
	b.step("typing the address and password of the account to link",
		chromedp.Clear(chromedp.CSS("#f-link_email")),
		chromedp.SendKeys(chromedp.CSS("#f-link_email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-link_password"), password),
	)
	clickAndLoad(b, "linking the account of "+email, chromedp.CSS(`main form[action="/profilo/collega"] button[type="submit"]`), want)
}

// followLinkMail takes the linking link the demo mailed to email and
// follows it by logging in again with the card that asked (the browser's),
// which brings b to the confirmation page.
func followLinkMail(b *browser, d *demo, email string) {
	t := b.t
	t.Helper()
	msg := d.mailTo(t, email)
	link, err := linkIn(msg.Text, d.Portal+"/profilo/collega/conferma?token=")
	if err != nil {
		t.Fatalf("the linking mail to %s: %v\n%s", email, err, msg.Text)
	}
	b.open(d.TLS+"/login/crs?"+url.Values{"next": {strings.TrimPrefix(link, d.Portal)}}.Encode(), 200)
	if p := b.path(); !strings.HasPrefix(p, "/profilo/collega/conferma?token=") {
		t.Fatalf("following the linking link with the card ends on %s", p)
	}
	b.wantText("main", email)
}

// me is what /api/v1/me says about the session.
type me struct {
	ID         string            `json:"id"`
	FiscalCode string            `json:"fiscal_code"`
	GivenName  string            `json:"given_name"`
	FamilyName string            `json:"family_name"`
	Email      string            `json:"email"`
	Assurance  string            `json:"assurance"`
	Method     string            `json:"method"`
	Sources    map[string]string `json:"sources"`
	raw        string
}

// readMe opens base+"/api/v1/me" in b, which must be logged in.
func readMe(b *browser, base string) me {
	b.t.Helper()
	b.open(base+"/api/v1/me", 200)
	var m me
	m.raw = strings.Join(strings.Fields(eval[string](b, `document.body.innerText`)), " ")
	if err := json.Unmarshal([]byte(m.raw), &m); err != nil {
		b.t.Fatalf("%s/api/v1/me is not JSON: %v\n%s", base, err, m.raw)
	}
	return m
}
