package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProxies(t *testing.T) {
	tp, err := ParseProxies(" 127.0.0.1, 10.0.0.0/8 ,::1,, 2001:db8::/32, 192.168.1.77/24, ::ffff:172.16.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := tp.String(); got != "127.0.0.1/32,10.0.0.0/8,::1/128,2001:db8::/32,192.168.1.0/24,172.16.0.1/32" {
		t.Errorf("String() = %q", got)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1:54321":          true,
		"127.0.0.2:54321":          false,
		"10.1.2.3:80":              true,
		"11.0.0.1:80":              false,
		"[::1]:443":                true,
		"[::2]:443":                false,
		"[2001:db8:1::5]:443":      true,
		"[2001:db9::5]:443":        false,
		"192.168.1.200:1":          true,
		"192.168.2.1:1":            false,
		"[::ffff:10.9.9.9]:8080":   true, // IPv4 written as IPv6
		"172.16.0.1:1":             true,
		"[fe80::1%eth0]:80":        false,
		"10.0.0.1":                 true, // no port
		"localhost:80":             false,
		"":                         false,
		"@":                        false, // a Unix socket
		"not an address at all:80": false,
	} {
		if got := tp.Contains(addr); got != want {
			t.Errorf("Contains(%q) = %v, want %v", addr, got, want)
		}
	}
	var none Proxies
	if none.Contains("127.0.0.1:1") || !none.Empty() {
		t.Error("the zero value trusts someone")
	}
	if empty, err := ParseProxies(""); err != nil || empty.Contains("127.0.0.1:1") {
		t.Errorf("empty list: %v", err)
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "10.0.0.300", "fe80::1%eth0", "10.0.0.1:80", "*"} {
		if _, err := ParseProxies("127.0.0.1," + bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// The client's address is believed from X-Forwarded-For only when the
// connection comes from a trusted proxy, and then only up to the first hop
// the proxies did not add: whatever a client writes into the header itself
// is to the left of that and is never taken.
func TestClientAddr(t *testing.T) {
	tp, err := ParseProxies("10.0.0.1, 10.0.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client, no header", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"direct client forging the header", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"through the proxy", "10.0.0.1:4000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client forging a hop through the proxy", "10.0.0.1:4000", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"two trusted proxies", "10.0.0.1:4000", []string{"198.51.100.7, 10.0.1.9"}, "198.51.100.7"},
		{"headers split over lines", "10.0.0.1:4000", []string{"1.2.3.4", "198.51.100.7"}, "198.51.100.7"},
		{"only proxies in the header", "10.0.0.1:4000", []string{"10.0.1.9"}, "10.0.1.9"},
		{"proxy without header", "10.0.0.1:4000", nil, "10.0.0.1"},
		{"garbage after a real hop", "10.0.0.1:4000", []string{"198.51.100.7, garbage"}, "10.0.0.1"},
		{"IPv6 client", "10.0.0.1:4000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4 as IPv6 peer", "[::ffff:203.0.113.5]:4000", nil, "203.0.113.5"},
		{"unusable peer", "@", nil, "unknown"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := tp.ClientAddr(r); got != c.want {
			t.Errorf("%s: ClientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}
