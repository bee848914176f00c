package identity

import (
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// trimmed are the characters CheckPassword strips from both ends before
// comparing with the common passwords.
const trimmed = "0123456789!?.*_-@#$ "

// plainCommon are the common passwords that neither start nor end with one
// of those characters, sorted: for them "word + digits" must be refused.
var plainCommon = func() []string {
	var out []string
	for w := range commonPasswords {
		if w != "" && strings.Trim(w, trimmed) == w {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}()

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// FuzzCheckPassword: the password policy never panics, answers one of its
// three errors or nil, exactly by length for short and long passwords; what
// it accepts is no common password and does not contain the local part of
// the e-mail address; for ASCII passwords case does not matter; a common
// password with digits or symbols added, or with the address's local part
// added, is refused. The seeds are in testdata/fuzz/FuzzCheckPassword.
func FuzzCheckPassword(f *testing.F) {
	f.Add("Tram-Sesto-alle-7", "mario.rossi@example.it", uint16(0), "2024!")
	f.Fuzz(func(t *testing.T, password, email string, pick uint16, suffix string) {
		err := CheckPassword(password, email)
		n := utf8.RuneCountInString(password)
		switch {
		case n < MinPasswordLength:
			if err != ErrPasswordShort {
				t.Fatalf("CheckPassword(%q) = %v for %d characters, want ErrPasswordShort", password, err, n)
			}
		case n > MaxPasswordLength:
			if err != ErrPasswordLong {
				t.Fatalf("CheckPassword(%q) = %v for %d characters, want ErrPasswordLong", password, err, n)
			}
		case err != nil && err != ErrPasswordCommon:
			t.Fatalf("CheckPassword(%q) = %v", password, err)
		}
		lower := strings.ToLower(password)
		local, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
		if err == nil {
			if commonPasswords[lower] {
				t.Fatalf("common password %q accepted", password)
			}
			if len(local) >= 4 && strings.Contains(lower, local) {
				t.Fatalf("password %q containing the address %q accepted", password, email)
			}
		}
		if isASCII(password) {
			if upper := CheckPassword(strings.ToUpper(password), email); upper != err {
				t.Fatalf("CheckPassword(%q) = %v but CheckPassword(%q) = %v", password, err, strings.ToUpper(password), upper)
			}
		}
		// Personal data added to an acceptable password.
		if len(local) >= 4 {
			with := password + local
			if m := utf8.RuneCountInString(with); m >= MinPasswordLength && m <= MaxPasswordLength {
				if err := CheckPassword(with, email); err != ErrPasswordCommon {
					t.Fatalf("CheckPassword(%q, %q) = %v, want ErrPasswordCommon", with, email, err)
				}
			}
		}
		// A common password, in any case, with digits and symbols around it.
		if len(plainCommon) > 0 {
			word := plainCommon[int(pick)%len(plainCommon)]
			extra := strings.Map(func(r rune) rune {
				if strings.ContainsRune(trimmed, r) {
					return r
				}
				return -1
			}, suffix)
			half := len(extra) / 2
			decorated := extra[:half] + strings.ToUpper(word) + extra[half:]
			if m := utf8.RuneCountInString(decorated); m >= MinPasswordLength && m <= MaxPasswordLength {
				if err := CheckPassword(decorated); err != ErrPasswordCommon {
					t.Fatalf("CheckPassword(%q) = %v, want ErrPasswordCommon (common %q)", decorated, err, word)
				}
			}
		}
	})
}

// FuzzValidEmail: an address ValidEmail accepts is one plain address that
// goes into a To: header as it is: at most 254 bytes, no spaces, control
// characters, quotes, brackets, commas or semicolons, exactly one "@" with a
// dotted domain after it, and net/mail reads it, and writes and reads it
// again, as exactly itself. Registration lower-cases the address first, so
// that must not make a valid address invalid. The seeds are in
// testdata/fuzz/FuzzValidEmail.
func FuzzValidEmail(f *testing.F) {
	f.Add("mario.rossi@example.it")
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidEmail(s) {
			return
		}
		if len(s) > 254 {
			t.Fatalf("%d bytes accepted", len(s))
		}
		if i := strings.IndexFunc(s, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError || strings.ContainsRune("\"<>(),;\\", r)
		}); i >= 0 {
			t.Fatalf("ValidEmail(%q) = true with %q in it", s, []rune(s[i:])[0])
		}
		local, domain, ok := strings.Cut(s, "@")
		if !ok || local == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") {
			t.Fatalf("ValidEmail(%q) = true: not local@dotted.domain", s)
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s {
			t.Fatalf("mail.ParseAddress(%q) = %v, %v", s, a, err)
		}
		header := (&mail.Address{Name: "Mario Rossi", Address: s}).String()
		if b, err := mail.ParseAddress(header); err != nil || b.Address != s {
			t.Fatalf("as a header %q reads back as %v, %v", header, b, err)
		}
		if n := NormalizeEmail(s); isASCII(s) && !ValidEmail(n) {
			t.Fatalf("ValidEmail(%q) = true but ValidEmail(%q) = false", s, n)
		}
	})
}

// FuzzCheckTOTP: the one-time code check never panics on any secret and
// code; codes are always six ASCII digits; it accepts a code only if it is
// the code of the current 30-second step or of the one before or after
// (spaces inside ignored), and for a real secret (base32, in either case)
// it accepts each of those three. The seeds are in
// testdata/fuzz/FuzzCheckTOTP.
func FuzzCheckTOTP(f *testing.F) {
	f.Add([]byte("12345678901234567890"), "287082", int64(59), "")
	f.Fuzz(func(t *testing.T, key []byte, code string, unix int64, rawSecret string) {
		// Any time from 1970 to about 36 000 years later, whole seconds.
		if unix < 0 {
			unix = -(unix + 1)
		}
		now := time.Unix(60+unix%(1<<40), 0)
		// Whatever the secret and the code, no panic.
		_ = CheckTOTP(rawSecret, code, now)
		if c, err := TOTPCode(rawSecret, now); err == nil && !sixDigits(c) {
			t.Fatalf("TOTPCode(%q) = %q", rawSecret, c)
		}

		secret := b32.EncodeToString(key)
		var window []string
		for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
			c, err := TOTPCode(secret, now.Add(d))
			if err != nil || !sixDigits(c) {
				t.Fatalf("TOTPCode(%q, %v) = %q, %v", secret, now.Add(d), c, err)
			}
			window = append(window, c)
		}
		normal := strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
		if CheckTOTP(secret, code, now) {
			if len(key) == 0 {
				t.Fatal("a code accepted for an empty secret")
			}
			if !sixDigits(normal) || !slices.Contains(window, normal) {
				t.Fatalf("code %q accepted at %v; the window is %v", code, now, window)
			}
		}
		if len(key) == 0 {
			return
		}
		for _, c := range window {
			spaced := c[:3] + " " + c[3:]
			if !CheckTOTP(secret, c, now) || !CheckTOTP(strings.ToLower(secret), spaced, now) {
				t.Fatalf("code %q of the window %v refused for secret %q at %v", c, window, secret, now)
			}
		}
	})
}

func sixDigits(s string) bool {
	return len(s) == 6 && strings.Trim(s, "0123456789") == ""
}
