package schools

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The monthly bills (docs/SCHOOLS.md, "Monthly bills"): for a month, every
// accepted enrolment of a service of that month's school year gets its
// debt position in payments, one transaction each, claimed by the key
// (slot, child, period) in schools_bill_claims and (enrolment, period) in
// schools_bills in the transaction that makes it.

// Bill is a debt position the school services ask payments for, in the
// words the payments feature reads (cmd/civico joins them).
type Bill struct {
	// DebtorCF is the parent's proven fiscal code.
	DebtorCF string
	// Category is payments' category: canteen, transport or school.
	Category string
	Reason   string
	Year     int
	Amount   int64
	DueDate  string // YYYY-MM-DD
	// ExternalID is unique per enrolment and period: payments refuses a
	// second position with it.
	ExternalID string
	Detail     string
}

// BillNotice is the pagoPA notice payments made for a Bill.
type BillNotice struct {
	ID, PositionID, Number string
}

// Biller makes a debt position inside the caller's transaction, so that
// the bill's record and the position commit together (payments'
// Module.Biller, joined in cmd/civico).
type Biller interface {
	Bill(ctx context.Context, tx *sql.Tx, b Bill) (BillNotice, error)
}

// BillLetters write the mail of a bill in its transaction.
type BillLetters func(ctx context.Context, tx *sql.Tx, e *Enrolment, b *BillRecord) error

// BillRecord is a bill of an enrolment.
type BillRecord struct {
	EnrolmentID, Period, ServiceID string
	AmountCents                    int64
	// NoticeID and NoticeNumber are payments' notice ("" for an exemption).
	NoticeID, NoticeNumber string
	CreatedAt              time.Time
}

// Amount is the bill's amount in euro.
func (b *BillRecord) Amount() string { return Euro(b.AmountCents) }

// Exempt says the bill is nothing to pay (an exemption, a band of 0).
func (b *BillRecord) Exempt() bool { return b.NoticeID == "" }

// Once is the period of a tariff by year or by week: billed once.
const Once = "once"

// BillingResult is what a billing run did.
type BillingResult struct {
	Month string
	// Billed are the positions made, Amount their total; Exempt the bills
	// of nothing to pay; Already the enrolments billed before (by an
	// earlier run, or a run beside this one).
	Billed, Exempt, Already int
	Amount                  int64
	// PerMeal are the accepted enrolments of services with a tariff per
	// meal that have no attendance imported for the month (billed once
	// it is: a run of this month or a later one); Meals the meals billed.
	PerMeal, Meals int
	// Failed are the enrolments that could not be billed, with the first
	// errors: the run goes on with the others, and a later run tries
	// them again.
	Failed int
	Errors []error
}

// maxBillErrors bounds the errors a result keeps.
const maxBillErrors = 10

// ErrMonth is a month that is not YYYY-MM.
var ErrMonth = errors.New("schools: the month must be written YYYY-MM")

// ErrMonthAhead is a month that has not begun: nothing is billed ahead.
var ErrMonthAhead = errors.New("schools: the month has not begun")

// schoolYearOf is the school year a month belongs to: September to August.
func schoolYearOf(m time.Time) string {
	y := m.Year()
	if m.Month() < time.September {
		y--
	}
	return fmt.Sprintf("%d/%d", y, y+1)
}

// monthlyFee says whether a monthly tariff is due in month m: the ten
// months of school, September to June.
func monthlyFee(m time.Time) bool { return m.Month() >= time.September || m.Month() <= time.June }

// category is payments' category of a kind of service.
func (k Kind) category() string {
	switch k {
	case Canteen:
		return "canteen"
	case Bus:
		return "transport"
	}
	return "school"
}

var monthsIT = [...]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"}

// billBatch is how many enrolments a run reads at once.
const billBatch = 200

