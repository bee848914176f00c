package spid

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/identity"
)

// MaxResponseSize bounds a SAMLResponse as posted (base64).
const MaxResponseSize = 256 << 10

// Skew is the clock difference tolerated between civico and a provider.
const Skew = 3 * time.Minute

// Refusal is why an answer was refused. Message is the message id of the
// page shown; Anomaly is SPID's error code (19-25, 30) when the provider
// reported one; Detail names the failed check, for the log only.
type Refusal struct {
	Message string
	Anomaly int
	Detail  string
}

func (r *Refusal) Error() string {
	if r.Anomaly > 0 {
		return fmt.Sprintf("spid: anomaly %d: %s", r.Anomaly, r.Detail)
	}
	return "spid: answer refused: " + r.Detail
}

func refuse(format string, args ...any) *Refusal {
	return &Refusal{Message: "spid.error.invalid", Detail: fmt.Sprintf(format, args...)}
}

// Expect is what an answer must match: the request it names, its provider
// and profile, the SP, and the time.
type Expect struct {
	SP      *SP
	Request *Request
	IdP     *IdP
	Profile Profile
	Now     time.Time
}

// Answer is a provider's answer as read, before validation: the request
// id it names (to find the request) and the raw document.
type Answer struct {
	InResponseTo string
	doc          *etree.Document
	Raw          []byte
}

// ReadAnswer decodes a posted SAMLResponse, bounded, refusing DTDs, and
// reads the id of the request it answers.
func ReadAnswer(posted string) (*Answer, error) {
	if len(posted) > MaxResponseSize {
		return nil, refuse("response too large")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(posted), ""))
	if err != nil {
		return nil, refuse("response not base64")
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return nil, refuse("response with a DTD")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, refuse("response not XML")
	}
	root := doc.Root()
	if root == nil || root.Tag != "Response" || root.NamespaceURI() != nsProtocol {
		return nil, refuse("not a samlp:Response")
	}
	return &Answer{InResponseTo: root.SelectAttrValue("InResponseTo", ""), doc: doc, Raw: raw}, nil
}

var (
	errorCodeRE = regexp.MustCompile(`ErrorCode nr([0-9]{2})`)
	belfioreRE  = regexp.MustCompile(`^[A-Z][0-9]{3}$`)
)

// attr is an attribute's value of an element that may be missing.
func attr(el *etree.Element, name string) string {
	if el == nil {
		return ""
	}
	return el.SelectAttrValue(name, "")
}

// anomalies are the error codes SPID's rules ask an SP to explain with a
// page of its own (the others get the generic one).
var anomalies = map[int]bool{19: true, 20: true, 21: true, 22: true, 23: true, 25: true, 30: true}

// Validate checks an answer against every rule of SPID's SP test suites
// and returns what it proves. Signatures are checked before anything is
// read from what they cover, and only the verified copies are read: the
// Response's signature when it has one (which must then verify), the
// Assertion's always (a signed Response does not sign it for SPID).
func Validate(a *Answer, x Expect) (*Outcome, error) {
	root := a.doc.Root()
	resp := root
	switch sigs := children(root, nsDSig, "Signature"); len(sigs) {
	case 0:
	case 1:
		v, err := verify(root, x.IdP.Certs, x.Now)
		if err != nil {
			return nil, refuse("response signature: %v", err)
		}
		resp = v
	default:
		return nil, refuse("response with %d signatures", len(sigs))
	}
	for _, c := range resp.ChildElements() {
		ok := (c.NamespaceURI() == nsAssertion && (c.Tag == "Issuer" || c.Tag == "Assertion")) ||
			(c.NamespaceURI() == nsProtocol && (c.Tag == "Status" || c.Tag == "Extensions")) ||
			(c.NamespaceURI() == nsDSig && c.Tag == "Signature" && resp != root)
		if !ok {
			return nil, refuse("unexpected element %s in the response", c.FullTag())
		}
	}
	if err := checkHeader(resp, "response", x); err != nil {
		return nil, err
	}
	if v := resp.SelectAttrValue("InResponseTo", ""); v != x.Request.ID {
		return nil, refuse("response InResponseTo %q", v)
	}
	if d := resp.SelectAttr("Destination"); d == nil || d.Value != x.SP.ACS() {
		return nil, refuse("response Destination")
	}
	// The status: a failure the provider explains ends here.
	status := child(resp, nsProtocol, "Status")
	if status == nil {
		return nil, refuse("no Status")
	}
	code := child(status, nsProtocol, "StatusCode")
	if code == nil {
		return nil, refuse("no StatusCode")
	}
	value := code.SelectAttrValue("Value", "")
	if value == "" {
		return nil, refuse("empty StatusCode")
	}
	if value != StatusSuccess {
		msg := ""
		if m := child(status, nsProtocol, "StatusMessage"); m != nil {
			msg = m.Text()
		}
		if m := errorCodeRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			if anomalies[n] {
				return nil, &Refusal{Message: fmt.Sprintf("spid.anomaly.%d", n), Anomaly: n, Detail: value + " " + msg}
			}
		}
		return nil, &Refusal{Message: "spid.error.failed", Detail: "status " + value + " " + msg}
	}
	if err := checkIssuer(child(resp, nsAssertion, "Issuer"), x.IdP.EntityID, false); err != nil {
		return nil, refuse("response %v", err)
	}
	// Exactly one Assertion, signed, read only from its verified copy.
	as := children(resp, nsAssertion, "Assertion")
	if len(as) != 1 || child(resp, nsAssertion, "EncryptedAssertion") != nil {
		return nil, refuse("%d assertions", len(as))
	}
	if n := len(children(as[0], nsDSig, "Signature")); n != 1 {
		return nil, refuse("assertion with %d signatures", n)
	}
	as0, err := verify(as[0], x.IdP.Certs, x.Now)
	if err != nil {
		return nil, refuse("assertion signature: %v", err)
	}
	return checkAssertion(as0, x)
}

