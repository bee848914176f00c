package cf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// today is fixed so that century inference, and with it 29 February, does
// not depend on the day the tests run.
var today = time.Date(2026, 5, 14, 12, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// The check letters below were computed by a separate Python script, and
// the first two by hand:
//
//	RSSMRA85T10A562: R8 S18 S12 M12 R8 A0 8→19 5 T14 1 0→1 A0 5→13 6 2→5 = 122, 122%26 = 18 = S
//	MSRNTN77H15C351: M18 S18 R8 N13 T14 N13 7→17 7 H17 1 5→13 C2 3→7 5 1→0 = 153, 153%26 = 23 = X
func TestCheckChar(t *testing.T) {
	tests := []struct {
		first15 string
		want    byte
	}{
		{"RSSMRA85T10A562", 'S'},
		{"MSRNTN77H15C351", 'X'},
		{"BNCGLI90A41F205", 'H'},
		{"RSSMRA85T10A56N", 'H'},
		{"RSSMRAURTMLARSN", 'L'},
		{"BNCGLI90A41F2LR", 'N'},
		{"ZZZZZZ00A01Z404", 'H'},
		{"VRDLGU00B29F205", 'X'},
		// CheckChar checks only the alphabet, not the layout.
		{"VRDLGU85Z10F205", 'W'},
		{"VRDLGU85T72F205", 'X'},
		// Together these put every letter and digit in both an odd and an
		// even position, so each entry of both tables is exercised.
		{"AABBCCDDEEFFGGH", 'K'},
		{"IHJIKJLKMLNMONP", 'M'},
		{"QORPSQTRUSVTWUX", 'Y'},
		{"YVZW0X1Y2Z30415", 'Q'},
		{"627384950607080", 'H'},
		{"090000000000000", 'R'},
	}
	for _, tt := range tests {
		got, err := CheckChar(tt.first15)
		if err != nil {
			t.Errorf("CheckChar(%q): %v", tt.first15, err)
			continue
		}
		if got != tt.want {
			t.Errorf("CheckChar(%q) = %q, want %q", tt.first15, got, tt.want)
		}
	}
}

func TestCheckCharErrors(t *testing.T) {
	tests := []struct {
		first15 string
		want    error
	}{
		{"", ErrLength},
		{"RSSMRA85T10A56", ErrLength},
		{"RSSMRA85T10A562S", ErrLength},
		{"rssmra85t10a562", ErrFormat}, // not normalised
		{"RSSMRA85T10A56 ", ErrFormat},
		{"RSSMRA85T10A5-2", ErrFormat},
		{"RSSMRA85T10A5È", ErrFormat}, // 14 runes, 15 bytes
	}
	for _, tt := range tests {
		if _, err := CheckChar(tt.first15); !errors.Is(err, tt.want) {
			t.Errorf("CheckChar(%q) error = %v, want %v", tt.first15, err, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		code  Code
		sex   string
		birth time.Time
		place string
	}{
		{"Mario Rossi", "RSSMRA85T10A562S", "RSSMRA85T10A562S", "M", day(1985, 12, 10), "A562"},
		{"public CNS example", "MSRNTN77H15C351X", "MSRNTN77H15C351X", "M", day(1977, 6, 15), "C351"},
		{"woman", "BNCGLI90A41F205H", "BNCGLI90A41F205H", "F", day(1990, 1, 1), "F205"},
		{"woman on the 31st", "RSSMRA85T71A562X", "RSSMRA85T71A562X", "F", day(1985, 12, 31), "A562"},
		{"last day of April", "RSSMRA85D30A562N", "RSSMRA85D30A562N", "M", day(1985, 4, 30), "A562"},
		{"omocodic last digit", "RSSMRA85T10A56NH", "RSSMRA85T10A56NH", "M", day(1985, 12, 10), "A562"},
		{"omocodic every digit", "RSSMRAURTMLARSNL", "RSSMRAURTMLARSNL", "M", day(1985, 12, 10), "A562"},
		{"omocodic woman", "BNCGLI90A41F2LRN", "BNCGLI90A41F2LRN", "F", day(1990, 1, 1), "F205"},
		{"born abroad", "ZZZZZZ00A01Z404H", "ZZZZZZ00A01Z404H", "M", day(2000, 1, 1), "Z404"},
		{"lower case and spaces", " rssmra 85t10 a562s ", "RSSMRA85T10A562S", "M", day(1985, 12, 10), "A562"},
		{"tabs and new lines", "\tRSSMRA85T10\nA562s\r\n", "RSSMRA85T10A562S", "M", day(1985, 12, 10), "A562"},
		{"29 February 2000", "VRDLGU00B29F205X", "VRDLGU00B29F205X", "M", day(2000, 2, 29), "F205"},
		{"29 February 1996", "VRDLGU96B29F205X", "VRDLGU96B29F205X", "M", day(1996, 2, 29), "F205"},
		{"29 February 2024, woman", "VRDGNN24B69F205C", "VRDGNN24B69F205C", "F", day(2024, 2, 29), "F205"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.in, today)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.in, err)
			}
			if got, want := c, tt.code; got != want {
				t.Errorf("code = %q, want %q", got, want)
			}
			if got, want := c.String(), string(tt.code); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if got, want := c.Sex(), tt.sex; got != want {
				t.Errorf("Sex() = %q, want %q", got, want)
			}
			if got, want := c.BirthDate(today), tt.birth; !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("BirthDate() = %v, want %v", got, want)
			}
			if got, want := c.BirthPlace(), tt.place; got != want {
				t.Errorf("BirthPlace() = %q, want %q", got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrLength},
		{"only spaces", "   ", ErrLength},
		{"too short", "RSSMRA85T10A562", ErrLength},
		{"too long", "RSSMRA85T10A562SS", ErrLength},
		{"accented letter", "RSSMRÀ85T10A562S", ErrFormat},
		{"dotless i is not upper-cased", "RSSMRA85T10A562ı", ErrFormat},
		{"digit in a name position", "R5SMRA85T10A562S", ErrFormat},
		{"non-omocodic letter in the year", "RSSMRA8AT10A562S", ErrFormat},
		{"digit as month", "RSSMRA85110A562S", ErrFormat},
		{"digit as place letter", "RSSMRA85T100562S", ErrFormat},
		{"digit as check character", "RSSMRA85T10A5620", ErrFormat},
		{"punctuation", "RSSMRA-5T10A562S", ErrFormat},
		// The check letters are right, so only the date is wrong.
		{"month letter Z", "VRDLGU85Z10F205W", ErrDate},
		{"day 00", "RSSMRA85T00A562R", ErrDate},
		{"day 32", "VRDLGU85T32F205T", ErrDate},
		{"day 40", "RSSMRA85T40A562V", ErrDate},
		{"day 72", "VRDLGU85T72F205X", ErrDate},
		{"31 April", "RSSMRA85D31A562M", ErrDate},
		{"31 April, woman", "RSSMRA85D71A562Q", ErrDate},
		{"30 February", "VRDLGU85B30F205B", ErrDate},
		{"29 February 2001", "VRDLGU01B29F205Y", ErrDate},
		{"wrong check letter", "RSSMRA85T10A562T", ErrCheck},
		{"wrong check letter, CNS example", "MSRNTN77H15C351A", ErrCheck},
		{"omocodic with the original check letter", "RSSMRA85T10A56NS", ErrCheck},
		{"swapped digits", "RSSMRA58T10A562S", ErrCheck},
	}
	all := []error{ErrLength, ErrFormat, ErrDate, ErrCheck}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.in, today)
			if !errors.Is(err, tt.want) {
				t.Fatalf("parse(%q) = %q, %v; want %v", tt.in, c, err, tt.want)
			}
			if c != "" {
				t.Errorf("parse(%q) code = %q, want empty", tt.in, c)
			}
			// The UI picks its message by the first match, so the
			// errors must not overlap.
			for _, other := range all {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("parse(%q) error %v is also %v", tt.in, err, other)
				}
			}
		})
	}
}

