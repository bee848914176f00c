package catalog

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/taxonomy"
)

// FieldError is one thing wrong in a catalogue or a back-office form: where
// (Path in the catalogue, Field in the form of its Entity) and what
// (Message, an id of the catalogue's translations, with its Args as name
// and value pairs), so that each is shown beside its field in the
// operator's language.
type FieldError struct {
	// Path is the place in the catalogue: "services[3].title",
	// "offices[0].hours.week.monday".
	Path string
	// Entity is "office:<id>" or "service:<id>"; Field the form field
	// within it: "title", "hours.week.monday", "en.summary".
	Entity, Field string
	Message       string
	Args          []any
}

func (e *FieldError) Error() string {
	where := e.Path
	if where == "" {
		where = e.Field
	}
	if len(e.Args) > 0 {
		return fmt.Sprintf("%s: %s %v", where, e.Message, e.Args)
	}
	return where + ": " + e.Message
}

// Invalid is every error found in a catalogue or a form, in the order of
// the fields.
type Invalid []*FieldError

func (v Invalid) Error() string {
	parts := make([]string, 0, min(len(v), 5))
	for _, e := range v[:min(len(v), 5)] {
		parts = append(parts, e.Error())
	}
	s := strings.Join(parts, "; ")
	if len(v) > 5 {
		s += fmt.Sprintf("; and %d more", len(v)-5)
	}
	return "invalid catalogue: " + s
}

// Unwrap lets errors.As find each FieldError.
func (v Invalid) Unwrap() []error {
	out := make([]error, len(v))
	for i, e := range v {
		out[i] = e
	}
	return out
}

// Of keeps the errors of one entity ("office:<id>", "service:<id>") and
// those of the form itself (no entity).
func (v Invalid) Of(entity string) Invalid {
	var out Invalid
	for _, e := range v {
		if e.Entity == entity || e.Entity == "" {
			out = append(out, e)
		}
	}
	return out
}

// entityErrors places an entity's errors in the catalogue.
func entityErrors(path, kind, id string, errs []*FieldError) []*FieldError {
	for _, e := range errs {
		e.Path, e.Entity = path+"."+e.Field, kind+":"+id
	}
	return errs
}

// Limits of the fields, in characters. The short descriptions are the
// national model's (160); the others keep a page readable and a form's
// body bounded.
const (
	MinText        = 3
	MaxID          = 80
	MaxTitle       = 120
	MaxSummary     = 160
	MaxLongText    = 20_000
	MaxShortText   = 2_000
	MaxReason      = 300
	MaxAddress     = 200
	MaxMaxDays     = 3650
	MaxURL         = 2_000
	MaxEmail       = 254
	MaxPhoneDigits = 15
)

var idRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// reservedIDs are the path segments of the back office's own pages.
var reservedIDs = []string{"nuovo", "nuova"}

// required checks a required text of min to max characters.
func required(errs *[]*FieldError, field, v string, max int) {
	n := utf8.RuneCountInString(strings.TrimSpace(v))
	switch {
	case n < MinText:
		*errs = append(*errs, &FieldError{Field: field, Message: "catalog.error.required", Args: []any{"Min", MinText}})
	case n > max:
		*errs = append(*errs, &FieldError{Field: field, Message: "catalog.error.too_long", Args: []any{"Max", max, "N", n}})
	default:
		plain(errs, field, v)
	}
}

// optional checks a text that may be empty, of at most max characters.
func optional(errs *[]*FieldError, field, v string, max int) {
	if n := utf8.RuneCountInString(v); n > max {
		*errs = append(*errs, &FieldError{Field: field, Message: "catalog.error.too_long", Args: []any{"Max", max, "N", n}})
		return
	}
	plain(errs, field, v)
}

// plain refuses what is not text: invalid UTF-8, control characters other
// than line breaks and tabs.
func plain(errs *[]*FieldError, field, v string) {
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		*errs = append(*errs, &FieldError{Field: field, Message: "catalog.error.text"})
	}
}

