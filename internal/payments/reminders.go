package payments

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/mail"
	"github.com/civico-pa/civico/internal/pagopa"
)

// Reminder is a notice to remind its debtor of, before its due date or
// after it.
type Reminder struct {
	Kind                       string // "before", "after" or KindReceipt
	DebtorCF, NoticeID, Number string
	Reason, DueDate, Creditor  string
	Amount                     int64
	Link                       string
	// A receipt's (KindReceipt): its id, when and through whom it was
	// paid; Link is then the receipt's PDF.
	ReceiptID, PSP, PSPRef string
	PaidAt                 time.Time
}

// KindReceipt is the kind of the message that carries a payment's receipt
// (receiptmsg.go): the same channels as the reminders.
const KindReceipt = "receipt"

// Notifier sends reminders and receipts through one channel: mail, App IO.
type Notifier interface {
	Channel() string
	Remind(ctx context.Context, r Reminder) error
}

// ErrNoContact: the channel cannot reach this debtor (no address, not a
// user of the app): the reminder is not retried.
var ErrNoContact = errors.New("payments: the debtor cannot be reached on this channel")

// Reminder timing: a week before the due date, and three days after it.
const (
	RemindBefore = 7 * 24 * time.Hour
	RemindAfter  = 3 * 24 * time.Hour
)

// Reminders plans reminders and delivers them through the notifiers.
type Reminders struct {
	Svc       *Service
	Notifiers []Notifier
	Log       *slog.Logger
	// BaseURL is the portal's address, for the link in a reminder.
	BaseURL string
}