// BillMonth bills the month ("2026-10") of every enrolment accepted by
// the month's end (a month not begun is refused: ErrMonthAhead) of the
// services of its school year: a monthly tariff in the months from
// September to June, a yearly or weekly one once. Each bill is one
// transaction that holds the enrolment's row, claims (slot, child, period)
// and makes the position: a second run, or a run beside this one, finds
// the claim and bills nothing again. progress, if set, is told the
// enrolments seen out of those to see.
func (s *Store) BillMonth(ctx context.Context, month string, by Actor, progress func(done, total int)) (*BillingResult, error) {
	m, err := time.ParseInLocation("2006-01", month, rome)
	if err != nil || len(month) != 7 {
		return nil, ErrMonth
	}
	if s.Biller == nil {
		return nil, errors.New("schools: no biller: the payments feature is not joined")
	}
	// A month is billed to the enrolments accepted by its end; one not
	// begun has none yet.
	end := m.AddDate(0, 1, 0).UTC()
	if s.now().Before(m) {
		return nil, ErrMonthAhead
	}
	res := &BillingResult{Month: month}
	year := schoolYearOf(m)
	type svcRow struct {
		id, unit string
		period   string
		accepted int
		meals    []mealMonth
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, tariff_unit FROM schools_services WHERE school_year = $1 ORDER BY id`, year)
	if err != nil {
		return nil, fmt.Errorf("schools: billing: %w", err)
	}
	var list []svcRow
	for rows.Next() {
		var r svcRow
		if err := rows.Scan(&r.id, &r.unit); err != nil {
			_ = rows.Close()
			return nil, err
		}
		list = append(list, r)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	total := 0
	for i := range list {
		r := &list[i]
		switch r.unit {
		case "month":
			if monthlyFee(m) {
				r.period = month
			}
		case "year", "week":
			r.period = Once
		}
		// The accepted enrolments, and those whose child was billed the
		// period in the slot (by this enrolment or an earlier one).
		var before int
		if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(c.child_fc) FROM schools_enrolments e
			LEFT JOIN schools_bill_claims c ON c.slot_key = e.slot_key AND c.child_fc = e.child_fc AND c.period = $2
			WHERE e.service_id = $1 AND e.status = 'accepted' AND e.accepted_at < $3`, r.id, r.period, end).Scan(&r.accepted, &before); err != nil {
			return nil, err
		}
		if r.unit == "meal" {
			// The months with attendance not billed, up to this one.
			var missing int
			if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM schools_enrolments e WHERE e.service_id = $1 AND e.status = 'accepted' AND e.accepted_at < $2
				AND NOT EXISTS (SELECT 1 FROM schools_attendance a WHERE a.service_id = e.service_id AND a.child_fc = e.child_fc AND a.month = $3)`,
				r.id, end, month).Scan(&missing); err != nil {
				return nil, err
			}
			res.PerMeal += missing
			meals, err := s.mealsToBill(ctx, r.id, month)
			if err != nil {
				return nil, err
			}
			r.meals = meals
			total += len(meals)
		}
		if r.period != "" {
			res.Already += before
			total += max(0, r.accepted-before)
		}
	}
	done := 0
	if progress != nil {
		progress(0, total)
	}
	due := m.AddDate(0, 1, -1).Format("2006-01-02")
	for _, r := range list {
		for _, a := range r.meals {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			am, _ := time.ParseInLocation("2006-01", a.month, rome)
			if err := s.billOne(ctx, a.enrolment, a.month, am, am.AddDate(0, 1, 0).UTC(), due, res, a.meals); err != nil {
				res.Failed++
				if len(res.Errors) < maxBillErrors {
					res.Errors = append(res.Errors, fmt.Errorf("enrolment %s, meals of %s: %w", a.enrolment, a.month, err))
				}
			}
			done++
			if progress != nil {
				progress(min(done, total), total)
			}
		}
		if r.period == "" {
			continue
		}
		last := ""
		for {
			ids, err := s.acceptedAfter(ctx, r.id, r.period, last, end)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				if err := ctx.Err(); err != nil {
					return res, err
				}
				if err := s.billOne(ctx, id, r.period, m, end, due, res, 0); err != nil {
					res.Failed++
					if len(res.Errors) < maxBillErrors {
						res.Errors = append(res.Errors, fmt.Errorf("enrolment %s: %w", id, err))
					}
				}
				done++
				if progress != nil {
					progress(min(done, total), total)
				}
			}
			if len(ids) < billBatch {
				break
			}
			last = ids[len(ids)-1]
		}
	}
	if progress != nil && done < total {
		// Enrolments withdrawn since they were counted.
		progress(total, total)
	}
	if res.Billed+res.Exempt > 0 && s.Audit != nil {
		err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
			return s.audit(ctx, tx, by, "schools.billing.run", "schools_billing:"+month, map[string]string{"billed": strconv.Itoa(res.Billed),
				"exempt": strconv.Itoa(res.Exempt), "amount": Euro(res.Amount), "failed": strconv.Itoa(res.Failed)})
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// acceptedAfter is a batch of a service's enrolments accepted before end
// after the id last, in order (an index range), whose child has no bill
// for period in the enrolment's slot (each bill's transaction checks
// again: this only spares a run again the transactions of what was
// billed).
func (s *Store) acceptedAfter(ctx context.Context, serviceID, period, last string, end time.Time) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT e.id FROM schools_enrolments e WHERE e.service_id = $1 AND e.status = 'accepted' AND e.id > $2
		AND e.accepted_at < $5
		AND NOT EXISTS (SELECT 1 FROM schools_bill_claims c WHERE c.slot_key = e.slot_key AND c.child_fc = e.child_fc AND c.period = $3) ORDER BY e.id LIMIT $4`,
		serviceID, last, period, billBatch, end)
	if err != nil {
		return nil, fmt.Errorf("schools: billing: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// mealMonth is a child's month of meals to bill.
type mealMonth struct {
	enrolment, month string
	meals            int
}

// mealsToBill are the service's months of attendance up to month with
// meals whose child has no bill for the month in the slot.
func (s *Store) mealsToBill(ctx context.Context, serviceID, month string) ([]mealMonth, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT a.enrolment_id, a.month, a.meals FROM schools_attendance a JOIN schools_enrolments e ON e.id = a.enrolment_id
		WHERE a.service_id = $1 AND a.month <= $2 AND a.meals > 0
		AND NOT EXISTS (SELECT 1 FROM schools_bill_claims c WHERE c.slot_key = e.slot_key AND c.child_fc = a.child_fc AND c.period = a.month)
		ORDER BY a.month, a.enrolment_id`, serviceID, month)
	if err != nil {
		return nil, fmt.Errorf("schools: billing: attendance: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []mealMonth
	for rows.Next() {
		var a mealMonth
		if err := rows.Scan(&a.enrolment, &a.month, &a.meals); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// billOne bills an enrolment's period in one transaction: the enrolment's
// row held (a withdrawal waits, or went first and nothing is billed), the
// claim of (slot, child, period) (the same child enrolled again after a
// withdrawal is not billed twice), the bill of (enrolment, period), the
// position in payments and the mail.
//
// meals > 0 bills a month of meals (period is the month, end its end):
// meals times the enrolment's tariff after the reduction, to the enrolment
// the attendance names even if withdrawn since (the meals were eaten).
func (s *Store) billOne(ctx context.Context, id, period string, m, end time.Time, due string, res *BillingResult, meals int) error {
	var billed, exempt bool
	var amount int64
	var eaten int
	// The child's household, asked of the register before the transaction
	// (the register is another feature's, read through its API).
	var childFC string
	if err := s.DB.QueryRowContext(ctx, `SELECT child_fc FROM schools_enrolments WHERE id = $1`, id).Scan(&childFC); errors.Is(err, sql.ErrNoRows) {
		return nil // erased since it was listed
	} else if err != nil {
		return err
	}
	house, err := s.housemates(ctx, childFC)
	if err != nil {
		return err
	}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var status, slot string
		var accepted sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT status, slot_key, accepted_at FROM schools_enrolments WHERE id = $1`+s.DB.ForUpdate(), id).Scan(&status, &slot, &accepted)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (status != string(Accepted) && meals == 0 || !accepted.Valid || !accepted.Time.Before(end)) {
			return nil // withdrawn, or erased, since it was listed; or accepted after the month
		}
		if err != nil {
			return err
		}
		e, err := s.get(ctx, tx, id, "")
		if err != nil {
			return err
		}
		kind, err := s.kindOf(ctx, tx, e.ServiceID)
		if err != nil {
			return err
		}
		c, err := s.charge(ctx, tx, e, end, house)
		if err != nil {
			return err
		}
		if meals > 0 {
			c.Cents *= int64(meals)
		}
		now := s.now()
		child, err := tx.ExecContext(ctx, `INSERT INTO schools_bill_claims (slot_key, child_fc, period, service_id, enrolment_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slot_key, child_fc, period) DO NOTHING`, slot, e.ChildFC, period, e.ServiceID, id, now)
		if err != nil {
			return err
		}
		if n, err := child.RowsAffected(); err != nil || n == 0 {
			return err // the child billed before, by this enrolment or an earlier one
		}
		b := &BillRecord{EnrolmentID: id, Period: period, ServiceID: e.ServiceID, AmountCents: c.Cents, CreatedAt: now}
		claim, err := tx.ExecContext(ctx, `INSERT INTO schools_bills (enrolment_id, period, service_id, amount_cents, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (enrolment_id, period) DO NOTHING`, id, period, e.ServiceID, c.Cents, now)
		if err != nil {
			return err
		}
		if n, err := claim.RowsAffected(); err != nil || n == 0 {
			return err // billed before
		}
		if c.Cents > 0 {
			detail := e.ChildGiven + " " + e.ChildFamily
			if meals > 0 {
				detail += fmt.Sprintf(", %d pasti", meals)
			}
			if c.Percent > 0 {
				detail += fmt.Sprintf(", %d° figlio: riduzione del %d%%", c.Nth, c.Percent)
			}
			n, err := s.Biller.Bill(ctx, tx, Bill{DebtorCF: e.ParentFC, Category: kind.category(), Reason: billReason(e, period, m), Year: m.Year(),
				Amount: c.Cents, DueDate: due, ExternalID: "schools:" + id + ":" + period, Detail: detail})
			if err != nil {
				return err
			}
			b.NoticeID, b.NoticeNumber = n.ID, n.Number
			if _, err := tx.ExecContext(ctx, `UPDATE schools_bills SET position_id = $3, notice_id = $4, notice_number = $5 WHERE enrolment_id = $1 AND period = $2`,
				id, period, n.PositionID, n.ID, n.Number); err != nil {
				return err
			}
		}
		if s.BillLetters != nil {
			if err := s.BillLetters(ctx, tx, e, b); err != nil {
				return err
			}
		}
		billed, exempt, amount = b.NoticeID != "", b.NoticeID == "", b.AmountCents
		if meals > 0 {
			eaten = meals
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case billed:
		res.Billed++
		res.Amount += amount
		res.Meals += eaten
	case exempt:
		res.Exempt++
	default:
		res.Already++
	}
	return nil
}

// Charge is what an enrolment costs a period: the band's amount less the
// reduction of the Nth child of the household in the service
// (docs/SCHOOLS.md, "The ISEE and the siblings"), 0 when exempt.
type Charge struct {
	Nth, Percent int
	Cents        int64
}

// Amount is the charge in euro.
func (c Charge) Amount() string { return Euro(c.Cents) }

// maxHousemates bounds the fiscal codes a count of siblings binds (the
// register's households are at most 50).
const maxHousemates = 50

// siblingsSQL counts the distinct children of the service among the
// housemates bound from $4 on whose enrolment is billed in the period: accepted
// before its end ($2), neither exempt nor of a tariff of 0, other than
// the child ($3); and (charge) sent before the enrolment.
func siblingsSQL(house []string, from int, before bool) (string, []any) {
	var ph []string
	args := make([]any, 0, len(house))
	for i, fc := range house {
		ph = append(ph, fmt.Sprintf("$%d", from+i))
		args = append(args, fc)
	}
	q := `SELECT COUNT(DISTINCT child_fc) FROM schools_enrolments WHERE service_id = $1 AND status = 'accepted' AND accepted_at < $2
		AND exempt = FALSE AND amount_cents > 0 AND child_fc <> $3 AND child_fc IN (` + strings.Join(ph, ", ") + `)`
	if before {
		q += ` AND (created_at < $` + strconv.Itoa(from+len(house)) + ` OR created_at = $` + strconv.Itoa(from+len(house)) + ` AND id < $` + strconv.Itoa(from+len(house)+1) + `)`
	}
	return q, args
}

// housemates is the child's household in the register (none without the
// register, or for a child it does not hold).
func (s *Store) housemates(ctx context.Context, fiscalCode string) ([]string, error) {
	if s.Household == nil {
		return nil, nil
	}
	house, err := s.Household(ctx, fiscalCode)
	if err != nil {
		return nil, fmt.Errorf("schools: household: %w", err)
	}
	return house[:min(len(house), maxHousemates)], nil
}

// charge counts which child of its household an accepted enrolment is
// among the service's children billed in the period ending at end (the
// household is the population register's, house; a sibling counts only if
// accepted by then, not exempt and not of a tariff of 0: an exempt
// "decoy" gives no reduction; outside review S4), in the order they were
// sent (the same child in several weeks of a camp is one child), and
// reduces its amount by that.
func (s *Store) charge(ctx context.Context, q querier, e *Enrolment, end time.Time, house []string) (Charge, error) {
	c := Charge{Nth: 1, Cents: e.AmountCents}
	if e.Exempt || e.AmountCents == 0 {
		return Charge{Nth: 1}, nil
	}
	if !contains(house, e.ChildFC) || len(house) < 2 {
		return c, nil
	}
	query, args := siblingsSQL(house, 4, true)
	var before int
	if err := q.QueryRowContext(ctx, query, append(append([]any{e.ServiceID, end, e.ChildFC}, args...), e.CreatedAt, e.ID)...).Scan(&before); err != nil {
		return c, err
	}
	c.Nth = before + 1
	c.Percent = Percent(c.Nth, e.Sibling2, e.Sibling3)
	c.Cents = Reduced(e.AmountCents, c.Percent)
	return c, nil
}

// Charge is what the accepted enrolment e costs a period now (the pages).
func (s *Store) Charge(ctx context.Context, e *Enrolment) (Charge, error) {
	house, err := s.housemates(ctx, e.ChildFC)
	if err != nil {
		return Charge{}, err
	}
	return s.charge(ctx, s.DB, e, s.now().Add(time.Microsecond), house)
}

// Siblings is how many children of the parent's household in the
// register are accepted and paying in the service: the form tells the
// reduction the next one would get.
func (s *Store) Siblings(ctx context.Context, serviceID, parentFC string) (int, error) {
	house, err := s.housemates(ctx, parentFC)
	if err != nil || len(house) < 2 {
		return 0, err
	}
	query, args := siblingsSQL(house, 4, false)
	var n int
	err = s.DB.QueryRowContext(ctx, query, append([]any{serviceID, s.now().Add(time.Microsecond), parentFC}, args...)...).Scan(&n)
	return n, err
}

// kindOf is a service's kind.
func (s *Store) kindOf(ctx context.Context, q querier, serviceID string) (Kind, error) {
	var k string
	err := q.QueryRowContext(ctx, `SELECT kind FROM schools_services WHERE id = $1`, serviceID).Scan(&k)
	return Kind(k), err
}

// billReason is the position's reason, pagoPA's remittance: the service,
// the month (or the school year) and the child's given name, at most
// 140 characters.
func billReason(e *Enrolment, period string, m time.Time) string {
	when := monthsIT[m.Month()-1] + " " + strconv.Itoa(m.Year())
	if period == Once {
		when = schoolYearOf(m)
	}
	tail := " – " + when + " – " + e.ChildGiven
	title := e.Service
	for utf8.RuneCountInString(title+tail) > 140 && title != "" {
		r := []rune(title)
		title = string(r[:len(r)-1])
	}
	return title + tail
}

// Bills are an enrolment's bills, the latest first (at most PageSize:
// one school year holds ten months).
func (s *Store) Bills(ctx context.Context, enrolmentID string) ([]*BillRecord, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT enrolment_id, period, service_id, amount_cents, COALESCE(notice_id, ''), notice_number, created_at
		FROM schools_bills WHERE enrolment_id = $1 ORDER BY created_at DESC, period DESC LIMIT $2`, enrolmentID, PageSize)
	if err != nil {
		return nil, fmt.Errorf("schools: bills: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*BillRecord
	for rows.Next() {
		var b BillRecord
		if err := rows.Scan(&b.EnrolmentID, &b.Period, &b.ServiceID, &b.AmountCents, &b.NoticeID, &b.NoticeNumber, &b.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, &b)
	}
	return out, rows.Err()
}

// PeriodText is the bill's period for people: "10/2026", or the school
// year's whole.
func (b *BillRecord) PeriodText() string {
	if b.Period == Once {
		return ""
	}
	if m, err := time.Parse("2006-01", b.Period); err == nil {
		return m.Format("01/2006")
	}
	return b.Period
}
