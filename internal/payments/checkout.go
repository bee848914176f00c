package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
)

// Attempt is a payment attempt: a checkout or a node activation.
type Attempt struct {
	ID, DebtorCF, IdempotencyKey, Channel, Gateway, GatewayRef, RedirectURL string
	Amount                                                                  int64
	Status                                                                  string
	Outcome                                                                 Outcome
	CreatedAt, ExpiresAt                                                    time.Time
	Notices                                                                 []string // notice ids
}

// Attempt statuses.
const (
	AttemptInPayment = "in_payment"
	AttemptPaid      = "paid"
	AttemptReleased  = "released"
)

// Checkout starts paying notices of one debtor together: in one
// transaction it checks that each is theirs and payable, locks them to a
// new attempt and records it; then it asks the gateway for a payment page.
// key is the idempotency key of the resident's form: the same key gives
// the same attempt back (a second click, a reload), whatever happened to
// the first request.
//
// returnBase is the portal's address the resident is sent back to (the
// outcome page of the attempt); notifyURL where the gateway notifies.
func (s *Service) Checkout(ctx context.Context, debtorCF string, noticeIDs []string, key, returnBase, notifyURL string, by Actor) (*Attempt, error) {
	if s.Gateway == nil {
		return nil, ErrGateway
	}
	if key == "" || len(key) > 100 {
		return nil, problem.New(problem.Invalid, "payments.error.form_expired", errors.New("payments: no idempotency key"))
	}
	ids := dedupe(noticeIDs)
	if len(ids) == 0 {
		return nil, problem.Fields{"notice": "payments.error.choose"}
	}
	if len(ids) > MaxCheckout {
		return nil, problem.Fields{"notice": "payments.error.too_many"}
	}
	a, existed, err := s.lock(ctx, debtorCF, ids, "checkout", s.Gateway.Name(), debtorCF+":"+key, by)
	if err != nil {
		return nil, err
	}
	if existed && (a.RedirectURL != "" || a.Status != AttemptInPayment) {
		return a, nil
	}
	desc, err := s.describe(ctx, a)
	if err != nil {
		return nil, err
	}
	started, err := s.Gateway.Start(ctx, StartRequest{AttemptID: a.ID, Amount: a.Amount, Description: desc, Notices: a.Notices,
		ReturnURL: returnURL(returnBase, a.ID), NotifyURL: notifyURL, ExpiresAt: a.ExpiresAt})
	if err != nil {
		// The gateway never took it: the notices are payable again.
		s.log().Warn("payments: the gateway refused to start a payment", "attempt", a.ID, "err", err)
		if rerr := s.release(ctx, a.ID, OutcomeUnknown, "system", "gateway start failed"); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("%w: %v", ErrGateway, err)
	}
	if _, err := s.DB.ExecContext(ctx, `UPDATE payments_attempts SET gateway_ref = $1, redirect_url = $2 WHERE id = $3 AND gateway_ref = ''`,
		started.Ref, started.RedirectURL, a.ID); err != nil {
		return nil, err
	}
	a.GatewayRef, a.RedirectURL = started.Ref, started.RedirectURL
	return a, nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Service) describe(ctx context.Context, a *Attempt) (string, error) {
	var parts []string
	for _, id := range a.Notices {
		var reason, number string
		if err := s.DB.QueryRowContext(ctx, `SELECT p.reason, n.number FROM payments_notices n JOIN payments_positions p ON p.id = n.position_id WHERE n.id = $1`, id).
			Scan(&reason, &number); err != nil {
			return "", err
		}
		parts = append(parts, reason+" ("+number+")")
	}
	return strings.Join(parts, "; "), nil
}

