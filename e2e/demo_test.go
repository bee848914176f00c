package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/mail/mailtest"
)

// demo is a running `civico demo`: a fresh data directory, its own ports
// and an SMTP server of the test's own that receives its mail.
type demo struct {
	// Portal, Partecipa and TLS are the base URLs, without a trailing slash.
	Portal, Partecipa, TLS string
	TLSPort                int
	DataDir                string
	Mail                   *mailtest.Server

	cmd            *exec.Cmd
	stdout, stderr string // log files
	exited         chan struct{}
	exitErr        error

	owner      *testing.T // the test that started the demo
	policyOnce sync.Once  // the Chromium policy for the card login (writePolicy)
	policyErr  error      // why it could not be written
}

// Demo mail goes to the test's SMTP server from this address.
const demoMailFrom = "noreply@demo.civico.invalid"

// The demo's people, as `civico demo` prints them.
const (
	// Mario Rossi has a password account and no card.
	demoResidentEmail = "mario.rossi@demo.civico.invalid"
	demoResidentName  = "Mario Rossi"
	// Luca Ferrari has a card and no password account.
	demoCardFile       = "luca-ferrari.p12"
	demoCardPassword   = "civico"
	demoCardName       = "Luca Ferrari"
	demoCardFiscalCode = "FRRLCU78H15C707K"
	// Giulia Bianchi has a password account and a card: two accounts
	// until she links them from the personal area of a card login.
	demoBothEmail      = "giulia.bianchi@demo.civico.invalid"
	demoBothCardFile   = "giulia-bianchi.p12"
	demoBothFiscalCode = "BNCGLI90A41F205H"
	// Paola Esposito is an operator (admin, urp, participation): a password and a
	// one-time code, or her card.
	demoOperatorEmail = "paola.esposito@demo.civico.invalid"
)

// startDemo runs `civico demo` until the end of the test, then stops it with
// SIGTERM and checks that it exited with status 0.
func startDemo(t *testing.T) *demo {
	t.Helper()
	return startDemoWith(t)
}

// startDemoWith is startDemo with more settings (NAME=value) in the
// demo's environment.
func startDemoWith(t *testing.T, env ...string) *demo {
	t.Helper()
	mail := mailtest.Start(t)
	for attempt := 1; ; attempt++ {
		d, err := launchDemo(t, mail, env)
		if err == nil {
			d.owner = t
			t.Cleanup(func() { d.stop(t) })
			return d
		}
		logs := d.logs()
		if bytes.Contains(logs, []byte("address already in use")) && attempt < 3 {
			// Another process took one of the free ports in the meantime.
			t.Logf("civico demo: %v; trying other ports", err)
			continue
		}
		if len(logs) > 4000 {
			logs = logs[len(logs)-4000:]
		}
		saveArtifact(t, ".demo.log", d.logs())
		t.Fatalf("civico demo: %v\n%s", err, logs)
	}
}

