package web

import "testing"

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"":                      "/",
		"/servizi":              "/servizi",
		"/faq?x=1":              "/faq?x=1",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"/a\r\nSet-Cookie: x":   "/",
	}
	for in, want := range tests {
		if got := SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{
		"gzip":                true,
		"br, gzip;q=0.8":      true,
		"gzip;q=0":            false,
		"gzip; q=0.0":         false,
		"deflate":             false,
		"":                    false,
		"GZIP":                true,
		"identity, gzip;q=.5": true,
	}
	for in, want := range tests {
		if got := acceptsGzipHeader(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSimpleMessages(t *testing.T) {
	tests := []struct {
		text string
		args []any
		want string
		ok   bool
	}{
		{"Vai al contenuto", nil, "Vai al contenuto", true},
		{"Regione {{.Region}}", []any{"Region", "Lombardia"}, "Regione Lombardia", true},
		{"{{ .A }} e {{.B}}!", []any{"B", 2, "A", "uno"}, "uno e 2!", true},
		{"Manca {{.X}}", nil, "Manca <no value>", true},
		{"{{if .X}}sì{{end}}", nil, "", false},
	}
	for _, tt := range tests {
		sm, ok := compileSimple(tt.text)
		if ok != tt.ok {
			t.Errorf("compileSimple(%q) ok = %v", tt.text, ok)
			continue
		}
		if ok {
			if got := sm.format(tt.args); got != tt.want {
				t.Errorf("%q with %v = %q, want %q", tt.text, tt.args, got, tt.want)
			}
		}
	}
}
