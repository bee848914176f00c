package web

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// A compressed answer whose handler told its length goes out whole with
// the compressed length; one its handler flushes, one whose compressed
// body passes maxHeld, and one without a length stream (chunked; a small
// one net/http measures itself). Each
// inflates to what the handler wrote.
func TestCompressedAnswersLength(t *testing.T) {
	page := []byte("<!doctype html><p>" + strings.Repeat("Comune di Cinisello Balsamo ", 500) + "</p>")
	noise := make([]byte, maxHeld+maxHeld/2) // does not compress below maxHeld
	_, _ = rand.Read(noise)
	for _, c := range []struct {
		name   string
		body   []byte
		length bool
		flush  bool
		whole  bool
	}{
		{"a page with its length", page, true, false, true},
		{"a page flushed midway", page, true, true, false},
		{"a large download", noise, true, false, false},
		{"a download without its length", noise, false, false, false},
	} {
		srv := httptest.NewServer(compress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if c.length {
				w.Header().Set("Content-Length", strconv.Itoa(len(c.body)))
			}
			w.WriteHeader(http.StatusOK)
			half := len(c.body) / 2
			_, _ = w.Write(c.body[:half])
			if c.flush {
				http.NewResponseController(w).Flush()
			}
			_, _ = w.Write(c.body[half:])
		})))
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		zipped, err := io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		whole := res.ContentLength == int64(len(zipped)) && len(res.TransferEncoding) == 0
		streamed := res.ContentLength == -1 && len(res.TransferEncoding) == 1 && res.TransferEncoding[0] == "chunked"
		if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || whole != c.whole || whole == streamed {
			t.Errorf("%s: %d, encoding %q, length %d for %d bytes, transfer %v", c.name, res.StatusCode, res.Header.Get("Content-Encoding"),
				res.ContentLength, len(zipped), res.TransferEncoding)
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if inflated, err := io.ReadAll(zr); err != nil || !bytes.Equal(inflated, c.body) {
			t.Errorf("%s: inflates to %d bytes of %d (%v)", c.name, len(inflated), len(c.body), err)
		}
	}
}
