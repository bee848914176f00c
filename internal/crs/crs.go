// Package crs verifies the certificate of a smart card presented for login:
// the Lombardy regional card (CRS), which is a Carta Nazionale dei Servizi
// (CNS), or an electronic identity card (CIE) used the same way.
//
// The card is presented by TLS client authentication. The portal's TLS
// listener (TLSConfig) asks for a certificate without judging it; the
// application then calls Verifier.Verify, which decides and, when it
// refuses, says why (a Refusal with a Reason the UI turns into a page).
//
// Behind a reverse proxy that terminates TLS, the proxy forwards the
// certificate in a header: ParseForwarded reads it, and web.Proxies
// tells whether the request really comes from the proxy. The header must
// be ignored from any other address, or anyone could log in as anyone by
// sending it.
package crs

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civico-pa/civico/internal/cf"
)

// The certificatePolicies identifiers that make a certificate an identity
// card.
var (
	PolicyCNS = asn1.ObjectIdentifier{1, 3, 76, 16, 2, 1} // Carta Nazionale dei Servizi (AgID)
	PolicyCIE = asn1.ObjectIdentifier{1, 3, 76, 47, 4}    // Carta d'Identità Elettronica (Ministero dell'Interno)
)

// The kinds of card an Identity comes from.
const (
	KindCNS = "CNS"
	KindCIE = "CIE"
)

// Identity is the resident a verified card belongs to.
type Identity struct {
	FiscalCode cf.Code
	// GivenName and FamilyName come from the certificate's givenName and
	// surname attributes; empty when the card lacks them.
	GivenName, FamilyName string
	// CardNumber is the number between the slash and the dot of the CN.
	CardNumber string
	// Serial is the certificate's serial number in lower-case hex.
	Serial string
	// Kind is KindCNS or KindCIE.
	Kind     string
	NotAfter time.Time
	// Proof names the card for later revocation checks (IsRevoked): its
	// authority and serial, "<authority>:<serial>".
	Proof string
}

// Reason is why a card was refused.
type Reason string

// The reasons, in the order Verify checks them.
const (
	NoCertificate    Reason = "no_certificate"    // the browser sent no certificate
	Malformed        Reason = "malformed"         // the certificate (or the proxy's header) cannot be read or used
	UnknownAuthority Reason = "unknown_authority" // not issued by a trusted authority
	Expired          Reason = "expired"           // past its NotAfter
	NotYetValid      Reason = "not_yet_valid"     // before its NotBefore
	Revoked          Reason = "revoked"           // on its authority's CRL
	NoPolicy         Reason = "no_policy"         // a certificate, but not of a CNS or CIE
	BadSubject       Reason = "bad_subject"       // the CN is not "<CF>/<number>.<hash>"
	BadFiscalCode    Reason = "bad_fiscal_code"   // the CN's fiscal code is not valid
	CRLUnavailable   Reason = "crl_unavailable"   // no current CRL to check against (StrictCRL)
)

// Reasons lists every reason, for tests and for checking that each message
// id has a translation.
var Reasons = []Reason{NoCertificate, Malformed, UnknownAuthority, Expired, NotYetValid, Revoked, NoPolicy, BadSubject, BadFiscalCode, CRLUnavailable}

// MessageID is the translation id of the text shown to the resident.
func (r Reason) MessageID() string { return "crs.refused." + string(r) }

// Refusal is the error Verify returns: every error from Verify is a
// *Refusal, and so is every error from ParseForwarded.
type Refusal struct {
	Reason Reason
	// Detail is for the log (in English): which check failed and how.
	Detail string
}

func (r *Refusal) Error() string {
	if r.Detail == "" {
		return "card refused: " + string(r.Reason)
	}
	return "card refused: " + string(r.Reason) + ": " + r.Detail
}

