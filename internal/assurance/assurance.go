// Package assurance is civico's one vocabulary of how sure it is of who is
// logged in: three levels, named as eIDAS names them, and the acr values
// that carry them in OpenID Connect. Every feature and every relying party
// speaks these words; nothing else in civico defines a level.
//
//	low          a password (an operator's password with a one-time code
//	             too): the person is whoever holds the address
//	substantial  SPID level 2
//	high         the CNS/CRS smart card or the CIE with PIN, SPID level 3
//
// Only substantial and high prove a fiscal code: by law (CAD art. 64) a town
// identifies residents online only with SPID, CIE or a CNS card.
package assurance

// Level is a level of assurance.
type Level string

const (
	// Low: a password, with a one-time code for operators.
	Low Level = "low"
	// Substantial: SPID level 2 (a password and a second factor, with the
	// identity checked by the identity provider).
	Substantial Level = "substantial"
	// High: a smart card (CNS/CRS) or the CIE with its PIN, SPID level 3.
	High Level = "high"
)

// Levels lists the levels, weakest first.
var Levels = []Level{Low, Substantial, High}

func (l Level) rank() int {
	switch l {
	case Low:
		return 1
	case Substantial:
		return 2
	case High:
		return 3
	}
	return 0
}

// Valid reports whether l is one of the three levels.
func (l Level) Valid() bool { return l.rank() > 0 }

// Satisfies reports whether a login at level l may open what needs need; an
// empty need is satisfied by any login.
func (l Level) Satisfies(need Level) bool {
	if need == "" {
		return l.Valid()
	}
	return l.Valid() && need.Valid() && l.rank() >= need.rank()
}

// ProvesIdentity reports whether a login at this level proves who the person
// is (their fiscal code): substantial and high.
func (l Level) ProvesIdentity() bool { return l.Satisfies(Substantial) }

// Parse reads a level name; anything else is not a level.
func Parse(s string) (Level, bool) {
	l := Level(s)
	return l, l.Valid()
}

// The acr values of each level: the eIDAS levels of assurance, which any
// European relying party knows and which name no method.
const (
	ACRLow         = "http://eidas.europa.eu/LoA/low"
	ACRSubstantial = "http://eidas.europa.eu/LoA/substantial"
	ACRHigh        = "http://eidas.europa.eu/LoA/high"
)

// ACRValues are the acr values civico emits, weakest first.
var ACRValues = []string{ACRLow, ACRSubstantial, ACRHigh}

// ACR is the acr value a login at level l is reported with.
func (l Level) ACR() string {
	switch l {
	case Low:
		return ACRLow
	case Substantial:
		return ACRSubstantial
	case High:
		return ACRHigh
	}
	return ""
}

// spidACR are SPID's own names for its levels, which relying parties built
// for SPID send in acr_values: they are understood as the same levels.
var spidACR = map[string]Level{
	"https://www.spid.gov.it/SpidL1": Low,
	"https://www.spid.gov.it/SpidL2": Substantial,
	"https://www.spid.gov.it/SpidL3": High,
}

// OfACR is the level an acr value names: civico's own (eIDAS) values, or
// SPID's; anything else names no level.
func OfACR(v string) (Level, bool) {
	for _, l := range Levels {
		if l.ACR() == v {
			return l, true
		}
	}
	l, ok := spidACR[v]
	return l, ok
}

// Minimum is the level a request's acr_values asks for: acr_values lists
// the classes acceptable to the application, so the weakest level it names
// is enough. Values civico does not know are ignored; none known asks for
// nothing ("").
func Minimum(acrValues []string) Level {
	var need Level
	for _, v := range acrValues {
		if l, ok := OfACR(v); ok && (need == "" || need.rank() > l.rank()) {
			need = l
		}
	}
	return need
}