// launchDemo starts the demo on free ports and waits until it serves; on
// failure the process is gone and the error says why.
func launchDemo(t *testing.T, mail *mailtest.Server, env []string) (*demo, error) {
	t.Helper()
	logs := t.TempDir()
	d := &demo{DataDir: t.TempDir(), Mail: mail, exited: make(chan struct{}),
		stdout: filepath.Join(logs, "demo.stdout"), stderr: filepath.Join(logs, "demo.stderr")}
	ports := freePorts(t, 3)
	d.TLSPort = ports[2]
	d.Portal = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	d.Partecipa = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	d.TLS = fmt.Sprintf("https://127.0.0.1:%d", ports[2])

	stdout, err := os.Create(d.stdout)
	if err != nil {
		return d, err
	}
	stderr, err := os.Create(d.stderr)
	if err != nil {
		_ = stdout.Close()
		return d, err
	}
	d.cmd = exec.Command(civicoBin, "demo")
	d.cmd.Dir = d.DataDir
	d.cmd.Stdout, d.cmd.Stderr = stdout, stderr
	dieWithTest(d.cmd)
	d.cmd.Env = append(environWithout("CIVICO_"),
		"CIVICO_DATA_DIR="+d.DataDir,
		fmt.Sprintf("CIVICO_ADDR=127.0.0.1:%d", ports[0]),
		fmt.Sprintf("CIVICO_PARTECIPA_ADDR=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("CIVICO_TLS_ADDR=127.0.0.1:%d", ports[2]),
		"CIVICO_SMTP_URL="+mail.URL(),
		"CIVICO_MAIL_FROM="+demoMailFrom,
	)
	d.cmd.Env = append(d.cmd.Env, env...)
	if err := d.cmd.Start(); err != nil {
		_ = stdout.Close()
		_ = stderr.Close()
		return d, fmt.Errorf("starting %s demo: %w", civicoBin, err)
	}
	go func() {
		d.exitErr = d.cmd.Wait()
		_ = stdout.Close()
		_ = stderr.Close()
		close(d.exited)
	}()
	if err := d.waitReady(); err != nil {
		_ = d.cmd.Process.Kill()
		<-d.exited
		return d, err
	}
	return d, nil
}

// environWithout is the test's environment without the variables whose
// names start with prefix (a CIVICO_DATABASE_URL of the developer's must not
// reach the demo).
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// freePorts returns n distinct TCP ports on 127.0.0.1 that nothing listens on.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

// waitReady waits until both applications answer 200 on /healthz and the
// TLS listener accepts connections, for at most 30 s.
func (d *demo) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	ready := func(check func() error) error {
		for {
			select {
			case <-d.exited:
				return fmt.Errorf("exited before it was ready (%v)", d.exitErr)
			default:
			}
			err := check()
			if err == nil {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("not ready within 30 s: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, url := range []string{d.Portal + "/healthz", d.Partecipa + "/healthz"} {
		err := ready(func() error {
			resp, err := client.Get(url)
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return ready(func() error {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(d.TLS, "https://"), time.Second)
		if err != nil {
			return fmt.Errorf("the TLS listener %s: %v", d.TLS, err)
		}
		return conn.Close()
	})
}

// stop sends SIGTERM and waits for a clean exit; on failure of the test it
// keeps the demo's output among the artifacts.
func (d *demo) stop(t *testing.T) {
	select {
	case <-d.exited:
		t.Errorf("civico demo exited during the test: %v", d.exitErr)
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
			if d.exitErr != nil {
				t.Errorf("civico demo exited with %v after SIGTERM, want status 0", d.exitErr)
			}
		case <-time.After(25 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
			t.Errorf("civico demo did not exit within 25 s of SIGTERM")
		}
	}
	if t.Failed() {
		saveArtifact(t, ".demo.log", d.logs())
	}
}

// logs is the demo's standard output followed by its standard error.
func (d *demo) logs() []byte {
	var b bytes.Buffer
	out, _ := os.ReadFile(d.stdout)
	errOut, _ := os.ReadFile(d.stderr)
	b.WriteString("---- civico demo: standard output ----\n")
	b.Write(out)
	b.WriteString("\n---- civico demo: standard error ----\n")
	b.Write(errOut)
	return b.Bytes()
}

// Stdout is what the demo printed so far (the demo logins).
func (d *demo) Stdout() string {
	out, _ := os.ReadFile(d.stdout)
	return string(out)
}

// CardFile is the path of a demo card's file in the demo's authority.
func (d *demo) CardFile(name string) string { return filepath.Join(d.DataDir, "ca", "cards", name) }

// CAFile is the demo authority's certificate.
func (d *demo) CAFile() string { return filepath.Join(d.DataDir, "ca", "ca.pem") }

// waitMail waits for the n-th message the demo sent (1-based).
func (d *demo) waitMail(t *testing.T, n int) mailtest.Received {
	t.Helper()
	msgs := d.Mail.WaitFor(t, n, 30*time.Second)
	return msgs[n-1]
}

// mailTo waits for the first message the demo sent to addr.
func (d *demo) mailTo(t *testing.T, addr string) mailtest.Received {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := d.Mail.Messages()
		for _, m := range msgs {
			if slices.Contains(m.To, addr) {
				return m
			}
		}
		if time.Now().After(deadline) {
			var to []string
			for _, m := range msgs {
				to = append(to, strings.Join(m.To, ","))
			}
			t.Fatalf("no mail to %s within 30 s; the demo wrote to: %v", addr, to)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openDB opens the demo's database (SQLite in its data directory) until the
// end of the test: a journey reads there what no page shows, and writes
// what no page can any more (an account from before a change).
func (d *demo) openDB(t *testing.T) *db.DB {
	t.Helper()
	conn, err := db.Open(context.Background(), db.Target{Dialect: db.SQLite, Path: filepath.Join(d.DataDir, "civico.db")})
	if err != nil {
		t.Fatalf("opening the demo's database: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

var errNoLink = errors.New("no link found")

// linkIn finds the first URL in text that starts with prefix.
func linkIn(text, prefix string) (string, error) {
	i := strings.Index(text, prefix)
	if i < 0 {
		return "", fmt.Errorf("%w starting with %s", errNoLink, prefix)
	}
	end := strings.IndexFunc(text[i:], func(r rune) bool { return r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == '>' || r == '"' })
	if end < 0 {
		return text[i:], nil
	}
	return text[i : i+end], nil
}
