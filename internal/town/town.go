// Package town holds the town profile: the public facts about the municipality
// that every page shows (name, address, contacts, identifiers). They live in
// the database, not in templates, so another town is a configuration away.
package town

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cache"
	"github.com/civico-pa/civico/internal/db"
)

// Profile is the town's public identity.
type Profile struct {
	// Name is the town's name as residents write it: "Cinisello Balsamo".
	Name string `json:"name"`
	// Province is the two-letter province code: "MI".
	Province string `json:"province"`
	Region   string `json:"region"`
	Address  string `json:"address"`
	// PostalCode is the CAP of the town hall.
	PostalCode string `json:"postal_code"`
	Phone      string `json:"phone"`
	TollFree   string `json:"toll_free,omitempty"`
	WhatsApp   string `json:"whatsapp,omitempty"`
	PEC        string `json:"pec"`
	// Email is the public relations office's ordinary address, if any.
	Email string `json:"email,omitempty"`
	// FiscalCode and VATNumber are the body's tax identifiers.
	FiscalCode string `json:"fiscal_code"`
	VATNumber  string `json:"vat_number"`
	// CadastralCode is the Belfiore code of the municipality: "C707".
	CadastralCode string `json:"cadastral_code"`
	// IPACode is the body's code in the Indice delle Pubbliche
	// Amministrazioni (a municipality's is "c_" and its Belfiore code in
	// lower case: "c_c707"); SPID's metadata names the town by it.
	IPACode string `json:"ipa_code,omitempty"`
	// Website is the town's institutional site, if it is not this portal.
	Website string `json:"website,omitempty"`
	// AccessibilityStatementURL is the town's statement on AgID's form
	// service (https://form.agid.gov.it/...); empty shows civico's own page.
	AccessibilityStatementURL string `json:"accessibility_statement_url,omitempty"`
	// PatronDay is the patron saint's day, a local public holiday, as
	// "MM-DD" (empty for none): offices are closed on it.
	PatronDay string `json:"patron_day,omitempty"`
}

// Patron returns the month and day of the patron saint's day (0, 0 if none).
func (p Profile) Patron() (time.Month, int) {
	t, err := time.Parse("01-02", p.PatronDay)
	if err != nil {
		return 0, 0
	}
	return t.Month(), t.Day()
}

// FullName is the body's official name: "Comune di Cinisello Balsamo".
func (p Profile) FullName() string { return "Comune di " + p.Name }

// FieldError names the profile field that is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "town profile: " + e.Field + ": " + e.Reason }

var (
	provinceRE  = regexp.MustCompile(`^[A-Z]{2}$`)
	postalRE    = regexp.MustCompile(`^[0-9]{5}$`)
	cadastralRE = regexp.MustCompile(`^[A-Z][0-9]{3}$`)
	bodyCodeRE  = regexp.MustCompile(`^[0-9]{11}$`)
	ipaRE       = regexp.MustCompile(`^[a-z0-9_]{2,20}$`)
	phoneRE     = regexp.MustCompile(`^\+?[0-9][0-9 ]{4,18}[0-9]$`)
)

// Validate checks every field a page relies on.
func (p Profile) Validate() error {
	required := []struct{ name, value string }{
		{"name", p.Name}, {"region", p.Region}, {"address", p.Address}, {"phone", p.Phone}, {"pec", p.PEC},
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return &FieldError{f.name, "required"}
		}
	}
	checks := []struct {
		name, value string
		re          *regexp.Regexp
		want        string
		optional    bool
	}{
		{"province", p.Province, provinceRE, "two capital letters, e.g. MI", false},
		{"postal_code", p.PostalCode, postalRE, "five digits", false},
		{"cadastral_code", p.CadastralCode, cadastralRE, "a letter and three digits, e.g. C707", false},
		{"fiscal_code", p.FiscalCode, bodyCodeRE, "eleven digits", false},
		{"vat_number", p.VATNumber, bodyCodeRE, "eleven digits", false},
		{"phone", p.Phone, phoneRE, "digits and spaces", false},
		{"toll_free", p.TollFree, phoneRE, "digits and spaces", true},
		{"whatsapp", p.WhatsApp, phoneRE, "digits and spaces", true},
		{"ipa_code", p.IPACode, ipaRE, "the IPA code in lower case, e.g. c_c707", true},
	}
	for _, c := range checks {
		if c.optional && c.value == "" {
			continue
		}
		if !c.re.MatchString(c.value) {
			return &FieldError{c.name, "must be " + c.want}
		}
	}
	for _, m := range []struct{ name, value string }{{"pec", p.PEC}, {"email", p.Email}} {
		if m.value == "" {
			continue
		}
		if a, err := mail.ParseAddress(m.value); err != nil || a.Address != m.value {
			return &FieldError{m.name, "must be a plain e-mail address"}
		}
	}
	if p.PatronDay != "" {
		if _, err := time.Parse("01-02", p.PatronDay); err != nil {
			return &FieldError{"patron_day", "must be a day as MM-DD, e.g. 12-07"}
		}
	}
	for _, u := range []struct{ name, value string }{{"website", p.Website}, {"accessibility_statement_url", p.AccessibilityStatementURL}} {
		if u.value != "" && !strings.HasPrefix(u.value, "https://") {
			return &FieldError{u.name, "must be an https:// address"}
		}
	}
	return nil
}

// ParseJSON reads and validates a profile; unknown fields are refused so a
// misspelt key is not silently ignored.
func ParseJSON(b []byte) (Profile, error) {
	var p Profile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("town profile: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Profile{}, errors.New("town profile: something follows the JSON object")
	}
	return p, p.Validate()
}

// ErrNoProfile means the database has no town profile yet.
var ErrNoProfile = errors.New("no town profile in the database: load one with `civico town import FILE`, or start the demo with `civico demo`")

// Store reads and writes the profile, keeping it in memory for a short while:
// every page needs it, and it changes a few times a year. civico makes one
// Store per process, which every feature shares.
type Store struct {
	db *db.DB
	// cached is the profile as last read. Key: none (one profile). Purge
	// rule: the TTL (30 s in civico, so every process sees another's Put
	// within it), and Put through this Store.
	cached *cache.Cache[struct{}, Profile]
}

// NewStore returns a store whose cached profile is at most ttl old, so every
// process sharing the database sees a change within ttl (zero: read at every
// Get).
func NewStore(d *db.DB, ttl time.Duration) *Store {
	return &Store{db: d, cached: cache.New[struct{}, Profile](ttl, 1)}
}

// Get returns the profile, or ErrNoProfile.
func (s *Store) Get(ctx context.Context) (Profile, error) {
	return s.cached.Load(struct{}{}, func() (Profile, error) {
		var raw string
		err := s.db.QueryRowContext(ctx, `SELECT data FROM town_profile WHERE id = 1`).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return Profile{}, ErrNoProfile
		}
		if err != nil {
			return Profile{}, err
		}
		var p Profile
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return Profile{}, fmt.Errorf("stored town profile: %w", err)
		}
		return p, nil
	})
}

// Put validates and stores the profile, replacing any previous one.
func (s *Store) Put(ctx context.Context, p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO town_profile (id, data, updated_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`, string(b), time.Now().UTC())
	if err != nil {
		return err
	}
	s.cached.Purge()
	return nil
}
