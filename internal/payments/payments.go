// Package payments is what residents owe the town and how they pay it: debt
// positions keyed by the debtor's fiscal code, paid in one go or in
// instalments, each way of paying a pagoPA notice with its own number; a
// checkout through a Gateway for one or several notices; the
// creditor-side calls of the pagoPA node for notices paid elsewhere;
// receipts, an append-only ledger of every money event, reconciliation,
// reminders, the finance office's back office and imports, and the
// resident's "I miei pagamenti".
//
// Money is int64 euro cents throughout. A notice is settled exactly once:
// its receipt's notice_id is unique, and every settlement checks and
// records in one transaction.
package payments

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/problem"
)

// Category is what a position is for.
type Category string

// The categories, in the order lists show them.
const (
	Canteen   Category = "canteen"
	Transport Category = "transport"
	School    Category = "school" // pre- and post-school
	TARI      Category = "tari"
	IMU       Category = "imu"
	Stamp     Category = "stamp" // stamp duty (certificates)
	Fine      Category = "fine"
	Other     Category = "other"
)

// Categories are every category.
var Categories = []Category{Canteen, Transport, School, TARI, IMU, Stamp, Fine, Other}

// Valid reports whether c is a known category.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// Statuses of positions and notices.
const (
	StatusOpen      = "open"
	StatusInPayment = "in_payment"
	StatusPaid      = "paid"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
	// StatusVoid is a notice that can no longer be paid because another
	// way of paying its position was used (the single payment, or an
	// instalment).
	StatusVoid = "void"
)

// Outcome is how a payment attempt ended, as a gateway reports it.
type Outcome string

const (
	OutcomePending   Outcome = "pending"
	OutcomePaid      Outcome = "paid"
	OutcomeRefused   Outcome = "refused"
	OutcomeAbandoned Outcome = "abandoned"
	OutcomeExpired   Outcome = "expired"
	// OutcomeMismatch: the gateway took another amount than the attempt's.
	// The notices are not paid and become payable again; the money taken
	// is a discrepancy for the finance office (ledger
	// payment.amount_mismatch, the daily report), to refund.
	OutcomeMismatch Outcome = "amount_mismatch"
	// OutcomeUnknown: the gateway does not know the attempt (it never
	// reached it).
	OutcomeUnknown Outcome = "unknown"
)

// Final reports whether the outcome ends the attempt.
func (o Outcome) Final() bool {
	return o == OutcomePaid || o == OutcomeRefused || o == OutcomeAbandoned || o == OutcomeExpired || o == OutcomeUnknown
}

// Limits.
const (
	// MaxInstalments a position may be split into.
	MaxInstalments = 12
	// MaxAmount of a position: ten million euro.
	MaxAmount = 10_000_000_00
	// MaxReason is the longest reason, in characters (pagoPA's remittance
	// information holds 140).
	MaxReason = 140
	// MaxCheckout is how many notices one checkout may pay.
	MaxCheckout = 10
	// AttemptTTL is how long an attempt may hold its notices: pagoPA's
	// activation token lasts at most 30 minutes.
	AttemptTTL = 30 * time.Minute
	// PerPage is the longest list a page shows.
	PerPage = 50
	// ReceiptsPerPage are the receipts I miei pagamenti shows at once, the
	// latest first: the yearly statements list every one.
	ReceiptsPerPage = 10
)

// Position is a debt of one debtor.
type Position struct {
	ID           string
	DebtorCF     string
	DebtorName   string
	Category     Category
	Reason       string
	Year         int
	Amount       int64
	PaidAmount   int64
	Status       string
	ExternalID   string
	Source       string
	Detail       string
	CancelReason string
	CreatedAt    time.Time
	Notices      []Notice
}

// Notice is one way to pay a position (or part of it).
type Notice struct {
	ID         string
	PositionID string
	DebtorCF   string
	// Seq is 0 for the single payment, 1..N for instalments.
	Seq          int
	Number       string
	Amount       int64
	DueDate      string // YYYY-MM-DD
	PayableUntil string // YYYY-MM-DD or ""
	Status       string
	AttemptID    string
	PaidAt       *time.Time
	Transfers    []Transfer
	// From the position, for lists.
	Category Category
	Reason   string
	Year     int
	// Instalments is how many instalments the position has (0: none).
	Instalments int
}

