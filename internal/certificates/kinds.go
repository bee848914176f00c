package certificates

import (
	"strings"
	"time"
)

// Kind is a type of certificate (DM Interno 3/11/2021 lists them).
type Kind string

const (
	// Residence is the certificato di residenza.
	Residence Kind = "residenza"
	// FamilyStatus is the certificato di stato di famiglia: the household
	// as the register holds it.
	FamilyStatus Kind = "stato-famiglia"
	// Birth is the certificato anagrafico di nascita.
	Birth Kind = "nascita"
)

// Kinds are the certificates a resident can have online, in the order
// the page offers them.
var Kinds = []Kind{Residence, FamilyStatus, Birth}

// Valid reports whether k is a certificate issued online.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Validity is how long a certificate of kind k is valid from its issue:
// six months for what can change, 0 (unlimited) for what cannot, such as
// birth (DPR 445/2000 art. 41 c.1).
func (k Kind) Validity() (months int) {
	if k == Birth {
		return 0
	}
	return 6
}

// validUntil is the last instant of validity of a certificate issued at,
// nil when unlimited: the same day six months later, Rome time.
func validUntil(k Kind, issued time.Time) *time.Time {
	m := k.Validity()
	if m == 0 {
		return nil
	}
	t := issued.AddDate(0, m, 0).UTC()
	return &t
}

// Exemption is a ground of exemption from stamp duty (imposta di bollo,
// EUR 16 per certificate, DPR 642/1972 Tariffa parte I art. 4) the holder
// declares: an exemption is never presumed, and the use and the norm are
// printed on the certificate.
type Exemption struct {
	// ID is what the form sends; Label a message id naming the use; Norm
	// the legal reference printed on the certificate.
	ID, Label, Norm string
}

// Exemptions are the grounds of exemption a resident may declare online.
var Exemptions = []Exemption{
	{"elettorale", "certificates.use.elettorale", "DPR 642/1972, Tabella B, art. 1"},
	{"penale", "certificates.use.penale", "DPR 642/1972, Tabella B, art. 3"},
	{"tributi", "certificates.use.tributi", "DPR 642/1972, Tabella B, art. 5"},
	{"assistenza", "certificates.use.assistenza", "DPR 642/1972, Tabella B, art. 8"},
	{"previdenza", "certificates.use.previdenza", "DPR 642/1972, Tabella B, art. 9"},
	{"sanita", "certificates.use.sanita", "DPR 642/1972, Tabella B, art. 10"},
	{"scuola", "certificates.use.scuola", "DPR 642/1972, Tabella B, art. 11"},
	{"lavoro", "certificates.use.lavoro", "DPR 642/1972, Tabella B, art. 12"},
	{"minori", "certificates.use.minori", "DPR 642/1972, Tabella B, art. 13"},
	{"identita", "certificates.use.identita", "DPR 642/1972, Tabella B, art. 18"},
	{"trasporti", "certificates.use.trasporti", "DPR 642/1972, Tabella B, art. 24"},
	{"onlus", "certificates.use.onlus", "DPR 642/1972, Tabella B, art. 27-bis"},
	{"separazione", "certificates.use.separazione", "L. 74/1987, art. 19"},
	{"giustizia", "certificates.use.giustizia", "DPR 115/2002, art. 18"},
}

// StampDuty is the choice of a certificate that pays the duty: not yet
// online (it will wait for the payment, when payments provide it).
const StampDuty = "bollo"

// exemption finds a ground by its id.
func exemption(id string) (Exemption, bool) {
	for _, e := range Exemptions {
		if e.ID == id {
			return e, true
		}
	}
	return Exemption{}, false
}

// Disclosure is what the verification page shows of a certificate's
// content to whoever types its identifier, as the holder chose.
type Disclosure string

const (
	// ShowNothing shows only the kind, dates and status.
	ShowNothing Disclosure = "nessuno"
	// ShowName adds the holder's name.
	ShowName Disclosure = "nome"
	// ShowAll shows the whole content.
	ShowAll Disclosure = "completo"
)

// Disclosures are the choices, narrowest first.
var Disclosures = []Disclosure{ShowNothing, ShowName, ShowAll}

func (d Disclosure) valid() bool { return d == ShowNothing || d == ShowName || d == ShowAll }

// idAlphabet is Crockford's base32: no I, L, O, U, so that a typed
// identifier is not misread.
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLength is the identifier's length: 20 characters of 5 bits, 100
// random bits, never guessed.
const IDLength = 20

// NormalizeID reads a typed identifier: case, spaces and dashes do not
// matter, O is 0 and I or L is 1. It answers "" for anything that is not
// an identifier's shape.
func NormalizeID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(idAlphabet, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != IDLength {
		return ""
	}
	return b.String()
}

// GroupID writes an identifier in groups of four: ABCD-EFGH-...
func GroupID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(id[i:min(i+4, len(id))])
	}
	return b.String()
}
