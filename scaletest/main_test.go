package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// wrk 4.1's report, as Debian's wrk prints it.
const wrkReport = `Running 5s test @ http://127.0.0.1:43049/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.41ms    6.02ms  80.11ms   71.23%
    Req/Sec     1.30k   210.55     1.80k    68.00%
  12977 requests in 5.01s, 310.22MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   2590.22
Transfer/sec:     61.92MB
`

func TestParseWrk(t *testing.T) {
	w, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	if w.requests != 12977 || w.perSec != 2590.22 || w.latency != "12.41ms" || w.non2xx != 4 || w.errors != 3 {
		t.Errorf("parseWrk = %+v", w)
	}
	// A clean run has neither line.
	clean := strings.NewReplacer("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "", "  Non-2xx or 3xx responses: 4\n", "").Replace(wrkReport)
	if w, err := parseWrk(clean); err != nil || w.non2xx != 0 || w.errors != 0 || w.requests != 12977 {
		t.Errorf("parseWrk(clean) = %+v, %v", w, err)
	}
	if _, err := parseWrk("wrk: connection refused\n"); err == nil {
		t.Error("parseWrk accepted a report without figures")
	}
}

// The configuration names every process in both backends, checks /readyz,
// resends only what never reached a process, and HAProxy itself accepts
// it (when installed).
func TestHAProxyConfig(t *testing.T) {
	procs := []*proc{{name: "civico1", portal: "127.0.0.1:20001", partecipa: "127.0.0.1:20002"},
		{name: "civico2", portal: "127.0.0.1:20003", partecipa: "127.0.0.1:20004"}}
	cfg := haproxyConfig("127.0.0.1:20010", "127.0.0.1:20011", procs)
	for _, want := range []string{
		"bind 127.0.0.1:20010", "bind 127.0.0.1:20011", "balance roundrobin", "option httpchk GET /readyz",
		"server civico1 127.0.0.1:20001 check", "server civico2 127.0.0.1:20004 check", "retry-on conn-failure",
		"http-response set-header X-Scale-Backend %s", "option forwardfor",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("the configuration lacks %q:\n%s", want, cfg)
		}
	}
	for _, unsafe := range []string{"cookie ", "stick ", "all-retryable-errors", "empty-response", "response-timeout"} {
		if strings.Contains(cfg, unsafe) {
			t.Errorf("the configuration has %q: no stickiness, and a request a process took is never resent", unsafe)
		}
	}
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/haproxy"); err != nil {
			t.Skip("haproxy is not installed: its own check of the configuration skipped (the checks above ran)")
		}
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-q", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, cfg)
	}
}

func TestKidOf(t *testing.T) {
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"abc123","typ":"JWT"}`))
	if kid, err := kidOf(head + ".e30.sig"); err != nil || kid != "abc123" {
		t.Errorf("kidOf = %q, %v", kid, err)
	}
	for _, bad := range []string{"", "nodot", "!!!.e30.sig"} {
		if _, err := kidOf(bad); err == nil {
			t.Errorf("kidOf(%q) accepted it", bad)
		}
	}
}

func TestCPUTime(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU time is read from /proc on Linux only")
	}
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the process's CPU time has grown by 30 ms: it must, however
	// busy the machine (no wall-clock bound but a generous one).
	x := 0
	for deadline := time.Now().Add(20 * time.Second); ; x++ {
		if x%100000 == 0 {
			after, err := cpuTime(os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			if after-before >= 30*time.Millisecond {
				return
			}
			if after < before {
				t.Fatalf("CPU time went back from %v to %v", before, after)
			}
			if time.Now().After(deadline) {
				t.Fatalf("20 s of spinning counted as %v of CPU time", after-before)
			}
		}
	}
}

func TestClientOfIsDistinct(t *testing.T) {
	seen := map[string]int{}
	for n := range 70000 {
		c := clientOf(n)
		if m, dup := seen[c]; dup {
			t.Fatalf("clients %d and %d are both %s", m, n, c)
		}
		seen[c] = n
	}
}
