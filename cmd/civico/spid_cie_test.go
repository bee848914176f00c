package main

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/spid"
	"github.com/civico-pa/civico/internal/spid/spidtest"
)

// cieShaped makes a SPID-shaped answer CIE-shaped: the Issuers without
// Format and no placeOfBirth (the eIDAS minimum data set only).
func cieShaped(doc *etree.Document) {
	doc.Root().FindElement("./Issuer").RemoveAttr("Format")
	doc.Root().FindElement("./Assertion/Issuer").RemoveAttr("Format")
	for _, a := range doc.Root().FindElements("./Assertion/AttributeStatement/Attribute") {
		if a.SelectAttrValue("Name", "") == "placeOfBirth" {
			a.Parent().RemoveChild(a)
		}
	}
}

// TestCIESAMLProfile runs the CIE's SAML profile beside SPID's: the same
// answer judged by each provider's profile (the final status after
// redirects), and the CIE's request always forcing authentication.
func TestCIESAMLProfile(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSPIDSite(t, d)
		spidIdP := s.idp
		cieIdP, err := spidtest.New("https://idserver.cie.test/idp/profile/SAML2/POST/SSO", "https://idserver.cie.test")
		if err != nil {
			t.Fatal(err)
		}
		idps, err := spid.ParseMetadata(cieIdP.Metadata("CIE ID di prova"), spid.CIE.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Tx(context.Background(), func(tx *sql.Tx) error { return (&spid.Registry{DB: d}).Put(context.Background(), tx, idps) }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.idp = spidIdP })

		t.Run("the button", func(t *testing.T) {
			_, body := s.spidBrowser(t).do("GET", s.plain.URL+"/accedi", nil)
			if !strings.Contains(body, `btn-cie" href="`+spid.PathLogin+`?idp=https%3A%2F%2Fidserver.cie.test%2Fidp`) || strings.Count(body, "CIE ID di prova") != 0 {
				t.Fatalf("no CIE button, or the CIE provider in SPID's list:\n%s", body)
			}
		})

		cases := []struct {
			name     string
			idp      *spidtest.IdP
			level    string
			classRef string
			edit     func(doc *etree.Document)
			ok       bool
		}{
			{name: "CIE: Issuers without Format, no placeOfBirth", idp: cieIdP, edit: cieShaped, ok: true},
			{name: "CIE: level 1", idp: cieIdP, level: "low", classRef: spid.SpidL1, edit: cieShaped, ok: true},
			{name: "SPID: the same CIE-shaped answer", idp: spidIdP, edit: cieShaped},
			{name: "CIE: no dateOfBirth", idp: cieIdP, edit: func(doc *etree.Document) {
				cieShaped(doc)
				for _, a := range doc.Root().FindElements("./Assertion/AttributeStatement/Attribute") {
					if a.SelectAttrValue("Name", "") == "dateOfBirth" {
						a.Parent().RemoveChild(a)
					}
				}
			}},
			{name: "SPID: no placeOfBirth nor dateOfBirth is still a login", idp: spidIdP, ok: true, edit: func(doc *etree.Document) {
				for _, a := range doc.Root().FindElements("./Assertion/AttributeStatement/Attribute") {
					if n := a.SelectAttrValue("Name", ""); n == "dateOfBirth" || n == "placeOfBirth" {
						a.Parent().RemoveChild(a)
					}
				}
			}},
			{name: "CIE: Assertion Issuer Format not entity", idp: cieIdP, edit: func(doc *etree.Document) {
				cieShaped(doc)
				doc.Root().FindElement("./Assertion/Issuer").CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
			}},
			{name: "CIE: level below the one asked", idp: cieIdP, level: "substantial", classRef: spid.SpidL1, edit: cieShaped},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s.idp = c.idp
				b := s.spidBrowser(t)
				level := c.level
				if level == "" {
					level = "substantial"
				}
				req := s.start(t, b, level, "/area-personale")
				if c.idp == cieIdP && (req.ForceAuthn != "true" || req.Destination != cieIdP.SSOURL) {
					t.Fatalf("CIE request: ForceAuthn %q Destination %q", req.ForceAuthn, req.Destination)
				}
				classRef := c.classRef
				if classRef == "" {
					classRef = spid.SpidL2
				}
				p := s.person(t)
				before := s.count(t, "accounts")
				doc := c.idp.Response(s.answer(req, p, classRef))
				c.edit(doc)
				xml, err := c.idp.Sign(doc, true, true)
				if err != nil {
					t.Fatal(err)
				}
				status, u, _ := s.post(t, b, xml, req.RelayState)
				if !c.ok {
					if status < 400 || status > 499 || s.count(t, "accounts") != before {
						t.Fatalf("want a 4xx and no account, got %d at %s", status, u)
					}
					return
				}
				if status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
					t.Fatalf("want 200 at the personal area, got %d at %s", status, u)
				}
				_, me := b.me(s.plain.URL)
				wantMethod, wantSource := "spid", identity.SourceSPID
				if c.idp == cieIdP {
					wantMethod, wantSource = "cie", identity.SourceCIE
				}
				if me.Method != wantMethod || me.Sources["name"] != wantSource {
					t.Fatalf("me: %+v", me)
				}
				if level != "low" && me.FiscalCode != strings.TrimPrefix(p.FiscalNumber, "TINIT-") {
					t.Fatalf("me: %+v", me)
				}
			})
		}
	})
}
