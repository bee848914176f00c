package oidcop

import (
	"strings"
	"testing"
)

// FuzzValidURI: a redirect URI a registration accepts is absolute, without fragment or
// spaces, and http(s) with a host or a reverse-domain scheme of a public
// client.
func FuzzValidURI(f *testing.F) {
	for _, s := range []string{"https://x.example/cb", "http://127.0.0.1:9/cb", "it.comune.app:/cb", "javascript:alert(1)", "/cb", "https://x/cb#f", "https:///cb"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, public bool) {
		if checkURI(raw, public, false) != nil {
			return
		}
		if strings.ContainsAny(raw, " \t\r\n#") {
			t.Fatalf("accepted %q", raw)
		}
		scheme, rest, ok := strings.Cut(raw, ":")
		if !ok {
			t.Fatalf("accepted %q without scheme", raw)
		}
		switch strings.ToLower(scheme) {
		case "http", "https":
			if !strings.HasPrefix(rest, "//") || len(rest) < 3 {
				t.Fatalf("accepted %q without host", raw)
			}
		default:
			if !public || !strings.Contains(scheme, ".") {
				t.Fatalf("accepted %q (public %v)", raw, public)
			}
		}
	})
}
