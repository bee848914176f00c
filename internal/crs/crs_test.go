package crs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cardca"
)

const fiscalCode = "MSRNTN77H15C351X"

// fixture is a test authority, an impostor authority, and a verifier
// trusting the first, with a clock for its CRL reload throttle.
type fixture struct {
	ca, other *cardca.Authority
	v         *Verifier
	log       *syncBuffer
	clock     atomic.Int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	now := time.Now()
	f := &fixture{log: &syncBuffer{}}
	var err error
	if f.ca, err = cardca.Init(filepath.Join(t.TempDir(), "ca"), now); err != nil {
		t.Fatal(err)
	}
	if f.other, err = cardca.NewOther(filepath.Join(t.TempDir(), "other"), now); err != nil {
		t.Fatal(err)
	}
	f.clock.Store(now.UnixNano())
	f.v = f.verifier(t, f.ca.Files().CA, f.ca.Files().CRL)
	return f
}

func (f *fixture) verifier(t testing.TB, caFile, crlFile string) *Verifier {
	t.Helper()
	v, err := NewVerifier(caFile, crlFile, slog.New(slog.NewTextHandler(f.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	v.clock = func() time.Time { return time.Unix(0, f.clock.Load()) }
	v.lastCheck.Store(f.clock.Load())
	return v
}

// tick moves the verifier's clock past the CRL reload throttle.
func (f *fixture) tick() { f.clock.Add(int64(reloadEvery)) }

func (f *fixture) issue(t testing.TB, a *cardca.Authority, req cardca.CardRequest) *cardca.Card {
	t.Helper()
	if req.FiscalCode == "" {
		req.FiscalCode = fiscalCode
	}
	c, err := a.IssueCard(req)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// server is the portal's TLS listener as TLSConfig makes it, with a
// handler that verifies the card the handshake received.
func (f *fixture) server(t *testing.T) *httptest.Server {
	t.Helper()
	cfg, err := TLSConfig(f.ca.Files().ServerCert, f.ca.Files().ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := f.v.Verify(r.TLS.PeerCertificates, time.Now())
		if err != nil {
			var refusal *Refusal
			if !errors.As(err, &refusal) {
				t.Errorf("Verify returned %T, not a *Refusal: %v", err, err)
			}
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(refusal)
			return
		}
		_ = json.NewEncoder(w).Encode(id)
	}))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// login connects with a real TLS handshake presenting the card (none when
// card is nil) and returns what the server made of it.
func (f *fixture) login(t *testing.T, srv *httptest.Server, card *cardca.Card) (Identity, Reason) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert())
	cfg := &tls.Config{RootCAs: roots}
	if card != nil {
		cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{card.Cert.Raw}, PrivateKey: card.Key}}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(srv.URL + "/login/crs")
	if err != nil {
		t.Fatalf("the handshake failed: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusForbidden {
		var r Refusal
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		t.Logf("refused: %v", &r)
		return Identity{}, r.Reason
	}
	var id Identity
	if err := json.Unmarshal(body, &id); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return id, ""
}

func TestLoginOverTLS(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t)
	now := time.Now()
	day := 24 * time.Hour

	t.Run("valid CNS card", func(t *testing.T) {
		card := f.issue(t, f.ca, cardca.CardRequest{GivenName: "Antonio", FamilyName: "Masseroni"})
		id, reason := f.login(t, srv, card)
		if reason != "" {
			t.Fatalf("refused: %s", reason)
		}
		number := strings.TrimPrefix(card.Cert.Subject.CommonName, fiscalCode+"/")
		number = number[:strings.Index(number, ".")]
		want := Identity{
			FiscalCode: fiscalCode, GivenName: "Antonio", FamilyName: "Masseroni", CardNumber: number,
			Serial: card.Cert.SerialNumber.Text(16), Kind: KindCNS, NotAfter: card.Cert.NotAfter,
			Proof: authorityID(f.ca.Cert()) + ":" + card.Cert.SerialNumber.Text(16),
		}
		if !id.NotAfter.Equal(want.NotAfter) {
			t.Errorf("NotAfter %v, want %v", id.NotAfter, want.NotAfter)
		}
		id.NotAfter = want.NotAfter
		if id != want {
			t.Errorf("identity\n got %+v\nwant %+v", id, want)
		}
		if len(number) != 16 {
			t.Errorf("card number %q", number)
		}
	})
	t.Run("valid CIE card", func(t *testing.T) {
		id, reason := f.login(t, srv, f.issue(t, f.ca, cardca.CardRequest{Policies: []asn1.ObjectIdentifier{cardca.PolicyCIE}}))
		if reason != "" || id.Kind != KindCIE || id.FiscalCode != fiscalCode {
			t.Errorf("%+v %s", id, reason)
		}
	})

	refusals := []struct {
		name string
		card func(t *testing.T) *cardca.Card
		want Reason
	}{
		{"no certificate", func(*testing.T) *cardca.Card { return nil }, NoCertificate},
		{"expired", func(t *testing.T) *cardca.Card {
			return f.issue(t, f.ca, cardca.CardRequest{NotBefore: now.Add(-700 * day), NotAfter: now.Add(-day)})
		}, Expired},
		{"not yet valid", func(t *testing.T) *cardca.Card {
			return f.issue(t, f.ca, cardca.CardRequest{NotBefore: now.Add(day), NotAfter: now.Add(700 * day)})
		}, NotYetValid},
		{"another authority", func(t *testing.T) *cardca.Card { return f.issue(t, f.other, cardca.CardRequest{}) }, UnknownAuthority},
		{"another authority, expired too", func(t *testing.T) *cardca.Card {
			return f.issue(t, f.other, cardca.CardRequest{NotBefore: now.Add(-700 * day), NotAfter: now.Add(-day)})
		}, UnknownAuthority},
		{"no CNS or CIE policy", func(t *testing.T) *cardca.Card {
			return f.issue(t, f.ca, cardca.CardRequest{Policies: []asn1.ObjectIdentifier{}})
		}, NoPolicy},
		{"another policy only", func(t *testing.T) *cardca.Card {
			return f.issue(t, f.ca, cardca.CardRequest{Policies: []asn1.ObjectIdentifier{{1, 3, 76, 16, 2, 2}}})
		}, NoPolicy},
		{"CN without a slash", func(t *testing.T) *cardca.Card {
			return f.issue(t, f.ca, cardca.CardRequest{CommonName: fiscalCode + "-6120016461039008.i1ZpZfaCXeKyikBfnF8to+M2T8="})
		}, BadSubject},
		{"CN with a wrong check character", func(t *testing.T) *cardca.Card {
			return f.issue(t, f.ca, cardca.CardRequest{CommonName: "MSRNTN77H15C351Y/6120016461039008.i1ZpZfaCX/eKyikBfnF8to+M2T8="})
		}, BadFiscalCode},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			if _, reason := f.login(t, srv, tt.card(t)); reason != tt.want {
				t.Errorf("reason %q, want %q", reason, tt.want)
			}
		})
	}

	t.Run("revoked, picked up without restart", func(t *testing.T) {
		card := f.issue(t, f.ca, cardca.CardRequest{})
		if _, reason := f.login(t, srv, card); reason != "" {
			t.Fatalf("before revocation: %s", reason)
		}
		if err := f.ca.Revoke(card.Cert.SerialNumber, time.Now()); err != nil {
			t.Fatal(err)
		}
		// Within a second of the last look the file is not looked at again.
		if _, reason := f.login(t, srv, card); reason != "" {
			t.Errorf("the CRL was read again within a second: %s", reason)
		}
		f.tick()
		if _, reason := f.login(t, srv, card); reason != Revoked {
			t.Errorf("after revocation: reason %q, want %q", reason, Revoked)
		}
		if !strings.Contains(f.log.String(), "CRL reloaded") {
			t.Errorf("the reload was not logged: %s", f.log)
		}
		if _, reason := f.login(t, srv, f.issue(t, f.ca, cardca.CardRequest{})); reason != "" {
			t.Errorf("another card of the same authority: %s", reason)
		}
	})
}

