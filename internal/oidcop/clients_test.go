package oidcop

import "testing"

// A registered address matches itself; a public client's loopback address
// may change its port and nothing else; a confidential client's may not
// change at all.
func TestRegisteredAddresses(t *testing.T) {
	list := []string{"http://127.0.0.1/cb?app=1", "http://[::1]/v6", "http://localhost:8080/named", "it.comune.app:/cb", "https://app.example/cb"}
	public, web := &Client{Public: true}, &Client{}
	for _, c := range []struct {
		uri         string
		public, web bool
	}{
		{"http://127.0.0.1/cb?app=1", true, true},
		{"https://app.example/cb", true, true},
		{"it.comune.app:/cb", true, true},
		{"http://127.0.0.1:5000/cb?app=1", true, false},
		{"http://[::1]:5000/v6", true, false},
		{"http://localhost/named", true, false},
		{"http://LOCALHOST:1/named", false, false}, // compared as written
		{"http://[::1]:5000/cb?app=1", false, false},
		{"http://localhost:5000/cb?app=1", false, false},
		{"http://127.0.0.1:5000/v6", false, false},
		{"https://127.0.0.1:5000/cb?app=1", false, false},
		{"http://127.1:5000/cb?app=1", false, false},
		{"http://127.0.0.1:5000/cb?app=1#x", false, false},
		{"http://u:p@127.0.0.1:5000/cb?app=1", false, false},
		{"http://127.0.0.1:5000/cb?app=1&b=2", false, false},
		{"http://127.0.0.1:5000/cb/?app=1", false, false},
		{"https://app.example:444/cb", false, false},
		{"it.comune.app:/cb2", false, false},
		{"", false, false},
	} {
		if got := public.registered(c.uri, list); got != c.public {
			t.Errorf("public client, %q: %v, want %v", c.uri, got, c.public)
		}
		if got := web.registered(c.uri, list); got != c.web {
			t.Errorf("confidential client, %q: %v, want %v", c.uri, got, c.web)
		}
	}
}