// ReasonOf returns the reason of a *Refusal in err's chain, or "" when
// err is not a refusal.
func ReasonOf(err error) Reason {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

func refuse(reason Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// reloadEvery is how often Verify looks at the CRL file.
const reloadEvery = time.Second

// Verifier checks card certificates against a bundle of trusted issuing
// CAs and their CRLs. It is safe for concurrent use.
type Verifier struct {
	// StrictCRL refuses (CRLUnavailable) a card whose authority has no CRL
	// in the file, or whose CRL is past its NextUpdate. It is off by
	// default: the region publishes its CRL, a job copies it into the
	// file, and when either is late, refusing every login in town would
	// lock every resident out of every service for a problem none of them
	// can fix. Off, a stale CRL is still used (it still lists every card
	// revoked until it was issued) and the staleness is logged as an error
	// (at most once an hour) for the operator to fix. Set it before the
	// first Verify.
	StrictCRL bool

	roots   *x509.CertPool
	cas     []*x509.Certificate
	crlFile string
	log     *slog.Logger
	clock   func() time.Time // for the reload and log throttles, not for validity; tests replace it

	crls      atomic.Pointer[crlSet]
	lastCheck atomic.Int64 // clock() in Unix nanoseconds at the last look at the file
	reloading sync.Mutex
	tried     fileStamp // the file as last read, whether it loaded or not; under reloading

	loggedMu sync.Mutex
	logged   map[string]time.Time // when each lasting problem was last logged
}

// crlSet is the CRLs loaded from the file, by the raw certificate of the
// CA that signed each. It is never changed once built.
type crlSet struct {
	byCA map[string]*crlEntry
}

type crlEntry struct {
	number     *big.Int
	thisUpdate time.Time
	nextUpdate time.Time
	revoked    map[string]time.Time // serial bytes -> revocation time
}

type fileStamp struct {
	modTime int64 // Unix nanoseconds
	size    int64
}

// NewVerifier loads the trusted CAs (PEM; at least one certificate) and
// the CRL file (PEM, possibly several CRLs, or one DER CRL). Each CRL must
// be signed by one of the CAs. log may be nil.
//
// The CRL file is read again when its modification time or size changes
// (Verify looks at most once a second), so a job that downloads the
// region's CRL only has to replace the file. A new file that fails to load
// is logged and the previous CRLs stay in use.
func NewVerifier(caFile, crlFile string, log *slog.Logger) (*Verifier, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := os.ReadFile(caFile) // #nosec G304 -- CIVICO_CRS_CA_FILE, from the operator's configuration
	if err != nil {
		return nil, fmt.Errorf("crs: trusted CAs: %w", err)
	}
	v := &Verifier{roots: x509.NewCertPool(), crlFile: crlFile, log: log, clock: time.Now, logged: map[string]time.Time{}}
	rest := b
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("crs: trusted CAs: %s: %w", caFile, err)
		}
		if !c.IsCA {
			log.Warn("crs: a trusted certificate is not a CA", "file", caFile, "subject", c.Subject.String())
		}
		v.roots.AddCert(c)
		v.cas = append(v.cas, c)
	}
	if len(v.cas) == 0 {
		return nil, fmt.Errorf("crs: trusted CAs: %s holds no PEM certificate", caFile)
	}
	if crlFile == "" {
		return nil, errors.New("crs: no CRL file given: without one, revoked cards would be accepted")
	}
	set, stamp, err := v.loadCRLs()
	v.tried = stamp
	if err != nil {
		return nil, err
	}
	v.crls.Store(set)
	v.lastCheck.Store(v.clock().UnixNano())
	return v, nil
}

// ClientCAs returns the trusted CAs as a pool. Set it as the TLS
// configuration's ClientCAs: the handshake then names the CAs to the
// browser, which offers only the certificates they issued instead of every
// certificate it has.
func (v *Verifier) ClientCAs() *x509.CertPool { return v.roots.Clone() }

