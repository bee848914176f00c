package population

import (
	"context"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/cf"
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

// The register holds what certificates state, reads a household head
// first, and checks the eleven-field lines; the synthetic register is the
// same for the same seed, with valid codes that agree with each person.
func TestCertificateFields(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := &Register{DB: d}
		ctx := context.Background()
		in := "FRRLCU78H15C707K;Centro;M;1978-06-15;Ferrari;Luca;Cinisello Balsamo (MI);italiana;Via Roma  12;F1;intestatario scheda\n" +
			"BNCGLI90A41F205H;Centro;F;1990-01-01;Bianchi;Giulia;Milano (MI);italiana;Via Roma 12;F1;coniuge\n" +
			"RSSMRA85T10A562S;Crocetta\n"
		if n, err := r.Import(ctx, strings.NewReader(in), nil); err != nil || n != 3 {
			t.Fatalf("import: %d %v", n, err)
		}
		p, ok, err := r.Lookup(ctx, "FRRLCU78H15C707K")
		if err != nil || !ok || p.GivenName != "Luca" || p.Address != "Via Roma 12" || p.Household != "F1" || !p.Certifiable() {
			t.Fatalf("lookup: %+v %v %v", p, ok, err)
		}
		if q, _, _ := r.Lookup(ctx, "RSSMRA85T10A562S"); q.Certifiable() {
			t.Error("a resident without names is certifiable")
		}
		members, err := r.Household(ctx, "F1")
		if err != nil || len(members) != 2 || members[0].Relation != HeadOfHousehold || members[1].GivenName != "Giulia" {
			t.Fatalf("household: %+v %v", members, err)
		}
		// Another feature asks for a person's housemates (the school
		// services' sibling reductions): the person included; none for
		// someone without a household, or not in the register.
		if mates, err := r.Housemates(ctx, "BNCGLI90A41F205H"); err != nil || len(mates) != 2 || mates[0] != "FRRLCU78H15C707K" || mates[1] != "BNCGLI90A41F205H" {
			t.Fatalf("housemates: %v %v", mates, err)
		}
		for _, fc := range []string{"RSSMRA85T10A562S", "NTRPRS80A01F205X"} {
			if mates, err := r.Housemates(ctx, fc); err != nil || len(mates) != 0 {
				t.Fatalf("housemates of %s: %v %v", fc, mates, err)
			}
		}
		for name, bad := range map[string]string{
			"household without relation": "FRRLCU78H15C707K;Centro;M;1978-06-15;Ferrari;Luca;Milano;italiana;Via Roma 1;F1;\n",
			"names without birth":        "FRRLCU78H15C707K;Centro;;;Ferrari;Luca;Milano;italiana;Via Roma 1;;\n",
			"a long address":             "FRRLCU78H15C707K;Centro;M;1978-06-15;Ferrari;Luca;Milano;italiana;" + strings.Repeat("x", 121) + ";;\n",
			"a control character":        "FRRLCU78H15C707K;Centro;M;1978-06-15;Ferrari;Luca\x07;Milano;italiana;Via Roma 1;;\n",
			"seven fields":               "FRRLCU78H15C707K;Centro;M;1978-06-15;Ferrari;Luca;Milano\n",
		} {
			if _, err := r.Import(ctx, strings.NewReader(bad), nil); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
	a, b := Synthetic(500, 7, []string{"Centro", "Crocetta"}), Synthetic(500, 7, []string{"Centro", "Crocetta"})
	if len(a) != 500 || a[499] != b[499] {
		t.Fatalf("synthetic: %d people, not repeatable", len(a))
	}
	heads, foreign := 0, 0
	for _, p := range a {
		code, err := cf.Parse(p.FiscalCode)
		if err != nil || code.Sex() != p.Sex || !p.Certifiable() || p.Household == "" {
			t.Fatalf("synthetic person %+v: %v", p, err)
		}
		var q Person
		if err := birth(&q, code, p.Sex, p.BirthDate); err != nil {
			t.Fatalf("%s: %v", p.FiscalCode, err)
		}
		if p.Relation == HeadOfHousehold {
			heads++
		}
		if p.Citizenship != "italiana" {
			foreign++
		}
	}
	if heads < 150 || heads > 400 || foreign == 0 {
		t.Errorf("%d households, %d foreign citizens in 500", heads, foreign)
	}
}

// BenchmarkSyntheticRegister is the demo's first start's share of the
// register: 3,000 invented residents made and stored in one transaction
// (SQLite).
func BenchmarkSyntheticRegister(b *testing.B) {
	d := dbtest.SQLite(b)
	r := &Register{DB: d}
	ctx := context.Background()
	for b.Loop() {
		if err := r.Put(ctx, Synthetic(3000, 2026, []string{"Centro"})...); err != nil {
			b.Fatal(err)
		}
	}
}
