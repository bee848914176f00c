package spid

import (
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/spid/spidtest"
)

// BenchmarkValidate is the CPU an answer costs the assertion consumer: the
// decoding, both signatures and every check (the database's part is the
// request's lookup and the one transaction that answers it).
func BenchmarkValidate(b *testing.B) {
	idp, err := spidtest.New("https://idp.example", "https://idp.example")
	if err != nil {
		b.Fatal(err)
	}
	sp := &SP{BaseURL: "https://servizi.comune.example"}
	now := time.Now().UTC()
	req := &Request{ID: "_request", IdP: idp.EntityID, Level: assurance.Substantial, IssuedAt: now, ExpiresAt: now.Add(RequestTTL)}
	sreq := &spidtest.Request{ID: req.ID, IssueInstant: samlTime(now)}
	xml, err := idp.Sign(idp.Response(spidtest.Answer{Request: sreq, ACS: sp.ACS(), Audience: sp.EntityID(), ClassRef: SpidL2, Now: now,
		Person: spidtest.Person{FiscalNumber: "TINIT-RSSMRA80A01C707K", Name: "Mario", FamilyName: "Rossi", DateOfBirth: "1980-01-01", PlaceOfBirth: "C707"}}), true, true)
	if err != nil {
		b.Fatal(err)
	}
	posted := spidtest.Encode(xml)
	reg := &IdP{EntityID: idp.EntityID, Certs: idp.CertList()}
	b.ReportAllocs()
	for b.Loop() {
		a, err := ReadAnswer(posted)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Validate(a, Expect{SP: sp, Request: req, IdP: reg, Profile: SPID, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateEIDAS is the same for the eIDAS node's answer (the
// identifier read and checked, no fiscal number).
func BenchmarkValidateEIDAS(b *testing.B) {
	idp, err := spidtest.New("https://sp-proxy.example/idpit", "https://sp-proxy.example")
	if err != nil {
		b.Fatal(err)
	}
	sp := &SP{BaseURL: "https://servizi.comune.example"}
	now := time.Now().UTC()
	req := &Request{ID: "_request", IdP: idp.EntityID, Level: assurance.Substantial, IssuedAt: now, ExpiresAt: now.Add(RequestTTL)}
	sreq := &spidtest.Request{ID: req.ID, IssueInstant: samlTime(now)}
	doc := idp.Response(spidtest.Answer{Request: sreq, ACS: sp.ACS(), Audience: sp.EntityID(), ClassRef: SpidL2, Now: now,
		Person: spidtest.Person{FiscalNumber: "TINIT-RSSMRA80A01C707K", Name: "Anna", FamilyName: "Müller", DateOfBirth: "1980-01-01"}})
	for _, a := range doc.FindElements("//Attribute") {
		switch a.SelectAttrValue("Name", "") {
		case "fiscalNumber":
			a.CreateAttr("Name", "spidCode")
			a.SelectElement("AttributeValue").SetText("DE/IT/0123456789abcdef")
		case "placeOfBirth":
			a.Parent().RemoveChild(a)
		}
	}
	xml, err := idp.Sign(doc, true, true)
	if err != nil {
		b.Fatal(err)
	}
	posted := spidtest.Encode(xml)
	reg := &IdP{EntityID: idp.EntityID, Certs: idp.CertList()}
	b.ReportAllocs()
	for b.Loop() {
		a, err := ReadAnswer(posted)
		if err != nil {
			b.Fatal(err)
		}
		o, err := Validate(a, Expect{SP: sp, Request: req, IdP: reg, Profile: EIDAS, Now: now})
		if err != nil || o.EIDASID != "DE/IT/0123456789abcdef" || o.FiscalCode != "" {
			b.Fatal(o, err)
		}
	}
}
