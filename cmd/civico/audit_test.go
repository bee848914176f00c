package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/oidcop"
)

// runAudit calls `civico audit ARGS...` with CIVICO_DATA_DIR=dir.
func runAudit(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"CIVICO_DATA_DIR": dir}
	err := (&cli{stdout: &out, stderr: &errOut, env: func(k string) string { return env[k] }}).audit(args)
	if strings.Contains(errOut.String(), "goroutine ") {
		t.Errorf("a stack trace reached the user: %s", errOut.String())
	}
	return out.String(), err
}

func openDataDir(t *testing.T, dir string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Target{Dialect: db.SQLite, Path: filepath.Join(dir, "civico.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background(), schema()); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAuditVerifyAndList(t *testing.T) {
	dir := t.TempDir()
	out, err := runAudit(t, dir, "verify")
	if err != nil || !strings.Contains(out, "audit log: 0 entries, chain intact") {
		t.Fatalf("verify on a new database: %q, %v", out, err)
	}

	d := openDataDir(t, dir)
	l := &audit.Log{DB: d}
	ctx := context.Background()
	for _, e := range []audit.Entry{
		{Actor: "cli", Action: "role.granted", Subject: "user:7", Details: map[string]string{"role": "operatore anagrafe"}},
		{Actor: "user:7", Action: "login.password.ok", Remote: "192.0.2.1"},
		{Actor: "user:8", Action: "login.crs.refused", Remote: "192.0.2.2", Details: map[string]string{"reason": "certificate expired"}},
	} {
		if err := l.RecordNow(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	_, head, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}

	out, err = runAudit(t, dir, "verify")
	if err != nil || !strings.Contains(out, "audit log: 3 entries, chain intact") || !strings.Contains(out, head) {
		t.Fatalf("verify: %q, %v", out, err)
	}

	out, err = runAudit(t, dir, "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "3 ") || !strings.HasPrefix(lines[3], "1 ") {
		t.Fatalf("list, newest first:\n%s", out)
	}
	if !strings.Contains(lines[3], `role="operatore anagrafe"`) || !strings.Contains(lines[1], "login.crs.refused") {
		t.Errorf("list:\n%s", out)
	}

	out, err = runAudit(t, dir, "list", "--actor", "user:7", "--limit", "1")
	if err != nil || !strings.Contains(out, "login.password.ok") || strings.Contains(out, "role.granted") || !strings.Contains(out, "--before 2") {
		t.Errorf("list --actor user:7 --limit 1: %q, %v", out, err)
	}
	out, err = runAudit(t, dir, "list", "--action", "nothing.like.this")
	if err != nil || !strings.Contains(out, "no audit entries match") {
		t.Errorf("list with no match: %q, %v", out, err)
	}
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir)
	l := &audit.Log{DB: d}
	ctx := context.Background()
	for _, action := range []string{"login.password.ok", "login.password.refused", "role.granted"} {
		if err := l.RecordNow(ctx, audit.Entry{Actor: "user:1", Action: action}); err != nil {
			t.Fatal(err)
		}
	}
	// Someone with access to the file turns a refusal into a success.
	if _, err := d.ExecContext(ctx, `UPDATE audit_log SET action = 'login.password.ok' WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	out, err := runAudit(t, dir, "verify")
	if err == nil || err.Error() != "audit log broken at entry 2: hash does not match the entry's content" {
		t.Fatalf("verify of a tampered log: %q, %v", out, err)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		t.Errorf("a broken log is a usage error (exit 2), want exit 1")
	}
	if strings.Contains(out, "chain intact") {
		t.Errorf("verify printed %q", out)
	}

	if _, err := d.ExecContext(ctx, `DELETE FROM audit_log WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := runAudit(t, dir, "verify"); err == nil || !strings.Contains(err.Error(), "audit log broken at entry 3: entry 2 is missing") {
		t.Errorf("verify after a deletion: %v", err)
	}
}

func TestAuditUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"verify", "extra"},
		{"verify", "--limit", "3"},
		{"list", "--limit", "0"},
		{"list", "--limit", "100000"},
		{"list", "--bogus"},
	} {
		_, err := runAudit(t, dir, args...)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("audit %q: %v, want a usage error", args, err)
		}
	}
}

