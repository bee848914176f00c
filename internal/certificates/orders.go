package certificates

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/area"
	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/token"
)

// A certificate that bears the stamp duty is ordered, not issued: the
// order and the duty's bill (a pagoPA notice of StampDutyAmount) are
// written in one transaction, and the certificate is sealed only when the
// payments feature says the bill is paid (Store.Settle, run when the
// resident opens the page and by a job every minute). The certificate then
// states the register's data on the day it is sealed, as any certificate
// does, and prints the notice that paid its duty. An order whose bill is
// cancelled or expires is void; one the register no longer allows when it
// is paid (the holder left the town meanwhile) is refused with the reason,
// and the registry office refunds the duty (the audit log names it).

// StampDutyAmount is the stamp duty on a certificate, in euro cents (DPR
// 642/1972, Tariffa parte I, art. 4: 16 euros since 2013).
const StampDutyAmount = 1600

// DutyNorm is the legal ground of the duty, printed on the certificate.
const DutyNorm = "DPR 642/1972, Tariffa parte I, art. 4"

// DutyDays is how long the duty's notice may be paid; after it the order
// is void.
const DutyDays = 30

// MaxOpenOrders is how many unpaid orders a holder may have at once: each
// is a notice of the town's, so they are bounded like the issues a day.
const MaxOpenOrders = 5

// Payments is what certificates need of the payments feature: the duty's
// bill, made in the order's own transaction, and later the state of the
// bills it made.
type Payments interface {
	BillDuty(ctx context.Context, tx *sql.Tx, d Duty) (DutyNotice, error)
	// DutyStatuses gives, for the external ids of bills this feature
	// made, "open", "in_payment", "paid", "cancelled" or "expired".
	DutyStatuses(ctx context.Context, externalIDs []string) (map[string]string, error)
}

// Duty is the stamp duty's bill for one order.
type Duty struct {
	DebtorCF, DebtorName, Reason string
	Year                         int
	Amount                       int64
	DueDate                      string
	ExternalID                   string
}

// DutyNotice is the notice that pays it.
type DutyNotice struct{ ID, Number string }

// Order statuses.
const (
	OrderAwaiting = "awaiting"
	OrderIssued   = "issued"
	OrderRefused  = "refused"
	OrderVoid     = "void"
)

// Order is a certificate waiting for its stamp duty, or what became of it.
type Order struct {
	ID, Holder, AccountID  string
	Kind                   Kind
	Disclosure             Disclosure
	NoticeID, NoticeNumber string
	Status                 string
	CertificateID, Reason  string
	CreatedAt              time.Time
	ClosedAt               *time.Time
}

func dutyExternalID(orderID string) string { return "certificate-order:" + orderID }

var errOrdersOpen = problem.New(problem.Conflict, "certificates.error.orders_open", errors.New("certificates: too many unpaid orders"))

// Order records a certificate that bears the stamp duty and bills the
// duty, in one transaction with its audit entry. The register is checked
// now, so that nobody pays for a certificate that cannot be issued.
func (s *Store) Order(ctx context.Context, req Request) (*Order, error) {
	bad := problem.Fields{}
	if !req.Kind.Valid() {
		bad["kind"] = "certificates.error.kind"
	}
	if req.Use != StampDuty || s.Payments == nil {
		bad["use"] = "certificates.error.stamp_duty"
	}
	if !req.Disclosure.valid() {
		bad["disclosure"] = "certificates.error.disclosure"
	}
	if len(bad) > 0 {
		return nil, bad
	}
	p, err := s.certifiable(ctx, req.FiscalCode, req.Kind)
	if err != nil {
		return nil, err
	}
	now := s.now().Truncate(time.Second)
	o := &Order{ID: token.ID(), Holder: req.FiscalCode, AccountID: req.AccountID, Kind: req.Kind, Disclosure: req.Disclosure,
		Status: OrderAwaiting, CreatedAt: now}
	due := now.In(hours.Rome).AddDate(0, 0, DutyDays).Format(time.DateOnly)
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if s.Limiter != nil {
			if err := s.Limiter.Take(ctx, tx, throttle.Key{Name: "certificates:issue:" + req.AccountID, Rule: IssueBudget}); err != nil {
				return throttled(err)
			}
		}
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM certificate_orders WHERE holder = $1 AND status = $2`, o.Holder, OrderAwaiting).Scan(&open); err != nil {
			return err
		}
		if open >= MaxOpenOrders {
			return errOrdersOpen
		}
		n, err := s.Payments.BillDuty(ctx, tx, Duty{DebtorCF: o.Holder, DebtorName: p.GivenName + " " + p.FamilyName,
			Reason: "Imposta di bollo, " + kindName[o.Kind], Year: now.In(hours.Rome).Year(), Amount: StampDutyAmount, DueDate: due,
			ExternalID: dutyExternalID(o.ID)})
		if err != nil {
			return err
		}
		o.NoticeID, o.NoticeNumber = n.ID, n.Number
		if _, err := tx.ExecContext(ctx, `INSERT INTO certificate_orders (id, holder, account_id, kind, disclosure, notice_id, notice_number, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, o.ID, o.Holder, o.AccountID, string(o.Kind), string(o.Disclosure), o.NoticeID, o.NoticeNumber,
			OrderAwaiting, now); err != nil {
			return err
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "user:" + req.AccountID, Action: "certificates.ordered", Subject: "certificate-order:" + o.ID,
			Remote: req.Remote, Details: map[string]string{"kind": string(o.Kind), "notice": o.NoticeNumber}})
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// kindName names a kind in a bill's reason (Italian, as notices are).
var kindName = map[Kind]string{Residence: "certificato di residenza", FamilyStatus: "certificato di stato di famiglia", Birth: "certificato di nascita"}

