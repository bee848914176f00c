package spid

import (
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/spid/spidtest"
)

// eidasAnswer is the node's answer to a request at asked, at classRef.
func eidasAnswer(t *testing.T, idp *spidtest.IdP, sp *SP, asked assurance.Level, classRef string, now time.Time) (*Answer, *Request) {
	t.Helper()
	req := &Request{ID: "_request", IdP: idp.EntityID, Level: asked, IssuedAt: now, ExpiresAt: now.Add(RequestTTL)}
	doc := idp.Response(spidtest.Answer{Request: &spidtest.Request{ID: req.ID, IssueInstant: samlTime(now)}, ACS: sp.ACS(), Audience: sp.EntityID(),
		ClassRef: classRef, Now: now, Person: spidtest.Person{FiscalNumber: "DE/IT/0123", Name: "Anna", FamilyName: "Müller", DateOfBirth: "1980-01-01"}})
	for _, a := range doc.FindElements("//Attribute") {
		switch a.SelectAttrValue("Name", "") {
		case "fiscalNumber":
			a.CreateAttr("Name", "spidCode")
		case "placeOfBirth":
			a.Parent().RemoveChild(a)
		}
	}
	xml, err := idp.Sign(doc, true, true)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := ReadAnswer(spidtest.Encode(xml))
	if err != nil {
		t.Fatal(err)
	}
	return ans, req
}

// The eIDAS profile never logs in below substantial, whatever the request
// asked (a request at low is not made, but were one in flight), and the
// same answer under SPID's profile proves nothing (no fiscal number).
func TestEIDASProfileLevelsAndIdentifier(t *testing.T) {
	idp, err := spidtest.New("https://sp-proxy.example/idpit", "https://sp-proxy.example")
	if err != nil {
		t.Fatal(err)
	}
	sp := &SP{BaseURL: "https://servizi.comune.example"}
	reg := &IdP{EntityID: idp.EntityID, Certs: idp.CertList()}
	now := time.Now().UTC()
	cases := []struct {
		asked    assurance.Level
		classRef string
		profile  Profile
		ok       bool
	}{
		{assurance.Substantial, SpidL2, EIDAS, true},
		{assurance.High, SpidL3, EIDAS, true},
		{assurance.Low, SpidL2, EIDAS, false},
		{assurance.Low, SpidL1, EIDAS, false},
		{assurance.Substantial, SpidL1, EIDAS, false},
		{assurance.Substantial, SpidL2, SPID, false},
	}
	for _, c := range cases {
		ans, req := eidasAnswer(t, idp, sp, c.asked, c.classRef, now)
		o, err := Validate(ans, Expect{SP: sp, Request: req, IdP: reg, Profile: c.profile, Now: now})
		if c.ok != (err == nil) {
			t.Fatalf("%s asked %s answered %s: %v", c.profile.Name, c.asked, c.classRef, err)
		}
		if c.ok && (o.EIDASID != "DE/IT/0123" || o.FiscalCode != "" || o.Profile != "eidas") {
			t.Fatalf("outcome %+v", o)
		}
	}
}
