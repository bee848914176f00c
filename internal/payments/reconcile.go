package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Notify applies a gateway's verified notification, once: its id is
// recorded in the same transaction as what it causes, so a replay changes
// nothing. Notifications may come in any order: a paid attempt stays paid
// whatever comes after, and a payment that arrives after the attempt was
// released (refused, expired) is settled all the same.
func (s *Service) Notify(ctx context.Context, gateway string, n Notification) (*Settlement, error) {
	out := &Settlement{}
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO payments_notifications (gateway, id, attempt_id, outcome, received_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (gateway, id) DO NOTHING`, gateway, n.ID, n.AttemptID, string(n.Outcome), s.now())
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // seen before
		}
		var g string
		err = tx.QueryRowContext(ctx, `SELECT gateway FROM payments_attempts WHERE id = $1`, n.AttemptID).Scan(&g)
		if errors.Is(err, sql.ErrNoRows) || err == nil && g != gateway {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if n.Outcome == OutcomePaid {
			st, err := s.settleTx(ctx, tx, Payment{AttemptID: n.AttemptID, Amount: n.Amount, PSP: n.PSP, PSPRef: n.PSPRef, PaidAt: n.PaidAt}, "gateway:"+gateway)
			if st != nil {
				out = st
			}
			return err
		}
		return s.releaseTx(ctx, tx, n.AttemptID, n.Outcome, "gateway:"+gateway, "notification")
	})
	if err == nil && out.Mismatch {
		return out, ErrAmountMismatch
	}
	return out, err
}

// ReconcileAfter is how long an attempt may stay in payment before
// reconciliation asks the gateway about it.
const ReconcileAfter = 3 * time.Minute

// Reconciled counts what a reconciliation run did.
type Reconciled struct {
	Asked, Settled, Released, Pending, Failed int
}

// Reconcile asks the gateway about every checkout left in payment for
// longer than after (the tab closed, the notification that never came)
// and settles or releases it; activations by the node past their expiry
// are released. Each attempt is claimed for a minute (checked_at), so
// several processes running it ask once.
func (s *Service) Reconcile(ctx context.Context, after time.Duration) (Reconciled, error) {
	var r Reconciled
	now := s.now()
	rows, err := s.DB.QueryContext(ctx, `SELECT id, channel, expires_at FROM payments_attempts WHERE status = 'in_payment' AND created_at < $1
		AND (checked_at IS NULL OR checked_at < $2) ORDER BY created_at LIMIT 500`, now.Add(-after), now.Add(-time.Minute))
	if err != nil {
		return r, err
	}
	type cand struct {
		id, channel string
		expires     time.Time
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.id, &c.channel, &c.expires); err != nil {
			_ = rows.Close()
			return r, err
		}
		cands = append(cands, c)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	var errs []error
	for _, c := range cands {
		if ctx.Err() != nil {
			break
		}
		res, err := s.DB.ExecContext(ctx, `UPDATE payments_attempts SET checked_at = $1 WHERE id = $2 AND status = 'in_payment' AND (checked_at IS NULL OR checked_at < $3)`,
			now, c.id, now.Add(-time.Minute))
		if err != nil {
			return r, err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			continue // another process has it
		}
		if c.channel == "node" || s.Gateway == nil {
			if now.After(c.expires) {
				if err := s.Release(ctx, c.id, OutcomeExpired, "reconciliation"); err != nil {
					errs = append(errs, err)
					r.Failed++
					continue
				}
				r.Released++
			} else {
				r.Pending++
			}
			continue
		}
		r.Asked++
		st, err := s.Gateway.Status(ctx, c.id)
		if err != nil {
			errs = append(errs, fmt.Errorf("attempt %s: %w", c.id, err))
			r.Failed++
			continue
		}
		switch {
		case st.Outcome == OutcomePaid:
			if _, err := s.Settle(ctx, Payment{AttemptID: c.id, Amount: st.Amount, PSP: st.PSP, PSPRef: st.PSPRef, PaidAt: st.PaidAt}, "reconciliation"); err != nil {
				errs = append(errs, fmt.Errorf("attempt %s: %w", c.id, err))
				r.Failed++
				continue
			}
			r.Settled++
		case st.Outcome.Final():
			if err := s.Release(ctx, c.id, st.Outcome, "reconciliation"); err != nil {
				errs = append(errs, err)
				r.Failed++
				continue
			}
			r.Released++
		case now.After(c.expires.Add(AttemptTTL)):
			// Still pending long after the token lapsed: the gateway will
			// not take it any more; a late payment would still be settled.
			if err := s.Release(ctx, c.id, OutcomeExpired, "reconciliation"); err != nil {
				errs = append(errs, err)
				r.Failed++
				continue
			}
			r.Released++
		default:
			r.Pending++
		}
	}
	if len(errs) > 0 {
		s.log().Warn("payments: reconciliation", "asked", r.Asked, "settled", r.Settled, "released", r.Released, "failed", r.Failed, "err", errors.Join(errs...))
	}
	return r, nil
}

// Expire marks the open notices past their last payable day as expired.
func (s *Service) Expire(ctx context.Context) (int, error) {
	today := s.now().In(hours.Rome).Format(dateLayout)
	n := 0
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, position_id FROM payments_notices WHERE status = 'open' AND payable_until IS NOT NULL AND payable_until < $1 LIMIT 1000`, today)
		if err != nil {
			return err
		}
		positions := map[string]bool{}
		var ids []string
		for rows.Next() {
			var id, pos string
			if err := rows.Scan(&id, &pos); err != nil {
				_ = rows.Close()
				return err
			}
			ids = append(ids, id)
			positions[pos] = true
		}
		_ = rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE payments_notices SET status = 'expired' WHERE id = $1 AND status = 'open'`, id); err != nil {
				return err
			}
		}
		now := s.now()
		for p := range positions {
			if err := refreshPosition(ctx, tx, p, now); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// NodeReceipt records the receipt of a notice paid at the pagoPA node (a
// bank, a post office, a tobacconist, the IO app): once per receipt id; it
// settles the node's activation holding the notice, or an attempt of its
// own when none does (the activation expired, or none was made); a notice
// paid before is recorded for a refund. mismatch reports a receipt for
// another amount, recorded in the ledger and not settled.
func (s *Service) NodeReceipt(ctx context.Context, caller string, n *Notice, receiptID string, amount int64, psp string, paidAt time.Time) (mismatch bool, err error) {
	gw := "node:" + caller
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO payments_notifications (gateway, id, attempt_id, outcome, received_at) VALUES ($1, $2, '', 'paid', $3)
			ON CONFLICT (gateway, id) DO NOTHING`, gw, receiptID, s.now())
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil // this receipt was recorded before
		}
		var status, attempt string
		if err := tx.QueryRowContext(ctx, `SELECT status, COALESCE(attempt_id, '') FROM payments_notices WHERE id = $1`+s.DB.ForUpdate(), n.ID).
			Scan(&status, &attempt); err != nil {
			return err
		}
		var channel, astatus string
		if attempt != "" {
			if err := tx.QueryRowContext(ctx, `SELECT channel, status FROM payments_attempts WHERE id = $1`, attempt).Scan(&channel, &astatus); err != nil {
				return err
			}
		}
		if status != StatusInPayment || channel != "node" || astatus != AttemptInPayment {
			// No activation of the node holds it (it expired, or the
			// notice was paid at a counter without one): an attempt of
			// its own, settled at once. Its amount is the notice's, not
			// the receipt's, so that a receipt for another amount is a
			// discrepancy here too.
			now := s.now()
			attempt = tokens.ID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO payments_attempts (id, debtor_cf, idempotency_key, channel, gateway, amount, status, created_at, expires_at)
				VALUES ($1, $2, $3, 'node', $4, $5, 'in_payment', $6, $6)`, attempt, n.DebtorCF, gw+":receipt:"+receiptID, gw, n.Amount, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO payments_attempt_notices (attempt_id, notice_id, amount) VALUES ($1, $2, $3)`, attempt, n.ID, n.Amount); err != nil {
				return err
			}
		}
		st, err := s.settleTx(ctx, tx, Payment{AttemptID: attempt, Amount: amount, PSP: psp, PSPRef: receiptID, PaidAt: paidAt}, gw)
		if st != nil && st.Mismatch {
			mismatch = true
		}
		return err
	})
	return mismatch, err
}
