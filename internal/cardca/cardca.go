// Package cardca is a TEST card authority: it plays the part of the Lombardy
// region issuing CRS smart cards (CNS), so that demos and tests can log in
// with a client certificate without a card reader.
//
// Never trust it in production: its CA key lies in a file next to the
// certificates, and anyone who can read the directory can mint a card for
// any fiscal code.
//
// An authority lives in a directory (ca.pem, ca.key, server.pem,
// server.key, crl.pem and cards.json) and is used by one process at a time:
// the state file is rewritten whole, so two processes issuing or revoking
// at the same moment could lose one another's change.
package cardca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" // #nosec G505 -- only for the CN suffix of test cards (uniqueness, as real cards' hash), not for security
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/civico-pa/civico/internal/cf"
)

// The certificatePolicies identifiers of the Italian identity cards. They
// are repeated in package crs, which checks them (a test keeps the two in
// step): cardca must not import crs, whose tests import cardca.
var (
	PolicyCNS = asn1.ObjectIdentifier{1, 3, 76, 16, 2, 1} // Carta Nazionale dei Servizi
	PolicyCIE = asn1.ObjectIdentifier{1, 3, 76, 47, 4}    // Carta d'Identità Elettronica
)

// Name is the common name of the test authority's CA certificate.
const Name = "Regione Lombardia — CRS di prova"

// Validity periods.
const (
	caYears        = 10
	serverYears    = 1
	crlValidity    = 30 * 24 * time.Hour
	defaultCardFor = 365 * 24 * time.Hour
	// backdate tolerates clocks a few minutes apart between the machine
	// that issues and the one that verifies.
	backdate = 5 * time.Minute
)

// File names inside the authority's directory.
const (
	fileCA         = "ca.pem"
	fileCAKey      = "ca.key"
	fileServerCert = "server.pem"
	fileServerKey  = "server.key"
	fileCRL        = "crl.pem"
	fileState      = "cards.json"
)

var (
	// ErrExists: Init was given a directory that already holds an authority.
	ErrExists = errors.New("cardca: the directory already holds a card authority")
	// ErrNotFound: Open was given a directory without an authority.
	ErrNotFound = errors.New("cardca: no card authority in the directory")
	// ErrUnknownSerial: Revoke or ParseSerial was given a serial this
	// authority never issued.
	ErrUnknownSerial = errors.New("cardca: no card with this serial was issued here")
	// ErrAlreadyRevoked: Revoke was given a card revoked before.
	ErrAlreadyRevoked = errors.New("cardca: the card is already revoked")
)

// Files are the paths of an authority's files.
type Files struct {
	Dir        string
	CA         string // the CA certificate (PEM): CIVICO_CRS_CA_FILE
	CAKey      string // the CA private key (PKCS#8 PEM)
	ServerCert string // the TLS server certificate for localhost (PEM): CIVICO_TLS_CERT_FILE
	ServerKey  string // its key (PKCS#8 PEM): CIVICO_TLS_KEY_FILE
	CRL        string // the certificate revocation list (PEM): CIVICO_CRS_CRL_FILE
	State      string // the issued cards and revocations (JSON)
}

func filesIn(dir string) Files {
	return Files{
		Dir:        dir,
		CA:         filepath.Join(dir, fileCA),
		CAKey:      filepath.Join(dir, fileCAKey),
		ServerCert: filepath.Join(dir, fileServerCert),
		ServerKey:  filepath.Join(dir, fileServerKey),
		CRL:        filepath.Join(dir, fileCRL),
		State:      filepath.Join(dir, fileState),
	}
}

// Authority is a test card authority stored in a directory.
type Authority struct {
	files Files
	cert  *x509.Certificate
	key   crypto.Signer

	mu sync.Mutex // serialises IssueCard and Revoke, which rewrite the state
}

// state is cards.json.
type state struct {
	// CRLNumber is the number of the last CRL written.
	CRLNumber int64        `json:"crl_number"`
	Cards     []cardRecord `json:"cards"`
}