// present is the lenient check of a stored catalogue: a required text has
// at least MinText characters.
func present(errs *[]*FieldError, field, v string) {
	if utf8.RuneCountInString(strings.TrimSpace(v)) < MinText {
		*errs = append(*errs, &FieldError{Field: field, Message: "catalog.error.required", Args: []any{"Min", MinText}})
	}
}

func checkID(errs *[]*FieldError, id string) {
	switch {
	case !idRE.MatchString(id) || len(id) > MaxID:
		*errs = append(*errs, &FieldError{Field: "id", Message: "catalog.error.id", Args: []any{"Max", MaxID}})
	case slices.Contains(reservedIDs, id):
		*errs = append(*errs, &FieldError{Field: "id", Message: "catalog.error.id_reserved"})
	}
}

// ValidPostalCode reports whether s is an Italian postcode (CAP): five digits.
func ValidPostalCode(s string) bool {
	return len(s) == 5 && strings.Trim(s, "0123456789") == ""
}

// ValidPhone reports whether s is a phone number as residents can dial it:
// digits, with spaces, dots, hyphens or slashes between groups; an Italian
// number of 6 to 11 digits starting with 0 (fixed lines), 3 (mobiles) or 8
// (toll-free and shared-cost), or an international one starting with + and
// its country code, 8 to 15 digits.
func ValidPhone(s string) bool {
	s = strings.TrimSpace(s)
	international := strings.HasPrefix(s, "+")
	digits := 0
	for i, r := range strings.TrimPrefix(s, "+") {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" .-/", r) && i > 0:
		default:
			return false
		}
	}
	if international {
		return digits >= 8 && digits <= MaxPhoneDigits && s[1] != '0'
	}
	return digits >= 6 && digits <= 11 && strings.ContainsRune("038", rune(s[0]))
}

// Italy's bounding box: an office elsewhere is a typo, most often latitude
// and longitude swapped.
const (
	minLat, maxLat = 35.2, 47.2
	minLon, maxLon = 6.6, 18.6
)

// ValidURL reports whether u is where a service can be used online: an
// https address or a path of this site.
func ValidURL(u string) bool {
	if len(u) > MaxURL || strings.ContainsAny(u, " \t\r\n\"'<>\\") {
		return false
	}
	if strings.HasPrefix(u, "/") {
		return !strings.HasPrefix(u, "//")
	}
	rest, ok := strings.CutPrefix(u, "https://")
	return ok && len(rest) > 2 && !strings.HasPrefix(rest, "/") && strings.Contains(strings.SplitN(rest, "/", 2)[0], ".")
}

// checkOffice checks an office's fields; strict adds the back office's
// rules (lengths, formats, coordinates, timetables without ambiguity).
func checkOffice(o *Office, strict bool) []*FieldError {
	var errs []*FieldError
	checkID(&errs, o.ID)
	if !strict {
		present(&errs, "name", o.Name)
		present(&errs, "address", o.Address)
		present(&errs, "phone", o.Phone)
		return errs
	}
	required(&errs, "name", o.Name, MaxTitle)
	required(&errs, "description", o.Description, MaxSummary)
	required(&errs, "address", o.Address, MaxAddress)
	if !ValidPostalCode(o.PostalCode) {
		errs = append(errs, &FieldError{Field: "postal_code", Message: "catalog.error.postal_code"})
	}
	if !ValidPhone(o.Phone) {
		errs = append(errs, &FieldError{Field: "phone", Message: "catalog.error.phone"})
	}
	if o.Email != "" && !identity.ValidEmail(o.Email) {
		errs = append(errs, &FieldError{Field: "email", Message: "catalog.error.email"})
	}
	optional(&errs, "accessibility", o.Accessibility, MaxShortText)
	switch {
	case o.Lat == 0 && o.Lon == 0:
	case math.IsNaN(o.Lat) || math.IsNaN(o.Lon) || o.Lat < -90 || o.Lat > 90 || o.Lon < -180 || o.Lon > 180:
		errs = append(errs, &FieldError{Field: "lat", Message: "catalog.error.coordinates"})
	case o.Lat < minLat || o.Lat > maxLat || o.Lon < minLon || o.Lon > maxLon:
		errs = append(errs, &FieldError{Field: "lat", Message: "catalog.error.coordinates_italy"})
	}
	errs = append(errs, hoursErrors(o.Spec.Check())...)
	for _, lang := range slices.Sorted(maps.Keys(o.Translations)) {
		t := o.Translations[lang]
		if t == nil {
			continue
		}
		if lang != "en" {
			errs = append(errs, &FieldError{Field: lang, Message: "catalog.error.language"})
			continue
		}
		optional(&errs, lang+".name", t.Name, MaxTitle)
		optional(&errs, lang+".description", t.Description, MaxSummary)
		optional(&errs, lang+".accessibility", t.Accessibility, MaxShortText)
	}
	return errs
}

