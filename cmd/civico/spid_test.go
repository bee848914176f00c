package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/payments"
	"github.com/civico-pa/civico/internal/spid"
	"github.com/civico-pa/civico/internal/spid/spidtest"
	"github.com/civico-pa/civico/internal/town"
)

// spidSite is the portal with a SPID test identity provider on its
// registry (imported from metadata, as `civico spid registry import`
// does), the provider living inside the test.
type spidSite struct {
	*idSite
	idp     *spidtest.IdP
	clients atomic.Int32
	codes   atomic.Int32
}

func newSPIDSite(t *testing.T, d *db.DB) *spidSite {
	t.Helper()
	return newSPIDSiteOf(t, d, false)
}

// newSPIDSiteOf is a spidSite whose provider takes requests by HTTP-POST
// only when postOnly.
func newSPIDSiteOf(t *testing.T, d *db.DB, postOnly bool) *spidSite {
	t.Helper()
	s := &spidSite{idSite: newIDSite(t, d)}
	// As serve does at start.
	if err := s.apps.civico.spid.Ensure(context.Background(), town.Demo()); err != nil {
		t.Fatal(err)
	}
	idp, err := spidtest.New("https://idp.spid.test", "https://idp.spid.test")
	if err != nil {
		t.Fatal(err)
	}
	idp.PostOnly = postOnly
	s.idp = idp
	idps, err := spid.ParseMetadata(idp.Metadata("Gestore di prova"), "spid")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Tx(context.Background(), func(tx *sql.Tx) error { return (&spid.Registry{DB: d}).Put(context.Background(), tx, idps) }); err != nil {
		t.Fatal(err)
	}
	return s
}

// browser is a new browser from a client address of its own (each its
// own budgets).
func (s *spidSite) spidBrowser(t *testing.T) *browser {
	b := s.browser(t, nil)
	n := s.clients.Add(1)
	b.from = fmt.Sprintf("10.77.%d.%d", n/200, n%200+1)
	return b
}

// person is a new person with a valid fiscal code.
func (s *spidSite) person(t *testing.T) spidtest.Person {
	n := int(s.codes.Add(1))
	first15 := fmt.Sprintf("SPDTST%02dA%02dC707", 50+n/28, 1+n%28)
	c, err := cf.CheckChar(first15)
	if err != nil {
		t.Fatal(err)
	}
	return spidtest.Person{FiscalNumber: "TINIT-" + first15 + string(c), Name: "Prova", FamilyName: fmt.Sprintf("Spid%d", n), DateOfBirth: "1950-01-01", PlaceOfBirth: "C707"}
}

