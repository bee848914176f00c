package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/certificates"
	"github.com/civico-pa/civico/internal/certificates/certtest"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/oidcop"
	"github.com/civico-pa/civico/internal/population"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/town"
)

// certResidents puts Luca Ferrari's household in the register, and
// Giulia Bianchi (who will try to read his certificate).
func certResidents(t *testing.T, s *idSite) {
	t.Helper()
	spouse, _ := cf.Make("Marchetti", "Elena", "F", time.Date(1981, 3, 22, 0, 0, 0, 0, time.UTC), "F205")
	for _, p := range []population.Person{
		{FiscalCode: "FRRLCU78H15C707", District: "Centro", Sex: "M", BirthDate: "1978-06-15", FamilyName: "Ferrari", GivenName: "Luca",
			BirthPlace: "Cinisello Balsamo (MI)", Citizenship: "italiana", Address: "Via Monte Ortigara 31", Household: "F1", Relation: population.HeadOfHousehold},
		{FiscalCode: string(spouse)[:15], District: "Centro", Sex: "F", BirthDate: "1981-03-22", FamilyName: "Marchetti", GivenName: "Elena",
			BirthPlace: "Milano (MI)", Citizenship: "italiana", Address: "Via Monte Ortigara 31", Household: "F1", Relation: "coniuge"},
		{FiscalCode: "BNCGLI90A41F205", District: "Centro", Sex: "F", BirthDate: "1990-01-01", FamilyName: "Bianchi", GivenName: "Giulia",
			BirthPlace: "Milano (MI)", Citizenship: "italiana", Address: "Via Frova 14", Household: "F2", Relation: population.HeadOfHousehold},
	} {
		s.inRegister(t, p)
	}
}

var certIDRE = regexp.MustCompile(`^/area-personale/certificati/([0-9A-Z]{20})\?rilasciato=1$`)

// issueCert asks for a certificate through the page and returns its id.
func issueCert(t *testing.T, b *browser, base string, form url.Values) string {
	t.Helper()
	res, body := b.do("POST", base+certificates.AreaPath, form)
	m := certIDRE.FindStringSubmatch(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("issue %v: %d %s\n%s", form, res.StatusCode, res.Header.Get("Location"), body)
	}
	return m[1]
}

