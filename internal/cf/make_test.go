package cf

import (
	"testing"
	"time"
)

// Make gives the codes the demo's people carry, computed by hand from the
// Agenzia's rules, and refuses what is no person.
func TestMake(t *testing.T) {
	for _, c := range []struct {
		family, given, sex, birth, place, want string
	}{
		{"Rossi", "Mario", "M", "1985-12-10", "A562", "RSSMRA85T10A562"},
		{"Bianchi", "Giulia", "F", "1990-01-01", "F205", "BNCGLI90A41F205"},
		{"Ferrari", "Luca", "M", "1978-06-15", "C707", "FRRLCU78H15C707"},
		{"Galli", "Marco", "M", "1980-01-01", "F205", "GLLMRC80A01F205"},
		{"Fo", "Gianfranco", "M", "1950-03-04", "H501", "FOXGFR50C04H501"},
		{"D'Agostino", "Niccolò", "M", "2001-10-31", "Z129", "DGSNCL01R31Z129"},
	} {
		b, _ := time.Parse("2006-01-02", c.birth)
		code, err := Make(c.family, c.given, c.sex, b, c.place)
		if err != nil || string(code)[:15] != c.want {
			t.Errorf("%s %s: %s %v, want %s", c.given, c.family, code, err, c.want)
			continue
		}
		if _, err := Parse(string(code)); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		if code.Sex() != c.sex || code.BirthPlace() != c.place {
			t.Errorf("%s: sex %s place %s", code, code.Sex(), code.BirthPlace())
		}
	}
	b := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Make("Rossi", "Mario", "X", b, "F205"); err == nil {
		t.Error("sex X accepted")
	}
	if _, err := Make("Rossi", "Mario", "M", b, "F20"); err == nil {
		t.Error("a three-character place accepted")
	}
}
