package attachments

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Type is a kind of file civico accepts.
type Type struct {
	// Ext is the file name extension given to downloads, without the dot.
	Ext string
	// MediaType is sent as the download's Content-Type.
	MediaType string
	// Label names the type for people: "PDF", "ODT", "DOCX", "PNG", "JPEG".
	Label string
}

// The types civico can recognise; each use accepts some of them (Policy).
var (
	PDF  = Type{Ext: "pdf", MediaType: "application/pdf", Label: "PDF"}
	ODT  = Type{Ext: "odt", MediaType: "application/vnd.oasis.opendocument.text", Label: "ODT"}
	DOCX = Type{Ext: "docx", MediaType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Label: "DOCX"}
	PNG  = Type{Ext: "png", MediaType: "image/png", Label: "PNG"}
	JPEG = Type{Ext: "jpg", MediaType: "image/jpeg", Label: "JPEG"}
)

// Types lists every type civico can recognise.
var Types = []Type{PDF, ODT, DOCX, PNG, JPEG}

// TypeOf returns the type of a stored media type.
func TypeOf(mediaType string) (Type, bool) {
	for _, t := range Types {
		if t.MediaType == mediaType {
			return t, true
		}
	}
	return Type{}, false
}

// Reasons a file is refused. Detect wraps them with a detail for the log;
// compare with errors.Is.
var (
	ErrEmpty = errors.New("the file is empty")
	// ErrType: not one of the accepted types (whatever its name says).
	ErrType = errors.New("not a file of an accepted type")
	// ErrMacro: an office document carrying macros or ActiveX controls.
	ErrMacro = errors.New("the document contains macros")
	// ErrExpands: an archive or image that would expand beyond the limits
	// (a ZIP bomb, a decompression bomb).
	ErrExpands = errors.New("the file expands beyond the limits")
	// ErrScript: a PDF carrying JavaScript or actions that launch programs.
	ErrScript = errors.New("the PDF contains scripts")
)

// Limits bound the work of checking a file.
type Limits struct {
	// MaxExpanded is the most an ODT's or DOCX's entries (both ZIP
	// archives), or a PDF's object streams, may weigh once decompressed,
	// all together.
	MaxExpanded uint64
	// MaxEntries is the most entries an archive may have.
	MaxEntries int
	// MaxPixels is the most pixels an image may have (width x height).
	MaxPixels int64
}

// DefaultLimits are generous for real documents: a 20 MiB DOCX full of
// photographs expands to little more than 20 MiB, and text compresses
// about tenfold; a phone's photo is some 50 million pixels at most.
var DefaultLimits = Limits{MaxExpanded: 256 << 20, MaxEntries: 10000, MaxPixels: 100_000_000}

// Detect tells the type of a file from its content alone, among every
// type civico knows, with DefaultLimits and PDF scripts allowed.
func Detect(r io.ReaderAt, size int64) (Type, error) {
	return Policy{Types: Types}.Detect(r, size)
}

// Detect tells the type of a file from its content alone, among the
// policy's types: the name it was uploaded with and the Content-Type the
// browser claimed do not count. The first bytes are sniffed
// (http.DetectContentType, and the ZIP signature for ODF and OOXML), then
// each type's structure is checked:
//
//   - PDF: starts with "%PDF-" and a version, and "%%EOF" appears in its
//     last kilobyte; with RefuseScripts, no JavaScript, launch or
//     embedded-file actions, in the file or in its object streams.
//   - ODT: a ZIP archive whose first entry, at the very start of the file,
//     is "mimetype", stored uncompressed, holding exactly
//     "application/vnd.oasis.opendocument.text"; with content.xml, and
//     without Basic/ or Scripts/ (macros).
//   - DOCX: a ZIP archive starting at the first byte, with
//     [Content_Types].xml declaring /word/document.xml as a Word document
//     (not a template, not macro-enabled), and no vbaProject.bin,
//     vbaData.xml or ActiveX part.
//   - PNG: the signature, an IHDR chunk first, every chunk's CRC right,
//     IEND last and nothing after it, at most MaxPixels.
//   - JPEG: a start-of-image marker, well-formed segments up to a frame
//     header (at most MaxPixels) and the start of scan, and an end-of-image
//     marker after it.
//
// Every entry of an archive is decompressed, up to the limits, so that a
// damaged archive or one whose sizes lie (a ZIP bomb) is refused too.
func (p Policy) Detect(r io.ReaderAt, size int64) (Type, error) {
	l := p.limits()
	if size <= 0 {
		return Type{}, ErrEmpty
	}
	head := make([]byte, min(size, 512))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return Type{}, err
	}
	var t Type
	var err error
	switch sniffed := http.DetectContentType(head); {
	case sniffed == "application/pdf" && p.accepts(PDF):
		if t, err = detectPDF(r, size, head); err == nil && p.RefuseScripts {
			err = l.pdfScripts(r, size)
		}
	case sniffed == "image/png" && p.accepts(PNG):
		t, err = l.detectPNG(r, size)
	case sniffed == "image/jpeg" && p.accepts(JPEG):
		t, err = l.detectJPEG(r, size)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) && (p.accepts(ODT) || p.accepts(DOCX)):
		t, err = l.detectZip(r, size, head)
	default:
		return Type{}, fmt.Errorf("%w: %s, signature %q", ErrType, sniffed, head[:min(len(head), 8)])
	}
	if err != nil {
		return Type{}, err
	}
	if !p.accepts(t) {
		return refuse(ErrType, t.Label+" is not accepted here")
	}
	return t, nil
}

