// Package attachmentstest builds small, real documents for the tests of
// attachments and of their users (the forms library): a PDF, an ODT and a
// DOCX that office programs open, images, and the refused kinds
// (macro-enabled, ZIP bombs, disguised programs).
package attachmentstest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"maps"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// PDF is a one-page PDF 1.4 showing text (ASCII, no parentheses), with a
// correct cross-reference table.
func PDF(text string) []byte { return PaddedPDF(text, 0) }

// PaddedPDF is PDF(text) grown by about pad bytes of comment inside its
// page's content stream, still a valid PDF: for tests of sizes.
func PaddedPDF(text string, pad int) []byte {
	return pdf(text, pad, "<< /Type /Catalog /Pages 2 0 R >>")
}

// ScriptedPDF is PDF(text) whose catalogue runs JavaScript when opened,
// the name written as given (escape it with #xx to test the decoding).
func ScriptedPDF(text, name string) []byte {
	return pdf(text, 0, "<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /"+name+" /JS (app.alert\\(1\\)) >> >>")
}

// ObjStmScriptedPDF is PDF(text) with JavaScript hidden in a compressed
// object stream (PDF 1.5), invisible to a scan of the file's bytes.
func ObjStmScriptedPDF(text string) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err := zw.Write([]byte("6 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>"))
	check(err)
	check(zw.Close())
	return pdf(text, 0, "<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream", z.Len(), z.String()))
}

func pdf(text string, pad int, catalog string, more ...string) []byte {
	content := "BT /F1 24 Tf 72 770 Td (" + text + ") Tj ET"
	if pad > 0 {
		line := "% " + strings.Repeat("civico ", 10) + "\n"
		content += "\n" + strings.Repeat(line, pad/len(line)+1)
	}
	objs := []string{
		catalog,
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	objs = append(objs, more...)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// Entry is a file inside a ZIP archive; Store keeps it uncompressed.
type Entry struct {
	Name, Data string
	Store      bool
}

// Zip writes the entries, in order, into a ZIP archive.
func Zip(entries ...Entry) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		if e.Store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		check(err)
		_, err = io.WriteString(w, e.Data)
		check(err)
	}
	check(zw.Close())
	return b.Bytes()
}

// check panics on an error: writing into memory does not fail, and a test
// helper that did would be broken.
func check(err error) {
	if err != nil {
		panic(err)
	}
}

// ODTMime is the content of an ODT's mimetype entry.
const ODTMime = "application/vnd.oasis.opendocument.text"

// ODTEntries are the entries of a minimal text document, mimetype first.
func ODTEntries(text string) []Entry {
	return []Entry{
		{Name: "mimetype", Data: ODTMime, Store: true},
		{Name: "META-INF/manifest.xml", Data: `<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>`},
		{Name: "content.xml", Data: `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
 <office:body><office:text><text:p>` + xmlEscape(text) + `</text:p></office:text></office:body>
</office:document-content>`},
	}
}

// ODT is a minimal text document, with extra entries appended.
func ODT(text string, extra ...Entry) []byte { return Zip(append(ODTEntries(text), extra...)...) }

// DOCXMain is the content type of a Word document's main part.
const DOCXMain = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"

// ContentTypes is a [Content_Types].xml declaring main for /word/document.xml.
func ContentTypes(main string, more ...string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
 <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
 <Default Extension="xml" ContentType="application/xml"/>
 <Override PartName="/word/document.xml" ContentType="` + main + `"/>` + strings.Join(more, "") + `
</Types>`
}

// DOCXEntries are the entries of a minimal Word document with the given
// main content type.
func DOCXEntries(text, main string) []Entry {
	return []Entry{
		{Name: "[Content_Types].xml", Data: ContentTypes(main)},
		{Name: "_rels/.rels", Data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
 <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>`},
		{Name: "word/document.xml", Data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
 <w:body><w:p><w:r><w:t>` + xmlEscape(text) + `</w:t></w:r></w:p></w:body>
</w:document>`},
	}
}

// DOCX is a minimal Word document, with extra entries appended.
func DOCX(text string, extra ...Entry) []byte {
	return Zip(append(DOCXEntries(text, DOCXMain), extra...)...)
}

// DOCM is a macro-enabled Word document (what Word saves as .docm),
// whatever name it is uploaded with.
func DOCM() []byte {
	entries := DOCXEntries("macro", "application/vnd.ms-word.document.macroEnabled.main+xml")
	entries[0].Data = ContentTypes("application/vnd.ms-word.document.macroEnabled.main+xml",
		`<Override PartName="/word/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/>`)
	return Zip(append(entries, Entry{Name: "word/vbaProject.bin", Data: "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not really OLE"})...)
}