func TestTLSConfig(t *testing.T) {
	f := newFixture(t)
	cfg, err := TLSConfig(f.ca.Files().ServerCert, f.ca.Files().ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.RequestClientCert {
		t.Errorf("MinVersion %x, ClientAuth %v", cfg.MinVersion, cfg.ClientAuth)
	}
	for _, id := range cfg.CipherSuites {
		for _, insecure := range tls.InsecureCipherSuites() {
			if id == insecure.ID {
				t.Errorf("insecure suite %s", insecure.Name)
			}
		}
	}
	if _, err := TLSConfig(f.ca.Files().ServerCert, f.ca.Files().CAKey); err == nil {
		t.Error("a key that does not match the certificate was accepted")
	}

	// With ClientCAs set, the handshake names the trusted CA to the
	// browser, which then offers only the cards it issued.
	cfg.ClientCAs = f.v.ClientCAs()
	var acceptable [][]byte
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = cfg
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		acceptable = cri.AcceptableCAs
		return &tls.Certificate{}, nil
	}}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(acceptable) != 1 || !bytes.Equal(acceptable[0], f.ca.Cert().RawSubject) {
		t.Errorf("acceptable CAs %q", acceptable)
	}

	// TLS 1.1 is refused.
	old := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}}
	defer old.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: old}).Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
}

