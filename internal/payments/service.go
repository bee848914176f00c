package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/jobs"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/problem"
	tokens "github.com/civico-pa/civico/internal/token"
	"github.com/civico-pa/civico/internal/town"
)

// Service is the payments feature's rules over its tables.
type Service struct {
	DB    *db.DB
	Audit audit.Writer
	// Towns gives the creditor: the town's fiscal code.
	Towns *town.Store
	// Segregation is the town's pagoPA segregation code (two digits).
	Segregation string
	// Gateway takes checkouts; nil: online payment is off.
	Gateway Gateway
	Log     *slog.Logger
	Now     func() time.Time
	// Jobs queues the back office's imports (Accept); nil on the command
	// line, which runs its imports itself.
	Jobs jobs.Enqueuer

	// running is the progress of the imports this process runs.
	running progress
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Creditor is the town's fiscal code, the creditor of every notice.
func (s *Service) Creditor(ctx context.Context) (string, error) {
	p, err := s.Towns.Get(ctx)
	if err != nil {
		return "", err
	}
	return p.FiscalCode, nil
}

// Actor is who does something, for the ledger and the audit log.
type Actor struct {
	// Name is "operator:<id>", "user:<id>", "cli", "system", "node:<caller>".
	Name   string
	Remote string
}

// ledger appends a money event in tx.
func ledger(ctx context.Context, tx *sql.Tx, at time.Time, event, position, notice, attempt string, amount int64, actor, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payments_ledger (at, event, position_id, notice_id, attempt_id, amount, actor, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, at, event, position, notice, attempt, amount, actor, detail)
	return err
}

// Create records a position and its notices, numbering each notice from
// the database's sequence, in one transaction with its ledger entry.
func (s *Service) Create(ctx context.Context, in NewPosition, by Actor) (*Position, error) {
	var p *Position
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = s.CreateTx(ctx, tx, in, by)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// CreateTx is Create inside the caller's transaction (an import of many
// positions, or another feature's own transaction: Bill).
func (s *Service) CreateTx(ctx context.Context, tx *sql.Tx, in NewPosition, by Actor) (*Position, error) {
	if fe := in.Validate(); fe != nil {
		return nil, fe
	}
	if !pagopa.ValidSegregationCode(s.Segregation) {
		return nil, fmt.Errorf("payments: the segregation code %q is not two digits (CIVICO_PAGOPA_SEGREGATION_CODE)", s.Segregation)
	}
	creditor, err := s.Creditor(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if in.Source == "" {
		in.Source = "backoffice"
	}
	p := &Position{ID: tokens.ID(), DebtorCF: in.DebtorCF, DebtorName: in.DebtorName, Category: in.Category, Reason: in.Reason, Year: in.Year,
		Amount: in.Amount, Status: StatusOpen, ExternalID: in.ExternalID, Source: in.Source, Detail: in.Detail, CreatedAt: now}
	var ext any
	if in.ExternalID != "" {
		ext = in.ExternalID
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO payments_positions (id, debtor_cf, debtor_name, category, reason, year, amount, paid_amount, status,
		external_id, source, detail, created_by, created_at, updated_at, instalments) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'open', $8, $9, $10, $11, $12, $12, $13)`,
		p.ID, p.DebtorCF, p.DebtorName, string(p.Category), p.Reason, p.Year, p.Amount, ext, p.Source, p.Detail, by.Name, now, len(in.Instalments))
	if err != nil {
		if db.IsUniqueViolation(err) {
			return nil, problem.Fields{"external_id": "payments.error.duplicate"}
		}
		return nil, err
	}
	type want struct {
		seq       int
		amount    int64
		due       string
		transfers []Transfer
	}
	var notices []want
	if len(in.Instalments) == 0 || in.Single {
		notices = append(notices, want{0, in.Amount, in.DueDate, in.Transfers})
	}
	for i, inst := range in.Instalments {
		notices = append(notices, want{i + 1, inst.Amount, inst.DueDate, inst.Transfers})
	}
	for _, w := range notices {
		base, err := s.DB.NextVal(ctx, tx, "payments_notice_seq")
		if err != nil {
			return nil, err
		}
		number, err := pagopa.New(s.Segregation, base)
		if err != nil {
			return nil, err
		}
		n := Notice{ID: tokens.ID(), PositionID: p.ID, DebtorCF: p.DebtorCF, Seq: w.seq, Number: number, Amount: w.amount, DueDate: w.due,
			PayableUntil: in.PayableUntil, Status: StatusOpen, Category: p.Category, Reason: p.Reason, Year: p.Year, Instalments: len(in.Instalments)}
		var until any
		if in.PayableUntil != "" {
			until = in.PayableUntil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments_notices (id, position_id, debtor_cf, seq, number, amount, due_date, payable_until, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open')`, n.ID, p.ID, p.DebtorCF, n.Seq, n.Number, n.Amount, n.DueDate, until); err != nil {
			return nil, err
		}
		ts := w.transfers
		if len(ts) == 0 {
			ts = []Transfer{{CreditorCF: creditor, Amount: w.amount}}
		}
		for i := range ts {
			ts[i].Seq = i + 1
			if ts[i].Remittance == "" {
				ts[i].Remittance = remittance(p.Reason)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO payments_transfers (notice_id, seq, creditor_cf, iban, amount, remittance, metadata)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, n.ID, ts[i].Seq, ts[i].CreditorCF, ts[i].IBAN, ts[i].Amount, ts[i].Remittance, ts[i].Metadata); err != nil {
				return nil, err
			}
		}
		n.Transfers = ts
		p.Notices = append(p.Notices, n)
	}
	if err := ledger(ctx, tx, now, "position.created", p.ID, "", "", p.Amount, by.Name, string(p.Category)+" "+p.Source); err != nil {
		return nil, err
	}
	// An import is audited once, for all its positions.
	if s.Audit != nil && strings.HasPrefix(by.Name, "operator:") && p.Source != "import" {
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: by.Name, Action: "payments.position.created", Subject: "position:" + p.ID, Remote: by.Remote,
			Details: map[string]string{"amount": EuroDot(p.Amount), "category": string(p.Category)}}); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// remittance is a transfer's remittance information: pagoPA's 140 characters.
func remittance(reason string) string {
	r := []rune(reason)
	if len(r) > 140 {
		r = r[:140]
	}
	return string(r)
}

// Cancel cancels a position that nothing was paid on, with a reason: its
// open notices can no longer be paid. A position in payment waits for its
// attempt to end.
func (s *Service) Cancel(ctx context.Context, id, reason string, by Actor) error {
	reason = strings.TrimSpace(reason)
	if n := len([]rune(reason)); n < 5 || n > 500 {
		return problem.Fields{"reason": "payments.error.cancel_reason"}
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var status string
		var amount, paid int64
		err := tx.QueryRowContext(ctx, `SELECT status, amount, paid_amount FROM payments_positions WHERE id = $1`+s.DB.ForUpdate(), id).Scan(&status, &amount, &paid)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if status != StatusOpen && status != StatusExpired || paid > 0 {
			return problem.New(problem.Conflict, "payments.error.cancel_state", fmt.Errorf("position %s is %s, %d paid", id, status, paid))
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE payments_positions SET status = 'cancelled', cancel_reason = $1, updated_at = $2 WHERE id = $3`, reason, now, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payments_notices SET status = 'cancelled' WHERE position_id = $1 AND status IN ('open', 'expired')`, id); err != nil {
			return err
		}
		if err := ledger(ctx, tx, now, "position.cancelled", id, "", "", -amount, by.Name, reason); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: by.Name, Action: "payments.position.cancelled", Subject: "position:" + id, Remote: by.Remote,
			Details: map[string]string{"reason": reason}})
	})
}

// refreshPosition recomputes a position's paid amount and status from its
// notices, in tx.
func refreshPosition(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT status, amount FROM payments_notices WHERE position_id = $1`, id)
	if err != nil {
		return err
	}
	var paid int64
	var open, inPayment, expired, cancelled, total int
	for rows.Next() {
		var st string
		var amount int64
		if err := rows.Scan(&st, &amount); err != nil {
			_ = rows.Close()
			return err
		}
		total++
		switch st {
		case StatusPaid:
			paid += amount
		case StatusOpen:
			open++
		case StatusInPayment:
			inPayment++
		case StatusExpired:
			expired++
		case StatusCancelled:
			cancelled++
		}
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var status string
	switch {
	case inPayment > 0:
		status = StatusInPayment
	case open > 0:
		status = StatusOpen
	case expired > 0:
		status = StatusExpired
	case cancelled == total:
		status = StatusCancelled
	default:
		status = StatusPaid
	}
	_, err = tx.ExecContext(ctx, `UPDATE payments_positions SET paid_amount = $1, status = $2, updated_at = $3 WHERE id = $4 AND status <> 'cancelled'`,
		paid, status, now, id)
	return err
}
