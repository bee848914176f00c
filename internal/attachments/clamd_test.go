package attachments

import (
	"bytes"
	"context"
	"crypto/md5" // #nosec G501 -- ClamAV's .hdb signatures are MD5 hashes of whole files
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/dbtest"
)

// eicar is the antivirus test file, put together here so that this source
// is not itself taken for it.
var eicar = []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + `EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)

// testSignature is what the custom signature database calls a virus.
const testSignature = "CIVICO-TEST-SIGNATURE-0123456789"

// startClamd runs Debian's clamd on a database of two test signatures
// (the real databases need the internet to download): EICAR by its MD5
// (.hdb) and testSignature anywhere in a file (.ndb). It listens on a
// unix socket and on a TCP port; the test skips only where clamd is not
// installed (.ci/run installs clamav-daemon).
func startClamd(t *testing.T) (unix, tcp string) {
	t.Helper()
	bin, err := exec.LookPath("clamd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/clamd"); serr != nil {
			t.Skip("clamd is not installed (apt-get install clamav-daemon)")
		}
		bin = "/usr/sbin/clamd"
	}
	dir, err := os.MkdirTemp("", "clamd-") // short: a unix socket's path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sum := md5.Sum(eicar) // #nosec G401 -- the .hdb format is MD5
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("test.hdb", fmt.Sprintf("%s:%d:Civico-Test-EICAR\n", hex.EncodeToString(sum[:]), len(eicar)))
	write("test.ndb", fmt.Sprintf("Civico-Test-Signature:0:*:%s\n", hex.EncodeToString([]byte(testSignature))))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	unix, tcp = filepath.Join(dir, "clamd.sock"), fmt.Sprintf("127.0.0.1:%d", port)
	write("clamd.conf", fmt.Sprintf(`DatabaseDirectory %s
LocalSocket %s
TCPSocket %d
TCPAddr 127.0.0.1
Foreground yes
LogFile %s
Bytecode no
StreamMaxLength 1M
`, dir, unix, port, filepath.Join(dir, "clamd.log")))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config-file="+filepath.Join(dir, "clamd.conf")) // #nosec G204 -- the test's own clamd and config
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); ; {
		if c, err := net.Dial("unix", unix); err == nil {
			_ = c.Close()
			if c, err := net.Dial("tcp", tcp); err == nil {
				_ = c.Close()
				return unix, tcp
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
			t.Fatalf("clamd did not start: %s\n%s", out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestClamd(t *testing.T) {
	unix, tcp := startClamd(t)
	ctx := context.Background()
	carrier := attachmentstest.PaddedPDF(testSignature, 300<<10) // the signature inside a real PDF of 300 KiB
	for _, addr := range []string{"unix:" + unix, "tcp:" + tcp} {
		c, err := ParseClamd(addr)
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"clean pdf": attachmentstest.PDF("Certificato"), "clean photo": attachmentstest.JPEG(200, 150), "empty": nil} {
			if err := c.Scan(ctx, bytes.NewReader(data)); err != nil {
				t.Errorf("%s, %s: %v", addr, name, err)
			}
		}
		for name, data := range map[string][]byte{"eicar": eicar, "pdf carrying the test signature": carrier} {
			err := c.Scan(ctx, bytes.NewReader(data))
			if !errors.Is(err, ErrInfected) || !strings.Contains(err.Error(), "Civico-Test-") {
				t.Errorf("%s, %s: %v", addr, name, err)
			}
		}
		// Larger than clamd's StreamMaxLength: it cannot tell, so no.
		if err := c.Scan(ctx, bytes.NewReader(attachmentstest.PaddedPDF("x", 3<<20))); !errors.Is(err, ErrScanFailed) {
			t.Errorf("%s, beyond StreamMaxLength: %v", addr, err)
		}
	}
	// Through a store: an infected upload is refused and leaves nothing.
	c, _ := ParseClamd("unix:" + unix)
	s := NewStore(dbtest.SQLite(t), t.TempDir(), c)
	if _, err := s.Stage(ctx, bytes.NewReader(carrier), "referto.pdf", Policy{}); !errors.Is(err, ErrInfected) {
		t.Fatalf("infected upload: %v", err)
	}
	if id, status := Message(ErrInfected); id != "attachments.error.infected" || status != 422 {
		t.Errorf("infected: %s %d", id, status)
	}
	if stored, temps := onDisk(t, s); len(stored)+len(temps) != 0 {
		t.Fatalf("an infected upload left %v %v", stored, temps)
	}
	if _, err := s.Stage(ctx, bytes.NewReader(attachmentstest.PDF("pulito")), "referto.pdf", Policy{}); err != nil {
		t.Fatalf("clean upload: %v", err)
	}
}

// Without an answer from clamd the upload is refused (fail closed).
func TestClamdUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := &Clamd{Network: "tcp", Address: addr, Timeout: 2 * time.Second}
	scanErr := c.Scan(context.Background(), bytes.NewReader([]byte("x")))
	if !errors.Is(scanErr, ErrScanFailed) {
		t.Fatalf("nobody listening: %v", scanErr)
	}
	if id, status := Message(scanErr); id != "attachments.error.scan" || status != 503 {
		t.Errorf("scan failed: %s %d", id, status)
	}
	// A server that accepts and never answers: the timeout ends it.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c = &Clamd{Network: "tcp", Address: silent.Addr().String(), Timeout: 300 * time.Millisecond}
	if err := c.Scan(context.Background(), bytes.NewReader([]byte("x"))); !errors.Is(err, ErrScanFailed) {
		t.Fatalf("silent clamd: %v", err)
	}
	for _, bad := range []string{"", "clamd", "udp:1.2.3.4:5", "tcp:nohost", "unix:"} {
		if _, err := ParseClamd(bad); err == nil {
			t.Errorf("ParseClamd(%q) accepted", bad)
		}
	}
}
