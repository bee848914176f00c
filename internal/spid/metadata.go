package spid

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/beevik/etree"

	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/town"
)

// Paths of the SP on the portal.
const (
	PathMetadata = "/spid/metadata"
	PathLogin    = "/spid/accedi"
	PathACS      = "/spid/acs"
	PathDone     = "/spid/completa"
	PathLogout   = "/spid/esci"
	PathSLO      = "/spid/slo"
)

// SP is the town's Service Provider: its addresses, derived from the
// portal's public address, and its keys.
type SP struct {
	// BaseURL is the portal's public address; the entityID is its
	// metadata's address.
	BaseURL string
	Keys    *Keys
}

// EntityID is the SP's entityID: the address its metadata is served at.
func (sp *SP) EntityID() string { return strings.TrimSuffix(sp.BaseURL, "/") + PathMetadata }

// ACS is the assertion consumer service's address.
func (sp *SP) ACS() string { return strings.TrimSuffix(sp.BaseURL, "/") + PathACS }

// SLO is the single logout service's address.
func (sp *SP) SLO() string { return strings.TrimSuffix(sp.BaseURL, "/") + PathSLO }

// Subject is what the SP certificate says of the town.
func (sp *SP) Subject(p town.Profile) Subject {
	return Subject{CommonName: p.FullName(), Organization: p.FullName(), IPACode: p.IPACode, Locality: p.Name, EntityID: sp.EntityID()}
}

// ErrNoIPACode: the town profile has no IPA code, which a public SP's
// metadata and certificate must carry.
var ErrNoIPACode = errors.New("the town profile has no ipa_code: set it (civico town import) before SPID can be used")

// ErrNoKey: no SP key signs yet (serve makes the first at start once the
// town has an IPA code; `civico spid metadata` does too).
var ErrNoKey = errNoKey

// Metadata is the SP's signed metadata, to serve and to send to AgID: the
// signing certificates of every key not retired (two during a rotation),
// the assertion consumer service (index 0, HTTP-POST), the single logout
// service, the attributes asked for, the organization and the public
// SP's contact with its IPA code.
func (sp *SP) Metadata(ctx context.Context, p town.Profile) ([]byte, error) {
	if p.IPACode == "" {
		return nil, ErrNoIPACode
	}
	signer, err := sp.Keys.Signer(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := sp.Keys.Published(ctx)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(sp.BaseURL, "/")
	doc := etree.NewDocument()
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("xmlns:spid", nsSPID)
	ed.CreateAttr("entityID", sp.EntityID())
	ed.CreateAttr("ID", "_"+tokens.ID())
	sso := ed.CreateElement("md:SPSSODescriptor")
	sso.CreateAttr("protocolSupportEnumeration", nsProtocol)
	sso.CreateAttr("AuthnRequestsSigned", "true")
	sso.CreateAttr("WantAssertionsSigned", "true")
	for _, k := range keys {
		kd := sso.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", "signing")
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(k.Cert.Raw))
	}
	for _, b := range []string{BindingRedirect, BindingPOST} {
		slo := sso.CreateElement("md:SingleLogoutService")
		slo.CreateAttr("Binding", b)
		slo.CreateAttr("Location", sp.SLO())
	}
	sso.CreateElement("md:NameIDFormat").SetText(NameIDTransient)
	acs := sso.CreateElement("md:AssertionConsumerService")
	acs.CreateAttr("Binding", BindingPOST)
	acs.CreateAttr("Location", sp.ACS())
	acs.CreateAttr("index", "0")
	acs.CreateAttr("isDefault", "true")
	// Index 99 and 100 are the eIDAS node's (AgID's names for them).
	for i, set := range [][]string{Attributes, AttributesWithEmail, EIDASAttributes, EIDASFullAttributes} {
		acsv := sso.CreateElement("md:AttributeConsumingService")
		acsv.CreateAttr("index", []string{"0", "1", EIDASAttributeIndex, EIDASFullAttributeIndex}[i])
		name := acsv.CreateElement("md:ServiceName")
		name.CreateAttr("xml:lang", "it")
		name.SetText([]string{"Servizi online del " + p.FullName(), "Servizi online con avvisi per email del " + p.FullName(),
			"eIDAS Natural Person Minimum Attribute Set", "eIDAS Natural Person Full Attribute Set"}[i])
		for _, a := range set {
			ra := acsv.CreateElement("md:RequestedAttribute")
			ra.CreateAttr("Name", a)
		}
	}
	org := ed.CreateElement("md:Organization")
	for _, f := range []struct{ tag, text string }{{"md:OrganizationName", p.FullName()}, {"md:OrganizationDisplayName", p.FullName()}, {"md:OrganizationURL", base + "/"}} {
		el := org.CreateElement(f.tag)
		el.CreateAttr("xml:lang", "it")
		el.SetText(f.text)
	}
	cp := ed.CreateElement("md:ContactPerson")
	cp.CreateAttr("contactType", "other")
	ext := cp.CreateElement("md:Extensions")
	ext.CreateElement("spid:IPACode").SetText(p.IPACode)
	ext.CreateElement("spid:Public")
	mail := p.Email
	if mail == "" {
		mail = p.PEC
	}
	cp.CreateElement("md:EmailAddress").SetText(mail)
	if phone := strings.ReplaceAll(p.Phone, " ", ""); phone != "" {
		if !strings.HasPrefix(phone, "+") {
			phone = "+39" + phone
		}
		cp.CreateElement("md:TelephoneNumber").SetText(phone)
	}
	if err := signEnveloped(ed, signer, 0); err != nil {
		return nil, err
	}
	doc.WriteSettings.CanonicalEndTags = true
	return doc.WriteToBytes()
}
