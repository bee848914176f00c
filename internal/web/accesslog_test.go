package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The access log keeps a request's path, except where the path carries a
// secret (a {token} wildcard): there it keeps the route's pattern, and the
// secret is nowhere in the log.
func TestAccessLogLeavesOutTokens(t *testing.T) {
	i18n, err := NewI18n(Messages)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	a := &App{Chrome: Chrome{App: "portal"}, Mux: http.NewServeMux(), I18n: i18n, Metrics: NewMetrics(),
		Log: slog.New(slog.NewJSONHandler(&log, nil)), AccessLog: true}
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	a.Mux.HandleFunc("GET /coda/biglietti/{token}/stato", ok)
	a.Mux.HandleFunc("GET /novita/{slug}", ok)
	h := a.Handler()
	const secret = "Zq8vT3kLmN0pRsWx"
	for _, path := range []string{"/coda/biglietti/" + secret + "/stato", "/novita/festa-di-quartiere"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusNoContent {
			t.Fatalf("GET %s: %d", path, w.Code)
		}
	}
	got := log.String()
	if strings.Contains(got, secret) {
		t.Errorf("the access log holds the ticket's token:\n%s", got)
	}
	for _, want := range []string{`"path":"/coda/biglietti/{token}/stato"`, `"path":"/novita/festa-di-quartiere"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the access log lacks %s:\n%s", want, got)
		}
	}
}
