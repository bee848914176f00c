// Package spidtest is a TEST SPID identity provider: it reads civico's
// signed AuthnRequests and answers with SPID-shaped responses (a transient
// NameID with its qualifier, the TINIT- fiscal number, the SpidL level),
// signed as the providers sign them. The tests edit and re-sign its
// responses, one per case of SPID's SP test suites; `civico demo` serves
// it at /spid-test-idp so that the demo's "Entra con SPID" works offline.
// It is never part of a production configuration.
package spidtest

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	entity      = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	transient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	redirect    = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	// Post is the HTTP-POST binding (IdP.PostOnly).
	Post      = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	rsaSHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
)

// IdP is a test identity provider with its own key.
type IdP struct {
	EntityID, SSOURL, SLOURL string
	Key                      *rsa.PrivateKey
	Cert                     *x509.Certificate
	// PostOnly makes its metadata offer the SingleSignOnService with the
	// HTTP-POST binding only (ReadPost reads what it receives).
	PostOnly bool
}

// New makes a test provider whose addresses are under base (base+"/sso",
// base+"/slo"), with a new 2048-bit key and a self-signed certificate.
func New(entityID, base string) (*IdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	cert, err := SelfSigned(key, "civico TEST SPID identity provider")
	if err != nil {
		return nil, err
	}
	return &IdP{EntityID: entityID, SSOURL: base + "/sso", SLOURL: base + "/slo", Key: key, Cert: cert}, nil
}

// SelfSigned is a certificate for key valid from an hour ago for a year.
func SelfSigned(key *rsa.PrivateKey, cn string) (*x509.Certificate, error) {
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn, Country: []string{"IT"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Metadata is the provider's metadata, as AgID's registry publishes one.
func (p *IdP) Metadata(name string) []byte {
	doc := etree.NewDocument()
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", p.EntityID)
	sso := ed.CreateElement("md:IDPSSODescriptor")
	sso.CreateAttr("protocolSupportEnumeration", nsProtocol)
	sso.CreateAttr("WantAuthnRequestsSigned", "true")
	kd := sso.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "signing")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(p.Cert.Raw))
	slo := sso.CreateElement("md:SingleLogoutService")
	slo.CreateAttr("Binding", redirect)
	slo.CreateAttr("Location", p.SLOURL)
	sso.CreateElement("md:NameIDFormat").SetText(transient)
	s := sso.CreateElement("md:SingleSignOnService")
	if p.PostOnly {
		s.CreateAttr("Binding", Post)
	} else {
		s.CreateAttr("Binding", redirect)
	}
	s.CreateAttr("Location", p.SSOURL)
	org := ed.CreateElement("md:Organization")
	for _, tag := range []string{"md:OrganizationName", "md:OrganizationDisplayName"} {
		el := org.CreateElement(tag)
		el.CreateAttr("xml:lang", "it")
		el.SetText(name)
	}
	u := org.CreateElement("md:OrganizationURL")
	u.CreateAttr("xml:lang", "it")
	u.SetText(p.SSOURL)
	b, _ := doc.WriteToBytes()
	return b
}

// Request is an AuthnRequest (or LogoutRequest) as the provider read it.
type Request struct {
	Doc                                          *etree.Document
	ID, IssueInstant, Destination, Issuer        string
	IssuerFormat, IssuerQualifier                string
	ClassRef, Comparison, ForceAuthn, RelayState string
	ACSIndex, AttrIndex                          string
	NameID, SessionIndex                         string
	// Raw is the request as received, signature included (ReadPost).
	Raw []byte
}

