package payments

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// ReceiptWindow bounds which receipts are sent: those recorded within it.
// An installation's older receipts (before this was built, or while no
// channel was configured) are not mailed all at once.
const ReceiptWindow = 48 * time.Hour

// PlanReceipts records, for every receipt recorded within ReceiptWindow
// that has no message yet, one message per channel. The receipt is
// written by the settlement, whoever made it (the gateway's notification,
// reconciliation, the pagoPA node's paSendRT); its message is planned here,
// after the commit, so that a crash between the two loses nothing: the
// next run finds the receipt without a message.
func (m *Reminders) PlanReceipts(ctx context.Context) error {
	s := m.Svc
	now := s.now()
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT r.id FROM payments_receipts r WHERE r.recorded_at >= $1
			AND NOT EXISTS (SELECT 1 FROM payments_receipt_messages m WHERE m.receipt_id = r.id) ORDER BY r.recorded_at LIMIT 500`, now.Add(-ReceiptWindow))
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
				if _, err := tx.ExecContext(ctx, `INSERT INTO payments_receipt_messages (receipt_id, channel, status, next_at, created_at) VALUES ($1, $2, 'pending', $3, $3)
					ON CONFLICT (receipt_id, channel) DO NOTHING`, id, n.Channel(), now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// DeliverReceipts sends the receipts' messages that are due, each claimed
// under a lease (several processes send one once); a failure is retried
// with a growing delay, a debtor the channel cannot reach is not.
func (m *Reminders) DeliverReceipts(ctx context.Context) error {
	s := m.Svc
	now := s.now()
	rows, err := s.DB.QueryContext(ctx, `SELECT m.receipt_id, m.channel, r.debtor_cf, r.amount, r.paid_at, r.psp, r.psp_ref, n.number, p.reason
		FROM payments_receipt_messages m JOIN payments_receipts r ON r.id = m.receipt_id JOIN payments_notices n ON n.id = r.notice_id
		JOIN payments_positions p ON p.id = r.position_id
		WHERE (m.status = 'pending' AND m.next_at <= $1) OR (m.status = 'sending' AND m.lease_until < $1) ORDER BY m.next_at LIMIT 100`, now)
	if err != nil {
		return err
	}
	var due []Reminder
	var channels []string
	for rows.Next() {
		r := Reminder{Kind: KindReceipt}
		var ch string
		if err := rows.Scan(&r.ReceiptID, &ch, &r.DebtorCF, &r.Amount, &r.PaidAt, &r.PSP, &r.PSPRef, &r.Number, &r.Reason); err != nil {
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
	if len(due) == 0 {
		return nil
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
		res, err := s.DB.ExecContext(ctx, `UPDATE payments_receipt_messages SET status = 'sending', lease_until = $1, attempts = attempts + 1
			WHERE receipt_id = $2 AND channel = $3 AND ((status = 'pending' AND next_at <= $4) OR (status = 'sending' AND lease_until < $4))`,
			now.Add(2*time.Minute), r.ReceiptID, channels[i], now)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			continue
		}
		r.Creditor = creditor
		r.Link = strings.TrimSuffix(m.BaseURL, "/") + AreaPath + "/ricevute/" + url.PathEscape(r.ReceiptID)
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = n.Remind(cctx, r)
		cancel()
		var q string
		var args []any
		switch {
		case err == nil:
			q, args = `UPDATE payments_receipt_messages SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = '' WHERE receipt_id = $2 AND channel = $3`,
				[]any{now, r.ReceiptID, channels[i]}
		case errors.Is(err, ErrNoContact):
			q, args = `UPDATE payments_receipt_messages SET status = 'failed', lease_until = NULL, last_error = $1 WHERE receipt_id = $2 AND channel = $3`,
				[]any{err.Error(), r.ReceiptID, channels[i]}
		default:
			if m.Log != nil {
				m.Log.Warn("payments: receipt not delivered", "channel", channels[i], "receipt", r.ReceiptID, "err", err)
			}
			q = `UPDATE payments_receipt_messages SET status = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'pending' END, lease_until = NULL, last_error = $2,
				next_at = $3 WHERE receipt_id = $4 AND channel = $5`
			args = []any{maxReminderAttempts, db.CleanText(err.Error(), 500), now.Add(time.Duration(1<<min(10, i%10+1)) * time.Minute), r.ReceiptID, channels[i]}
		}
		if _, err := s.DB.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
