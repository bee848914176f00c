package payments

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/mail/mailtest"
)

// fakeIO is a local stand-in for the IO app's API: it checks the
// subscription key and the message as the real API validates it, and
// knows one user who allows the town's messages.
type fakeIO struct {
	mu       sync.Mutex
	key      string
	users    map[string]bool // fiscal code → sender allowed
	messages []IOMessage
	failNext int
}

func (f *fakeIO) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Ocp-Apim-Subscription-Key") != f.key {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f.failNext > 0 {
		f.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	switch {
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/v1/profiles/"):
		allowed, ok := f.users[strings.TrimPrefix(r.URL.Path, "/api/v1/profiles/")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]bool{"sender_allowed": allowed})
	case r.Method == "POST" && r.URL.Path == "/api/v1/messages":
		var m IOMessage
		err := json.NewDecoder(r.Body).Decode(&m)
		pd := m.Content.PaymentData // optional: a message without one pays nothing
		if err != nil || len([]rune(m.Content.Subject)) < 10 || len([]rune(m.Content.Subject)) > 120 ||
			len(m.Content.Markdown) < 80 || len(m.Content.Markdown) > 10000 || pd != nil && (len(pd.NoticeNumber) != 18 || pd.Amount <= 0) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.messages = append(f.messages, m)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": "msg-" + m.FiscalCode})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// Reminders a week before the due date and three days after it reach the
// resident by mail (through a real SMTP server) and in the IO app (a
// local fake of its API); each is sent once, a failure is retried, and a
// resident the app does not know is not.
func TestReminders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		soon := mustCreate(t, s, canteen(mario, 4520)) // due 2026-11-30: within a week
		late := mustCreate(t, s, NewPosition{DebtorCF: anna, Category: Fine, Reason: "Sanzione sosta", Year: 2026, Amount: 4200, DueDate: "2026-11-18"})
		far := mustCreate(t, s, NewPosition{DebtorCF: mario, Category: TARI, Reason: "TARI 2027", Year: 2027, Amount: 9000, DueDate: "2027-05-31"})
		_ = far
		io := &fakeIO{key: "io-key", users: map[string]bool{mario: true}, failNext: 1}
		srv := httptest.NewServer(io)
		defer srv.Close()
		smtp := mailtest.Start(t)
		outbox := &mail.Outbox{DB: d}
		m := &Reminders{Svc: s, BaseURL: "https://servizi.example.it", Notifiers: []Notifier{
			&MailNotifier{DB: d, Outbox: outbox, Contacts: func(_ context.Context, code string) (string, bool, error) {
				return map[string]string{mario: "mario@example.it"}[code], code == mario, nil
			}},
			&AppIO{URL: srv.URL, Key: "io-key"},
		}}
		for range 2 { // planning twice plans once
			if err := m.Plan(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_reminders`); n != 4 {
			t.Fatalf("%d reminders planned, want 4 (two notices × two channels)", n)
		}
		if err := m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		// The IO API failed once: retried later.
		now = now.Add(time.Hour)
		if err := m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if err := m.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		io.mu.Lock()
		msgs := append([]IOMessage(nil), io.messages...)
		io.mu.Unlock()
		if len(msgs) != 1 || msgs[0].FiscalCode != mario || msgs[0].Content.PaymentData.NoticeNumber != soon.Notices[0].Number || msgs[0].Content.PaymentData.Amount != 4520 {
			t.Fatalf("IO messages %+v", msgs)
		}
		w := &mail.Worker{Outbox: outbox, Sender: mustSender(t, smtp), From: "noreply@example.it"}
		if _, _, err := w.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		got := smtp.WaitFor(t, 1, 5*time.Second)
		if len(got) != 1 || !strings.Contains(got[0].Text, soon.Notices[0].ID) || !strings.Contains(got[0].Text, "45,20") {
			t.Fatalf("mail %+v", got)
		}
		// Anna has neither an address nor the app: failed, not retried.
		if n := count(t, d, `SELECT COUNT(*) FROM payments_reminders r JOIN payments_notices n ON n.id = r.notice_id WHERE n.position_id = $1 AND r.status = 'failed'`, late.ID); n != 2 {
			t.Fatalf("%d of Anna's reminders marked failed", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_reminders WHERE status = 'sent'`); n != 2 {
			t.Fatalf("%d reminders sent", n)
		}
	})
}

func mustSender(t *testing.T, s *mailtest.Server) *mail.SMTPSender {
	t.Helper()
	snd, err := mail.NewSMTPSender(s.URL(), "noreply@example.it")
	if err != nil {
		t.Fatal(err)
	}
	return snd
}