// Plan records the reminders now due: one per notice, kind and channel,
// for open notices whose due date is within a week, or three days past.
func (m *Reminders) Plan(ctx context.Context) error {
	s := m.Svc
	now := s.now()
	today := now.In(rome()).Format(dateLayout)
	soon := now.Add(RemindBefore).In(rome()).Format(dateLayout)
	late := now.Add(-RemindAfter).In(rome()).Format(dateLayout)
	plan := func(kind, where, column string, args ...any) error {
		return s.DB.Tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM payments_notices WHERE status = 'open' AND `+column+` IS NULL AND `+where+` LIMIT 1000`, args...) // #nosec G202 -- column and where are constants of plan's two callers below; values are parameters
			if err != nil {
				return err
			}
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					_ = rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			_ = rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, id := range ids {
				for _, n := range m.Notifiers {
					if _, err := tx.ExecContext(ctx, `INSERT INTO payments_reminders (notice_id, kind, channel, status, next_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $4)
						ON CONFLICT (notice_id, kind, channel) DO NOTHING`, id, kind, n.Channel(), now); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, `UPDATE payments_notices SET `+column+` = $1 WHERE id = $2`, now, id); err != nil { // #nosec G202 -- column is one of two constants (plan's callers below)
					return err
				}
			}
			return nil
		})
	}
	if err := plan("before", `due_date >= $1 AND due_date <= $2`, "reminded_before_at", today, soon); err != nil {
		return err
	}
	return plan("after", `due_date <= $1`, "reminded_after_at", late)
}

// maxReminderAttempts is how often a failed delivery is tried.
const maxReminderAttempts = 5

// Deliver sends the due reminders, each claimed under a lease so that
// several processes do not send one twice; a failure is retried with a
// growing delay, a debtor the channel cannot reach is not.
func (m *Reminders) Deliver(ctx context.Context) error {
	s := m.Svc
	now := s.now()
	rows, err := s.DB.QueryContext(ctx, `SELECT r.notice_id, r.kind, r.channel, n.debtor_cf, n.number, n.amount, n.due_date, p.reason
		FROM payments_reminders r JOIN payments_notices n ON n.id = r.notice_id JOIN payments_positions p ON p.id = n.position_id
		WHERE (r.status = 'pending' AND r.next_at <= $1) OR (r.status = 'sending' AND r.lease_until < $1) ORDER BY r.next_at LIMIT 100`, now)
	if err != nil {
		return err
	}
	var due []Reminder
	var channels []string
	for rows.Next() {
		var r Reminder
		var ch string
		if err := rows.Scan(&r.NoticeID, &r.Kind, &ch, &r.DebtorCF, &r.Number, &r.Amount, &r.DueDate, &r.Reason); err != nil {
			_ = rows.Close()
			return err
		}
		due = append(due, r)
		channels = append(channels, ch)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	creditor, err := s.Creditor(ctx)
	if err != nil {
		return err
	}
	for i, r := range due {
		var n Notifier
		for _, x := range m.Notifiers {
			if x.Channel() == channels[i] {
				n = x
			}
		}
		if n == nil {
			continue
		}
		res, err := s.DB.ExecContext(ctx, `UPDATE payments_reminders SET status = 'sending', lease_until = $1, attempts = attempts + 1
			WHERE notice_id = $2 AND kind = $3 AND channel = $4 AND ((status = 'pending' AND next_at <= $5) OR (status = 'sending' AND lease_until < $5))`,
			now.Add(2*time.Minute), r.NoticeID, r.Kind, channels[i], now)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			continue
		}
		r.Creditor = creditor
		r.Link = strings.TrimSuffix(m.BaseURL, "/") + AreaPath + "/avvisi/" + url.PathEscape(r.NoticeID)
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = n.Remind(cctx, r)
		cancel()
		var q string
		var args []any
		switch {
		case err == nil:
			q, args = `UPDATE payments_reminders SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = '' WHERE notice_id = $2 AND kind = $3 AND channel = $4`,
				[]any{now, r.NoticeID, r.Kind, channels[i]}
		case errors.Is(err, ErrNoContact):
			q, args = `UPDATE payments_reminders SET status = 'failed', lease_until = NULL, last_error = $1 WHERE notice_id = $2 AND kind = $3 AND channel = $4`,
				[]any{err.Error(), r.NoticeID, r.Kind, channels[i]}
		default:
			if m.Log != nil {
				m.Log.Warn("payments: reminder not delivered", "channel", channels[i], "notice", r.NoticeID, "err", err)
			}
			q = `UPDATE payments_reminders SET status = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END, lease_until = NULL, last_error = $2,
				next_at = $3 WHERE notice_id = $4 AND kind = $5 AND channel = $6`
			args = []any{maxReminderAttempts, db.CleanText(err.Error(), 500), now.Add(time.Duration(1<<min(10, i%10+1)) * time.Minute), r.NoticeID, r.Kind, channels[i]}
		}
		if _, err := s.DB.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// reminderText is a reminder's subject and body in Italian and English.
func reminderText(r Reminder) (subject, body string) {
	if r.Kind == KindReceipt {
		paid := r.PaidAt.In(rome()).Format("02/01/2006 15:04")
		subject = "Ricevuta di pagamento, avviso " + pagopa.Grouped(r.Number)
		body = fmt.Sprintf("%s\n\nCodice avviso: %s\nImporto pagato: € %s\nPagato il: %s\nPrestatore del servizio di pagamento: %s (riferimento %s)\n"+
			"Ente creditore (codice fiscale): %s\n\nLa ricevuta in PDF è in \"I miei pagamenti\": %s\n\n"+
			"— English —\nThe town received your payment of € %s for notice %s on %s. The receipt (PDF) is in \"I miei pagamenti\" at the address above.\n",
			r.Reason, pagopa.Grouped(r.Number), Euro(r.Amount), paid, r.PSP, r.PSPRef, r.Creditor, r.Link, Euro(r.Amount), pagopa.Grouped(r.Number), paid)
		return subject, body
	}
	due := date(r.DueDate)
	if r.Kind == "before" {
		subject = "Promemoria: avviso di pagamento in scadenza il " + due
	} else {
		subject = "Avviso di pagamento scaduto il " + due
	}
	body = fmt.Sprintf("%s\n\nCodice avviso: %s\nImporto: € %s\nScadenza: %s\nEnte creditore (codice fiscale): %s\n\nPuoi pagarlo online in \"I miei pagamenti\": %s\n"+
		"oppure in banca, in posta, in tabaccheria o con l'app IO, con il codice avviso.\n\n"+
		"— English —\nA payment notice of the town is due on %s: notice %s, € %s. Pay it online at the address above or at any pagoPA channel.\n",
		r.Reason, pagopa.Grouped(r.Number), Euro(r.Amount), due, r.Creditor, r.Link, due, pagopa.Grouped(r.Number), Euro(r.Amount))
	return subject, body
}

// MailNotifier reminds by mail, through the outbox, the debtor whose
// account proved their fiscal code.
type MailNotifier struct {
	DB interface {
		Tx(context.Context, func(*sql.Tx) error) error
	}
	Outbox *mail.Outbox
	// Contacts is the address of the account whose proven fiscal code is
	// code: ok false when there is none.
	Contacts func(ctx context.Context, code string) (email string, ok bool, err error)
}

// Channel is "mail".
func (m *MailNotifier) Channel() string { return "mail" }

// Remind writes the reminder to the outbox.
func (m *MailNotifier) Remind(ctx context.Context, r Reminder) error {
	addr, ok, err := m.Contacts(ctx, r.DebtorCF)
	if err != nil {
		return err
	}
	if !ok || addr == "" {
		return ErrNoContact
	}
	subject, body := reminderText(r)
	return m.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := m.Outbox.Enqueue(ctx, tx, mail.Message{To: addr, Subject: subject, Text: body})
		return err
	})
}

// AppIO reminds through the IO app's messages API (api.io.pagopa.it):
// the profile is asked first (is the resident a user who allows this
// sender?), then a message with the payment data is sent, so the app
// offers to pay it.
type AppIO struct {
	// URL is the API's base address; Key the service's subscription key.
	URL, Key string
	HTTP     *http.Client
}

// Channel is "io".
func (a *AppIO) Channel() string { return "io" }

func (a *AppIO) do(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(a.URL, "/")+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Ocp-Apim-Subscription-Key", a.Key)
	req.Header.Set("Content-Type", "application/json")
	c := a.HTTP
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return res.StatusCode, fmt.Errorf("app io: %s: %w", path, err)
		}
	}
	return res.StatusCode, nil
}

// IOMessage is the message the IO API takes.
type IOMessage struct {
	FiscalCode string    `json:"fiscal_code"`
	TimeToLive int       `json:"time_to_live"`
	Content    IOContent `json:"content"`
}

// IOContent is a message's content, with the payment the app offers.
type IOContent struct {
	Subject  string `json:"subject"`
	Markdown string `json:"markdown"`
	DueDate  string `json:"due_date,omitempty"`
	// PaymentData lets the app pay the notice: none for a receipt.
	PaymentData *IOPaymentData `json:"payment_data,omitempty"`
}

// IOPaymentData lets the app pay the notice.
type IOPaymentData struct {
	Amount              int64  `json:"amount"`
	NoticeNumber        string `json:"notice_number"`
	InvalidAfterDueDate bool   `json:"invalid_after_due_date"`
	PayeeFiscalCode     string `json:"payee_fiscal_code,omitempty"`
}

// Remind sends the reminder to the resident's app.
func (a *AppIO) Remind(ctx context.Context, r Reminder) error {
	var prof struct {
		SenderAllowed bool `json:"sender_allowed"`
	}
	status, err := a.do(ctx, http.MethodGet, "/api/v1/profiles/"+url.PathEscape(r.DebtorCF), nil, &prof)
	switch {
	case err != nil:
		return err
	case status == http.StatusNotFound || status == http.StatusOK && !prof.SenderAllowed:
		return ErrNoContact
	case status != http.StatusOK:
		return fmt.Errorf("app io: profile: status %d", status)
	}
	subject, body := reminderText(r)
	if len([]rune(subject)) > 120 {
		subject = string([]rune(subject)[:120])
	}
	msg := IOMessage{FiscalCode: r.DebtorCF, TimeToLive: 3600, Content: IOContent{Subject: subject, Markdown: body}}
	if r.Kind != KindReceipt {
		if t, err := time.ParseInLocation(dateLayout, r.DueDate, rome()); err == nil {
			msg.Content.DueDate = t.Add(23*time.Hour + 59*time.Minute).UTC().Format(time.RFC3339)
		}
		msg.Content.PaymentData = &IOPaymentData{Amount: r.Amount, NoticeNumber: r.Number, PayeeFiscalCode: r.Creditor}
	}
	var sent struct {
		ID string `json:"id"`
	}
	status, err = a.do(ctx, http.MethodPost, "/api/v1/messages", msg, &sent)
	if err != nil {
		return err
	}
	if status != http.StatusCreated || sent.ID == "" {
		return fmt.Errorf("app io: message: status %d", status)
	}
	return nil
}
