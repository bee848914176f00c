package attachments

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
	"github.com/civico-pa/civico/internal/dbtest"
)

// multipartRequest is a POST of a multipart form: text fields, then files
// (field, name, data triples).
func multipartRequest(t *testing.T, fields map[string]string, files ...[3]string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		fw, _ := mw.CreateFormFile(f[0], f[1])
		_, _ = fw.Write([]byte(f[2]))
	}
	_ = mw.Close()
	r := httptest.NewRequest("POST", "/", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

// ReadForm keeps the text fields and stages the accepted files; a refused
// file, one too many, a file in a field the form does not take, a body
// too large, a text field too long and too many parts each end as they
// should, and nothing staged is left behind on a failure.
func TestReadForm(t *testing.T) {
	s := newStore(t, dbtest.SQLite(t), nil)
	ctx := context.Background()
	pdf := string(attachmentstest.PDF("una ricevuta"))
	limits := FormLimits{Body: 1 << 20, Text: 100, Parts: 10, Files: map[string]FileField{"doc": {Max: 2, Policy: Policy{Types: []Type{PDF}}}}}
	read := func(r *http.Request, l FormLimits) (*Form, error) {
		return s.ReadForm(ctx, httptest.NewRecorder(), r, l)
	}

	f, err := read(multipartRequest(t, map[string]string{"name": "Anna"}, [3]string{"doc", "a.pdf", pdf}, [3]string{"other", "x.pdf", pdf}), limits)
	if err != nil || f.Values.Get("name") != "Anna" || len(f.Files["doc"]) != 1 || f.Dropped["other"] != 1 || len(f.Refused) != 0 {
		t.Fatalf("a good form: %+v %v", f, err)
	}
	f.Discard()

	f, err = read(multipartRequest(t, nil, [3]string{"doc", "a.pdf", pdf}, [3]string{"doc", "b.pdf", "MZ not a pdf"}), limits)
	if err != nil || !errors.Is(f.Refused["doc"], ErrType) {
		t.Fatalf("a program as a PDF: %+v %v", f, err)
	}
	f.Discard()
	f, err = read(multipartRequest(t, nil, [3]string{"doc", "a.pdf", pdf}, [3]string{"doc", "b.pdf", pdf}, [3]string{"doc", "c.pdf", pdf}), limits)
	if err != nil || !errors.Is(f.Refused["doc"], ErrTooMany) {
		t.Fatalf("three files where two are taken: %+v %v", f, err)
	}
	f.Discard()

	if _, err := read(multipartRequest(t, map[string]string{"name": strings.Repeat("x", 101)}), limits); !errors.Is(err, ErrForm) {
		t.Errorf("a text field too long: %v", err)
	}
	// A file staged, then a failure: the file goes.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("doc", "a.pdf")
	_, _ = fw.Write([]byte(pdf))
	_ = mw.WriteField("name", strings.Repeat("x", 101))
	_ = mw.Close()
	late := httptest.NewRequest("POST", "/", &body)
	late.Header.Set("Content-Type", mw.FormDataContentType())
	if _, err := read(late, limits); !errors.Is(err, ErrForm) {
		t.Errorf("a text field too long after a file: %v", err)
	}
	small := limits
	small.Body = 1 << 10
	if _, err := read(multipartRequest(t, nil, [3]string{"doc", "a.pdf", pdf + strings.Repeat(" ", 2<<10)}), small); !errors.Is(err, ErrFormTooLarge) {
		t.Errorf("a body beyond the limit: %v", err)
	}
	many := map[string]string{}
	for i := range 11 {
		many[string(rune('a'+i))] = "v"
	}
	if _, err := read(multipartRequest(t, many), limits); !errors.Is(err, ErrForm) {
		t.Errorf("too many parts: %v", err)
	}
	bad := httptest.NewRequest("POST", "/", strings.NewReader("--x\r\nnot a part"))
	bad.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if _, err := read(bad, limits); !errors.Is(err, ErrForm) {
		t.Errorf("a malformed body: %v", err)
	}
	plain := httptest.NewRequest("POST", "/", strings.NewReader("name=Anna"))
	plain.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if f, err := (*Store)(nil).ReadForm(ctx, httptest.NewRecorder(), plain, FormLimits{Body: 1 << 10}); err != nil || f.Values.Get("name") != "Anna" {
		t.Errorf("an urlencoded form, no store: %+v %v", f, err)
	}
	// Nothing staged is left in the store's temporary folder.
	if left, err := os.ReadDir(filepath.Join(s.Files.Dir, "tmp")); err != nil || len(left) != 0 {
		t.Errorf("%d uploads left in tmp (%v)", len(left), err)
	}
}
