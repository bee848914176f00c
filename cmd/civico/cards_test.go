package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cardca"
	"github.com/civico-pa/civico/internal/cards"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
)

// cardNumber is the card's own number in its certificate's CN, the
// serial the authority's registry knows it by.
func cardNumber(c *cardca.Card) string {
	_, rest, _ := strings.Cut(c.Cert.Subject.CommonName, "/")
	n, _, _ := strings.Cut(rest, ".")
	return n
}

// registerCards imports a registry file through the feature, as the
// command line does.
func registerCards(t *testing.T, s *idSite, lines ...string) {
	t.Helper()
	data := []byte("seriale;codice_fiscale;data_emissione;data_scadenza;stato\n" + strings.Join(lines, "\n") + "\n")
	list, err := cards.ParseRegistry("carte.csv", data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.apps.civico.cards.Svc.Registry.Import(context.Background(), "carte.csv", data, list, "cli", nil); err != nil {
		t.Fatal(err)
	}
}

// twoActiveCards issues Luca's and Elena's cards, which the registry
// holds as active, and returns them with their fiscal codes.
func twoActiveCards(t *testing.T, s *idSite) (luca, elena *cardca.Card, codeL, codeE cf.Code) {
	t.Helper()
	luca = s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
	elena = s.card(t, "MRCLNE81C62F205", "ELENA", "MARCHETTI", nil)
	codeL, _ = cf.Complete("FRRLCU78H15C707")
	codeE, _ = cf.Complete("MRCLNE81C62F205")
	registerCards(t, s, cardNumber(luca)+";"+string(codeL)+";2024-01-10;2030-01-10;ATTIVA", cardNumber(elena)+";"+string(codeE)+";2024-01-10;2030-01-10;ATTIVA")
	return luca, elena, codeL, codeE
}

// A card the town's registry says is revoked (or suspended) is refused at
// the card login over TLS, with its reason, even though its certificate
// is valid and on no CRL; an active one logs in.
func TestRegistryRevokedCardIsRefusedAtLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		luca, elena, codeL, codeE := twoActiveCards(t, s)
		if res, _ := s.browser(t, elena).do("GET", s.tls.URL+"/login/crs", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("an active card: %d", res.StatusCode)
		}
		registerCards(t, s, cardNumber(elena)+";"+string(codeE)+";2024-01-10;2030-01-10;REVOCATA", cardNumber(luca)+";"+string(codeL)+";2024-01-10;2030-01-10;SOSPESA")
		for _, tt := range []struct {
			card   *cardca.Card
			status string
		}{{elena, "REVOCATA"}, {luca, "SOSPESA"}} {
			res, body := s.browser(t, tt.card).do("GET", s.tls.URL+"/login/crs", nil)
			msg := s.apps.portal.I18n.T("it", "cards.refused."+tt.status)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, htmlEscape(msg)) || len(res.Cookies()) > 0 {
				t.Errorf("a %s card: %d, cookies %v; want 403 saying %q", tt.status, res.StatusCode, res.Cookies(), msg)
			}
		}
		records, err := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "login.crs.refused", Limit: 10})
		if err != nil || len(records) != 2 || records[0].Details["reason"] != "registry_SOSPESA" || records[1].Details["reason"] != "registry_REVOCATA" {
			t.Errorf("refusals in the audit log: %+v, %v", records, err)
		}
	})
}