// lock is the transaction that makes an attempt: the notices, read with
// their owner and locked, must all be payable; the single payment of a
// position cannot go with its instalments, nor while one is paid or in
// payment. An existing attempt with the same idempotency key is returned
// as it is.
func (s *Service) lock(ctx context.Context, debtorCF string, ids []string, channel, gateway, key string, by Actor) (*Attempt, bool, error) {
	var a *Attempt
	existed := false
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := attemptByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		if old != nil {
			if old.DebtorCF != debtorCF {
				return ErrNotFound
			}
			a, existed = old, true
			return nil
		}
		now := s.now()
		today := now.In(hours.Rome).Format(dateLayout)
		a = &Attempt{ID: tokens.ID(), DebtorCF: debtorCF, IdempotencyKey: key, Channel: channel, Gateway: gateway, Status: AttemptInPayment,
			CreatedAt: now, ExpiresAt: now.Add(AttemptTTL), Notices: ids}
		positions := map[string][]int{}
		amounts := map[string]int64{}
		for _, id := range ids {
			var pos, status, until string
			var seq int
			var amount int64
			var untilN sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT position_id, seq, status, amount, payable_until FROM payments_notices WHERE id = $1 AND debtor_cf = $2`+s.DB.ForUpdate(),
				id, debtorCF).Scan(&pos, &seq, &status, &amount, &untilN)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			until = untilN.String
			if status != StatusOpen || (until != "" && until < today) {
				return ErrNotPayable
			}
			positions[pos] = append(positions[pos], seq)
			amounts[id] = amount
			a.Amount += amount
		}
		// The position's row is the lock between its single payment and
		// its instalments (other rows than the ones just locked): taken
		// after the notices, as settlement does, in one order.
		order := make([]string, 0, len(positions))
		for pos := range positions {
			order = append(order, pos)
		}
		sort.Strings(order)
		for _, pos := range order {
			var id string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM payments_positions WHERE id = $1`+s.DB.ForUpdate(), pos).Scan(&id); err != nil {
				return err
			}
		}
		for _, pos := range order {
			seqs := positions[pos]
			single := false
			for _, q := range seqs {
				single = single || q == 0
			}
			if !single {
				// An instalment: the position's single payment must not be
				// paid or in payment.
				var busy int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_notices WHERE position_id = $1 AND seq = 0 AND status IN ('in_payment', 'paid')`, pos).
					Scan(&busy); err != nil {
					return err
				}
				if busy > 0 {
					return ErrNotPayable
				}
				continue
			}
			if len(seqs) > 1 {
				return ErrSiblings
			}
			// The single payment: no instalment may be paid or in payment.
			var busy int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_notices WHERE position_id = $1 AND seq > 0 AND status IN ('in_payment', 'paid')`, pos).
				Scan(&busy); err != nil {
				return err
			}
			if busy > 0 {
				return ErrNotPayable
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments_attempts (id, debtor_cf, idempotency_key, channel, gateway, amount, status, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'in_payment', $7, $8)`, a.ID, debtorCF, key, channel, gateway, a.Amount, now, a.ExpiresAt); err != nil {
			if db.IsUniqueViolation(err) {
				// The same key by a concurrent request: its attempt wins.
				return errSameKey
			}
			return err
		}
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `UPDATE payments_notices SET status = 'in_payment', attempt_id = $1 WHERE id = $2 AND status = 'open'`, a.ID, id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return ErrNotPayable
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO payments_attempt_notices (attempt_id, notice_id, amount) VALUES ($1, $2, $3)`, a.ID, id, amounts[id]); err != nil {
				return err
			}
		}
		for pos := range positions {
			if err := refreshPosition(ctx, tx, pos, now); err != nil {
				return err
			}
		}
		if err := ledger(ctx, tx, now, "attempt.started", "", "", a.ID, 0, by.Name, fmt.Sprintf("%s %s, %d notices, %s", channel, gateway, len(ids), EuroDot(a.Amount))); err != nil {
			return err
		}
		if s.Audit != nil && by.Name != "" && !strings.HasPrefix(by.Name, "node:") {
			return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.Name, Action: "payments.checkout.started", Subject: "attempt:" + a.ID, Remote: by.Remote,
				Details: map[string]string{"amount": EuroDot(a.Amount), "notices": fmt.Sprint(len(ids))}})
		}
		return nil
	})
	if errors.Is(err, ErrNotPayable) || errors.Is(err, errSameKey) {
		// A concurrent request with the same key (a double click) took
		// the notices, or the key, first: its attempt is this one.
		old, rerr := attemptByKey(ctx, s.DB, key)
		if rerr != nil {
			return nil, false, rerr
		}
		if old != nil && old.DebtorCF == debtorCF {
			return old, true, nil
		}
		return nil, false, ErrNotPayable
	}
	if err != nil {
		return nil, false, err
	}
	return a, existed, nil
}

// errSameKey: another request recorded an attempt with the same key.
var errSameKey = errors.New("payments: an attempt with this idempotency key exists")

