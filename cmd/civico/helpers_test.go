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
