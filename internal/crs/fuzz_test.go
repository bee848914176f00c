package crs

import (
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/cf"
)

// FuzzParseForwarded: whatever a header holds, ParseForwarded does not
// panic, fails only with a Malformed refusal, and what it reads reads the
// same once written again in another of the forms it accepts. The seed
// corpus in testdata/fuzz holds real card certificates in each proxy's
// form.
func FuzzParseForwarded(f *testing.F) {
	f.Add("")
	f.Add("(null)")
	f.Add("-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----")
	f.Add("%2D%2D%2D%2D%2DBEGIN%20CERTIFICATE")
	f.Add("MIIB,MIIB")
	f.Fuzz(func(t *testing.T, header string) {
		certs, err := ParseForwarded(header)
		if err != nil {
			if ReasonOf(err) != Malformed || certs != nil {
				t.Fatalf("%d certificates and %v, want nothing and a Malformed refusal", len(certs), err)
			}
			return
		}
		if len(certs) > maxForwardedCerts {
			t.Fatalf("%d certificates", len(certs))
		}
		var der, pems []string
		for _, c := range certs {
			if c == nil {
				t.Fatal("a nil certificate")
			}
			der = append(der, base64.StdEncoding.EncodeToString(c.Raw))
			pems = append(pems, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
		}
		if len(certs) == 0 {
			return
		}
		for _, again := range []string{strings.Join(der, ","), strings.Join(pems, ""), strings.ReplaceAll(strings.Join(pems, ""), "\n", " ")} {
			got, err := ParseForwarded(again)
			if err != nil || len(got) != len(certs) {
				t.Fatalf("written again, %d certificates and %v", len(got), err)
			}
			for i := range got {
				if !got[i].Equal(certs[i]) {
					t.Fatalf("written again, certificate %d differs", i)
				}
			}
		}
	})
}

// FuzzParseCommonName: the CN parser does not panic, accepts only
// "<valid fiscal code>/<digits>.<something>", and refuses everything else
// as BadSubject, or as BadFiscalCode when only the fiscal code is wrong.
func FuzzParseCommonName(f *testing.F) {
	f.Add("MSRNTN77H15C351X/6120016461039008.i1ZpZfaCX/eKyikBfnF8to+M2T8=")
	f.Add("MSRNTN77H15C351Y/6120016461039008.i1ZpZfaCX/eKyikBfnF8to+M2T8=")
	f.Add("MSRNTN77H15C351X6120016461039008.i1ZpZfaCX")
	f.Add("RSSMRA80A01F205X/1.x")
	f.Add("RSSMRALPALMF2Q5R/0.\x00")
	f.Fuzz(func(t *testing.T, cn string) {
		code, number, r := parseCommonName(cn)
		if r != nil {
			if code != "" || number != "" {
				t.Fatalf("refused (%v) but returned %q %q", r, code, number)
			}
			switch r.Reason {
			case BadSubject:
			case BadFiscalCode:
				if !subjectRE.MatchString(cn) {
					t.Fatalf("BadFiscalCode for a CN of the wrong shape")
				}
			default:
				t.Fatalf("reason %q", r.Reason)
			}
			return
		}
		if again, err := cf.Parse(string(code)); err != nil || again != code {
			t.Fatalf("accepted fiscal code %q: %v", code, err)
		}
		rest, ok := strings.CutPrefix(cn, string(code)+"/"+number+".")
		if !ok || rest == "" || number == "" || strings.Trim(number, "0123456789") != "" {
			t.Fatalf("accepted %q as %q %q", cn, code, number)
		}
	})
}
