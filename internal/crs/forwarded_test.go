package crs

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cardca"
)

// escapeComponent escapes like nginx's $ssl_client_escaped_cert (and
// JavaScript's encodeURIComponent): everything but letters, digits and
// -_.~, including the +, / and = of base64.
func escapeComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func TestParseForwarded(t *testing.T) {
	f := newFixture(t)
	card := f.issue(t, f.ca, cardca.CardRequest{GivenName: "Antonio", FamilyName: "Masseroni"})
	ca := f.ca.Cert()
	cardPEM, caPEM := pemOf(card.Cert), pemOf(ca)
	b64 := base64.StdEncoding.EncodeToString(card.Cert.Raw)
	body := func(p string) string { // the base64 lines of a PEM, joined
		p = strings.TrimPrefix(strings.TrimSpace(p), pemBegin)
		return strings.ReplaceAll(strings.TrimSuffix(p, pemEnd), "\n", "")
	}

	one := []*x509.Certificate{card.Cert}
	two := []*x509.Certificate{card.Cert, ca}
	for _, tt := range []struct {
		name, header string
		want         []*x509.Certificate
	}{
		{"nginx $ssl_client_escaped_cert", escapeComponent(cardPEM), one},
		{"URL-escaped PEM keeping + / =", url.PathEscape(cardPEM), one},
		{"Apache: newlines as spaces", strings.ReplaceAll(cardPEM, "\n", " "), one},
		{"Apache: newlines as spaces, no trailing space", strings.TrimSpace(strings.ReplaceAll(cardPEM, "\n", " ")), one},
		{"PEM with newlines", cardPEM, one},
		{"PEM with CRLF", strings.ReplaceAll(cardPEM, "\n", "\r\n"), one},
		{"PEM on one line", pemBegin + body(cardPEM) + pemEnd, one},
		{"PEM chain", cardPEM + caPEM, two},
		{"PEM chain as spaces", strings.ReplaceAll(cardPEM+caPEM, "\n", " "), two},
		{"PEM chain, commas", strings.TrimSpace(cardPEM) + "," + caPEM, two},
		{"escaped PEM chain", escapeComponent(cardPEM + caPEM), two},
		{"base64 DER (HAProxy)", b64, one},
		{"base64 DER with spaces around", "  " + b64 + "\t", one},
		{"base64 DER without padding", strings.TrimRight(b64, "="), one},
		{"URL-safe base64 DER", base64.URLEncoding.EncodeToString(card.Cert.Raw), one},
		{"base64 DER chain with commas", b64 + "," + base64.StdEncoding.EncodeToString(ca.Raw), two},
		{"base64 of concatenated DER", base64.StdEncoding.EncodeToString(append(append([]byte{}, card.Cert.Raw...), ca.Raw...)), two},
		{"Traefik: escaped PEM bodies with commas", url.QueryEscape(body(cardPEM) + "," + body(caPEM)), two},
		{"empty", "", nil},
		{"blank", "  \t ", nil},
		{"Apache without a certificate", "(null)", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseForwarded(tt.header)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d certificates, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("certificate %d is %v", i, got[i].Subject)
				}
			}
		})
	}

	many := strings.Repeat(cardPEM, maxForwardedCerts+1)
	for _, tt := range []struct{ name, header string }{
		{"garbage", "hello, world"},
		{"bad URL escape", "%zz" + cardPEM},
		{"PEM without END", strings.TrimSuffix(strings.TrimSpace(cardPEM), pemEnd)},
		{"PEM of another type", strings.ReplaceAll(cardPEM, "CERTIFICATE", "PRIVATE KEY")},
		{"text before the PEM", "cert: " + cardPEM},
		{"bad base64 in PEM", strings.Replace(cardPEM, "M", "!", 1)},
		{"truncated DER", base64.StdEncoding.EncodeToString(card.Cert.Raw[:len(card.Cert.Raw)-10])},
		{"only commas", ",,,"},
		{"too many certificates", many},
		{"too many base64 certificates", strings.Repeat(b64+",", maxForwardedCerts+1)},
		{"too long", strings.Repeat("A", maxForwardedBytes+4)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParseForwarded(tt.header)
			if ReasonOf(err) != Malformed || certs != nil {
				t.Errorf("got %d certificates, %v; want a Malformed refusal", len(certs), err)
			}
		})
	}
}

// TestForwardedLogin is proxy mode end to end: the header's certificates
// go to Verify as the TLS handshake's would.
func TestForwardedLogin(t *testing.T) {
	f := newFixture(t)
	card := f.issue(t, f.ca, cardca.CardRequest{GivenName: "Antonio", FamilyName: "Masseroni"})
	certs, err := ParseForwarded(escapeComponent(pemOf(card.Cert)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.v.Verify(certs, time.Now())
	if err != nil || id.FiscalCode != fiscalCode || id.GivenName != "Antonio" {
		t.Errorf("%+v %v", id, err)
	}
	certs, err = ParseForwarded("(null)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(certs, time.Now()); ReasonOf(err) != NoCertificate {
		t.Errorf("no certificate: %v", err)
	}
	other := f.issue(t, f.other, cardca.CardRequest{})
	certs, err = ParseForwarded(pemOf(other.Cert) + pemOf(f.other.Cert()))
	if err != nil {
		t.Fatal(err)
	}
	// The client offering the impostor CA as an intermediate does not help.
	if _, err := f.v.Verify(certs, time.Now()); ReasonOf(err) != UnknownAuthority {
		t.Errorf("another authority with its CA: %v", err)
	}
}