// start asks the portal for a login at level through the provider and
// reads the signed request the browser is sent with.
func (s *spidSite) start(t *testing.T, b *browser, level, next string) *spidtest.Request {
	t.Helper()
	res, body := b.do("GET", s.plain.URL+spid.PathLogin+"?"+url.Values{"idp": {s.idp.EntityID}, "livello": {level}, "next": {next}}.Encode(), nil)
	key, err := s.apps.civico.spid.Web.SP.Keys.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.idp.PostOnly {
		// A page with a form the browser posts to the provider, which
		// the page's policy lets it post to.
		form := regexp.MustCompile(`<form method="post" action="([^"]+)">[\s\S]*?name="SAMLRequest" value="([^"]+)">\s*<input type="hidden" name="RelayState" value="([^"]+)">`).FindStringSubmatch(body)
		if res.StatusCode != http.StatusOK || form == nil || html.UnescapeString(form[1]) != s.idp.SSOURL ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "form-action 'self' https://idp.spid.test;") {
			t.Fatalf("start by HTTP-POST: %d %q\n%s", res.StatusCode, res.Header.Get("Content-Security-Policy"), body)
		}
		req, err := spidtest.ReadPost(html.UnescapeString(form[2]), html.UnescapeString(form[3]), key.Cert)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	if !strings.HasPrefix(loc.String(), s.idp.SSOURL+"?") {
		t.Fatalf("start went to %s", loc)
	}
	req, err := spidtest.ReadRedirect(loc, "SAMLRequest", key.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// answer is the baseline answer to req for p.
func (s *spidSite) answer(req *spidtest.Request, p spidtest.Person, classRef string) spidtest.Answer {
	sp := s.apps.civico.spid.Web.SP
	return spidtest.Answer{Request: req, ACS: sp.ACS(), Audience: sp.EntityID(), Person: p, ClassRef: classRef, Now: time.Now()}
}

// post posts a response to the ACS as the provider's page does (from its
// own origin) and follows the redirects: the final status, URL and body.
func (s *spidSite) post(t *testing.T, b *browser, xml []byte, relayState string) (int, string, string) {
	t.Helper()
	form := url.Values{"SAMLResponse": {spidtest.Encode(xml)}, "RelayState": {relayState}}
	req, _ := http.NewRequest("POST", s.plain.URL+spid.PathACS, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://idp.spid.test")
	req.Header.Set("X-Forwarded-For", b.from)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusSeeOther {
		return res.StatusCode, s.plain.URL + spid.PathACS, string(body)
	}
	u, final, page, _ := b.follow(s.plain.URL+res.Header.Get("Location"), "")
	return final.StatusCode, u, page
}

// The elements a case edits.
func assertionEl(doc *etree.Document) *etree.Element {
	return doc.Root().FindElement("./Assertion")
}
func find(doc *etree.Document, path string) *etree.Element { return doc.Root().FindElement(path) }
func drop(el *etree.Element) {
	if el != nil && el.Parent() != nil {
		el.Parent().RemoveChild(el)
	}
}
func setAttr(el *etree.Element, k, v string) { el.CreateAttr(k, v) }
func delAttr(el *etree.Element, k string)    { el.RemoveAttr(k) }

type spidCase struct {
	name  string
	level string // asked; substantial when empty
	// classRef answered; SpidL2 when empty.
	classRef string
	// edit changes the answer before it is signed; signed changes the
	// signed XML (wrapping); noRespSig, noAssertSig, otherKey sign
	// otherwise.
	edit                             func(doc *etree.Document, a *spidtest.Answer)
	signed                           func(t *testing.T, s *spidSite, doc *etree.Document) []byte
	noRespSig, noAssertSig, otherKey bool
	ok                               bool
	status                           int    // the 4xx expected (any 4xx when 0)
	page                             string // text the final page shows
	failure, failureMessage          string
}

// unregistered is a key no registered provider holds.
var unregistered = func() *rsa.PrivateKey { k, _ := rsa.GenerateKey(rand.Reader, 2048); return k }()

func spidCases() []spidCase {
	const past, future = "2000-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
	ra := func(path string) func(doc *etree.Document, _ *spidtest.Answer) {
		return func(doc *etree.Document, _ *spidtest.Answer) { drop(find(doc, path)) }
	}
	at := func(path, k, v string) func(doc *etree.Document, _ *spidtest.Answer) {
		return func(doc *etree.Document, _ *spidtest.Answer) {
			el := doc.Root()
			if path != "" {
				el = find(doc, path)
			}
			if v == "\x00" {
				delAttr(el, k)
			} else {
				setAttr(el, k, v)
			}
		}
	}
	text := func(path, v string) func(doc *etree.Document, _ *spidtest.Answer) {
		return func(doc *etree.Document, _ *spidtest.Answer) { find(doc, path).SetText(v) }
	}
	both := func(fs ...func(*etree.Document, *spidtest.Answer)) func(*etree.Document, *spidtest.Answer) {
		return func(doc *etree.Document, a *spidtest.Answer) {
			for _, f := range fs {
				f(doc, a)
			}
		}
	}
	const absent = "\x00"
	const scd = "./Assertion/Subject/SubjectConfirmation/SubjectConfirmationData"
	return []spidCase{
		{name: "01 baseline", ok: true},
		{name: "01-NS without SessionIndex", ok: true, edit: func(doc *etree.Document, _ *spidtest.Answer) {
			delAttr(find(doc, "./Assertion/AuthnStatement"), "SessionIndex")
		}},
		{name: "02 nothing signed", noRespSig: true, noAssertSig: true},
		{name: "03 response signed, assertion not", noAssertSig: true},
		{name: "04 signed with an unregistered key", otherKey: true},
		{name: "05 unregistered key with its certificate in KeyInfo", otherKey: true},
		{name: "08 response ID empty", edit: at("", "ID", "")},
		{name: "09 response ID absent", edit: at("", "ID", absent)},
		{name: "10 response Version 1.0", edit: at("", "Version", "1.0")},
		{name: "11 IssueInstant empty", edit: both(at("", "IssueInstant", ""), at("./Assertion", "IssueInstant", ""), at("./Assertion/Conditions", "NotBefore", ""))},
		{name: "12 response IssueInstant absent", edit: at("", "IssueInstant", absent)},
		{name: "13 response IssueInstant date only", edit: at("", "IssueInstant", "2018-09-04")},
		{name: "14 IssueInstant before the request", edit: both(at("", "IssueInstant", "2018-01-01T00:00:00Z"), at("./Assertion", "IssueInstant", "2018-01-01T00:00:00Z"), at("./Assertion/Conditions", "NotBefore", "2018-01-01T00:00:00Z"))},
		{name: "15 IssueInstant in the future", edit: both(at("", "IssueInstant", future), at("./Assertion", "IssueInstant", future), at("./Assertion/Conditions", "NotBefore", future))},
		{name: "16 InResponseTo empty", edit: both(at("", "InResponseTo", ""), at(scd, "InResponseTo", ""))},
		{name: "17 InResponseTo absent", edit: both(at("", "InResponseTo", absent), at(scd, "InResponseTo", absent))},
		{name: "18 InResponseTo foreign", edit: both(at("", "InResponseTo", "_foreign"), at(scd, "InResponseTo", "_foreign"))},
		{name: "19 Destination empty", edit: at("", "Destination", "")},
		{name: "20 Destination absent", edit: at("", "Destination", absent)},
		{name: "21 Destination and Recipient elsewhere", edit: both(at("", "Destination", "https://sp.example/acs"), at(scd, "Recipient", "https://sp.example/acs"))},
		{name: "22/25 Status without StatusCode", edit: ra("./Status/StatusCode")},
		{name: "23 Status absent", edit: ra("./Status")},
		{name: "24 StatusCode Value empty", edit: at("./Status/StatusCode", "Value", "")},
		{name: "26 StatusCode unknown", edit: at("./Status/StatusCode", "Value", "urn:oasis:names:tc:SAML:2.0:status:Unknown")},
		{name: "27 response Issuer empty", edit: text("./Issuer", "")},
		{name: "28 response Issuer absent", edit: ra("./Issuer")},
		{name: "29 response Issuer another", edit: text("./Issuer", "https://other-idp.example")},
		{name: "30 response Issuer Format another", edit: at("./Issuer", "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient")},
		{name: "31 response Issuer without Format", edit: at("./Issuer", "Format", absent), ok: true},
		{name: "32 no Assertion", edit: ra("./Assertion")},
		{name: "33 assertion ID empty", edit: at("./Assertion", "ID", "")},
		{name: "34 assertion ID absent", edit: at("./Assertion", "ID", absent)},
		{name: "35 assertion Version 1.0", edit: at("./Assertion", "Version", "1.0")},
		{name: "36 assertion IssueInstant empty", edit: at("./Assertion", "IssueInstant", "")},
		{name: "37 assertion IssueInstant absent", edit: at("./Assertion", "IssueInstant", absent)},
		{name: "38 assertion IssueInstant malformed", edit: at("./Assertion", "IssueInstant", "2018-09-06 16:00")},
		{name: "39 assertion IssueInstant before the request", edit: at("./Assertion", "IssueInstant", past)},
		{name: "40 assertion IssueInstant in the future", edit: at("./Assertion", "IssueInstant", future)},
		{name: "41 Subject empty", edit: func(doc *etree.Document, _ *spidtest.Answer) {
			s := find(doc, "./Assertion/Subject")
			for _, c := range s.ChildElements() {
				s.RemoveChild(c)
			}
		}},
		{name: "42 Subject absent", edit: ra("./Assertion/Subject")},
		{name: "43 NameID without value", edit: both(text("./Assertion/Subject/NameID", ""), at("./Assertion/Subject/NameID", "NameQualifier", ""))},
		{name: "44 NameID absent", edit: ra("./Assertion/Subject/NameID")},
		{name: "45 NameID Format empty", edit: at("./Assertion/Subject/NameID", "Format", "")},
		{name: "46 NameID Format absent", edit: at("./Assertion/Subject/NameID", "Format", absent)},
		{name: "47 NameID Format persistent", edit: at("./Assertion/Subject/NameID", "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")},
		{name: "48 NameQualifier empty", edit: at("./Assertion/Subject/NameID", "NameQualifier", "")},
		{name: "49 NameQualifier absent", edit: at("./Assertion/Subject/NameID", "NameQualifier", absent)},
		{name: "51/56 SubjectConfirmationData absent", edit: ra(scd)},
		{name: "52 SubjectConfirmation absent", edit: ra("./Assertion/Subject/SubjectConfirmation")},
		{name: "53 Method empty", edit: at("./Assertion/Subject/SubjectConfirmation", "Method", "")},
		{name: "54 Method absent", edit: at("./Assertion/Subject/SubjectConfirmation", "Method", absent)},
		{name: "55 Method holder-of-key", edit: at("./Assertion/Subject/SubjectConfirmation", "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")},
		{name: "57 Recipient empty", edit: at(scd, "Recipient", "")},
		{name: "58 Recipient absent", edit: at(scd, "Recipient", absent)},
		{name: "59 Recipient elsewhere", edit: at(scd, "Recipient", "https://sp.example/acs")},
		{name: "60 Data InResponseTo empty", edit: at(scd, "InResponseTo", "")},
		{name: "61 Data InResponseTo absent", edit: at(scd, "InResponseTo", absent)},
		{name: "62 Data InResponseTo foreign", edit: at(scd, "InResponseTo", "_foreign")},
		{name: "63 Data NotOnOrAfter empty", edit: at(scd, "NotOnOrAfter", "")},
		{name: "64 Data NotOnOrAfter absent", edit: at(scd, "NotOnOrAfter", absent)},
		{name: "65 Data NotOnOrAfter malformed", edit: at(scd, "NotOnOrAfter", "2018.09.18")},
		{name: "66 Data NotOnOrAfter past", edit: at(scd, "NotOnOrAfter", past)},
		{name: "67 assertion Issuer empty", edit: text("./Assertion/Issuer", "")},
		{name: "68 assertion Issuer absent", edit: ra("./Assertion/Issuer")},
		{name: "69 assertion Issuer another", edit: text("./Assertion/Issuer", "https://other-idp.example")},
		{name: "70 assertion Issuer Format empty", edit: at("./Assertion/Issuer", "Format", "")},
		{name: "71 assertion Issuer Format absent", edit: at("./Assertion/Issuer", "Format", absent)},
		{name: "72 assertion Issuer Format another", edit: at("./Assertion/Issuer", "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient")},
		{name: "73/84 AudienceRestriction absent", edit: ra("./Assertion/Conditions/AudienceRestriction")},
		{name: "74 Conditions absent", edit: ra("./Assertion/Conditions")},
		{name: "75 NotBefore empty", edit: at("./Assertion/Conditions", "NotBefore", "")},
		{name: "76 NotBefore absent", edit: at("./Assertion/Conditions", "NotBefore", absent)},
		{name: "77 NotBefore malformed", edit: at("./Assertion/Conditions", "NotBefore", "2018/09/10")},
		{name: "78 NotBefore future", edit: at("./Assertion/Conditions", "NotBefore", future)},
		{name: "79 NotOnOrAfter empty", edit: at("./Assertion/Conditions", "NotOnOrAfter", "")},
		{name: "80 NotOnOrAfter absent", edit: at("./Assertion/Conditions", "NotOnOrAfter", absent)},
		{name: "81 NotOnOrAfter malformed", edit: at("./Assertion/Conditions", "NotOnOrAfter", "10-09-2018")},
		{name: "82 NotOnOrAfter past", edit: at("./Assertion/Conditions", "NotOnOrAfter", past)},
		{name: "83/86 AudienceRestriction without Audience", edit: ra("./Assertion/Conditions/AudienceRestriction/Audience")},
		{name: "85 Audience empty", edit: text("./Assertion/Conditions/AudienceRestriction/Audience", "")},
		{name: "87 Audience another SP", edit: text("./Assertion/Conditions/AudienceRestriction/Audience", "https://other-sp.example/metadata")},
		{name: "88/91 AuthnStatement without AuthnContext", edit: ra("./Assertion/AuthnStatement/AuthnContext")},
		{name: "89 AuthnStatement absent", edit: ra("./Assertion/AuthnStatement")},
		{name: "90/93 AuthnContext without ClassRef", edit: ra("./Assertion/AuthnStatement/AuthnContext/AuthnContextClassRef")},
		{name: "92 ClassRef empty", edit: text("./Assertion/AuthnStatement/AuthnContext/AuthnContextClassRef", "")},
		{name: "94 SpidL1 to an L2 minimum request", classRef: spid.SpidL1, status: http.StatusForbidden, page: "livello"},
		{name: "94 SpidL1 to an L1 request", level: "low", classRef: spid.SpidL1, ok: true},
		{name: "95 SpidL2 to an L2 request", classRef: spid.SpidL2, ok: true},
		{name: "95 SpidL2 to an L3 request", level: "high", classRef: spid.SpidL2, status: http.StatusForbidden},
		{name: "96 SpidL3 to an L2 request", classRef: spid.SpidL3, ok: true},
		{name: "96 SpidL3 to an L1 request", level: "low", classRef: spid.SpidL3, ok: true},
		{name: "97 obsolete urn ClassRef", classRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL2"},
		{name: "98 AttributeStatement without Attribute", edit: func(doc *etree.Document, _ *spidtest.Answer) {
			st := find(doc, "./Assertion/AttributeStatement")
			for _, c := range st.ChildElements() {
				st.RemoveChild(c)
			}
		}},
		{name: "99 attribute without value", edit: func(doc *etree.Document, _ *spidtest.Answer) {
			at := find(doc, "./Assertion/AttributeStatement").CreateElement("saml:Attribute")
			at.CreateAttr("Name", "spidCode")
		}},
		{name: "100 assertion signed with an unregistered key", otherKey: true},
		{name: "103 attribute set differs (no fiscal number)", edit: func(doc *etree.Document, _ *spidtest.Answer) {
			for _, at := range find(doc, "./Assertion/AttributeStatement").ChildElements() {
				if at.SelectAttrValue("Name", "") == "fiscalNumber" {
					at.Parent().RemoveChild(at)
				}
			}
		}},
		{name: "104 anomaly 19", failure: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", failureMessage: "ErrorCode nr19", noRespSig: true, page: "troppe volte"},
		{name: "105 anomaly 20", failure: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", failureMessage: "ErrorCode nr20", noRespSig: true, page: "secondo fattore"},
		{name: "106 anomaly 21", failure: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", failureMessage: "ErrorCode nr21", noRespSig: true, page: "scaduto"},
		{name: "107 anomaly 22", failure: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", failureMessage: "ErrorCode nr22", noRespSig: true, page: "consenso"},
		{name: "108 anomaly 23", failure: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", failureMessage: "ErrorCode nr23", noRespSig: true, page: "sospesa"},
		{name: "111 anomaly 25 (signed)", failure: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", failureMessage: "ErrorCode nr25", page: "annullato"},
		{name: "anomaly 30", failure: "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed", failureMessage: "ErrorCode nr30", page: "professionale"},
		{name: "109 attributes without NameFormat", ok: true},
		{name: "110 IssueInstant with milliseconds", ok: true, edit: func(doc *etree.Document, _ *spidtest.Answer) {
			now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
			setAttr(doc.Root(), "IssueInstant", now)
			setAttr(find(doc, "./Assertion"), "IssueInstant", now)
		}},
		{name: "112 signed foreign element first, response by another key", signed: func(t *testing.T, s *spidSite, doc *etree.Document) []byte {
			foreign := etree.NewDocument()
			if err := foreign.ReadFromBytes(s.idp.Metadata("x")); err != nil {
				t.Fatal(err)
			}
			fr := foreign.Root()
			fr.CreateAttr("ID", "_meta")
			if err := spidtest.SignElement(fr, s.idp.Key, s.idp.Cert); err != nil {
				t.Fatal(err)
			}
			if err := spidtest.SignElement(doc.Root(), unregistered, s.otherCert(t)); err != nil {
				t.Fatal(err)
			}
			doc.Root().InsertChildAt(0, fr)
			b, _ := doc.WriteToBytes()
			return b
		}},
		{name: "113 as 112, assertion signature stale", signed: func(t *testing.T, s *spidSite, doc *etree.Document) []byte {
			if err := spidtest.SignElement(assertionEl(doc), s.idp.Key, s.idp.Cert); err != nil {
				t.Fatal(err)
			}
			find(doc, "./Assertion/Subject/NameID").SetText("_changed")
			foreign := etree.NewDocument()
			_ = foreign.ReadFromBytes(s.idp.Metadata("x"))
			fr := foreign.Root()
			fr.CreateAttr("ID", "_meta")
			_ = spidtest.SignElement(fr, s.idp.Key, s.idp.Cert)
			if err := spidtest.SignElement(doc.Root(), unregistered, s.otherCert(t)); err != nil {
				t.Fatal(err)
			}
			doc.Root().InsertChildAt(0, fr)
			b, _ := doc.WriteToBytes()
			return b
		}},
		{name: "xsw1 signed response copied inside the signature", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			orig := doc.Root().Copy()
			sig := doc.Root().FindElement("./Signature")
			sig.AddChild(orig)
			doc.Root().CreateAttr("ID", "_evil")
			evilAssertion(doc)
		})},
		{name: "xsw2 signed response beside the signature", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			orig := doc.Root().Copy()
			doc.Root().InsertChildAt(2, orig)
			doc.Root().CreateAttr("ID", "_evil")
			evilAssertion(doc)
		})},
		{name: "xsw3 unsigned assertion copy before the signed one", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			drop(doc.Root().FindElement("./Signature"))
			as := assertionEl(doc)
			ev := as.Copy()
			drop(ev.FindElement("./Signature"))
			ev.CreateAttr("ID", "_evil")
			ev.FindElement("./AttributeStatement/Attribute/AttributeValue").SetText("TINIT-RSSMRA80A01C707K")
			doc.Root().InsertChildAt(as.Index(), ev)
		})},
		{name: "xsw4 unsigned assertion wraps the signed one", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			drop(doc.Root().FindElement("./Signature"))
			as := assertionEl(doc)
			ev := as.Copy()
			drop(ev.FindElement("./Signature"))
			ev.CreateAttr("ID", "_evil")
			ev.FindElement("./AttributeStatement/Attribute/AttributeValue").SetText("TINIT-RSSMRA80A01C707K")
			doc.Root().RemoveChild(as)
			ev.AddChild(as)
			doc.Root().AddChild(ev)
		})},
		{name: "xsw5 signed assertion renamed, unsigned copy keeps the id", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			drop(doc.Root().FindElement("./Signature"))
			as := assertionEl(doc)
			ev := as.Copy()
			drop(ev.FindElement("./Signature"))
			ev.FindElement("./AttributeStatement/Attribute/AttributeValue").SetText("TINIT-RSSMRA80A01C707K")
			as.CreateAttr("ID", "_renamed")
			doc.Root().AddChild(ev)
		})},
		{name: "xsw6 as xsw5, copy inside the signature", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			drop(doc.Root().FindElement("./Signature"))
			as := assertionEl(doc)
			ev := as.Copy()
			drop(ev.FindElement("./Signature"))
			ev.FindElement("./AttributeStatement/Attribute/AttributeValue").SetText("TINIT-RSSMRA80A01C707K")
			as.CreateAttr("ID", "_renamed")
			as.FindElement("./Signature").AddChild(ev)
		})},
		{name: "xsw7 unsigned copy inside Extensions", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			drop(doc.Root().FindElement("./Signature"))
			as := assertionEl(doc)
			ev := as.Copy()
			drop(ev.FindElement("./Signature"))
			ev.FindElement("./AttributeStatement/Attribute/AttributeValue").SetText("TINIT-RSSMRA80A01C707K")
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(ev)
			doc.Root().InsertChildAt(1, ext)
			doc.Root().RemoveChild(as)
			doc.Root().AddChild(ev.Copy())
			ext.AddChild(as)
		})},
		{name: "xsw8 unsigned copy inside an Object of the signature", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			drop(doc.Root().FindElement("./Signature"))
			as := assertionEl(doc)
			ev := as.Copy()
			drop(ev.FindElement("./Signature"))
			ev.FindElement("./AttributeStatement/Attribute/AttributeValue").SetText("TINIT-RSSMRA80A01C707K")
			obj := as.FindElement("./Signature").CreateElement("ds:Object")
			obj.AddChild(ev)
		})},
		{name: "xslt transform in the response signature", signed: xsw(func(t *testing.T, s *spidSite, doc *etree.Document) {
			tr := doc.Root().FindElement("./Signature/SignedInfo/Reference/Transforms").CreateElement("ds:Transform")
			tr.CreateAttr("Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
			tr.CreateElement("xsl:stylesheet").CreateAttr("xmlns:xsl", "https://evil.example/x.xsl")
		})},
	}
}

