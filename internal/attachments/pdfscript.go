package attachments

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
)

// pdfDangerous are the PDF names that make a document act: JavaScript,
// launching programs, opening embedded files, submitting or importing
// data, rich media. A name may be written with #xx escapes
// (/J#61vaScript): they are decoded before comparing.
var pdfDangerous = map[string]bool{
	"JavaScript": true, "JS": true, "Launch": true, "EmbeddedFile": true, "EmbeddedFiles": true,
	"SubmitForm": true, "ImportData": true, "RichMedia": true, "XFA": true,
}

// pdfScripts looks for the dangerous names in the file as written and in
// its object streams (PDF 1.5 compresses objects into /ObjStm streams,
// where a scan of the raw bytes would not see them), decompressing at most
// MaxExpanded bytes. It does not parse the PDF: a name inside a string or
// another compressed stream is not seen, which is what "cheap" costs; the
// virus scanner is the other line.
func (l Limits) pdfScripts(r io.ReaderAt, size int64) error {
	data, err := io.ReadAll(io.NewSectionReader(r, 0, size))
	if err != nil {
		return err
	}
	if name, ok := dangerousName(data); ok {
		return fmt.Errorf("%w: /%s", ErrScript, name)
	}
	budget := int64(min(l.MaxExpanded, 1<<62)) // #nosec G115 -- bounded below 2^62 first
	for rest := data; ; {
		i := bytes.Index(rest, []byte("/ObjStm"))
		if i < 0 {
			return nil
		}
		rest = rest[i+len("/ObjStm"):]
		s := bytes.Index(rest, []byte("stream"))
		if s < 0 {
			return nil
		}
		body := rest[s+len("stream"):]
		body = bytes.TrimPrefix(bytes.TrimPrefix(body, []byte("\r")), []byte("\n"))
		if e := bytes.Index(body, []byte("endstream")); e >= 0 {
			body = body[:e]
		}
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			continue // not Flate: other filters are not opened
		}
		// #nosec G110 -- bounded by the budget of MaxExpanded bytes over every stream
		inflated, err := io.ReadAll(io.LimitReader(zr, budget+1))
		_ = zr.Close()
		budget -= int64(len(inflated))
		if budget < 0 {
			return fmt.Errorf("%w: object streams expand beyond %d bytes", ErrExpands, l.MaxExpanded)
		}
		if name, ok := dangerousName(inflated); ok {
			return fmt.Errorf("%w: /%s in an object stream", ErrScript, name)
		}
		_ = err // a damaged stream: what was inflated has been looked at
	}
}

// dangerousName finds the first dangerous name in b.
func dangerousName(b []byte) (string, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '/' {
			continue
		}
		j := i + 1
		for j < len(b) && isNameChar(b[j]) {
			j++
		}
		if name := decodeName(b[i+1 : j]); pdfDangerous[name] {
			return name, true
		}
		i = j - 1
	}
	return "", false
}

// isNameChar reports whether c may stand in a PDF name: anything but
// white space and delimiters.
func isNameChar(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ', '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}

func decodeName(raw []byte) string {
	if bytes.IndexByte(raw, '#') < 0 {
		return string(raw)
	}
	var out []byte
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) {
			if v, err := strconv.ParseUint(string(raw[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, raw[i])
	}
	return string(out)
}
