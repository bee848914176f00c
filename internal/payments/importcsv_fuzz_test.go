package payments

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
)

// FuzzParseImport feeds the finance office's CSV import any file. Whatever
// the file, ParseImport must not panic and must answer one of two ways:
// every line ready to create (each one valid, ids unique, one per
// non-blank record of the file: none dropped in silence), or the wrong
// lines, each with a line number inside the file, a column of the format
// and a message the feature translates into Italian and English. The same
// file gives the same answer twice. Run by scripts/ci/fuzz.sh; its seeds
// run with every go test.
func FuzzParseImport(f *testing.F) {
	d := dbtest.SQLite(f)
	s, _ := newService(f, d)
	rates, err := DemoRates()
	if err != nil {
		f.Fatal(err)
	}
	msgs := map[string]map[string]string{}
	for _, lang := range []string{"it", "en"} {
		b, err := Messages.ReadFile("locales/" + lang + ".json")
		if err != nil {
			f.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			f.Fatal(err)
		}
		msgs[lang] = m
	}
	columns := map[string]bool{"": true}
	for _, c := range importColumns {
		columns[c] = true
	}

	const header = "id;codice_fiscale;nominativo;categoria;causale;anno;importo;scadenza;rate\n"
	f.Add([]byte(goodCSV))
	f.Add([]byte(strings.ReplaceAll(goodCSV, ",", ";")))
	f.Add([]byte("\xef\xbb\xbf" + header + "M-1;RSSMRA85T10A562S;Mario Rossi;mensa;Mensa ottobre;2026;45,20;30/11/2026;\n"))
	f.Add([]byte(header + "T-1;RSSMRA85T10A562S;;tari;Via Roma 1;2026;301,00;;\n\n;;;;;;;;\n"))
	f.Add([]byte(header + "R-1;RSSMRA85T10A562S;;trasporto;Scuolabus;2026;220,00;2026-09-15;2026-09-15:110|2027-01-15:110\n"))
	f.Add([]byte(header + "R-2;RSSMRA85T10A562S;;trasporto;Scuolabus;2026;220,00;2026-09-15;2027-01-15:110|2026-09-15:110\n"))
	f.Add([]byte(header + "X;RSSMRA85T10A562T;;boh;ab;20x6;-1;2026-02-30;x:y\nX;;;;;;;;\n"))
	f.Add([]byte(header + "\"Q-1\";RSSMRA85T10A562S;\"Rossi; Mario\";mensa;\"Mensa\nottobre\";2026;\"1.234,56\";2026-11-30;\n"))
	f.Add([]byte(header + "B-1;RSSMRA85T10A562S;;mensa;\"Mensa;2026;45,20;2026-11-30;\n"))
	f.Add([]byte("id,importo\n1,2\n"))
	f.Add([]byte(""))

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return // the back office takes files of any size; the fuzzer's inputs need not be large
		}
		ctx := context.Background()
		lines, err := s.ParseImport(ctx, data, rates)
		again, err2 := s.ParseImport(ctx, data, rates)
		if (err == nil) != (err2 == nil) || len(lines) != len(again) {
			t.Fatalf("the same file parsed twice gives %d lines, %v and then %d lines, %v", len(lines), err, len(again), err2)
		}
		var ie ImportErrors
		if err != nil {
			if !errors.As(err, &ie) || len(ie) == 0 {
				t.Fatalf("refused without naming a line: %v", err)
			}
			if lines != nil {
				t.Fatalf("refused, and yet %d lines to create", len(lines))
			}
			physical := bytes.Count(data, []byte("\n")) + 2 // the line after the last newline, and the line past the end a file that stops short is reported on
			for _, e := range ie {
				if e.Line < 1 || e.Line > physical {
					t.Errorf("%+v: line %d is not in a file of %d lines", e, e.Line, physical-1)
				}
				if !columns[e.Column] {
					t.Errorf("%+v: %q is not a column of the format", e, e.Column)
				}
				for lang, m := range msgs {
					if m[e.Message] == "" {
						t.Errorf("%+v: no %s message %q", e, lang, e.Message)
					}
				}
			}
			return
		}
		if len(lines) == 0 {
			t.Fatal("accepted, with nothing to create")
		}
		ids := map[string]bool{}
		prev := 1
		for _, l := range lines {
			p := l.Position
			if fe := p.Validate(); fe != nil {
				t.Errorf("line %d accepted and invalid: %v (%+v)", l.Line, fe, p)
			}
			if p.Amount <= 0 || p.ExternalID == "" || ids[p.ExternalID] {
				t.Errorf("line %d: amount %d, id %q (seen before: %v)", l.Line, p.Amount, p.ExternalID, ids[p.ExternalID])
			}
			ids[p.ExternalID] = true
			if l.Line <= prev {
				t.Errorf("line %d after line %d", l.Line, prev)
			}
			prev = l.Line
		}
		if n := records(data); n != len(lines) {
			t.Errorf("the file has %d records besides its header, %d lines to create: some dropped in silence", n, len(lines))
		}
	})
}

// records counts a valid file's non-blank records after the header, read
// as ParseImport reads it (comma or semicolon, whichever the header has more of).
func records(data []byte) int {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	n := -1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return n
		}
		if err != nil || strings.Join(rec, "") != "" || n < 0 {
			n++
		}
	}
}