func asFieldError(err error) *hours.FieldError {
	var fe *hours.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return &hours.FieldError{Field: "", Err: err}
}

// hoursMessages say what is wrong with a timetable, by the error of package
// hours.
var hoursMessages = []struct {
	err error
	id  string
}{
	{hours.ErrClock, "catalog.error.hours_format"},
	{hours.ErrInterval, "catalog.error.hours_format"},
	{hours.ErrInverted, "catalog.error.hours_inverted"},
	{hours.ErrOverlap, "catalog.error.hours_overlap"},
	{hours.ErrTooLong, "catalog.error.hours_too_long"},
	{hours.ErrWeekday, "catalog.error.weekday"},
	{hours.ErrDate, "catalog.error.date"},
	{hours.ErrPeriod, "catalog.error.period_order"},
	{hours.ErrPeriodsOverlap, "catalog.error.periods_overlap"},
	{hours.ErrDuplicate, "catalog.error.exception_twice"},
	{hours.ErrClosedHours, "catalog.error.exception_closed_hours"},
	{hours.ErrNoHours, "catalog.error.exception_no_hours"},
	{hours.ErrOutside, "catalog.error.exception_outside"},
}

// hoursErrors turns the errors of a timetable into form errors: the field
// is the one that holds the day's intervals ("hours.week.monday" for
// "week.monday[1]").
func hoursErrors(in []*hours.FieldError) []*FieldError {
	out := make([]*FieldError, 0, len(in))
	for _, e := range in {
		id := "catalog.error.hours"
		for _, m := range hoursMessages {
			if errors.Is(e.Err, m.err) {
				id = m.id
				break
			}
		}
		field := e.Field
		if field == "hours" { // the timetable as a whole (Hours.Validate)
			field = ""
		}
		if strings.HasSuffix(field, "]") {
			if i := strings.LastIndex(field, "["); i > strings.LastIndex(field, ".") {
				field = field[:i]
			}
		}
		out = append(out, &FieldError{Field: strings.TrimSuffix("hours."+field, "."), Message: id})
	}
	return out
}

