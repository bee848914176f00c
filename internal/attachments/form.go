package attachments

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"

	"github.com/civico-pa/civico/internal/db"
)

// FileField is a form's file field: how many files it takes and what each
// may be.
type FileField struct {
	Max    int
	Policy Policy
}

// FormLimits bound a multipart form read as it arrives (ReadForm).
type FormLimits struct {
	// Body bounds the whole body; Text each text field; Parts the parts.
	Body, Text int64
	Parts      int
	// Files are the file fields taken; a file part of any other name is
	// read and dropped, one beyond its field's Max refuses the field
	// (ErrTooMany).
	Files map[string]FileField
}

// Form is what ReadForm read: the text fields, the files staged by field,
// and the first refusal of each file field (Message says why). Discard it
// once its files are added or refused.
type Form struct {
	Values  url.Values
	Files   map[string][]*Staged
	Refused map[string]error
	// Dropped counts the files sent in fields the form does not take
	// (FormLimits.Files), by field.
	Dropped map[string]int
}

// ErrTooMany is a file beyond its field's FileField.Max: in Refused, as
// the field's refusal, not a failure of the form.
var ErrTooMany = errors.New("attachments: too many files for the field")

// Discard removes the staged files that were not added.
func (f *Form) Discard() {
	if f == nil {
		return
	}
	for _, list := range f.Files {
		for _, st := range list {
			st.Discard()
		}
	}
}

// ErrForm is a body that is not the form it claims to be (400), and
// ErrFormTooLarge one beyond FormLimits.Body (413).
var (
	ErrForm         = errors.New("attachments: malformed form")
	ErrFormTooLarge = errors.New("attachments: form too large")
)

// ReadForm reads a form as it arrives, staging each accepted file through
// the store's checks (type, size, structure, the virus scan) without
// keeping the body in memory. A form sent urlencoded is read as well (no
// files). It fails with ErrForm or ErrFormTooLarge, or the store's own
// error; a refused file is not an error but an entry in Refused. The
// caller bounds who may send a large body (web.App.LargeBody) before. A
// nil store reads forms that take no files (l.Files empty).
func (s *Store) ReadForm(ctx context.Context, w http.ResponseWriter, r *http.Request, l FormLimits) (*Form, error) {
	if r.ContentLength > l.Body {
		return nil, ErrFormTooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, l.Body)
	f := &Form{Values: url.Values{}, Files: map[string][]*Staged{}, Refused: map[string]error{}, Dropped: map[string]int{}}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		if err := r.ParseForm(); err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return nil, ErrFormTooLarge
			}
			return nil, ErrForm
		}
		for k, vs := range r.PostForm {
			if !db.IsText(k) || slices.ContainsFunc(vs, func(v string) bool { return !db.IsText(v) }) {
				return nil, ErrForm
			}
		}
		f.Values = r.PostForm
		return f, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, ErrForm
	}
	fail := func(err error) (*Form, error) {
		f.Discard()
		return nil, err
	}
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		if err != nil {
			return fail(bodyError(err))
		}
		if parts >= l.Parts {
			return fail(ErrForm)
		}
		if part.FileName() != "" || isFile(part) {
			if err := f.file(ctx, s, part, l); err != nil {
				return fail(err)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, l.Text+1))
		if err != nil {
			return fail(bodyError(err))
		}
		// A browser sends a page's forms in UTF-8 without NUL; anything
		// else would reach a text column PostgreSQL refuses it in.
		if int64(len(b)) > l.Text || !db.IsText(string(b)) || !db.IsText(part.FormName()) {
			return fail(ErrForm)
		}
		f.Values.Add(part.FormName(), string(b))
	}
}

// isFile says whether a part is a file input's, even one left empty (a
// browser sends an empty file part with filename="").
func isFile(p *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return false
	}
	_, ok := params["filename"]
	return ok
}

// file stages one file part, or drops it.
func (f *Form) file(ctx context.Context, s *Store, part *multipart.Part, l FormLimits) error {
	name := part.FormName()
	field, ok := l.Files[name]
	if ok && part.FileName() != "" && f.Refused[name] == nil && len(f.Files[name]) >= field.Max {
		f.Refused[name] = ErrTooMany
	}
	if (!ok || s == nil) && part.FileName() != "" {
		f.Dropped[name]++
	}
	if !ok || s == nil || part.FileName() == "" || f.Refused[name] != nil {
		return drain(part)
	}
	st, err := s.Stage(ctx, part, part.FileName(), field.Policy)
	if _, ok := errors.AsType[*ReadError](err); ok {
		return bodyError(err)
	}
	if Refused(err) {
		f.Refused[name] = err
		return drain(part)
	}
	if err != nil {
		return err
	}
	f.Files[name] = append(f.Files[name], st)
	return nil
}

// drain reads the rest of a part that is not kept.
func drain(p *multipart.Part) error {
	if _, err := io.Copy(io.Discard, p); err != nil {
		return bodyError(err)
	}
	return nil
}

// bodyError is what a failure to read the body means: a body too large,
// or a malformed one.
func bodyError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return ErrFormTooLarge
	}
	return ErrForm
}