// Payable reports whether the notice can be put in a checkout now.
func (n *Notice) Payable() bool { return n.Status == StatusOpen }

// Transfer is who receives (part of) a notice's money.
type Transfer struct {
	Seq        int
	CreditorCF string
	IBAN       string
	Amount     int64
	Remittance string
	// Metadata is pagoPA's key=value of the transfer (TARI-TEFA).
	Metadata string
}

// Instalment is one instalment asked for when a position is created.
type Instalment struct {
	Amount  int64
	DueDate string
	// Transfers, if set, split the instalment (TARI and TEFA); otherwise
	// all of it goes to the town.
	Transfers []Transfer
}

// NewPosition is what the finance office, an import, the IMU calculator
// or another feature (Bill) asks to be owed.
type NewPosition struct {
	DebtorCF   string
	DebtorName string
	Category   Category
	Reason     string
	Year       int
	// Amount is the whole position; DueDate the single payment's due date.
	Amount  int64
	DueDate string
	// PayableUntil, if set, is the last day any notice may be paid.
	PayableUntil string
	// Instalments, if any, must add up to Amount; a single payment of
	// Amount is offered beside them when Single is true.
	Instalments []Instalment
	Single      bool
	// Transfers of the single payment (TARI and TEFA); otherwise all to the town.
	Transfers  []Transfer
	ExternalID string
	Source     string
	Detail     string
}

// ParseCents reads an amount in euro as people write it ("12,50",
// "1.234,56", "12.50", "1,234.56", "12") into cents. The decimal
// separator is the last one when one or two digits follow it; the others
// must be the other sign, grouping three digits. Without decimals only
// the Italian grouping (".") is read: "12,345" is refused, being 12.345
// to an Italian and 12345 to an English reader.
func ParseCents(s string) (int64, bool) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "€"))
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 20 {
		return 0, false
	}
	intPart, frac, group := s, "", byte('.')
	if dec := strings.LastIndexAny(s, ",."); dec >= 0 && len(s)-dec-1 >= 1 && len(s)-dec-1 <= 2 {
		intPart, frac = s[:dec], s[dec+1:]
		if s[dec] == '.' {
			group = ','
		}
	}
	if intPart == "" {
		return 0, false
	}
	groups := strings.Split(intPart, string(group))
	for i, g := range groups {
		if g == "" || len(g) > 3 && len(groups) > 1 || i > 0 && len(g) != 3 {
			return 0, false
		}
	}
	digits := strings.Join(groups, "") + frac
	if len(digits)-len(frac) > 10 {
		return 0, false
	}
	var v int64
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, false
		}
		v = v*10 + int64(r-'0')
	}
	if len(frac) == 1 {
		v *= 10
	} else if len(frac) == 0 {
		v *= 100
	}
	return v, true
}

// Euro writes cents as Italians read an amount: "1.234,56".
func Euro(cents int64) string {
	neg := cents < 0
	u := uint64(cents) // #nosec G115 -- the bits of cents, negated below when negative: the magnitude of any int64, math.MinInt64 included
	if neg {
		u = -u // also right for math.MinInt64
	}
	whole, frac := u/100, u%100
	s := strconv.FormatUint(whole, 10)
	b := make([]byte, 0, len(s)+len(s)/3+4)
	if neg {
		b = append(b, '-')
	}
	for i := 0; i < len(s); i++ {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, '.')
		}
		b = append(b, s[i])
	}
	b = append(b, ',', byte('0'+frac/10), byte('0'+frac%10))
	return string(b)
}

