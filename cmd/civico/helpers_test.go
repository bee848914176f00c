package main

import (
	"io"
	"log/slog"
	"os"
	"testing"
)

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testSecretKey is the installation secret of test configurations.
const testSecretKey = "civico-test-secret-key-not-for-production-0123456789"

// TestMain silences the default logger, which zitadel/oidc writes its
// protocol refusals to (the refusal tests provoke many).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// testConfig is the configuration serve starts from when nothing is set
// (every limit at its documented default), with the test installation
// secret and no access log; sites set their addresses on it.
func testConfig(t testing.TB) config {
	t.Helper()
	c, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c.SecretKey, c.AccessLog = testSecretKey, false
	// Files (attachments, forms) in the test's own folder, never in the
	// package's source folder (the default ./civico-data).
	c.DataDir = t.TempDir()
	c.Payments.Segregation, c.Payments.Gateway = demoSegregation, "sandbox"
	return c
}