// loadCRLs reads and checks the CRL file.
func (v *Verifier) loadCRLs() (*crlSet, fileStamp, error) {
	f, err := os.Open(v.crlFile)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("crs: CRL: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("crs: CRL: %w", err)
	}
	stamp := fileStamp{info.ModTime().UnixNano(), info.Size()}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, stamp, fmt.Errorf("crs: CRL: %w", err)
	}
	var ders [][]byte
	if bytes.Contains(b, []byte("-----BEGIN")) {
		rest := b
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type == "X509 CRL" {
				ders = append(ders, block.Bytes)
			}
		}
		if len(ders) == 0 {
			return nil, stamp, fmt.Errorf("crs: CRL: %s holds no PEM block of type X509 CRL", v.crlFile)
		}
	} else {
		ders = [][]byte{b}
	}
	set := &crlSet{byCA: map[string]*crlEntry{}}
	for i, der := range ders {
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, stamp, fmt.Errorf("crs: CRL %d in %s: %w", i+1, v.crlFile, err)
		}
		var signer *x509.Certificate
		for _, ca := range v.cas {
			if bytes.Equal(crl.RawIssuer, ca.RawSubject) && crl.CheckSignatureFrom(ca) == nil {
				signer = ca
				break
			}
		}
		if signer == nil {
			return nil, stamp, fmt.Errorf("crs: CRL %d in %s (issuer %s) is not signed by any trusted CA", i+1, v.crlFile, crl.Issuer)
		}
		key := string(signer.Raw)
		if old := set.byCA[key]; old != nil && !newer(crl, old) {
			continue
		}
		e := &crlEntry{number: crl.Number, thisUpdate: crl.ThisUpdate, nextUpdate: crl.NextUpdate, revoked: make(map[string]time.Time, len(crl.RevokedCertificateEntries))}
		for _, r := range crl.RevokedCertificateEntries {
			e.revoked[string(r.SerialNumber.Bytes())] = r.RevocationTime
		}
		set.byCA[key] = e
	}
	return set, stamp, nil
}

// newer reports whether crl supersedes e: a higher CRL number, or a later
// ThisUpdate when either lacks a number.
func newer(crl *x509.RevocationList, e *crlEntry) bool {
	if crl.Number != nil && e.number != nil {
		return crl.Number.Cmp(e.number) > 0
	}
	return crl.ThisUpdate.After(e.thisUpdate)
}

// maybeReload reads the CRL file again if it changed, looking at most once
// per reloadEvery. Only one caller looks at a time; the others go on with
// the CRLs they have.
func (v *Verifier) maybeReload() {
	now := v.clock().UnixNano()
	last := v.lastCheck.Load()
	if now-last < int64(reloadEvery) && now >= last {
		return
	}
	if !v.reloading.TryLock() {
		return
	}
	defer v.reloading.Unlock()
	if !v.lastCheck.CompareAndSwap(last, now) {
		return // another caller looked meanwhile
	}
	info, err := os.Stat(v.crlFile)
	if err != nil {
		if v.tried != (fileStamp{}) {
			v.log.Error("crs: the CRL file cannot be read; the CRLs loaded before stay in use", "file", v.crlFile, "err", err)
			v.tried = fileStamp{}
		}
		return
	}
	stamp := fileStamp{info.ModTime().UnixNano(), info.Size()}
	if stamp == v.tried {
		return
	}
	set, stamp, err := v.loadCRLs()
	v.tried = stamp
	if err != nil {
		v.log.Error("crs: the CRL file changed but does not load; the CRLs loaded before stay in use", "file", v.crlFile, "err", err)
		return
	}
	v.crls.Store(set)
	v.log.Info("crs: CRL reloaded", "file", v.crlFile, "crls", len(set.byCA))
}

// logEveryHour logs an error about key at most once an hour: a problem
// that lasts is reminded of, not logged at every login.
func (v *Verifier) logEveryHour(key, msg string, args ...any) {
	now := v.clock()
	v.loggedMu.Lock()
	last, seen := v.logged[key]
	if seen && now.Sub(last) < time.Hour && !now.Before(last) {
		v.loggedMu.Unlock()
		return
	}
	v.logged[key] = now
	v.loggedMu.Unlock()
	v.log.Error(msg, args...)
}