// The certificates' journey through the server as built, on both
// engines: a password login is told why and offered the card; the card
// holder is told a wrong choice beside its field with the others kept,
// then issues a family-status certificate, downloads it, and the QR code
// printed on it leads an anonymous visitor to the verification page,
// which says authentic and valid and shows only the name the holder let
// it; the status API says the same without anything personal; `civico
// cert verify` passes the PDF and fails a copy with one byte of its
// content changed; another resident gets 404; the desk revokes it with a
// reason (audited) and the page says revoked; a residence certificate is
// expired six months on, a birth certificate never.
func TestCertificatesJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &sportelloSite{idSite: newIDSite(t, d), t: t}
		ctx := context.Background()
		certResidents(t, s.idSite)
		base := s.tls.URL

		// A password login: the explanation and the card, no form.
		pw := s.browser(t, nil)
		s.passwordResident(t, pw, "giulia@example.org")
		res, body := pw.do("GET", s.plain.URL+certificates.AreaPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "accesso con la carta") || !strings.Contains(body, `href="/accedi/carta?next=%2Farea-personale%2Fcertificati"`) ||
			strings.Contains(body, `name="kind"`) {
			t.Fatalf("a password login: %d\n%s", res.StatusCode, body)
		}
		if res, _ = pw.do("POST", s.plain.URL+certificates.AreaPath, url.Values{"kind": {"nascita"}, "use": {"scuola"}, "disclosure": {"nome"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a password login issues: %d", res.StatusCode)
		}

		b, _ := s.resident("FRRLCU78H15C707", "LUCA", "FERRARI", "")
		res, body = b.do("GET", base+certificates.AreaPath, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `name="kind"`) || !strings.Contains(body, "Tabella B, art. 11") {
			t.Fatalf("the form: %d", res.StatusCode)
		}
		// A wrong choice is told beside its field, the others kept.
		res, body = b.do("POST", base+certificates.AreaPath, url.Values{"kind": {"stato-famiglia"}, "use": {"bollo"}, "disclosure": {"tutto"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-disclosure-error"`) ||
			!strings.Contains(body, `value="stato-famiglia" aria-describedby="f-kind-stato-famiglia-help" checked`) || !strings.Contains(body, `value="bollo" selected`) {
			t.Fatalf("a wrong disclosure: %d\n%s", res.StatusCode, body)
		}
		id := issueCert(t, b, base, url.Values{"kind": {"stato-famiglia"}, "use": {"scuola"}, "disclosure": {"nome"}})
		res, body = b.do("GET", base+certificates.AreaPath+"/"+id+"?rilasciato=1", nil)
		if res.StatusCode != 200 || !strings.Contains(body, certificates.GroupID(id)) || !strings.Contains(body, "Valido") {
			t.Fatalf("the certificate's page: %d", res.StatusCode)
		}
		res, body = b.do("GET", base+certificates.AreaPath+"/"+id+"/certificato.pdf", nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-") {
			t.Fatalf("the PDF: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		pdf := []byte(body)

		// The QR code printed on the PDF encodes the verification address.
		verifyURL := certificates.VerifyURL(s.cfg.BaseURL, id)
		if ok, err := certtest.QRIs(pdf, verifyURL); !ok || err != nil {
			t.Fatalf("the PDF's QR code does not encode %s (%v)", verifyURL, err)
		}
		anon := s.browser(t, nil)
		res, body = anon.do("GET", verifyURL, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Certificato autentico") || !strings.Contains(body, "Il certificato è valido.") ||
			!strings.Contains(body, "Luca Ferrari") || strings.Contains(body, "FRRLCU78H15C707") || strings.Contains(body, "Via Monte Ortigara") || strings.Contains(body, "Elena") {
			t.Fatalf("the verification page: %d\n%s", res.StatusCode, body)
		}
		// Typed by hand: lower case, spaces, an O for a zero.
		typed := strings.ToLower(strings.ReplaceAll(certificates.GroupID(id), "-", " "))
		if res, _ = anon.do("GET", s.plain.URL+"/verifica-certificato?id="+url.QueryEscape(typed), nil); res.StatusCode != 200 {
			t.Errorf("a typed identifier: %d", res.StatusCode)
		}
		if res, body = anon.do("GET", s.plain.URL+"/verifica-certificato?id=ABCD", nil); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-id-error"`) || !strings.Contains(body, `value="ABCD"`) {
			t.Errorf("a short identifier: %d", res.StatusCode)
		}
		if res, body = anon.do("GET", s.plain.URL+"/verifica-certificato?id=ABCDEFGHJKMNPQRSTVWX", nil); res.StatusCode != http.StatusNotFound || !strings.Contains(body, "non è autentico") {
			t.Errorf("an unknown identifier: %d", res.StatusCode)
		}
		// The status API: nothing personal.
		res, body = anon.do("GET", s.plain.URL+"/api/v1/certificates/"+id+"/status", nil)
		var st certificates.PublicStatus
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Status != certificates.Valid || !st.Authentic || st.Kind != certificates.FamilyStatus ||
			strings.Contains(body, "Ferrari") || strings.Contains(body, "FRRLCU") {
			t.Fatalf("the status API: %d %s", res.StatusCode, body)
		}
		if res, _ = anon.do("GET", s.plain.URL+"/api/v1/certificates/ABCDEFGHJKMNPQRSTVWX/status", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("the status of no certificate: %d", res.StatusCode)
		}

		// Offline: the town's keys as the API serves them, then the file.
		dir := t.TempDir()
		_, keys := anon.do("GET", s.plain.URL+"/api/v1/certificates/keys", nil)
		keysFile, good, bad := filepath.Join(dir, "keys.json"), filepath.Join(dir, "cert.pdf"), filepath.Join(dir, "tampered.pdf")
		if err := os.WriteFile(keysFile, []byte(keys), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(good, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bad, tamperCertContent(pdf), 0o600); err != nil {
			t.Fatal(err)
		}
		env := func(string) string { return "" }
		var out, errOut bytes.Buffer
		if code := run([]string{"cert", "verify", good, "--keys", keysFile}, &out, &errOut, env); code != 0 ||
			!strings.Contains(out.String(), "AUTHENTIC") || !strings.Contains(out.String(), "Elena Marchetti, coniuge") {
			t.Fatalf("cert verify: %d\n%s%s", code, out.String(), errOut.String())
		}
		out.Reset()
		if code := run([]string{"cert", "verify", bad, "--keys", keysFile}, &out, &errOut, env); code != 1 || !strings.Contains(out.String(), "NOT AUTHENTIC") {
			t.Fatalf("cert verify of a tampered copy: %d\n%s", code, out.String())
		}

		// Another resident: 404, and nothing on their desk.
		other, _ := s.resident("BNCGLI90A41F205", "GIULIA", "BIANCHI", "")
		for _, p := range []string{"", "/certificato.pdf"} {
			if res, _ = other.do("GET", base+certificates.AreaPath+"/"+id+p, nil); res.StatusCode != http.StatusNotFound {
				t.Errorf("another resident's GET %s: %d", p, res.StatusCode)
			}
		}
		panel := s.apps.civico.certificates
		giulia, _ := cf.Complete("BNCGLI90A41F205")
		if sum, err := panel.Panel(ctx, area.Resident{AccountID: "x", FiscalCode: string(giulia), Level: assurance.High, Lang: "it"}); err != nil || len(sum.Items) != 0 {
			t.Errorf("another resident's panel: %+v %v", sum, err)
		}
		lucaCode, _ := cf.Complete("FRRLCU78H15C707")
		if sum, err := panel.Panel(ctx, area.Resident{AccountID: "x", FiscalCode: string(lucaCode), Level: assurance.High, Lang: "it"}); err != nil ||
			len(sum.Items) != 1 || sum.Kind != area.Documents || sum.Needs != assurance.Substantial || !strings.Contains(sum.Items[0].Label, certificates.GroupID(id)) {
			t.Errorf("the holder's panel: %+v %v", sum, err)
		}

		// The desk revokes it, with a reason; the page then says so.
		desk := operatorBrowser(t, s.idSite, "anagrafe@comune.example.it", "desk")
		if res, body = desk.do("GET", s.plain.URL+certificates.BOPath+"?id="+certificates.GroupID(id), nil); res.StatusCode != 200 || !strings.Contains(body, "Luca Ferrari") {
			t.Fatalf("the desk finds it: %d", res.StatusCode)
		}
		if res, body = desk.do("POST", s.plain.URL+certificates.BOPath+"/"+id+"/revoca", url.Values{"reason": {"ok"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-reason-error"`) || !strings.Contains(body, ">ok</textarea>") {
			t.Fatalf("a short reason: %d", res.StatusCode)
		}
		if res, _ = b.do("POST", base+certificates.BOPath+"/"+id+"/revoca", url.Values{"reason": {"Rilasciato per errore"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a resident revokes: %d", res.StatusCode)
		}
		if res, _ = desk.do("POST", s.plain.URL+certificates.BOPath+"/"+id+"/revoca", url.Values{"reason": {"Famiglia variata il 1/12"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		res, body = anon.do("GET", verifyURL, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "è stato revocato dal Comune") || !strings.Contains(body, "Revocato") {
			t.Fatalf("after revocation: %d\n%s", res.StatusCode, body)
		}
		if _, body = anon.do("GET", s.plain.URL+"/api/v1/certificates/"+id+"/status", nil); !strings.Contains(body, `"status":"revoked"`) {
			t.Errorf("the status API after revocation: %s", body)
		}
		var audited int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'certificates.revoked' AND subject = $1`, "certificate:"+id).Scan(&audited); err != nil || audited != 1 {
			t.Errorf("revocation audited %d times (%v)", audited, err)
		}

		// Expiry: a residence certificate six months on, a birth one never.
		res1 := issueCert(t, b, base, url.Values{"kind": {"residenza"}, "use": {"identita"}, "disclosure": {"completo"}})
		birth := issueCert(t, b, base, url.Values{"kind": {"nascita"}, "use": {"identita"}, "disclosure": {"nessuno"}})
		_, body = anon.do("GET", s.plain.URL+"/verifica-certificato?id="+res1, nil)
		if !strings.Contains(body, "Via Monte Ortigara 31") || !strings.Contains(body, "Il certificato è valido.") {
			t.Errorf("a residence certificate shown in full:\n%s", body)
		}
		store := s.apps.civico.certificates.Store
		store.Now = func() time.Time { return time.Now().AddDate(0, 6, 1) }
		defer func() { store.Now = nil }()
		if _, body = anon.do("GET", s.plain.URL+"/verifica-certificato?id="+res1, nil); !strings.Contains(body, "Il certificato è scaduto") {
			t.Errorf("six months on:\n%s", body)
		}
		if _, body = anon.do("GET", s.plain.URL+"/verifica-certificato?id="+birth, nil); !strings.Contains(body, "Il certificato è valido.") ||
			!strings.Contains(body, "di non mostrare i suoi dati") || strings.Contains(body, "Luca Ferrari") {
			t.Errorf("a birth certificate six months on:\n%s", body)
		}
	})
}

// The verification page and the status API are budgeted per client: the
// 31st lookup in a minute is refused with Retry-After, another client is
// not.
func TestCertificateLookupsAreBudgeted(t *testing.T) {
	s := newIDSite(t, dbtest.SQLite(t))
	a, other := s.browser(t, nil), s.browser(t, nil)
	a.from, other.from = "198.51.100.7", "198.51.100.8"
	for i := range certificates.LookupBudget.Free {
		u := s.plain.URL + "/verifica-certificato?id=ABCDEFGHJKMNPQRSTVW" + strconv.Itoa(i%10)
		if i%2 == 1 {
			u = s.plain.URL + "/api/v1/certificates/ABCDEFGHJKMNPQRSTVW" + strconv.Itoa(i%10) + "/status"
		}
		if res, _ := a.do("GET", u, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("lookup %d: %d", i, res.StatusCode)
		}
	}
	res, body := a.do("GET", s.plain.URL+"/verifica-certificato?id=ABCDEFGHJKMNPQRSTVWX", nil)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "Troppe verifiche") {
		t.Fatalf("over the budget: %d", res.StatusCode)
	}
	if res, _ = a.do("GET", s.plain.URL+"/api/v1/certificates/ABCDEFGHJKMNPQRSTVWX/status", nil); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the API over the budget: %d", res.StatusCode)
	}
	if res, _ = other.do("GET", s.plain.URL+"/verifica-certificato?id=ABCDEFGHJKMNPQRSTVWX", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("another client: %d", res.StatusCode)
	}
}

// tamperCertContent changes one character of the sealed content in the
// PDF's seal (the text certificates.VerifyPDF reads).
func tamperCertContent(pdf []byte) []byte {
	out := bytes.Clone(pdf)
	start := bytes.Index(out, []byte(" content=")) + len(" content=")
	i := start + 40
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

// The seal keys from the command line: rotate-keys makes the first key
// and retires it at the next (audited), keys lists them, another secret
// is refused; `cert verify` without --keys reads the database's keys and
// tells the status, revoked included; a wrong command line is exit 2.
func TestCertCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": testSecretKey}
	for range 2 {
		if code, out, errOut := runCLI(t, env, "cert", "rotate-keys"); code != 0 || !strings.Contains(out, "new seal key") {
			t.Fatalf("rotate-keys: %d %q %q", code, out, errOut)
		}
	}
	code, out, _ := runCLI(t, env, "cert", "keys")
	if code != 0 || strings.Count(out, "(seals)") != 1 || len(strings.Split(strings.TrimSpace(out), "\n")) != 3 {
		t.Fatalf("keys: %q", out)
	}
	other := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": strings.Repeat("z", 40)}
	if code, _, errOut := runCLI(t, other, "cert", "rotate-keys"); code == 0 || !strings.Contains(errOut, "CIVICO_SECRET_KEY") {
		t.Fatalf("rotate-keys with another secret: %d %q", code, errOut)
	}
	if _, out, _ = runCLI(t, env, "audit", "list"); strings.Count(out, "certificates.keys.rotated") != 2 {
		t.Errorf("the rotations are not in the audit log:\n%s", out)
	}

	ctx := context.Background()
	target, err := db.ParseURL("", dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := db.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	towns := town.NewStore(d, time.Minute)
	if err := towns.Put(ctx, town.Demo()); err != nil {
		t.Fatal(err)
	}
	luca, _ := cf.Complete("FRRLCU78H15C707")
	reg := &population.Register{DB: d}
	if err := reg.Put(ctx, population.Person{FiscalCode: string(luca), Sex: "M", BirthDate: "1978-06-15", FamilyName: "Ferrari", GivenName: "Luca",
		BirthPlace: "Cinisello Balsamo (MI)", Citizenship: "italiana", Address: "Via Monte Ortigara 31"}); err != nil {
		t.Fatal(err)
	}
	secret, _ := oidcop.NewSecret([]byte(testSecretKey))
	box, _ := sealed.New(secret.Derive(certificates.KeyPurpose, 32))
	store := &certificates.Store{DB: d, Keys: &certificates.Keys{DB: d, Box: box}, Register: reg, Towns: towns, Audit: &audit.Log{DB: d}}
	c, err := store.Issue(ctx, certificates.Request{AccountID: "a", FiscalCode: string(luca), Kind: certificates.Residence, Use: "identita", Disclosure: certificates.ShowNothing})
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := store.Render(ctx, c, "https://comune.example.it", "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "residenza.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "cert", "verify", file); code != 0 || !strings.Contains(out, "AUTHENTIC") || !regexp.MustCompile(`status\s+valid`).MatchString(out) ||
		!strings.Contains(out, "Via Monte Ortigara 31") {
		t.Fatalf("verify: %d %q %q", code, out, errOut)
	}
	if err := store.Revoke(ctx, c.ID, "op", "Residenza cambiata", ""); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, env, "cert", "verify", file); code != 0 || !regexp.MustCompile(`status\s+revoked on .*: Residenza cambiata`).MatchString(out) {
		t.Fatalf("verify a revoked certificate: %d %q", code, out)
	}
	if err := os.WriteFile(file, tamperCertContent(pdf), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, env, "cert", "verify", file); code != 1 || !strings.Contains(out, "NOT AUTHENTIC") || !strings.Contains(out, "content was altered") {
		t.Fatalf("verify a tampered copy: %d %q", code, out)
	}
	for _, args := range [][]string{{"cert"}, {"cert", "verify"}, {"cert", "sign", file}, {"cert", "keys", file}, {"cert", "verify", filepath.Join(dir, "none.pdf")}} {
		if code, _, errOut := runCLI(t, env, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d %q", args, code, errOut)
		}
	}
}