// xsw signs the answer as the provider does, then wraps it.
func xsw(wrap func(t *testing.T, s *spidSite, doc *etree.Document)) func(t *testing.T, s *spidSite, doc *etree.Document) []byte {
	return func(t *testing.T, s *spidSite, doc *etree.Document) []byte {
		b, err := s.idp.Sign(doc, true, true)
		if err != nil {
			t.Fatal(err)
		}
		signed := etree.NewDocument()
		if err := signed.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		wrap(t, s, signed)
		out, _ := signed.WriteToBytes()
		return out
	}
}

// evilAssertion changes the outer (unsigned) assertion's person.
func evilAssertion(doc *etree.Document) {
	as := assertionEl(doc)
	drop(as.FindElement("./Signature"))
	as.CreateAttr("ID", "_evilassertion")
	as.FindElement("./AttributeStatement/Attribute/AttributeValue").SetText("TINIT-RSSMRA80A01C707K")
}

func (s *spidSite) otherCert(t *testing.T) *x509.Certificate {
	c, err := spidtest.SelfSigned(unregistered, "not a registered provider")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSPIDResponseCases runs one row per numbered case of SPID's SP test
// suites that applies to an SP: each edits (and re-signs) the provider's
// answer to a real request of the portal, posts it to the assertion
// consumer, follows the redirects, and judges the final status as the
// validator does: 200 for OK, a 4xx for KO.
func TestSPIDResponseCases(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSPIDSite(t, d)
		for _, c := range spidCases() {
			t.Run(c.name, func(t *testing.T) {
				b := s.spidBrowser(t)
				level := c.level
				if level == "" {
					level = "substantial"
				}
				req := s.start(t, b, level, "/area-personale")
				p := s.person(t)
				classRef := c.classRef
				if classRef == "" {
					classRef = spid.ClassRef(assurance.Level(level))
				}
				a := s.answer(req, p, classRef)
				a.Status, a.Message = c.failure, c.failureMessage
				doc := s.idp.Response(a)
				if c.edit != nil {
					c.edit(doc, &a)
				}
				var xml []byte
				var err error
				switch {
				case c.signed != nil:
					xml = c.signed(t, s, doc)
				case c.otherKey:
					xml, err = spidtest.SignWith(doc, true, true, unregistered, s.otherCert(t))
				default:
					xml, err = s.idp.Sign(doc, !c.noRespSig, !c.noAssertSig)
				}
				if err != nil {
					t.Fatal(err)
				}
				status, u, body := s.post(t, b, xml, req.RelayState)
				if c.ok {
					if status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
						t.Fatalf("want 200 at the personal area, got %d at %s", status, u)
					}
					code, me := b.me(s.plain.URL)
					got, _ := spid.LevelOf(classRef)
					if code != http.StatusOK || me.Method != "spid" || me.Assurance != string(got) || me.Sources["fiscal_code"] != identity.SourceSPID {
						t.Fatalf("me: %d %+v", code, me)
					}
					if got != assurance.Low && me.FiscalCode != strings.TrimPrefix(p.FiscalNumber, "TINIT-") {
						t.Fatalf("me: %+v", me)
					}
					return
				}
				if status < 400 || status > 499 || (c.status != 0 && status != c.status) {
					t.Fatalf("want a 4xx (%d), got %d at %s", c.status, status, u)
				}
				if c.page != "" && !strings.Contains(body, c.page) {
					t.Fatalf("the page does not say %q", c.page)
				}
				if code, _ := b.me(s.plain.URL); code == http.StatusOK {
					t.Fatal("logged in after a refused answer")
				}
			})
		}
	})
}

