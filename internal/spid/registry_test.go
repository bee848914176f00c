package spid

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/civico-pa/civico/internal/spid/spidtest"
)

// The registry's format: an EntityDescriptor or an EntitiesDescriptor of
// several; what a provider must have, and what is refused.
func TestParseMetadata(t *testing.T) {
	a, err := spidtest.New("https://a.example", "https://a.example")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := spidtest.New("https://b.example", "https://b.example")
	one := string(a.Metadata("Gestore A"))
	idps, err := ParseMetadata([]byte(one), "spid")
	if err != nil || len(idps) != 1 || idps[0].Name != "Gestore A" || idps[0].SSOURL != "https://a.example/sso" ||
		idps[0].SLOURL != "https://a.example/slo" || idps[0].SLOBinding != BindingRedirect || len(idps[0].Certs) != 1 {
		t.Fatalf("one provider: %+v %v", idps, err)
	}
	strip := func(s string) string { return s[strings.Index(s, "<md:EntityDescriptor"):] }
	many := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + strip(one) + strip(string(b.Metadata("Gestore B"))) +
		`<md:EntityDescriptor entityID="https://sp.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor></md:EntitiesDescriptor>`
	if idps, err := ParseMetadata([]byte(many), "spid"); err != nil || len(idps) != 2 || idps[1].EntityID != "https://b.example" {
		t.Fatalf("an EntitiesDescriptor: %+v %v", idps, err)
	}
	// A provider offering the HTTP-POST binding only is taken by it.
	post := strings.Replace(one, BindingRedirect+`" Location="https://a.example/sso"`, BindingPOST+`" Location="https://a.example/sso"`, 1)
	if idps, err := ParseMetadata([]byte(post), "spid"); err != nil || len(idps) != 1 || idps[0].SSOBinding != BindingPOST {
		t.Fatalf("a POST-only provider: %+v %v", idps, err)
	}
	if idps[0].SSOBinding != BindingRedirect {
		t.Errorf("a provider offering Redirect is taken by %s", idps[0].SSOBinding)
	}
	for name, bad := range map[string]string{
		"a wildcard host":         strings.ReplaceAll(one, `Location="https://a.example/sso"`, `Location="https://*/sso"`),
		"no Redirect or POST SSO": strings.Replace(one, BindingRedirect+`" Location="https://a.example/sso"`, `urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://a.example/sso"`, 1),
		"plain http":              strings.Replace(one, `Location="https://a.example/sso"`, `Location="http://a.example/sso"`, 1),
		"no certificate":          strings.Replace(one, `use="signing"`, `use="encryption"`, 1),
		"a DTD":                   `<!DOCTYPE x [<!ENTITY e "x">]>` + one,
		"not metadata":            `<x/>`,
		"no entityID":             strings.Replace(one, `entityID="https://a.example"`, ``, 1),
		"only a SP":               `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example"><md:SPSSODescriptor/></md:EntityDescriptor>`,
		"an unknown profile ":     "",
	} {
		prof := "spid"
		if bad == "" {
			bad, prof = one, "cie-oidc"
		}
		if _, err := ParseMetadata([]byte(bad), prof); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// signedRegistry is an EntitiesDescriptor of two providers signed by the
// registry's key, as AgID publishes it, valid until until.
func signedRegistry(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, until time.Time) []byte {
	t.Helper()
	var parts []string
	for _, e := range []string{"https://a.example", "https://b.example"} {
		p, err := spidtest.New(e, e)
		if err != nil {
			t.Fatal(err)
		}
		s := string(p.Metadata("Gestore " + e))
		parts = append(parts, s[strings.Index(s, "<md:EntityDescriptor"):])
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_registry" validUntil="` +
		until.UTC().Format(time.RFC3339) + `">` + strings.Join(parts, "") + `</md:EntitiesDescriptor>`); err != nil {
		t.Fatal(err)
	}
	if err := spidtest.SignElement(doc.Root(), key, cert); err != nil {
		t.Fatal(err)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The registry's metadata is read only when the registry's signature
// holds: a file signed by another key, changed after signing, unsigned,
// past its validUntil, or with a second entity smuggled beside the signed
// one, is refused; what is parsed is what was signed.
func TestVerifyMetadata(t *testing.T) {
	now := time.Now()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	cert, err := spidtest.SelfSigned(key, "Registro SPID")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherCert, _ := spidtest.SelfSigned(other, "Registro SPID")
	good := signedRegistry(t, key, cert, now.Add(48*time.Hour))
	data, err := VerifyMetadata(good, []*x509.Certificate{otherCert, cert}, now)
	if err != nil {
		t.Fatalf("a good registry: %v", err)
	}
	if idps, err := ParseMetadata(data, "spid"); err != nil || len(idps) != 2 {
		t.Fatalf("the verified registry: %+v %v", idps, err)
	}
	unsigned := strings.Replace(string(good), string(good[strings.Index(string(good), "<ds:Signature"):strings.Index(string(good), "</ds:Signature>")+len("</ds:Signature>")]), "", 1)
	for name, tt := range map[string]struct {
		data    []byte
		signers []*x509.Certificate
		want    string
	}{
		"another signer": {good, []*x509.Certificate{otherCert}, ""},
		"changed":        {[]byte(strings.Replace(string(good), "https://b.example/sso", "https://evil.example/sso", 1)), []*x509.Certificate{cert}, ""},
		"unsigned":       {[]byte(unsigned), []*x509.Certificate{cert}, "not signed"},
		"expired":        {signedRegistry(t, key, cert, now.Add(-time.Hour)), []*x509.Certificate{cert}, "validUntil"},
		"no signer":      {good, nil, "no certificate"},
		"doctype":        {[]byte(`<!DOCTYPE x [<!ENTITY a "b">]>` + string(good)), []*x509.Certificate{cert}, "DOCTYPE"},
	} {
		if _, err := VerifyMetadata(tt.data, tt.signers, now); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tt.want)
		}
	}
	// An entity added outside the signed element is not read: what comes
	// back is the signed element only.
	wrapped := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + string(good[strings.Index(string(good), "<md:EntitiesDescriptor"):]) + `</md:EntitiesDescriptor>`
	if _, err := VerifyMetadata([]byte(wrapped), []*x509.Certificate{cert}, now); err == nil {
		t.Error("a signed registry wrapped in an unsigned one was accepted")
	}
}
