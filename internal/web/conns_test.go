package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// serveLimited serves a plain handler through Listen and Serve with the
// given limits until the test ends. Timeouts are long: the connections the
// tests hold open must stay open on a slow machine.
func serveLimited(t *testing.T, limits ConnLimits) (addr string, m *Metrics) {
	t.Helper()
	m = NewMetrics()
	l := &Listener{Name: "test", Label: "test", Addr: "127.0.0.1:0", Limits: limits, Metrics: m,
		Timeouts: Timeouts{ReadHeader: time.Minute, Read: time.Minute},
		Handler:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	if err := Listen([]*Listener{l}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, []*Listener{l})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Address(), m
}

// dialFrom opens a connection from a loopback address of the test's
// choosing (Linux answers all of 127/8 on the loopback interface) and sends
// half a request, as a slow client does. The connection closes at the end
// of the test, before the server's shutdown.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: test\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByServer reports whether the server closed c: a read that ends
// (EOF, reset) within a few seconds, rather than timing out.
func closedByServer(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// finish completes the half request on c and reads the answer.
func finish(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "\r\n"); err != nil {
		t.Fatalf("completing the request: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("answer %d", res.StatusCode)
	}
}

// waitOpen waits until the listener counts n connections open, so that
// the next one is accepted after them.
func waitOpen(t *testing.T, m *Metrics, n float64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if got := gauge(t, m, "http_connections_open", "test", ""); got == n {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("%v connections open, want %v", got, n)
		}
	}
}

// gauge reads a connection metric of the listener ("test"), by reason
// for the refusals.
func gauge(t *testing.T, m *Metrics, name, listener, reason string) float64 {
	t.Helper()
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["listener"] != listener || labels["reason"] != reason {
				continue
			}
			if c := s.GetCounter(); c != nil {
				return c.GetValue()
			}
			return s.GetGauge().GetValue()
		}
	}
	return 0
}

func TestConnectionsOverTheClientCapAreClosed(t *testing.T) {
	proxies, err := ParseProxies("127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	addr, m := serveLimited(t, ConnLimits{Total: 10, PerClient: 3, Exempt: proxies})

	var held []net.Conn
	for range 3 {
		held = append(held, dialFrom(t, "127.0.0.2", addr))
	}
	waitOpen(t, m, 3)
	for i := range 2 {
		if c := dialFrom(t, "127.0.0.2", addr); !closedByServer(c, 5*time.Second) {
			t.Fatalf("connection %d over the cap of 3 stayed open", 4+i)
		}
	}
	if got := gauge(t, m, "http_connections_refused_total", "test", "client"); got != 2 {
		t.Errorf("refused for the client cap: %v, want 2", got)
	}
	// The ones within the cap were kept, and are answered.
	for _, c := range held[1:] {
		if closedByServer(c, 50*time.Millisecond) {
			t.Fatal("a connection within the cap was closed")
		}
	}
	// Another client is not affected.
	other := dialFrom(t, "127.0.0.3", addr)
	finish(t, other)
	other.Close()
	// A closed connection gives its place back.
	finish(t, held[0])
	held[0].Close()
	waitOpen(t, m, 2)
	again := dialFrom(t, "127.0.0.2", addr)
	finish(t, again)

	// The proxy may exceed the client cap, but not the total: 3 from
	// 127.0.0.2 and 7 from the proxy make 10.
	held = []net.Conn{again, held[1], held[2]}
	for range 7 {
		held = append(held, dialFrom(t, "127.0.0.9", addr))
	}
	waitOpen(t, m, 10)
	if c := dialFrom(t, "127.0.0.9", addr); !closedByServer(c, 5*time.Second) {
		t.Fatal("the proxy's connection over the total stayed open")
	}
	if c := dialFrom(t, "127.0.0.4", addr); !closedByServer(c, 5*time.Second) {
		t.Fatal("a new client's connection over the total stayed open")
	}
	if got := gauge(t, m, "http_connections_refused_total", "test", "total"); got != 2 {
		t.Errorf("refused for the total: %v, want 2", got)
	}
	for _, c := range held {
		if closedByServer(c, 10*time.Millisecond) {
			t.Fatal("a connection within the total was closed")
		}
	}
}

func TestClientKeys(t *testing.T) {
	proxies, _ := ParseProxies("10.0.0.1")
	l := &limitListener{limits: ConnLimits{PerClient: 1, Exempt: proxies}}
	for addr, want := range map[string]string{
		"192.0.2.1:5000":             "192.0.2.1",
		"[::ffff:192.0.2.1]:5000":    "192.0.2.1", // IPv4 written as IPv6
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::",
		"[2001:db8:1:2::99]:443":     "2001:db8:1:2::", // same /64, same client
		"[fe80::1%eth0]:80":          "fe80::",
		"10.0.0.1:80":                "", // the proxy: not capped
	} {
		ap := netip.MustParseAddrPort(addr)
		key, capped := l.clientKey(net.TCPAddrFromAddrPort(ap))
		got := ""
		if capped {
			got = key.String()
		}
		if got != want {
			t.Errorf("clientKey(%s) = %q, want %q", addr, got, want)
		}
	}
}

// net/http half-closes a *net.TCPConn before closing it, and sends files
// with sendfile: the wrapper must not take either away.
func TestLimitedConnKeepsWhatNetHTTPLooksFor(t *testing.T) {
	var c net.Conn = &limitedConn{Conn: &net.TCPConn{}, release: func() {}}
	if _, ok := c.(interface{ CloseWrite() error }); !ok {
		t.Error("no CloseWrite: net/http cannot half-close before closing")
	}
	if _, ok := c.(io.ReaderFrom); !ok {
		t.Error("no ReadFrom: net/http cannot use sendfile")
	}
}

// BenchmarkConnCap measures what the caps cost a request: with kept-alive
// connections (what browsers and proxies use) and with a new connection for
// every request (where the caps do their work: a lock and a map update at
// accept and at close).
//
//	go test ./internal/web -run XXX -bench ConnCap -benchtime 20000x -count 5
func BenchmarkConnCap(b *testing.B) {
	for _, bc := range []struct {
		name   string
		limits ConnLimits
	}{
		{"uncapped", ConnLimits{}},
		{"capped", ConnLimits{Total: 4096, PerClient: 128}},
	} {
		for _, keepAlive := range []bool{true, false} {
			name := bc.name + "/new-connection-each"
			if keepAlive {
				name = bc.name + "/keep-alive"
			}
			b.Run(name, func(b *testing.B) {
				l := &Listener{Name: "bench", Addr: "127.0.0.1:0", Limits: bc.limits, Metrics: NewMetrics(), Label: "bench",
					Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })}
				if err := Listen([]*Listener{l}); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					done <- Serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, []*Listener{l})
				}()
				defer func() { cancel(); <-done }()
				client := &http.Client{Transport: &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 64}}
				defer client.CloseIdleConnections()
				url := "http://" + l.Address() + "/"
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						res, err := client.Get(url)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
					}
				})
			})
		}
	}
}

// BenchmarkConnCapBookkeeping is the caps' own work for one connection:
// counting it in at accept and out at close, from parallel goroutines.
func BenchmarkConnCapBookkeeping(b *testing.B) {
	l := limitConns(nil, ConnLimits{Total: 1 << 30, PerClient: 1 << 30}, nil, NewMetrics().connsOpen.WithLabelValues("bench")).(*limitListener)
	key := netip.MustParseAddr("192.0.2.1")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if reason := l.admit(key, true); reason != "" {
				b.Error(reason)
				return
			}
			l.open.Inc()
			l.release(key, true)
		}
	})
}