// Every receipt reaches its debtor, whoever settled the payment: by mail
// (through a real SMTP server) to the account that proved the fiscal code,
// and in the IO app (a local fake of its API) without an offer to pay;
// once, planning twice plans once, a failure is retried, a debtor no
// channel reaches is not, and a receipt older than ReceiptWindow is not
// sent.
func TestReceiptsReachTheirDebtors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, g := newService(t, d)
		ctx := context.Background()
		now := time.Now()
		s.Now = func() time.Time { return now }
		pay := func(debtor string, cents int64, key string) string {
			p := mustCreate(t, s, canteen(debtor, cents))
			a, err := s.Checkout(ctx, debtor, []string{p.Notices[0].ID}, key, "", "", Actor{})
			if err != nil {
				t.Fatal(err)
			}
			g.set(Status{AttemptID: a.ID, Outcome: OutcomePaid, Amount: cents, PSP: "Banca Prova", PSPRef: "psp-" + key})
			if _, err := s.Settle(ctx, Payment{AttemptID: a.ID, Amount: cents, PSP: "Banca Prova", PSPRef: "psp-" + key}, "gateway:test"); err != nil {
				t.Fatal(err)
			}
			return p.Notices[0].Number
		}
		old := pay(mario, 1000, "old") // before the window: never sent
		now = now.Add(ReceiptWindow + time.Hour)
		number := pay(mario, 4520, "m1")
		pay(anna, 4200, "a1")
		io := &fakeIO{key: "io-key", users: map[string]bool{mario: true}, failNext: 1}
		srv := httptest.NewServer(io)
		defer srv.Close()
		smtp := mailtest.Start(t)
		outbox := &mail.Outbox{DB: d}
		m := &Reminders{Svc: s, BaseURL: "https://servizi.example.it", Notifiers: []Notifier{
			&MailNotifier{DB: d, Outbox: outbox, Contacts: func(_ context.Context, code string) (string, bool, error) {
				return map[string]string{mario: "mario@example.it"}[code], code == mario, nil
			}},
			&AppIO{URL: srv.URL, Key: "io-key"},
		}}
		for range 2 {
			if err := m.PlanReceipts(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_receipt_messages`); n != 4 {
			t.Fatalf("%d receipt messages planned, want 4 (two receipts × two channels)", n)
		}
		for range 2 { // the IO API fails once: retried later
			if err := m.DeliverReceipts(ctx); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Hour)
		}
		if err := m.DeliverReceipts(ctx); err != nil {
			t.Fatal(err)
		}
		io.mu.Lock()
		msgs := append([]IOMessage(nil), io.messages...)
		io.mu.Unlock()
		if len(msgs) != 1 || msgs[0].FiscalCode != mario || msgs[0].Content.PaymentData != nil || !strings.Contains(msgs[0].Content.Markdown, "45,20") {
			t.Fatalf("IO messages %+v", msgs)
		}
		w := &mail.Worker{Outbox: outbox, Sender: mustSender(t, smtp), From: "noreply@example.it"}
		if _, _, err := w.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		got := smtp.WaitFor(t, 1, 5*time.Second)
		var rid string
		if err := d.QueryRowContext(ctx, `SELECT r.id FROM payments_receipts r JOIN payments_notices n ON n.id = r.notice_id WHERE n.number = $1`, number).Scan(&rid); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !strings.Contains(got[0].Text, "/area-personale/pagamenti/ricevute/"+rid) || !strings.Contains(got[0].Text, "45,20") ||
			!strings.Contains(got[0].Text, "psp-m1") || strings.Contains(got[0].Text, old) {
			t.Fatalf("mail %+v", got)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_receipt_messages WHERE status = 'sent'`); n != 2 {
			t.Fatalf("%d receipt messages sent, want 2", n)
		}
		// Anna has neither an address nor the app: failed, not retried.
		if n := count(t, d, `SELECT COUNT(*) FROM payments_receipt_messages m JOIN payments_receipts r ON r.id = m.receipt_id WHERE r.debtor_cf = $1 AND m.status = 'failed'`, anna); n != 2 {
			t.Fatalf("%d of Anna's receipt messages marked failed, want 2", n)
		}
		// Nothing more to send.
		now = now.Add(24 * time.Hour)
		if err := m.PlanReceipts(ctx); err != nil {
			t.Fatal(err)
		}
		if err := m.DeliverReceipts(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM payments_receipt_messages`); n != 4 {
			t.Fatalf("%d receipt messages after another round", n)
		}
	})
}
