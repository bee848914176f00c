package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		inOutput string
	}{
		{"no arguments prints usage", nil, nil, 0, "Usage:"},
		{"help", nil, []string{"help"}, 0, "civico serve"},
		{"unknown command", nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown flag", nil, []string{"serve", "--bogus"}, 2, "flag provided but not defined"},
		{"stray argument", nil, []string{"version", "extra"}, 2, "unexpected argument"},
		{"bad database URL", map[string]string{"CIVICO_DATABASE_URL": "mysql://x", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_DATABASE_URL"},
		{"bad portal address", map[string]string{"CIVICO_ADDR": "8080", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_ADDR"},
		{"same address twice", map[string]string{"CIVICO_ADDR": "127.0.0.1:9", "CIVICO_PARTECIPA_ADDR": "127.0.0.1:9", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_PARTECIPA_ADDR"},
		{"bad base URL", map[string]string{"CIVICO_BASE_URL": "servizi.comune.it", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_BASE_URL"},
		{"bad log format", map[string]string{"CIVICO_LOG_FORMAT": "xml", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_LOG_FORMAT"},
		{"bad page cache TTL", map[string]string{"CIVICO_PAGE_CACHE_TTL": "ten", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_PAGE_CACHE_TTL"},
		{"TLS without a certificate", map[string]string{"CIVICO_TLS_ADDR": "127.0.0.1:0", "CIVICO_DATA_DIR": dir, "CIVICO_ADDR": "127.0.0.1:0", "CIVICO_PARTECIPA_ADDR": "127.0.0.1:1"}, []string{"serve"}, 2, "CIVICO_TLS_CERT_FILE"},
		{"SMTP without a sender", map[string]string{"CIVICO_SMTP_URL": "smtp://127.0.0.1:25", "CIVICO_DATA_DIR": dir, "CIVICO_ADDR": "127.0.0.1:0", "CIVICO_PARTECIPA_ADDR": "127.0.0.1:1"}, []string{"serve"}, 2, "CIVICO_MAIL_FROM"},
		{"bad strict CRL", map[string]string{"CIVICO_CRS_STRICT_CRL": "maybe", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_CRS_STRICT_CRL"},
		{"no secret key", map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_ADDR": "127.0.0.1:0", "CIVICO_PARTECIPA_ADDR": "127.0.0.1:1"}, []string{"serve"}, 2, "CIVICO_SECRET_KEY"},
		{"short secret key", map[string]string{"CIVICO_SECRET_KEY": "too-short", "CIVICO_DATA_DIR": dir, "CIVICO_ADDR": "127.0.0.1:0", "CIVICO_PARTECIPA_ADDR": "127.0.0.1:1"}, []string{"serve"}, 2, "at least 32"},
		{"bad session timeout", map[string]string{"CIVICO_SESSION_IDLE": "5s", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_SESSION_IDLE"},
		{"bad connection cap", map[string]string{"CIVICO_MAX_CONNS": "many", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_MAX_CONNS must be a whole number"},
		{"no connection per client", map[string]string{"CIVICO_MAX_CONNS_PER_CLIENT": "0", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_MAX_CONNS_PER_CLIENT must be"},
		{"more per client than in all", map[string]string{"CIVICO_MAX_CONNS": "100", "CIVICO_MAX_CONNS_PER_CLIENT": "200", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_MAX_CONNS_PER_CLIENT (200)"},
		{"connections beyond the descriptor limit", map[string]string{"CIVICO_MAX_CONNS": "1000000", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_MAX_CONNS=1000000 does not fit the file-descriptor limit"},
		{"bad read timeout", map[string]string{"CIVICO_READ_TIMEOUT": "forever", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_READ_TIMEOUT"},
		{"headers longer than the request", map[string]string{"CIVICO_READ_HEADER_TIMEOUT": "30s", "CIVICO_READ_TIMEOUT": "10s", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_READ_HEADER_TIMEOUT"},
		{"upload shorter than a request", map[string]string{"CIVICO_UPLOAD_TIMEOUT": "1m", "CIVICO_READ_TIMEOUT": "2m", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_UPLOAD_TIMEOUT"},
		{"bad metrics address", map[string]string{"CIVICO_METRICS_ADDR": "9090", "CIVICO_DATA_DIR": dir}, []string{"serve"}, 2, "CIVICO_METRICS_ADDR"},
		{"secret twice", map[string]string{"CIVICO_DATABASE_URL": "sqlite:x.db", "CIVICO_DATABASE_URL_FILE": "/nonexistent"}, []string{"migrate"}, 2, "both set"},
		{"backup without --out", map[string]string{"CIVICO_DATA_DIR": dir}, []string{"backup"}, 2, "--out"},
		{"restore without --from", map[string]string{"CIVICO_DATA_DIR": dir}, []string{"restore"}, 2, "--from"},
		{"town without verb", nil, []string{"town"}, 2, "civico town import FILE"},
		{"version", nil, []string{"version"}, 0, "database schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.env, tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if !strings.Contains(out+errOut, tt.inOutput) {
				t.Errorf("output %q lacks %q", out+errOut, tt.inOutput)
			}
			if strings.Contains(errOut, "goroutine ") {
				t.Errorf("a stack trace reached the user: %s", errOut)
			}
		})
	}
}

func TestDatabaseURLFromFile(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "url")
	dbPath := filepath.Join(dir, "from-file.db")
	if err := writeFile(secret, "sqlite:"+dbPath+"\n"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, map[string]string{"CIVICO_DATABASE_URL_FILE": secret}, "migrate")
	if code != 0 || !strings.Contains(out, dbPath) {
		t.Fatalf("migrate with CIVICO_DATABASE_URL_FILE: %d %q %q", code, out, errOut)
	}
}

func TestMigrateBackupAndTownCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": dir}
	if code, out, errOut := runCLI(t, env, "migrate"); code != 0 || !strings.Contains(out, "schema now at version") {
		t.Fatalf("first migrate: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, env, "migrate"); code != 0 || !strings.Contains(out, "already at version") {
		t.Fatalf("second migrate: %d %q", code, out)
	}
	if code, _, errOut := runCLI(t, env, "town", "show"); code != 1 || !strings.Contains(errOut, "civico town import") {
		t.Errorf("town show on an empty database: %d %q", code, errOut)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := writeFile(bad, `{"name":"X","province":"Milano"}`); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, env, "town", "import", bad); code != 2 || !strings.Contains(errOut, "town profile: region: required") {
		t.Errorf("import of an invalid profile: %d %q", code, errOut)
	}
	good := filepath.Join(dir, "town.json")
	if err := writeFile(good, string(mustRead(t, "../../internal/town/cinisello-balsamo.json"))); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, env, "town", "import", good); code != 0 || !strings.Contains(out, "Comune di Cinisello Balsamo") {
		t.Fatalf("town import: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, env, "town", "show"); code != 0 || !strings.Contains(out, `"cadastral_code": "C707"`) {
		t.Errorf("town show: %d %q", code, out)
	}
	archive := filepath.Join(t.TempDir(), "civico.tar.gz")
	if code, out, errOut := runCLI(t, env, "backup", "--out", archive); code != 0 || !strings.Contains(out, archive) {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	// The archive holds every account's data: readable by its owner alone.
	if fi, err := os.Stat(archive); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the backup archive's mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if code, out, errOut := runCLI(t, nil, "restore", "--from", archive, "--data-dir", restored); code != 0 {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, map[string]string{"CIVICO_DATA_DIR": restored}, "town", "show"); code != 0 || !strings.Contains(out, "C707") {
		t.Errorf("the backup does not hold the town profile: %q", out)
	}
}

func TestServeRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Target{Dialect: db.SQLite, Path: filepath.Join(dir, "civico.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx, schema()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', $1)`, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	d.Close()
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_ADDR": "127.0.0.1:0", "CIVICO_PARTECIPA_ADDR": "127.0.0.1:1"}
	code, _, errOut := runCLI(t, env, "serve")
	if code != 1 || !strings.Contains(errOut, "newer than this civico") || !strings.Contains(errOut, "9999") {
		t.Errorf("serve on a newer schema: exit %d, %q", code, errOut)
	}
}

func TestServeRefusesWithoutTownProfile(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_ADDR": "127.0.0.1:0", "CIVICO_PARTECIPA_ADDR": "127.0.0.1:1", "CIVICO_SECRET_KEY": testSecretKey}
	code, _, errOut := runCLI(t, env, "serve")
	if code != 1 || !strings.Contains(errOut, "civico town import") {
		t.Errorf("serve without a town: exit %d, %q", code, errOut)
	}
}

// A wrong flag is one sentence on standard error (the README promises it),
// not the flag list; --help asks for the list, on standard output, and
// succeeds; a command made of verbs answers --help with its verbs.
func TestFlagErrorsAndHelp(t *testing.T) {
	for _, args := range [][]string{{"serve", "--bogus"}, {"demo", "-bogus=1"}, {"user", "list", "--nope"}, {"audit", "list", "--limit", "x"}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "civico "+args[0]) {
			t.Errorf("civico %v: status %d, stdout %q, stderr %q; want 2 and one line on stderr", args, code, out, errOut)
		}
	}
	code, out, errOut := runCLI(t, nil, "serve", "--help")
	if code != 0 || !strings.Contains(out, "Usage of civico serve:") || !strings.Contains(out, "-addr") || errOut != "" {
		t.Errorf("serve --help: %d %q %q", code, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"user", "--help"}, []string{"civico user add-operator --email E --role R", "civico user grant|revoke", "civico user list"}},
		{[]string{"user", "-h"}, []string{"civico user list"}},
		{[]string{"user", "help"}, []string{"civico user list"}},
		{[]string{"audit", "--help"}, []string{"civico audit verify", "civico audit list"}},
		{[]string{"ca", "--help"}, []string{"civico ca init", "civico ca card --cf CF", "civico ca revoke SERIAL"}},
		{[]string{"oidc", "--help"}, []string{"civico oidc client add", "[--post-logout-uri U]", "civico oidc keys"}},
		{[]string{"town", "--help"}, []string{"civico town import FILE", "civico town show"}},
		{[]string{"user", "add-operator", "--help"}, []string{"Usage of civico user add-operator:", "-email", "-role"}},
	} {
		code, out, errOut := runCLI(t, nil, tt.args...)
		if code != 0 || errOut != "" {
			t.Errorf("civico %v: status %d, stderr %q", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("civico %v prints %q, lacking %q", tt.args, out, w)
			}
		}
		if strings.Contains(out, "civico serve") {
			t.Errorf("civico %v prints the help of other commands", tt.args)
		}
	}
}
