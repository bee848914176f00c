package identity

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		password string
		personal []string
		want     error
	}{
		{"corto", nil, ErrPasswordShort},
		{"nove-char", nil, ErrPasswordShort},
		{strings.Repeat("x", 257), nil, ErrPasswordLong},
		{"password123", nil, ErrPasswordCommon},
		{"Juventus1897!", nil, ErrPasswordCommon},
		{"1234567890", nil, ErrPasswordCommon},
		{"aaaaaaaaaaaa", nil, ErrPasswordCommon},
		{"abcabcabcabc", nil, ErrPasswordCommon},
		{"2024CiniselloBalsamo", nil, ErrPasswordCommon},
		{"mario.rossi.1985", []string{"mario.rossi@example.it"}, ErrPasswordCommon},
		{"RSSMRA85T10A562Sxx", []string{"RSSMRA85T10A562S"}, ErrPasswordCommon},
		{"abc1232024!", nil, ErrPasswordCommon},
		{"trustno12024", nil, ErrPasswordCommon},
		{"1q2w3e4r5t!", nil, ErrPasswordCommon},
		{"2024!qwerty123", nil, ErrPasswordCommon},
		{"tram-per-Sesto-alle-7", []string{"mario.rossi@example.it"}, nil},
		{"àèìòù città mia", nil, nil},
	}
	for _, tt := range tests {
		if got := CheckPassword(tt.password, tt.personal...); !errors.Is(got, tt.want) {
			t.Errorf("CheckPassword(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
}

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("tram-per-Sesto-alle-7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id with the documented parameters", h)
	}
	if !VerifyPassword(h, "tram-per-Sesto-alle-7") {
		t.Error("the right password is refused")
	}
	if VerifyPassword(h, "tram-per-Sesto-alle-8") {
		t.Error("a wrong password is accepted")
	}
	h2, _ := HashPassword("tram-per-Sesto-alle-7")
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=65536,t=2,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=0,t=2,p=1$c2FsdA$a2V5", "plain"} {
		if VerifyPassword(bad, "x") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func BenchmarkPasswordLogin(b *testing.B) {
	h, _ := HashPassword("tram-per-Sesto-alle-7")
	for b.Loop() {
		VerifyPassword(h, "tram-per-Sesto-alle-7")
	}
}

// The hasher runs one hash per core and lets Queue more wait; anything
// beyond is turned away at once with ErrBusy instead of slowing everyone.
func TestHasherTurnsAwayWhatItCannotQueue(t *testing.T) {
	h := NewHasher(1)
	h.slots = make(chan struct{}, 1) // one core, whatever the machine
	release := make(chan struct{})
	running := make(chan struct{})
	go func() { _ = h.run(context.Background(), func() { close(running); <-release }) }()
	<-running
	queued := make(chan error, 1)
	go func() { queued <- h.run(context.Background(), func() {}) }()
	for h.waiting.Load() != 1 {
		runtime.Gosched()
	}
	if err := h.run(context.Background(), func() { t.Error("ran past the queue") }); !errors.Is(err, ErrBusy) {
		t.Fatalf("third check while one runs and one waits: %v, want ErrBusy", err)
	}
	close(release)
	if err := <-queued; err != nil {
		t.Fatalf("the queued check: %v", err)
	}
	hash, err := HashPassword("civico-a-real-password")
	if err != nil {
		t.Fatal(err)
	}
	ok, err := h.Verify(context.Background(), hash, "civico-a-real-password")
	if err != nil || !ok {
		t.Fatalf("Verify through the hasher: %v %v", ok, err)
	}
}

// The hash an unknown account is checked against costs what a real one
// does: the same algorithm, parameters, and salt and key lengths; no
// password is known to match it.
func TestDummyHashCostsAsARealOne(t *testing.T) {
	real, err := HashPassword("civico-a-real-password")
	if err != nil {
		t.Fatal(err)
	}
	d, r := strings.Split(dummyHash, "$"), strings.Split(real, "$")
	if len(d) != 6 || d[1] != r[1] || d[2] != r[2] || d[3] != r[3] || len(d[4]) != len(r[4]) || len(d[5]) != len(r[5]) {
		t.Fatalf("dummy %q, real %q", dummyHash, real)
	}
	if VerifyPassword(dummyHash, "") || VerifyPassword(dummyHash, "civico-no-such-account-password") {
		t.Fatal("a password matches the dummy hash")
	}
}