// checkHeader checks ID, Version and IssueInstant of a Response or an
// Assertion: the instant between the request and now (with Skew).
func checkHeader(el *etree.Element, what string, x Expect) error {
	if el.SelectAttrValue("ID", "") == "" {
		return refuse("%s without ID", what)
	}
	if v := el.SelectAttrValue("Version", ""); v != "2.0" {
		return refuse("%s Version %q", what, v)
	}
	t, err := instant(el.SelectAttr("IssueInstant"))
	if err != nil {
		return refuse("%s IssueInstant: %v", what, err)
	}
	if t.Before(x.Request.IssuedAt.Add(-Skew)) || t.After(x.Now.Add(Skew)) {
		return refuse("%s IssueInstant %s out of the request's window", what, t)
	}
	return nil
}

// instant reads a SAML instant: UTC with Z, fractional seconds allowed.
func instant(a *etree.Attr) (time.Time, error) {
	if a == nil || a.Value == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	if !strings.HasSuffix(a.Value, "Z") {
		return time.Time{}, fmt.Errorf("%q is not UTC", a.Value)
	}
	t, err := time.Parse(time.RFC3339Nano, a.Value)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q malformed", a.Value)
	}
	return t, nil
}

// checkIssuer: present, the provider's entityID, Format entity (required
// when must, else absent or entity).
func checkIssuer(iss *etree.Element, entityID string, must bool) error {
	if iss == nil {
		return fmt.Errorf("without Issuer")
	}
	if strings.TrimSpace(iss.Text()) != entityID {
		return fmt.Errorf("with Issuer %q, not the provider", iss.Text())
	}
	f := iss.SelectAttr("Format")
	if (f == nil && must) || (f != nil && f.Value != NameIDEntity) {
		return fmt.Errorf("with a wrong Issuer Format")
	}
	return nil
}

