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

// NetworkClients is how many clients' worth of a budget an IPv6 /48 gets.
// One person may hold a whole /48 (a tunnel broker hands one out for free,
// many providers give homes a /56 or a /48): 65,536 /64s, each a client.
// So a client key of an IPv6 /64 also draws on the same budget of its /48,
// NetworkClients times as large: a /48 has the budgets of ten clients, not
// of 65,536.
const NetworkClients = 10

// ClientKey is the budget named prefix+Client(addr)+suffix under rule. For
// an IPv6 address it also draws on the budget of the address's /48 (the
// same name with the /48, NetworkClients times the rule), in the same
// step: Take refuses when either is spent and records both or neither, and
// Give returns to both.
func ClientKey(prefix, addr, suffix string, r Rule) Key {
	k := Key{Name: prefix + Client(addr) + suffix, Rule: r}
	if a, err := netip.ParseAddr(addr); err == nil {
		if a = a.Unmap().WithZone(""); a.Is6() {
			k.network = prefix + netip.PrefixFrom(a, 48).Masked().String() + suffix
		}
	}
	return k
}

// networkKey is the /48's budget a client key also draws on.
func (k Key) networkKey() Key {
	r := k.Rule
	r.Free *= NetworkClients
	r.LockAt *= NetworkClients
	return Key{Name: k.network, Rule: r}
}

// withNetworks is keys followed by the /48 budgets they also draw on, and
// for each of those the index of the client key that brought it.
func withNetworks(keys []Key) ([]Key, []int) {
	all, from := keys, make([]int, len(keys))
	for i := range keys {
		from[i] = i
		if keys[i].network != "" {
			if len(all) == len(keys) {
				all = append([]Key(nil), keys...)
			}
			all = append(all, keys[i].networkKey())
			from = append(from, i)
		}
	}
	return all, from
}
