package sealed

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A sealed value opens with its key and id only, and hides what it holds.
func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("private key bytes")
	enc := b.Seal(secret, "key-1")
	if strings.Contains(enc, "private") || enc == b.Seal(secret, "key-1") {
		t.Fatalf("sealed value %q: clear or repeated", enc)
	}
	got, err := b.Open(enc, "key-1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := b.Open(enc, "key-2"); !errors.Is(err, ErrOpen) {
		t.Errorf("moved to another row: %v", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(enc, "key-1"); !errors.Is(err, ErrOpen) {
		t.Errorf("another secret: %v", err)
	}
	for _, bad := range []string{"", "!!", enc[:10], enc[:len(enc)-4] + "AAAA"} {
		if _, err := b.Open(bad, "key-1"); !errors.Is(err, ErrOpen) {
			t.Errorf("open %q: %v", bad, err)
		}
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
