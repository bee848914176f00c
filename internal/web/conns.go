package web

import (
	"io"
	"net"
	"net/netip"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// ConnLimits caps the connections one listener keeps open. Every open
// connection holds a file descriptor until it closes: without a cap, one
// host opening thousands of slow connections exhausts the process's
// descriptors and every listener stops answering.
type ConnLimits struct {
	// Total is the most connections open at once, all clients together;
	// 0 sets no cap.
	Total int
	// PerClient is the most connections open at once from one client
	// address (an IPv4 address, or an IPv6 /64, which one host usually
	// holds entirely); 0 sets no cap.
	PerClient int
	// Exempt are the reverse proxies: every visitor's traffic comes
	// through them, so they are not capped per client, but their
	// connections count toward Total.
	Exempt Proxies
}

// Refusal reasons, as the metric labels them.
const (
	refusedTotal  = "total"
	refusedClient = "client"
)

// limitListener closes at once the connections over its limits, so that
// they cost a descriptor for an instant instead of until a timeout.
type limitListener struct {
	net.Listener
	limits  ConnLimits
	refused map[string]prometheus.Counter // by reason; nil: not counted
	open    prometheus.Gauge              // nil: not counted

	mu     sync.Mutex
	total  int
	client map[netip.Addr]int
}

// limitConns wraps ln with limits. The counters may be nil.
func limitConns(ln net.Listener, limits ConnLimits, refused map[string]prometheus.Counter, open prometheus.Gauge) net.Listener {
	if limits.Total <= 0 && limits.PerClient <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, limits: limits, refused: refused, open: open, client: map[netip.Addr]int{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, capped := l.clientKey(c.RemoteAddr())
		if reason := l.admit(key, capped); reason != "" {
			// Counted before the close, so that whoever sees the close
			// also sees the count. Accept has already handed over a
			// descriptor: give it back now.
			if ctr := l.refused[reason]; ctr != nil {
				ctr.Inc()
			}
			_ = c.Close()
			continue
		}
		if l.open != nil {
			l.open.Inc()
		}
		return &limitedConn{Conn: c, release: func() { l.release(key, capped) }}, nil
	}
}

// clientKey is the address the per-client cap counts, and whether the cap
// applies to it at all.
func (l *limitListener) clientKey(a net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip = tcp.AddrPort().Addr()
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || l.limits.PerClient <= 0 || l.limits.Exempt.containsAddr(ip) {
		return netip.Addr{}, false
	}
	if ip.Is6() {
		// A host is given a whole /64: counting single IPv6 addresses
		// would give it 2^64 allowances.
		p, _ := ip.Prefix(64)
		ip = p.Addr()
	}
	return ip, true
}

// admit counts the connection in, or says which cap refuses it.
func (l *limitListener) admit(key netip.Addr, capped bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits.Total > 0 && l.total >= l.limits.Total {
		return refusedTotal
	}
	if capped {
		if l.client[key] >= l.limits.PerClient {
			return refusedClient
		}
		l.client[key]++
	}
	l.total++
	return ""
}

func (l *limitListener) release(key netip.Addr, capped bool) {
	l.mu.Lock()
	l.total--
	if capped {
		if n := l.client[key] - 1; n > 0 {
			l.client[key] = n
		} else {
			delete(l.client, key)
		}
	}
	l.mu.Unlock()
	if l.open != nil {
		l.open.Dec()
	}
}

// limitedConn gives its place back when it is closed, once.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite and ReadFrom keep what net/http looks for on a *net.TCPConn:
// a half-close before closing (so a client still sending an oversized
// body reads the 413 instead of a reset) and sendfile for file bodies.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
