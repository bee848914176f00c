package population

import (
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/cf"
)

// FuzzParse: whatever the file, the parser never panics, and every row it
// accepts has a valid fiscal code, once, a short district, and sex and
// birth date that agree with the code or neither.
func FuzzParse(f *testing.F) {
	f.Add("codice_fiscale;quartiere\nRSSMRA85T10A562S;Crocetta\n")
	f.Add("RSSMRA85T10A562S;\"Sant'Eusebio\";M;1985-12-10\nFRRLCU78H15C707K\n")
	f.Add("RSSMRA85T10A562S;a;b;c\n\"unterminated")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			code, err := cf.Parse(r.FiscalCode)
			if err != nil || seen[r.FiscalCode] || len(r.District) > MaxDistrict || (r.Sex == "") != (r.BirthDate == "") || r.Sex != "" && r.Sex != code.Sex() {
				t.Fatalf("accepted %+v (%v, duplicate %v)", r, err, seen[r.FiscalCode])
			}
			seen[r.FiscalCode] = true
		}
	})
}
