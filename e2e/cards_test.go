package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cards"
)

// The demo's URP operator, Paola Esposito, logs in with her card, finds
// Luca Ferrari's card, is told beside each field what is wrong (an
// expired document, the receipt not attested), hands the PIN out and the
// browser saves the letter; the envelope then shows no form, the day's
// report lists the delivery, and the audit log holds each step with its
// chain intact. Luca, with his card, reads in the personal area where and
// when. axe-core checks each page on the way.
func TestPINDeliveryJourney(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)

	op := cardBrowser(t, d, "paola-esposito.p12", "SPSPLA75C50C707")
	op.open(d.TLS+"/login/crs?"+url.Values{"next": {cards.BOPath}}.Encode(), 200)
	if p := op.path(); p != cards.BOPath {
		t.Fatalf("after the operator's card login the page is %s", p)
	}
	r := newAxeRun(t, op, axeJS)
	r.check("the URP's search")
	op.fill(cards.BOPath, "q", demoCardFiscalCode)
	op.submit("finding Luca's card", `main form[action="/backoffice/carte"] button[type="submit"]`, 200)
	op.wantText("main", "Da consegnare")
	r.check("Luca's card and its envelope")
	clickAndLoad(op, "opening the envelope", chromedp.CSS(`main a[href^="/backoffice/carte/buste/"]`), 200)
	form := op.path()
	r.check("the delivery form")

	op.fill(form, "doc_type", "cie")
	op.fill(form, "doc_number", "CA12345AB")
	op.fill(form, "doc_expiry", "2001-01-01")
	op.fill(form, "doc_issuer", "Comune di Cinisello Balsamo")
	op.submit("an expired document, no attestation", `main form[action="`+form+`"] button[type="submit"]`, 422)
	wantErrorBeside(t, op, "f-doc_expiry", "2001-01-01")
	op.wantText("#f-attested-error", "Conferma di aver visto firmare la ricevuta")
	if v := eval[string](op, `document.getElementById("f-doc_number").value`); v != "CA12345AB" {
		t.Errorf("the document number typed is not kept: %q", v)
	}
	r.check("errors beside their fields")

	op.fill(form, "doc_expiry", time.Now().AddDate(3, 0, 0).Format(time.DateOnly))
	op.clickBox("attesting the receipt", `label[for="f-attested"]`)
	letter := downloadPDF(t, op, "the PIN letter", `main form[action="`+form+`"] button[type="submit"]`)
	if len(letter.data) < 500 {
		t.Fatalf("the letter is %d bytes", len(letter.data))
	}
	op.open(d.TLS+form, 200)
	op.wantText("main", "Questa busta non è più da consegnare.")
	op.open(d.TLS+cards.ReportPath, 200)
	op.wantText("main table", demoCardFiscalCode)
	r.check("the day's report")
	op.open(d.TLS+cards.UploadPath, 200)
	op.wantText("main h1", "Importa registro o buste")
	r.check("the upload page")
	r.finish()

	conn := d.openDB(t)
	log := &audit.Log{DB: conn}
	ctx := context.Background()
	for _, a := range []string{"cards.pin.identified", "cards.pin.decrypted", "cards.pin.destroyed", "cards.pin.delivered"} {
		if list, err := log.List(ctx, audit.ListFilter{Action: a, Limit: 5}); err != nil || len(list) != 1 {
			t.Errorf("%s: %d entries in the audit log (%v)", a, len(list), err)
		}
	}
	if _, err := log.Verify(ctx); err != nil {
		t.Errorf("the audit chain: %v", err)
	}
	// The envelope delivered here lost its secret, and no delivered one
	// anywhere keeps it (the demo's history holds thousands delivered).
	var destroyed, kept int
	envelope := strings.TrimPrefix(form, "/backoffice/carte/buste/")
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_envelopes WHERE id = $1 AND status = 'delivered' AND ciphertext IS NULL`, envelope).Scan(&destroyed); err != nil || destroyed != 1 {
		t.Errorf("the envelope delivered here (%s): %d delivered without its secret (%v)", envelope, destroyed, err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_envelopes WHERE status = 'delivered' AND ciphertext IS NOT NULL`).Scan(&kept); err != nil || kept != 0 {
		t.Errorf("%d delivered envelopes keep their secret (%v)", kept, err)
	}

	luca := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(luca, d)
	rl := newAxeRun(t, luca, axeJS)
	luca.open(d.TLS+cards.AreaPath, 200)
	luca.wantText(`main [data-element="cards-deliveries"]`, "URP")
	rl.check("the resident's card page")
	rl.finish()
}
