package main

import (
	"net/http"
	"testing"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/throttle"
)

// The harness's registrations need valid, distinct fiscal codes, none of
// them a demo person's.
func TestFiscalCodesAreValidAndDistinct(t *testing.T) {
	seen := map[string]int{}
	for n := 0; n < 26*26*26*26; n += 7 {
		code, err := fiscalCode(n)
		if err != nil {
			t.Fatalf("fiscalCode(%d): %v", n, err)
		}
		if parsed, err := cf.Parse(code); err != nil || string(parsed) != code {
			t.Fatalf("fiscalCode(%d) = %q: Parse says %q, %v", n, code, parsed, err)
		}
		if m, dup := seen[code]; dup {
			t.Fatalf("fiscalCode(%d) = fiscalCode(%d) = %q", n, m, code)
		}
		seen[code] = n
	}
	if _, err := fiscalCode(26 * 26 * 26 * 26); err == nil {
		t.Error("fiscalCode beyond its range did not fail")
	}
}

// Only the complete success answer counts as an acknowledgement.
func TestJudge(t *testing.T) {
	redirect := func(status int, loc string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Location": {loc}}}
	}
	tests := []struct {
		kind opKind
		resp *http.Response
		body string
		want outcome
	}{
		{rating, redirect(303, "/?valutazione=grazie#feedback"), "", acknowledged},
		{rating, redirect(303, "/?valutazione=errore#feedback"), "", unexpected},
		{rating, redirect(500, ""), "", unexpected},
		{registration, &http.Response{StatusCode: 200}, "<p>Ti abbiamo scritto: apri il messaggio", acknowledged},
		{registration, &http.Response{StatusCode: 200}, "<form>", unexpected},
		{registration, &http.Response{StatusCode: 422}, "Ti abbiamo scritto", unexpected},
	}
	for i, tt := range tests {
		if got, detail := judge(tt.kind, tt.resp, []byte(tt.body)); got != tt.want {
			t.Errorf("%d: judge = %v (%s), want %v", i, got, detail, tt.want)
		}
	}
}

// Every rating comes from a client of its own, so that the per-client
// limits never refuse one.
func TestClientsAreDistinct(t *testing.T) {
	seen := map[string]int{}
	for n := 0; n < 1<<18; n += 3 {
		c := throttle.Client(clientOf(n))
		if m, dup := seen[c]; dup {
			t.Fatalf("writes %d and %d share the client %s", m, n, c)
		}
		seen[c] = n
	}
}