func checkAssertion(as *etree.Element, x Expect) (*Outcome, error) {
	if err := checkHeader(as, "assertion", x); err != nil {
		return nil, err
	}
	if err := checkIssuer(child(as, nsAssertion, "Issuer"), x.IdP.EntityID, x.Profile.AssertionIssuerFormat); err != nil {
		return nil, refuse("assertion %v", err)
	}
	o := &Outcome{IdP: x.IdP.EntityID, Profile: x.Profile.Name}
	// Subject: a transient NameID with its qualifier, confirmed by bearer
	// for this request, at this ACS, not yet expired.
	subj := child(as, nsAssertion, "Subject")
	nameID := child(subj, nsAssertion, "NameID")
	if nameID == nil || strings.TrimSpace(nameID.Text()) == "" {
		return nil, refuse("no NameID")
	}
	if nameID.SelectAttrValue("Format", "") != NameIDTransient {
		return nil, refuse("NameID Format")
	}
	if o.NameQualifier = nameID.SelectAttrValue("NameQualifier", ""); o.NameQualifier == "" {
		return nil, refuse("NameID without NameQualifier")
	}
	o.NameID = strings.TrimSpace(nameID.Text())
	sc := children(subj, nsAssertion, "SubjectConfirmation")
	if len(sc) != 1 || sc[0].SelectAttrValue("Method", "") != MethodBearer {
		return nil, refuse("SubjectConfirmation")
	}
	scd := child(sc[0], nsAssertion, "SubjectConfirmationData")
	if scd == nil {
		return nil, refuse("no SubjectConfirmationData")
	}
	if r := scd.SelectAttr("Recipient"); r == nil || r.Value != x.SP.ACS() {
		return nil, refuse("Recipient")
	}
	if v := scd.SelectAttrValue("InResponseTo", ""); v != x.Request.ID {
		return nil, refuse("SubjectConfirmationData InResponseTo %q", v)
	}
	if t, err := instant(scd.SelectAttr("NotOnOrAfter")); err != nil || !x.Now.Before(t.Add(Skew)) {
		return nil, refuse("SubjectConfirmationData NotOnOrAfter")
	}
	// Conditions: both bounds, now within them, for this SP only.
	cond := child(as, nsAssertion, "Conditions")
	if cond == nil {
		return nil, refuse("no Conditions")
	}
	nb, err := instant(cond.SelectAttr("NotBefore"))
	if err != nil || x.Now.Add(Skew).Before(nb) {
		return nil, refuse("Conditions NotBefore")
	}
	na, err := instant(cond.SelectAttr("NotOnOrAfter"))
	if err != nil || !x.Now.Before(na.Add(Skew)) {
		return nil, refuse("Conditions NotOnOrAfter")
	}
	ar := child(cond, nsAssertion, "AudienceRestriction")
	aud := children(ar, nsAssertion, "Audience")
	if len(aud) == 0 {
		return nil, refuse("no Audience")
	}
	for _, a := range aud {
		if strings.TrimSpace(a.Text()) != x.SP.EntityID() {
			return nil, refuse("Audience %q", a.Text())
		}
	}
	// The level: one of SPID's, consistent with Comparison minimum.
	st := child(as, nsAssertion, "AuthnStatement")
	ref := child(child(st, nsAssertion, "AuthnContext"), nsAssertion, "AuthnContextClassRef")
	if ref == nil {
		return nil, refuse("no AuthnContextClassRef")
	}
	level, ok := LevelOf(strings.TrimSpace(ref.Text()))
	if !ok {
		return nil, refuse("AuthnContextClassRef %q", ref.Text())
	}
	if !level.Satisfies(x.Request.Level) {
		return nil, &Refusal{Message: "spid.error.level", Detail: fmt.Sprintf("level %s below the %s asked", level, x.Request.Level)}
	}
	if x.Profile.MinLevel != "" && (!level.Satisfies(x.Profile.MinLevel) || !x.Request.Level.Satisfies(x.Profile.MinLevel)) {
		return nil, &Refusal{Message: "spid.error.level", Detail: fmt.Sprintf("level %s (asked %s) below the %s profile's %s", level, x.Request.Level, x.Profile.Name, x.Profile.MinLevel)}
	}
	o.Level = level
	o.SessionIndex = st.SelectAttrValue("SessionIndex", "")
	// The attributes: at least one, each with a value; the fiscal number
	// and the names required.
	attrs := map[string]string{}
	stmt := child(as, nsAssertion, "AttributeStatement")
	list := children(stmt, nsAssertion, "Attribute")
	if len(list) == 0 {
		return nil, refuse("no Attribute")
	}
	for _, at := range list {
		v := child(at, nsAssertion, "AttributeValue")
		if v == nil {
			return nil, refuse("attribute %s without value", at.SelectAttrValue("Name", ""))
		}
		attrs[at.SelectAttrValue("Name", "")] = strings.TrimSpace(v.Text())
	}
	// A refusal for missing data names what the profile needs.
	attrMsg := "spid.error.attributes"
	if x.Profile.Identifier != "" {
		attrMsg = "spid.error.eidas_attributes"
	}
	required := x.Profile.Required
	if len(required) == 0 {
		required = SPID.Required
	}
	for _, name := range required {
		if attrs[name] == "" {
			return nil, &Refusal{Message: attrMsg, Detail: name + " missing (" + x.Profile.Name + " profile)"}
		}
	}
	if x.Profile.Identifier != "" {
		// The eIDAS person identifier, for an Italian service; the fiscal
		// number only when the person has one.
		if o.EIDASID = attrs[x.Profile.Identifier]; !identity.ValidEIDASID(o.EIDASID) {
			return nil, &Refusal{Message: attrMsg, Detail: x.Profile.Identifier + " is not an eIDAS identifier for Italy"}
		}
	}
	if attrs["fiscalNumber"] != "" || x.Profile.Identifier == "" {
		code, ok := strings.CutPrefix(attrs["fiscalNumber"], "TINIT-")
		if !ok {
			return nil, &Refusal{Message: attrMsg, Detail: "fiscalNumber not TINIT-"}
		}
		if _, err := cf.Parse(code); err != nil {
			return nil, &Refusal{Message: attrMsg, Detail: "fiscalNumber: " + err.Error()}
		}
		// Under the eIDAS profile a fiscal number is checked but proves
		// nothing: the login is the identifier's (identity.LoginProven;
		// outside review M4).
		if x.Profile.Identifier == "" {
			o.FiscalCode = strings.ToUpper(code)
		}
	}
	o.GivenName, o.FamilyName = attrs["name"], attrs["familyName"]
	if o.GivenName == "" || o.FamilyName == "" {
		return nil, &Refusal{Message: attrMsg, Detail: "name or familyName missing"}
	}
	if d := attrs["dateOfBirth"]; d != "" {
		if _, err := time.Parse("2006-01-02", d); err == nil {
			o.BirthDate = d
		} else if slices.Contains(required, "dateOfBirth") {
			return nil, &Refusal{Message: attrMsg, Detail: "dateOfBirth malformed"}
		}
	}
	if p := strings.ToUpper(attrs["placeOfBirth"]); belfioreRE.MatchString(p) {
		o.BirthPlace = p
	}
	o.Email = attrs["email"]
	return o, nil
}

