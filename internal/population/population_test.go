package population

import (
	"context"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

func TestImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := &Register{DB: d}
		ctx := context.Background()
		var progress []int
		n, err := r.Import(ctx, strings.NewReader("codice_fiscale;quartiere;sesso;data_nascita\nRSSMRA85T10A562S;Crocetta;M;1985-12-10\nFRRLCU78H15C707K;\nBNCGLI90A41F205H;Centro;;\n"),
			func(done, total int) { progress = append(progress, done*10+total) })
		if err != nil || n != 3 {
			t.Fatalf("import: %d %v", n, err)
		}
		if len(progress) != 3 || progress[2] != 33 {
			t.Errorf("progress %v", progress)
		}
		for name, bad := range map[string]string{
			"bad check character":          "RSSMRA85T10A562X;Centro\n",
			"duplicate":                    "RSSMRA85T10A562S;Centro\nRSSMRA85T10A562S;Crocetta\n",
			"long district":                "RSSMRA85T10A562S;" + strings.Repeat("a", 81) + "\n",
			"sex without birth date":       "RSSMRA85T10A562S;Centro;M\n",
			"birth date against the code":  "RSSMRA85T10A562S;Centro;M;1985-12-11\n",
			"sex against the code":         "RSSMRA85T10A562S;Centro;F;1985-12-10\n",
			"century is fine, year is not": "RSSMRA85T10A562S;Centro;M;1986-12-10\n",
			"unknown sex":                  "RSSMRA85T10A562S;Centro;X;1985-12-10\n",
			"malformed date":               "RSSMRA85T10A562S;Centro;M;10/12/1985\n",
			"too many fields":              "RSSMRA85T10A562S;Centro;M;1985-12-10;extra\n",
		} {
			if _, err := r.Import(ctx, strings.NewReader(bad), nil); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		// A refused import changed nothing.
		p, ok, err := r.Lookup(ctx, "RSSMRA85T10A562S")
		if err != nil || !ok || p.District != "Crocetta" || p.Sex != "M" || p.BirthDate != "1985-12-10" {
			t.Fatalf("after refused imports: %+v %v %v", p, ok, err)
		}
		if resident, district, _ := r.Residence(ctx, "FRRLCU78H15C707K"); !resident || district != "" {
			t.Errorf("resident without district: %v %q", resident, district)
		}
		if _, _, ok, _ := r.Birth(ctx, "BNCGLI90A41F205H"); ok {
			t.Error("a resident without a birth date in the export has one")
		}
		if resident, _, _ := r.Residence(ctx, "SPSPLA75C50C707Q"); resident {
			t.Fatal("someone not in the register is resident")
		}
		// A centenarian: the register settles the century the code cannot.
		if err := r.Put(ctx, Person{FiscalCode: "RSSMRA85T10A562S", District: "Crocetta", Sex: "M", BirthDate: "1885-12-10"}); err != nil {
			t.Fatal(err)
		}
		if sex, birth, ok, _ := r.Birth(ctx, "RSSMRA85T10A562S"); !ok || sex != "M" || birth != "1885-12-10" {
			t.Errorf("after Put: %s %s %v", sex, birth, ok)
		}
	})
}
