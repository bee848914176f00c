package identity

import (
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 here).
func TestTOTPVectors(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	tests := map[int64]string{59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037"}
	for unix, want := range tests {
		got, err := TOTPCode(secret, time.Unix(unix, 0))
		if err != nil || got != want {
			t.Errorf("TOTP at %d = %q, %v; want %q", unix, got, err, want)
		}
	}
	now := time.Unix(1234567890, 0)
	if !CheckTOTP(secret, "005924", now) || !CheckTOTP(secret, "005924", now.Add(30*time.Second)) {
		t.Error("the current code, or one step late, is refused")
	}
	if CheckTOTP(secret, "005924", now.Add(2*time.Minute)) || CheckTOTP(secret, "12345", now) || CheckTOTP("", "005924", now) {
		t.Error("a stale, short or secretless code is accepted")
	}
}