func TestCentury(t *testing.T) {
	cest := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name  string
		today time.Time
		in    string
		want  time.Time // zero: ErrDate
	}{
		{"born today", today, "RSSMRA26E14F205H", day(2026, 5, 14)},
		{"tomorrow is a century ago", today, "RSSMRA26E15F205L", day(1926, 5, 15)},
		{"last year", today, "RSSMRA25E15F205K", day(2025, 5, 15)},
		{"next year is a century ago", today, "RSSMRA27E14F205I", day(1927, 5, 14)},
		{"00", today, "RSSMRA00A01A001J", day(2000, 1, 1)},
		{"99", today, "RSSMRA99T31Z999Z", day(1999, 12, 31)},
		{"99 on the last day of 1999", day(1999, 12, 31), "RSSMRA99T31Z999Z", day(1999, 12, 31)},
		{"00 in 1999", day(1999, 12, 31), "RSSMRA00A01A001J", day(1900, 1, 1)},
		{"00 on 1 January 2000", day(2000, 1, 1), "RSSMRA00A01A001J", day(2000, 1, 1)},
		{"00 in 2100", day(2100, 1, 1), "RSSMRA00A01A001J", day(2100, 1, 1)},
		{"99 in 2100", day(2100, 1, 1), "RSSMRA99T31Z999Z", day(2099, 12, 31)},
		// 2000 is a leap year, 1900 is not: the century decides.
		{"29 February 00 in 2026", today, "VRDLGU00B29F205X", day(2000, 2, 29)},
		{"29 February 00 in 1999", day(1999, 12, 31), "VRDLGU00B29F205X", time.Time{}},
		{"29 February 00 on 28 February 2000", day(2000, 2, 28), "VRDLGU00B29F205X", time.Time{}},
		{"29 February 00 on the day", day(2000, 2, 29), "VRDLGU00B29F205X", day(2000, 2, 29)},
		{"29 February 00, woman, in 2026", today, "VRDGNN00B69F205U", day(2000, 2, 29)},
		{"29 February 24 on 28 February 2024", day(2024, 2, 28), "VRDGNN24B69F205C", day(1924, 2, 29)},
		// Today is the caller's calendar day: already 15 May in Italy
		// while still 14 May in UTC.
		{"today in the caller's zone", time.Date(2026, 5, 15, 0, 30, 0, 0, cest), "RSSMRA26E15F205L", day(2026, 5, 15)},
		{"tomorrow in the caller's zone", time.Date(2026, 5, 14, 23, 30, 0, 0, time.UTC), "RSSMRA26E15F205L", day(1926, 5, 15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(tt.in, tt.today)
			if tt.want.IsZero() {
				if !errors.Is(err, ErrDate) {
					t.Errorf("parse(%q) on %v = %q, %v; want ErrDate", tt.in, tt.today, c, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q) on %v: %v", tt.in, tt.today, err)
			}
			if got, want := c.BirthDate(tt.today), tt.want; !got.Equal(want) {
				t.Errorf("BirthDate(%v) = %v, want %v", tt.today, got, want)
			}
		})
	}
}