func attemptByKey(ctx context.Context, q querier, key string) (*Attempt, error) {
	return scanAttempt(ctx, q, `WHERE idempotency_key = $1`, key)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func scanAttempt(ctx context.Context, q querier, where string, args ...any) (*Attempt, error) {
	var a Attempt
	var outcome string
	err := q.QueryRowContext(ctx, `SELECT id, debtor_cf, idempotency_key, channel, gateway, gateway_ref, redirect_url, amount, status, outcome, created_at, expires_at
		FROM payments_attempts `+where, args...).Scan(&a.ID, &a.DebtorCF, &a.IdempotencyKey, &a.Channel, &a.Gateway, &a.GatewayRef, &a.RedirectURL,
		&a.Amount, &a.Status, &outcome, &a.CreatedAt, &a.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a.Outcome = Outcome(outcome)
	rows, err := q.QueryContext(ctx, `SELECT notice_id FROM payments_attempt_notices WHERE attempt_id = $1 ORDER BY notice_id`, a.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		a.Notices = append(a.Notices, id)
	}
	return &a, rows.Err()
}

// AttemptOf is a debtor's attempt (the page the gateway returns to).
func (s *Service) AttemptOf(ctx context.Context, debtorCF, id string) (*Attempt, error) {
	a, err := scanAttempt(ctx, s.DB, `WHERE id = $1 AND debtor_cf = $2`, id, debtorCF)
	if err == nil && a == nil {
		return nil, ErrNotFound
	}
	return a, err
}

// Payment is a gateway's word that an attempt was paid: the notification
// or the answer to a status question.
type Payment struct {
	AttemptID string
	Amount    int64
	PSP       string
	PSPRef    string
	PaidAt    time.Time
}

// Settlement is what a settlement did.
type Settlement struct {
	// Receipts are the receipts it wrote (none when it had been settled
	// before).
	Receipts []string
	// Duplicates are notices found already paid by another payment: their
	// money is to be refunded (ledger payment.duplicate).
	Duplicates []string
	// Mismatch: the payment's amount is not the attempt's; nothing was
	// settled, the ledger records the discrepancy.
	Mismatch bool
}

// Settle records that an attempt was paid, once: the notices become paid
// with a receipt each, their positions are updated, the other ways of
// paying them are voided, and the ledger records it, all in one
// transaction. Settling an attempt already paid does nothing; a payment
// whose amount is not the attempt's is refused and recorded as a
// discrepancy; an attempt released before its payment came is settled all
// the same (the money was taken), and a notice paid meanwhile by another
// payment is recorded for a refund.
func (s *Service) Settle(ctx context.Context, p Payment, actor string) (*Settlement, error) {
	var out *Settlement
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.settleTx(ctx, tx, p, actor)
		return err
	})
	if err == nil && out.Mismatch {
		return out, ErrAmountMismatch
	}
	return out, err
}

// ErrAmountMismatch: a payment for another amount than the attempt's.
var ErrAmountMismatch = problem.New(problem.Conflict, "payments.error.amount_mismatch", errors.New("payments: amount does not match the attempt"))

func (s *Service) settleTx(ctx context.Context, tx *sql.Tx, p Payment, actor string) (*Settlement, error) {
	var status string
	var amount int64
	var debtor, channel string
	err := tx.QueryRowContext(ctx, `SELECT status, amount, debtor_cf, channel FROM payments_attempts WHERE id = $1`+s.DB.ForUpdate(), p.AttemptID).
		Scan(&status, &amount, &debtor, &channel)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := &Settlement{}
	if status == AttemptPaid {
		return out, nil
	}
	now := s.now()
	if p.Amount != amount {
		// Recorded once per payment (the same word again, from a replayed
		// notification under another id or from reconciliation, adds
		// nothing), and the attempt released: its notices are not paid and
		// must not stay locked, or reconciliation would ask, and record,
		// again and again. The money taken is the finance office's to
		// refund.
		detail := fmt.Sprintf("paid %s, attempt %s, %s %s", EuroDot(p.Amount), EuroDot(amount), p.PSP, p.PSPRef)
		var seen int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_ledger WHERE event = 'payment.amount_mismatch' AND attempt_id = $1 AND amount = $2 AND detail = $3`,
			p.AttemptID, -p.Amount, detail).Scan(&seen); err != nil {
			return nil, err
		}
		if seen == 0 {
			if err := ledger(ctx, tx, now, "payment.amount_mismatch", "", "", p.AttemptID, -p.Amount, actor, detail); err != nil {
				return nil, err
			}
		}
		if status == AttemptInPayment {
			if err := s.releaseTx(ctx, tx, p.AttemptID, OutcomeMismatch, actor, "amount mismatch"); err != nil {
				return nil, err
			}
		}
		out.Mismatch = true
		return out, nil
	}
	if p.PaidAt.IsZero() {
		p.PaidAt = now
	}
	rows, err := tx.QueryContext(ctx, `SELECT an.notice_id, an.amount FROM payments_attempt_notices an WHERE an.attempt_id = $1 ORDER BY an.notice_id`, p.AttemptID)
	if err != nil {
		return nil, err
	}
	type item struct {
		id     string
		amount int64
	}
	var items []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.id, &it.amount); err != nil {
			_ = rows.Close()
			return nil, err
		}
		items = append(items, it)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, it := range items {
		rid, dup, err := s.settleNotice(ctx, tx, it.id, p.AttemptID, it.amount, channel, p, actor, now)
		if err != nil {
			return nil, err
		}
		if dup {
			out.Duplicates = append(out.Duplicates, it.id)
		} else {
			out.Receipts = append(out.Receipts, rid)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payments_attempts SET status = 'paid', outcome = 'paid', settled_at = $1 WHERE id = $2`, now, p.AttemptID); err != nil {
		return nil, err
	}
	return out, nil
}