func refuse(err error, detail string) (Type, error) { return Type{}, fmt.Errorf("%w: %s", err, detail) }

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func detectPDF(r io.ReaderAt, size int64, head []byte) (Type, error) {
	if len(head) < 8 || !isDigit(head[5]) || head[6] != '.' || !isDigit(head[7]) {
		return refuse(ErrType, "PDF header without a version")
	}
	n := min(size, 1024)
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && !errors.Is(err, io.EOF) {
		return Type{}, err
	}
	if !bytes.Contains(tail, []byte("%%EOF")) {
		return refuse(ErrType, "PDF without %%EOF at the end (truncated?)")
	}
	return PDF, nil
}

const odtMime = "application/vnd.oasis.opendocument.text"

// contentTypes is the part of [Content_Types].xml that matters here.
type contentTypes struct {
	Defaults []struct {
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Default"`
	Overrides []struct {
		PartName    string `xml:"PartName,attr"`
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Override"`
}

const docxMain = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"

func (l Limits) detectZip(r io.ReaderAt, size int64, head []byte) (Type, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return refuse(ErrType, "ZIP: "+err.Error())
	}
	if len(zr.File) == 0 {
		return refuse(ErrType, "empty ZIP archive")
	}
	if len(zr.File) > l.MaxEntries {
		return refuse(ErrExpands, fmt.Sprintf("%d entries", len(zr.File)))
	}
	// Declared sizes first: a bomb is refused without inflating anything.
	var declared uint64
	names := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if declared > l.MaxExpanded || f.UncompressedSize64 > l.MaxExpanded {
			return refuse(ErrExpands, fmt.Sprintf("entries declare more than %d bytes", l.MaxExpanded))
		}
		// Part names are case-insensitive in OOXML; two entries with one
		// name would let readers disagree on which one counts.
		key := strings.ToLower(f.Name)
		if names[key] != nil {
			return refuse(ErrType, "two entries named "+f.Name)
		}
		names[key] = f
	}
	for key := range names {
		if strings.HasSuffix(key, "vbaproject.bin") || strings.HasSuffix(key, "vbadata.xml") || strings.Contains(key, "activex/") {
			return refuse(ErrMacro, "entry "+key)
		}
	}
	var t Type
	switch {
	case zr.File[0].Name == "mimetype":
		if t, err = detectODT(zr, names, head); err != nil {
			return Type{}, err
		}
	case names["[content_types].xml"] != nil && names["word/document.xml"] != nil:
		if t, err = detectDOCX(names); err != nil {
			return Type{}, err
		}
	default:
		return refuse(ErrType, "a ZIP archive that is neither ODT nor DOCX")
	}
	// Inflate everything: the reader refuses an entry longer than it
	// declared and checks every CRC, so this proves the archive sound and
	// bounded by the declared total.
	buf := make([]byte, 32<<10)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return refuse(ErrType, "entry "+f.Name+": "+err.Error())
		}
		// #nosec G110 -- bounded: the reader stops an entry at its declared size, and the declared sizes add up to MaxExpanded at most (checked above)
		_, err = io.CopyBuffer(io.Discard, rc, buf)
		_ = rc.Close()
		if err != nil {
			return refuse(ErrType, "entry "+f.Name+": "+err.Error())
		}
	}
	return t, nil
}

func detectODT(zr *zip.Reader, names map[string]*zip.File, head []byte) (Type, error) {
	first := zr.File[0]
	// The first entry must also be first in the file, where readers that
	// look at the bytes (the "magic" of ODF) expect it.
	if len(head) < 38 || binary.LittleEndian.Uint16(head[26:28]) != 8 || string(head[30:38]) != "mimetype" {
		return refuse(ErrType, "mimetype is not the first entry of the file")
	}
	if first.Method != zip.Store || first.UncompressedSize64 != uint64(len(odtMime)) {
		return refuse(ErrType, "mimetype compressed or of the wrong length")
	}
	b, err := readEntry(first)
	if err != nil || string(b) != odtMime {
		return refuse(ErrType, fmt.Sprintf("mimetype %q", b))
	}
	if names["content.xml"] == nil {
		return refuse(ErrType, "ODT without content.xml")
	}
	for key := range names {
		if strings.HasPrefix(key, "basic/") || strings.HasPrefix(key, "scripts/") {
			return refuse(ErrMacro, "entry "+key)
		}
	}
	return ODT, nil
}

func detectDOCX(names map[string]*zip.File) (Type, error) {
	b, err := readEntry(names["[content_types].xml"])
	if err != nil {
		return refuse(ErrType, "[Content_Types].xml: "+err.Error())
	}
	var ct contentTypes
	if err := xml.Unmarshal(b, &ct); err != nil {
		return refuse(ErrType, "[Content_Types].xml: "+err.Error())
	}
	all := make([]string, 0, len(ct.Defaults)+len(ct.Overrides))
	for _, d := range ct.Defaults {
		all = append(all, d.ContentType)
	}
	main := ""
	for _, o := range ct.Overrides {
		all = append(all, o.ContentType)
		if strings.EqualFold(o.PartName, "/word/document.xml") {
			main = o.ContentType
		}
	}
	for _, c := range all {
		lc := strings.ToLower(c)
		if strings.Contains(lc, "macroenabled") || strings.Contains(lc, "vbaproject") || strings.Contains(lc, "activex") {
			return refuse(ErrMacro, "content type "+c)
		}
	}
	if main != docxMain {
		return refuse(ErrType, fmt.Sprintf("word/document.xml is %q", main))
	}
	return DOCX, nil
}

// maxSmallEntry bounds the entries read whole: mimetype and
// [Content_Types].xml, a few hundred bytes in real documents.
const maxSmallEntry = 1 << 20

// readEntry reads a small entry whole.
func readEntry(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > maxSmallEntry {
		return nil, fmt.Errorf("%s is larger than %d bytes", f.Name, maxSmallEntry)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	return io.ReadAll(io.LimitReader(rc, maxSmallEntry))
}
