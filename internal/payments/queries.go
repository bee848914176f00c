package payments

import (
	"context"
	"database/sql"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/pagopa"
	"github.com/civico-pa/civico/internal/web"
)

const noticeColumns = `n.id, n.position_id, n.debtor_cf, n.seq, n.number, n.amount, n.due_date, COALESCE(n.payable_until, ''), n.status,
	COALESCE(n.attempt_id, ''), n.paid_at, p.category, p.reason, p.year, p.instalments`

func scanNotice(rows interface{ Scan(...any) error }) (Notice, error) {
	var n Notice
	var cat string
	var paid sql.NullTime
	err := rows.Scan(&n.ID, &n.PositionID, &n.DebtorCF, &n.Seq, &n.Number, &n.Amount, &n.DueDate, &n.PayableUntil, &n.Status, &n.AttemptID, &paid,
		&cat, &n.Reason, &n.Year, &n.Instalments)
	n.Category = Category(cat)
	if paid.Valid {
		t := paid.Time
		n.PaidAt = &t
	}
	return n, err
}

func (s *Service) notices(ctx context.Context, where string, args ...any) ([]Notice, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+noticeColumns+` FROM payments_notices n JOIN payments_positions p ON p.id = n.position_id `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ToPay are a debtor's notices that wait for them (open, in payment,
// expired), by due date, one page of PerPage, and how many there are. A
// list's notice carries what the list shows: its id, position, number,
// instalment (seq of how many), amount, due date, status and reason, and
// the debtor; the rest of a notice (OwnNotice) is on its own page. Reading
// a column costs about as much as finding a row here (SQLite in Go), so
// the list reads no others.
func (s *Service) ToPay(ctx context.Context, debtorCF string, page int) ([]Notice, int, error) {
	// The page's ids first, from payments_notices_debtor_page in its
	// order; then the columns of those 50 rows only. The count is a
	// column, an uncorrelated subquery the database runs once, and only
	// when the page has a row: a debtor with a full page (500 notices)
	// no longer pays a statement of its own for it.
	const waiting = `debtor_cf = $1 AND status IN ('open', 'in_payment', 'expired')`
	rows, err := s.DB.QueryContext(ctx, `SELECT n.id, n.position_id, n.seq, n.number, n.amount, n.due_date, n.status, p.reason, p.instalments,
		(SELECT COUNT(*) FROM payments_notices WHERE `+waiting+`)
		FROM payments_notices n JOIN payments_positions p ON p.id = n.position_id
		WHERE n.id IN (SELECT id FROM payments_notices WHERE `+waiting+`
		ORDER BY due_date, number LIMIT $2 OFFSET $3) ORDER BY n.due_date, n.number`, debtorCF, PerPage, (max(page, 1)-1)*PerPage)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	list := make([]Notice, 0, PerPage)
	total := 0
	for rows.Next() {
		n := Notice{DebtorCF: debtorCF}
		if err := rows.Scan(&n.ID, &n.PositionID, &n.Seq, &n.Number, &n.Amount, &n.DueDate, &n.Status, &n.Reason, &n.Instalments, &total); err != nil {
			return nil, 0, err
		}
		list = append(list, n)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(list) == 0 && page > 1 {
		// Past the end: the page cannot tell.
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_notices WHERE `+waiting, debtorCF).Scan(&total)
	}
	return list, total, err
}

// OwnNotice is one of a debtor's notices (404 for anyone else's).
func (s *Service) OwnNotice(ctx context.Context, debtorCF, id string) (*Notice, error) {
	list, err := s.notices(ctx, `WHERE n.id = $1 AND n.debtor_cf = $2`, id, debtorCF)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	n := list[0]
	n.Transfers, err = s.transfers(ctx, n.ID)
	return &n, err
}

func (s *Service) transfers(ctx context.Context, noticeID string) ([]Transfer, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT seq, creditor_cf, iban, amount, remittance, metadata FROM payments_transfers WHERE notice_id = $1 ORDER BY seq`, noticeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Transfer
	for rows.Next() {
		var t Transfer
		if err := rows.Scan(&t.Seq, &t.CreditorCF, &t.IBAN, &t.Amount, &t.Remittance, &t.Metadata); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PositionNotices are every notice of a position (the printed notice shows
// the single payment and the instalments together).
func (s *Service) PositionNotices(ctx context.Context, positionID string) ([]Notice, error) {
	return s.notices(ctx, `WHERE n.position_id = $1 ORDER BY n.seq`, positionID)
}

// Receipt is the proof of a paid notice.
type Receipt struct {
	ID, NoticeID, PositionID, AttemptID, DebtorCF string
	Category                                      Category
	Year                                          int
	Amount                                        int64
	Channel, PSP, PSPRef                          string
	PaidAt, RecordedAt                            time.Time
	// From the notice and position.
	Number, Reason, DebtorName string
	Seq                        int
}

const receiptColumns = `r.id, r.notice_id, r.position_id, r.attempt_id, r.debtor_cf, r.category, r.year, r.amount, r.channel, r.psp, r.psp_ref,
	r.paid_at, r.recorded_at, n.number, p.reason, p.debtor_name, n.seq`

func (s *Service) receipts(ctx context.Context, where string, args ...any) ([]Receipt, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+receiptColumns+` FROM payments_receipts r JOIN payments_notices n ON n.id = r.notice_id
		JOIN payments_positions p ON p.id = r.position_id `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Receipt
	for rows.Next() {
		var r Receipt
		var cat string
		if err := rows.Scan(&r.ID, &r.NoticeID, &r.PositionID, &r.AttemptID, &r.DebtorCF, &cat, &r.Year, &r.Amount, &r.Channel, &r.PSP, &r.PSPRef,
			&r.PaidAt, &r.RecordedAt, &r.Number, &r.Reason, &r.DebtorName, &r.Seq); err != nil {
			return nil, err
		}
		r.Category = Category(cat)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Paid are a debtor's receipts, newest first, one page, and their count:
// what the list shows of each (OwnReceipt has the rest).
func (s *Service) Paid(ctx context.Context, debtorCF string, page int) ([]Receipt, int, error) {
	// The page's ids first, from the index in its order; then the columns
	// the list shows (its id, reason, category, amount and day; the rest of
	// a receipt is in its PDF), as ToPay.
	rows, err := s.DB.QueryContext(ctx, `SELECT r.id, r.notice_id, r.category, r.year, r.amount, r.paid_at, p.reason
		FROM payments_receipts r JOIN payments_positions p ON p.id = r.position_id
		WHERE r.id IN (SELECT id FROM payments_receipts WHERE debtor_cf = $1 ORDER BY paid_at DESC, id DESC LIMIT $2 OFFSET $3)
		ORDER BY r.paid_at DESC, r.id DESC`, debtorCF, ReceiptsPerPage, (max(page, 1)-1)*ReceiptsPerPage)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	list := make([]Receipt, 0, ReceiptsPerPage)
	for rows.Next() {
		r := Receipt{DebtorCF: debtorCF}
		var cat string
		if err := rows.Scan(&r.ID, &r.NoticeID, &cat, &r.Year, &r.Amount, &r.PaidAt, &r.Reason); err != nil {
			return nil, 0, err
		}
		r.Category = Category(cat)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	total, known := web.PageTotal(len(list), page, ReceiptsPerPage)
	if !known {
		err = s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_receipts WHERE debtor_cf = $1`, debtorCF).Scan(&total)
	}
	return list, total, err
}

// AllPaid are every receipt of a debtor in a year (0: all years), for the
// statement.
func (s *Service) AllPaid(ctx context.Context, debtorCF string, year int) ([]Receipt, error) {
	if year == 0 {
		return s.receipts(ctx, `WHERE r.debtor_cf = $1 ORDER BY r.paid_at, r.id`, debtorCF)
	}
	return s.receipts(ctx, `WHERE r.debtor_cf = $1 AND r.year = $2 ORDER BY r.paid_at, r.id`, debtorCF, year)
}

// OwnReceipt is one of a debtor's receipts.
func (s *Service) OwnReceipt(ctx context.Context, debtorCF, id string) (*Receipt, error) {
	list, err := s.receipts(ctx, `WHERE r.id = $1 AND r.debtor_cf = $2`, id, debtorCF)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

// ReceiptsOf are the receipts an attempt wrote (the page the resident
// returns to), for its debtor only.
func (s *Service) ReceiptsOf(ctx context.Context, debtorCF, attemptID string) ([]Receipt, error) {
	return s.receipts(ctx, `WHERE r.attempt_id = $1 AND r.debtor_cf = $2 ORDER BY n.number`, attemptID, debtorCF)
}

// Total is what a debtor paid in a year for a category.
type Total struct {
	Year     int
	Category Category
	Amount   int64
	Count    int
}

// Totals are a debtor's payments per year and category, newest year first.
func (s *Service) Totals(ctx context.Context, debtorCF string) ([]Total, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT year, category, SUM(amount), COUNT(*) FROM payments_receipts WHERE debtor_cf = $1
		GROUP BY year, category ORDER BY year DESC, category`, debtorCF)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Total
	for rows.Next() {
		var t Total
		var cat string
		if err := rows.Scan(&t.Year, &cat, &t.Amount, &t.Count); err != nil {
			return nil, err
		}
		t.Category = Category(cat)
		out = append(out, t)
	}
	return out, rows.Err()
}

// Awaiting counts a debtor's notices to pay, and the first few by due date
// (the personal area's panel). A position offered both in one go and in
// instalments waits for one of the two: its instalments are counted, not
// the single payment (the position's page offers both).
func (s *Service) Awaiting(ctx context.Context, debtorCF string, n int) (int, []Notice, error) {
	// One statement: the count is a column of the list, an uncorrelated
	// subquery the database runs once, and only if the list has a row
	// (nothing to list, nothing to count). Not a window over the list: a
	// debtor may have many notices, and the window would read every one.
	const open = `n.debtor_cf = $1 AND n.status = 'open'
		AND NOT (n.seq = 0 AND EXISTS (SELECT 1 FROM payments_notices i WHERE i.position_id = n.position_id AND i.seq > 0))`
	rows, err := s.DB.QueryContext(ctx, `SELECT `+noticeColumns+`, (SELECT COUNT(*) FROM payments_notices n WHERE `+open+`)
		FROM payments_notices n JOIN payments_positions p ON p.id = n.position_id WHERE `+open+` ORDER BY n.due_date, n.number LIMIT $2`, debtorCF, n)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var total int
	var out []Notice
	for rows.Next() {
		x, err := scanNotice(counted{rows, &total})
		if err != nil {
			return 0, nil, err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	return total, out, nil
}

// counted scans a row of the columns scanNotice reads followed by a
// count, into n.
type counted struct {
	rows *sql.Rows
	n    *int
}

func (c counted) Scan(dest ...any) error { return c.rows.Scan(append(dest, c.n)...) }

// PublicNotice is what anyone may learn of a notice by its number: its
// status and amount, as the issue asks, nothing personal. Not the due
// date: notice numbers follow a sequence, and a walk through them would
// otherwise map when each debt falls due.
type PublicNotice struct {
	Number string `json:"number"`
	Status string `json:"status"`
	Amount int64  `json:"amount"`
}

// ByNumber reads a notice by its number: ErrNotFound when well-formed but
// unknown; the number must have passed pagopa.Parse.
func (s *Service) ByNumber(ctx context.Context, n pagopa.Notice) (*Notice, error) {
	list, err := s.notices(ctx, `WHERE n.number = $1`, n.Number)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	out := list[0]
	out.Transfers, err = s.transfers(ctx, out.ID)
	return &out, err
}

// Public is a notice as the public API shows it.
func (n *Notice) Public() PublicNotice {
	return PublicNotice{Number: n.Number, Status: n.Status, Amount: n.Amount}
}

// Position reads a position with its notices (back office).
func (s *Service) Position(ctx context.Context, id string) (*Position, error) {
	ps, err := s.positions(ctx, `WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, ErrNotFound
	}
	p := ps[0]
	if p.Notices, err = s.PositionNotices(ctx, id); err != nil {
		return nil, err
	}
	for i := range p.Notices {
		if p.Notices[i].Transfers, err = s.transfers(ctx, p.Notices[i].ID); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

func (s *Service) positions(ctx context.Context, where string, args ...any) ([]Position, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, debtor_cf, debtor_name, category, reason, year, amount, paid_amount, status, COALESCE(external_id, ''),
		source, detail, cancel_reason, created_at FROM payments_positions `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Position
	for rows.Next() {
		var p Position
		var cat string
		if err := rows.Scan(&p.ID, &p.DebtorCF, &p.DebtorName, &cat, &p.Reason, &p.Year, &p.Amount, &p.PaidAmount, &p.Status, &p.ExternalID,
			&p.Source, &p.Detail, &p.CancelReason, &p.CreatedAt); err != nil {
			return nil, err
		}
		p.Category = Category(cat)
		out = append(out, p)
	}
	return out, rows.Err()
}

// OwnPositions are a debtor's positions, newest first (the API).
func (s *Service) OwnPositions(ctx context.Context, debtorCF string, page int) ([]Position, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_positions WHERE debtor_cf = $1`, debtorCF).Scan(&total); err != nil {
		return nil, 0, err
	}
	ps, err := s.positions(ctx, `WHERE debtor_cf = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, debtorCF, PerPage, (max(page, 1)-1)*PerPage)
	if err != nil {
		return nil, 0, err
	}
	for i := range ps {
		if ps[i].Notices, err = s.PositionNotices(ctx, ps[i].ID); err != nil {
			return nil, 0, err
		}
	}
	return ps, total, nil
}

// Filter is the back office's search.
type Filter struct {
	// Q is a fiscal code, a notice number, or words of the reason.
	Q        string
	Status   string
	Category Category
	Year     int
	Page     int
}

// Search lists positions for the finance office, newest first.
func (s *Service) Search(ctx context.Context, f Filter) ([]Position, int, error) {
	where := `WHERE 1 = 1`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	if f.Q != "" {
		q := f.Q
		if n, err := pagopa.Parse(q); err == nil {
			where += ` AND id IN (SELECT position_id FROM payments_notices WHERE number = ` + arg(n.Number) + `)`
		} else if ValidDebtor(upper(q)) {
			where += ` AND debtor_cf = ` + arg(upper(q))
		} else {
			where += ` AND (LOWER(reason) LIKE ` + arg(db.Containing(lower(q))) + db.LikeEscape + ` OR external_id = ` + arg(q) + ` OR id = ` + arg(q) + `)`
		}
	}
	if f.Status != "" {
		where += ` AND status = ` + arg(f.Status)
	}
	if f.Category != "" {
		where += ` AND category = ` + arg(string(f.Category))
	}
	if f.Year != 0 {
		where += ` AND year = ` + arg(f.Year)
	}
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments_positions `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	list, err := s.positions(ctx, where+` ORDER BY created_at DESC, id LIMIT `+arg(PerPage)+` OFFSET `+arg((max(f.Page, 1)-1)*PerPage), args...)
	return list, total, err
}