// subjectRE is the CN of a CNS or CIE: fiscal code, card number, hash.
var subjectRE = regexp.MustCompile(`^([A-Z0-9]{16})/([0-9]+)\.(.+)$`)

// parseCommonName splits a card's CN into its fiscal code and card number.
func parseCommonName(cn string) (cf.Code, string, *Refusal) {
	m := subjectRE.FindStringSubmatch(cn)
	if m == nil {
		return "", "", refuse(BadSubject, "the subject CN %q is not <fiscal code>/<card number>.<hash>", cn)
	}
	code, err := cf.Parse(m[1])
	if err != nil {
		return "", "", refuse(BadFiscalCode, "the fiscal code %s in the subject CN: %v", m[1], err)
	}
	return code, m[2], nil
}

// Attribute identifiers of the subject name that pkix.Name has no field for.
var (
	oidGivenName = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname   = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// Verify checks the certificate a card presented at now: chain[0] is the
// card's certificate, the rest intermediates the client offered. The
// checks run in the order that gives the most useful reason: present,
// issued by a trusted authority, within its validity, not revoked, with
// the CNS or CIE policy, with a CN holding a valid fiscal code. An
// unrecognised card that is also expired is refused as unrecognised:
// renewing it would not help.
//
// Revocation is checked for the card, against the CRL of the CA that
// issued it; intermediates are not checked (the configured CAs are the
// issuing ones).
func (v *Verifier) Verify(chain []*x509.Certificate, now time.Time) (Identity, error) {
	if len(chain) == 0 || chain[0] == nil {
		return Identity{}, refuse(NoCertificate, "no client certificate")
	}
	leaf := chain[0]
	opts := x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range chain[1:] {
		if c != nil {
			opts.Intermediates.AddCert(c)
		}
	}
	chains, err := leaf.Verify(opts)
	if err != nil {
		var invalid x509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
			return Identity{}, v.timeRefusal(leaf, opts, now, err)
		}
		return Identity{}, chainRefusal(leaf, err)
	}

	if r := v.checkRevocation(leaf, chains, now); r != nil {
		return Identity{}, r
	}
	issuer := chains[0][len(chains[0])-1]
	if len(chains[0]) > 1 {
		issuer = chains[0][1]
	}

	kind := ""
	for _, p := range leaf.Policies {
		if p.EqualASN1OID(PolicyCNS) {
			kind = KindCNS
			break
		}
		if p.EqualASN1OID(PolicyCIE) {
			kind = KindCIE
		}
	}
	if kind == "" {
		return Identity{}, refuse(NoPolicy, "the certificate policies %v include neither the CNS (%v) nor the CIE (%v) one", leaf.Policies, PolicyCNS, PolicyCIE)
	}

	code, number, r := parseCommonName(leaf.Subject.CommonName)
	if r != nil {
		return Identity{}, r
	}
	id := Identity{
		FiscalCode: code,
		CardNumber: number,
		Serial:     leaf.SerialNumber.Text(16),
		Kind:       kind,
		NotAfter:   leaf.NotAfter,
		Proof:      authorityID(issuer) + ":" + leaf.SerialNumber.Text(16),
	}
	for _, n := range leaf.Subject.Names {
		s, ok := n.Value.(string)
		switch {
		case !ok:
		case n.Type.Equal(oidGivenName):
			id.GivenName = s
		case n.Type.Equal(oidSurname):
			id.FamilyName = s
		}
	}
	return id, nil
}

// authorityID names a card authority in proofs: a short hash of its
// certificate.
func authorityID(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.Raw)
	return hex.EncodeToString(sum[:12])
}

// IsRevoked reports whether the card a proof names (Identity.Proof) is on
// its authority's current CRL: a session opened with a card revoked since
// must not keep its level. The check reads the CRLs in memory (the file is
// reread when it changes), so it costs a map lookup.
func (v *Verifier) IsRevoked(proof string) bool {
	id, serial, ok := strings.Cut(proof, ":")
	if !ok {
		return false
	}
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		return false
	}
	v.maybeReload()
	for key, e := range v.crls.Load().byCA {
		if authorityID(&x509.Certificate{Raw: []byte(key)}) == id {
			_, revoked := e.revoked[string(n.Bytes())]
			return revoked
		}
	}
	return false
}

