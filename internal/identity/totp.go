package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	otphotp "github.com/pquerna/otp/hotp"
)

// Operators logging in with a password also give a one-time code from an
// authenticator app (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits).

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random 160-bit secret in base32.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return b32.EncodeToString(b)
}

// TOTPCode is the code of secret at time t.
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := b32.DecodeString(strings.ToUpper(strings.ReplaceAll(secret, " ", "")))
	if err != nil {
		return "", err
	}
	return hotp(key, uint64(t.Unix()/30)), nil // #nosec G115 -- t is the clock's time, after 1970: t.Unix()/30 is positive
}

// hotp is the RFC 4226 code of a counter, as pquerna/otp computes it.
func hotp(key []byte, counter uint64) string {
	code, err := otphotp.GenerateCodeCustom(b32.EncodeToString(key), counter, otphotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "" // matches no code: the key was decoded from base32 above, so this does not happen
	}
	return code
}

// CheckTOTP accepts the code of the current step or of the one before or
// after, to allow for clocks a little apart.
func CheckTOTP(secret, code string, t time.Time) bool {
	_, ok := MatchTOTP(secret, code, t)
	return ok
}

// MatchTOTP is CheckTOTP that also returns the time step the code belongs
// to, so that a used code can be refused the second time.
func MatchTOTP(secret, code string, t time.Time) (int64, bool) {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != 6 {
		return 0, false
	}
	key, err := b32.DecodeString(strings.ToUpper(secret))
	if err != nil || len(key) == 0 {
		return 0, false
	}
	step := t.Unix() / 30
	matched := int64(0)
	for _, s := range []int64{step - 1, step, step + 1} {
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(s))), []byte(code)) == 1 { // #nosec G115 -- s is the clock's step, after 1970: positive
			matched = s
		}
	}
	return matched, matched > 0
}

// TOTPURI is the otpauth:// address an authenticator app reads.
func TOTPURI(issuer, account, secret string) string {
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + url.Values{
		"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"},
	}.Encode()
}
