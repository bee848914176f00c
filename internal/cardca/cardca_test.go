package cardca

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

const fiscalCode = "MSRNTN77H15C351X"

func newAuthority(t *testing.T) *Authority {
	t.Helper()
	a, err := Init(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestInitWritesTheAuthority(t *testing.T) {
	now := time.Now()
	dir := filepath.Join(t.TempDir(), "ca")
	a, err := Init(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	f := a.Files()
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v %v, want mode 0700", info.Mode(), err)
	}
	for path, mode := range map[string]os.FileMode{f.CA: 0o644, f.CAKey: 0o600, f.ServerCert: 0o644, f.ServerKey: 0o600, f.CRL: 0o644, f.State: 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), mode)
		}
	}

	ca := a.Cert()
	if ca.Subject.CommonName != Name || !ca.IsCA || ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("CA: %q IsCA=%v KeyUsage=%v", ca.Subject.CommonName, ca.IsCA, ca.KeyUsage)
	}
	if y := ca.NotAfter.Year() - now.Year(); y != 10 {
		t.Errorf("CA valid for %d years, want 10", y)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CA not self-signed: %v", err)
	}

	server := readCert(t, f.ServerCert)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := server.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if d := server.NotAfter.Sub(now); d < 364*24*time.Hour || d > 367*24*time.Hour {
		t.Errorf("server certificate valid for %v, want a year", d)
	}

	crl := readCRL(t, f.CRL)
	if err := crl.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CRL: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 0 || crl.Number.Int64() != 1 {
		t.Errorf("CRL: %d entries, number %v; want an empty CRL number 1", len(crl.RevokedCertificateEntries), crl.Number)
	}
	if d := crl.NextUpdate.Sub(crl.ThisUpdate); d != 30*24*time.Hour {
		t.Errorf("CRL valid for %v, want 30 days", d)
	}

	if _, err := Init(dir, now); !errors.Is(err, ErrExists) {
		t.Errorf("second Init: %v, want ErrExists", err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Cert().Equal(ca) {
		t.Error("Open loaded another CA")
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of an empty directory: %v, want ErrNotFound", err)
	}
}

func TestIssueCardLooksLikeACNS(t *testing.T) {
	a := newAuthority(t)
	card, err := a.IssueCard(CardRequest{FiscalCode: strings.ToLower(fiscalCode), GivenName: "Antonio", FamilyName: "Masseroni"})
	if err != nil {
		t.Fatal(err)
	}
	c := card.Cert
	if !regexp.MustCompile(`^` + fiscalCode + `/[1-9][0-9]{15}\.[A-Za-z0-9+/]{27}=$`).MatchString(c.Subject.CommonName) {
		t.Errorf("CN %q", c.Subject.CommonName)
	}
	if c.Subject.SerialNumber != "IT:"+fiscalCode || len(c.Subject.Country) != 1 || c.Subject.Country[0] != "IT" {
		t.Errorf("subject %v", c.Subject)
	}
	names := map[string]string{}
	for _, n := range c.Subject.Names {
		names[n.Type.String()], _ = n.Value.(string)
	}
	if names["2.5.4.42"] != "Antonio" || names["2.5.4.4"] != "Masseroni" {
		t.Errorf("givenName/surname: %v", names)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 64 {
		t.Errorf("serial %x", c.SerialNumber)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("key usage %v, extended %v", c.KeyUsage, c.ExtKeyUsage)
	}
	if len(c.Policies) != 1 || !c.Policies[0].EqualASN1OID(PolicyCNS) {
		t.Errorf("policies %v", c.Policies)
	}
	if c.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key %v", c.PublicKeyAlgorithm)
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.Cert())
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Error(err)
	}

	cie, err := a.IssueCard(CardRequest{FiscalCode: fiscalCode, Policies: []asn1.ObjectIdentifier{PolicyCIE}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cie.Cert.Policies) != 1 || !cie.Cert.Policies[0].EqualASN1OID(PolicyCIE) {
		t.Errorf("CIE policies %v", cie.Cert.Policies)
	}
	none, err := a.IssueCard(CardRequest{FiscalCode: fiscalCode, Policies: []asn1.ObjectIdentifier{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(none.Cert.Policies) != 0 {
		t.Errorf("no policies asked, got %v", none.Cert.Policies)
	}
	if card.Cert.Subject.CommonName == cie.Cert.Subject.CommonName {
		t.Error("two cards with the same CN")
	}
}

func TestIssueCardChecksTheRequest(t *testing.T) {
	a := newAuthority(t)
	if _, err := a.IssueCard(CardRequest{FiscalCode: "MSRNTN77H15C351Y"}); err == nil {
		t.Error("a fiscal code with a wrong check character was accepted")
	}
	now := time.Now()
	if _, err := a.IssueCard(CardRequest{FiscalCode: fiscalCode, NotBefore: now, NotAfter: now.Add(-time.Hour)}); err == nil {
		t.Error("a card expiring before it starts was issued")
	}
	c, err := a.IssueCard(CardRequest{FiscalCode: "MSRNTN77H15C351Y", CommonName: "not a CNS"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cert.Subject.CommonName != "not a CNS" || c.Cert.Subject.SerialNumber != "IT:MSRNTN77H15C351Y" {
		t.Errorf("override: %v", c.Cert.Subject)
	}
}

func TestRevoke(t *testing.T) {
	a := newAuthority(t)
	card, err := a.IssueCard(CardRequest{FiscalCode: fiscalCode})
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.IssueCard(CardRequest{FiscalCode: fiscalCode})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	if err := a.Revoke(card.Cert.SerialNumber, now); err != nil {
		t.Fatal(err)
	}
	crl := readCRL(t, a.Files().CRL)
	if crl.Number.Int64() != 2 || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(card.Cert.SerialNumber) != 0 {
		t.Fatalf("CRL number %v with %d entries", crl.Number, len(crl.RevokedCertificateEntries))
	}
	if !crl.ThisUpdate.Equal(now) || !crl.RevokedCertificateEntries[0].RevocationTime.Equal(now) {
		t.Errorf("CRL this update %v, revocation %v, want %v", crl.ThisUpdate, crl.RevokedCertificateEntries[0].RevocationTime, now)
	}
	if err := a.Revoke(card.Cert.SerialNumber, now); !errors.Is(err, ErrAlreadyRevoked) {
		t.Errorf("second revocation: %v", err)
	}
	if err := a.Revoke(big.NewInt(42), now); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("unknown serial: %v", err)
	}
	// Another handle on the same directory sees the revocation and goes on
	// numbering.
	b, err := Open(a.Files().Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Revoke(other.Cert.SerialNumber, now); err != nil {
		t.Fatal(err)
	}
	crl = readCRL(t, a.Files().CRL)
	if crl.Number.Int64() != 3 || len(crl.RevokedCertificateEntries) != 2 {
		t.Errorf("CRL number %v with %d entries, want 3 with 2", crl.Number, len(crl.RevokedCertificateEntries))
	}
}

func TestParseSerial(t *testing.T) {
	a := newAuthority(t)
	card, err := a.IssueCard(CardRequest{FiscalCode: fiscalCode})
	if err != nil {
		t.Fatal(err)
	}
	serial := card.Cert.SerialNumber
	hex := serial.Text(16)
	var colons []string
	for _, b := range serial.Bytes() {
		colons = append(colons, fmt.Sprintf("%02X", b))
	}
	for _, s := range []string{hex, strings.ToUpper(hex), "0x" + hex, serial.String(), strings.Join(colons, ":"), " " + hex + "\n"} {
		got, err := a.ParseSerial(s)
		if err != nil || got.Cmp(serial) != 0 {
			t.Errorf("ParseSerial(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "xyz", "1234", "0x"} {
		if _, err := a.ParseSerial(s); err == nil {
			t.Errorf("ParseSerial(%q) accepted", s)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	a := newAuthority(t)
	card, err := a.IssueCard(CardRequest{FiscalCode: fiscalCode, GivenName: "Antonio", FamilyName: "Masseroni"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cards")
	paths, err := card.WriteFiles(dir, "antonio", "segreta")
	if err != nil {
		t.Fatal(err)
	}
	if !readCert(t, paths.Cert).Equal(card.Cert) {
		t.Error("base.pem is not the card")
	}
	if info, err := os.Stat(paths.Key); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("base.key: %v %v", info.Mode(), err)
	}
	block, _ := pem.Decode(mustRead(t, paths.Key))
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatal("base.key is not a PKCS#8 PEM key")
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Fatal(err)
	}
	key, cert, chain, err := pkcs12.DecodeChain(mustRead(t, paths.P12), "segreta")
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(card.Cert) || len(chain) != 1 || !chain[0].Equal(a.Cert()) || key == nil {
		t.Errorf("p12 holds %v with chain %v", cert.Subject, chain)
	}
	if _, _, _, err := pkcs12.DecodeChain(mustRead(t, paths.P12), "wrong"); err == nil {
		t.Error("p12 opened with the wrong password")
	}
	if _, err := card.WriteFiles(dir, "antonio", "segreta"); err == nil {
		t.Error("WriteFiles overwrote a card")
	}
	if _, err := card.WriteFiles(dir, "other", ""); err == nil {
		t.Error("WriteFiles wrote a p12 without a password")
	}
}

func TestNewOtherIsAnImpostor(t *testing.T) {
	a := newAuthority(t)
	o, err := NewOther(filepath.Join(t.TempDir(), "other"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if o.Cert().Subject.String() != a.Cert().Subject.String() {
		t.Errorf("other authority named %v, want %v", o.Cert().Subject, a.Cert().Subject)
	}
	card, err := o.IssueCard(CardRequest{FiscalCode: fiscalCode})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.Cert())
	if _, err := card.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("a card of the other authority verified against the test CA")
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(mustRead(t, path))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readCRL(t *testing.T, path string) *x509.RevocationList {
	t.Helper()
	block, _ := pem.Decode(mustRead(t, path))
	if block == nil || block.Type != "X509 CRL" {
		t.Fatalf("%s: no PEM CRL", path)
	}
	crl, err := x509.ParseRevocationList(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