// login runs a whole SPID login at level asked, answered at classRef for
// p, returning where it ended.
func (s *spidSite) login(t *testing.T, b *browser, level, classRef, next string, p spidtest.Person) (int, string, string, []byte, *spidtest.Request) {
	t.Helper()
	req := s.start(t, b, level, next)
	xml, err := s.idp.Sign(s.idp.Response(s.answer(req, p, classRef)), true, true)
	if err != nil {
		t.Fatal(err)
	}
	status, u, body := s.post(t, b, xml, req.RelayState)
	return status, u, body, xml, req
}

// A provider whose metadata offers the HTTP-POST binding only is sent the
// request signed inside, by a form the resident posts (it works without
// JavaScript); the request is what SPID's rules want, and the login ends
// in the personal area. A request changed after signing is caught by the
// provider's check (ReadPost), as it would be by a real one.
func TestSPIDLoginByPostBinding(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSPIDSiteOf(t, d, true)
		b := s.spidBrowser(t)
		p := s.person(t)
		status, u, _, _, req := s.login(t, b, "substantial", spid.SpidL2, "/area-personale", p)
		if status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
			t.Fatalf("%d at %s", status, u)
		}
		if req.Destination != s.idp.SSOURL || req.ForceAuthn != "true" || req.ClassRef != spid.SpidL2 || req.IssuerQualifier == "" || req.ACSIndex != "0" {
			t.Errorf("the request: %+v", req)
		}
		if _, me := b.me(s.plain.URL); me.Assurance != "substantial" || me.Method != "spid" {
			t.Errorf("me: %+v", me)
		}
		key, err := s.apps.civico.spid.Web.SP.Keys.Signer(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(req.Raw), "<ds:Signature") {
			t.Fatal("the request as posted has no enveloped signature")
		}
		changed := strings.Replace(string(req.Raw), spid.SpidL2, spid.SpidL1, 1)
		if _, err := spidtest.ReadPost(spidtest.Encode([]byte(changed)), req.RelayState, key.Cert); err == nil {
			t.Error("a changed request passed the signature check")
		}
	})
}

