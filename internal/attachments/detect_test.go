package attachments

import (
	"bytes"
	"errors"
	"testing"

	"github.com/civico-pa/civico/internal/attachments/attachmentstest"
)

func TestDetect(t *testing.T) {
	small := Limits{MaxExpanded: 4 << 20, MaxEntries: 100}
	cases := []struct {
		name   string
		data   []byte
		limits Limits
		want   Type
		err    error
	}{
		{"pdf", attachmentstest.PDF("Domanda di iscrizione"), DefaultLimits, PDF, nil},
		{"pdf 2.0 with trailing newlines", append(bytes.Replace(attachmentstest.PDF("x"), []byte("%PDF-1.4"), []byte("%PDF-2.0"), 1), "\r\n\r\n"...), DefaultLimits, PDF, nil},
		{"odt", attachmentstest.ODT("Dichiarazione sostitutiva"), DefaultLimits, ODT, nil},
		{"docx", attachmentstest.DOCX("Richiesta di accesso agli atti"), DefaultLimits, DOCX, nil},
		{"docx with images", attachmentstest.DOCX("foto", attachmentstest.Entry{Name: "word/media/image1.png", Data: "\x89PNG\r\n\x1a\n"}), DefaultLimits, DOCX, nil},

		{"empty", nil, DefaultLimits, Type{}, ErrEmpty},
		{"renamed exe", attachmentstest.EXE(), DefaultLimits, Type{}, ErrType},
		{"html named .pdf", attachmentstest.HTML(), DefaultLimits, Type{}, ErrType},
		{"plain text", []byte("Modulo di domanda\n"), DefaultLimits, Type{}, ErrType},
		{"pdf header only", []byte("%PDF-"), DefaultLimits, Type{}, ErrType},
		{"truncated pdf", attachmentstest.PDF("x")[:200], DefaultLimits, Type{}, ErrType},
		{"zip of a text file", attachmentstest.Zip(attachmentstest.Entry{Name: "hello.txt", Data: "ciao"}), DefaultLimits, Type{}, ErrType},
		{"empty zip", attachmentstest.Zip(), DefaultLimits, Type{}, ErrType},
		{"zip with only word/document.xml", attachmentstest.Zip(attachmentstest.DOCXEntries("x", attachmentstest.DOCXMain)[2]), DefaultLimits, Type{}, ErrType},
		{"docm renamed docx", attachmentstest.DOCM(), DefaultLimits, Type{}, ErrMacro},
		{"docx carrying vbaProject.bin", attachmentstest.DOCX("x", attachmentstest.Entry{Name: "word/vbaProject.bin", Data: "vba"}), DefaultLimits, Type{}, ErrMacro},
		{"docx with activeX", attachmentstest.DOCX("x", attachmentstest.Entry{Name: "word/activeX/activeX1.xml", Data: "<ax/>"}), DefaultLimits, Type{}, ErrMacro},
		{"dotx template", attachmentstest.Zip(attachmentstest.DOCXEntries("x", "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml")...), DefaultLimits, Type{}, ErrType},
		{"odt with Basic macros", attachmentstest.ODT("x", attachmentstest.Entry{Name: "Basic/Standard/Module1.xml", Data: "<script/>"}), DefaultLimits, Type{}, ErrMacro},
		{"ods", attachmentstest.Zip(append([]attachmentstest.Entry{{Name: "mimetype", Data: "application/vnd.oasis.opendocument.spreadsheet", Store: true}}, attachmentstest.ODTEntries("x")[1:]...)...), DefaultLimits, Type{}, ErrType},
		{"odt with compressed mimetype", attachmentstest.Zip(append([]attachmentstest.Entry{{Name: "mimetype", Data: attachmentstest.ODTMime}}, attachmentstest.ODTEntries("x")[1:]...)...), DefaultLimits, Type{}, ErrType},
		{"odt with mimetype not first", attachmentstest.Zip(append(attachmentstest.ODTEntries("x")[1:], attachmentstest.ODTEntries("x")[0])...), DefaultLimits, Type{}, ErrType},
		{"zip bomb", attachmentstest.Bomb(8 << 20), small, Type{}, ErrExpands},
		{"zip bomb declaring 1 TiB", attachmentstest.LyingBomb(1<<40, 1<<20), DefaultLimits, Type{}, ErrExpands},
		{"entry longer than it declares", attachmentstest.LyingBomb(1000, 8<<20), small, Type{}, ErrType},
		{"too many entries", attachmentstest.DOCX("x", manyEntries(101)...), small, Type{}, ErrExpands},
		{"exe with a docx appended", append(attachmentstest.EXE(), attachmentstest.DOCX("x")...), DefaultLimits, Type{}, ErrType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Policy{Types: []Type{PDF, ODT, DOCX}, Limits: c.limits}.Detect(bytes.NewReader(c.data), int64(len(c.data)))
			if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("Detect = %v, %v; want %v, %v", got, err, c.want, c.err)
			}
			if got != c.want {
				t.Fatalf("Detect = %v; want %v", got, c.want)
			}
		})
	}
}

func manyEntries(n int) []attachmentstest.Entry {
	out := make([]attachmentstest.Entry, n)
	for i := range out {
		out[i] = attachmentstest.Entry{Name: "word/media/p" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".txt", Data: "x"}
	}
	return out
}

func TestSanitizeFilename(t *testing.T) {
	cases := []struct {
		in   string
		t    Type
		want string
	}{
		{"Domanda iscrizione nido.pdf", PDF, "Domanda-iscrizione-nido.pdf"},
		{`C:\Users\anna\Desktop\modulo.PDF`, PDF, "modulo.pdf"},
		{"../../etc/passwd", PDF, "passwd.pdf"},
		{"dichiarazione_sostitutiva.docx.exe", DOCX, "dichiarazione_sostitutiva-docx.docx"},
		{"Richiesta più però.odt", ODT, "Richiesta-più-però.odt"},
		{"fattura\u202Efdp.exe", PDF, "fattura-fdp.pdf"},
		{"", PDF, "modulo.pdf"},
		{"...", DOCX, "modulo.docx"},
		{"\xff\xfe.pdf", PDF, "modulo.pdf"},
		{"a\x00b\nc.pdf", PDF, "a-b-c.pdf"},
		{string(bytes.Repeat([]byte("x"), 300)) + ".pdf", PDF, string(bytes.Repeat([]byte("x"), 80)) + ".pdf"},
	}
	for _, c := range cases {
		if got := SanitizeFilename(c.in, c.t, "modulo"); got != c.want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	cases := map[string]string{
		"modulo.pdf":             `attachment; filename="modulo.pdf"; filename*=UTF-8''modulo.pdf`,
		"Richiesta-più-però.odt": `attachment; filename="Richiesta-piu-pero.odt"; filename*=UTF-8''Richiesta-pi%C3%B9-per%C3%B2.odt`,
		"заявление.docx":         `attachment; filename="documento.docx"; filename*=UTF-8''%D0%B7%D0%B0%D1%8F%D0%B2%D0%BB%D0%B5%D0%BD%D0%B8%D0%B5.docx`,
		"iscrizione_2026-27.pdf": `attachment; filename="iscrizione_2026-27.pdf"; filename*=UTF-8''iscrizione_2026-27.pdf`,
	}
	for in, want := range cases {
		if got := ContentDisposition(in); got != want {
			t.Errorf("ContentDisposition(%q) =\n %s\nwant\n %s", in, got, want)
		}
	}
}
