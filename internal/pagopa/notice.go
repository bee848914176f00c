// Package pagopa holds the formats a creditor body produces for pagoPA
// (its developer documentation, "Specifiche attuative dei codici
// identificativi di versamento" and "Avviso di pagamento"): the notice
// number with its check digits, the notice's QR payload and the printed
// grouping. Pure rules, no I/O.
package pagopa

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// NoticeLen is the length of every notice number (numero avviso).
const NoticeLen = 18

// BaseMax is the largest 13-digit IUV base an aux-3 notice can carry.
const BaseMax = 9_999_999_999_999

// Reason says why a string is not a notice number; each has a message in
// the features that show it (payments.error.notice.<reason>).
type Reason string

const (
	ReasonEmpty    Reason = "empty"
	ReasonLength   Reason = "length"
	ReasonDigits   Reason = "digits"
	ReasonAux      Reason = "aux"
	ReasonCheck    Reason = "check"
	ReasonSegCode  Reason = "segregation"
	ReasonAppCode  Reason = "application"
	ReasonTooLarge Reason = "too_large"
)

// Error is a malformed notice number and the reason.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return "notice number: " + e.Detail }

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid notice number")

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func fail(r Reason, format string, args ...any) error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Notice is a parsed notice number.
type Notice struct {
	// Number is the 18 digits, without spaces.
	Number string
	// Aux is the aux digit: 0, 1, 2 or 3 (only 3 is issued today).
	Aux int
	// Code is the application code (aux 0) or segregation code (aux 3),
	// two digits; empty for aux 1 and 2.
	Code string
	// IUV is the unique payment identifier inside the number: 15 digits
	// for aux 0, 17 for the others.
	IUV string
	// Check is the two check digits ("" for aux 1, which has none).
	Check string
}

// Parse reads a notice number as a person may type it (spaces, dots and
// dashes between groups are ignored) and checks its layout and check
// digits:
//
//	aux 0: 0 + application code (2) + IUV base (13) + check (2)
//	aux 1: 1 + IUV (17), no check digits
//	aux 2: 2 + IUV base (15) + check (2)
//	aux 3: 3 + segregation code (2) + IUV base (13) + check (2)
//
// The check digits are the number formed by every digit before them,
// modulo 93, on two digits.
func Parse(s string) (Notice, error) {
	digits := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '\t':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	switch {
	case digits == "":
		return Notice{}, fail(ReasonEmpty, "empty")
	case !allDigits(digits):
		return Notice{}, fail(ReasonDigits, "only digits are allowed")
	case len(digits) != NoticeLen:
		return Notice{}, fail(ReasonLength, "%d digits, want %d", len(digits), NoticeLen)
	}
	n := Notice{Number: digits, Aux: int(digits[0] - '0')}
	switch n.Aux {
	case 0:
		n.Code, n.IUV, n.Check = digits[1:3], digits[3:], digits[16:]
	case 1:
		n.IUV = digits[1:]
		return n, nil
	case 2:
		n.IUV, n.Check = digits[1:], digits[16:]
	case 3:
		n.Code, n.IUV, n.Check = digits[1:3], digits[1:], digits[16:]
	default:
		return Notice{}, fail(ReasonAux, "the first digit (aux digit) is %d: only 0, 1, 2 and 3 exist", n.Aux)
	}
	if want := CheckDigits(digits[:16]); want != n.Check {
		return Notice{}, fail(ReasonCheck, "check digits %s, want %s", n.Check, want)
	}
	return n, nil
}

// CheckDigits is the check of a notice number's first 16 digits (aux digit,
// code and IUV base): their value modulo 93, on two digits.
func CheckDigits(first16 string) string {
	// 16 digits fit in a uint64 (< 1e16 < 1.8e19).
	v, err := strconv.ParseUint(first16, 10, 64)
	if err != nil || len(first16) != 16 {
		panic("pagopa: CheckDigits needs 16 digits, got " + strconv.Quote(first16))
	}
	return fmt.Sprintf("%02d", v%93)
}

// ValidSegregationCode reports whether s is a two-digit segregation code.
func ValidSegregationCode(s string) bool { return len(s) == 2 && allDigits(s) }

// New is the aux-3 notice number of segregation code seg and IUV base base
// (0 to BaseMax).
func New(seg string, base int64) (string, error) {
	if !ValidSegregationCode(seg) {
		return "", fail(ReasonSegCode, "segregation code %q: two digits", seg)
	}
	if base < 0 || base > BaseMax {
		return "", fail(ReasonTooLarge, "IUV base %d does not fit 13 digits", base)
	}
	head := fmt.Sprintf("3%s%013d", seg, base)
	return head + CheckDigits(head), nil
}

// Grouped writes a notice number in groups of four digits, as the printed
// notice shows it: "3010 0000 0000 0000 43".
func Grouped(number string) string {
	var b strings.Builder
	for i, r := range number {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// QRPayload is the text of a notice's QR code (pagoPA "Avviso di
// pagamento", QR code section): PAGOPA|002|<number>|<creditor fiscal
// code>|<amount in cents>.
func QRPayload(number, creditorFiscalCode string, cents int64) string {
	return "PAGOPA|002|" + number + "|" + creditorFiscalCode + "|" + strconv.FormatInt(cents, 10)
}

// ParseQR reads a QR payload back.
func ParseQR(payload string) (notice Notice, creditor string, cents int64, err error) {
	parts := strings.Split(payload, "|")
	if len(parts) != 5 || parts[0] != "PAGOPA" || parts[1] != "002" {
		return Notice{}, "", 0, errors.New("pagopa: not a PAGOPA|002 payload")
	}
	if notice, err = Parse(parts[2]); err != nil {
		return Notice{}, "", 0, err
	}
	if len(parts[3]) != 11 || !allDigits(parts[3]) {
		return Notice{}, "", 0, errors.New("pagopa: the creditor's fiscal code must be 11 digits")
	}
	if cents, err = strconv.ParseInt(parts[4], 10, 64); err != nil || cents <= 0 || !allDigits(parts[4]) {
		return Notice{}, "", 0, errors.New("pagopa: the amount must be a positive number of cents")
	}
	return notice, parts[3], cents, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