// The journeys of a resident with SPID: the button on the login page, a
// level 2 login to the personal area, a page that needs level 2 refusing a
// level 1 login and stepping up, logout at the provider, and the attacks
// an outsider would try.
func TestSPIDJourneys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSPIDSite(t, d)
		ctx := context.Background()

		t.Run("the login page lists the providers, without JavaScript", func(t *testing.T) {
			b := s.spidBrowser(t)
			_, body := b.do("GET", s.plain.URL+"/accedi?next=/area-personale", nil)
			want := spid.PathLogin + "?" + url.Values{"idp": {s.idp.EntityID}, "livello": {"substantial"}, "next": {"/area-personale"}}.Encode()
			if !strings.Contains(body, "Entra con SPID") || !strings.Contains(body, "Gestore di prova") || !strings.Contains(body, strings.ReplaceAll(want, "&", "&amp;")) {
				t.Fatalf("no SPID button with the provider's link %s", want)
			}
		})

		t.Run("level 2 reaches the personal area at substantial, with what SPID proved", func(t *testing.T) {
			b := s.spidBrowser(t)
			p := s.person(t)
			status, u, _, _, _ := s.login(t, b, "substantial", spid.SpidL2, "/area-personale", p)
			if status != http.StatusOK || !strings.HasSuffix(u, "/area-personale") {
				t.Fatalf("%d at %s", status, u)
			}
			_, me := b.me(s.plain.URL)
			if me.Assurance != "substantial" || me.Method != "spid" || me.FiscalCode != strings.TrimPrefix(p.FiscalNumber, "TINIT-") ||
				me.FamilyName != p.FamilyName || me.Sources["name"] != identity.SourceSPID || me.Sources["sex_and_birth_date"] != identity.SourceSPID {
				t.Fatalf("me: %+v", me)
			}
			a, err := s.apps.identity.Store.ByFiscalCode(ctx, me.FiscalCode)
			if err != nil || a.BirthDate != p.DateOfBirth || a.BirthPlace != p.PlaceOfBirth || a.Email != "" {
				t.Fatalf("account: %+v %v", a, err)
			}
			// The pair is in the audit log.
			for _, action := range []string{"spid.request", "spid.response.ok"} {
				records, _ := (&audit.Log{DB: d}).List(ctx, audit.ListFilter{Action: action, Limit: 200})
				if len(records) == 0 {
					t.Fatalf("no %s in the audit log", action)
				}
			}
		})

		t.Run("applications get the level as acr and the proven fiscal code", func(t *testing.T) {
			b := s.ssoBrowser(t, nil)
			b.from = "10.78.0.1"
			p := s.person(t)
			if status, _, _, _, _ := s.login(t, b, "substantial", spid.SpidL2, "/", p); status != http.StatusOK {
				t.Fatal(status)
			}
			c, secret := s.addClient(t, newTrustedClient())
			claims := s.relyingParty(t, c.ID, secret, outsideRedirect, "openid", "profile", "fiscal_code").login(t, b)
			amr, _ := claims["amr"].([]any)
			if claims["acr"] != assurance.ACRSubstantial || claims["fiscal_code"] != strings.TrimPrefix(p.FiscalNumber, "TINIT-") || len(amr) != 3 {
				t.Fatalf("claims after a SPID level 2 login: %v", claims)
			}
		})

		t.Run("a service needing level 2 refuses a level 1 login and steps up", func(t *testing.T) {
			b := s.spidBrowser(t)
			p := s.person(t)
			if status, _, _, _, _ := s.login(t, b, "low", spid.SpidL1, "/area-personale", p); status != http.StatusOK {
				t.Fatalf("level 1 login: %d", status)
			}
			res, _ := b.do("GET", s.plain.URL+payments.AreaPath, nil)
			loc := res.Header.Get("Location")
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/accedi/carta?") || !strings.Contains(loc, "livello=substantial") {
				t.Fatalf("level 1 at a level 2 page: %d %s", res.StatusCode, loc)
			}
			_, page := b.do("GET", s.plain.URL+loc, nil)
			want := spid.PathLogin + "?" + url.Values{"idp": {s.idp.EntityID}, "livello": {"substantial"}, "next": {payments.AreaPath}}.Encode()
			if !strings.Contains(page, strings.ReplaceAll(want, "&", "&amp;")) {
				t.Fatalf("the step-up page offers no SPID level 2: %s", want)
			}
			// An answer still at level 1 to the level 2 request is refused.
			req := s.start(t, b, "substantial", payments.AreaPath)
			if req.ClassRef != spid.SpidL2 || req.Comparison != "minimum" || req.ForceAuthn != "true" {
				t.Fatalf("step-up request: %+v", req)
			}
			xml, _ := s.idp.Sign(s.idp.Response(s.answer(req, p, spid.SpidL1)), true, true)
			if status, _, body := s.post(t, b, xml, req.RelayState); status != http.StatusForbidden || !strings.Contains(body, "livello") {
				t.Fatalf("level 1 answer to a level 2 request: %d", status)
			}
			status, u, _, _, _ := s.login(t, b, "substantial", spid.SpidL2, payments.AreaPath, p)
			if status != http.StatusOK || !strings.HasSuffix(u, payments.AreaPath) {
				t.Fatalf("after the step-up: %d at %s", status, u)
			}
			if _, me := b.me(s.plain.URL); me.Assurance != "substantial" {
				t.Fatalf("after the step-up: %+v", me)
			}
		})

		t.Run("the requests are SPID's", func(t *testing.T) {
			b := s.spidBrowser(t)
			req := s.start(t, b, "low", "/")
			root := req.Doc.Root()
			if req.ACSIndex != "0" || req.AttrIndex != "0" || req.IssuerFormat != spid.NameIDEntity || req.IssuerQualifier != s.apps.civico.spid.Web.SP.EntityID() ||
				req.Destination != s.idp.SSOURL || req.ForceAuthn != "" || req.ClassRef != spid.SpidL1 || root.SelectAttrValue("Version", "") != "2.0" {
				t.Fatalf("request: %+v", req)
			}
			pol := root.FindElement("./NameIDPolicy")
			if pol == nil || pol.SelectAttrValue("Format", "") != spid.NameIDTransient || pol.SelectAttr("AllowCreate") != nil || root.SelectAttr("IsPassive") != nil {
				t.Fatal("NameIDPolicy must be transient without AllowCreate")
			}
		})

		t.Run("a replayed answer is refused", func(t *testing.T) {
			b := s.spidBrowser(t)
			status, _, _, xml, req := s.login(t, b, "substantial", spid.SpidL2, "/area-personale", s.person(t))
			if status != http.StatusOK {
				t.Fatal(status)
			}
			other := s.spidBrowser(t)
			if status, _, _ := s.post(t, other, xml, req.RelayState); status != http.StatusForbidden {
				t.Fatalf("replay: %d", status)
			}
			if status, _, _ := s.post(t, b, xml, req.RelayState); status != http.StatusForbidden {
				t.Fatalf("replay in the same browser: %d", status)
			}
		})

		t.Run("an answer to another browser's request logs no one in here", func(t *testing.T) {
			attacker, victim := s.spidBrowser(t), s.spidBrowser(t)
			// The victim has a login of their own in progress (a binding
			// cookie of their own).
			s.start(t, victim, "substantial", "/area-personale")
			req := s.start(t, attacker, "substantial", "/area-personale")
			xml, _ := s.idp.Sign(s.idp.Response(s.answer(req, s.person(t), spid.SpidL2)), true, true)
			status, _, body := s.post(t, victim, xml, req.RelayState)
			if status != http.StatusForbidden || !strings.Contains(body, "altro browser") {
				t.Fatalf("login forced into another browser: %d", status)
			}
			if code, _ := victim.me(s.plain.URL); code == http.StatusOK {
				t.Fatal("the victim's browser was logged in as the attacker")
			}
		})

		t.Run("an answer for another SP's audience is refused", func(t *testing.T) {
			b := s.spidBrowser(t)
			req := s.start(t, b, "substantial", "/")
			a := s.answer(req, s.person(t), spid.SpidL2)
			a.Audience = "https://another-town.example/spid/metadata"
			xml, _ := s.idp.Sign(s.idp.Response(a), true, true)
			if status, _, _ := s.post(t, b, xml, req.RelayState); status != http.StatusForbidden {
				t.Fatalf("another audience: %d", status)
			}
		})

		t.Run("SPID never enters a password account that only claims the fiscal code", func(t *testing.T) {
			p := s.person(t)
			code := strings.TrimPrefix(p.FiscalNumber, "TINIT-")
			attacker := s.browser(t, nil)
			s.register(t, attacker, "claimant@example.org", "Prova", p.FamilyName, "tram-per-Sesto-alle-7")
			if _, err := d.ExecContext(ctx, `UPDATE accounts SET fiscal_code = $1, fiscal_code_source = 'self' WHERE email = 'claimant@example.org'`, code); err != nil {
				t.Fatal(err)
			}
			holder := s.spidBrowser(t)
			if status, _, _, _, _ := s.login(t, holder, "substantial", spid.SpidL2, "/area-personale", p); status != http.StatusOK {
				t.Fatal(status)
			}
			_, me := holder.me(s.plain.URL)
			if me.Email == "claimant@example.org" || me.FiscalCode != code {
				t.Fatalf("SPID landed in the claimant's account: %+v", me)
			}
			if a, err := s.apps.identity.Store.ByEmail(ctx, "claimant@example.org"); err != nil || a.FiscalCode != "" {
				t.Fatalf("the claim stayed: %+v %v", a, err)
			}
		})

		t.Run("an operator's account needs SPID level 2", func(t *testing.T) {
			p := s.person(t)
			code := strings.TrimPrefix(p.FiscalNumber, "TINIT-")
			if _, err := s.apps.identity.CreateOperator(ctx, identity.NewOperator{Email: "op-" + code + "@comune.example", FiscalCode: code,
				GivenName: "Prova", FamilyName: p.FamilyName, Roles: []string{"desk"}}, "Sportello-URP-demo-2026", "test"); err != nil {
				t.Fatal(err)
			}
			b := s.spidBrowser(t)
			status, _, body, _, _ := s.login(t, b, "low", spid.SpidL1, "/", p)
			if status != http.StatusForbidden || !strings.Contains(body, "operatore") {
				t.Fatalf("level 1 into an operator's account: %d", status)
			}
			if code, _ := b.me(s.plain.URL); code == http.StatusOK {
				t.Fatal("logged in as an operator with one factor")
			}
			if status, _, _, _, _ := s.login(t, b, "substantial", spid.SpidL2, "/", p); status != http.StatusOK {
				t.Fatalf("level 2 into an operator's account: %d", status)
			}
			if _, me := b.me(s.plain.URL); len(me.Roles) != 1 || me.Roles[0] != "desk" {
				t.Fatalf("me: %+v", me)
			}
		})

		t.Run("an answer signed by another registered provider is refused", func(t *testing.T) {
			other, err := spidtest.New("https://other-idp.spid.test", "https://other-idp.spid.test")
			if err != nil {
				t.Fatal(err)
			}
			idps, _ := spid.ParseMetadata(other.Metadata("Altro gestore"), "spid")
			if err := d.Tx(ctx, func(tx *sql.Tx) error { return (&spid.Registry{DB: d}).Put(ctx, tx, idps) }); err != nil {
				t.Fatal(err)
			}
			for _, asIssuer := range []bool{false, true} {
				b := s.spidBrowser(t)
				req := s.start(t, b, "substantial", "/")
				doc := s.idp.Response(s.answer(req, s.person(t), spid.SpidL2))
				if asIssuer {
					// The other provider's answer in its own name.
					doc = other.Response(s.answer(req, s.person(t), spid.SpidL2))
				}
				xml, _ := other.Sign(doc, true, true)
				if status, _, _ := s.post(t, b, xml, req.RelayState); status != http.StatusForbidden {
					t.Fatalf("another provider's signature (its own issuer: %v): %d", asIssuer, status)
				}
			}
		})

		t.Run("logout ends the session here and at the provider", func(t *testing.T) {
			b := s.spidBrowser(t)
			if status, _, _, _, _ := s.login(t, b, "substantial", spid.SpidL2, "/area-personale", s.person(t)); status != http.StatusOK {
				t.Fatal(status)
			}
			res, _ := b.do("POST", s.plain.URL+"/esci", url.Values{})
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), s.idp.SLOURL+"?") {
				t.Fatalf("logout: %d %s", res.StatusCode, loc)
			}
			if code, _ := b.me(s.plain.URL); code == http.StatusOK {
				t.Fatal("still logged in here")
			}
			key, _ := s.apps.civico.spid.Web.SP.Keys.Signer(ctx)
			lr, err := spidtest.ReadRedirect(loc, "SAMLRequest", key.Cert)
			if err != nil || lr.NameID == "" || lr.IssuerQualifier == "" || lr.Doc.Root().Tag != "LogoutRequest" {
				t.Fatalf("LogoutRequest: %+v %v", lr, err)
			}
			back, err := s.idp.LogoutResponse(lr, s.apps.civico.spid.Web.SP.SLO(), lr.RelayState, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			res, body := b.do("GET", back, nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "gestore di identità") {
				t.Fatalf("LogoutResponse: %d", res.StatusCode)
			}
			if res, _ := b.do("GET", back, nil); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("LogoutResponse replayed: %d", res.StatusCode)
			}
			// A LogoutResponse signed by someone else is refused.
			other, _ := spidtest.New(s.idp.EntityID, s.idp.EntityID)
			forged, _ := other.LogoutResponse(lr, s.apps.civico.spid.Web.SP.SLO(), "", time.Now())
			if res, _ := b.do("GET", forged, nil); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("forged LogoutResponse: %d", res.StatusCode)
			}
		})

		t.Run("a provider's logout ends the session its login opened", func(t *testing.T) {
			b := s.spidBrowser(t)
			req := s.start(t, b, "substantial", "/")
			a := s.answer(req, s.person(t), spid.SpidL2)
			a.SessionIndex = "_session-" + req.ID
			doc := s.idp.Response(a)
			nameID := find(doc, "./Assertion/Subject/NameID").Text()
			xml, _ := s.idp.Sign(doc, true, true)
			if status, _, _ := s.post(t, b, xml, req.RelayState); status != http.StatusOK {
				t.Fatal(status)
			}
			slo := s.apps.civico.spid.Web.SP.SLO()
			// A LogoutRequest signed by someone else ends nothing.
			other, _ := spidtest.New(s.idp.EntityID, s.idp.EntityID)
			forged, _ := other.LogoutRequest(slo, nameID, s.idp.EntityID, a.SessionIndex, time.Now())
			if res, _ := s.spidBrowser(t).do("GET", forged, nil); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("forged LogoutRequest: %d", res.StatusCode)
			}
			if code, _ := b.me(s.plain.URL); code != http.StatusOK {
				t.Fatal("a forged LogoutRequest ended the session")
			}
			u, _ := s.idp.LogoutRequest(slo, nameID, s.idp.EntityID, a.SessionIndex, time.Now())
			res, _ := s.spidBrowser(t).do("GET", u, nil)
			loc, _ := url.Parse(res.Header.Get("Location"))
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc.String(), s.idp.SLOURL+"?") {
				t.Fatalf("LogoutRequest: %d %s", res.StatusCode, loc)
			}
			key, _ := s.apps.civico.spid.Web.SP.Keys.Signer(ctx)
			lr, err := spidtest.ReadRedirect(loc, "SAMLResponse", key.Cert)
			if err != nil || lr.Doc.Root().Tag != "LogoutResponse" || lr.RelayState != "relay" ||
				lr.Doc.Root().FindElement("./Status/StatusCode").SelectAttrValue("Value", "") != spid.StatusSuccess {
				t.Fatalf("LogoutResponse: %v", err)
			}
			if code, _ := b.me(s.plain.URL); code == http.StatusOK {
				t.Fatal("the session outlived the provider's logout")
			}
		})

		t.Run("the metadata is signed and lists both certificates during a rotation", func(t *testing.T) {
			check := func(n int) *etree.Element {
				res, body := s.spidBrowser(t).do("GET", s.plain.URL+spid.PathMetadata, nil)
				if res.StatusCode != http.StatusOK {
					t.Fatal(res.StatusCode)
				}
				doc := etree.NewDocument()
				if err := doc.ReadFromString(body); err != nil {
					t.Fatal(err)
				}
				root := doc.Root()
				if root.SelectAttrValue("entityID", "") != s.apps.civico.spid.Web.SP.EntityID() || root.FindElement("./Signature") == nil {
					t.Fatal("entityID or signature")
				}
				if len(root.FindElements("./SPSSODescriptor/KeyDescriptor")) != n {
					t.Fatalf("want %d certificates", n)
				}
				acs := root.FindElement("./SPSSODescriptor/AssertionConsumerService")
				if acs.SelectAttrValue("index", "") != "0" || acs.SelectAttrValue("isDefault", "") != "true" || acs.SelectAttrValue("Location", "") != s.apps.civico.spid.Web.SP.ACS() {
					t.Fatal("AssertionConsumerService")
				}
				if ipa := root.FindElement("./ContactPerson/Extensions/IPACode"); ipa == nil || ipa.Text() != "c_c707" || root.FindElement("./ContactPerson/Extensions/Public") == nil {
					t.Fatal("no public SP extensions")
				}
				// The signature verifies with the certificate it lists.
				idps, err := spid.ParseMetadata([]byte(strings.Replace(strings.Replace(body, "SPSSODescriptor", "IDPSSODescriptor", -1),
					`<md:NameIDFormat>`, `<md:SingleSignOnService Binding="`+spid.BindingRedirect+`" Location="https://x.example/sso"/><md:NameIDFormat>`, 1)), "spid")
				if err != nil || len(idps[0].Certs) != n {
					t.Fatalf("metadata certificates: %v", err)
				}
				return root
			}
			check(1)
			sp := s.apps.civico.spid.Web.SP
			before, _ := sp.Keys.Signer(ctx)
			p, _ := s.apps.portal.Town.Get(ctx)
			if _, err := sp.Keys.Add(ctx, sp.Subject(p), time.Now().Add(time.Hour), true); err != nil {
				t.Fatal(err)
			}
			check(2)
			if after, _ := sp.Keys.Signer(ctx); after.ID != before.ID {
				t.Fatal("the new key signs before the overlap ends")
			}
		})
	})
}

