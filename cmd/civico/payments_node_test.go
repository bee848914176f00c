package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/payments"
)

// nodeClient is a pagoPA intermediary calling the creditor endpoints.
type nodeClient struct {
	t    *testing.T
	url  string
	http *http.Client
	id   string
	key  []byte
}

func (n *nodeClient) call(op string, in payments.CreditorRequest) (int, payments.CreditorAnswer) {
	n.t.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", n.url+payments.CreditorPath+"/"+op, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if n.key != nil {
		req.Header.Set(payments.CallerHeader, n.id)
		req.Header.Set(payments.SignatureHeader, payments.Sign(n.key, body, time.Now()))
	}
	res, err := n.http.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	var out payments.CreditorAnswer
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// clientCert makes a self-signed client certificate, as an intermediary's.
func clientCert(t *testing.T) (tls.Certificate, string, string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "nodo-test"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	file := filepath.Join(t.TempDir(), "node.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, hex.EncodeToString(sum[:]), file
}

// A notice paid at a bank: the node verifies it, activates it and sends
// its receipt; each caller is authenticated by its own means.
func TestPaidElsewhereThroughTheCreditorEndpoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		cert, _, certFile := clientCert(t)
		key := bytes.Repeat([]byte{7}, 32)
		callers := filepath.Join(t.TempDir(), "callers.json")
		list := []map[string]string{{"id": "banca-hmac", "hmac_key": hex.EncodeToString(key)}, {"id": "nodo-mtls", "cert_file": certFile}}
		b, _ := json.Marshal(list)
		if err := os.WriteFile(callers, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s := newTunedIDSite(t, d, func(c *config) { c.Payments.CallersFile = callers })
		svc := s.apps.civico.payments.Service
		code, _ := cf.Complete("FRRLCU78H15C707")
		p, err := svc.Create(context.Background(), payments.NewPosition{DebtorCF: string(code), Category: payments.Fine, Reason: "Sanzione",
			Year: 2026, Amount: 4200, DueDate: "2026-12-31"}, payments.Actor{Name: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		number := p.Notices[0].Number
		creditor := "01971350150"
		roots := x509.NewCertPool()
		roots.AddCert(s.ca.Cert())
		mtls := &nodeClient{t: t, url: s.tls.URL, http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}}
		hmacNode := &nodeClient{t: t, url: s.plain.URL, http: http.DefaultClient, id: "banca-hmac", key: key}
		req := payments.CreditorRequest{CreditorCF: creditor, NoticeNumber: number}

		// Unauthenticated: no certificate, an unknown certificate, a wrong key.
		for name, c := range map[string]*nodeClient{
			"no credentials": {t: t, url: s.plain.URL, http: http.DefaultClient},
			"wrong key":      {t: t, url: s.plain.URL, http: http.DefaultClient, id: "banca-hmac", key: bytes.Repeat([]byte{8}, 32)},
			"unknown caller": {t: t, url: s.plain.URL, http: http.DefaultClient, id: "altra-banca", key: key},
			"other certificate": {t: t, url: s.tls.URL, http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots,
				Certificates: []tls.Certificate{func() tls.Certificate { c, _, _ := clientCert(t); return c }()}}}}},
		} {
			if st, _ := c.call("verify", req); st != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, st)
			}
		}

		// Both callers verify it.
		for _, c := range []*nodeClient{mtls, hmacNode} {
			st, a := c.call("verify", req)
			if st != 200 || a.Outcome != "OK" || a.Amount != 4200 || len(a.Transfers) != 1 || a.Transfers[0].CreditorCF != creditor {
				t.Fatalf("verify: %d %+v", st, a)
			}
		}
		// Malformed, unknown, another creditor's.
		if _, a := hmacNode.call("verify", payments.CreditorRequest{CreditorCF: creditor, NoticeNumber: number[:17] + "x"}); a.Fault == nil || a.Fault.Code != "PAA_SINTASSI_EXTRAXSD" {
			t.Errorf("malformed: %+v", a)
		}
		unknown, _ := pagopa.New("01", 999999)
		if _, a := hmacNode.call("verify", payments.CreditorRequest{CreditorCF: creditor, NoticeNumber: unknown}); a.Fault == nil || a.Fault.Code != "PAA_PAGAMENTO_SCONOSCIUTO" {
			t.Errorf("unknown: %+v", a)
		}
		if _, a := hmacNode.call("verify", payments.CreditorRequest{CreditorCF: "00514490010", NoticeNumber: number}); a.Fault == nil || a.Fault.Code != "PAA_ID_DOMINIO_ERRATO" {
			t.Errorf("another creditor: %+v", a)
		}
		// Activation locks it: the resident's checkout and another activation are refused.
		act := req
		act.RequestID, act.Amount = "req-1", 4200
		if _, a := mtls.call("activate", act); a.Outcome != "OK" || a.AttemptID == "" {
			t.Fatalf("activate: %+v", a)
		}
		act.RequestID = "req-2"
		if _, a := hmacNode.call("activate", act); a.Fault == nil || a.Fault.Code != "PAA_PAGAMENTO_IN_CORSO" {
			t.Fatalf("a second activation: %+v", a)
		}
		if _, err := svc.Checkout(context.Background(), string(code), []string{p.Notices[0].ID}, "k", "", "", payments.Actor{}); err == nil {
			t.Fatal("the resident could start paying a notice activated at the node")
		}
		// The receipt, sent three times: one settlement. First with a NUL
		// in the provider's name (JSON's \u0000): a syntax fault.
		rt := req
		rt.ReceiptID, rt.Amount, rt.PSP, rt.PaidAt = "rt-0001", 4200, "Banca\x00Esempio", time.Now().Format(time.RFC3339)
		if st, a := mtls.call("receipt", rt); st != http.StatusBadRequest || a.Fault == nil || a.Fault.Code != "PAA_SINTASSI_EXTRAXSD" {
			t.Fatalf("a receipt with a NUL: %d %+v", st, a)
		}
		rt.PSP = "Banca Esempio"
		for range 3 {
			if st, a := mtls.call("receipt", rt); st != 200 || a.Outcome != "OK" {
				t.Fatalf("receipt: %d %+v", st, a)
			}
		}
		if n := s.count(t, "payments_receipts"); n != 1 {
			t.Fatalf("%d receipts", n)
		}
		if _, a := hmacNode.call("verify", req); a.Fault == nil || a.Fault.Code != "PAA_PAGAMENTO_DUPLICATO" {
			t.Fatalf("verify after payment: %+v", a)
		}
		// A second payment of the same notice, at a counter: acknowledged,
		// recorded for a refund, not a second receipt.
		rt.ReceiptID = "rt-0002"
		if _, a := hmacNode.call("receipt", rt); a.Outcome != "OK" {
			t.Fatalf("second receipt: %+v", a)
		}
		var dups int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.duplicate'`).Scan(&dups); err != nil || dups != 1 {
			t.Fatalf("%d duplicates in the ledger, %v", dups, err)
		}
		if n := s.count(t, "payments_receipts"); n != 1 {
			t.Fatalf("%d receipts after a duplicate payment", n)
		}
		if !strings.HasPrefix(number, "301") {
			t.Fatalf("notice number %s: aux 3, segregation 01", number)
		}
	})
}
