package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// backendHeader is the response header HAProxy adds naming the civico
// process that answered (its server name): HAProxy's, not civico's.
const backendHeader = "X-Scale-Backend"

// Health checks: every checkInterval HAProxy asks each process's /readyz;
// checkFall failures mark it down, checkRise successes up again.
const (
	checkInterval = 500 * time.Millisecond
	checkFall     = 2
	checkRise     = 2
)

// haproxyConfig is HAProxy's configuration for the processes: one frontend
// for the portal and one for Partecipa, each round-robin over every
// process (no stickiness: any request may land on any process), with
// health checks on /readyz. A request whose connection to a process fails
// (it died, nothing listens) is sent to another (retry-on conn-failure,
// redispatch): such a request never reached civico, so resending it is
// safe. A request a process took and did not answer is never resent: it
// may have been committed, and a POST must reach civico at most once.
func haproxyConfig(portalFront, partecipaFront string, procs []*proc) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by scaletest: several civico processes on one PostgreSQL.
global
    nbthread 1
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    # A busy machine may take a while to answer /readyz: a slow answer is
    # not a dead process.
    timeout check 2s
    # civico believes the client address in X-Forwarded-For from 127.0.0.1
    # (CIVICO_TRUSTED_PROXIES).
    option forwardfor
    retries 2
    retry-on conn-failure
    option redispatch 1
    default-server inter %dms fall %d rise %d

`, checkInterval.Milliseconds(), checkFall, checkRise)
	for _, app := range []struct{ name, bind string }{{"portal", portalFront}, {"partecipa", partecipaFront}} {
		fmt.Fprintf(&b, "frontend %s\n    bind %s\n    default_backend %s_processes\n\n", app.name, app.bind, app.name)
		fmt.Fprintf(&b, "backend %s_processes\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n", app.name)
		fmt.Fprintf(&b, "    http-response set-header %s %%s\n", backendHeader)
		for _, p := range procs {
			addr := p.portal
			if app.name == "partecipa" {
				addr = p.partecipa
			}
			fmt.Fprintf(&b, "    server %s %s check\n", p.name, addr)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// haproxy is HAProxy running in the foreground as the harness's child.
type haproxy struct {
	bin, dir string
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	logPath  string
}

// startHAProxy writes the configuration for procs, checks it (haproxy -c)
// and runs HAProxy with it until stop; it returns once the portal frontend
// has sent a request to every process.
func startHAProxy(ctx context.Context, bin, dir, portalFront, partecipaFront string, procs []*proc) (*haproxy, error) {
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(portalFront, partecipaFront, procs)), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, bin, "-c", "-q", "-f", cfg).CombinedOutput(); err != nil { // #nosec G204 -- the haproxy program named by -haproxy, with the harness's own configuration
		return nil, fmt.Errorf("haproxy -c refuses %s (%v):\n%s", cfg, err, out)
	}
	h := &haproxy{bin: bin, dir: dir, exited: make(chan struct{}), logPath: filepath.Join(dir, "haproxy.log")}
	lf, err := os.OpenFile(h.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) // #nosec G304 -- the harness's own log file
	if err != nil {
		return nil, err
	}
	// -db: in the foreground, not as a daemon; the harness's child.
	h.cmd = exec.Command(bin, "-db", "-f", cfg) // #nosec G204 -- as above
	h.cmd.Stdout, h.cmd.Stderr = lf, lf
	h.cmd.SysProcAttr = sysProcAttr()
	if err := h.cmd.Start(); err != nil {
		_ = lf.Close()
		return nil, fmt.Errorf("start haproxy: %w", err)
	}
	go func() {
		h.waitErr = h.cmd.Wait()
		_ = lf.Close()
		close(h.exited)
	}()
	// Ready when the frontend answers, and every process has answered
	// through it.
	client := &http.Client{Timeout: 2 * time.Second}
	seen := map[string]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for len(seen) < len(procs) {
		select {
		case <-h.exited:
			return nil, fmt.Errorf("haproxy exited while starting (%v); its log %s ends:\n%s", h.waitErr, h.logPath, tail(h.logPath, 15))
		case <-ctx.Done():
			h.stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			h.stop()
			return nil, fmt.Errorf("through haproxy (http://%s) only %d of %d processes answered /readyz within 20 s; its log %s ends:\n%s",
				portalFront, len(seen), len(procs), h.logPath, tail(h.logPath, 15))
		}
		if resp, err := client.Get("http://" + portalFront + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				seen[resp.Header.Get(backendHeader)] = true
				continue
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return h, nil
}

// stop ends HAProxy (SIGTERM: it stops at once, as -db runs it) and waits.
func (h *haproxy) stop() {
	if h == nil || h.cmd == nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(5 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.exited
	}
}

func (h *haproxy) pid() int {
	if h == nil || h.cmd == nil || h.cmd.Process == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

var errHAProxyGone = errors.New("haproxy exited")

func (h *haproxy) alive() error {
	select {
	case <-h.exited:
		return fmt.Errorf("%w (%v); its log %s ends:\n%s", errHAProxyGone, h.waitErr, h.logPath, tail(h.logPath, 15))
	default:
		return nil
	}
}