// A card the registry suspends or revokes while its holder is logged in
// ended nothing: the session (and Partecipa's, by single sign-on) kept the
// card's high assurance until it expired, though the same card was
// refused at its next login. The minute's sweep of card sessions now asks
// the registry too, and ends the sessions of a refused card only.
func TestRegistryRevocationEndsLiveSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		luca, elena, codeL, _ := twoActiveCards(t, s)
		b := s.ssoBrowser(t, luca)
		s.cardLogin(t, b, "/")
		if _, res, body, _ := s.partecipaLogin(t, b, "/accedi?next=/profilo"); res.StatusCode != 200 || !strings.Contains(body, "Luca Ferrari") {
			t.Fatalf("single sign-on into Partecipa: %d", res.StatusCode)
		}
		s.cardLogin(t, s.ssoBrowser(t, elena), "/")
		sweep := func() {
			t.Helper()
			for _, task := range s.apps.tasks {
				if task.Feature == "identity" && task.Run != nil {
					if err := task.Run(ctx); err != nil {
						t.Fatalf("%s: %v", task.Name, err)
					}
				}
			}
		}
		sweep()
		if n := s.count(t, "sessions"); n != 2 {
			t.Fatalf("%d sessions after a sweep with both cards active, want 2", n)
		}
		registerCards(t, s, cardNumber(luca)+";"+string(codeL)+";2024-01-10;2030-01-10;REVOCATA")
		sweep()
		if _, body := b.do("GET", s.part.URL+"/profilo", nil); strings.Contains(body, "Luca Ferrari") {
			t.Error("Partecipa still greets the holder of a card the registry revoked")
		}
		if _, body := b.do("GET", s.tls.URL+"/profilo", nil); strings.Contains(body, "Luca Ferrari") {
			t.Error("the portal still greets the holder of a card the registry revoked")
		}
		if n := s.count(t, "sessions"); n != 1 {
			t.Errorf("%d sessions after the revocation, want 1 (the other card's)", n)
		}
		if n := s.count(t, "partecipa_sessions"); n != 0 {
			t.Errorf("%d Partecipa sessions left after the revocation", n)
		}
		records, err := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: "session.ended.card_refused", Limit: 5})
		if err != nil || len(records) != 1 || !strings.HasSuffix(records[0].Details["card"], "|"+cardNumber(luca)) {
			t.Errorf("audit entries for the ended session: %+v, %v", records, err)
		}
	})
}

// multipartPost sends a form with files, as a browser does.
func (b *browser) multipartPost(u string, fields url.Values, files map[string][]byte) (*http.Response, string) {
	b.t.Helper()
	var list []formFile
	for k, data := range files {
		list = append(list, formFile{k, k + ".png", data})
	}
	return b.postFiles(u, fields, list...)
}

