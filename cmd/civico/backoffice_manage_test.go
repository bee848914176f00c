package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// postForm sends a form with the session of a formsSite.
func (s *formsSite) postForm(t *testing.T, path, session string, v url.Values) (*http.Response, string) {
	t.Helper()
	res, b := s.do(t, "POST", path, session, []byte(v.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	return res, string(b)
}

func (s *formsSite) pageAs(t *testing.T, path, session string) (*http.Response, string) {
	t.Helper()
	res, b := s.do(t, "GET", path, session, nil)
	return res, string(b)
}

// An edit based on a version someone else has saved since is refused with
// a message, the operator's text kept and nothing of the other's lost;
// saving again, knowingly, replaces it. Of several saves sent at once from
// the same version, exactly one is taken.
func TestStaleEditsAreRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newFormsSite(t, d)
		anna, bruno := s.operator(t, "anna@comune.example.it", "urp"), s.operator(t, "bruno@comune.example.it", "urp")
		path := "/backoffice/servizi/carta-identita-elettronica"
		_, pa := s.pageAs(t, path, anna)
		_, pb := s.pageAs(t, path, bruno)
		va, vb := formValues(t, pa, path), formValues(t, pb, path)
		va.Set("summary", "La carta d'identità elettronica: si chiede su appuntamento all'Anagrafe.")
		if res, _ := s.postForm(t, path, anna, va); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("Anna's save: %d", res.StatusCode)
		}
		vb.Set("title", "Carta d'identità (CIE)")
		res, page := s.postForm(t, path, bruno, vb)
		if res.StatusCode != http.StatusConflict || !strings.Contains(page, "qualcun altro ha salvato questa scheda") ||
			!strings.Contains(page, "Descrizione breve, Titolo") || fieldValue(page, "title") != "Carta d'identità (CIE)" ||
			fieldValue(page, "version") != "2" {
			t.Fatalf("Bruno's stale save: %d, title %q, version %q", res.StatusCode, fieldValue(page, "title"), fieldValue(page, "version"))
		}
		_, api := get(t, s.srv.URL+"/api/v1/services/carta-identita-elettronica")
		if !strings.Contains(api, "si chiede su appuntamento") || !strings.Contains(api, `"title": "Carta d'identità elettronica"`) {
			t.Fatalf("Anna's edit was lost, or Bruno's saved: %s", api)
		}
		// Bruno read the message and saves again: now his title wins, and
		// the summary he sends (the old one) replaces Anna's, knowingly.
		if res, _ := s.postForm(t, path, bruno, formValues(t, page, path)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("Bruno's second save: %d", res.StatusCode)
		}
		if _, api = get(t, s.srv.URL+"/api/v1/services/carta-identita-elettronica"); !strings.Contains(api, `"title": "Carta d'identità (CIE)"`) {
			t.Errorf("Bruno's knowing save was not taken: %s", api)
		}

		// Eight saves at once from the same version: one is taken.
		_, pa = s.pageAs(t, path, anna)
		base := formValues(t, pa, path)
		codes := make(chan int, 8)
		for i := range 8 {
			v := clone(base)
			v.Set("summary", fmt.Sprintf("Versione numero %d della descrizione breve.", i))
			go func() {
				req, _ := http.NewRequest("POST", s.srv.URL+path, strings.NewReader(v.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(&http.Cookie{Name: "civico_session", Value: anna})
				res, err := noRedirect.Do(req)
				if err != nil {
					codes <- 0
					return
				}
				res.Body.Close()
				codes <- res.StatusCode
			}()
		}
		taken, refused := 0, 0
		for range 8 {
			switch <-codes {
			case http.StatusSeeOther:
				taken++
			case http.StatusConflict:
				refused++
			}
		}
		if taken != 1 || refused != 7 {
			t.Errorf("8 saves at once from one version: %d taken, %d refused as stale", taken, refused)
		}

		// The same for an office.
		opath := "/backoffice/uffici/tributi"
		_, pa = s.pageAs(t, opath, anna)
		_, pb = s.pageAs(t, opath, bruno)
		va, vb = formValues(t, pa, opath), formValues(t, pb, opath)
		va.Set("hours.week.saturday", "09:00-12:00")
		vb.Set("phone", "02 660 2345")
		if res, _ := s.postForm(t, opath, anna, va); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("Anna's office save: %d", res.StatusCode)
		}
		if res, page := s.postForm(t, opath, bruno, vb); res.StatusCode != http.StatusConflict || !strings.Contains(page, "Orari, Telefono") ||
			fieldValue(page, "phone") != "02 660 2345" {
			t.Errorf("Bruno's stale office save: %d", res.StatusCode)
		}
		if _, api := get(t, s.srv.URL+"/api/v1/offices/tributi"); !strings.Contains(api, `"saturday": [`) || strings.Contains(api, "02 660 2345") {
			t.Errorf("Anna's hours lost, or Bruno's phone saved")
		}
	})
}