// A line of `audit list` stays readable whatever an entry carries: each
// detail is cut at MaxDetailRunes and the column at MaxDetailsRunes, saying
// so; --full prints them whole.
func TestAuditListLinesAreBounded(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir)
	long := `{"hours":"` + strings.Repeat("lun 08:30-12:30 ", 60) + `"}`
	details := map[string]string{"spec": long, "title": "Ufficio anagrafe"}
	for i := range 12 {
		details[fmt.Sprintf("field%02d", i)] = strings.Repeat("x", 70)
	}
	if err := (&audit.Log{DB: d}).RecordNow(context.Background(), audit.Entry{Actor: "operator:1", Action: "catalog.office.updated", Subject: "anagrafe", Details: details}); err != nil {
		t.Fatal(err)
	}
	out, err := runAudit(t, dir, "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("list:\n%s", out)
	}
	if n := utf8.RuneCountInString(lines[1]); n > 100+maxDetailsRunes {
		t.Errorf("a line of %d characters", n)
	}
	if !strings.Contains(lines[1], "…") || !strings.Contains(out, "--full") {
		t.Errorf("a cut line does not say so:\n%s", out)
	}
	full, err := runAudit(t, dir, "list", "--full")
	if err != nil || !strings.Contains(full, strings.Repeat("lun 08:30-12:30 ", 60)) || !strings.Contains(full, "field11=") {
		t.Errorf("--full does not print the details whole")
	}
}

// `audit list --fiscal-code` finds the entries of a person whose code the
// log keeps only as a keyed hash (the counter's look-ups): it hashes the
// code with the installation's secret; without that secret it refuses.
func TestAuditListByFiscalCode(t *testing.T) {
	dir := t.TempDir()
	d := openDataDir(t, dir)
	key := strings.Repeat("k", oidcop.MinSecretLen)
	secret, err := oidcop.NewSecret([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	ids := &identity.Store{Pepper: identityPepper(secret), AuditPepper: auditPepper(secret)}
	anna, _ := cf.Complete("RSSNNA85M41F205")
	luca, _ := cf.Complete("FRRLCU78H15C707")
	l := &audit.Log{DB: d}
	for _, code := range []cf.Code{anna, luca, anna} {
		if err := l.RecordNow(context.Background(), audit.Entry{Actor: "operator:1", Action: "oidc.counter.subject", Subject: "client:partecipa",
			Details: map[string]string{"fiscal_code_mac": ids.FiscalCodeAuditMAC(string(code))}}); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	env := map[string]string{"CIVICO_DATA_DIR": dir, "CIVICO_SECRET_KEY": key}
	run := func(args ...string) (string, error) {
		out.Reset()
		err := (&cli{stdout: &out, stderr: &errOut, env: func(k string) string { return env[k] }}).audit(args)
		return out.String(), err
	}
	got, err := run("list", "--full", "--fiscal-code", strings.ToLower(string(anna)))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], ids.FiscalCodeAuditMAC(string(anna))) || !strings.HasPrefix(lines[1], "3 ") || !strings.HasPrefix(lines[2], "1 ") || strings.Contains(got, string(anna)) {
		t.Fatalf("Anna's look-ups:\n%s", got)
	}
	if _, err := run("list", "--fiscal-code", "RSSNNA85M41F205X"); err == nil {
		t.Error("a malformed code was searched")
	}
	delete(env, "CIVICO_SECRET_KEY")
	if _, err := run("list", "--fiscal-code", string(anna)); err == nil {
		t.Error("searched without the installation's secret")
	}
}