// Bomb is a DOCX with an extra entry of n zero bytes, honestly declared:
// tiny on disk, n bytes once inflated.
func Bomb(n int64) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, e := range DOCXEntries("bomb", DOCXMain) {
		w, err := zw.Create(e.Name)
		check(err)
		_, err = io.WriteString(w, e.Data)
		check(err)
	}
	w, err := zw.Create("word/media/zeros.bin")
	check(err)
	_, err = io.CopyN(w, zeros{}, n)
	check(err)
	check(zw.Close())
	return b.Bytes()
}

// LyingBomb is a DOCX with an entry whose header claims declared bytes
// while holding inflated bytes of zeros: a claim of 1 TiB is refused from
// the central directory alone, a small claim over a large stream when
// inflating.
func LyingBomb(declared uint64, inflated int64) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range DOCXEntries("bomb", DOCXMain) {
		w, err := zw.Create(e.Name)
		check(err)
		_, err = io.WriteString(w, e.Data)
		check(err)
	}
	var raw bytes.Buffer
	fw, err := flate.NewWriter(&raw, flate.BestSpeed)
	check(err)
	crc := crc32.NewIEEE()
	_, err = io.CopyN(io.MultiWriter(fw, crc), zeros{}, inflated)
	check(err)
	check(fw.Close())
	h := &zip.FileHeader{Name: "word/media/zeros.bin", Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(len(raw.Bytes())), UncompressedSize64: declared}
	w, err := zw.CreateRaw(h)
	check(err)
	_, err = w.Write(raw.Bytes())
	check(err)
	check(zw.Close())
	return b.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// PNG is a real PNG image of w x h pixels.
func PNG(w, h int) []byte {
	var b bytes.Buffer
	check(png.Encode(&b, picture(w, h)))
	return b.Bytes()
}

// JPEG is a real JPEG photograph of w x h pixels.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	check(jpeg.Encode(&b, picture(w, h), &jpeg.Options{Quality: 80}))
	return b.Bytes()
}

func picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), 90, 255})
		}
	}
	return img
}

// HugePNG is a PNG whose header claims w x h pixels (correct CRCs, one
// tiny data chunk): a decompression bomb's announcement.
func HugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data))) // #nosec G115 -- test images are a few KB
		b.WriteString(kind)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write([]byte{0, 0, 0, 0})
	check(zw.Close())
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// EXE is the start of a Windows program: what a renamed .exe looks like.
func EXE() []byte {
	b := make([]byte, 512)
	copy(b, "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")
	copy(b[0x40:], "\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$")
	copy(b[0x80:], "PE\x00\x00")
	return b
}

// HTML is a web page (with "%PDF-" inside, not at the start), as an upload
// named .pdf might be.
func HTML() []byte {
	return []byte("<!doctype html><html><head><title>%PDF-1.4</title></head><body><script>alert(document.cookie)</script>%%EOF</body></html>\n")
}

// Multipart encodes fields and, if filename is not empty, a file part
// last, as a browser submits a form with enctype multipart/form-data. The
// file part claims contentType, which the server must not believe.
func Multipart(fields map[string]string, filename, contentType string, file []byte) (body []byte, formContentType string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		check(mw.WriteField(k, fields[k]))
	}
	if filename != "" || file != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		h.Set("Content-Type", contentType)
		w, err := mw.CreatePart(h)
		check(err)
		_, err = w.Write(file)
		check(err)
	}
	check(mw.Close())
	return b.Bytes(), mw.FormDataContentType()
}

// OnDisk lists the files a Blobs folder holds, by name (their hashes,
// sorted), and the temporary files of uploads being received.
func OnDisk(dir string) (stored, temps []string) {
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if filepath.Base(filepath.Dir(p)) == "tmp" {
			temps = append(temps, e.Name())
		} else {
			stored = append(stored, e.Name())
		}
		return nil
	})
	slices.Sort(stored)
	return stored, temps
}
