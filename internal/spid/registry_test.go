package spid

import (
	"strings"
	"testing"

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
	for name, bad := range map[string]string{
		"no Redirect SSO":     strings.Replace(one, BindingRedirect+`" Location="https://a.example/sso"`, BindingPOST+`" Location="https://a.example/sso"`, 1),
		"plain http":          strings.Replace(one, `Location="https://a.example/sso"`, `Location="http://a.example/sso"`, 1),
		"no certificate":      strings.Replace(one, `use="signing"`, `use="encryption"`, 1),
		"a DTD":               `<!DOCTYPE x [<!ENTITY e "x">]>` + one,
		"not metadata":        `<x/>`,
		"no entityID":         strings.Replace(one, `entityID="https://a.example"`, ``, 1),
		"only a SP":           `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example"><md:SPSSODescriptor/></md:EntityDescriptor>`,
		"an unknown profile ": "",
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
