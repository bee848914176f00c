package attachments

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Scanner looks for viruses in a file. Scan returns nil for a clean file,
// an error matching ErrInfected for an infected one, and one matching
// ErrScanFailed when it cannot tell: the upload is then refused too (fail
// closed), and the resident asked to try again later.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader) error
}

var (
	// ErrInfected: the scanner found a virus; the error names it.
	ErrInfected = errors.New("the file contains a virus")
	// ErrScanFailed: the scanner could not be asked or did not answer.
	ErrScanFailed = errors.New("the virus scan failed")
)

// NoScan is the scanner of an installation without one: every file is
// clean. It is the default (CIVICO_CLAMD_ADDR unset).
type NoScan struct{}

// Scan accepts every file.
func (NoScan) Scan(context.Context, io.Reader) error { return nil }

// Clamd asks a ClamAV daemon (clamd) over its socket, with the INSTREAM
// command: the file is sent in chunks, never written where clamd reads
// files, so clamd needs no access to civico's data directory.
type Clamd struct {
	// Network is "unix" or "tcp"; Address the socket's path or host:port.
	Network, Address string
	// Timeout bounds a whole scan (DefaultClamdTimeout if 0).
	Timeout time.Duration
}

// DefaultClamdTimeout bounds a scan: clamd reads 20 MiB in well under a
// second on a small machine, but may be busy with others.
const DefaultClamdTimeout = 30 * time.Second

// ParseClamd reads CIVICO_CLAMD_ADDR: "unix:/run/clamav/clamd.ctl" or
// "tcp:127.0.0.1:3310".
func ParseClamd(addr string) (*Clamd, error) {
	network, address, ok := strings.Cut(addr, ":")
	if !ok || address == "" || (network != "unix" && network != "tcp") {
		return nil, fmt.Errorf("%q: use unix:/path/to/clamd.ctl or tcp:host:port", addr)
	}
	if network == "tcp" {
		if _, _, err := net.SplitHostPort(address); err != nil {
			return nil, fmt.Errorf("%q: %v", addr, err)
		}
	}
	return &Clamd{Network: network, Address: address}, nil
}

// clamdChunk is the size of INSTREAM's chunks.
const clamdChunk = 64 << 10

// Scan streams r to clamd and reads its verdict: "stream: OK", or
// "stream: <signature> FOUND", or an error ("INSTREAM size limit
// exceeded", when the file is larger than clamd's StreamMaxLength).
func (c *Clamd) Scan(ctx context.Context, r io.Reader) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultClamdTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.Network, c.Address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrScanFailed, err)
	}
	defer func() { _ = conn.Close() }()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("%w: %v", ErrScanFailed, err)
	}
	// A cancelled context closes the connection, ending a blocked read.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	verdict, err := c.instream(conn, r)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("%w: %v", ErrScanFailed, err)
	}
	switch {
	case verdict == "stream: OK":
		return nil
	case strings.HasPrefix(verdict, "stream: ") && strings.HasSuffix(verdict, " FOUND"):
		return fmt.Errorf("%w: %s", ErrInfected, strings.TrimSuffix(strings.TrimPrefix(verdict, "stream: "), " FOUND"))
	}
	return fmt.Errorf("%w: clamd answered %q", ErrScanFailed, verdict)
}

func (c *Clamd) instream(conn net.Conn, r io.Reader) (string, error) {
	w := bufio.NewWriterSize(conn, clamdChunk+8)
	if _, err := w.WriteString("zINSTREAM\x00"); err != nil {
		return "", err
	}
	buf := make([]byte, clamdChunk)
	size := make([]byte, 4)
	// clamd may stop reading and answer early (size limit exceeded): a
	// failed write is then followed by reading that answer.
	var werr error
	for werr == nil {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			binary.BigEndian.PutUint32(size, uint32(n)) // #nosec G115 -- n <= clamdChunk
			if _, werr = w.Write(size); werr == nil {
				_, werr = w.Write(buf[:n])
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	if werr == nil {
		if _, werr = w.Write([]byte{0, 0, 0, 0}); werr == nil {
			werr = w.Flush()
		}
	}
	answer, err := bufio.NewReader(conn).ReadBytes(0)
	if err != nil && len(answer) == 0 {
		if werr != nil {
			return "", werr
		}
		return "", err
	}
	return string(bytes.TrimRight(answer, "\x00\n")), nil
}
