package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// The payments journey of the demo's card holder, Luca Ferrari, who has
// notices to pay: in a browser with JavaScript he ticks the school canteen
// and the parking fine with the keyboard, pays both in one checkout on the
// sandbox's payment page, comes back to the outcome and downloads the
// receipt (axe-core checks each page on the way), then calculates his
// IMU, makes it payable and pays its two instalments together; in a browser without
// JavaScript he pays the school bus and the first TARI instalment the
// same way and downloads that receipt too. I miei pagamenti then lists
// the six as paid and the others still to pay.
func TestPayTwoNoticesInTheSandbox(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)

	pay := func(t *testing.T, b *browser, r *axeRun, first, second []string, total string) {
		t.Helper()
		b.open(d.TLS+"/area-personale/pagamenti", 200)
		b.wantText("main h1", "I miei pagamenti")
		if r != nil {
			r.check("I miei pagamenti")
		}
		for _, words := range [][]string{first, second} {
			id := noticeRow(b, words...)
			// Bootstrap Italia draws the box on the label: the keyboard
			// reaches the real check box.
			b.step("ticking "+strings.Join(words, " "), chromedp.Focus(chromedp.CSS("#pay-"+id)), chromedp.KeyEvent(" "))
			if !eval[bool](b, `document.getElementById("pay-`+id+`").checked`) {
				t.Fatalf("the space bar did not tick %s", strings.Join(words, " "))
			}
		}
		pressAndLoad(b, "paying the two notices", `button[data-element="pay-selected"]`, 200)
		if !strings.Contains(b.location(), "/sandbox-pagamenti/paga/") {
			t.Fatalf("the checkout led to %s, want the sandbox's payment page", b.location())
		}
		b.wantText("main", "€\u00a0"+total)
		if r != nil {
			r.check("the sandbox's payment page")
		}
		pressAndLoad(b, "paying on the sandbox", `button[name="esito"][value="paid"]`, 200)
		if !strings.HasPrefix(b.location(), d.TLS+"/area-personale/pagamenti/esito/") {
			t.Fatalf("after the payment the page is %s, want the outcome on %s", b.location(), d.TLS)
		}
		b.wantText(`[data-outcome="paid"]`, total)
		if n := eval[int](b, `document.querySelectorAll('main a[data-element="receipt-link"]').length`); n != 2 {
			t.Fatalf("the outcome links %d receipts, want 2", n)
		}
		if r != nil {
			r.check("the outcome of a payment")
		}
		receipt := downloadReceipt(t, b)
		t.Logf("receipt %s, %d bytes", filepath.Base(receipt.name), len(receipt.data))
	}

	t.Run("with JavaScript", func(t *testing.T) {
		b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
		cardLogin(b, d)
		r := newAxeRun(t, b, axeJS)
		pay(t, b, r, []string{"Mensa scolastica"}, []string{"Sanzione sosta vietata"}, "87,20")
		b.open(d.TLS+"/area-personale/pagamenti", 200)
		b.wantText("#paid", "2")
		r.check("I miei pagamenti with two receipts")
		// The notice's page, with its PDF and QR code, and the IMU calculator.
		id := noticeRow(b, "Scuolabus")
		b.open(d.TLS+"/area-personale/pagamenti/avvisi/"+id, 200)
		r.check("a notice to pay")
		// IMU: calculated, turned into a position, and its two instalments
		// paid together.
		b.open(d.TLS+"/area-personale/pagamenti/imu", 200)
		r.check("the IMU calculator")
		const imuForm = "/area-personale/pagamenti/imu"
		b.fill(imuForm, "rendita", "750,00")
		b.fill(imuForm, "category", "A/2")
		b.fill(imuForm, "share", "100")
		b.fill(imuForm, "months", "12")
		b.fill(imuForm, "year", "2026")
		pressAndLoad(b, "calculating the IMU", `main form[action="`+imuForm+`"] button[type="submit"]`, 200)
		b.wantText(`[data-element="imu-tax"]`, "1.335,60")
		r.check("the IMU calculated")
		pressAndLoad(b, "making the IMU payable", `button[data-element="imu-pay"]`, 200)
		pay(t, b, nil, []string{"IMU 2026", "rata 1 di 2"}, []string{"IMU 2026", "rata 2 di 2"}, "1.335,60")
		r.finish()
	})

	t.Run("without JavaScript", func(t *testing.T) {
		b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
		cardLogin(b, d)
		b.scriptsOff()
		b.open(d.TLS+"/area-personale/pagamenti", 200)
		if b.scripting() {
			t.Fatal("JavaScript is still on in the page")
		}
		pay(t, b, nil, []string{"Scuolabus"}, []string{"Frova", "rata 1 di 3"}, "204,00")
		b.open(d.TLS+"/area-personale/pagamenti", 200)
		b.wantText("#paid", "6") // with the two and the IMU's two paid with JavaScript
		// Left to pay: TARI's other two instalments (its single payment is
		// void once an instalment is paid).
		if n := eval[int](b, `document.querySelectorAll('#topay-table tr[data-notice] input[type="checkbox"]').length`); n != 2 {
			t.Fatalf("%d notices still payable, want TARI's two instalments left", n)
		}
	})
}

// pressAndLoad presses Enter on the button (css), as a keyboard user
// does, and waits for the page it leads to, checking its status.
func pressAndLoad(b *browser, what, css string, wantStatus int64) {
	b.t.Helper()
	b.step(what+": focusing "+css, chromedp.Focus(chromedp.CSS(css), chromedp.NodeVisible))
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.KeyEvent("\r"))
	switch {
	case err != nil:
		b.t.Fatalf("%s: %v (page: %s)", what, err, b.location())
	case resp == nil:
		b.t.Fatalf("%s: no page loaded (page: %s)", what, b.location())
	case resp.Status != wantStatus:
		b.t.Fatalf("%s: status %d, want %d (page: %s)", what, resp.Status, wantStatus, b.location())
	}
}

// noticeRow finds the notice of I miei pagamenti whose row has all the
// words, and returns its id.
func noticeRow(b *browser, words ...string) string {
	b.t.Helper()
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = strconv.Quote(w)
	}
	id := eval[string](b, `(() => { const r = [...document.querySelectorAll("#topay-table tr[data-notice]")]
		.find(r => [`+strings.Join(quoted, ",")+`].every(w => r.textContent.includes(w))); return r ? r.dataset.notice : ""; })()`)
	if id == "" {
		b.t.Fatalf("no notice to pay with %q on %s", words, b.location())
	}
	return id
}

type download struct {
	name string
	data []byte
}

// downloadReceipt clicks the page's first receipt link and waits for the
// file the browser saves.
func downloadReceipt(t *testing.T, b *browser) download {
	t.Helper()
	return downloadPDF(t, b, "the receipt", `main a[data-element="receipt-link"]`)
}

// downloadPDF clicks the link css and returns the PDF the browser saves.
func downloadPDF(t *testing.T, b *browser, what, css string) download {
	t.Helper()
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior,
		cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatalf("turning downloads on: %v", err)
	}
	defer func() {
		_, _ = chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior,
			cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorDeny})
	}()
	b.step("downloading "+what, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".crdownload") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || len(data) == 0 {
				continue
			}
			if !bytes.HasPrefix(data, []byte("%PDF-")) || !strings.HasSuffix(e.Name(), ".pdf") {
				t.Fatalf("%s saved is %s, not a PDF: %q", what, e.Name(), data[:min(len(data), 40)])
			}
			return download{name: e.Name(), data: data}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: nothing downloaded into %s within %v", what, dir, stepTimeout)
	return download{}
}
