package cf

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, fails only with one of the
// four errors, and that what it accepts is a fixed point consistent with
// CheckChar, Complete and the accessors. The seeds are in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		// Neither may panic on arbitrary input.
		_, _ = CheckChar(s)
		_ = Code(s).Sex() + Code(s).BirthPlace()
		_ = Code(s).BirthDate(time.Now())

		c, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrLength) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDate) && !errors.Is(err, ErrCheck) {
				t.Fatalf("Parse(%q) error %v is none of the four", s, err)
			}
			if c != "" {
				t.Fatalf("Parse(%q) = %q with error %v", s, c, err)
			}
			return
		}
		if got, want := len(c), 16; got != want {
			t.Fatalf("Parse(%q) = %q, length %d", s, c, got)
		}
		again, err := Parse(string(c))
		if err != nil || again != c {
			t.Fatalf("Parse(%q) = %q, %v; want %q", c, again, err, c)
		}
		check, err := CheckChar(string(c[:15]))
		if err != nil || check != c[15] {
			t.Fatalf("CheckChar(%q) = %q, %v; want %q", c[:15], check, err, c[15])
		}
		completed, err := Complete(string(c[:15]))
		if err != nil || completed != c {
			t.Fatalf("Complete(%q) = %q, %v; want %q", c[:15], completed, err, c)
		}
		if sex := c.Sex(); sex != "M" && sex != "F" {
			t.Fatalf("%q: Sex() = %q", c, sex)
		}
		if place := c.BirthPlace(); len(place) != 4 || place[0] != c[11] {
			t.Fatalf("%q: BirthPlace() = %q", c, place)
		}
		// BirthDate is UTC midnight of a calendar day, so compare it with
		// today's calendar day, not with the instant.
		now := time.Now()
		y, m, d := now.Date()
		today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		birth := c.BirthDate(now)
		if birth.IsZero() || birth.After(today) || !birth.After(today.AddDate(-100, 0, 0)) {
			t.Fatalf("%q: BirthDate(%v) = %v, want in (%v, %v]", c, now, birth, today.AddDate(-100, 0, 0), today)
		}
	})
}