const selectOrder = `SELECT id, holder, account_id, kind, disclosure, notice_id, notice_number, status, certificate_id, reason, created_at, closed_at FROM certificate_orders`

func scanOrder(row interface{ Scan(...any) error }) (*Order, error) {
	var o Order
	var cert sql.NullString
	var closed sql.NullTime
	if err := row.Scan(&o.ID, &o.Holder, &o.AccountID, &o.Kind, &o.Disclosure, &o.NoticeID, &o.NoticeNumber, &o.Status, &cert, &o.Reason, &o.CreatedAt, &closed); err != nil {
		return nil, err
	}
	o.CertificateID = cert.String
	o.CreatedAt = o.CreatedAt.UTC()
	if closed.Valid {
		t := closed.Time.UTC()
		o.ClosedAt = &t
	}
	return &o, nil
}

func (s *Store) orders(ctx context.Context, q string, args ...any) ([]*Order, error) {
	rows, err := s.DB.QueryContext(ctx, selectOrder+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OpenOrders are the holder's orders that are not issued: those waiting
// for the duty, and those refused or void in the last 30 days (so the
// resident reads why), newest first.
func (s *Store) OpenOrders(ctx context.Context, holder string) ([]*Order, error) {
	if holder == "" {
		return nil, nil
	}
	return s.orders(ctx, ` WHERE holder = $1 AND (status = $2 OR (status IN ($3, $4) AND closed_at > $5)) ORDER BY created_at DESC, id LIMIT 20`,
		holder, OrderAwaiting, OrderRefused, OrderVoid, s.now().AddDate(0, 0, -30))
}

// OrdersOf are every order of holder, oldest first, for the download of
// their data: a holder has at most MaxOpenOrders waiting, and each closed
// one was a notice they paid or let lapse.
func (s *Store) OrdersOf(ctx context.Context, holder string) ([]*Order, error) {
	if holder == "" {
		return nil, nil
	}
	return s.orders(ctx, ` WHERE holder = $1 ORDER BY created_at, notice_number`, holder) // notice numbers come from a sequence
}

// settleBatch is how many waiting orders one pass of Settle looks at.
const settleBatch = 200

// Settle seals the certificates whose duty is paid and closes the orders
// whose bill was cancelled or expired: of holder's orders, or of everyone's
// (holder ""), the oldest settleBatch first. It returns how many it issued.
// Each order is settled in its own transaction, guarded by its status, so
// two passes at once (the page and the job, two processes) issue one
// certificate.
func (s *Store) Settle(ctx context.Context, holder string) (int, error) {
	if s.Payments == nil {
		return 0, nil
	}
	q, args := ` WHERE status = $1 ORDER BY created_at, id LIMIT `+strconv.Itoa(settleBatch), []any{OrderAwaiting}
	if holder != "" {
		q, args = ` WHERE holder = $1 AND status = $2 ORDER BY created_at, id LIMIT `+strconv.Itoa(settleBatch), []any{holder, OrderAwaiting}
	}
	list, err := s.orders(ctx, q, args...)
	if err != nil || len(list) == 0 {
		return 0, err
	}
	ids := make([]string, len(list))
	for i, o := range list {
		ids[i] = dutyExternalID(o.ID)
	}
	st, err := s.Payments.DutyStatuses(ctx, ids)
	if err != nil {
		return 0, err
	}
	issued := 0
	var errs []error
	for _, o := range list {
		switch st[dutyExternalID(o.ID)] {
		case "paid":
			ok, err := s.issueOrder(ctx, o)
			if err != nil {
				errs = append(errs, fmt.Errorf("order %s: %w", o.ID, err))
			} else if ok {
				issued++
			}
		case "cancelled", "expired":
			if err := s.closeOrder(ctx, o, OrderVoid, "certificates.order.void"); err != nil {
				errs = append(errs, fmt.Errorf("order %s: %w", o.ID, err))
			}
		}
	}
	return issued, errors.Join(errs...)
}

// errSettled: another pass settled the order first.
var errSettled = errors.New("certificates: the order was settled meanwhile")

// issueOrder seals the paid order's certificate. It reports false when
// another pass settled it first.
func (s *Store) issueOrder(ctx context.Context, o *Order) (bool, error) {
	cert, err := s.seal(ctx, Request{AccountID: o.AccountID, FiscalCode: o.Holder, Kind: o.Kind, Disclosure: o.Disclosure},
		Exemption{ID: StampDuty, Norm: DutyNorm}, o.NoticeNumber)
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Kind == problem.Conflict {
		// The register no longer allows it: the duty is refunded.
		return false, s.closeOrder(ctx, o, OrderRefused, pe.Message)
	}
	if err != nil {
		return false, err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, cert); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE certificate_orders SET status = $1, certificate_id = $2, closed_at = $3 WHERE id = $4 AND status = $5`,
			OrderIssued, cert.ID, cert.IssuedAt, o.ID, OrderAwaiting)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errSettled
		}
		if err := s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "certificates.issued", Subject: "certificate:" + cert.ID,
			Details: map[string]string{"kind": string(cert.Kind), "use": StampDuty, "key": cert.KeyID, "order": o.ID, "notice": o.NoticeNumber}}); err != nil {
			return err
		}
		return s.tellReady(ctx, tx, o, cert)
	})
	if errors.Is(err, errSettled) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) closeOrder(ctx context.Context, o *Order, status, reason string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE certificate_orders SET status = $1, reason = $2, closed_at = $3 WHERE id = $4 AND status = $5`,
			status, reason, s.now(), o.ID, OrderAwaiting)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		details := map[string]string{"notice": o.NoticeNumber, "reason": reason}
		if status == OrderRefused {
			details["refund"] = strconv.Itoa(StampDutyAmount)
		}
		return s.Audit.Write(ctx, tx, audit.Entry{Actor: "system", Action: "certificates.order_" + status, Subject: "certificate-order:" + o.ID, Details: details})
	})
}