func TestCRLReloadKeepsThePreviousOnFailure(t *testing.T) {
	f := newFixture(t)
	card := f.issue(t, f.ca, cardca.CardRequest{})
	if err := f.ca.Revoke(card.Cert.SerialNumber, time.Now()); err != nil {
		t.Fatal(err)
	}
	f.tick()
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, time.Now()); ReasonOf(err) != Revoked {
		t.Fatalf("%v", err)
	}
	crlFile := f.ca.Files().CRL
	good, err := os.ReadFile(crlFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		name    string
		content []byte
		logged  string
	}{
		{"garbage", []byte("not a CRL at all"), "does not load"},
		{"CRL of the other authority", mustRead(t, f.other.Files().CRL), "not signed by any trusted CA"},
		{"missing", nil, "cannot be read"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if bad.content == nil {
				if err := os.Remove(crlFile); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(crlFile, bad.content, 0o644); err != nil {
				t.Fatal(err)
			}
			f.tick()
			if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, time.Now()); ReasonOf(err) != Revoked {
				t.Errorf("with a broken CRL file the revoked card got %v", err)
			}
			if !strings.Contains(f.log.String(), bad.logged) {
				t.Errorf("log lacks %q: %s", bad.logged, f.log)
			}
		})
	}
	// Once the file is good again it is used.
	if err := os.WriteFile(crlFile, good, 0o644); err != nil {
		t.Fatal(err)
	}
	f.tick()
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, time.Now()); ReasonOf(err) != Revoked {
		t.Errorf("%v", err)
	}
}

func TestStaleCRL(t *testing.T) {
	f := newFixture(t)
	card := f.issue(t, f.ca, cardca.CardRequest{})
	revoked := f.issue(t, f.ca, cardca.CardRequest{})
	// A CRL written 60 days ago is 30 days past its next update.
	if err := f.ca.Revoke(revoked.Cert.SerialNumber, time.Now().Add(-60*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.tick()
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, time.Now()); err != nil {
		t.Errorf("with a stale CRL a valid card was refused: %v", err)
	}
	if n := strings.Count(f.log.String(), "past its next update"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, time.Now()); err != nil {
		t.Error(err)
	}
	if n := strings.Count(f.log.String(), "past its next update"); n != 1 {
		t.Errorf("logged %d times, want once", n)
	}
	if _, err := f.v.Verify([]*x509.Certificate{revoked.Cert}, time.Now()); ReasonOf(err) != Revoked {
		t.Errorf("a card on the stale CRL: %v", err)
	}
	// An hour later the operator is reminded.
	f.clock.Add(int64(time.Hour))
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, time.Now()); err != nil {
		t.Error(err)
	}
	if n := strings.Count(f.log.String(), "past its next update"); n != 2 {
		t.Errorf("logged %d times after an hour, want twice", n)
	}

	f.v.StrictCRL = true
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, time.Now()); ReasonOf(err) != CRLUnavailable {
		t.Errorf("strict, stale CRL: %v", err)
	}
	if _, err := f.v.Verify([]*x509.Certificate{revoked.Cert}, time.Now()); ReasonOf(err) != Revoked {
		t.Errorf("strict, a card on the stale CRL: %v", err)
	}
}

