package identity

import (
	"testing"

	"github.com/civico-pa/civico/internal/assurance"
)

// A session that proved nothing (a password) sees neither the fiscal code
// a proof put on the account nor a European's eIDAS identifier and the
// birth date the node proved with it; a proving session sees them all
// (outside review M5).
func TestSeenByWithholdsWhatAProofGave(t *testing.T) {
	european := &Account{EIDASID: "EE/IT/38001085718", EIDASIDSource: SourceEIDAS, BirthDate: "1980-01-08", BirthSource: SourceEIDAS,
		GivenName: "Mari", FamilyName: "Tamm"}
	italian := &Account{FiscalCode: "RSSMRA80A01F205X", FiscalCodeSource: SourceSPID, Sex: "M", BirthDate: "1980-01-01", BirthSource: SourceFiscalCode}
	password := &Session{Assurance: assurance.Low}
	proving := &Session{Assurance: assurance.Substantial}

	if v, hid := european.SeenBy(password); !hid || v.EIDASID != "" || v.BirthDate != "" || v.GivenName != "Mari" {
		t.Errorf("a password session sees the European's %+v (withheld %v)", v, hid)
	}
	if v, hid := european.SeenBy(proving); hid || v.EIDASID == "" || v.BirthDate == "" {
		t.Errorf("a proving session sees the European's %+v (withheld %v)", v, hid)
	}
	if v, hid := italian.SeenBy(password); !hid || v.FiscalCode != "" || v.BirthDate != "" || v.Sex != "" {
		t.Errorf("a password session sees the Italian's %+v (withheld %v)", v, hid)
	}
	if v, hid := italian.SeenBy(proving); hid || v.FiscalCode == "" {
		t.Errorf("a proving session sees the Italian's %+v (withheld %v)", v, hid)
	}
	typed := &Account{FiscalCode: "RSSMRA80A01F205X", FiscalCodeSource: SourceSelf}
	if v, hid := typed.SeenBy(password); hid || v.FiscalCode == "" {
		t.Errorf("a typed code is withheld from its own person: %+v", v)
	}
}
