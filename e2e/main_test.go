package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const skipMessage = "browser journeys skipped: set CIVICO_E2E=1 (scripts/ci/e2e.sh does)"

// civicoBin is the binary TestMain built from ./cmd/civico; buildErr says
// why there is none.
var (
	civicoBin string
	buildErr  error
)

func enabled() bool { return os.Getenv("CIVICO_E2E") == "1" }

// requireE2E skips the test unless the journeys are enabled, and stops it
// when the binary could not be built.
func requireE2E(t *testing.T) {
	t.Helper()
	if !enabled() {
		t.Skip(skipMessage)
	}
	if buildErr != nil {
		t.Fatalf("civico was not built: %v", buildErr)
	}
}

func TestMain(m *testing.M) {
	if !enabled() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "civico-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	civicoBin, buildErr = build(dir)
	if buildErr != nil {
		fmt.Fprintln(os.Stderr, "e2e: building civico:", buildErr)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles ./cmd/civico of the module this package belongs to into
// dir and returns the binary's path.
func build(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "civico")
	cmd := exec.Command(goTool(), "build", "-o", bin, "./cmd/civico")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/civico in %s: %v\n%s", root, err, out.String())
	}
	return bin, nil
}

// goTool is the go command: on PATH, in $GOROOT/bin, or where .ci/run
// expects it.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "/usr/local/go/bin/go"
}

// repoRoot is the directory of go.mod, as `go env GOMOD` tells it, or ".."
// when the go command does not say.
func repoRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if gomod := strings.TrimSpace(string(out)); err == nil && gomod != "" && gomod != os.DevNull {
		return filepath.Dir(gomod), nil
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("cannot find the repository root (no go.mod in %s)", root)
	}
	return root, nil
}

// artifactsDir is where failing tests leave screenshots, page HTML and logs.
func artifactsDir() string {
	if d := os.Getenv("CIVICO_E2E_ARTIFACTS"); d != "" {
		return d
	}
	return "artifacts"
}

// artifactName turns a test's name into a file name.
func artifactName(t *testing.T) string {
	return strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(t.Name())
}

// saveArtifact writes data to the artifacts directory as <test><suffix>.
func saveArtifact(t *testing.T, suffix string, data []byte) {
	t.Helper()
	dir := artifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	path := filepath.Join(dir, artifactName(t)+suffix)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Logf("artifacts: %v", err)
		return
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	t.Logf("saved %s", path)
}
