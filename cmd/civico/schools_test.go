package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/schools"
)

// postMultipart sends fields and, when content is set, the file "certificate".
func postMultipart(b *browser, u string, fields url.Values, name string, content []byte) (*http.Response, string) {
	b.t.Helper()
	return postFile(b, u, fields, "certificate", name, content)
}

// postFile posts a multipart form with a file in the part field.
func postFile(b *browser, u string, fields url.Values, field, name string, content []byte) (*http.Response, string) {
	b.t.Helper()
	if content == nil {
		return b.postFiles(u, fields)
	}
	return b.postFiles(u, fields, formFile{field, name, content})
}

// complete is a valid fiscal code from its first 15 characters.
func complete(t *testing.T, first15 string) string {
	t.Helper()
	c, err := cf.Complete(first15)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// wrongCheck is first15 with a wrong check character.
func wrongCheck(t *testing.T, first15 string) string {
	c := complete(t, first15)
	if c[15] == 'A' {
		return first15 + "B"
	}
	return first15 + "A"
}

// The school services through the server as built: the school office
// defines a service and its places; a parent (card login) enrols a child
// with a diet and its certificate after a refused form that keeps what
// was written; a second send is the same enrolment; another parent's
// child goes on the waiting list, and another's enrolment is not found;
// the first withdraws and the second is promoted, each change mailed
// through real SMTP; the desk shows the panel; a desk operator cannot
// reach the school office.
func TestSchoolsJourney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSportelloSite(t, d)
		base := s.tls.URL

		if res, _ := operatorBrowser(t, s.idSite, "desk9@comune.example.it", "desk").do("GET", s.plain.URL+"/backoffice/servizi-scolastici", nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("a desk operator on the school office: %d", res.StatusCode)
		}
		office := operatorBrowser(t, s.idSite, "scuole@comune.example.it", "schools")
		now := time.Now().In(hours.Rome)
		svcForm := url.Values{"title": {"Refezione scolastica"}, "school_year": {"2027/2028"}, "kind": {"canteen"}, "opens": {now.Add(-time.Hour).Format("2006-01-02T15:04")},
			"closes": {now.Add(48 * time.Hour).Format("2006-01-02T15:04")}, "classes": {"P1", "P2"}, "tariff_unit": {"meal"}, "bands": {"6000: 2\n9360: 3,50\noltre: 4,50"}}
		bad := url.Values{}
		for k, v := range svcForm {
			bad[k] = v
		}
		bad.Set("bands", "oltre: 1\n4000: 2")
		if res, body := office.do("POST", s.plain.URL+"/backoffice/servizi-scolastici/nuovo", bad); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, `id="f-bands-error"`) || !strings.Contains(body, "Refezione scolastica") {
			t.Fatalf("bad bands: %d", res.StatusCode)
		}
		res, _ := office.do("POST", s.plain.URL+"/backoffice/servizi-scolastici/nuovo", svcForm)
		m := regexp.MustCompile(`^/backoffice/servizi-scolastici/([0-9a-f]{32})\?salvato=1$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("new service: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		serviceID := m[1]
		if res, _ := office.do("POST", s.plain.URL+"/backoffice/servizi-scolastici/"+serviceID+"/unita", url.Values{"label": {"Primaria Garibaldi"}, "capacity": {"1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("add unit: %d", res.StatusCode)
		}
		_, body := office.do("GET", s.plain.URL+"/backoffice/servizi-scolastici/"+serviceID, nil)
		unit := regexp.MustCompile(`/backoffice/servizi-scolastici/unita/([0-9a-f]{32})`).FindStringSubmatch(body)
		if unit == nil {
			t.Fatal("no unit on the service's page")
		}

		// The public page shows the window, places and tariff.
		res, body = s.browser(t, nil).do("GET", s.plain.URL+schools.Path+"/"+serviceID, nil)
		if res.StatusCode != 200 || !strings.Contains(body, "fino a € 9.360,00") || !strings.Contains(body, "/servizi-scolastici/"+serviceID+"/iscrizione") {
			t.Fatalf("service page: %d", res.StatusCode)
		}

		const mailA, mailB = "anna.verdi@example.org", "bruno.neri@example.org"
		a, _ := s.resident("VRDNNA80A41F205", "ANNA", "VERDI", mailA)
		form := base + schools.Path + "/" + serviceID + "/iscrizione"
		if res, body := a.do("GET", form, nil); res.StatusCode != 200 || !strings.Contains(body, "VRDNNA80A41F205") || !strings.Contains(body, `class="steppers`) {
			t.Fatalf("form: %d", res.StatusCode)
		}
		fields := url.Values{"privacy": {"1"}, "unit": {unit[1]}, "child_given": {"Sofia"}, "child_family": {"Verdi"}, "child_fc": {wrongCheck(t, "VRDSFO19A41F205")},
			"school": {"Primaria Garibaldi"}, "class": {"P2"}, "diet": {"senza glutine"}, "isee": {"7.000"}}
		res, body = postMultipart(a, form, fields, "certificato.pdf", attachmentstest.PDF("celiachia"))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-child_fc-error"`) || !strings.Contains(body, `value="Sofia"`) ||
			!strings.Contains(body, "senza glutine") {
			t.Fatalf("a wrong fiscal code: %d", res.StatusCode)
		}
		fields.Set("child_fc", complete(t, "VRDSFO19A41F205"))
		res, _ = postMultipart(a, form, fields, "certificato.pdf", attachmentstest.PDF("celiachia"))
		m = regexp.MustCompile(`^/area-personale/iscrizioni-scolastiche/([0-9a-f]{32})\?inviata=1$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("enrol: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		first := m[1]
		res, body = a.do("GET", base+res.Header.Get("Location"), nil)
		if res.StatusCode != 200 || !strings.Contains(body, "iscrizione è accolta") || !strings.Contains(body, "certificato medico allegato") || !strings.Contains(body, "€ 3,50") {
			t.Fatalf("confirmation: %d", res.StatusCode)
		}
		// Sent again: the same enrolment.
		res, _ = postMultipart(a, form, fields, "certificato.pdf", attachmentstest.PDF("celiachia"))
		if loc := res.Header.Get("Location"); loc != schools.AreaPath+"/"+first+"?gia=1" {
			t.Fatalf("sent again: %d %s", res.StatusCode, loc)
		}

		b, _ := s.resident("NREBRN82B01F205", "BRUNO", "NERI", mailB)
		fields2 := url.Values{"privacy": {"1"}, "unit": {unit[1]}, "child_given": {"Luca"}, "child_family": {"Neri"}, "child_fc": {""},
			"school": {"Primaria Garibaldi"}, "class": {"P1"}, "no_isee": {"1"}}
		fields2.Set("child_fc", complete(t, "NRELCU19A01F205"))
		res, _ = postMultipart(b, form, fields2, "", nil)
		m = regexp.MustCompile(`^/area-personale/iscrizioni-scolastiche/([0-9a-f]{32})\?inviata=1$`).FindStringSubmatch(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("second parent: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		second := m[1]
		if _, body := b.do("GET", base+schools.AreaPath+"/"+second+"?inviata=1", nil); !strings.Contains(body, "sei 1° in lista d&#39;attesa") || !strings.Contains(body, "€ 4,50") {
			t.Errorf("the waiting list's answer is not on the page")
		}
		if res, _ := b.do("GET", base+schools.AreaPath+"/"+first, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("another parent's enrolment: %d", res.StatusCode)
		}
		if res, _ := b.do("POST", base+schools.AreaPath+"/"+first+"/ritira", url.Values{}); res.StatusCode != http.StatusNotFound {
			t.Errorf("withdrawing another parent's enrolment: %d", res.StatusCode)
		}

		// The office checks A's declared ISEE (outside review S4): the list
		// holds it, a wrong value is refused, a correction is saved and the
		// parent's page and mail say so.
		isee := s.plain.URL + "/backoffice/servizi-scolastici/isee/" + serviceID
		if res, body := office.do("GET", isee, nil); res.StatusCode != 200 || !strings.Contains(body, complete(t, "VRDSFO19A41F205")) || !strings.Contains(body, "€ 7.000,00") {
			t.Fatalf("the ISEE to check: %d", res.StatusCode)
		}
		check := s.plain.URL + "/backoffice/servizi-scolastici/iscrizioni/" + first + "/isee"
		if res, body := office.do("POST", check, url.Values{"azione": {"correggi"}, "isee": {"settemila"}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "Scrivi il valore ISEE") {
			t.Fatalf("a wrong ISEE: %d", res.StatusCode)
		}
		if res, _ := office.do("POST", check, url.Values{"azione": {"correggi"}, "isee": {"12.000"}}); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != "/backoffice/servizi-scolastici/isee/"+serviceID+"?fatto=corrected" {
			t.Fatalf("the correction: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		if _, body := office.do("GET", isee, nil); strings.Contains(body, complete(t, "VRDSFO19A41F205")) {
			t.Error("a corrected ISEE is still to check")
		}
		if _, body := a.do("GET", base+schools.AreaPath+"/"+first, nil); !strings.Contains(body, "corretto dall&#39;ufficio scuola (dichiarato: € 7.000,00)") ||
			!strings.Contains(body, "€ 12.000,00") {
			t.Error("the parent's page does not say the ISEE was corrected")
		}
		if res, _ := a.do("POST", check, url.Values{"azione": {"conferma"}}); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
			t.Errorf("a parent checks an ISEE: %d", res.StatusCode)
		}

		// A withdraws: B is promoted.
		if res, _ := a.do("POST", base+schools.AreaPath+"/"+first+"/ritira", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("withdraw: %d", res.StatusCode)
		}
		if _, body := b.do("GET", base+schools.AreaPath+"/"+second, nil); !strings.Contains(body, "badge bg-success") {
			t.Errorf("the second parent was not promoted")
		}
		if _, body := b.do("GET", base+"/area-personale", nil); !strings.Contains(body, "Iscrizioni ai servizi scolastici") || !strings.Contains(body, "Luca Neri") {
			t.Errorf("the desk has no school panel")
		}
		wantA := []string{"Refezione scolastica: iscrizione accolta", "Refezione scolastica: tariffa aggiornata dopo la verifica dell'ISEE",
			"Refezione scolastica: iscrizione ritirata"}
		wantB := []string{"Refezione scolastica: iscrizione in lista d'attesa", "Refezione scolastica: si è liberato un posto, iscrizione accolta"}
		for to, want := range map[string][]string{mailA: wantA, mailB: wantB} {
			got := s.mailsTo(to)
			if len(got) != len(want) {
				t.Fatalf("mails to %s: %q", to, got)
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]+"\n") {
					t.Errorf("mail %d to %s: %q, want %q", i, to, got[i], want[i])
				}
			}
		}
		// The office's list holds the accepted child.
		if _, body := office.do("GET", s.plain.URL+"/backoffice/servizi-scolastici/unita/"+unit[1], nil); !strings.Contains(body, "NRELCU19A01F205") {
			t.Errorf("the office's list does not hold the accepted child")
		}
	})
}
