package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/certificates"
	"github.com/civico-pa/civico/internal/certificates/certtest"
)

// The certificates' journey of the demo's card holder, Luca Ferrari: he
// asks for his family-status certificate with stamp duty and is told,
// beside the field, that it is not yet online, his choices kept; he
// chooses an exempt use instead, the certificate is issued and he
// downloads its PDF, which verifies against the town's published keys
// (and a copy with one byte of its content changed does not). Someone
// without a login opens the verification address the certificate carries
// (its QR code's, read back from the file) and reads that it is authentic and valid, with only his
// name. Mario Rossi, with a password, is told why he needs the card.
// axe-core checks each page on the way.
func TestCertificateIssuedAndVerified(t *testing.T) {
	requireE2E(t)
	axeJS := loadAxe(t)
	d := startDemo(t)

	b := cardBrowser(t, d, demoCardFile, demoCardFiscalCode)
	cardLogin(b, d)
	r := newAxeRun(t, b, axeJS)
	b.open(d.TLS+certificates.AreaPath, 200)
	b.wantText("main h1", "I miei certificati")
	r.check("I miei certificati")

	// With no exemption the certificate waits for its stamp duty: the
	// resident pays the notice in the sandbox and finds it issued.
	b.tick(certificates.AreaPath, "kind", "nascita")
	b.fill(certificates.AreaPath, "use", "bollo")
	b.tick(certificates.AreaPath, "disclosure", "nome")
	b.submit("asking with stamp duty", `main form[action="/area-personale/certificati"] button[type="submit"]`, 200)
	b.wantText("main .alert-success", "Paga l'avviso di 16 euro")
	b.wantText("main table", "In attesa del pagamento")
	r.check("a certificate waiting for its stamp duty")
	pressAndLoad(b, "opening the duty's notice", `main table a[href^="/area-personale/pagamenti/avvisi/"]`, 200)
	b.wantText("main", "Imposta di bollo, certificato di nascita")
	pressAndLoad(b, "paying the duty", `main form[action="/area-personale/pagamenti/paga"] button[type="submit"]`, 200)
	if !strings.Contains(b.location(), "/sandbox-pagamenti/paga/") {
		t.Fatalf("the checkout led to %s, want the sandbox's payment page", b.location())
	}
	pressAndLoad(b, "paying on the sandbox", `button[name="esito"][value="paid"]`, 200)
	b.open(d.TLS+certificates.AreaPath, 200)
	if eval[bool](b, `document.body.textContent.includes("In attesa del pagamento")`) {
		t.Fatal("the certificate still waits after its duty was paid")
	}
	b.wantText("main table", "Certificato di nascita")
	r.check("the certificate issued once its duty was paid")

	// A wrong choice is told beside its field, the others kept.
	b.tick(certificates.AreaPath, "kind", "stato-famiglia")
	b.fill(certificates.AreaPath, "use", "")
	b.submit("asking without a use", `main form[action="/area-personale/certificati"] button[type="submit"]`, 422)
	wantErrorBeside(t, b, "f-use", "")
	if !eval[bool](b, `document.getElementById("f-kind-stato-famiglia").checked`) {
		t.Fatal("the certificate chosen was not kept")
	}
	r.check("a missing use told beside its field")

	b.fill(certificates.AreaPath, "use", "scuola")
	b.submit("asking with an exempt use", `main form[action="/area-personale/certificati"] button[type="submit"]`, 200)
	if !strings.Contains(b.location(), certificates.AreaPath+"/") {
		t.Fatalf("after issuing, the page is %s", b.location())
	}
	b.wantText("main", "Certificato rilasciato")
	r.check("a certificate issued")
	verifyURL := eval[string](b, `document.querySelector('main a[data-element="verify-link"]').href`)
	pdf := downloadPDF(t, b, "the certificate", `main a[data-element="certificate-pdf"]`)

	var keys certificates.KeysDoc
	if err := json.Unmarshal([]byte(fetch(t, d.Portal+"/api/v1/certificates/keys")), &keys); err != nil {
		t.Fatal(err)
	}
	content, err := certificates.VerifyPDF(pdf.data, certificates.Set(keys.Keys))
	if err != nil || content.Holder.FiscalCode != demoCardFiscalCode || len(content.Household) != 3 {
		t.Fatalf("the downloaded certificate: %+v %v", content, err)
	}
	if want := certificates.VerifyURL(d.Portal, content.ID); verifyURL != want {
		t.Fatalf("the verification link is %s, the QR code's address %s", verifyURL, want)
	}
	// The QR code printed on the downloaded file, module by module, is
	// the address the visitor below opens.
	if ok, err := certtest.QRIs(pdf.data, verifyURL); !ok || err != nil {
		t.Fatalf("the certificate's QR code does not lead to %s (%v)", verifyURL, err)
	}
	tampered := append([]byte(nil), pdf.data...)
	i := strings.Index(string(tampered), " content=") + 50
	tampered[i] ^= 0x01
	if _, err := certificates.VerifyPDF(tampered, certificates.Set(keys.Keys)); err == nil {
		t.Fatal("a copy with one byte changed verifies")
	}

	anon := newBrowser(t)
	ra := newAxeRun(t, anon, axeJS)
	anon.open(verifyURL, 200)
	anon.wantText("#esito", "Certificato autentico")
	anon.wantText("main", "Il certificato è valido.")
	anon.wantText("main", demoCardName)
	if strings.Contains(anon.text("main"), demoCardFiscalCode) {
		t.Fatal("the verification page shows the fiscal code the holder did not let it show")
	}
	ra.check("the verification page")
	anon.open(d.Portal+certificates.VerifyPath, 200)
	anon.fill(certificates.VerifyPath, "id", "ABCD")
	anon.submit("verifying a short identifier", `main form[action="/verifica-certificato"] button[type="submit"]`, 422)
	wantErrorBeside(t, anon, "f-id", "ABCD")
	ra.check("a wrong identifier beside its field")
	ra.finish()

	pw := newBrowser(t)
	email, password := demoLogin(t, d, demoResidentEmail)
	passwordLogin(pw, d.Portal, email, password, 200)
	pw.open(d.Portal+certificates.AreaPath, 200)
	pw.wantText("main", "lo rilasciamo solo a chi ha effettuato l'accesso con la carta")
	r.finish()
}