// timeRefusal explains an x509.Expired error, which x509 gives for any
// certificate of the chain outside its validity, too early or too late.
// x509 checks the card's dates before looking for its issuer, so whether
// the card comes from a trusted authority is still to be found out: a card
// that is not recognised is refused as such, whatever its dates, because
// renewing it would not help.
func (v *Verifier) timeRefusal(leaf *x509.Certificate, opts x509.VerifyOptions, now time.Time, err error) *Refusal {
	if !now.Before(leaf.NotBefore) && !now.After(leaf.NotAfter) {
		return refuse(UnknownAuthority, "the card is within its validity but its authority is not: %v", err)
	}
	if !v.trustedAnyTime(leaf, opts) {
		return refuse(UnknownAuthority, "not issued by a trusted authority (and outside its validity, %s to %s)", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return refuse(Expired, "the card expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return refuse(NotYetValid, "the card is valid from %s", leaf.NotBefore.UTC().Format(time.RFC3339))
}

// trustedAnyTime reports whether the card chains to a trusted CA at some
// moment of its validity, or else is signed directly by a trusted CA (for
// a card whose validity no moment of the CA's covers, as in tests).
func (v *Verifier) trustedAnyTime(leaf *x509.Certificate, opts x509.VerifyOptions) bool {
	for _, t := range []time.Time{leaf.NotAfter, leaf.NotBefore} {
		opts.CurrentTime = t
		if _, err := leaf.Verify(opts); err == nil {
			return true
		}
	}
	for _, ca := range v.cas {
		if bytes.Equal(leaf.RawIssuer, ca.RawSubject) && leaf.CheckSignatureFrom(ca) == nil {
			return true
		}
	}
	return false
}

// chainRefusal turns an x509.Verify error into a refusal.
func chainRefusal(leaf *x509.Certificate, err error) *Refusal {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return refuse(UnknownAuthority, "%v (the card names its issuer %q)", err, leaf.Issuer.String())
	}
	return refuse(Malformed, "%v", err)
}

// checkRevocation looks the card up in the CRL of the CA that issued it.
func (v *Verifier) checkRevocation(leaf *x509.Certificate, chains [][]*x509.Certificate, now time.Time) *Refusal {
	v.maybeReload()
	set := v.crls.Load()
	var crl *crlEntry
	var issuer *x509.Certificate
	for _, c := range chains {
		if len(c) < 2 {
			continue
		}
		if e := set.byCA[string(c[1].Raw)]; e != nil {
			crl, issuer = e, c[1]
			break
		}
	}
	if crl == nil {
		name := leaf.Issuer.String()
		if v.StrictCRL {
			return refuse(CRLUnavailable, "no CRL of %s in %s", name, v.crlFile)
		}
		v.logEveryHour("missing "+name, "crs: no CRL of a trusted CA in the CRL file: its revoked cards are accepted", "ca", name, "file", v.crlFile)
		return nil
	}
	if at, revoked := crl.revoked[string(leaf.SerialNumber.Bytes())]; revoked {
		return refuse(Revoked, "serial %x revoked on %s", leaf.SerialNumber, at.UTC().Format(time.RFC3339))
	}
	if !crl.nextUpdate.IsZero() && now.After(crl.nextUpdate) {
		name := issuer.Subject.String()
		if v.StrictCRL {
			return refuse(CRLUnavailable, "the CRL of %s expired on %s (next update due then)", name, crl.nextUpdate.UTC().Format(time.RFC3339))
		}
		v.logEveryHour("stale "+name, "crs: the CRL is past its next update and still in use: publish a current one", "ca", name, "next_update", crl.nextUpdate, "file", v.crlFile)
	}
	return nil
}
