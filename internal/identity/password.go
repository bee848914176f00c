package identity

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: 64 MiB and two passes cost about 85 ms of one core on
// the project's reference machine (see the README), within the 50-100 ms a
// login may spend, and make each guess expensive for whoever steals the table.
const (
	argonMemory  = 64 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MinPasswordLength and MaxPasswordLength bound what a password may be.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

// Password policy errors, each with a message for the form.
var (
	ErrPasswordShort  = errors.New("password too short")
	ErrPasswordLong   = errors.New("password too long")
	ErrPasswordCommon = errors.New("password too common")
)

//go:embed common-passwords.txt
var commonPasswordsText string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
}()

// CheckPassword applies the policy: at least 10 characters, not one of the
// most common passwords (or one with a few digits or symbols added), not the
// email address or the fiscal code.
func CheckPassword(password string, personal ...string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		return ErrPasswordShort
	}
	if n > MaxPasswordLength {
		return ErrPasswordLong
	}
	lower := strings.ToLower(password)
	core := strings.TrimRight(strings.TrimLeft(lower, "0123456789!?.*_-@#$ "), "0123456789!?.*_-@#$ ")
	if commonPasswords[lower] || commonPasswords[core] || isRepetitive(lower) || commonWithPadding(lower) {
		return ErrPasswordCommon
	}
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		if local, _, ok := strings.Cut(p, "@"); ok {
			p = local
		}
		if len(p) >= 4 && strings.Contains(lower, p) {
			return ErrPasswordCommon
		}
	}
	return nil
}

// padding is what people stick on a common word: digits and symbols.
const padding = "0123456789!?.*_-@#$ "

// commonWithPadding catches a common password with digits or symbols added
// before or after it ("abc1232024!", "2024trustno1"), including when the
// common word itself ends or starts with digits.
func commonWithPadding(s string) bool {
	for i := 1; i < len(s); i++ {
		if strings.Trim(s[i:], padding) == "" && commonPasswords[s[:i]] {
			return true
		}
		if strings.Trim(s[:i], padding) == "" && commonPasswords[s[i:]] {
			return true
		}
	}
	return false
}

// isRepetitive catches "aaaaaaaaaa", "1234567890", "abcabcabcabc".
func isRepetitive(s string) bool {
	for period := 1; period <= 3; period++ {
		if len(s) >= 2*period && strings.Repeat(s[:period], len(s)/period+1)[:len(s)] == s {
			return true
		}
	}
	return strings.Contains("01234567890123456789", s) || strings.Contains("abcdefghijklmnopqrstuvwxyz", s) ||
		strings.Contains("qwertyuiopasdfghjklzxcvbnm", s)
}

// HashPassword returns the PHC-format argon2id hash of password. It runs at
// once: requests go through a Hasher, which bounds how many run together.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// dummyHash is compared against when an account does not exist, so a login
// for an unknown address takes as long as one for a known address: a hash
// with the same parameters, salt and key lengths as HashPassword's, whose
// key is random bytes, not the key of any password (callers also refuse a
// match against it). Computing it with argon2 cost every start of every
// civico command 64 MiB and, on the 2-core machine, 1.8 s.
var dummyHash = func() string {
	salt, key := make([]byte, argonSaltLen), make([]byte, argonKeyLen)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}()

// VerifyPassword reports whether password matches the PHC hash; it reads the
// parameters from the hash, so they can be raised without invalidating old
// hashes.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil || memory == 0 || time == 0 || threads == 0 || memory > 1<<20 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want))) // #nosec G115 -- want is decoded from a stored hash string (32 bytes from HashPassword), far below 2^32
	return subtle.ConstantTimeCompare(got, want) == 1
}
