package main

import (
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
