package web

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/cache"
)

// Answer is a whole answer that is the same for every client who asks
// (a document of the public API), kept as sent: its body, and the body
// compressed for the clients that accept gzip.
type Answer struct {
	Type string
	Body []byte
	Gzip []byte
}

// AnswerCache keeps the answers of SharedAnswer for logged-in and anonymous
// clients alike (the page cache keeps HTML pages for anonymous visitors
// only). Key: the handler's key, which names everything the answer reads
// (the catalogue's version, the minute) and every parameter of the request
// it depends on. Purge rule: the TTL (CIVICO_PAGE_CACHE_TTL), and
// App.PurgeCaches after an edit through this process.
type AnswerCache = cache.Cache[string, Answer]

// NewAnswerCache returns a cache of at most max answers kept ttl each; a
// zero ttl or max returns nil, which keeps nothing.
func NewAnswerCache(ttl time.Duration, max int) *AnswerCache {
	return cache.New[string, Answer](ttl, max)
}

// SharedAnswer sends the answer of key with status 200, built by build
// (its Content-Type and body) when it is not kept; a failed build is
// returned and nothing is sent. Only for answers that depend on nothing but
// key: no session, no header of the request, no cookie.
func (a *App) SharedAnswer(w http.ResponseWriter, r *http.Request, key string, build func() (string, []byte, error)) error {
	if a.Answers == nil {
		// Nothing kept: the compression middleware compresses as for
		// any answer.
		typ, body, err := build()
		if err != nil {
			return err
		}
		a.writeAnswer(w, r, Answer{Type: typ, Body: body})
		return nil
	}
	ans, err := a.Answers.Load(key, func() (Answer, error) {
		typ, body, err := build()
		if err != nil {
			return Answer{}, err
		}
		return newAnswer(typ, body), nil
	})
	if err != nil {
		return err
	}
	a.writeAnswer(w, r, ans)
	return nil
}

func (a *App) writeAnswer(w http.ResponseWriter, r *http.Request, ans Answer) {
	h := w.Header()
	h.Set("Content-Type", ans.Type)
	body := ans.Body
	if ans.Gzip == nil {
		// The compression middleware decides, and says Vary itself.
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if r.Method != http.MethodHead && acceptsGzip(r) && ans.Gzip != nil {
		// Already compressed: the compression middleware leaves an
		// answer with a Content-Encoding alone.
		h.Set("Content-Encoding", "gzip")
		body = ans.Gzip
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// newAnswer keeps body and, when the type is worth compressing, its gzip.
func newAnswer(typ string, body []byte) Answer {
	ans := Answer{Type: typ, Body: body}
	if compressible(typ) && len(body) > 512 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
		_, _ = zw.Write(body)
		if zw.Close() == nil {
			ans.Gzip = b.Bytes()
		}
	}
	return ans
}
