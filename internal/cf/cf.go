// Package cf parses and validates the Italian codice fiscale of a natural
// person, the identifier residents are known by in accounts and on
// smart-card (CNS/CIE) certificates.
//
// Layout, 1-based: positions 1-6 letters (surname and name), 7-8 year,
// 9 month letter, 10-11 day (plus 40 for women), 12-15 the cadastral
// (Belfiore) code of the birthplace, 16 the check letter. When two people
// would get the same code, the Agenzia delle Entrate replaces digits with
// letters (omocodia), so each of the seven digit positions may also hold a
// letter from LMNPQRSTUV standing for 0-9.
package cf

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Code is a valid, normalised (upper case, no spaces) codice fiscale.
type Code string

// The errors are distinct so the UI can tell the resident what is wrong;
// Parse wraps them with the position, so compare with errors.Is.
var (
	// ErrLength: not 16 characters (15 for CheckChar and Complete).
	ErrLength = errors.New("cf: wrong length")
	// ErrFormat: a character not allowed in its position.
	ErrFormat = errors.New("cf: wrong character")
	// ErrDate: a month letter that is no month, or a day the month lacks.
	ErrDate = errors.New("cf: impossible birth date")
	// ErrCheck: the 16th character does not match the first 15.
	ErrCheck = errors.New("cf: wrong check character")
)

const (
	length = 16
	// monthLetters are January..December.
	monthLetters = "ABCDEHLMPRST"
	// omocodic are the letters standing for 0..9 in digit positions.
	omocodic = "LMNPQRSTUV"
)

// Indexes (0-based) of the fields.
const (
	posYear  = 6
	posMonth = 8
	posDay   = 9
	posPlace = 11
	posCheck = 15
)

// isDigitPos reports, by 0-based index, the positions that hold a digit
// or its omocodic letter: 7, 8, 10, 11, 13, 14 and 15 in 1-based terms.
var isDigitPos = [length]bool{6: true, 7: true, 9: true, 10: true, 12: true, 13: true, 14: true}

// oddLetters and oddDigits give the value of a character in an odd
// (1st, 3rd, ... 15th) position; the even positions just use 0-9 and A=0..Z=25.
var (
	oddDigits  = [10]int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21}
	oddLetters = [26]int{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23}
)

// Parse normalises (trim, upper case, remove inner spaces) and validates s.
// The birth year's century is inferred relative to today, which decides
// whether 29 February exists.
func Parse(s string) (Code, error) {
	return parse(s, time.Now())
}

// parse is Parse with the reference date explicit, so that tests do not
// depend on the day they run.
func parse(s string, today time.Time) (Code, error) {
	n := normalise(s)
	if len(n) != length {
		// Count runes so that "too short" is not blamed on, say, accented
		// letters that take two bytes each.
		if utf8.RuneCountInString(n) == length {
			return "", fmt.Errorf("%w: only letters A-Z and digits are allowed", ErrFormat)
		}
		return "", fmt.Errorf("%w: %d characters, want %d", ErrLength, utf8.RuneCountInString(n), length)
	}
	for i := range length {
		c := n[i]
		switch {
		case isDigitPos[i]:
			if _, ok := digit(c); !ok {
				return "", fmt.Errorf("%w: position %d is %q, want a digit (or one of %s)", ErrFormat, i+1, c, omocodic)
			}
		case !isLetter(c):
			return "", fmt.Errorf("%w: position %d is %q, want a letter", ErrFormat, i+1, c)
		}
	}
	if _, _, _, err := date(n, today); err != nil {
		return "", err
	}
	if want := checkChar(n[:length-1]); n[posCheck] != want {
		return "", fmt.Errorf("%w: %q, want %q", ErrCheck, n[posCheck], want)
	}
	return Code(n), nil
}

