package db

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseURL: whatever CIVICO_DATABASE_URL holds, ParseURL does not
// panic; it refuses with ErrBadURL and an empty Target, or returns a
// SQLite file path without '?' or '#' that reads back the same as
// sqlite://PATH, or the PostgreSQL URL exactly as given. For a PostgreSQL
// URL with a password in it, what Describe logs (redact) never shows the
// password. The seeds are in testdata/fuzz/FuzzParseURL.
func FuzzParseURL(f *testing.F) {
	f.Add("", "./civico-data", "")
	f.Fuzz(func(t *testing.T, raw, dataDir, password string) {
		tg, err := ParseURL(raw, dataDir)
		switch {
		case err != nil:
			if !errors.Is(err, ErrBadURL) || tg != (Target{}) {
				t.Fatalf("ParseURL(%q) = %+v, %v; want an empty Target and ErrBadURL", raw, tg, err)
			}
		case raw == "":
			if want := (Target{Dialect: SQLite, Path: filepath.Join(dataDir, "civico.db")}); tg != want {
				t.Fatalf("ParseURL(\"\", %q) = %+v, want %+v", dataDir, tg, want)
			}
		case tg.Dialect == SQLite:
			if !strings.HasPrefix(raw, "sqlite:") || tg.Path == "" || strings.ContainsAny(tg.Path, "?#") || tg.URL != "" {
				t.Fatalf("ParseURL(%q) = %+v", raw, tg)
			}
			if again, err := ParseURL("sqlite://"+tg.Path, "elsewhere"); err != nil || again != tg {
				t.Fatalf("ParseURL(sqlite://%s) = %+v, %v; want %+v", tg.Path, again, err, tg)
			}
		case tg.Dialect == Postgres:
			if tg.URL != raw || tg.Path != "" || !(strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://")) {
				t.Fatalf("ParseURL(%q) = %+v", raw, tg)
			}
			_ = redact(tg.URL)
		default:
			t.Fatalf("ParseURL(%q) = %+v: unknown dialect", raw, tg)
		}

		// redact, on a URL user:password@host/db?params built from the
		// input: the user, host, database and parameters keep to lower
		// case, the password is marked by upper-case letters and may hold
		// any of @:/?#% as people paste them.
		lower := func(s string) string {
			return strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
					return r
				}
				return -1
			}, s)
		}
		secret := "PW" + strings.Map(func(r rune) rune {
			if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@:/?#%", r) {
				return r
			}
			return -1
		}, password) + "PW"
		host := lower(dataDir)
		if host == "" {
			host = "db.example"
		}
		u := "postgres://" + lower(raw) + ":" + secret + "@" + host + ":5432/civico?sslmode=" + lower(password)
		if got := redact(u); strings.Contains(got, "PW") {
			t.Fatalf("redact(%q) = %q: shows the password", u, got)
		}
	})
}
