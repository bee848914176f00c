package web

import (
	"strings"
	"testing"
	"testing/fstest"
)

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

// TestTranslate: simple and rich messages; a message the language lacks
// comes back as its id, and is noted missing, whether another language has
// it or not.
func TestTranslate(t *testing.T) {
	files := fstest.MapFS{
		"locales/it.json": {Data: []byte(`{"a": "Ciao {{.Name}}", "b": "{{if .N}}{{.N}} pratiche{{else}}nessuna{{end}}", "c": "solo in italiano", "d": "{{if .X}}x{{end}}solo"}`)},
		"locales/en.json": {Data: []byte(`{"a": "Hello {{.Name}}", "b": "{{if .N}}{{.N}} applications{{else}}none{{end}}"}`)},
	}
	x, err := NewI18n(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lang, id string
		args     []any
		want     string
	}{
		{"it", "a", []any{"Name", "Luca"}, "Ciao Luca"},
		{"en", "a", []any{"Name", "Luca"}, "Hello Luca"},
		{"it", "b", []any{"N", 3}, "3 pratiche"},
		{"en", "b", nil, "none"},
		{"it", "c", nil, "solo in italiano"},
		{"it", "d", nil, "solo"},
		{"en", "c", nil, "c"},
		{"en", "d", nil, "d"},
		{"en", "zz", nil, "zz"},
		// A language civico does not speak is the first one, as go-i18n
		// made it.
		{"it-IT", "a", []any{"Name", "Luca"}, "Ciao Luca"},
		{"", "b", []any{"N", 2}, "2 pratiche"},
	} {
		if got := x.T(tt.lang, tt.id, tt.args...); got != tt.want {
			t.Errorf("T(%s, %s) = %q, want %q", tt.lang, tt.id, got, tt.want)
		}
	}
	if m := x.Missing(); strings.Join(m, ",") != "en c,en d,en zz" {
		t.Errorf("missing = %v", m)
	}
}