// verify checks the enveloped signature that is el's own child against
// the provider's certificates and returns the verified copy of el: the
// Signature must reference el by its ID (no other reference, no Object),
// with RSA or ECDSA over SHA-256 or SHA-512, exclusive canonicalization
// and the enveloped transform only.
func verify(el *etree.Element, certs []*x509.Certificate, now time.Time) (*etree.Element, error) {
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return nil, fmt.Errorf("signed element without ID")
	}
	sig := child(el, nsDSig, "Signature")
	if sig == nil {
		return nil, fmt.Errorf("the element is not signed")
	}
	// The signature checked below must be the one the library validates:
	// it takes the first, depth first, that references the element (by
	// its ID, or by ""), so any other one referencing it is refused.
	for _, other := range el.FindElements(".//Signature") {
		if other == sig || other.NamespaceURI() != nsDSig {
			continue
		}
		for _, ref := range other.FindElements("./SignedInfo/Reference") {
			if u := ref.SelectAttrValue("URI", ""); u == "" || u == "#"+id {
				return nil, fmt.Errorf("a second signature of the element")
			}
		}
	}
	for _, c := range sig.ChildElements() {
		if c.NamespaceURI() != nsDSig || (c.Tag != "SignedInfo" && c.Tag != "SignatureValue" && c.Tag != "KeyInfo") {
			return nil, fmt.Errorf("unexpected %s in the signature", c.Tag)
		}
	}
	si := child(sig, nsDSig, "SignedInfo")
	refs := children(si, nsDSig, "Reference")
	if len(refs) != 1 || refs[0].SelectAttrValue("URI", "") != "#"+id {
		return nil, fmt.Errorf("the signature does not reference the element")
	}
	switch attr(child(si, nsDSig, "SignatureMethod"), "Algorithm") {
	case algRSASHA256, algRSASHA512, algECDSASHA256:
	default:
		return nil, fmt.Errorf("signature algorithm not allowed")
	}
	switch attr(child(refs[0], nsDSig, "DigestMethod"), "Algorithm") {
	case algSHA256, algSHA512:
	default:
		return nil, fmt.Errorf("digest algorithm not allowed")
	}
	if attr(child(si, nsDSig, "CanonicalizationMethod"), "Algorithm") != algExcC14N {
		return nil, fmt.Errorf("canonicalization not allowed")
	}
	for _, t := range children(child(refs[0], nsDSig, "Transforms"), nsDSig, "Transform") {
		if a := t.SelectAttrValue("Algorithm", ""); a != algEnvelopedSig && a != algExcC14N {
			return nil, fmt.Errorf("transform %q not allowed", a)
		}
	}
	var last error
	for _, c := range certs {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		ctx.IdAttribute = "ID"
		ctx.Clock = dsig.NewFakeClockAt(now)
		v, err := ctx.Validate(el)
		if err == nil {
			if v.SelectAttrValue("ID", "") != id || v.Tag != el.Tag || v.NamespaceURI() != el.NamespaceURI() {
				return nil, fmt.Errorf("the verified element is not the one read")
			}
			return v, nil
		}
		last = err
	}
	return nil, last
}