// checkService checks a service's fields against the catalogue (its
// offices); strict adds the back office's rules.
func (c *Catalog) checkService(s *Service, strict bool) []*FieldError {
	var errs []*FieldError
	checkID(&errs, s.ID)
	text := func(field, v string, max int) {
		if strict {
			required(&errs, field, v, max)
		} else {
			present(&errs, field, v)
		}
	}
	if _, ok := taxonomy.Find(taxonomy.ServiceCategories, s.Category); !ok {
		errs = append(errs, &FieldError{Field: "category", Message: "catalog.error.category"})
	}
	text("title", s.Title, MaxTitle)
	switch s.Status {
	case "active":
	case "suspended":
		if n := utf8.RuneCountInString(strings.TrimSpace(s.StatusReason)); n < MinText || (strict && n > MaxReason) {
			errs = append(errs, &FieldError{Field: "status_reason", Message: "catalog.error.status_reason", Args: []any{"Max", MaxReason}})
		}
	default:
		errs = append(errs, &FieldError{Field: "status", Message: "catalog.error.status"})
	}
	text("summary", s.Summary, MaxSummary)
	if strict {
		optional(&errs, "description", s.Description, MaxLongText)
	}
	text("audience", s.Audience, MaxLongText)
	text("how_to", s.HowTo, MaxLongText)
	text("needed", s.Needed, MaxLongText)
	text("outcome", s.Outcome, MaxLongText)
	text("deadlines", s.Deadlines, MaxLongText)
	if s.MaxDays < 0 || s.MaxDays > MaxMaxDays {
		errs = append(errs, &FieldError{Field: "max_days", Message: "catalog.error.max_days", Args: []any{"Max", MaxMaxDays}})
	}
	if strict {
		optional(&errs, "fees", s.Fees, MaxShortText)
	}
	text("conditions", s.Conditions, MaxLongText)
	if !slices.Contains(Channels, s.Channel) {
		errs = append(errs, &FieldError{Field: "channel", Message: "catalog.error.channel"})
	}
	if s.OnlineURL != "" && (!ValidURL(s.OnlineURL) || (!strict && !strings.HasPrefix(s.OnlineURL, "https://") && !strings.HasPrefix(s.OnlineURL, "/"))) {
		errs = append(errs, &FieldError{Field: "online_url", Message: "catalog.error.online_url"})
	} else if s.OnlineURL == "" && s.Channel != "desk" && slices.Contains(Channels, s.Channel) {
		// A service that claims to be online says where.
		errs = append(errs, &FieldError{Field: "online_url", Message: "catalog.error.online_url_required"})
	}
	if _, ok := assurance.Parse(s.Assurance); s.Assurance != "" && !ok {
		errs = append(errs, &FieldError{Field: "assurance", Message: "catalog.error.assurance"})
	}
	if len(s.Topics) == 0 {
		errs = append(errs, &FieldError{Field: "topics", Message: "catalog.error.topics_none"})
	}
	vocabulary(&errs, "topics", s.Topics, taxonomy.Topics, "catalog.error.topic")
	for _, a := range s.Audiences {
		if !slices.Contains(Audiences, a) {
			errs = append(errs, &FieldError{Field: "audiences", Message: "catalog.error.audience", Args: []any{"Value", a}})
		}
	}
	vocabulary(&errs, "life_events", s.LifeEvents, taxonomy.LifeEvents, "catalog.error.life_event")
	vocabulary(&errs, "business_events", s.BusinessEvents, taxonomy.BusinessEvents, "catalog.error.business_event")
	if len(s.Offices) == 0 && s.Channel != "online" {
		errs = append(errs, &FieldError{Field: "offices", Message: "catalog.error.offices_none"})
	}
	for j, id := range s.Offices {
		o := c.allOffices[id]
		switch {
		case o == nil:
			errs = append(errs, &FieldError{Field: "offices", Message: "catalog.error.office_unknown", Args: []any{"Value", id}})
		case o.Retired && !s.Retired:
			errs = append(errs, &FieldError{Field: "offices", Message: "catalog.error.office_retired", Args: []any{"Value", o.Name}})
		case slices.Index(s.Offices, id) != j:
			errs = append(errs, &FieldError{Field: "offices", Message: "catalog.error.office_twice", Args: []any{"Value", o.Name}})
		}
	}
	if strict {
		for _, lang := range slices.Sorted(maps.Keys(s.Translations)) {
			t := s.Translations[lang]
			if t == nil {
				continue
			}
			if lang != "en" {
				errs = append(errs, &FieldError{Field: lang, Message: "catalog.error.language"})
				continue
			}
			for _, f := range t.fields() {
				optional(&errs, lang+"."+f.name, *f.value, f.max)
			}
		}
	}
	return errs
}

// vocabulary checks values against a national vocabulary.
func vocabulary(errs *[]*FieldError, field string, values []string, vocab []taxonomy.Term, msg string) {
	for _, v := range values {
		if _, ok := taxonomy.Find(vocab, v); !ok {
			*errs = append(*errs, &FieldError{Field: field, Message: msg, Args: []any{"Value", v}})
		}
	}
}