// settleNotice pays one notice of an attempt, or records it as a
// duplicate payment when it cannot be paid any more (paid by another
// payment, voided by a sibling's, cancelled).
func (s *Service) settleNotice(ctx context.Context, tx *sql.Tx, noticeID, attemptID string, amount int64, channel string, p Payment, actor string, now time.Time) (string, bool, error) {
	var pos, status, debtor, category string
	var seq, year int
	err := tx.QueryRowContext(ctx, `SELECT n.position_id, n.status, n.seq, n.debtor_cf, p.category, p.year FROM payments_notices n
		JOIN payments_positions p ON p.id = n.position_id WHERE n.id = $1`+s.DB.ForUpdate(), noticeID).Scan(&pos, &status, &seq, &debtor, &category, &year)
	if err != nil {
		return "", false, err
	}
	if status == StatusPaid || status == StatusVoid || status == StatusCancelled {
		return "", true, ledger(ctx, tx, now, "payment.duplicate", pos, noticeID, attemptID, -amount, actor,
			fmt.Sprintf("notice %s; refund due; %s %s", status, p.PSP, p.PSPRef))
	}
	rid := tokens.ID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO payments_receipts (id, notice_id, position_id, attempt_id, debtor_cf, category, year, amount, channel, psp, psp_ref, paid_at, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, rid, noticeID, pos, attemptID, debtor, category, year, amount, channel, p.PSP, p.PSPRef,
		p.PaidAt.UTC(), now); err != nil {
		return "", false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payments_notices SET status = 'paid', paid_at = $1, attempt_id = $2 WHERE id = $3`, p.PaidAt.UTC(), attemptID, noticeID); err != nil {
		return "", false, err
	}
	// The other ways of paying the same position, also one held by
	// another attempt (this payment came late, after its attempt had been
	// released and a sibling taken): that attempt's payment, if it comes,
	// is a duplicate to refund, and its release leaves the sibling void.
	other := `seq > 0`
	if seq > 0 {
		other = `seq = 0`
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payments_notices SET status = 'void', attempt_id = NULL WHERE position_id = $1 AND `+other+` AND status IN ('open', 'expired', 'in_payment')`, pos); err != nil {
		return "", false, err
	}
	if err := ledger(ctx, tx, now, "payment.settled", pos, noticeID, attemptID, -amount, actor, p.PSP+" "+p.PSPRef); err != nil {
		return "", false, err
	}
	return rid, false, refreshPosition(ctx, tx, pos, now)
}

// Release ends an attempt that was not paid (refused, abandoned, expired):
// its notices are payable again. An attempt already paid or released is
// left as it is.
func (s *Service) Release(ctx context.Context, attemptID string, outcome Outcome, actor string) error {
	return s.release(ctx, attemptID, outcome, actor, "")
}

func (s *Service) release(ctx context.Context, attemptID string, outcome Outcome, actor, detail string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error { return s.releaseTx(ctx, tx, attemptID, outcome, actor, detail) })
}

func (s *Service) releaseTx(ctx context.Context, tx *sql.Tx, attemptID string, outcome Outcome, actor, detail string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM payments_attempts WHERE id = $1`+s.DB.ForUpdate(), attemptID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil || status != AttemptInPayment {
		return err
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `UPDATE payments_attempts SET status = 'released', outcome = $1, settled_at = $2 WHERE id = $3`, string(outcome), now, attemptID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT position_id FROM payments_notices WHERE attempt_id = $1 AND status = 'in_payment'`, attemptID)
	if err != nil {
		return err
	}
	var positions []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			_ = rows.Close()
			return err
		}
		positions = append(positions, p)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payments_notices SET status = 'open', attempt_id = NULL WHERE attempt_id = $1 AND status = 'in_payment'`, attemptID); err != nil {
		return err
	}
	for _, p := range positions {
		if err := refreshPosition(ctx, tx, p, now); err != nil {
			return err
		}
	}
	return ledger(ctx, tx, now, "attempt.released", "", "", attemptID, 0, actor, strings.TrimSpace(string(outcome)+" "+detail))
}
