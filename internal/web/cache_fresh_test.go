package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// A page that says it is fresh for a while is kept by the page cache for
// that long at most, whatever the cache's TTL; other pages for the TTL.
func TestFreshForShortensThePageCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		renders := map[string]int{}
		h := pageCache(NewPageCache(time.Hour, 10), func(*http.Request) string { return "it" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			renders[r.URL.Path]++
			if r.URL.Path == "/" {
				FreshFor(r, 10*time.Second)
				FreshFor(r, time.Minute) // a longer claim does not lengthen it
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<p>page</p>"))
		}))
		get := func(path string) {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
		}
		get("/")
		get("/faq")
		time.Sleep(9 * time.Second)
		get("/")
		if renders["/"] != 1 {
			t.Fatalf("rendered %d times within its freshness", renders["/"])
		}
		time.Sleep(time.Second)
		get("/")
		get("/faq")
		if renders["/"] != 2 || renders["/faq"] != 1 {
			t.Fatalf("after 10 s: home rendered %d times (want 2), faq %d (want 1)", renders["/"], renders["/faq"])
		}
		// Outside the page cache FreshFor does nothing.
		FreshFor(httptest.NewRequest(http.MethodGet, "/", nil), time.Second)
	})
}

// The route the mux found behind the page cache is the one the access log
// and the metrics name (they read it on the request they passed on).
func TestPageCacheKeepsTheRoute(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faq", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<p>faq</p>"))
	})
	h := pageCache(NewPageCache(time.Hour, 10), func(*http.Request) string { return "it" }, mux)
	r := httptest.NewRequest(http.MethodGet, "/faq", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if r.Pattern != "GET /faq" {
		t.Errorf("the route after a miss of the page cache: %q", r.Pattern)
	}
}
