package attachments

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDetect checks that Detect never panics, refuses only with one of its
// five errors, decides the same twice, and accepts nothing that does not
// start as the type it names. The seeds, in testdata/fuzz/FuzzDetect, are
// the documents of TestDetect: real PDF, ODT and DOCX files and the refused
// kinds (renamed program, web page, macro-enabled DOCX, ZIP bombs...).
func FuzzDetect(f *testing.F) {
	limits := Policy{Types: Types, Limits: Limits{MaxExpanded: 1 << 20, MaxEntries: 64, MaxPixels: 1 << 20}, RefuseScripts: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := limits.Detect(bytes.NewReader(data), int64(len(data)))
		again, err2 := limits.Detect(bytes.NewReader(data), int64(len(data)))
		if got != again || (err == nil) != (err2 == nil) {
			t.Fatalf("Detect decided %v, %v then %v, %v", got, err, again, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrType) && !errors.Is(err, ErrMacro) && !errors.Is(err, ErrExpands) && !errors.Is(err, ErrScript) {
				t.Fatalf("Detect error %v is none of the five", err)
			}
			if got != (Type{}) {
				t.Fatalf("Detect = %v with error %v", got, err)
			}
			return
		}
		switch got {
		case PDF:
			if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data[max(0, len(data)-1024):], []byte("%%EOF")) {
				t.Fatalf("accepted as PDF: %q", data[:min(len(data), 16)])
			}
		case ODT, DOCX:
			if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
				t.Fatalf("accepted as %s: %q", got.Label, data[:min(len(data), 16)])
			}
		case PNG:
			if !bytes.HasPrefix(data, pngSignature) || !bytes.HasSuffix(data, []byte("IEND\xaeB`\x82")) {
				t.Fatalf("accepted as PNG: %q", data[:min(len(data), 16)])
			}
		case JPEG:
			if !bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}) || !bytes.Contains(data, []byte{0xFF, 0xD9}) {
				t.Fatalf("accepted as JPEG: %q", data[:min(len(data), 16)])
			}
		default:
			t.Fatalf("Detect = %v, not an accepted type", got)
		}
		if name := SanitizeFilename("x", got, "documento"); name != "x."+got.Ext {
			t.Fatalf("SanitizeFilename = %q", name)
		}
	})
}
