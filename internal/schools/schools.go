// Package schools is the town's school and para-school services: the
// canteen, pre- and post-school, the school bus and the summer camps of a
// school year, their places, the enrolment window, the tariff bands by
// ISEE, and the enrolment of a child by a parent, first come by commit
// order with a waiting list (docs/SCHOOLS.md).
package schools

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is what a service is.
type Kind string

// The kinds of services.
const (
	Canteen    Kind = "canteen"
	PreSchool  Kind = "preschool"
	PostSchool Kind = "postschool"
	Bus        Kind = "bus"
	Camp       Kind = "camp"
)

// Kinds are every kind, in the order the pages list them.
var Kinds = []Kind{Canteen, PreSchool, PostSchool, Bus, Camp}

// Units are what a kind's units are (a school, a route, a week): the
// message id that names one.
func (k Kind) Unit() string { return "schools.unit." + string(k) }

// Classes are the class codes a service may admit: infant school (I1-I3),
// primary (P1-P5), lower secondary (S1-S3).
var Classes = []string{"I1", "I2", "I3", "P1", "P2", "P3", "P4", "P5", "S1", "S2", "S3"}

// TariffUnits are what a tariff may be for.
var TariffUnits = []string{"month", "week", "year", "meal"}

// Band is one step of a tariff: up to an ISEE value (cents; nil: any
// value, and no ISEE), the amount.
type Band struct {
	UpTo  *int64 `json:"up_to"`
	Cents int64  `json:"cents"`
}

// Bands are a service's tariff, ascending by UpTo, the last open.
type Bands []Band

// Validate says whether the bands are a tariff: at least one, ascending
// limits, the last without one, no negative amount.
func (b Bands) Validate() error {
	if len(b) == 0 {
		return fmt.Errorf("no band")
	}
	for i, x := range b {
		if x.Cents < 0 {
			return fmt.Errorf("band %d: negative amount", i+1)
		}
		last := i == len(b)-1
		switch {
		case last && x.UpTo != nil:
			return fmt.Errorf("the last band must have no limit")
		case !last && x.UpTo == nil:
			return fmt.Errorf("band %d: only the last band has no limit", i+1)
		case !last && *x.UpTo < 0:
			return fmt.Errorf("band %d: negative limit", i+1)
		case !last && i > 0 && *x.UpTo <= *b[i-1].UpTo:
			return fmt.Errorf("band %d: limits must ascend", i+1)
		}
	}
	return nil
}

// Tariff is the band an ISEE value falls in (its index) and its amount.
// No ISEE (nil) is the last band, as the towns' acts say.
func (b Bands) Tariff(isee *int64) (int, int64) {
	if isee != nil {
		for i, x := range b {
			if x.UpTo == nil || *isee <= *x.UpTo {
				return i, x.Cents
			}
		}
	}
	return len(b) - 1, b[len(b)-1].Cents
}

// ParseBands reads bands written one per line as "up to: amount" in euro
// ("4000: 0", "7000: 3,00", "oltre: 4,50"): the office's form.
func ParseBands(s string) (Bands, error) {
	var out Bands
	for n, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		limit, amount, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: no «:»", n+1)
		}
		cents, err := ParseEuro(amount)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		b := Band{Cents: cents}
		if l := strings.ToLower(strings.TrimSpace(limit)); l != "oltre" && l != "above" && l != "*" {
			v, err := ParseEuro(limit)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
			b.UpTo = &v
		}
		out = append(out, b)
	}
	return out, out.Validate()
}

// String writes the bands as ParseBands reads them.
func (b Bands) String() string {
	var s strings.Builder
	for _, x := range b {
		if x.UpTo == nil {
			s.WriteString("oltre")
		} else {
			s.WriteString(Euro(*x.UpTo))
		}
		s.WriteString(": " + Euro(x.Cents) + "\n")
	}
	return s.String()
}