// Retiring takes an office or a service off the portal and the API and
// keeps it; deleting is refused while something refers to it, and says
// what; a deletion needs its confirmation.
func TestRetireAndDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newFormsSite(t, d)
		urp := s.operator(t, "urp@comune.example.it", "urp")
		cie := "/backoffice/servizi/carta-identita-elettronica"
		public := "/servizi/anagrafe-e-stato-civile/carta-identita-elettronica"

		if res, _ := s.postForm(t, cie+"/ritira", urp, url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("retire: %d", res.StatusCode)
		}
		for _, p := range []string{public, "/api/v1/services/carta-identita-elettronica"} {
			if res, _ := get(t, s.srv.URL+p); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s of a retired service: %d", p, res.StatusCode)
			}
		}
		for _, p := range []string{"/servizi", "/servizi/anagrafe-e-stato-civile", "/api/v1/services", "/amministrazione/uffici/anagrafe", "/servizi?q=carta+identita"} {
			if _, body := get(t, s.srv.URL+p); strings.Contains(body, "carta-identita-elettronica") {
				t.Errorf("%s still lists the retired service", p)
			}
		}
		res, page := s.pageAs(t, cie, urp)
		if res.StatusCode != 200 || !strings.Contains(page, "Ritirato") || !strings.Contains(page, `action="`+cie+`/ripubblica"`) {
			t.Errorf("the back office lost the retired service: %d", res.StatusCode)
		}
		if res, _ := s.postForm(t, cie+"/ripubblica", urp, url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("restore: %d", res.StatusCode)
		}
		if res, _ := get(t, s.srv.URL+public); res.StatusCode != 200 {
			t.Errorf("restored service: %d", res.StatusCode)
		}

		// Deleting: the confirmation first; then refused while a form of
		// the forms library belongs to the service.
		res, page = s.postForm(t, cie+"/elimina", urp, url.Values{})
		if res.StatusCode != http.StatusUnprocessableEntity || fieldError(page, "confirm") != "Per eliminare, spunta la conferma." {
			t.Errorf("delete without confirmation: %d %q", res.StatusCode, fieldError(page, "confirm"))
		}
		formID := s.createForm(t, urp, "carta-identita-elettronica", "Richiesta CIE per minori", "cie.pdf", attachmentstest.PDF("CIE"))
		res, page = s.postForm(t, cie+"/elimina", urp, url.Values{"confirm": {"1"}})
		if res.StatusCode != http.StatusConflict || !strings.Contains(page, `<a href="/backoffice/moduli/`+formID+`">Il modulo «Richiesta CIE per minori»</a>`) {
			t.Errorf("delete of a service a form belongs to: %d", res.StatusCode)
		}
		if res, _ := get(t, s.srv.URL+public); res.StatusCode != 200 {
			t.Errorf("a refused deletion removed the service: %d", res.StatusCode)
		}

		// Offices: Anagrafe is named by published services.
		ana := "/backoffice/uffici/anagrafe"
		if res, page := s.postForm(t, ana+"/ritira", urp, url.Values{}); res.StatusCode != http.StatusConflict ||
			!strings.Contains(page, `<a href="/backoffice/servizi/carta-identita-elettronica">Il servizio «Carta d&#39;identità elettronica»</a>`) {
			t.Errorf("retire an office services name: %d", res.StatusCode)
		}
		if res, _ := s.postForm(t, ana+"/elimina", urp, url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusConflict {
			t.Errorf("delete an office services name: %d", res.StatusCode)
		}
		if res, _ := get(t, s.srv.URL+"/amministrazione/uffici/anagrafe"); res.StatusCode != 200 {
			t.Errorf("refused actions removed the office: %d", res.StatusCode)
		}

		// A new office with a service: the service retired, then the
		// office; the service cannot be put back while its office is
		// retired; the office, once no service names it, is deleted.
		_, form := s.pageAs(t, "/backoffice/uffici/nuovo", urp)
		v := formValues(t, form, "/backoffice/uffici/nuovo")
		for k, x := range map[string]string{"id": "punto-prestito-nord", "name": "Punto prestito Nord", "description": "Prestito e restituzione dei libri.",
			"address": "Via Verdi 3", "postal_code": "20092", "phone": "02 6602 9999", "hours.week.tuesday": "15:00-18:00", "action": "save"} {
			v.Set(k, x)
		}
		if res, page := s.postForm(t, "/backoffice/uffici/nuovo", urp, v); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create office: %d %s", res.StatusCode, page)
		}
		_, form = s.pageAs(t, "/backoffice/servizi/nuovo", urp)
		sv := formValues(t, form, "/backoffice/servizi/nuovo")
		for k, x := range map[string]string{"id": "prestito-nord", "title": "Prestito al punto Nord", "summary": "Libri in prestito vicino a casa.",
			"category": "cultura-e-tempo-libero", "audience": "Tutti.", "how_to": "Vieni con la tessera.", "needed": "La tessera.",
			"outcome": "Il libro.", "deadlines": "Subito.", "max_days": "0", "conditions": "Quelle della biblioteca.", "channel": "desk"} {
			sv.Set(k, x)
		}
		sv["offices"], sv["topics"] = []string{"punto-prestito-nord"}, []string{"tempo-libero"}
		if res, page := s.postForm(t, "/backoffice/servizi/nuovo", urp, sv); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create service: %d %s", res.StatusCode, page)
		}
		nord, prestito := "/backoffice/uffici/punto-prestito-nord", "/backoffice/servizi/prestito-nord"
		if res, _ := s.postForm(t, prestito+"/ritira", urp, url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("retire the service: %d", res.StatusCode)
		}
		if res, _ := s.postForm(t, nord+"/ritira", urp, url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("retire the office no published service names: %d", res.StatusCode)
		}
		for _, p := range []string{"/amministrazione/uffici/punto-prestito-nord", "/api/v1/offices/punto-prestito-nord", "/offices/punto-prestito-nord/hours.ics"} {
			if res, _ := get(t, s.srv.URL+p); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s of a retired office: %d", p, res.StatusCode)
			}
		}
		for _, p := range []string{"/amministrazione/uffici", "/api/v1/offices", "/dove-e-quando?quando=libero&giorno=" + weekdayAfter(7).String() + "&dalle=08:00&alle=19:00"} {
			if _, body := get(t, s.srv.URL+p); strings.Contains(body, "punto-prestito-nord") {
				t.Errorf("%s still lists the retired office", p)
			}
		}
		if res, page := s.postForm(t, prestito+"/ripubblica", urp, url.Values{}); res.StatusCode != http.StatusConflict ||
			!strings.Contains(fieldError(page, "offices"), "«Punto prestito Nord» è ritirato") {
			t.Errorf("restoring a service whose office is retired: %d %q", res.StatusCode, fieldError(page, "offices"))
		}
		if res, page := s.postForm(t, nord+"/elimina", urp, url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusConflict ||
			!strings.Contains(page, "Prestito al punto Nord") {
			t.Errorf("delete an office a retired service names: %d", res.StatusCode)
		}
		if res, _ := s.postForm(t, prestito+"/elimina", urp, url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete the service: %d", res.StatusCode)
		}
		if res, _ := s.postForm(t, nord+"/elimina", urp, url.Values{"confirm": {"1"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete the office: %d", res.StatusCode)
		}
		for _, p := range []string{nord, prestito} {
			if res, _ := s.pageAs(t, p, urp); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s after deletion: %d", p, res.StatusCode)
			}
		}
		log := &audit.Log{DB: d}
		for action, n := range map[string]int{"catalog.service.retired": 2, "catalog.service.restored": 1, "catalog.office.retired": 1,
			"catalog.service.deleted": 1, "catalog.office.deleted": 1} {
			if recs, _ := log.List(context.Background(), audit.ListFilter{Action: action, Limit: 10}); len(recs) != n {
				t.Errorf("audit %s: %d entries, want %d", action, len(recs), n)
			}
		}
	})
}