// TestOmocodia replaces every subset of the seven digit positions with
// their letters: each variant must parse, once its check letter is
// recomputed, to the same person.
func TestOmocodia(t *testing.T) {
	digitPos := []int{6, 7, 9, 10, 12, 13, 14}
	for _, base := range []Code{"RSSMRA85T10A562S", "BNCGLI90A41F205H", "MSRNTN77H15C351X", "VRDLGU00B29F205X"} {
		for mask := range 1 << len(digitPos) {
			b := []byte(base[:15])
			for i, p := range digitPos {
				if mask&(1<<i) != 0 {
					b[p] = omocodic[b[p]-'0']
				}
			}
			c, err := complete(string(b), today)
			if err != nil {
				t.Errorf("complete(%q): %v", b, err)
				continue
			}
			if got, want := c.Sex(), base.Sex(); got != want {
				t.Errorf("%s: Sex() = %q, want %q", c, got, want)
			}
			if got, want := c.BirthDate(today), base.BirthDate(today); !got.Equal(want) {
				t.Errorf("%s: BirthDate() = %v, want %v", c, got, want)
			}
			if got, want := c.BirthPlace(), base.BirthPlace(); got != want {
				t.Errorf("%s: BirthPlace() = %q, want %q", c, got, want)
			}
			if mask != 0 && c == base {
				t.Errorf("%s: variant %d equals the base code", c, mask)
			}
		}
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		first15 string
		want    Code
		err     error
	}{
		{"RSSMRA85T10A562", "RSSMRA85T10A562S", nil},
		{"MSRNTN77H15C351", "MSRNTN77H15C351X", nil},
		{"BNCGLI90A41F2LR", "BNCGLI90A41F2LRN", nil},
		{"RSSMRA85T10A56", "", ErrLength},
		{"RSSMRA85T10A5621", "", ErrLength},
		{"rssmra85t10a562", "", ErrFormat},
		{"R5SMRA85T10A562", "", ErrFormat},
		{"VRDLGU85Z10F205", "", ErrDate},
		{"VRDLGU01B29F205", "", ErrDate},
	}
	for _, tt := range tests {
		got, err := complete(tt.first15, today)
		if !errors.Is(err, tt.err) {
			t.Errorf("complete(%q) error = %v, want %v", tt.first15, err, tt.err)
		}
		if got != tt.want {
			t.Errorf("complete(%q) = %q, want %q", tt.first15, got, tt.want)
		}
	}
}

