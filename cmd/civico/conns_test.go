package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// served is civico served the way serve does it: the configuration read
// from the environment and checked, the caps fitted to the process's
// descriptor limit, buildApps, serverListeners, web.Listen and web.Serve.
type served struct {
	cfg       config
	apps      *apps
	listeners []*web.Listener
}

func serveForTest(t *testing.T, d *db.DB, env map[string]string) *served {
	t.Helper()
	all := map[string]string{"CIVICO_ADDR": "127.0.0.1:0", "CIVICO_PARTECIPA_ADDR": "localhost:0", "CIVICO_DATA_DIR": t.TempDir(),
		"CIVICO_SECRET_KEY": testSecretKey, "CIVICO_ACCESS_LOG": "false"}
	maps.Copy(all, env)
	cfg, err := loadConfig(func(k string) string { return all[k] })
	if err == nil {
		err = cfg.check()
	}
	if err == nil {
		err = cfg.fitConns(raiseFDLimit())
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	towns := town.NewStore(d, time.Minute)
	if err := ensureDemo(ctx, towns); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemoCatalog(ctx, d); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := buildApps(cfg, d, towns, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls := serverListeners(cfg, a, nil)
	if err := web.Listen(ls); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- web.Serve(sctx, log, 5*time.Second, ls) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &served{cfg: cfg, apps: a, listeners: ls}
}

func (s *served) portal() string { return s.listeners[0].Address() }

// metrics reads the metrics listener's page.
func (s *served) metrics(t *testing.T) string {
	t.Helper()
	if s.cfg.MetricsAddr == "" {
		t.Fatal("no metrics listener")
	}
	res, body := get(t, "http://"+s.listeners[len(s.listeners)-1].Address()+"/metrics")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics on the metrics listener = %d", res.StatusCode)
	}
	return body
}

// slowClient opens a connection from a loopback address of the test's
// choosing (Linux answers all of 127/8) and sends half a request, as a
// client holding connections does. It is closed at the end of the test,
// before the server stops.
func slowClient(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: portal.test\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// closed reports whether the server closed c within wait (a read ends with
// EOF or a reset instead of timing out).
func closed(c net.Conn, wait time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// One client holding many slow connections gets its share of the portal's
// listener and no more: the others are closed at once, and /healthz still
// answers another client. Without the per-client cap the greedy client
// takes the whole listener (CIVICO_MAX_CONNS) and /healthz is refused.
func TestGreedyClientCannotStarveHealthz(t *testing.T) {
	s := serveForTest(t, dbtest.SQLite(t) /* connections and timeouts are the listener's, whatever the database */, map[string]string{
		"CIVICO_MAX_CONNS": "16", "CIVICO_MAX_CONNS_PER_CLIENT": "8", "CIVICO_METRICS_ADDR": "127.0.0.1:0",
		// The held connections must outlive the test on a slow machine.
		"CIVICO_READ_HEADER_TIMEOUT": "1m", "CIVICO_READ_TIMEOUT": "1m",
	})
	var greedy []net.Conn
	for range 20 {
		greedy = append(greedy, slowClient(t, "127.0.0.2", s.portal()))
	}
	// Accepted after the greedy ones (connections are accepted in the
	// order they were made).
	healthz := &http.Client{Timeout: 10 * time.Second}
	res, err := healthz.Get("http://" + s.portal() + "/healthz")
	if err != nil {
		t.Fatalf("/healthz from 127.0.0.1 while 127.0.0.2 holds its share: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("/healthz = %d %q", res.StatusCode, body)
	}
	// The first 8 are held, the other 12 were closed as soon as accepted.
	for i, c := range greedy[8:] {
		if !closed(c, 10*time.Second) {
			t.Fatalf("greedy connection %d of 20 is still open; the cap is 8", 9+i)
		}
	}
	for i, c := range greedy[:8] {
		if closed(c, 10*time.Millisecond) {
			t.Fatalf("greedy connection %d, within the cap, was closed", 1+i)
		}
	}

	metrics := s.metrics(t)
	for _, want := range []string{
		`http_connections_refused_total{listener="portal",reason="client"} 12`,
		`http_connections_open{listener="portal"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// sendSlowly sends a request's head at once and its body in pieces, one
// every `every`, and returns the status of the answer (0 if the connection
// ended without one) and how much of the body was sent before the answer
// or the end of the connection.
func sendSlowly(t *testing.T, addr, head string, body []byte, pieces int, every time.Duration) (status, sent int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head+fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body))); err != nil {
		t.Fatal(err)
	}
	progress := make(chan int, 1)
	stop := make(chan struct{})
	go func() {
		n := 0
		defer func() { progress <- n }()
		size := (len(body) + pieces - 1) / pieces
		for n < len(body) {
			select {
			case <-stop:
				return
			case <-time.After(every):
			}
			m, err := c.Write(body[n:min(n+size, len(body))])
			n += m
			if err != nil {
				return
			}
		}
	}()
	// A generous bound, so that a failure does not hang the suite.
	_ = c.SetReadDeadline(time.Now().Add(time.Duration(pieces)*every + 20*time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	close(stop)
	sent = <-progress
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("no answer and the connection still open after %d of %d bytes", sent, len(body))
		}
		return 0, sent
	}
	res.Body.Close()
	return res.StatusCode, sent
}

// A client that sends a body slower than CIVICO_READ_TIMEOUT (1 s here)
// loses the connection then, not when it pleases: the login form below
// would take 20 s to arrive. The 8 s it is given to be cut is less than
// the default read timeout (10 s), so the setting must reach the server.
func TestSlowBodyIsCutByTheReadTimeout(t *testing.T) {
	s := serveForTest(t, dbtest.SQLite(t) /* connections and timeouts are the listener's, whatever the database */, map[string]string{"CIVICO_READ_HEADER_TIMEOUT": "1s", "CIVICO_READ_TIMEOUT": "1s"})
	body := []byte(url.Values{"email": {"mario.rossi@demo.civico.invalid"}, "password": {strings.Repeat("x", 160)}}.Encode())
	start := time.Now()
	status, sent := sendSlowly(t, s.portal(), "POST /accedi HTTP/1.1\r\nHost: portal.test\r\nContent-Type: application/x-www-form-urlencoded\r\n", body, 100, 200*time.Millisecond)
	if sent == len(body) {
		t.Fatalf("the whole slow body was read (answer %d)", status)
	}
	if elapsed := time.Since(start); elapsed > 8*time.Second {
		t.Fatalf("the slow body was cut only after %s", elapsed.Round(time.Second))
	}
	if status != 0 && status != http.StatusBadRequest {
		t.Errorf("answer %d to a body cut short, want 400 or none", status)
	}
}

// The routes that take a large body from an operator extend their own
// read deadline (web.App.LargeBody): a form uploaded slower than
// CIVICO_READ_TIMEOUT still arrives, as do long back-office forms.
func TestLargeBodiesOutlastTheReadTimeout(t *testing.T) {
	d := dbtest.SQLite(t) // timeouts are the listener's, whatever the database
	s := serveForTest(t, d, map[string]string{"CIVICO_READ_HEADER_TIMEOUT": "1s", "CIVICO_READ_TIMEOUT": "1s"})
	ctx := context.Background()
	op, err := s.apps.identity.CreateOperator(ctx, identity.NewOperator{Email: "urp@comune.example.it", Roles: []string{"urp"}}, "Modulistica-Comunale-2026", "test")
	if err != nil {
		t.Fatal(err)
	}
	var session string
	if err := d.Tx(ctx, func(tx *sql.Tx) error {
		session, err = s.apps.identity.Sessions.Create(ctx, tx, op.ID, assurance.Low, "password", "", "test")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	head := func(path, contentType string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: portal.test\r\nCookie: " + identity.SessionCookie + "=" + session + "\r\nContent-Type: " + contentType + "\r\n"
	}
	upload, uploadType := attachmentstest.Multipart(map[string]string{"service": "iscrizione-nidi-comunali", "title": "Domanda di iscrizione"},
		"domanda.pdf", "application/pdf", attachmentstest.PDF("Domanda di iscrizione al nido"))
	form := "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, head string
		body       []byte
		want       int
	}{
		{"forms library upload", head("/backoffice/moduli", uploadType), upload, http.StatusSeeOther},
		{"news item", head("/backoffice/notizie/nuova", form), []byte(url.Values{"title": {"Chiusura uffici"}, "body": {strings.Repeat("Testo. ", 200)}}.Encode()), http.StatusUnprocessableEntity},
		{"service texts", head("/backoffice/servizi/iscrizione-nidi-comunali", form), []byte(url.Values{"title": {""}}.Encode()), http.StatusUnprocessableEntity},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// 10 pieces, 300 ms apart: 3 s, three times the read timeout.
			status, sent := sendSlowly(t, s.portal(), tt.head, tt.body, 10, 300*time.Millisecond)
			if sent != len(tt.body) || status != tt.want {
				t.Errorf("sent %d of %d bytes, answer %d, want all of it and %d", sent, len(tt.body), status, tt.want)
			}
		})
	}
}

// /metrics is not on the applications' listeners but on its own, and only
// when CIVICO_METRICS_ADDR is set.
func TestMetricsHaveTheirOwnListener(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := serveForTest(t, d, map[string]string{"CIVICO_METRICS_ADDR": "127.0.0.1:0"})
		if n := len(s.listeners); n != 3 || s.listeners[2].Name != "metrics (CIVICO_METRICS_ADDR)" {
			t.Fatalf("%d listeners, the last %q", n, s.listeners[n-1].Name)
		}
		get(t, "http://"+s.portal()+"/faq")
		for _, l := range s.listeners[:2] {
			if res, _ := get(t, "http://"+l.Address()+"/metrics"); res.StatusCode != http.StatusNotFound {
				t.Errorf("GET /metrics on the %s = %d, want 404", l.Name, res.StatusCode)
			}
		}
		metrics := s.metrics(t)
		for _, want := range []string{`http_requests_total{app="portal",code="200",method="GET",route="GET /faq"}`,
			"http_request_duration_seconds_bucket", `http_connections_open{listener="portal"}`, "go_goroutines"} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if res, _ := get(t, "http://"+s.listeners[2].Address()+"/healthz"); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET /healthz on the metrics listener = %d, want 404: it serves metrics only", res.StatusCode)
		}

		// Without CIVICO_METRICS_ADDR, there are none anywhere.
		s = serveForTest(t, d, nil)
		if len(s.listeners) != 2 {
			t.Fatalf("%d listeners without CIVICO_METRICS_ADDR, want 2", len(s.listeners))
		}
		if res, _ := get(t, "http://"+s.portal()+"/metrics"); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET /metrics on the portal = %d, want 404", res.StatusCode)
		}
	})
}

func TestDemoAddresses(t *testing.T) {
	for portal, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8082",
		"0.0.0.0:9000":   "127.0.0.1:9002", // metrics stay on this machine
		"127.0.0.1:0":    "127.0.0.1:0",
		"[::1]:65535":    "127.0.0.1:0",
	} {
		if got := demoMetricsAddr(portal); got != want {
			t.Errorf("demoMetricsAddr(%q) = %q, want %q", portal, got, want)
		}
	}
	c := config{Addr: "127.0.0.1:8080"}
	c.demoAddrs()
	if c.TLSAddr != "127.0.0.1:8443" || c.MetricsAddr != "127.0.0.1:8082" || c.listenerCount() != 4 {
		t.Errorf("demo addresses: TLS %q, metrics %q, %d listeners", c.TLSAddr, c.MetricsAddr, c.listenerCount())
	}
	c = config{Addr: "127.0.0.1:8080", TLSAddr: "127.0.0.1:9443", MetricsAddr: "10.0.0.5:9100"}
	c.demoAddrs()
	if c.TLSAddr != "127.0.0.1:9443" || c.MetricsAddr != "10.0.0.5:9100" {
		t.Errorf("the demo replaced configured addresses: TLS %q, metrics %q", c.TLSAddr, c.MetricsAddr)
	}
}

func TestFitConns(t *testing.T) {
	tests := []struct {
		name             string
		cfg              config
		limit            uint64
		known            bool
		total, perClient int
		err              string
	}{
		{"defaults under a high limit", config{}, 1 << 20, true, 4096, 128, ""},
		{"defaults where the limit is unknown", config{}, 0, false, 4096, 128, ""},
		{"defaults lowered to fit", config{TLSAddr: "x", MetricsAddr: "y"}, 4608, true, 1024, 128, ""},
		{"per client lowered with the total", config{}, 512 + 2*40, true, 40, 40, ""},
		{"configured and fitting", config{MaxConns: 1000, MaxConnsPerClient: 10}, 2512, true, 1000, 10, ""},
		{"configured and too many", config{MaxConns: 1001}, 2512, true, 0, 0, "CIVICO_MAX_CONNS=1001 does not fit the file-descriptor limit (ulimit -n) of 2512"},
		{"configured, limit unknown", config{MaxConns: 100000}, 0, false, 100000, 128, ""},
		{"a limit leaving nothing", config{}, 520, true, 0, 0, "leaves fewer than 16 connections (CIVICO_MAX_CONNS)"},
		{"per client over the total", config{MaxConns: 100, MaxConnsPerClient: 101}, 1 << 20, true, 0, 0, "CIVICO_MAX_CONNS_PER_CLIENT (101) must not be more than CIVICO_MAX_CONNS (100)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			err := c.fitConns(tt.limit, tt.known)
			if tt.err != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("fitConns: %v, want a usage error with %q", err, tt.err)
				}
				return
			}
			if err != nil || c.MaxConns != tt.total || c.MaxConnsPerClient != tt.perClient {
				t.Fatalf("fitConns: %v, caps %d and %d, want %d and %d", err, c.MaxConns, c.MaxConnsPerClient, tt.total, tt.perClient)
			}
		})
	}
}