// The URP's journey: an operator logged in with their card finds the
// resident's card, is told what is wrong in the form, hands the PIN out
// once as a PDF letter (a second delivery of the same envelope shows no
// PIN), and the day's report counts it; the resident sees where and when
// in the personal area; an operator with a password session is asked for
// the card; every step is in the audit log.
func TestPINDeliveryAtTheURP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		svc := s.apps.civico.cards.Svc
		opCode, _ := cf.Complete("BNCGLI90A41F205")
		if _, err := s.apps.identity.CreateOperator(ctx, identity.NewOperator{Email: "urp@comune.example.it", FiscalCode: string(opCode), GivenName: "Giulia",
			FamilyName: "Bianchi", Roles: []string{"urp"}}, "Sportello-Prima-Volta-1", "test"); err != nil {
			t.Fatal(err)
		}
		op := s.browser(t, s.card(t, "BNCGLI90A41F205", "GIULIA", "BIANCHI", nil))
		s.cardLogin(t, op, "/")
		resident := s.card(t, "FRRLCU78H15C707", "LUCA", "FERRARI", nil)
		code, _ := cf.Complete("FRRLCU78H15C707")
		serial := cardNumber(resident)
		registerCards(t, s, serial+";"+string(code)+";2024-01-10;2030-01-10;ATTIVA")
		key, _, err := svc.Keys.Current(ctx, false, &audit.Log{DB: d}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		c, err := cards.Seal(cards.Secret{Ref: "LOM-000001", Serial: serial, FiscalCode: string(code), PIN: "48213", PUK: "90817263"}, key.Recipient)
		if err != nil {
			t.Fatal(err)
		}
		file := []byte("seriale;busta\n" + serial + ";" + base64.StdEncoding.EncodeToString(c) + "\n")
		list, err := svc.ParseEnvelopes(ctx, "buste.csv", file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ImportEnvelopes(ctx, "buste.csv", file, list, "cli", nil); err != nil {
			t.Fatal(err)
		}

		res, body := op.do("GET", s.tls.URL+"/backoffice/carte?q="+string(code), nil)
		i := strings.Index(body, `href="/backoffice/carte/buste/`)
		if res.StatusCode != 200 || i < 0 {
			t.Fatalf("the URP's search: %d\n%s", res.StatusCode, body)
		}
		form := body[i+len(`href="`):]
		form = s.tls.URL + form[:strings.Index(form, `"`)]
		if res, body := op.do("GET", form, nil); res.StatusCode != 200 || !strings.Contains(body, `enctype="multipart/form-data"`) {
			t.Fatalf("the delivery form: %d", res.StatusCode)
		}
		fields := url.Values{"collector": {"delegate"}, "doc_type": {"cie"}, "doc_number": {"CA12345AB"}, "doc_expiry": {"2001-01-01"},
			"doc_issuer": {"Comune di Milano"}, "delegate_name": {"Elena Marchetti"}, "delegate_fiscal_code": {"MRCLNE81C62F205E"}, "receipt": {"attestation"}}
		res, body = op.multipartPost(form, fields, nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-doc_expiry-error"`) || !strings.Contains(body, `id="f-delegation-error"`) ||
			!strings.Contains(body, `id="f-attested-error"`) || !strings.Contains(body, `value="CA12345AB"`) || strings.Contains(body, "48213") {
			t.Fatalf("a wrong delivery form: %d\n%s", res.StatusCode, body)
		}
		fields.Set("doc_expiry", time.Now().AddDate(3, 0, 0).Format(time.DateOnly))
		fields.Set("attested", "1")
		res, body = op.multipartPost(form, fields, map[string][]byte{"delegation": attachmentstest.PNG(40, 30)})
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-") ||
			!strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
			t.Fatalf("the delivery: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		// Printed once: the same envelope again shows no letter.
		res, body = op.multipartPost(form, fields, map[string][]byte{"delegation": attachmentstest.PNG(40, 30)})
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, htmlEscape(s.apps.portal.I18n.T("it", "cards.error.not_pending"))) {
			t.Fatalf("a second delivery: %d", res.StatusCode)
		}
		var cipher *string
		if err := d.QueryRowContext(ctx, `SELECT ciphertext FROM card_envelopes`).Scan(&cipher); err != nil || cipher != nil {
			t.Errorf("the envelope's secret outlived its delivery (%v)", err)
		}
		day := time.Now().In(time.FixedZone("CET", 3600)).Format(time.DateOnly)
		if loc, err := time.LoadLocation("Europe/Rome"); err == nil {
			day = time.Now().In(loc).Format(time.DateOnly)
		}
		if res, body := op.do("GET", s.tls.URL+"/backoffice/carte/registro?giorno="+day, nil); res.StatusCode != 200 ||
			!strings.Contains(body, "<th scope=\"row\">"+serial+"</th>") || !strings.Contains(body, "Elena Marchetti") {
			t.Errorf("the day's report: %d", res.StatusCode)
		}
		if res, _ := op.do("GET", s.tls.URL+"/backoffice/carte/registro?giorno=ieri", nil); res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a report of a wrong day: %d", res.StatusCode)
		}

		// The resident sees where and when.
		rb := s.browser(t, resident)
		s.cardLogin(t, rb, "/")
		res, body = rb.do("GET", s.tls.URL+"/area-personale/carta", nil)
		if res.StatusCode != 200 || !strings.Contains(body, `data-element="cards-deliveries"`) || !strings.Contains(body, cards.DefaultPlace) ||
			strings.Contains(body, "48213") {
			t.Errorf("the resident's page: %d\n%s", res.StatusCode, body)
		}
		// The resident may not open the URP's pages.
		if res, _ := rb.do("GET", s.tls.URL+"/backoffice/carte", nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a resident on the URP's page: %d", res.StatusCode)
		}
		// An urp operator logged in with a password is asked for the card.
		pw := operatorBrowser(t, s, "urp2@comune.example.it", "urp")
		if res, _ := pw.do("GET", s.plain.URL+"/backoffice/carte", nil); res.StatusCode != http.StatusSeeOther ||
			!strings.HasPrefix(res.Header.Get("Location"), "/accedi/carta") {
			t.Errorf("a password session on the URP's page: %d %q", res.StatusCode, res.Header.Get("Location"))
		}

		log := &audit.Log{DB: d}
		for _, a := range []string{"cards.registry.imported", "cards.envelopes.imported", "cards.key.created", "cards.pin.identified", "cards.pin.decrypted",
			"cards.pin.destroyed", "cards.pin.delivered"} {
			if list, err := log.List(ctx, audit.ListFilter{Action: a, Limit: 10}); err != nil || len(list) != 1 {
				t.Errorf("%s: %d entries (%v)", a, len(list), err)
			}
		}
		if _, err := log.Verify(ctx); err != nil {
			t.Errorf("the audit chain: %v", err)
		}
	})
}

