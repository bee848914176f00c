package oidcop

import (
	"strings"
	"testing"
	"time"
)

// A sealed authorization request opens only under the installation's key,
// unaltered and in time, and gives back what was sealed.
func TestSealedAuthRequests(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC)
	clock := func() time.Time { return now }
	s := &Storage{Now: clock, requests: newRequestAEAD(testSecret(t, "p").Derive("oidc authorization requests", 32))}
	other := &Storage{Now: clock, requests: newRequestAEAD(testSecret(t, "q").Derive("oidc authorization requests", 32))}
	maxAge := uint(60)
	a := &AuthRequest{ClientID: "scuole", CreatedAt: now, Req: requestData{RedirectURI: "https://x.example/cb", Scopes: []string{"openid"},
		State: "st", Nonce: "n", MaxAge: &maxAge, Prompt: []string{"login"}, ACRValues: []string{"http://eidas.europa.eu/LoA/high"}, HintSubject: "sub"}}
	id, err := s.seal(a)
	if err != nil || !strings.HasPrefix(id, sealedPrefix) {
		t.Fatalf("seal: %q %v", id, err)
	}
	got, err := s.openSealed(id)
	if err != nil || !got.sealed() || got.ClientID != "scuole" || !got.CreatedAt.Equal(now) || got.Req.State != "st" || *got.Req.MaxAge != 60 ||
		got.Req.HintSubject != "sub" || !got.hasPrompt("login") || got.IsDone {
		t.Fatalf("open: %+v %v", got, err)
	}
	if again, _ := s.seal(a); again == id {
		t.Fatal("two seals of one request are alike: the nonce is not fresh")
	}
	b := []byte(id)
	b[len(b)-10] ^= 1
	for name, bad := range map[string]string{"altered": string(b), "cut": id[:len(id)-1], "empty": sealedPrefix, "not base64": sealedPrefix + "!!"} {
		if _, err := s.openSealed(bad); err == nil {
			t.Errorf("%s id opened", name)
		}
	}
	if _, err := other.openSealed(id); err == nil {
		t.Error("another installation's key opened the request")
	}
	now = now.Add(authRequestLifetime)
	if _, err := s.openSealed(id); err == nil {
		t.Error("a request ten minutes old opened")
	}
}
