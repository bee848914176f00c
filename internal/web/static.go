package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// Bootstrap Italia's built files, the fonts and civico's own stylesheet.
//
//go:embed static
var staticFS embed.FS

// Static serves the embedded assets under a prefix that changes with their
// content, so browsers may cache them for a year.
type Static struct {
	Prefix string // "/static/<hash>"
	files  map[string]*asset
}

type asset struct {
	body  []byte
	ctype string
	etag  string

	gzOnce sync.Once
	gz     []byte
}

// NewStatic reads every embedded asset once and derives the URL prefix from
// their content.
func NewStatic() (*Static, error) {
	s := &Static{files: map[string]*asset{}}
	h := sha256.New()
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(b)
		h.Write([]byte(name))
		h.Write(sum[:])
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		s.files[name] = &asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Prefix = "/static/" + hex.EncodeToString(h.Sum(nil)[:6])
	return s, nil
}

// compressible reports whether gzip helps: text yes, fonts and images no.
func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

// ServeHTTP serves GET /static/{version}/{path...}. A request for an older
// version still gets the current file, only without the long cache.
func (s *Static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.files[r.PathValue("path")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	if "/static/"+r.PathValue("version") == s.Prefix {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Add("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if compressible(a.ctype) && acceptsGzip(r) {
		a.gzOnce.Do(func() {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			_, _ = zw.Write(a.body) // into a bytes.Buffer: cannot fail
			_ = zw.Close()
			a.gz = b.Bytes()
		})
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func acceptsGzip(r *http.Request) bool { return acceptsGzipHeader(r.Header.Get("Accept-Encoding")) }

// acceptsGzipHeader reads an Accept-Encoding value: gzip with a non-zero q.
func acceptsGzipHeader(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}

// Script serves one script of a feature's (an enhancement of its pages,
// which work without it), revalidated by its ETag.
func Script(body []byte) http.HandlerFunc {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, no-cache")
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(body)
	}
}