// `civico cards import` names the file, the line and the reason of every
// wrong line and imports nothing; a good file is imported once.
func TestCardsImportCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": dir}
	if code, _, stderr := runCLI(t, env, "migrate"); code != 0 {
		t.Fatal(stderr)
	}
	code, _ := cf.Complete("FRRLCU78H15C707")
	bad := filepath.Join(dir, "sbagliato.csv")
	good := filepath.Join(dir, "carte.csv")
	head := "seriale;codice_fiscale;data_emissione;data_scadenza;stato\n"
	_ = os.WriteFile(bad, []byte(head+"6120016461039008;"+string(code)+";2024-01-10;2030-01-10;ATTIVA\n61200;"+string(code)+";2024-01-10;2030-01-10;ATTIVA\n"), 0o600)
	var b strings.Builder
	b.WriteString(head)
	for i := range 1000 {
		fmt.Fprintf(&b, "%d;%s;2024-01-10;2030-01-10;ATTIVA\n", 6120016461030000+i, code)
	}
	_ = os.WriteFile(good, []byte(b.String()), 0o600)
	if c, _, stderr := runCLI(t, env, "cards", "import", bad); c != 1 || !strings.Contains(stderr, bad+", line 3, seriale: The card number must have 6 to 32 digits.") ||
		!strings.Contains(stderr, "1 wrong lines: nothing imported") {
		t.Fatalf("a wrong file: %d\n%s", c, stderr)
	}
	if c, stdout, stderr := runCLI(t, env, "cards", "import", good); c != 0 || !strings.Contains(stdout, "imported 1000 cards") || !strings.Contains(stderr, "importing cards: 1000/1000") {
		t.Fatalf("a good file: %d\n%s\n%s", c, stdout, stderr)
	}
	if c, _, stderr := runCLI(t, env, "cards", "import", good); c != 1 || !strings.Contains(stderr, "imported before") {
		t.Fatalf("the same file again: %d\n%s", c, stderr)
	}
	env["CIVICO_SECRET_KEY"] = strings.Repeat("k", 48)
	if c, stdout, _ := runCLI(t, env, "cards", "key"); c != 0 || !strings.HasPrefix(stdout, "age1") {
		t.Fatalf("cards key: %d %q", c, stdout)
	}
}

