package throttle

import "net/netip"

// Client is the name under which a client's address draws on a budget: an
// IPv4 address as it is, an IPv6 address as its /64. One home, office or
// phone is given a whole /64 and may pick any address in it at will, so
// counting IPv6 addresses one by one would give a single client 2^64
// budgets. What is not an IP address (web.RemoteAddr's "unknown") is kept
// as it is: all such requests share one budget.
func Client(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
