package web

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies civico sits behind: the addresses whose
// X-Forwarded-For header (and forwarded client certificate) is believed.
// The zero value trusts nobody.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies reads a comma-separated list of IP addresses and CIDR
// prefixes, such as "127.0.0.1, 10.0.0.0/8, ::1". An empty list trusts
// nobody.
func ParseProxies(list string) (Proxies, error) {
	var t Proxies
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return Proxies{}, fmt.Errorf("trusted proxy %q: expected an IP address or a CIDR prefix such as 10.0.0.0/8", item)
			}
			p = p.Masked()
		} else {
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return Proxies{}, fmt.Errorf("trusted proxy %q: expected an IP address or a CIDR prefix such as 10.0.0.0/8", item)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

// Contains reports whether remoteAddr (host:port, as in
// http.Request.RemoteAddr, or a bare IP address) is a trusted proxy. An
// IPv4 address written as IPv6 (::ffff:a.b.c.d) counts as the IPv4
// address; anything that is not an IP address is not trusted.
func (t Proxies) Contains(remoteAddr string) bool {
	addr, ok := parseIP(remoteAddr)
	return ok && t.containsAddr(addr)
}

func (t Proxies) containsAddr(addr netip.Addr) bool {
	for _, p := range t.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Empty reports whether no proxy is trusted.
func (t Proxies) Empty() bool { return len(t.prefixes) == 0 }

// String lists the trusted prefixes, for the log.
func (t Proxies) String() string {
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// parseIP reads "host:port" or a bare address; IPv4 written as IPv6 is
// IPv4, zones are dropped.
func parseIP(s string) (netip.Addr, bool) {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
		addr = a
	} else {
		return netip.Addr{}, false
	}
	return addr.Unmap().WithZone(""), true
}

// ClientAddr is the address of the client a request comes from. From a
// trusted proxy it is the rightmost address of X-Forwarded-For that is not
// itself a trusted proxy (the leftmost entries are whatever the client
// chose to send, and prove nothing); from anyone else it is the
// connection's own address. Without a usable address it answers "unknown".
func (t Proxies) ClientAddr(r *http.Request) string {
	peer, ok := parseIP(r.RemoteAddr)
	if !ok {
		return "unknown"
	}
	if !t.Contains(peer.String()) {
		return peer.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseIP(parts[j])
			if !ok {
				// A malformed entry ends what can be believed: the last
				// trusted hop is the best we know.
				return client.String()
			}
			client = a
			if !t.Contains(a.String()) {
				return a.String()
			}
		}
	}
	return client.String()
}

type clientKey struct{}

// withClient records the client's address for RemoteAddr.
func withClient(r *http.Request, addr string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientKey{}, addr))
}

// RemoteAddr is the client's address without its port, as the audit log and
// the throttles record it: behind a trusted proxy, the address the proxy
// saw (see Proxies.ClientAddr).
func RemoteAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientKey{}).(string); ok {
		return a
	}
	if a, ok := parseIP(r.RemoteAddr); ok {
		return a.String()
	}
	return "unknown"
}