type cardRecord struct {
	Serial     string     `json:"serial"` // lower-case hex
	CommonName string     `json:"common_name"`
	FiscalCode string     `json:"fiscal_code,omitempty"`
	NotBefore  time.Time  `json:"not_before"`
	NotAfter   time.Time  `json:"not_after"`
	IssuedAt   time.Time  `json:"issued_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Init creates an authority in dir (created with mode 0700 if missing):
// the CA, a server certificate for localhost, 127.0.0.1 and ::1 signed by
// it, an empty CRL and the state file. It refuses (ErrExists) a directory
// that already holds an authority; use Open for that.
func Init(dir string, now time.Time) (*Authority, error) {
	return initAs(dir, now, Name)
}

// NewOther creates in dir another authority that nobody trusts: the same
// CA name as Init's, a different key. Its cards are otherwise identical to
// those of the real test authority, which is what a test of "card not
// recognised" needs: a verifier must tell them apart by signature, not by
// name.
func NewOther(dir string, now time.Time) (*Authority, error) {
	return initAs(dir, now, Name)
}

func initAs(dir string, now time.Time, name string) (*Authority, error) {
	if dir == "" {
		return nil, errors.New("cardca: no directory given")
	}
	files := filesIn(dir)
	for _, p := range []string{files.CA, files.CAKey, files.State} {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%w: %s exists; use it as it is, or remove the directory to start over", ErrExists, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil { // #nosec G302 -- a directory: 0700 is owner-only, and x is needed to enter it
		return nil, err
	}

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Regione Lombardia (prova)"}, Country: []string{"IT"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	a := &Authority{files: files, cert: caCert, key: caKey}

	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if serial, err = randomSerial(); err != nil {
		return nil, err
	}
	serverTemplate := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"civico (prova)"}, Country: []string{"IT"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.AddDate(serverYears, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTemplate, caCert, serverKey.Public(), caKey)
	if err != nil {
		return nil, err
	}

	caKeyPEM, err := keyPEM(caKey)
	if err != nil {
		return nil, err
	}
	serverKeyPEM, err := keyPEM(serverKey)
	if err != nil {
		return nil, err
	}
	// The state file goes last: its presence is what says the directory
	// holds a complete authority.
	writes := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{files.CAKey, caKeyPEM, 0o600},
		{files.CA, certPEM(caDER), 0o644},
		{files.ServerKey, serverKeyPEM, 0o600},
		{files.ServerCert, certPEM(serverDER), 0o644},
	}
	for _, w := range writes {
		if err := writeNew(w.path, w.data, w.mode); err != nil {
			return nil, err
		}
	}
	st := &state{}
	if err := a.writeCRL(st, now); err != nil {
		return nil, err
	}
	if err := a.saveState(st); err != nil {
		return nil, err
	}
	return a, nil
}

// Open loads the authority stored in dir by Init.
func Open(dir string) (*Authority, error) {
	files := filesIn(dir)
	certPEMBytes, err := os.ReadFile(files.CA)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %s: create one with `civico ca init`", ErrNotFound, dir)
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(certPEMBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("cardca: %s holds no PEM certificate", files.CA)
	}
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cardca: %s: %w", files.CA, err)
	}
	keyPEMBytes, err := os.ReadFile(files.CAKey)
	if err != nil {
		return nil, err
	}
	block, _ = pem.Decode(keyPEMBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("cardca: %s holds no PKCS#8 PEM private key", files.CAKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cardca: %s: %w", files.CAKey, err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("cardca: %s: a %T cannot sign", files.CAKey, k)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(caCert.PublicKey) {
		return nil, fmt.Errorf("cardca: %s does not belong to %s", files.CAKey, files.CA)
	}
	a := &Authority{files: files, cert: caCert, key: key}
	if _, err := a.loadState(); err != nil {
		return nil, err
	}
	return a, nil
}

// Files returns the paths of the authority's files.
func (a *Authority) Files() Files { return a.files }

// Cert returns the CA certificate.
func (a *Authority) Cert() *x509.Certificate { return a.cert }

// CardRequest describes a card to issue.
type CardRequest struct {
	// FiscalCode must be a valid codice fiscale, unless CommonName is set.
	FiscalCode string
	// GivenName and FamilyName become the givenName and surname
	// attributes; either may be empty (the attribute is then left out).
	GivenName, FamilyName string
	// NotBefore defaults to now (less a few minutes for clock skew),
	// NotAfter to a year after NotBefore.
	NotBefore, NotAfter time.Time
	// Policies are the certificatePolicies; nil means PolicyCNS. An empty
	// non-nil slice issues a card without the extension.
	Policies []asn1.ObjectIdentifier
	// CommonName replaces the subject CN "<CF>/<card number>.<hash>", for
	// tests of malformed cards. FiscalCode is then taken as it is.
	CommonName string
}

// Card is an issued card certificate with its private key.
type Card struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // the issuing CA
}

// CardFiles are the paths WriteFiles wrote.
type CardFiles struct {
	Cert string // base.pem: the certificate (for curl --cert)
	Key  string // base.key: its PKCS#8 private key (for curl --key)
	P12  string // base.p12: both with the CA chain, for a browser to import
}

// Attribute identifiers of the subject name that pkix.Name has no field for.
var (
	oidGivenName = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname   = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// IssueCard issues a card certificate shaped like a real CNS: a random
// 64-bit serial; subject CN "<CF>/<16-digit card number>.<base64 SHA-1>",
// serialNumber "IT:<CF>", givenName, surname and C=IT; key usage digital
// signature, extended key usage client authentication; the requested
// certificate policies; an ECDSA P-256 key. The card is recorded in the
// state file so that it can be revoked.
func (a *Authority) IssueCard(req CardRequest) (*Card, error) {
	fiscal := strings.ToUpper(strings.TrimSpace(req.FiscalCode))
	if req.CommonName == "" {
		code, err := cf.Parse(fiscal)
		if err != nil {
			return nil, fmt.Errorf("cardca: fiscal code %q: %w", req.FiscalCode, err)
		}
		fiscal = string(code)
	}
	notBefore, notAfter := req.NotBefore, req.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-backdate)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.Add(defaultCardFor)
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("cardca: the card would expire (%s) before it starts (%s)", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	policies := req.Policies
	if policies == nil {
		policies = []asn1.ObjectIdentifier{PolicyCNS}
	}
	var oids []x509.OID
	for _, p := range policies {
		oid, err := x509.OIDFromASN1OID(p)
		if err != nil {
			return nil, fmt.Errorf("cardca: policy %v: %w", p, err)
		}
		oids = append(oids, oid)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := a.loadState()
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	var serial *big.Int
	for serial == nil || st.find(serial) >= 0 {
		if serial, err = randomSerial(); err != nil {
			return nil, err
		}
	}
	cn := req.CommonName
	if cn == "" {
		number, err := cardNumber()
		if err != nil {
			return nil, err
		}
		spki, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			return nil, err
		}
		// Real cards end the CN with a hash that makes it unique; the
		// hash of the serial and the public key does the same here.
		h := sha1.New() // #nosec G401 -- a CN suffix that makes test cards unique, not a security function
		h.Write(serial.Bytes())
		h.Write(spki)
		cn = fiscal + "/" + number + "." + base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	subject := pkix.Name{CommonName: cn, Country: []string{"IT"}}
	if fiscal != "" {
		subject.SerialNumber = "IT:" + fiscal
	}
	if req.GivenName != "" {
		subject.ExtraNames = append(subject.ExtraNames, pkix.AttributeTypeAndValue{Type: oidGivenName, Value: req.GivenName})
	}
	if req.FamilyName != "" {
		subject.ExtraNames = append(subject.ExtraNames, pkix.AttributeTypeAndValue{Type: oidSurname, Value: req.FamilyName})
	}
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		// Both fields, so that the extension is written whatever the
		// x509usepolicies GODEBUG setting says.
		Policies:          oids,
		PolicyIdentifiers: policies,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	st.Cards = append(st.Cards, cardRecord{
		Serial: serial.Text(16), CommonName: cn, FiscalCode: fiscal,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, IssuedAt: time.Now().UTC(),
	})
	if err := a.saveState(st); err != nil {
		return nil, err
	}
	return &Card{Cert: cert, Key: key, Chain: []*x509.Certificate{a.cert}}, nil
}

// Revoke marks the card with this serial as revoked at now and rewrites
// crl.pem with a new CRL number (ThisUpdate now, NextUpdate 30 days
// later). The file is replaced by a rename, so a verifier reading it never
// sees half a CRL.
func (a *Authority) Revoke(serial *big.Int, now time.Time) error {
	if serial == nil {
		return errors.New("cardca: no serial given")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := a.loadState()
	if err != nil {
		return err
	}
	i := st.find(serial)
	if i < 0 {
		return fmt.Errorf("%w: %x", ErrUnknownSerial, serial)
	}
	if st.Cards[i].RevokedAt != nil {
		return fmt.Errorf("%w: %x since %s", ErrAlreadyRevoked, serial, st.Cards[i].RevokedAt.Format(time.RFC3339))
	}
	t := now.UTC()
	st.Cards[i].RevokedAt = &t
	if err := a.writeCRL(st, now); err != nil {
		return err
	}
	return a.saveState(st)
}

// ParseSerial reads a serial as `civico ca revoke` is given it: hex (with
// or without 0x, with or without colons between bytes) or decimal. A
// string of digits alone reads both ways; the issued cards decide which is
// meant, and a serial that matches in both readings must be written with
// 0x.
func (a *Authority) ParseSerial(s string) (*big.Int, error) {
	s = strings.TrimSpace(s)
	var candidates []*big.Int
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		if n, ok := new(big.Int).SetString(h, 16); ok {
			candidates = append(candidates, n)
		}
	} else {
		if n, ok := new(big.Int).SetString(strings.ReplaceAll(s, ":", ""), 16); ok {
			candidates = append(candidates, n)
		}
		if n, ok := new(big.Int).SetString(s, 10); ok && (len(candidates) == 0 || n.Cmp(candidates[0]) != 0) {
			candidates = append(candidates, n)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("cardca: %q is not a serial: expected hex (such as 1a2b3c) or decimal digits", s)
	}
	a.mu.Lock()
	st, err := a.loadState()
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var found []*big.Int
	for _, n := range candidates {
		if st.find(n) >= 0 {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: %s", ErrUnknownSerial, s)
	case 1:
		return found[0], nil
	default:
		return nil, fmt.Errorf("cardca: %s names two cards, read as hex and as decimal: write 0x%s for the hex one", s, s)
	}
}

func (st *state) find(serial *big.Int) int {
	hex := serial.Text(16)
	for i, c := range st.Cards {
		if c.Serial == hex {
			return i
		}
	}
	return -1
}

// writeCRL signs a CRL of the revoked cards in st with the next CRL number
// and puts it in place of crl.pem.
func (a *Authority) writeCRL(st *state, now time.Time) error {
	st.CRLNumber++
	var entries []x509.RevocationListEntry
	for _, c := range st.Cards {
		if c.RevokedAt == nil {
			continue
		}
		n, ok := new(big.Int).SetString(c.Serial, 16)
		if !ok {
			return fmt.Errorf("cardca: %s: bad serial %q", a.files.State, c.Serial)
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: *c.RevokedAt})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(st.CRLNumber),
		ThisUpdate:                now,
		NextUpdate:                now.Add(crlValidity),
		RevokedCertificateEntries: entries,
	}, a.cert, a.key)
	if err != nil {
		return err
	}
	return writeReplace(a.files.CRL, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644)
}

func (a *Authority) loadState() (*state, error) {
	b, err := os.ReadFile(a.files.State)
	if err != nil {
		return nil, err
	}
	st := &state{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("cardca: %s: %w", a.files.State, err)
	}
	return st, nil
}

func (a *Authority) saveState(st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeReplace(a.files.State, append(b, '\n'), 0o600)
}

// WriteFiles writes the card into dir (created with mode 0700 if missing)
// as base.pem (the certificate), base.key (its PKCS#8 private key, mode
// 0600) and base.p12 (key, certificate and CA chain, encrypted with
// p12Password, mode 0600). The PKCS#12 file is what a browser imports;
// the PEM pair is what curl uses. Existing files are not overwritten.
func (c *Card) WriteFiles(dir, base, p12Password string) (CardFiles, error) {
	if base == "" || strings.ContainsAny(base, `/\`) {
		return CardFiles{}, fmt.Errorf("cardca: %q is not a file name", base)
	}
	if p12Password == "" {
		// Browsers handle PKCS#12 files without a password badly, and a
		// file holding a private key deserves one even in a demo.
		return CardFiles{}, errors.New("cardca: the PKCS#12 file needs a password")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return CardFiles{}, err
	}
	// The Modern encoder (AES-256-CBC with PBKDF2, SHA-256 MAC) is what
	// current browsers and OpenSSL 3 import.
	p12, err := pkcs12.Modern.Encode(c.Key, c.Cert, c.Chain, p12Password)
	if err != nil {
		return CardFiles{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return CardFiles{}, err
	}
	paths := CardFiles{
		Cert: filepath.Join(dir, base+".pem"),
		Key:  filepath.Join(dir, base+".key"),
		P12:  filepath.Join(dir, base+".p12"),
	}
	for _, p := range []string{paths.Cert, paths.Key, paths.P12} {
		if _, err := os.Stat(p); err == nil {
			return CardFiles{}, fmt.Errorf("cardca: %s exists", p)
		}
	}
	if err := writeNew(paths.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return CardFiles{}, err
	}
	if err := writeNew(paths.Cert, certPEM(c.Cert.Raw), 0o644); err != nil {
		return CardFiles{}, err
	}
	if err := writeNew(paths.P12, p12, 0o600); err != nil {
		return CardFiles{}, err
	}
	return paths, nil
}

// randomSerial is a random positive serial of at most 64 bits.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 64)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, err
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// cardNumber is a random 16-digit card number not starting with 0.
func cardNumber() (string, error) {
	lo := new(big.Int).Exp(big.NewInt(10), big.NewInt(15), nil)
	n, err := rand.Int(rand.Reader, new(big.Int).Mul(lo, big.NewInt(9)))
	if err != nil {
		return "", err
	}
	return n.Add(n, lo).String(), nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeNew creates a file that must not exist yet.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode) // #nosec G304 -- a file of the authority's own directory, named by this package
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// writeReplace writes a file beside path and renames it over path, so that
// readers see the old content or the new, never a mix.
func writeReplace(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