// ReadRedirect reads a message carried by the HTTP-Redirect binding
// (param SAMLRequest or SAMLResponse) and, when cert is given, checks its
// signature.
func ReadRedirect(u *url.URL, param string, cert *x509.Certificate) (*Request, error) {
	raw := u.RawQuery
	q := u.Query()
	if cert != nil {
		if q.Get("SigAlg") != rsaSHA256 {
			return nil, errors.New("SigAlg is not rsa-sha256")
		}
		var signed []string
		for _, name := range []string{param, "RelayState", "SigAlg"} {
			for part := range strings.SplitSeq(raw, "&") {
				if strings.HasPrefix(part, name+"=") {
					signed = append(signed, part)
				}
			}
		}
		sig, err := base64.StdEncoding.DecodeString(q.Get("Signature"))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(strings.Join(signed, "&")))
		if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
			return nil, fmt.Errorf("request signature: %w", err)
		}
	}
	comp, err := base64.StdEncoding.DecodeString(q.Get(param))
	if err != nil {
		return nil, err
	}
	xml, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(comp)), 1<<20))
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, err
	}
	return readRequest(doc, q.Get("RelayState")), nil
}

// ReadPost reads an AuthnRequest carried by the HTTP-POST binding (the
// form's SAMLRequest and RelayState) and checks its enveloped signature by
// cert: RSA-SHA256 referencing the request's ID, the certificate in
// KeyInfo cert's.
func ReadPost(samlRequest, relayState string, cert *x509.Certificate) (*Request, error) {
	xml, err := base64.StdEncoding.DecodeString(samlRequest)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil || root.FindElement("./Signature") == nil {
		return nil, errors.New("the request is not signed")
	}
	if sm := root.FindElement("./Signature/SignedInfo/SignatureMethod"); sm == nil || sm.SelectAttrValue("Algorithm", "") != rsaSHA256 {
		return nil, errors.New("the request's signature is not rsa-sha256")
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.IdAttribute = "ID"
	v, err := ctx.Validate(root)
	if err != nil {
		return nil, fmt.Errorf("request signature: %w", err)
	}
	signed := etree.NewDocument()
	signed.SetRoot(v)
	req := readRequest(signed, relayState)
	req.Raw = xml
	return req, nil
}

// readRequest reads the fields of a request's document.
func readRequest(doc *etree.Document, relayState string) *Request {
	r := doc.Root()
	req := &Request{Doc: doc, ID: r.SelectAttrValue("ID", ""), IssueInstant: r.SelectAttrValue("IssueInstant", ""),
		Destination: r.SelectAttrValue("Destination", ""), ForceAuthn: r.SelectAttrValue("ForceAuthn", ""),
		ACSIndex: r.SelectAttrValue("AssertionConsumerServiceIndex", ""), AttrIndex: r.SelectAttrValue("AttributeConsumingServiceIndex", ""),
		RelayState: relayState}
	if iss := r.FindElement("./Issuer"); iss != nil {
		req.Issuer, req.IssuerFormat, req.IssuerQualifier = iss.Text(), iss.SelectAttrValue("Format", ""), iss.SelectAttrValue("NameQualifier", "")
	}
	if rac := r.FindElement("./RequestedAuthnContext"); rac != nil {
		req.Comparison = rac.SelectAttrValue("Comparison", "")
		if c := rac.FindElement("./AuthnContextClassRef"); c != nil {
			req.ClassRef = c.Text()
		}
	}
	if n := r.FindElement("./NameID"); n != nil {
		req.NameID = n.Text()
	}
	if s := r.FindElement("./SessionIndex"); s != nil {
		req.SessionIndex = s.Text()
	}
	return req
}

// Person is whom the provider vouches for.
type Person struct {
	FiscalNumber, Name, FamilyName, DateOfBirth, PlaceOfBirth, Email string
}

// Answer is what the response says, the baseline of spid-sp-test: the
// request's id and instant, the ACS, the audience (the SP's entityID),
// the person, the level.
type Answer struct {
	Request          *Request
	ACS, Audience    string
	Person           Person
	ClassRef         string
	Now              time.Time
	SessionIndex     string
	Status, Message  string // a failure: StatusCode (nested in Responder) and StatusMessage
	NoSessionIndex   bool
	ExtraAttributes  map[string]string
	OmitAttributeSet bool
}

func id() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("_%x", b)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Response builds the unsigned response (sign it with Sign).
func (p *IdP) Response(a Answer) *etree.Document {
	issued := a.Request.IssueInstant
	doc := etree.NewDocument()
	r := doc.CreateElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", nsProtocol)
	r.CreateAttr("xmlns:saml", nsAssertion)
	r.CreateAttr("ID", id())
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", issued)
	r.CreateAttr("InResponseTo", a.Request.ID)
	r.CreateAttr("Destination", a.ACS)
	iss := r.CreateElement("saml:Issuer")
	iss.CreateAttr("Format", entity)
	iss.SetText(p.EntityID)
	st := r.CreateElement("samlp:Status")
	sc := st.CreateElement("samlp:StatusCode")
	if a.Status != "" {
		sc.CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
		sc.CreateElement("samlp:StatusCode").CreateAttr("Value", a.Status)
		st.CreateElement("samlp:StatusMessage").SetText(a.Message)
		return doc
	}
	sc.CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	as := r.CreateElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", nsAssertion)
	as.CreateAttr("ID", id())
	as.CreateAttr("Version", "2.0")
	as.CreateAttr("IssueInstant", issued)
	ai := as.CreateElement("saml:Issuer")
	ai.CreateAttr("Format", entity)
	ai.SetText(p.EntityID)
	subj := as.CreateElement("saml:Subject")
	n := subj.CreateElement("saml:NameID")
	n.CreateAttr("Format", transient)
	n.CreateAttr("NameQualifier", p.EntityID)
	n.SetText(id())
	conf := subj.CreateElement("saml:SubjectConfirmation")
	conf.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	cd := conf.CreateElement("saml:SubjectConfirmationData")
	cd.CreateAttr("InResponseTo", a.Request.ID)
	cd.CreateAttr("NotOnOrAfter", stamp(a.Now.Add(5*time.Minute)))
	cd.CreateAttr("Recipient", a.ACS)
	c := as.CreateElement("saml:Conditions")
	c.CreateAttr("NotBefore", issued)
	c.CreateAttr("NotOnOrAfter", stamp(a.Now.Add(5*time.Minute)))
	c.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(a.Audience)
	au := as.CreateElement("saml:AuthnStatement")
	au.CreateAttr("AuthnInstant", stamp(a.Now))
	if !a.NoSessionIndex {
		si := a.SessionIndex
		if si == "" {
			si = id()
		}
		au.CreateAttr("SessionIndex", si)
	}
	au.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(a.ClassRef)
	stmt := as.CreateElement("saml:AttributeStatement")
	attrs := [][2]string{{"fiscalNumber", a.Person.FiscalNumber}, {"name", a.Person.Name}, {"familyName", a.Person.FamilyName},
		{"dateOfBirth", a.Person.DateOfBirth}, {"placeOfBirth", a.Person.PlaceOfBirth}}
	if a.Person.Email != "" {
		attrs = append(attrs, [2]string{"email", a.Person.Email})
	}
	for _, kv := range attrs {
		at := stmt.CreateElement("saml:Attribute")
		at.CreateAttr("Name", kv[0])
		v := at.CreateElement("saml:AttributeValue")
		v.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
		v.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
		if kv[0] == "dateOfBirth" {
			v.CreateAttr("xsi:type", "xs:date")
		} else {
			v.CreateAttr("xsi:type", "xs:string")
		}
		v.SetText(kv[1])
	}
	return doc
}

// SignElement puts an enveloped RSA-SHA256 signature by key (certificate
// cert in KeyInfo) into el after its Issuer.
func SignElement(el *etree.Element, key *rsa.PrivateKey, cert *x509.Certificate) error {
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		return err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.IdAttribute = "ID"
	ctx.Prefix = "ds"
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return err
	}
	at := 0
	for i, c := range el.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
		}
	}
	el.InsertChildAt(at, sig)
	return nil
}

