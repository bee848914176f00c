package partecipa

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// Partecipa reaches the provider at the portal's own listener while the
// requests still name the public host.
func TestViaSendsProviderRequestsToTheLocalListener(t *testing.T) {
	var gotHost, gotPath string
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotPath = r.Host, r.URL.Path
		_, _ = io.WriteString(w, "ok")
	}))
	defer local.Close()
	from, _ := url.Parse("https://servizi.comune.example")
	to, _ := url.Parse(local.URL)
	c := &http.Client{Transport: &via{from: from, to: to, next: http.DefaultTransport}}
	res, err := c.Get("https://servizi.comune.example/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if gotHost != "servizi.comune.example" || gotPath != "/.well-known/openid-configuration" {
		t.Fatalf("the local listener got Host %q, path %q", gotHost, gotPath)
	}
	// Other origins go where they name.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "other") }))
	defer other.Close()
	res, err = c.Get(other.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "other" {
		t.Fatalf("a request for another origin was redirected: %q", b)
	}
}
