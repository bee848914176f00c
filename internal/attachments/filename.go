package attachments

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxNameRunes bounds the name of a download, before its extension.
const maxNameRunes = 80

// SanitizeFilename turns the name a file was uploaded with into the name it
// is offered under: no directory, letters and digits of any script, with
// '-' and '_' (anything else, spaces and dots included, becomes one '-'),
// at most 80 characters, and the extension of its detected type whatever
// the original one was; fallback when nothing of the name is left. Control
// and bidirectional characters, which could disguise an extension, are
// dropped with the rest.
func SanitizeFilename(name string, t Type, fallback string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:] // some browsers send the whole path
	}
	name = norm.NFC.String(strings.ToValidUTF8(name, ""))
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	var b strings.Builder
	dash, n := false, 0
	for _, r := range name {
		if n >= maxNameRunes {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		default:
			continue
		}
		n++
	}
	base := strings.Trim(b.String(), "-_")
	if base == "" {
		base = fallback
	}
	return base + "." + t.Ext
}

// asciiFallback is the name for clients that ignore filename*: accents
// dropped (è -> e), any other character outside [A-Za-z0-9_-] of the name
// becomes '-', the extension stays.
func asciiFallback(name string) string {
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		base, ext = name[:i], name[i:]
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(base) {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'):
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		out = "documento"
	}
	return out + strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.') {
			return r
		}
		return -1
	}, ext)
}

// ContentDisposition is the header value offering name as an attachment
// (RFC 6266): an ASCII filename for old clients and the exact name in
// filename* (RFC 5987, UTF-8, percent-encoded).
func ContentDisposition(name string) string {
	return `attachment; filename="` + asciiFallback(name) + `"; filename*=UTF-8''` + encode5987(name)
}

// encode5987 percent-encodes every byte outside RFC 5987's attr-char.
func encode5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
