package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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

// notifySandbox posts a notification signed with the sandbox's key, as
// the sandbox gateway sends it.
func notifySandbox(t *testing.T, s *idSite, n payments.Notification) {
	t.Helper()
	body, _ := json.Marshal(n)
	req, _ := http.NewRequest("POST", s.plain.URL+"/pagamenti/notifiche/sandbox", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(payments.SignatureHeader, payments.Sign(s.apps.civico.payments.SandboxGateway().Key, body, time.Now()))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("notification %s: %d", n.ID, res.StatusCode)
	}
}

// A position offered in one go and in two instalments: the single
// payment's attempt is released (reconciliation gave up on it), the
// resident starts paying the first instalment, and then the single
// payment's money arrives after all, followed by the instalment's. The
// position is paid once: the instalment's payment is a duplicate to
// refund, not a second receipt (the settlement voided the other way of
// paying only where it was open, and the instalment held by the second
// attempt was then paid as well, with no refund recorded).
func TestLatePaymentDoesNotPayBothWaysOfAPosition(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newPaySite(t, d)
		ctx := context.Background()
		pos, err := p.svc.Create(ctx, payments.NewPosition{DebtorCF: p.code, Category: payments.TARI, Reason: "TARI 2026", Year: 2026, Amount: 9000,
			DueDate: "2026-12-31", Single: true, Instalments: []payments.Instalment{{Amount: 4500, DueDate: "2026-12-31"}, {Amount: 4500, DueDate: "2027-01-31"}}},
			payments.Actor{Name: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		var single, first string
		for _, n := range pos.Notices {
			switch n.Seq {
			case 0:
				single = n.ID
			case 1:
				first = n.ID
			}
		}
		notify := p.plain.URL + "/pagamenti/notifiche/sandbox"
		a, err := p.svc.Checkout(ctx, p.code, []string{single}, "key-a", p.tls.URL, notify, payments.Actor{Name: "user:test"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.svc.Release(ctx, a.ID, payments.OutcomeExpired, "reconciliation"); err != nil {
			t.Fatal(err)
		}
		b, err := p.svc.Checkout(ctx, p.code, []string{first}, "key-b", p.tls.URL, notify, payments.Actor{Name: "user:test"})
		if err != nil {
			t.Fatal(err)
		}
		notifySandbox(t, p.idSite, payments.Notification{ID: "late-a", Status: payments.Status{AttemptID: a.ID, Outcome: payments.OutcomePaid, Amount: 9000,
			PSP: "Sandbox PSP", PSPRef: "A"}})
		notifySandbox(t, p.idSite, payments.Notification{ID: "paid-b", Status: payments.Status{AttemptID: b.ID, Outcome: payments.OutcomePaid, Amount: 4500,
			PSP: "Sandbox PSP", PSPRef: "B"}})
		if n := p.count(t, "payments_receipts"); n != 1 {
			t.Errorf("%d receipts for a position of € 90 paid in one go, want 1", n)
		}
		var dups int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.duplicate' AND attempt_id = $1`, b.ID).Scan(&dups); err != nil || dups != 1 {
			t.Errorf("the instalment's payment: %d refunds due in the ledger, want 1 (%v)", dups, err)
		}
		after, err := p.svc.Position(ctx, pos.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.PaidAmount != 9000 || after.Status != payments.StatusPaid {
			t.Errorf("the position: paid %d, status %s; want 9000, paid", after.PaidAmount, after.Status)
		}
	})
}

// Each IMU calculation turned into a position writes a position, its
// notices and their transfers: a resident who posts calculation after
// calculation (another cadastral income each time) is stopped after a
// day's budget, with nothing written past it.
func TestIMUPositionsAreBudgeted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newPaySite(t, d)
		b := p.browser(t, p.card)
		p.cardLogin(t, b, "/")
		refused := 0
		for i := range payments.IMUPositionsPerDay + 3 {
			form := url.Values{"rendita": {strconv.Itoa(700+i) + ",00"}, "category": {"A/2"}, "share": {"100"}, "months": {"12"}, "year": {"2026"}}
			res, _ := b.do("POST", p.tls.URL+payments.AreaPath+"/imu/paga", form)
			switch res.StatusCode {
			case http.StatusSeeOther:
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Fatalf("calculation %d: %d", i, res.StatusCode)
			}
		}
		var n int
		if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM payments_positions WHERE debtor_cf = $1 AND category = 'imu'`, p.code).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != payments.IMUPositionsPerDay || refused != 3 {
			t.Fatalf("%d IMU positions, %d refused; want %d and 3", n, refused, payments.IMUPositionsPerDay)
		}
	})
}
