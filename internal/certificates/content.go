package certificates

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
)

// Content is what a certificate states, the text its seal signs.
type Content struct {
	// V is the encoding's version.
	V    int    `json:"v"`
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Town and TownCode name the issuing town (its cadastral code).
	Town     string `json:"town"`
	TownCode string `json:"town_code"`
	Holder   Person `json:"holder"`
	// Household is the family as the register holds it (family status),
	// its head first.
	Household []Person `json:"household,omitempty"`
	// Use is the exemption declared (its id) and Norm its legal ground.
	Use  string `json:"use"`
	Norm string `json:"norm"`
	// Duty is, for a certificate that bears the stamp duty (Use
	// StampDuty), the pagoPA notice that paid it; absent otherwise (so the
	// certificates sealed before it existed keep their encoding).
	Duty string `json:"duty,omitempty"`
	// IssuedAt is the instant of issue (UTC, seconds); ValidUntil the last
	// day of validity, "" when unlimited.
	IssuedAt   string `json:"issued_at"`
	ValidUntil string `json:"valid_until,omitempty"`
	// Disclosure is what the holder lets the verification page show.
	Disclosure Disclosure `json:"disclosure"`
}

// Person is someone a certificate names.
type Person struct {
	FiscalCode  string `json:"fiscal_code"`
	FamilyName  string `json:"family_name"`
	GivenName   string `json:"given_name"`
	Sex         string `json:"sex"`
	BirthDate   string `json:"birth_date"`
	BirthPlace  string `json:"birth_place"`
	Citizenship string `json:"citizenship"`
	Address     string `json:"address,omitempty"`
	Relation    string `json:"relation,omitempty"`
}

// Name is the person's given and family name.
func (p Person) Name() string { return p.GivenName + " " + p.FamilyName }

// contentVersion is the canonical encoding's version.
const contentVersion = 1

// Canonical is the content's canonical encoding, the bytes the seal
// signs: JSON of Content with its fields in the declared order, no
// spaces, no trailing newline (encoding/json writes a struct always
// alike).
func (c Content) Canonical() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings and ints only
	}
	return b
}

// sealDomain separates the certificates' signatures from anything else the
// keys could sign: the content's, and the file's.
const (
	contentDomain = "civico-certificato/1 content\n"
	fileDomain    = "civico-certificato/1 file\n"
)

func contentMessage(canonical []byte) []byte { return append([]byte(contentDomain), canonical...) }

// ParseContent reads a canonical encoding back, and refuses any other
// encoding of the same content (a re-encoded text is not what was signed).
func ParseContent(b []byte) (Content, error) {
	var c Content
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Content{}, err
	}
	if c.V != contentVersion || !bytes.Equal(c.Canonical(), b) {
		return Content{}, errors.New("not a canonical certificate content")
	}
	return c, nil
}

// Issued is the instant of issue.
func (c Content) Issued() time.Time {
	t, _ := time.Parse(time.RFC3339, c.IssuedAt)
	return t
}

// Until is the end of validity, nil when unlimited.
func (c Content) Until() *time.Time {
	if c.ValidUntil == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, c.ValidUntil)
	if err != nil {
		return nil
	}
	return &t
}
