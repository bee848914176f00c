package oidcop

import (
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/identity"
)

func TestAgeBand(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ birth, want string }{
		{"2008-11-27", "0-17"},  // 18 tomorrow
		{"2008-11-26", "18-24"}, // 18 today
		{"2002-01-01", "18-24"},
		{"2001-11-26", "25-34"},
		{"1981-11-27", "35-44"},
		{"1981-11-26", "45-54"},
		{"1961-11-26", "65-74"},
		{"1951-11-26", "75+"},
		{"", ""},
		{"26/11/1980", ""},
		{"2030-01-01", ""},
	} {
		if got := AgeBand(c.birth, now); got != c.want {
			t.Errorf("AgeBand(%q) = %q, want %q", c.birth, got, c.want)
		}
	}
}

func TestAMR(t *testing.T) {
	if amr := amrOf("crs"); len(amr) == 0 || amr[0] != "sc" {
		t.Errorf("card: %v", amr)
	}
	if amr := amrOf("spid", assurance.Substantial); len(amr) != 3 || amr[2] != "mfa" {
		t.Fatalf("SPID level 2: %v", amr)
	}
	if amr := amrOf("spid", assurance.Low); len(amr) != 1 || amr[0] != "pwd" {
		t.Fatalf("SPID level 1: %v", amr)
	}
	if amr := amrOf("password+totp"); len(amr) != 3 || amr[1] != "otp" {
		t.Errorf("password and code: %v", amr)
	}
}

func TestPairwiseSubjects(t *testing.T) {
	s := &Storage{pairwiseKey: testSecret(t, "p").Derive("oidc pairwise subjects", 32)}
	a, b := &Client{ID: "a", Pairwise: true}, &Client{ID: "b", Pairwise: true}
	acc1, acc2 := &identity.Account{ID: "acc1"}, &identity.Account{ID: "acc2"}
	if s.subject(a, acc1) == s.subject(b, acc1) || s.subject(a, acc1) == s.subject(a, acc2) {
		t.Fatal("pairwise subjects must differ per client and per account")
	}
	again := &Storage{pairwiseKey: testSecret(t, "p").Derive("oidc pairwise subjects", 32)}
	if s.subject(a, acc1) != again.subject(a, acc1) || len(s.subject(a, acc1)) != 43 {
		t.Fatal("pairwise subjects must be stable")
	}
	if s.subject(&Client{ID: "c"}, acc1) != "acc1" {
		t.Fatal("a public-subject client gets the account id")
	}
	// The person's next account, after closing acc1, takes its seed: the
	// same pairwise subject.
	if next := (&identity.Account{ID: "acc9", SubjectSeed: "acc1"}); s.subject(a, next) != s.subject(a, acc1) {
		t.Fatal("an account that took a closed one's subject seed has another subject")
	}
	if s.sessionID("a", "h") == s.sessionID("b", "h") {
		t.Fatal("sid must be pairwise too")
	}
}
