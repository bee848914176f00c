package sportello

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/web"
)

// Uploads keeps what a person uploads (package attachments): checked by
// its content, scanned, owned by who sent it.
type Uploads interface {
	Put(ctx context.Context, owner, filename string, r io.Reader) (FileInfo, error)
	// Refusal is why a file was refused, as the end of a message id
	// ("sportello.error." + it), or "" when err is no refusal.
	Refusal(err error) string
	// MaxSize is the largest file accepted, in bytes.
	MaxSize() int64
}

// posted is a received form: its text fields, the files stored, and the
// files refused with why.
type posted struct {
	values   url.Values
	files    map[string]*FileInfo
	fileErrs map[string]string
}

const (
	maxTextPart  = 64 << 10
	maxParts     = 400
	maxStepFiles = 5
)

// receive reads a post as it arrives: URL-encoded, or multipart with the
// files streamed into the attachments as owner's. With def, the file
// parts are the definition's file fields (one each); without, up to five
// parts named "file". It answers the request itself and returns nil when
// the body is malformed or too large, or the store fails.
func (h *Web) receive(w http.ResponseWriter, r *http.Request, owner string, def *Definition) *posted {
	p := &posted{values: url.Values{}, files: map[string]*FileInfo{}, fileErrs: map[string]string{}}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		if !h.App.ParseForm(w, r, 256<<10) {
			return nil
		}
		p.values = r.PostForm
		return p
	}
	if h.Uploads == nil {
		h.App.Error(w, r, http.StatusServiceUnavailable)
		return nil
	}
	files := maxStepFiles
	isFile := func(name string) bool { return name == "file" }
	if def != nil {
		files = 0
		for _, f := range def.Fields {
			if f.Type == TypeFile {
				files++
			}
		}
		isFile = func(name string) bool { f, ok := def.Field(name); return ok && f.Type == TypeFile }
	}
	limit := int64(files)*h.Uploads.MaxSize() + 1<<20
	if r.ContentLength > limit {
		h.App.Error(w, r, http.StatusRequestEntityTooLarge)
		return nil
	}
	// A logged-in person (the route's guard checked): uploads may take
	// longer than the listener's read timeout.
	h.App.LargeBody(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		h.App.Error(w, r, http.StatusBadRequest)
		return nil
	}
	stored := 0
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return p
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.App.Error(w, r, http.StatusRequestEntityTooLarge)
			return nil
		}
		if err != nil || parts >= maxParts {
			h.App.Error(w, r, http.StatusBadRequest)
			return nil
		}
		name := part.FormName()
		if part.FileName() != "" || isFile(name) {
			if part.FileName() == "" {
				continue // no file chosen
			}
			if !isFile(name) || p.files[name] != nil || stored >= files {
				h.App.Error(w, r, http.StatusBadRequest)
				return nil
			}
			info, err := h.Uploads.Put(r.Context(), owner, part.FileName(), part)
			if errors.As(err, &tooBig) {
				h.App.Error(w, r, http.StatusRequestEntityTooLarge)
				return nil
			}
			if reason := h.Uploads.Refusal(err); reason != "" {
				h.App.Log.Info("upload refused", "reason", reason, "request_id", web.RequestID(r.Context()))
				p.fileErrs[name] = reason
				// Read the rest of the part so the next one comes.
				_, _ = io.Copy(io.Discard, part)
				continue
			}
			if err != nil {
				h.App.Fail(w, r, err)
				return nil
			}
			key := name
			if def == nil {
				key = name + string(rune('0'+stored))
			}
			p.files[key] = &info
			stored++
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxTextPart+1))
		if errors.As(err, &tooBig) {
			h.App.Error(w, r, http.StatusRequestEntityTooLarge)
			return nil
		}
		if err != nil || len(b) > maxTextPart || !db.IsText(name) || !db.IsText(string(b)) {
			h.App.Error(w, r, http.StatusBadRequest)
			return nil
		}
		p.values.Add(name, strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
}