// tellReady posts to the holder's inbox in the personal area, in tx,
// that the certificate is ready (the inbox announces it by mail, without
// its content); nothing when the feature has no inbox.
func (s *Store) tellReady(ctx context.Context, tx *sql.Tx, o *Order, c *Certificate) error {
	if s.Inbox == nil {
		return nil
	}
	_, err := s.Inbox.Post(ctx, tx, o.AccountID, area.Message{Sender: "certificates", Category: "certificates.area",
		Subject: "Il tuo " + kindName[c.Kind] + " è pronto",
		Body: "Abbiamo ricevuto il pagamento dell'imposta di bollo (avviso n. " + o.NoticeNumber + ") e rilasciato il tuo " + kindName[c.Kind] +
			".\n\nLo trovi tra i tuoi certificati, da scaricare in PDF.",
		Link: AreaPath + "/" + c.ID})
	return err
}

// insert writes a sealed certificate in tx.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, c *Certificate) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO certificates (id, holder, account_id, kind, content, key_id, signature, disclosure, issued_at, valid_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, c.ID, c.Holder, c.AccountID, string(c.Kind), string(c.Canonical), c.KeyID,
		base64.StdEncoding.EncodeToString(c.Signature), string(c.Disclosure), c.IssuedAt, c.ValidUntil)
	return err
}