// The URP uploads the registry and then envelopes in the back office: a
// wrong file is refused at once with file, line and column, nothing kept;
// an accepted one is imported by river's job while its page says it
// waits, then that it is done; the same file again is refused; the job run
// again changes nothing.
func TestBackOfficeUploadRunsAsAJob(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		opCode, _ := cf.Complete("BNCGLI90A41F205")
		if _, err := s.apps.identity.CreateOperator(ctx, identity.NewOperator{Email: "urp@comune.example.it", FiscalCode: string(opCode), Roles: []string{"admin"}},
			"Sportello-Prima-Volta-1", "test"); err != nil {
			t.Fatal(err)
		}
		op := s.browser(t, s.card(t, "BNCGLI90A41F205", "GIULIA", "BIANCHI", nil))
		s.cardLogin(t, op, "/")
		base := s.tls.URL + cards.UploadPath
		code, _ := cf.Complete("FRRLCU78H15C707")
		head := "seriale;codice_fiscale;data_emissione;data_scadenza;stato\n"
		send := func(kind, name string, data []byte) (*http.Response, string) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			_ = mw.WriteField("kind", kind)
			fw, _ := mw.CreateFormFile("file", name)
			_, _ = fw.Write(data)
			_ = mw.Close()
			req, _ := http.NewRequest("POST", base, &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			res, err := op.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out bytes.Buffer
			_, _ = out.ReadFrom(res.Body)
			return res, out.String()
		}
		res, body := send("registry", "sbagliato.csv", []byte(head+"6120016461039008;"+string(code)+";2024-01-10;2030-01-10;ATTIVA\n6120016461039009;"+string(code)+";2024-01-10;2030-01-10;PERSA\n"))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<td>sbagliato.csv</td><th scope="row">3</th><td>stato</td>`) {
			t.Fatalf("a wrong file: %d\n%s", res.StatusCode, body)
		}
		var n int
		d.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_uploads`).Scan(&n)
		if n != 0 {
			t.Fatalf("a wrong file left %d uploads", n)
		}
		good := []byte(head + "6120016461039008;" + string(code) + ";2024-01-10;2030-01-10;ATTIVA\n")
		res, _ = send("registry", "carte.csv", good)
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, cards.UploadPath+"/") {
			t.Fatalf("a good file: %d %q", res.StatusCode, loc)
		}
		if _, body := op.do("GET", s.tls.URL+loc, nil); !strings.Contains(body, `data-element="upload-queued"`) {
			t.Fatalf("the waiting upload's page:\n%s", body)
		}
		if res, _ := send("registry", "copia.csv", good); res.StatusCode != http.StatusConflict {
			t.Fatalf("the same file twice: %d", res.StatusCode)
		}
		if err := s.apps.jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(90 * time.Second)
		for {
			_, body = op.do("GET", s.tls.URL+loc, nil)
			if strings.Contains(body, `data-element="upload-done"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the upload was not imported:\n%s", body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := s.apps.jobs.Stop(stopCtx); err != nil {
			t.Error(err)
		}
		cancel()
		svc := s.apps.civico.cards.Svc
		if c, err := svc.Registry.Card(ctx, "6120016461039008"); err != nil || c.FiscalCode != string(code) {
			t.Fatalf("the card after the job: %+v %v", c, err)
		}
		if u, err := svc.RunUpload(ctx, strings.TrimPrefix(loc, cards.UploadPath+"/")); err != nil || u.Status != cards.UploadDone {
			t.Fatalf("the job again: %+v %v", u, err)
		}
		d.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_imports`).Scan(&n)
		if n != 1 {
			t.Errorf("%d imports after the job ran again", n)
		}
		var kept *string
		d.QueryRowContext(ctx, `SELECT data FROM card_uploads`).Scan(&kept)
		if kept != nil {
			t.Error("the file is kept after its import")
		}

		// Envelopes: one for a card the registry lacks is refused at once;
		// the right one waits for its job, here run in place.
		key, _, err := svc.Keys.Current(ctx, false, &audit.Log{DB: d}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		envelope := func(serial string) []byte {
			c, err := cards.Seal(cards.Secret{Ref: "LOM-" + serial, Serial: serial, FiscalCode: string(code), PIN: "48213", PUK: "90817263"}, key.Recipient)
			if err != nil {
				t.Fatal(err)
			}
			return []byte("seriale;busta\n" + serial + ";" + base64.StdEncoding.EncodeToString(c) + "\n")
		}
		if res, body := send("envelopes", "buste.csv", envelope("6120016461039999")); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `<th scope="row">2</th><td>seriale</td>`) {
			t.Fatalf("an envelope of an unknown card: %d\n%s", res.StatusCode, body)
		}
		res, _ = send("envelopes", "buste.csv", envelope("6120016461039008"))
		loc = res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("the envelopes: %d", res.StatusCode)
		}
		if u, err := svc.RunUpload(ctx, strings.TrimPrefix(loc, cards.UploadPath+"/")); err != nil || u.Status != cards.UploadDone {
			t.Fatalf("the envelopes' job: %+v %v", u, err)
		}
		if list, err := svc.Envelopes(ctx, "6120016461039008"); err != nil || len(list) != 1 || list[0].Status != "pending" {
			t.Errorf("the card's envelopes: %+v %v", list, err)
		}
		if _, body := op.do("GET", base, nil); !strings.Contains(body, `data-element="upload-list"`) || !strings.Contains(body, ">buste.csv</a>") {
			t.Errorf("the upload page does not list the files sent:\n%s", body)
		}
	})
}

// A registry file that revokes many cards at once ends all their sessions
// in one sweep, in batches (more sessions than one transaction ends), each
// audited, and leaves the active card's; a card number the file writes
// with the zeros the certificate lacks is the same card.
func TestMassRevocationEndsEverySessionInOneSweep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		ctx := context.Background()
		luca, elena, codeL, _ := twoActiveCards(t, s)
		s.cardLogin(t, s.ssoBrowser(t, luca), "/")
		s.cardLogin(t, s.ssoBrowser(t, elena), "/")
		var accountL, proofL string
		if err := d.QueryRowContext(ctx, `SELECT account_id, proof FROM sessions WHERE proof LIKE $1`, "%|"+cardNumber(luca)).Scan(&accountL, &proofL); err != nil {
			t.Fatal(err)
		}
		// 450 more sessions of Luca's card (more than one batch of 200).
		const more = 450
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for range more {
				if _, err := s.apps.identity.Sessions.Create(ctx, tx, accountL, assurance.High, "crs", proofL, "test"); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		registerCards(t, s, "000"+cardNumber(luca)+";"+string(codeL)+";2024-01-10;2030-01-10;REVOCATA")
		for _, task := range s.apps.tasks {
			if task.Feature == "identity" && task.Name == "sessions of revoked cards" {
				if err := task.Run(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if n := s.count(t, "sessions"); n != 1 {
			t.Errorf("%d sessions after the sweep, want 1 (Elena's)", n)
		}
		var audited int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'session.ended.card_refused'`).Scan(&audited); err != nil || audited != more+1 {
			t.Errorf("%d sessions' ends audited, want %d (%v)", audited, more+1, err)
		}
	})
}