// ParseEuro reads an amount in euro, Italian or English ("4.000,50",
// "4000.50", "12"), as cents; at most two decimals, not negative, below a
// billion.
func ParseEuro(s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "€"))
	if s == "" {
		return 0, fmt.Errorf("empty amount")
	}
	// The last separator followed by one or two digits is the decimal one.
	whole, frac := s, ""
	if i := strings.LastIndexAny(s, ",."); i >= 0 && len(s)-i-1 <= 2 && len(s)-i-1 > 0 {
		whole, frac = s[:i], s[i+1:]
	}
	whole = strings.NewReplacer(".", "", ",", "", " ", "", "\u00a0", "").Replace(whole)
	if whole == "" {
		whole = "0"
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if len(whole) > 9 || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%q is not an amount", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Euro writes cents as Italian euro without the sign ("4.000,50").
func Euro(cents int64) string {
	w := strconv.FormatInt(cents/100, 10)
	for i := len(w) - 3; i > 0; i -= 3 {
		w = w[:i] + "." + w[i:]
	}
	return fmt.Sprintf("%s,%02d", w, cents%100)
}

// Service is one offer of a school year.
type Service struct {
	ID, SchoolYear string
	Kind           Kind
	Title          string
	Description    string
	OpensAt        time.Time
	ClosesAt       time.Time
	// Classes are the class codes that may enrol.
	Classes       []string
	ResidentsOnly bool
	TariffUnit    string
	Bands         Bands
	// Sibling2 and Sibling3 are the reductions, in percent, of a parent's
	// second child in the service and of the third and later; ExemptISEE
	// the ISEE (cents) up to which the service is free, nil for none.
	Sibling2, Sibling3 int
	ExemptISEE         *int64
	// Mode is how places are given; Points the ranking's; RankedAt when
	// the ranking was applied (nil: not yet, or first come).
	Mode      Mode
	Points    Points
	RankedAt  *time.Time
	UpdatedAt time.Time
	Units     []*Unit
}

// ByRanking says the service's places wait for its ranking.
func (s *Service) ByRanking() bool { return s.Mode == Ranking && s.RankedAt == nil }

func encodePoints(p Points) string {
	out, _ := json.Marshal(p) // plain struct: cannot fail
	return string(out)
}

// Tariff is the band of an ISEE value and its amount, and whether the
// value is within the service's exemption (then the amount is 0). No
// ISEE is never exempt.
func (s *Service) Tariff(isee *int64) (band int, cents int64, exempt bool) {
	band, cents = s.Bands.Tariff(isee)
	if isee != nil && s.ExemptISEE != nil && *isee <= *s.ExemptISEE {
		return band, 0, true
	}
	return band, cents, false
}

// ExemptText is the exemption's ISEE limit in euro ("" for none).
func (s *Service) ExemptText() string {
	if s.ExemptISEE == nil {
		return ""
	}
	return Euro(*s.ExemptISEE)
}

// HasReductions says whether the service reduces or exempts any tariff.
func (s *Service) HasReductions() bool {
	return s.Sibling2 > 0 || s.Sibling3 > 0 || s.ExemptISEE != nil
}

// Percent is the reduction of the n-th child (1: the first, none).
func Percent(n, sibling2, sibling3 int) int {
	switch {
	case n == 2:
		return sibling2
	case n >= 3:
		return sibling3
	}
	return 0
}

// Reduced is cents less percent, to the nearest cent.
func Reduced(cents int64, percent int) int64 {
	return (cents*int64(100-percent) + 50) / 100
}

// Unit is a service's places at a school, on a route, in a week.
type Unit struct {
	ID, ServiceID, Label string
	Stops                []string
	Capacity, Taken      int
	// Waiting is how many wait (read with the unit for the pages).
	Waiting int
}

// Free is how many places are left.
func (u *Unit) Free() int { return max(0, u.Capacity-u.Taken) }

// Window says where now falls in the service's window: "soon", "open" or
// "closed".
func (s *Service) Window(now time.Time) string {
	switch {
	case now.Before(s.OpensAt):
		return "soon"
	case now.Before(s.ClosesAt):
		return "open"
	}
	return "closed"
}

// Admits says whether a class may enrol.
func (s *Service) Admits(class string) bool { return slices.Contains(s.Classes, class) }

// Unit returns the service's unit id.
func (s *Service) Unit(id string) (*Unit, bool) {
	for _, u := range s.Units {
		if u.ID == id {
			return u, true
		}
	}
	return nil, false
}

// slotKey is what a child holds once at a time in s: a week of a summer
// camp each, any other service once.
func (s *Service) slotKey(unitID string) string {
	if s.Kind == Camp {
		return unitID
	}
	return s.ID
}

func encodeBands(b Bands) string {
	out, _ := json.Marshal(b) // plain structs: cannot fail
	return string(out)
}

func decodeBands(s string) (Bands, error) {
	var b Bands
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return nil, fmt.Errorf("schools: bands: %w", err)
	}
	return b, b.Validate()
}

// splitLines is the non-empty trimmed lines of s.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Amount is the band's amount in euro, for the pages.
func (b Band) Amount() string { return Euro(b.Cents) }

// ReducedAmount is the band's amount less percent, in euro.
func (b Band) ReducedAmount(percent int) string { return Euro(Reduced(b.Cents, percent)) }

// Limit is the band's ISEE limit in euro ("" for the last band).
func (b Band) Limit() string {
	if b.UpTo == nil {
		return ""
	}
	return Euro(*b.UpTo)
}

// Opens and Closes are the window's ends in Rome time, for the pages.
func (s *Service) Opens() string  { return s.OpensAt.In(rome).Format("02/01/2006 15:04") }
func (s *Service) Closes() string { return s.ClosesAt.In(rome).Format("02/01/2006 15:04") }

// OpensISO and ClosesISO are the window's ends for <time datetime>.
func (s *Service) OpensISO() string  { return s.OpensAt.Format(time.RFC3339) }
func (s *Service) ClosesISO() string { return s.ClosesAt.Format(time.RFC3339) }

// Amount is the enrolment's tariff in euro.
func (e *Enrolment) Amount() string { return Euro(e.AmountCents) }

// ISEEText is the declared ISEE in euro ("" for none).
func (e *Enrolment) ISEEText() string {
	if e.ISEE == nil {
		return ""
	}
	return Euro(*e.ISEE)
}

// DeclaredText is the ISEE the parent declared, in euro ("" for none).
func (e *Enrolment) DeclaredText() string {
	if e.ISEEDeclared == nil {
		return ""
	}
	return Euro(*e.ISEEDeclared)
}

// Date is when the enrolment was sent, in Rome time.
func (e *Enrolment) Date() string { return e.CreatedAt.In(rome).Format("02/01/2006 15:04:05") }

// Live says whether the enrolment may be withdrawn.
func (e *Enrolment) Live() bool { return e.Status != Withdrawn }
