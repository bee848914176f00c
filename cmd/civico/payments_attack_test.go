package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/payments"
)

// A receipt from the node for less than the notice's amount, with no
// activation before it (a notice paid at a counter): refused as a
// discrepancy, the notice not paid. The attempt the receipt made for
// itself used to take the receipt's own amount, so the amounts always
// matched and one cent settled a notice of € 42.
func TestNodeReceiptForLessIsNotASettlement(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		key := bytes.Repeat([]byte{7}, 32)
		callers := filepath.Join(t.TempDir(), "callers.json")
		b, _ := json.Marshal([]map[string]string{{"id": "banca-hmac", "hmac_key": hex.EncodeToString(key)}})
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
		node := &nodeClient{t: t, url: s.plain.URL, http: http.DefaultClient, id: "banca-hmac", key: key}
		rt := payments.CreditorRequest{CreditorCF: "01971350150", NoticeNumber: p.Notices[0].Number, ReceiptID: "rt-cent", Amount: 1, PSP: "Banca Esempio",
			PaidAt: time.Now().Format(time.RFC3339)}
		st, a := node.call("receipt", rt)
		if st != 200 || a.Outcome != "KO" || a.Fault == nil || a.Fault.Code != "PAA_SEMANTICA" {
			t.Errorf("a receipt of 1 cent for a notice of 4200: %d %+v, want KO PAA_SEMANTICA", st, a)
		}
		if n := s.count(t, "payments_receipts"); n != 0 {
			t.Errorf("%d receipts for a notice paid 1 cent of 4200", n)
		}
		n, err := svc.OwnNotice(context.Background(), string(code), p.Notices[0].ID)
		if err != nil || n.Status != payments.StatusOpen {
			t.Fatalf("the notice after a receipt for less: %+v %v", n, err)
		}
		var mismatches int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.amount_mismatch'`).Scan(&mismatches); err != nil || mismatches != 1 {
			t.Fatalf("%d discrepancies in the ledger, %v", mismatches, err)
		}
		// The right amount afterwards settles it.
		rt.ReceiptID, rt.Amount = "rt-full", 4200
		if st, a := node.call("receipt", rt); st != 200 || a.Outcome != "OK" {
			t.Fatalf("the full receipt: %d %+v", st, a)
		}
		if n := s.count(t, "payments_receipts"); n != 1 {
			t.Fatalf("%d receipts after the full payment", n)
		}
	})
}
