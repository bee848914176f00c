package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return errors.New("not inside the civico module: run from the repository root")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/civico") // #nosec G204 -- fixed program and arguments; out is the harness's own temporary path
	cmd.Dir = filepath.Dir(mod)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// freeAddr returns 127.0.0.1:PORT with a port nothing listens on now: the
// kernel picks it, the harness closes it and hands it to a server (HAProxy's
// frontends and civico's listeners must be known before they start, as
// each names the others).
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// proc is one running civico process.
type proc struct {
	name string // civico1, civico2...: HAProxy's server name too
	// portal and partecipa are the listeners' host:port, fixed for the
	// process's life and kept across a restart.
	portal, partecipa string
	args              []string
	env               []string
	logPath           string

	mu      sync.Mutex // guards what a restart replaces
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logFile *os.File
}

// startedLine is the "civico started" log line: the addresses civico
// actually listens on.
type startedLine struct {
	Msg       string `json:"msg"`
	Portal    string `json:"portal"`
	Partecipa string `json:"partecipa"`
}

// start runs the process and waits until it logs "civico started" and its
// portal answers /readyz.
func (p *proc) start(ctx context.Context, bin, dir string, timeout time.Duration) error {
	lf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // #nosec G304 -- the log file in the harness's own temporary directory
	if err != nil {
		return err
	}
	fmt.Fprintf(lf, "\n==== scaletest: %s %s, %s ====\n", p.name, strings.Join(p.args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(bin, p.args...) // #nosec G204 -- the binary the harness built (or -binary), with the harness's own arguments
	cmd.Env = p.env
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
	var logMu sync.Mutex
	cmd.Stdout = lockedWriter{&logMu, lf}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = lf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		_ = lf.Close()
		return fmt.Errorf("start %s %s: %w", bin, strings.Join(p.args, " "), err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.logFile, p.waitErr = cmd, exited, lf, nil
	p.mu.Unlock()
	started := make(chan startedLine, 1)
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
				var m startedLine
				if json.Unmarshal(line, &m) == nil && m.Portal != "" {
					found = true
					started <- m
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-copied // Wait must not close the pipe before its last lines are read
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case m := <-started:
		// Where HAProxy expects it.
		if m.Portal != p.portal || m.Partecipa != p.partecipa {
			_ = p.kill()
			return fmt.Errorf("%s listens on %s and %s, want %s and %s", p.name, m.Portal, m.Partecipa, p.portal, p.partecipa)
		}
	case <-exited:
		return fmt.Errorf("%s exited while starting (%v); its log %s ends:\n%s", p.name, p.exitErr(), p.logPath, tail(p.logPath, 15))
	case <-deadline.C:
		_ = p.kill()
		return fmt.Errorf("%s did not log \"civico started\" within %v; its log %s ends:\n%s", p.name, timeout, p.logPath, tail(p.logPath, 15))
	case <-ctx.Done():
		_ = p.kill()
		return ctx.Err()
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if status(client, "http://"+p.portal+"/readyz") == http.StatusOK {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting (%v); its log %s ends:\n%s", p.name, p.exitErr(), p.logPath, tail(p.logPath, 15))
		case <-deadline.C:
			_ = p.kill()
			return fmt.Errorf("%s did not answer 200 on http://%s/readyz within %v", p.name, p.portal, timeout)
		case <-ctx.Done():
			_ = p.kill()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lockedWriter serialises the process's stdout with the lines of its
// stderr in one log file.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// status is the status of a GET, 0 when there is no answer.
func status(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func (p *proc) running() bool {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr == nil {
		return errors.New("exit status 0")
	}
	return p.waitErr
}

// pid is the process id of the running process (0 when none).
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill sends SIGKILL and waits until the process is gone.
func (p *proc) kill() error {
	return p.signal(syscall.SIGKILL, 10*time.Second, false)
}

// terminate sends SIGTERM and expects a clean exit (status 0) within grace.
func (p *proc) terminate(grace time.Duration) error {
	return p.signal(syscall.SIGTERM, grace, true)
}

func (p *proc) signal(sig syscall.Signal, grace time.Duration, clean bool) error {
	p.mu.Lock()
	cmd, exited, lf := p.cmd, p.exited, p.logFile
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	defer lf.Close()
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%v to %s (pid %d): %w", sig, p.name, cmd.Process.Pid, err)
	}
	select {
	case <-exited:
	case <-time.After(grace):
		if sig != syscall.SIGKILL {
			_ = cmd.Process.Kill()
			<-exited
		}
		return fmt.Errorf("%s (pid %d) still ran %v after %v; see %s", p.name, cmd.Process.Pid, grace, sig, p.logPath)
	}
	if clean {
		p.mu.Lock()
		err := p.waitErr
		p.mu.Unlock()
		if err != nil {
			return fmt.Errorf("%s exited with %v after %v, want status 0; see %s", p.name, err, sig, p.logPath)
		}
	}
	return nil
}

// logLines returns the process's JSON log lines whose msg is msg, from
// every start.
func (p *proc) logLines(msg string) ([]map[string]any, error) {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	needle := []byte(`"msg":` + quote(msg))
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if !bytes.Contains(line, needle) {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
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
