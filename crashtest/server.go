package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildBinary builds ./cmd/civico of the module the working directory is in.
func buildBinary(ctx context.Context, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w (is Go on PATH?)", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return errors.New("not inside the civico module: run from the repository root")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/civico") // #nosec G204 -- fixed program and arguments; out is the harness's own temporary path
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// server is one running civico process.
type server struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT of the portal
	// ratingToken is the token the home page's rating form carries: a
	// rating of "/" is taken only with it.
	ratingToken string
	logPath     string
	tlsAddr     string // the portal over TLS (card login)
	exited      chan struct{}
	waitErr     error
	logFile     *os.File
}

// env is the environment civico runs with: the harness's own without any
// CIVICO_ setting, plus the test's. Every listener is on a port the kernel
// picks (the portal's is read from the "civico started" log line), so
// nothing else on the machine is in the way.
func (r *runner) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CIVICO_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"CIVICO_DATA_DIR="+filepath.Join(r.dir, "data"),
		"CIVICO_DATABASE_URL="+r.dbURL,
		"CIVICO_ADDR="+r.portalAddr,
		// Another spelling of the same "any port": civico refuses two
		// identical addresses.
		"CIVICO_PARTECIPA_ADDR=localhost:0",
		"CIVICO_TLS_ADDR="+r.tlsAddr,
		// Reconciliation asks the gateway about an attempt a second after
		// it began, and the sandbox's delayed notification never comes
		// within a run: what the payments scenario kills, reconciliation
		// alone settles (payments.go).
		"CIVICO_PAYMENTS_RECONCILE_AFTER=1s",
		"CIVICO_PAYMENTS_SANDBOX_DELAY="+paymentsDelay,
		"CIVICO_LOG_FORMAT=json",
		"CIVICO_ACCESS_LOG=false",
		// The harness speaks for many clients, each named in
		// X-Forwarded-For, so that the ratings' per-client limits do not
		// refuse the writes it counts on.
		"CIVICO_TRUSTED_PROXIES=127.0.0.1",
	)
}

// start runs `civico demo` and waits until the portal answers /healthz.
func (r *runner) start(ctx context.Context, label string) (*server, error) {
	logPath := filepath.Join(r.dir, "civico.log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // #nosec G304 -- the log file in the harness's own temporary directory
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "\n==== crashtest: %s, %s ====\n", label, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(r.bin, "demo") // #nosec G204 -- the binary the harness built (or -binary), run with fixed arguments
	cmd.Env = r.env()
	cmd.Dir = r.dir
	cmd.Stdin = nil
	cmd.Stdout = lf // the demo prints its mail there
	cmd.SysProcAttr = sysProcAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = lf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		_ = lf.Close()
		return nil, fmt.Errorf("start %s demo: %w", r.bin, err)
	}
	s := &server{cmd: cmd, logPath: logPath, tlsAddr: r.tlsAddr, exited: make(chan struct{}), logFile: lf}
	addr := make(chan string, 1)
	var logMu sync.Mutex
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Bytes()
			logMu.Lock()
			_, _ = lf.Write(append(line, '\n'))
			logMu.Unlock()
			if !found && bytes.Contains(line, []byte(`"civico started"`)) {
				var m struct {
					Portal string `json:"portal"`
				}
				if json.Unmarshal(line, &m) == nil && m.Portal != "" {
					found = true
					addr <- m.Portal
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-copied // Wait must not close the pipe before its last lines are read
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	deadline := time.NewTimer(r.opts.startTimeout)
	defer deadline.Stop()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case <-s.exited:
		return nil, fmt.Errorf("civico demo exited while starting (%v); its log: %s\n%s", s.waitErr, logPath, tail(logPath, 15))
	case <-deadline.C:
		_ = s.kill()
		return nil, fmt.Errorf("civico demo did not log \"civico started\" within %v; its log: %s\n%s", r.opts.startTimeout, logPath, tail(logPath, 15))
	case <-ctx.Done():
		_ = s.kill()
		return nil, ctx.Err()
	}
	// The listeners are open; wait until the portal answers.
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(s.base + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if s.ratingToken, err = homeRatingToken(client, s.base); err != nil {
					_ = s.kill()
					return nil, err
				}
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("civico demo exited while starting (%v); its log: %s\n%s", s.waitErr, logPath, tail(logPath, 15))
		case <-deadline.C:
			_ = s.kill()
			return nil, fmt.Errorf("civico demo did not answer 200 on %s/healthz within %v", s.base, r.opts.startTimeout)
		case <-ctx.Done():
			_ = s.kill()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

var ratingTokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// homeRatingToken reads the token of the home page's rating form.
func homeRatingToken(client *http.Client, base string) (string, error) {
	resp, err := client.Get(base + "/")
	if err != nil {
		return "", fmt.Errorf("the home page: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("the home page: %w", err)
	}
	m := ratingTokenRE.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("the home page (%d) has no rating form with a token", resp.StatusCode)
	}
	return string(m[1]), nil
}

func (s *server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

func (s *server) exitErr() error {
	<-s.exited
	if s.waitErr == nil {
		return errors.New("exit status 0")
	}
	return s.waitErr
}

// kill sends SIGKILL and waits until the process is gone.
func (s *server) kill() error {
	defer s.logFile.Close()
	if !s.hasExited() {
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("SIGKILL civico (pid %d): %w", s.cmd.Process.Pid, err)
		}
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("civico (pid %d) still runs 10 s after SIGKILL", s.cmd.Process.Pid)
	}
}

// terminate sends SIGTERM and expects a clean exit (status 0) within grace.
func (s *server) terminate(grace time.Duration) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM civico: %w", err)
	}
	select {
	case <-s.exited:
		_ = s.logFile.Close()
		if s.waitErr != nil {
			return fmt.Errorf("civico exited with %v after SIGTERM, want status 0; see %s", s.waitErr, s.logPath)
		}
		return nil
	case <-time.After(grace):
		_ = s.kill()
		return fmt.Errorf("civico did not exit within %v of SIGTERM; see %s", grace, s.logPath)
	}
}

// tail returns the last n lines of a file, indented.
func tail(path string, n int) string {
	b, err := os.ReadFile(path) // #nosec G304 -- the harness's own log file
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// auditVerify runs `civico audit verify` on the data: registrations write
// audit entries in their transaction, so a torn write would break the chain.
func (r *runner) auditVerify(ctx context.Context, sum *summary) error {
	cmd := exec.CommandContext(ctx, r.bin, "audit", "verify") // #nosec G204 -- the binary under test, fixed arguments
	cmd.Env = r.env()
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	sum.auditOutput = strings.TrimSpace(string(out))
	if err != nil {
		return fmt.Errorf("%w: civico audit verify failed (%v):\n%s", errCheck, err, out)
	}
	return nil
}