// normalise drops all white space, which people type or paste in groups,
// and upper-cases ASCII letters only: unicode.ToUpper would turn the
// dotless ı and the long ſ into I and S and let them through.
func normalise(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return -1
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func isLetter(c byte) bool { return 'A' <= c && c <= 'Z' }

// digit decodes a digit position, omocodic letters included.
func digit(c byte) (int, bool) {
	if '0' <= c && c <= '9' {
		return int(c - '0'), true
	}
	if i := strings.IndexByte(omocodic, c); i >= 0 {
		return i, true
	}
	return 0, false
}

// twoDigits decodes positions i and i+1; s is known to be well formed.
func twoDigits(s string, i int) int {
	hi, _ := digit(s[i])
	lo, _ := digit(s[i+1])
	return hi*10 + lo
}

// date decodes the birth date of a well-formed code s. The two-digit year
// gets the century that puts the date not after today and less than 100
// years before it; only then can 29 February be judged.
func date(s string, today time.Time) (year int, month time.Month, day int, err error) {
	m := strings.IndexByte(monthLetters, s[posMonth])
	if m < 0 {
		return 0, 0, 0, fmt.Errorf("%w: month letter %q is not one of %s", ErrDate, s[posMonth], monthLetters)
	}
	month = time.Month(m + 1)
	day = twoDigits(s, posDay)
	if day > 40 {
		day -= 40 // women
	}
	if day < 1 || day > 31 {
		return 0, 0, 0, fmt.Errorf("%w: day %02d is neither 01-31 nor 41-71", ErrDate, twoDigits(s, posDay))
	}
	year = inferYear(twoDigits(s, posYear), month, day, today)
	if last := daysIn(year, month); day > last {
		return 0, 0, 0, fmt.Errorf("%w: %s %d has %d days, not %d", ErrDate, month, year, last, day)
	}
	return year, month, day, nil
}

// inferYear puts the two-digit year yy in today's century, or the one
// before if that would make the birthday later than today.
func inferYear(yy int, month time.Month, day int, today time.Time) int {
	ty, tm, td := today.Date()
	year := ty - ty%100 + yy
	if year > ty || year == ty && (month > tm || month == tm && day > td) {
		year -= 100
	}
	return year
}

func daysIn(year int, month time.Month) int {
	// Day 0 of the next month is the last day of this one.
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// CheckChar returns the control character for the first 15 characters of
// a code. They must already be normalised (upper case, no spaces);
// omocodic letters are allowed, and no other check is made, so that test
// and demo data can be built from any 15 letters and digits.
func CheckChar(first15 string) (byte, error) {
	if len(first15) != length-1 {
		return 0, fmt.Errorf("%w: %d characters, want %d", ErrLength, utf8.RuneCountInString(first15), length-1)
	}
	for i := range len(first15) {
		if c := first15[i]; !isLetter(c) && !('0' <= c && c <= '9') {
			return 0, fmt.Errorf("%w: position %d is %q, want A-Z or 0-9", ErrFormat, i+1, c)
		}
	}
	return checkChar(first15), nil
}

// checkChar computes the check character of 15 upper-case letters and
// digits; the caller has validated them.
func checkChar(first15 string) byte {
	sum := 0
	for i := range len(first15) {
		c := first15[i]
		odd := i%2 == 0 // 1-based odd positions are the even indexes
		switch {
		case '0' <= c && c <= '9' && odd:
			sum += oddDigits[c-'0']
		case '0' <= c && c <= '9':
			sum += int(c - '0')
		case odd:
			sum += oddLetters[c-'A']
		default:
			sum += int(c - 'A')
		}
	}
	return byte('A' + sum%26)
}

// Complete appends the check character to first15 (already normalised)
// and validates the result as Parse does; it makes demo and test data.
func Complete(first15 string) (Code, error) {
	return complete(first15, time.Now())
}

func complete(first15 string, today time.Time) (Code, error) {
	c, err := CheckChar(first15)
	if err != nil {
		return "", err
	}
	return parse(first15+string(c), today)
}

// Sex returns "F" for a woman (day above 40) and "M" for a man, or "" for
// a Code that did not come from Parse or Complete.
func (c Code) Sex() string {
	if !wellFormed(string(c)) {
		return ""
	}
	if d, _ := digit(c[posDay]); d >= 4 {
		return "F"
	}
	return "M"
}

// BirthDate returns the birth date at UTC midnight. The century is the one
// that puts the date not after today and less than 100 years before it, so
// for a two-digit year yy it is 20yy unless that is still to come, else
// 19yy. It returns the zero time for a Code that did not come from Parse
// or Complete, or for 29 February in a year today makes non-leap (a
// different today than the one Parse used).
func (c Code) BirthDate(today time.Time) time.Time {
	if !wellFormed(string(c)) {
		return time.Time{}
	}
	y, m, d, err := date(string(c), today)
	if err != nil {
		return time.Time{}
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// BirthPlace returns the 4-character cadastral (Belfiore) code of the
// birthplace with omocodic letters turned back into digits, e.g. "F205"
// for Milano, or "Z..." for births abroad. It returns "" for a Code that
// did not come from Parse or Complete.
func (c Code) BirthPlace() string {
	if !wellFormed(string(c)) {
		return ""
	}
	b := []byte(c[posPlace : posPlace+4])
	for i := 1; i < len(b); i++ {
		d, _ := digit(b[i])
		b[i] = byte('0' + d) // #nosec G115 -- digit returns 0-9
	}
	return string(b)
}

// wellFormed reports whether s has a character of the right kind in every
// position, so that the accessors cannot index out of range or decode
// garbage when handed a Code built by conversion.
func wellFormed(s string) bool {
	if len(s) != length {
		return false
	}
	for i := range length {
		if _, ok := digit(s[i]); isDigitPos[i] && !ok || !isDigitPos[i] && !isLetter(s[i]) {
			return false
		}
	}
	return true
}

func (c Code) String() string { return string(c) }

// Spellings returns every spelling of the code's person-independent data,
// itself included: the 128 codes that differ from it only by digits
// written as their omocodic letters or the reverse (the base code, with
// all seven digits, first), each with its own check character. Two of
// them are normally two people (omocodia gives the second person the
// letters); the same person under two of them is a data error. It returns
// nil for a Code that did not come from Parse or Complete.
func (c Code) Spellings() []Code {
	if !wellFormed(string(c)) {
		return nil
	}
	var pos []int
	for i := range length {
		if isDigitPos[i] {
			pos = append(pos, i)
		}
	}
	out := make([]Code, 0, 1<<len(pos))
	b := []byte(c[:length-1])
	for mask := range 1 << len(pos) {
		for k, i := range pos {
			d, _ := digit(c[i])
			if mask&(1<<k) != 0 {
				b[i] = omocodic[d]
			} else {
				b[i] = byte('0' + d) // #nosec G115 -- digit returns 0-9
			}
		}
		out = append(out, Code(string(b)+string(checkChar(string(b)))))
	}
	return out
}
