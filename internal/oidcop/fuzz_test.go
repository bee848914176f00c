package oidcop

import (
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/cf"
)

// FuzzParseRegistry: whatever the file, the parser never panics, and every
// row it accepts has a valid fiscal code, once, and a short district.
func FuzzParseRegistry(f *testing.F) {
	f.Add("codice_fiscale;quartiere\nRSSMRA85T10A562S;Crocetta\n")
	f.Add("RSSMRA85T10A562S;\"Sant'Eusebio\"\nFRRLCU78H15C707K\n")
	f.Add("RSSMRA85T10A562S;a;b;c\n\"unterminated")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := parseRegistry(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if _, err := cf.Parse(r.fc); err != nil || seen[r.fc] || len(r.district) > 80 {
				t.Fatalf("accepted %q (%v, duplicate %v)", r, err, seen[r.fc])
			}
			seen[r.fc] = true
		}
	})
}

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