// Sign signs the assertion and then the response, as chosen, with the
// provider's key, and returns the XML.
func (p *IdP) Sign(doc *etree.Document, response, assertion bool) ([]byte, error) {
	return SignWith(doc, response, assertion, p.Key, p.Cert)
}

// SignWith is Sign with another key (an unregistered one, in tests).
func SignWith(doc *etree.Document, response, assertion bool, key *rsa.PrivateKey, cert *x509.Certificate) ([]byte, error) {
	r := doc.Root()
	if assertion {
		if as := r.FindElement("./Assertion"); as != nil {
			if err := SignElement(as, key, cert); err != nil {
				return nil, err
			}
		}
	}
	if response {
		if err := SignElement(r, key, cert); err != nil {
			return nil, err
		}
	}
	return doc.WriteToBytes()
}

// Encode is the form field SAMLResponse of a response.
func Encode(xml []byte) string { return base64.StdEncoding.EncodeToString(xml) }

// LogoutResponse is the address that carries a signed LogoutResponse
// (Success) to req to the SP's slo address, with the Redirect binding.
func (p *IdP) LogoutResponse(req *Request, slo, relayState string, now time.Time) (string, error) {
	doc := etree.NewDocument()
	lr := doc.CreateElement("samlp:LogoutResponse")
	lr.CreateAttr("xmlns:samlp", nsProtocol)
	lr.CreateAttr("xmlns:saml", nsAssertion)
	lr.CreateAttr("ID", id())
	lr.CreateAttr("Version", "2.0")
	lr.CreateAttr("IssueInstant", stamp(now))
	lr.CreateAttr("InResponseTo", req.ID)
	lr.CreateAttr("Destination", slo)
	iss := lr.CreateElement("saml:Issuer")
	iss.CreateAttr("Format", entity)
	iss.SetText(p.EntityID)
	lr.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	xml, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	return p.redirect(slo, "SAMLResponse", xml, relayState)
}