// EuroDot writes cents with a decimal point and no grouping, as CSV files
// for accounting software expect: "1234.56".
func EuroDot(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

const dateLayout = "2006-01-02"

func validDate(s string) bool {
	_, err := time.Parse(dateLayout, s)
	return err == nil
}

// Validate checks a new position field by field; the message ids are the
// feature's (payments.error.*).
func (p *NewPosition) Validate() problem.Fields {
	fe := problem.Fields{}
	p.DebtorCF = strings.ToUpper(strings.TrimSpace(p.DebtorCF))
	p.Reason = strings.TrimSpace(p.Reason)
	p.DebtorName = strings.TrimSpace(p.DebtorName)
	if !ValidDebtor(p.DebtorCF) {
		fe["debtor_cf"] = "payments.error.debtor_cf"
	}
	if !p.Category.Valid() {
		fe["category"] = "payments.error.category"
	}
	switch n := utf8.RuneCountInString(p.Reason); {
	case n < 3:
		fe["reason"] = "payments.error.reason"
	case n > MaxReason:
		fe["reason"] = "payments.error.reason_long"
	}
	if utf8.RuneCountInString(p.DebtorName) > 140 {
		fe["debtor_name"] = "payments.error.debtor_name"
	}
	if p.Year < 2000 || p.Year > 2100 {
		fe["year"] = "payments.error.year"
	}
	if p.Amount <= 0 || p.Amount > MaxAmount {
		fe["amount"] = "payments.error.amount"
	}
	if !validDate(p.DueDate) {
		fe["due_date"] = "payments.error.due_date"
	}
	if p.PayableUntil != "" && (!validDate(p.PayableUntil) || p.PayableUntil < p.DueDate) {
		fe["payable_until"] = "payments.error.payable_until"
	}
	if len(p.Instalments) == 1 || len(p.Instalments) > MaxInstalments {
		fe["instalments"] = "payments.error.instalments"
	} else if len(p.Instalments) > 1 {
		var sum int64
		prev := ""
		for _, in := range p.Instalments {
			if in.Amount <= 0 || !validDate(in.DueDate) || in.DueDate < prev {
				fe["instalments"] = "payments.error.instalments"
				break
			}
			if err := transfersAddUp(in.Transfers, in.Amount); err != nil {
				fe["instalments"] = "payments.error.transfers"
				break
			}
			sum += in.Amount
			prev = in.DueDate
		}
		if _, bad := fe["instalments"]; !bad && sum != p.Amount {
			fe["instalments"] = "payments.error.instalments_sum"
		}
	}
	if err := transfersAddUp(p.Transfers, p.Amount); err != nil {
		fe["amount"] = "payments.error.transfers"
	}
	if len(p.ExternalID) > 64 {
		fe["external_id"] = "payments.error.external_id"
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func transfersAddUp(ts []Transfer, amount int64) error {
	if len(ts) == 0 {
		return nil
	}
	if len(ts) > 5 {
		return errors.New("pagoPA allows at most 5 transfers")
	}
	var sum int64
	for _, t := range ts {
		if t.Amount <= 0 || len(t.CreditorCF) != 11 {
			return errors.New("a transfer needs a positive amount and an 11-digit creditor")
		}
		sum += t.Amount
	}
	if sum != amount {
		return fmt.Errorf("transfers add up to %d, not %d", sum, amount)
	}
	return nil
}

// Errors the service returns.
var (
	ErrNotFound = problem.New(problem.NotFound, "", errors.New("payments: not found"))
	// ErrNotPayable: the notice is paid, in payment, cancelled or expired.
	ErrNotPayable = problem.New(problem.Conflict, "payments.error.not_payable", errors.New("payments: notice not payable"))
	// ErrSiblings: the single payment and an instalment of one position in one checkout.
	ErrSiblings = problem.New(problem.Conflict, "payments.error.siblings", errors.New("payments: single payment with its instalments"))
	ErrGateway  = problem.New(problem.Unavailable, "payments.error.gateway", errors.New("payments: gateway unavailable"))
	// ErrDuplicate: an import or a position already loaded.
	ErrDuplicate = problem.New(problem.Conflict, "payments.error.duplicate", errors.New("payments: already loaded"))
)

// ValidDebtor reports whether s is a debtor's fiscal code: a person's (16
// characters, checked) or a body's (11 digits, checked like a VAT number).
func ValidDebtor(s string) bool {
	if len(s) == 11 {
		return validBodyCode(s)
	}
	_, err := cf.Parse(s)
	return err == nil && len(s) == 16
}

// validBodyCode checks an 11-digit fiscal code of a company or body (the
// Luhn-like check of the partita IVA).
func validBodyCode(s string) bool {
	sum := 0
	for i := 0; i < 11; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 && i < 10 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		if i < 10 {
			sum += d
		}
	}
	return (10-sum%10)%10 == int(s[10]-'0')
}

func itoa(n int) string { return fmt.Sprint(n) }

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
