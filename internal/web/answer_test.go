package web

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A shared answer is built once per key, sent compressed to a client that
// accepts gzip (through the compression middleware, untouched) and plain to
// one that does not, the same document; a purge builds it anew, a failed
// build sends nothing and is not kept; without a cache every request builds.
func TestSharedAnswer(t *testing.T) {
	for _, kept := range []bool{true, false} {
		a := &App{}
		if kept {
			a.Answers = NewAnswerCache(time.Minute, 8)
		}
		builds, version := 0, "1"
		body := func() string { return `{"list": "` + strings.Repeat("ufficio ", 200) + version + `"}` + "\n" }
		fail := false
		h := compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := a.SharedAnswer(w, r, "offices", func() (string, []byte, error) {
				builds++
				if fail {
					return "", nil, errors.New("broken")
				}
				return "application/json; charset=utf-8", []byte(body()), nil
			})
			if err != nil {
				http.Error(w, "failed", http.StatusInternalServerError)
			}
		}))
		ask := func(gz bool) (string, *http.Response) {
			req := httptest.NewRequest(http.MethodGet, "/api", nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			res := w.Result()
			b := w.Body.Bytes()
			if res.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				if b, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			return string(b), res
		}
		plain, res := ask(false)
		if plain != body() || res.Header.Get("Content-Encoding") != "" || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("kept %v: plain answer %q, encoding %q", kept, plain[:20], res.Header.Get("Content-Encoding"))
		}
		zipped, res := ask(true)
		if zipped != body() || res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("kept %v: gzip answer differs, or encoding %q, Vary %q", kept, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
		}
		if want := map[bool]int{true: 1, false: 2}[kept]; builds != want {
			t.Fatalf("kept %v: built %d times for two requests, want %d", kept, builds, want)
		}
		version = "2"
		a.PurgeCaches()
		if got, _ := ask(true); got != body() {
			t.Fatalf("kept %v: after a purge, the former answer", kept)
		}
		fail = true
		a.PurgeCaches()
		if _, res := ask(false); res.StatusCode != http.StatusInternalServerError {
			t.Fatalf("kept %v: a failed build answered %d", kept, res.StatusCode)
		}
		fail = false
		if got, res := ask(false); res.StatusCode != http.StatusOK || got != body() {
			t.Fatalf("kept %v: the failure was kept: %d", kept, res.StatusCode)
		}
	}
}