// The operator's commands: the providers' registry from metadata files, the
// metadata to send to AgID, the keys and their rotation.
func TestSPIDCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": testSecretKey, "CIVICO_BASE_URL": "https://servizi.comune.example"}
	good := filepath.Join(dir, "town.json")
	if err := writeFile(good, string(mustRead(t, "../../internal/town/cinisello-balsamo.json"))); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "town", "import", good); code != 0 {
		t.Fatalf("town import: %q", errOut)
	}
	reg := filepath.Join(dir, "registry")
	if err := os.Mkdir(reg, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Primo gestore", "Secondo gestore"} {
		idp, err := spidtest.New(fmt.Sprintf("https://idp%d.example", i), fmt.Sprintf("https://idp%d.example", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(reg, fmt.Sprintf("idp%d.xml", i)), idp.Metadata(name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(reg, "notes.txt"), []byte("not metadata"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "spid", "registry", "import", reg); code != 0 || !strings.Contains(out, "2 identity provider(s) imported") {
		t.Fatalf("registry import: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, env, "spid", "registry", "list"); code != 0 || !strings.Contains(out, "Primo gestore") || !strings.Contains(out, "https://idp1.example") {
		t.Fatalf("registry list: %q", out)
	}
	// The Italian eIDAS node, under its own profile.
	node, err := spidtest.New("https://sp-proxy.example/spproxy/idpit", "https://sp-proxy.example/spproxy")
	if err != nil {
		t.Fatal(err)
	}
	nodeFile := filepath.Join(dir, "eidas.xml")
	if err := os.WriteFile(nodeFile, node.Metadata("Nodo eIDAS"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "spid", "registry", "import", "--profile", "eidas", nodeFile); code != 0 || !strings.Contains(out, "1 identity provider(s) imported") {
		t.Fatalf("registry import --profile eidas: %d %q %q", code, out, errOut)
	}
	if _, out, _ := runCLI(t, env, "spid", "registry", "list"); !regexp.MustCompile(`https://sp-proxy.example/spproxy/idpit\s+Nodo eIDAS\s+eidas\s`).MatchString(out) {
		t.Fatalf("the node is not listed with the eidas profile: %q", out)
	}
	if code, _, errOut := runCLI(t, env, "spid", "registry", "import", "--profile", "eidass", nodeFile); code == 0 || !strings.Contains(errOut, "unknown profile") {
		t.Fatalf("an unknown profile: %d %q", code, errOut)
	}
	// With the registry's certificate, an unsigned folder imports nothing;
	// a file the registry signed does, and a signed file changed since
	// does not.
	regKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	regCert, err := spidtest.SelfSigned(regKey, "Registro SPID")
	if err != nil {
		t.Fatal(err)
	}
	signerPEM := filepath.Join(dir, "registro.pem")
	if err := os.WriteFile(signerPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: regCert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "spid", "registry", "import", "--signer", signerPEM, reg); code != 1 || !strings.Contains(errOut, "not signed") {
		t.Fatalf("an unsigned folder with --signer: %d %q", code, errOut)
	}
	idp, err := spidtest.New("https://idp7.example", "https://idp7.example")
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(idp.Metadata("Gestore firmato")); err != nil {
		t.Fatal(err)
	}
	doc.Root().CreateAttr("ID", "_registro")
	if err := spidtest.SignElement(doc.Root(), regKey, regCert); err != nil {
		t.Fatal(err)
	}
	signed, _ := doc.WriteToBytes()
	signedFile := filepath.Join(dir, "firmato.xml")
	if err := os.WriteFile(signedFile, []byte(strings.Replace(string(signed), "Gestore firmato", "Gestore alterato", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "spid", "registry", "import", "--signer", signerPEM, signedFile); code != 1 || !strings.Contains(errOut, "does not hold") {
		t.Fatalf("a changed signed file: %d %q", code, errOut)
	}
	if err := os.WriteFile(signedFile, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "spid", "registry", "import", "--signer", signerPEM, signedFile); code != 0 || !strings.Contains(out, "signature: verified") {
		t.Fatalf("a signed file: %d %q %q", code, out, errOut)
	}
	if _, out, _ := runCLI(t, env, "spid", "registry", "list"); !strings.Contains(out, "Gestore firmato") {
		t.Fatalf("the signed file's provider is not listed: %q", out)
	}
	// A folder with one bad file imports nothing.
	if err := os.WriteFile(filepath.Join(reg, "idp9.xml"), []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://bad.example"><md:IDPSSODescriptor/></md:EntityDescriptor>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "spid", "registry", "import", reg); code != 1 || !strings.Contains(errOut, "nothing imported") {
		t.Fatalf("import of a bad folder: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, env, "spid", "registry", "remove", "https://idp0.example"); code != 0 {
		t.Fatal("remove")
	}
	if _, out, _ := runCLI(t, env, "spid", "registry", "list"); strings.Contains(out, "Primo gestore") {
		t.Fatalf("removed provider still listed: %q", out)
	}
	code, md, errOut := runCLI(t, env, "spid", "metadata")
	if code != 0 || !strings.Contains(md, `entityID="https://servizi.comune.example/spid/metadata"`) || !strings.Contains(md, "c_c707</spid:IPACode>") ||
		strings.Count(md, "<md:KeyDescriptor") != 1 {
		t.Fatalf("metadata: %d %q %q", code, md, errOut)
	}
	// The eIDAS node's AttributeConsumingServices (minimum and full set).
	if !regexp.MustCompile(`<md:AttributeConsumingService index="99">\s*<md:ServiceName xml:lang="it">eIDAS Natural Person Minimum Attribute Set</md:ServiceName>\s*<md:RequestedAttribute Name="spidCode">`).MatchString(md) ||
		!strings.Contains(md, `<md:AttributeConsumingService index="100">`) {
		t.Fatalf("metadata without the eIDAS services: %q", md)
	}
	if code, out, errOut := runCLI(t, env, "spid", "rotate-keys", "--overlap", "48h"); code != 0 || !strings.Contains(out, "Send the new metadata to AgID") {
		t.Fatalf("rotate-keys: %d %q %q", code, out, errOut)
	}
	if _, md, _ := runCLI(t, env, "spid", "metadata"); strings.Count(md, "<md:KeyDescriptor") != 2 {
		t.Fatalf("during the overlap the metadata lists both certificates: %q", md)
	}
	if _, out, _ := runCLI(t, env, "spid", "keys"); strings.Count(out, "Comune di Cinisello Balsamo") != 2 {
		t.Fatalf("keys: %q", out)
	}
	// Another secret cannot sign.
	other := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": strings.Repeat("x", 40)}
	if code, _, errOut := runCLI(t, other, "spid", "metadata"); code == 0 || !strings.Contains(errOut, "CIVICO_SECRET_KEY") {
		t.Fatalf("metadata with another secret: %d %q", code, errOut)
	}
}

// hidden reads a hidden field's value from a page.
func hidden(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no field %s", name)
	}
	return html.UnescapeString(m[1])
}

// The demo's TEST provider: served on the portal only by `civico demo`,
// clearly labelled, and a whole login through it in the browser's steps.
func TestSPIDDemoProvider(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newTunedIDSite(t, d, func(c *config) {
			var err error
			if c.demoSPID, err = spidtest.New(c.BaseURL+spid.TestIdPPath, c.BaseURL+spid.TestIdPPath); err != nil {
				t.Fatal(err)
			}
		})
		if err := prepareDemoSPID(context.Background(), s.apps); err != nil {
			t.Fatal(err)
		}
		if err := s.apps.civico.spid.Ensure(context.Background(), town.Demo()); err != nil {
			t.Fatal(err)
		}
		b := s.browser(t, nil)
		_, login := b.do("GET", s.plain.URL+"/accedi", nil)
		if !strings.Contains(login, "SPID di prova (solo demo)") {
			t.Fatal("the demo provider is not on the login page")
		}
		// The login's address without a provider (typed, cut short, or
		// read by a crawler that drops queries): the login page.
		if res, _ := b.do("GET", s.plain.URL+spid.PathLogin+"?next=/area-personale", nil); res.StatusCode != http.StatusSeeOther ||
			res.Header.Get("Location") != "/accedi?next=%2Farea-personale" {
			t.Fatalf("no provider: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		u := s.plain.URL + spid.PathLogin + "?" + url.Values{"idp": {s.cfg.BaseURL + spid.TestIdPPath}, "livello": {"substantial"}, "next": {"/area-personale"}}.Encode()
		res, _ := b.do("GET", u, nil)
		sso := res.Header.Get("Location")
		if !strings.HasPrefix(sso, s.cfg.BaseURL+spid.TestIdPPath+"/sso?") {
			t.Fatalf("start: %d %s", res.StatusCode, sso)
		}
		res, page := b.do("GET", sso, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(page, "Solo per la demo") {
			t.Fatalf("the test provider's page: %d", res.StatusCode)
		}
		form := url.Values{}
		for _, f := range []string{"SAMLRequest", "RelayState", "SigAlg", "Signature"} {
			form.Set(f, hidden(t, page, f))
		}
		code, _ := cf.Complete("FRRLCU78H15C707")
		form.Set("person", "TINIT-"+string(code))
		form.Set("level", spid.SpidL2)
		res, page = b.do("POST", s.plain.URL+spid.TestIdPPath+"/sso", form)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("answer: %d", res.StatusCode)
		}
		res, _ = b.do("POST", s.plain.URL+spid.PathACS, url.Values{"SAMLResponse": {hidden(t, page, "SAMLResponse")}, "RelayState": {hidden(t, page, "RelayState")}})
		last, final, _, _ := b.follow(s.plain.URL+res.Header.Get("Location"), "")
		if final.StatusCode != http.StatusOK || !strings.HasSuffix(last, "/area-personale") {
			t.Fatalf("after the test provider: %d at %s", final.StatusCode, last)
		}
		if _, me := b.me(s.plain.URL); me.FiscalCode != string(code) || me.GivenName != "Luca" || me.Assurance != "substantial" {
			t.Fatalf("me: %+v", me)
		}

		// serve has no test provider, nor lists or uses one a demo left
		// in the database.
		prod := newIDSite(t, d)
		pb := prod.browser(t, nil)
		if res, _ := pb.do("GET", prod.plain.URL+spid.TestIdPPath+"/sso", nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("the test provider outside the demo: %d", res.StatusCode)
		}
		if _, login := pb.do("GET", prod.plain.URL+"/accedi", nil); strings.Contains(login, "SPID di prova") {
			t.Fatal("serve lists the demo's test provider")
		}
		if res, _ := pb.do("GET", prod.plain.URL+spid.PathLogin+"?"+url.Values{"idp": {s.cfg.BaseURL + spid.TestIdPPath}}.Encode(), nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("serve starts a login at the demo's test provider: %d", res.StatusCode)
		}
	})
}