// TestNow goes through the exported functions, which use the real clock,
// with codes whose validity cannot depend on it.
func TestNow(t *testing.T) {
	c, err := Parse(" rssmra85t10a562s")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c, Code("RSSMRA85T10A562S"); got != want {
		t.Errorf("Parse = %q, want %q", got, want)
	}
	if got, want := c.BirthDate(time.Now()), day(1985, 12, 10); !got.Equal(want) {
		t.Errorf("BirthDate = %v, want %v", got, want)
	}
	if _, err := Parse("RSSMRA85T10A562T"); !errors.Is(err, ErrCheck) {
		t.Errorf("Parse with a wrong check letter: %v", err)
	}
	if got, err := Complete("MSRNTN77H15C351"); err != nil || got != "MSRNTN77H15C351X" {
		t.Errorf("Complete = %q, %v", got, err)
	}
}

// TestConvertedCodes covers Codes made by conversion rather than Parse:
// the accessors must not panic, and give zero values when they cannot
// answer.
func TestConvertedCodes(t *testing.T) {
	for _, c := range []Code{"", "RSSMRA", "RSSMRA85T10A562SX", "RSSMRA8AT10A562S", "RSSMRÀ85T10A562S", Code(strings.Repeat("9", 16))} {
		if got := c.Sex(); got != "" {
			t.Errorf("Code(%q).Sex() = %q, want empty", c, got)
		}
		if got := c.BirthDate(today); !got.IsZero() {
			t.Errorf("Code(%q).BirthDate() = %v, want zero", c, got)
		}
		if got := c.BirthPlace(); got != "" {
			t.Errorf("Code(%q).BirthPlace() = %q, want empty", c, got)
		}
	}
	// A month letter that is no month, or 29 February in a year that a
	// different today makes non-leap: no date rather than a wrong one.
	for _, tt := range []struct {
		c     Code
		today time.Time
	}{
		{"VRDLGU85Z10F205W", today},
		{"VRDLGU00B29F205X", day(1999, 12, 31)},
	} {
		if got := tt.c.BirthDate(tt.today); !got.IsZero() {
			t.Errorf("Code(%q).BirthDate(%v) = %v, want zero", tt.c, tt.today, got)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	inputs := []string{"RSSMRA85T10A562S", " rssmra 85t10 a562s ", "RSSMRAURTMLARSNL", "RSSMRA85T10A562T"}
	for b.Loop() {
		for _, s := range inputs {
			_, _ = Parse(s)
		}
	}
}

// Spellings: 128 distinct valid codes, the base first, the code itself
// among them, the same from any of them.
func TestSpellings(t *testing.T) {
	base, err := Complete("RSSMRA85M01F205")
	if err != nil {
		t.Fatal(err)
	}
	all := base.Spellings()
	if len(all) != 128 || all[0] != base {
		t.Fatalf("%d spellings, first %s", len(all), all[0])
	}
	seen := map[Code]bool{}
	for _, s := range all {
		if _, err := Parse(string(s)); err != nil || seen[s] {
			t.Fatalf("spelling %s: %v, seen %v", s, err, seen[s])
		}
		seen[s] = true
	}
	other := all[77]
	again := other.Spellings()
	if again[0] != base || len(again) != 128 || !seen[other] {
		t.Fatalf("the spellings of %s start at %s", other, again[0])
	}
	if Code("nonsense").Spellings() != nil {
		t.Fatal("spellings of a malformed code")
	}
}