// LogoutRequest is the address that carries the provider's own signed
// LogoutRequest for a NameID (and SessionIndex, when given) to the SP's
// slo address, with the Redirect binding.
func (p *IdP) LogoutRequest(slo, nameID, qualifier, sessionIndex string, now time.Time) (string, error) {
	doc := etree.NewDocument()
	lr := doc.CreateElement("samlp:LogoutRequest")
	lr.CreateAttr("xmlns:samlp", nsProtocol)
	lr.CreateAttr("xmlns:saml", nsAssertion)
	lr.CreateAttr("ID", id())
	lr.CreateAttr("Version", "2.0")
	lr.CreateAttr("IssueInstant", stamp(now))
	lr.CreateAttr("Destination", slo)
	iss := lr.CreateElement("saml:Issuer")
	iss.CreateAttr("Format", entity)
	iss.SetText(p.EntityID)
	n := lr.CreateElement("saml:NameID")
	n.CreateAttr("Format", transient)
	n.CreateAttr("NameQualifier", qualifier)
	n.SetText(nameID)
	if sessionIndex != "" {
		lr.CreateElement("samlp:SessionIndex").SetText(sessionIndex)
	}
	xml, err := doc.WriteToBytes()
	if err != nil {
		return "", err
	}
	return p.redirect(slo, "SAMLRequest", xml, "relay")
}

func (p *IdP) redirect(dest, param string, xml []byte, relayState string) (string, error) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = fw.Write(xml)
	_ = fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	q += "&SigAlg=" + url.QueryEscape(rsaSHA256)
	sum := sha256.Sum256([]byte(q))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return dest + "?" + q + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)), nil
}

// CertList is the provider's signing certificates.
func (p *IdP) CertList() []*x509.Certificate { return []*x509.Certificate{p.Cert} }
