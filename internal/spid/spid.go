// Package spid is civico's SPID Service Provider (SAML 2.0, AgID's
// technical rules and notices): the town's signed metadata, signed
// authentication requests at the level each service needs, the checks of
// every answer the official SP test suites run, the anomaly pages, the
// identity providers' registry as data, SP-initiated logout, and the SP's
// keys sealed in the database with rotation.
//
// A validated assertion proves the person's fiscal code, names, birth date
// and place (identity.SourceSPID) and logs them in at the level it carries
// (SpidL1 low, SpidL2 substantial, SpidL3 high) through identity's one rule
// for proven logins. The checks are profile-aware (Profile), so that the
// CIE's SAML profile can plug in beside SPID's.
package spid

import (
	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
)

// SAML's and SPID's names.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsSPID      = "https://spid.gov.it/saml-extensions"

	// NameIDEntity is the Format of an Issuer.
	NameIDEntity = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
	// NameIDTransient is the only NameID format SPID uses.
	NameIDTransient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	// BindingRedirect and BindingPOST are the bindings SPID allows.
	BindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	// StatusSuccess is the status of an answer that carries an assertion.
	StatusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	// MethodBearer is the subject confirmation method SPID requires.
	MethodBearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer" // #nosec G101 -- a SAML method name, not a credential

	algRSASHA256    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA512    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	algECDSASHA256  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	algSHA256       = "http://www.w3.org/2001/04/xmlenc#sha256"
	algSHA512       = "http://www.w3.org/2001/04/xmlenc#sha512"
	algExcC14N      = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnvelopedSig = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

// The SPID levels' class references.
const (
	SpidL1 = "https://www.spid.gov.it/SpidL1"
	SpidL2 = "https://www.spid.gov.it/SpidL2"
	SpidL3 = "https://www.spid.gov.it/SpidL3"
)

// ClassRef is the SPID level that carries an assurance level.
func ClassRef(l assurance.Level) string {
	switch l {
	case assurance.High:
		return SpidL3
	case assurance.Substantial:
		return SpidL2
	}
	return SpidL1
}

// LevelOf is the assurance level of a SPID class reference: only the three
// https names (the obsolete urn:oasis:...:SpidLx form is refused).
func LevelOf(classRef string) (assurance.Level, bool) {
	switch classRef {
	case SpidL1:
		return assurance.Low, true
	case SpidL2:
		return assurance.Substantial, true
	case SpidL3:
		return assurance.High, true
	}
	return "", false
}

// Profile is what differs between the SAML profiles civico speaks:
// SPID's and the CIE's (CIE ID's SAML profile: its Response Issuer has no
// Format and its Assertion Issuer's Format is not checked, ForceAuthn is
// always true, it gives the eIDAS minimum data set, and its provider has
// no SAML single logout).
type Profile struct {
	// Name is stored with each identity provider ("spid", "cie").
	Name string
	// Method names the login in sessions and the audit log; Source is
	// what proved the attributes.
	Method string
	Source identity.Source
	// AssertionIssuerFormat: the Assertion's Issuer must carry
	// Format=entity (SPID's cases 70 and 71; CIE skips them).
	AssertionIssuerFormat bool
	// AlwaysForceAuthn: ForceAuthn even at level 1.
	AlwaysForceAuthn bool
	// Required are the attributes an answer must carry (each refused
	// answer shown as missing data).
	Required []string
	// Title, Text and Button are the login section's message ids; Look
	// the button's official look ("" for SPID's list, "cie", "eidas").
	Title, Text, Button, Look string
	// MinLevel, when set, is the lowest level the profile is asked for and
	// answers at (eIDAS: substantial): a request below it is not made, an
	// answer below it is refused.
	MinLevel assurance.Level
	// AttributeIndex is the AttributeConsumingService the requests name
	// ("" for 0).
	AttributeIndex string
	// Identifier is the attribute that carries the eIDAS person
	// identifier (eIDAS: spidCode); when set, the fiscal number is
	// optional (TINIT- and valid when present) and the identifier is
	// required. Other profiles never read it.
	Identifier string
}

// SPID is the SPID profile.
var SPID = Profile{Name: "spid", Method: "spid", Source: identity.SourceSPID, AssertionIssuerFormat: true,
	Required: []string{"fiscalNumber", "name", "familyName"},
	Title:    "spid.login.title", Text: "spid.login.text", Button: "spid.login.button"}

// CIE is the CIE ID SAML profile: its provider always gives the eIDAS
// minimum data set (names, birth date, fiscal number), and an answer
// without it is refused.
var CIE = Profile{Name: "cie", Method: "cie", Source: identity.SourceCIE, AlwaysForceAuthn: true,
	Required: []string{"fiscalNumber", "name", "familyName", "dateOfBirth"},
	Title:    "spid.cie.title", Text: "spid.cie.text", Button: "spid.cie.button", Look: "cie"}

// EIDAS is the Italian eIDAS node's profile (FICEP, "Login eIDAS"): a
// SAML provider under SPID's rules that vouches for Europeans identified
// by their own country's notified eID scheme, at level substantial or
// high only. Requests name the AttributeConsumingService of index 99 (the
// eIDAS natural person minimum data set); the eIDAS person identifier
// comes as spidCode, with the names and the birth date; a fiscal number
// only when the person has one.
var EIDAS = Profile{Name: "eidas", Method: "eidas", Source: identity.SourceEIDAS, AssertionIssuerFormat: true,
	Required: []string{"spidCode", "name", "familyName", "dateOfBirth"}, MinLevel: assurance.Substantial,
	AttributeIndex: EIDASAttributeIndex, Identifier: "spidCode",
	Title: "spid.eidas.title", Text: "spid.eidas.text", Button: "spid.eidas.button", Look: "eidas"}

// EIDASAttributeIndex and EIDASFullAttributeIndex are the indexes of the
// eIDAS AttributeConsumingServices of the metadata (the minimum and the
// full data set, as AgID's node asks of every public SP).
const (
	EIDASAttributeIndex     = "99"
	EIDASFullAttributeIndex = "100"
)

// EIDASAttributes and EIDASFullAttributes are the attributes they ask for.
var (
	EIDASAttributes     = []string{"spidCode", "name", "familyName", "dateOfBirth"}
	EIDASFullAttributes = []string{"spidCode", "name", "familyName", "dateOfBirth", "placeOfBirth", "gender", "address"}
)

// profiles are the profiles an identity provider may be registered with.
var profiles = map[string]Profile{SPID.Name: SPID, CIE.Name: CIE, EIDAS.Name: EIDAS}

// ProfileOf is the profile of a name, if civico speaks it.
func ProfileOf(name string) (Profile, bool) {
	p, ok := profiles[name]
	return p, ok
}

// Attributes are the attributes civico asks for at login (the
// AttributeConsumingService of index 0): what proves who the person is.
// Index 1 asks for the email address too.
var Attributes = []string{"fiscalNumber", "name", "familyName", "dateOfBirth", "placeOfBirth"}

// AttributesWithEmail are those of the AttributeConsumingService of index 1.
var AttributesWithEmail = append(append([]string(nil), Attributes...), "email")
