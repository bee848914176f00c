package payments

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Report is the daily balancing of one day (Europe/Rome): the receipts
// recorded that day against the ledger's settlements, and the checks that
// every paid notice has one receipt and every receipt one paid notice.
type Report struct {
	Day      string
	Receipts []Receipt
	// Total is the receipts' sum; Ledger the sum of the day's settlements
	// in the ledger (as a positive amount).
	Total, Ledger     int64
	LedgerSettlements int
	// Checks are the balancing's checks, each with what it found.
	Checks []Check
	// Discrepancies are the events the finance office must act on:
	// payments that found their notice already paid (refunds), amounts
	// that did not match, attempts left in payment.
	Discrepancies []Discrepancy
}

// Check is one balancing check.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Discrepancy is an event to act on.
type Discrepancy struct {
	At                        time.Time
	Kind                      string
	Position, Notice, Attempt string
	Amount                    int64
	Detail                    string
}

// Balanced reports whether every check passed.
func (r *Report) Balanced() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// DailyReport balances the day (YYYY-MM-DD, Europe/Rome).
func (s *Service) DailyReport(ctx context.Context, day string) (*Report, error) {
	start, err := time.ParseInLocation(dateLayout, day, rome())
	if err != nil {
		return nil, fmt.Errorf("payments: day %q: %w", day, err)
	}
	from, to := start.UTC(), start.AddDate(0, 0, 1).UTC()
	r := &Report{Day: day}
	if r.Receipts, err = s.receipts(ctx, `WHERE r.recorded_at >= $1 AND r.recorded_at < $2 ORDER BY r.recorded_at, r.id`, from, to); err != nil {
		return nil, err
	}
	for _, rc := range r.Receipts {
		r.Total += rc.Amount
	}
	var ledgerSum int64
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(-SUM(amount), 0) FROM payments_ledger WHERE event = 'payment.settled' AND at >= $1 AND at < $2`, from, to).
		Scan(&r.LedgerSettlements, &ledgerSum); err != nil {
		return nil, err
	}
	r.Ledger = ledgerSum
	count := func(q string, args ...any) (int, error) {
		var n int
		err := s.DB.QueryRowContext(ctx, q, args...).Scan(&n)
		return n, err
	}
	paidNoReceipt, err := count(`SELECT COUNT(*) FROM payments_notices n WHERE n.status = 'paid' AND NOT EXISTS (SELECT 1 FROM payments_receipts r WHERE r.notice_id = n.id)`)
	if err != nil {
		return nil, err
	}
	receiptNotPaid, err := count(`SELECT COUNT(*) FROM payments_receipts r JOIN payments_notices n ON n.id = r.notice_id WHERE n.status <> 'paid'`)
	if err != nil {
		return nil, err
	}
	receiptWrongPosition, err := count(`SELECT COUNT(*) FROM payments_receipts r JOIN payments_notices n ON n.id = r.notice_id WHERE n.position_id <> r.position_id OR n.amount <> r.amount`)
	if err != nil {
		return nil, err
	}
	positionsOff, err := count(`SELECT COUNT(*) FROM payments_positions p WHERE p.paid_amount <> (SELECT COALESCE(SUM(r.amount), 0) FROM payments_receipts r WHERE r.position_id = p.id)`)
	if err != nil {
		return nil, err
	}
	r.Checks = []Check{
		{Name: "paid notices without a receipt", OK: paidNoReceipt == 0, Detail: strconv.Itoa(paidNoReceipt)},
		{Name: "receipts of a notice not paid", OK: receiptNotPaid == 0, Detail: strconv.Itoa(receiptNotPaid)},
		{Name: "receipts not matching their notice's position or amount", OK: receiptWrongPosition == 0, Detail: strconv.Itoa(receiptWrongPosition)},
		{Name: "positions whose paid amount is not their receipts' sum", OK: positionsOff == 0, Detail: strconv.Itoa(positionsOff)},
		{Name: "receipts of the day against the ledger's settlements", OK: r.LedgerSettlements == len(r.Receipts) && r.Ledger == r.Total,
			Detail: fmt.Sprintf("%d receipts, %s; %d settlements, %s", len(r.Receipts), EuroDot(r.Total), r.LedgerSettlements, EuroDot(r.Ledger))},
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT at, event, position_id, notice_id, attempt_id, amount, detail FROM payments_ledger
		WHERE event IN ('payment.duplicate', 'payment.amount_mismatch') AND at >= $1 AND at < $2 ORDER BY at, id`, from, to)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var d Discrepancy
		if err := rows.Scan(&d.At, &d.Kind, &d.Position, &d.Notice, &d.Attempt, &d.Amount, &d.Detail); err != nil {
			_ = rows.Close()
			return nil, err
		}
		d.Amount = -d.Amount
		r.Discrepancies = append(r.Discrepancies, d)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	stuck, err := s.DB.QueryContext(ctx, `SELECT id, created_at, amount FROM payments_attempts WHERE status = 'in_payment' AND expires_at < $1 ORDER BY created_at LIMIT 200`,
		s.now().Add(-AttemptTTL))
	if err != nil {
		return nil, err
	}
	defer stuck.Close()
	for stuck.Next() {
		var d Discrepancy
		if err := stuck.Scan(&d.Attempt, &d.At, &d.Amount); err != nil {
			return nil, err
		}
		d.Kind, d.Detail = "attempt.stuck", "in payment past its expiry: reconciliation has not settled it"
		r.Discrepancies = append(r.Discrepancies, d)
	}
	return r, stuck.Err()
}

// WriteCSV writes the report for the finance office: the day's receipts,
// the totals, the checks and the discrepancies, one kind per line.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"tipo", "data", "ricevuta", "codice_avviso", "posizione", "categoria", "importo_euro", "canale", "psp", "id_psp", "esito", "nota"})
	for _, rc := range r.Receipts {
		_ = cw.Write([]string{"ricevuta", rc.RecordedAt.In(rome()).Format(time.RFC3339), rc.ID, rc.Number, rc.PositionID, string(rc.Category), EuroDot(rc.Amount),
			rc.Channel, csvSafe(rc.PSP), csvSafe(rc.PSPRef), "", ""})
	}
	_ = cw.Write([]string{"totale", r.Day, "", "", "", "", EuroDot(r.Total), "", "", "", "", fmt.Sprintf("%d ricevute", len(r.Receipts))})
	_ = cw.Write([]string{"registro", r.Day, "", "", "", "", EuroDot(r.Ledger), "", "", "", "", fmt.Sprintf("%d incassi nel registro", r.LedgerSettlements)})
	for _, c := range r.Checks {
		res := "ok"
		if !c.OK {
			res = "DIFFERENZA"
		}
		_ = cw.Write([]string{"controllo", r.Day, "", "", "", "", "", "", "", "", res, c.Name + ": " + c.Detail})
	}
	for _, d := range r.Discrepancies {
		_ = cw.Write([]string{d.Kind, d.At.In(rome()).Format(time.RFC3339), "", "", d.Position, "", EuroDot(d.Amount), "", "", d.Attempt, "da verificare", csvSafe(d.Detail)})
	}
	res := "QUADRA"
	if !r.Balanced() {
		res = "NON QUADRA"
	}
	_ = cw.Write([]string{"esito", r.Day, "", "", "", "", "", "", "", "", res, ""})
	cw.Flush()
	return cw.Error()
}
