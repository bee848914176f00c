package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/web"
)

// Staff pages (those only operators of some role may open) are tools, not
// pages for residents: no clarity rating (its answers would be about the
// back office) and no "Contatta il Comune" box. An operator finds the back
// office from the header of every page; a resident or a visitor does not
// see the link. Roles are named in the page's language.
func TestStaffPagesAndTheWayToTheBackOffice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if err := ensureDemoCatalog(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		s := newIDSite(t, d)
		base := s.plain.URL
		const link = `href="/backoffice" data-element="backoffice-link"`
		admin := operatorBrowser(t, s, "admin@comune.example.it", "admin", "urp")
		for _, p := range []string{"/backoffice", "/backoffice/operatori", "/backoffice/valutazioni", "/backoffice/catalogo"} {
			res, body := admin.do("GET", base+p, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d", p, res.StatusCode)
			}
			if strings.Contains(body, `data-element="feedback"`) || strings.Contains(body, `id="contacts-title"`) {
				t.Errorf("the staff page %s carries the clarity rating or the contacts box", p)
			}
			if !strings.Contains(body, link) {
				t.Errorf("the staff page %s has no link to the back office in its header", p)
			}
		}
		_, home := admin.do("GET", base+"/", nil)
		if !strings.Contains(home, link) || !strings.Contains(home, `data-element="feedback"`) || !strings.Contains(home, `id="contacts-title"`) {
			t.Error("an operator on the home page: the back-office link, the rating and the contacts box are all due")
		}
		_, ops := admin.do("GET", base+"/backoffice/operatori", nil)
		for _, want := range []string{">Amministrazione<", ">Sportello<", ">Ufficio Relazioni con il Pubblico<", ">Statistiche<"} {
			if !strings.Contains(ops, want) {
				t.Errorf("the operators' page does not name a role %q", want)
			}
		}
		if strings.Contains(ops, `<th scope="col">desk</th>`) {
			t.Error("the operators' page names a role by its code")
		}
		_, profile := admin.do("GET", base+"/profilo", nil)
		if !strings.Contains(profile, "Amministrazione, Ufficio Relazioni con il Pubblico") {
			t.Error("the profile does not name the operator's roles in Italian")
		}

		for _, role := range identity.Roles {
			for _, lang := range web.Languages {
				if id := "identity.role." + role; s.apps.portal.I18n.T(lang, id) == id {
					t.Errorf("the role %s has no name in %s", role, lang)
				}
			}
		}

		resident := residentBrowser(t, s, "anna@example.org", "Una-Frase-Lunga-1")
		for _, b := range []*browser{resident, s.browser(t, nil)} {
			if _, body := b.do("GET", base+"/", nil); strings.Contains(body, `href="/backoffice"`) {
				t.Error("a resident or a visitor sees a link to the back office")
			}
		}
	})
}

// An operator replaces the first password the CLI printed from their
// profile; the old one stops working, the new one (with their code) works.
func TestOperatorChangesTheFirstPassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newIDSite(t, d)
		base := s.plain.URL
		op := operatorBrowser(t, s, "urp@comune.example.it", "urp")
		const next = "Una-Frase-Solo-Mia-2026"
		if res, body := op.do("POST", base+"/profilo/password", url.Values{"current": {"Sportello-Prima-Volta-1"}, "password": {next}, "password2": {next}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("an operator's change of password: %d\n%s", res.StatusCode, body)
		}
		fresh := s.browser(t, nil)
		if _, body := fresh.do("POST", base+"/accedi", url.Values{"email": {"urp@comune.example.it"}, "password": {"Sportello-Prima-Volta-1"}}); strings.Contains(body, `name="code"`) {
			t.Error("the first password still opens the way to the code")
		}
		if _, body := fresh.do("POST", base+"/accedi", url.Values{"email": {"urp@comune.example.it"}, "password": {next}}); !strings.Contains(body, `name="code"`) {
			t.Error("the new password does not lead to the code")
		}
	})
}
