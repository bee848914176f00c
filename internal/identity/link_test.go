package identity

import (
	"testing"
	"time"
)

// A password account that carries a proven identity (a fiscal code, or a
// European's eIDAS identifier) is never joined to another account: whoever
// learnt its password would otherwise close it into their own.
func TestLinkableNeverTakesAProvenIdentity(t *testing.T) {
	now := time.Now()
	into := &Account{ID: "into", Kind: KindResident}
	plain := func() *Account {
		return &Account{ID: "from", Kind: KindResident, PasswordHash: "x", EmailVerifiedAt: &now}
	}
	if !linkable(plain(), into) {
		t.Fatal("a plain password account is linkable")
	}
	cases := map[string]func(a *Account){
		"proven fiscal code":      func(a *Account) { a.FiscalCode, a.FiscalCodeSource = "RSSMRA80A01F205X", SourceSPID },
		"proven eIDAS identifier": func(a *Account) { a.EIDASID, a.EIDASIDSource = "DE/IT/123", SourceEIDAS },
	}
	for name, edit := range cases {
		a := plain()
		edit(a)
		if linkable(a, into) {
			t.Errorf("%s: linkable", name)
		}
	}
	a := plain()
	a.EIDASID, a.EIDASIDSource = "DE/IT/123", SourceSelf
	if !linkable(a, into) {
		t.Error("an identifier without proof is a claim, which does not stop a link")
	}
}