// TestSeveralAuthorities trusts both authorities, which share a name, with
// their CRLs in one file, in both orders and with an outdated CRL of one
// of them in it too.
func TestSeveralAuthorities(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "cas.pem")
	if err := os.WriteFile(bundle, append(mustRead(t, f.ca.Files().CA), mustRead(t, f.other.Files().CA)...), 0o644); err != nil {
		t.Fatal(err)
	}
	oldCRL := mustRead(t, f.ca.Files().CRL)
	mine := f.issue(t, f.ca, cardca.CardRequest{})
	theirs := f.issue(t, f.other, cardca.CardRequest{})
	valid := f.issue(t, f.other, cardca.CardRequest{})
	now := time.Now()
	if err := f.ca.Revoke(mine.Cert.SerialNumber, now); err != nil {
		t.Fatal(err)
	}
	if err := f.other.Revoke(theirs.Cert.SerialNumber, now); err != nil {
		t.Fatal(err)
	}
	mineCRL, theirCRL := mustRead(t, f.ca.Files().CRL), mustRead(t, f.other.Files().CRL)
	for name, content := range map[string][]byte{
		"mine first":            slices.Concat(mineCRL, theirCRL),
		"theirs first":          slices.Concat(theirCRL, mineCRL),
		"outdated one after":    slices.Concat(mineCRL, theirCRL, oldCRL),
		"outdated one before":   slices.Concat(oldCRL, theirCRL, mineCRL),
		"comments between them": slices.Concat([]byte("# region\n"), mineCRL, []byte("\n# other\n"), theirCRL),
	} {
		t.Run(name, func(t *testing.T) {
			crlFile := filepath.Join(t.TempDir(), "crl.pem")
			if err := os.WriteFile(crlFile, content, 0o644); err != nil {
				t.Fatal(err)
			}
			v := f.verifier(t, bundle, crlFile)
			for _, c := range []*cardca.Card{mine, theirs} {
				if _, err := v.Verify([]*x509.Certificate{c.Cert}, now); ReasonOf(err) != Revoked {
					t.Errorf("%x: %v", c.Cert.SerialNumber, err)
				}
			}
			if _, err := v.Verify([]*x509.Certificate{valid.Cert}, now); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("an authority without a CRL", func(t *testing.T) {
		v := f.verifier(t, bundle, f.ca.Files().CRL)
		if _, err := v.Verify([]*x509.Certificate{valid.Cert}, now); err != nil {
			t.Errorf("not strict: %v", err)
		}
		if !strings.Contains(f.log.String(), "no CRL of a trusted CA") {
			t.Errorf("not logged: %s", f.log)
		}
		v.StrictCRL = true
		if _, err := v.Verify([]*x509.Certificate{valid.Cert}, now); ReasonOf(err) != CRLUnavailable {
			t.Errorf("strict: %v", err)
		}
	})
}

// A session opened with a card remembers the card's proof; once the card's
// authority revokes it, IsRevoked says so, for that card and authority only.
func TestRevokedAfterLogin(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "cas.pem")
	if err := os.WriteFile(bundle, append(mustRead(t, f.ca.Files().CA), mustRead(t, f.other.Files().CA)...), 0o644); err != nil {
		t.Fatal(err)
	}
	crlFile := filepath.Join(dir, "crl.pem")
	write := func() {
		if err := os.WriteFile(crlFile, slices.Concat(mustRead(t, f.ca.Files().CRL), mustRead(t, f.other.Files().CRL)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	mine, theirs := f.issue(t, f.ca, cardca.CardRequest{}), f.issue(t, f.other, cardca.CardRequest{})
	v := f.verifier(t, bundle, crlFile)
	proofs := map[*cardca.Card]string{}
	for _, c := range []*cardca.Card{mine, theirs} {
		id, err := v.Verify([]*x509.Certificate{c.Cert}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if v.IsRevoked(id.Proof) {
			t.Fatalf("%s revoked before revocation", id.Proof)
		}
		proofs[c] = id.Proof
	}
	if err := f.ca.Revoke(mine.Cert.SerialNumber, time.Now()); err != nil {
		t.Fatal(err)
	}
	write()
	v = f.verifier(t, bundle, crlFile)
	if !v.IsRevoked(proofs[mine]) {
		t.Error("a revoked card's proof is not revoked")
	}
	if v.IsRevoked(proofs[theirs]) {
		t.Error("another authority's card is revoked")
	}
	// The same serial from the other authority is another card.
	_, serial, _ := strings.Cut(proofs[mine], ":")
	other, _, _ := strings.Cut(proofs[theirs], ":")
	for _, p := range []string{other + ":" + serial, "", "garbage", proofs[mine] + "zz"} {
		if v.IsRevoked(p) {
			t.Errorf("IsRevoked(%q) = true", p)
		}
	}
}

func TestDERCRL(t *testing.T) {
	f := newFixture(t)
	card := f.issue(t, f.ca, cardca.CardRequest{})
	if err := f.ca.Revoke(card.Cert.SerialNumber, time.Now()); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(mustRead(t, f.ca.Files().CRL))
	der := filepath.Join(t.TempDir(), "crl.der")
	if err := os.WriteFile(der, block.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	v := f.verifier(t, f.ca.Files().CA, der)
	if _, err := v.Verify([]*x509.Certificate{card.Cert}, time.Now()); ReasonOf(err) != Revoked {
		t.Errorf("%v", err)
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("no certificates here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][2]string{
		"CA file missing":               {filepath.Join(dir, "none.pem"), f.ca.Files().CRL},
		"CA file without certificates":  {empty, f.ca.Files().CRL},
		"no CRL file":                   {f.ca.Files().CA, ""},
		"CRL file missing":              {f.ca.Files().CA, filepath.Join(dir, "none.pem")},
		"CRL file without CRLs":         {f.ca.Files().CA, f.ca.Files().CA},
		"CRL of an untrusted authority": {f.ca.Files().CA, f.other.Files().CRL},
		"CRL file of garbage":           {f.ca.Files().CA, empty},
	} {
		if _, err := NewVerifier(files[0], files[1], nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestVerifyWithoutTLS(t *testing.T) {
	f := newFixture(t)
	card := f.issue(t, f.ca, cardca.CardRequest{})
	now := time.Now()
	// The CA offered by the client as an intermediate changes nothing.
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert, f.ca.Cert()}, now); err != nil {
		t.Error(err)
	}
	for _, chain := range [][]*x509.Certificate{nil, {}, {nil}} {
		if _, err := f.v.Verify(chain, now); ReasonOf(err) != NoCertificate {
			t.Errorf("%v: %v", chain, err)
		}
	}
	// The server certificate is from the trusted CA but not for clients.
	server, err := tls.LoadX509KeyPair(f.ca.Files().ServerCert, f.ca.Files().ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify([]*x509.Certificate{server.Leaf}, now); ReasonOf(err) != Malformed {
		t.Errorf("server certificate: %v", err)
	}
	// Ten years on, card and CA have both expired: the card's expiry is
	// what the resident can act on.
	if _, err := f.v.Verify([]*x509.Certificate{card.Cert}, f.ca.Cert().NotAfter.Add(time.Hour)); ReasonOf(err) != Expired {
		t.Errorf("after the CA and the card expired: %v", err)
	}
}

func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons {
		id := r.MessageID()
		if !strings.HasPrefix(id, "crs.refused.") || seen[id] {
			t.Errorf("message id %q", id)
		}
		seen[id] = true
	}
	if len(Reasons) != 10 {
		t.Errorf("%d reasons", len(Reasons))
	}
	err := error(&Refusal{Reason: Revoked, Detail: "serial 1"})
	if err.Error() != "card refused: revoked: serial 1" || ReasonOf(err) != Revoked || ReasonOf(errors.New("x")) != "" {
		t.Errorf("%v", err)
	}
	if !PolicyCNS.Equal(cardca.PolicyCNS) || !PolicyCIE.Equal(cardca.PolicyCIE) {
		t.Error("crs and cardca disagree on the policy identifiers")
	}
}

func TestParseCommonName(t *testing.T) {
	for _, tt := range []struct {
		cn, code, number string
		reason           Reason
	}{
		{"MSRNTN77H15C351X/6120016461039008.i1ZpZfaCX/eKyikBfnF8to+M2T8=", fiscalCode, "6120016461039008", ""},
		{"MSRNTN77H15C351X/1.x", fiscalCode, "1", ""},
		{"MSRNTN77H15C351X6120016461039008.i1ZpZfaCX", "", "", BadSubject},
		{"MSRNTN77H15C351X/6120016461039008", "", "", BadSubject},
		{"MSRNTN77H15C351X/6120016461039008.", "", "", BadSubject},
		{"msrntn77h15c351x/6120016461039008.abc", "", "", BadSubject},
		{"MSRNTN77H15C351X/61200164610390A8.abc", "", "", BadSubject},
		{"MSRNTN77H15C351/6120016461039008.abc", "", "", BadSubject},
		{" MSRNTN77H15C351X/6120016461039008.abc", "", "", BadSubject},
		{"", "", "", BadSubject},
		{"MSRNTN77H15C351Y/6120016461039008.abc", "", "", BadFiscalCode},
		{"MSRNTN77H35C351X/6120016461039008.abc", "", "", BadFiscalCode},
		{"1234567890123456/6120016461039008.abc", "", "", BadFiscalCode},
	} {
		code, number, r := parseCommonName(tt.cn)
		var reason Reason
		if r != nil {
			reason = r.Reason
		}
		if string(code) != tt.code || number != tt.number || reason != tt.reason {
			t.Errorf("%q: %q %q %v, want %q %q %q", tt.cn, code, number, r, tt.code, tt.number, tt.reason)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	card := f.issue(b, f.ca, cardca.CardRequest{GivenName: "Antonio", FamilyName: "Masseroni"})
	chain := []*x509.Certificate{card.Cert}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.v.Verify(chain, now); err != nil {
			b.Fatal(err)
		}
	}
}

// syncBuffer is a bytes.Buffer the server's goroutines can log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
