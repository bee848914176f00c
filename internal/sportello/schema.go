package sportello

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/hours"
)

// A Definition is the application form of a service, as an administrator
// writes it in the back office: stored as JSON, one per version, and
// checked as a whole (Validate) before it is saved. Residents' answers are
// checked against it (Check): the same rules in the browser's form, the
// summary, the back office's counter and the API.

// Text is something a person reads, in Italian and in English.
type Text struct {
	IT string `json:"it"`
	EN string `json:"en,omitempty"`
}

// In is the text in lang, Italian when there is no English.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.IT
}

// Empty reports whether neither language has text.
func (t Text) Empty() bool { return strings.TrimSpace(t.IT) == "" && strings.TrimSpace(t.EN) == "" }

// FieldType is what a field asks for.
type FieldType string

// The field types.
const (
	TypeText       FieldType = "text"        // one line
	TypeLongText   FieldType = "long_text"   // several lines
	TypeNumber     FieldType = "number"      // Italian or plain notation
	TypeDate       FieldType = "date"        // a day
	TypeChoice     FieldType = "choice"      // one of the options
	TypeMulti      FieldType = "multi"       // any of the options
	TypeConsent    FieldType = "consent"     // a check box: "yes" or nothing
	TypeFiscalCode FieldType = "fiscal_code" // a codice fiscale (package cf)
	TypeIBAN       FieldType = "iban"        // a bank account (ParseIBAN)
	TypeAddress    FieldType = "address"     // street, number, postal code, town
	TypeFile       FieldType = "file"        // an upload (package attachments)
)

// FieldTypes are the types, in the order the back office offers them.
var FieldTypes = []FieldType{TypeText, TypeLongText, TypeNumber, TypeDate, TypeChoice, TypeMulti, TypeConsent, TypeFiscalCode, TypeIBAN, TypeAddress, TypeFile}

// Dates a date field accepts.
const (
	WhenPast   = "past"   // today or before (a birth date)
	WhenFuture = "future" // today or after (the start of an occupation)
)

// FileKinds are the kinds of file a file field may accept; the upload is
// checked by its content (package attachments), whatever its name says.
var FileKinds = []string{"pdf", "image"}

// Limits of a definition.
const (
	MaxFields          = 80
	maxName            = 40
	maxTextChars       = 300  // a label, an option
	maxLongTextChars   = 2000 // help, purpose, intro, messages
	DefaultTextMax     = 200
	DefaultLongTextMax = 4000
	maxLongTextLimit   = 20000
	maxOptions         = 40
)

// Option is one answer of a choice or multi field.
type Option struct {
	Value string `json:"value"`
	Label Text   `json:"label"`
}

// Condition shows a field only when an earlier choice, multi or consent
// field is shown and its answer is one of Values.
type Condition struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
}

// FieldMessages replace the standard error messages of a field.
type FieldMessages struct {
	Required Text `json:"required,omitzero"`
	Invalid  Text `json:"invalid,omitzero"`
}

// Field is one question of the form.
type Field struct {
	Name     string     `json:"name"`
	Type     FieldType  `json:"type"`
	Label    Text       `json:"label"`
	Help     Text       `json:"help,omitzero"`
	Required bool       `json:"required,omitempty"`
	Options  []Option   `json:"options,omitempty"`
	ShowIf   *Condition `json:"show_if,omitempty"`
	// MaxLength bounds text and long text, in characters (DefaultTextMax,
	// DefaultLongTextMax when zero).
	MaxLength int `json:"max_length,omitempty"`
	// Min, Max and Integer bound a number.
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	Integer bool     `json:"integer,omitempty"`
	// When bounds a date: WhenPast or WhenFuture, or any day ("").
	When string `json:"when,omitempty"`
	// Accept are the FileKinds a file field takes (all when empty).
	Accept   []string      `json:"accept,omitempty"`
	Messages FieldMessages `json:"messages,omitzero"`
}

// Definition is a service's application form.
type Definition struct {
	// Intro is shown above the form.
	Intro Text `json:"intro,omitzero"`
	// Purpose is what the answers are processed for, shown in the
	// privacy notice (GDPR art. 13).
	Purpose Text `json:"purpose"`
	// Withdrawable: the resident may withdraw a submitted application
	// until it is decided.
	Withdrawable bool `json:"withdrawable,omitempty"`
	// RetentionYears is how long a concluded application, its messages
	// and its files are kept (from its conclusion) before the purge job
	// deletes them; 0 is DefaultRetentionYears. The privacy notice
	// states it (GDPR art. 13.2.a).
	RetentionYears int     `json:"retention_years,omitempty"`
	Fields         []Field `json:"fields"`
}

// DefaultRetentionYears is the retention of a service's applications when
// its form sets none: ten years, the usual term of the records of an
// administrative proceeding in a town's retention schedule (the town's
// own schedule may say otherwise: set it per service).
const DefaultRetentionYears = 10

// MaxRetentionYears bounds RetentionYears.
const MaxRetentionYears = 100

// Retention is how long the definition's applications are kept.
func (d *Definition) Retention() int {
	if d.RetentionYears == 0 {
		return DefaultRetentionYears
	}
	return d.RetentionYears
}

// DefinitionError says what is wrong in a definition: where (a path like
// "fields[3].show_if.field") and why (a message id under "sportello.").
type DefinitionError struct {
	Path, Reason string
}

func (e *DefinitionError) Error() string { return "form definition: " + e.Path + ": " + e.Reason }

// ParseDefinition reads a definition from JSON, refusing keys it does not
// know (a typo would otherwise silently drop a rule), and validates it.
func ParseDefinition(b []byte) (*Definition, error) {
	var d Definition
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, &DefinitionError{Path: "json", Reason: "def.json"}
	}
	if dec.More() {
		return nil, &DefinitionError{Path: "json", Reason: "def.json"}
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// JSON is the definition as stored.
func (d *Definition) JSON() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // only strings, numbers and booleans
	}
	return b
}

// Clone is a deep copy, for an editor to change.
func (d *Definition) Clone() *Definition {
	var c Definition
	if err := json.Unmarshal(d.JSON(), &c); err != nil {
		panic(err)
	}
	return &c
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func validName(s string) bool { return len(s) <= maxName && nameRE.MatchString(s) }

// Validate checks the whole definition; the first problem is returned.
func (d *Definition) Validate() error {
	bad := func(path, reason string) error { return &DefinitionError{Path: path, Reason: reason} }
	if err := checkText("purpose", d.Purpose, true, maxLongTextChars); err != nil {
		return err
	}
	if err := checkText("intro", d.Intro, false, maxLongTextChars); err != nil {
		return err
	}
	if d.RetentionYears < 0 || d.RetentionYears > MaxRetentionYears {
		return bad("retention_years", "def.retention")
	}
	if len(d.Fields) == 0 {
		return bad("fields", "def.no_fields")
	}
	if len(d.Fields) > MaxFields {
		return bad("fields", "def.too_many")
	}
	seen := map[string]int{}
	for i, f := range d.Fields {
		p := fmt.Sprintf("fields[%d].", i)
		if !validName(f.Name) {
			return bad(p+"name", "def.name")
		}
		if _, dup := seen[f.Name]; dup {
			return bad(p+"name", "def.name_taken")
		}
		if !slices.Contains(FieldTypes, f.Type) {
			return bad(p+"type", "def.type")
		}
		if err := checkText(p+"label", f.Label, true, maxTextChars); err != nil {
			return err
		}
		if err := checkText(p+"help", f.Help, false, maxLongTextChars); err != nil {
			return err
		}
		if err := checkText(p+"messages.required", f.Messages.Required, false, maxTextChars); err != nil {
			return err
		}
		if err := checkText(p+"messages.invalid", f.Messages.Invalid, false, maxTextChars); err != nil {
			return err
		}
		if err := f.validateOptions(p); err != nil {
			return err
		}
		if err := f.validateBounds(p); err != nil {
			return err
		}
		if c := f.ShowIf; c != nil {
			j, ok := seen[c.Field]
			switch {
			case c.Field == f.Name || !ok && !slices.ContainsFunc(d.Fields, func(g Field) bool { return g.Name == c.Field }):
				return bad(p+"show_if.field", "def.cond_missing")
			case !ok:
				return bad(p+"show_if.field", "def.cond_later")
			}
			on := d.Fields[j]
			if on.Type != TypeChoice && on.Type != TypeMulti && on.Type != TypeConsent {
				return bad(p+"show_if.field", "def.cond_type")
			}
			if len(c.Values) == 0 {
				return bad(p+"show_if.values", "def.cond_value")
			}
			for k, v := range c.Values {
				if !on.allows(v) {
					return bad(fmt.Sprintf("%sshow_if.values[%d]", p, k), "def.cond_value")
				}
			}
		}
		seen[f.Name] = i
	}
	return nil
}

// allows reports whether v is an answer the field can have, for conditions.
func (f *Field) allows(v string) bool {
	if f.Type == TypeConsent {
		return v == "yes"
	}
	return slices.ContainsFunc(f.Options, func(o Option) bool { return o.Value == v })
}

func (f *Field) validateOptions(p string) error {
	choice := f.Type == TypeChoice || f.Type == TypeMulti
	switch {
	case !choice && len(f.Options) > 0:
		return &DefinitionError{p + "options", "def.options_not_here"}
	case !choice:
		return nil
	case len(f.Options) < 2:
		return &DefinitionError{p + "options", "def.options_few"}
	case len(f.Options) > maxOptions:
		return &DefinitionError{p + "options", "def.options_many"}
	}
	values := map[string]bool{}
	for k, o := range f.Options {
		op := fmt.Sprintf("%soptions[%d].", p, k)
		if !validName(o.Value) {
			return &DefinitionError{op + "value", "def.name"}
		}
		if values[o.Value] {
			return &DefinitionError{op + "value", "def.option_taken"}
		}
		values[o.Value] = true
		if err := checkText(op+"label", o.Label, true, maxTextChars); err != nil {
			return err
		}
	}
	return nil
}

func (f *Field) validateBounds(p string) error {
	text := f.Type == TypeText || f.Type == TypeLongText
	switch {
	case f.MaxLength != 0 && !text:
		return &DefinitionError{p + "max_length", "def.not_here"}
	case f.MaxLength < 0 || f.MaxLength > maxLongTextLimit || f.Type == TypeText && f.MaxLength > 1000:
		return &DefinitionError{p + "max_length", "def.range"}
	}
	if f.Type != TypeNumber {
		switch {
		case f.Min != nil:
			return &DefinitionError{p + "min", "def.not_here"}
		case f.Max != nil:
			return &DefinitionError{p + "max", "def.not_here"}
		case f.Integer:
			return &DefinitionError{p + "integer", "def.not_here"}
		}
	}
	for name, v := range map[string]*float64{"min": f.Min, "max": f.Max} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || math.Abs(*v) > 1e12) {
			return &DefinitionError{p + name, "def.range"}
		}
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return &DefinitionError{p + "max", "def.range"}
	}
	switch {
	case f.When != "" && f.Type != TypeDate:
		return &DefinitionError{p + "when", "def.not_here"}
	case f.When != "" && f.When != WhenPast && f.When != WhenFuture:
		return &DefinitionError{p + "when", "def.when"}
	case len(f.Accept) > 0 && f.Type != TypeFile:
		return &DefinitionError{p + "accept", "def.not_here"}
	}
	for k, a := range f.Accept {
		if !slices.Contains(FileKinds, a) || slices.Index(f.Accept, a) != k {
			return &DefinitionError{fmt.Sprintf("%saccept[%d]", p, k), "def.accept"}
		}
	}
	return nil
}

// checkText checks a text of the definition: both languages or neither
// (both when required), one line for short ones, within max characters.
func checkText(path string, t Text, required bool, max int) error {
	it, en := strings.TrimSpace(t.IT), strings.TrimSpace(t.EN)
	switch {
	case required && (it == "" || en == ""):
		return &DefinitionError{path, "def.text_missing"}
	case (it == "") != (en == ""):
		return &DefinitionError{path, "def.text_half"}
	}
	for _, s := range []string{t.IT, t.EN} {
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
			return &DefinitionError{path, "def.text_long"}
		}
		if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && (r != '\n' || max == maxTextChars) }) {
			return &DefinitionError{path, "def.text_control"}
		}
	}
	return nil
}

// Field returns the field of that name.
func (d *Definition) Field(name string) (*Field, bool) {
	for i := range d.Fields {
		if d.Fields[i].Name == name {
			return &d.Fields[i], true
		}
	}
	return nil, false
}

// Answers are a resident's answers: field name → values. Most fields have
// one value; a multi field one per option chosen; an address four
// (street, number, postal code, town); a file field the attachment's id.
type Answers map[string][]string

// One is the single value of a field ("" when none).
func (a Answers) One(name string) string {
	if v := a[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// FieldError is what is wrong with one answer: a code (a message id
// under "sportello.error.") or, when the author wrote one, Custom.
type FieldError struct {
	Code   string
	Custom Text
}

// Message is the error's text in lang; t translates message ids.
func (e FieldError) Message(lang string, t func(id string) string) string {
	if !e.Custom.Empty() {
		return e.Custom.In(lang)
	}
	return t("sportello.error." + e.Code)
}

// Visible reports which fields are shown with these answers: a field
// whose condition names a hidden field is hidden too.
func (d *Definition) Visible(a Answers) map[string]bool {
	shown := map[string]bool{}
	for _, f := range d.Fields {
		c := f.ShowIf
		shown[f.Name] = c == nil || shown[c.Field] && slices.ContainsFunc(a[c.Field], func(v string) bool { return slices.Contains(c.Values, v) })
	}
	return shown
}

// Check checks answers against the definition today (Europe/Rome).
func (d *Definition) Check(a Answers) (Answers, map[string]FieldError) {
	return d.CheckAt(a, time.Now())
}

// CheckAt checks answers as on the day of now: it returns the answers
// kept (normalised, those of shown fields only) and the errors by field,
// nil when there are none. A hidden field is never required and its
// answer is dropped.
func (d *Definition) CheckAt(a Answers, now time.Time) (Answers, map[string]FieldError) {
	kept := Answers{}
	errs := map[string]FieldError{}
	// Visibility follows the kept answers, so that a field shown by a
	// wrong answer is not checked either.
	shown := map[string]bool{}
	for _, f := range d.Fields {
		if c := f.ShowIf; c != nil && (!shown[c.Field] || !slices.ContainsFunc(kept[c.Field], func(v string) bool { return slices.Contains(c.Values, v) })) {
			continue
		}
		shown[f.Name] = true
		values, code := f.check(a[f.Name], now)
		switch {
		case code == "required" && !f.Messages.Required.Empty():
			errs[f.Name] = FieldError{Custom: f.Messages.Required}
		case code == "":
			if len(values) > 0 {
				kept[f.Name] = values
			}
		case code != "required" && !f.Messages.Invalid.Empty():
			errs[f.Name] = FieldError{Custom: f.Messages.Invalid}
		default:
			errs[f.Name] = FieldError{Code: code}
		}
	}
	if len(errs) == 0 {
		errs = nil
	}
	return kept, errs
}

// check checks one field's values: the values to keep, or an error code.
func (f *Field) check(in []string, now time.Time) ([]string, string) {
	for _, v := range in {
		if !utf8.ValidString(v) {
			return nil, "invalid"
		}
	}
	if f.Type == TypeAddress {
		return f.checkAddress(in)
	}
	if f.Type == TypeMulti {
		var out []string
		for _, v := range in {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if !f.allows(v) || slices.Contains(out, v) {
				return nil, "option"
			}
			out = append(out, v)
		}
		if len(out) == 0 && f.Required {
			return nil, "required"
		}
		return out, ""
	}
	var nonEmpty []string
	for _, v := range in {
		if strings.TrimSpace(v) != "" {
			nonEmpty = append(nonEmpty, v)
		}
	}
	switch {
	case len(nonEmpty) == 0 && f.Required:
		return nil, "required"
	case len(nonEmpty) == 0:
		return nil, ""
	case len(nonEmpty) > 1 && f.Type == TypeChoice:
		return nil, "option"
	case len(nonEmpty) > 1:
		return nil, "invalid"
	}
	v, code := f.checkOne(nonEmpty[0], now)
	if code != "" {
		return nil, code
	}
	return []string{v}, ""
}

func (f *Field) checkOne(raw string, now time.Time) (string, string) {
	v := strings.TrimSpace(raw)
	switch f.Type {
	case TypeText, TypeLongText:
		v = strings.ReplaceAll(v, "\r\n", "\n")
		if f.Type == TypeText && strings.ContainsAny(v, "\r\n") {
			return "", "one_line"
		}
		if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
			return "", "invalid"
		}
		limit := f.MaxLength
		if limit == 0 {
			limit = DefaultTextMax
			if f.Type == TypeLongText {
				limit = DefaultLongTextMax
			}
		}
		if utf8.RuneCountInString(v) > limit {
			return "", "too_long"
		}
		return v, ""
	case TypeNumber:
		n, ok := parseNumber(v)
		switch {
		case !ok:
			return "", "number"
		case f.Integer && n != math.Trunc(n):
			return "", "integer"
		case f.Min != nil && n < *f.Min:
			return "", "min"
		case f.Max != nil && n > *f.Max:
			return "", "max"
		}
		return strconv.FormatFloat(n, 'f', -1, 64), ""
	case TypeDate:
		day, ok := parseDay(v)
		if !ok {
			return "", "date"
		}
		today := now.In(hours.Rome).Format(time.DateOnly)
		switch {
		case f.When == WhenPast && day > today:
			return "", "past"
		case f.When == WhenFuture && day < today:
			return "", "future"
		}
		return day, ""
	case TypeChoice:
		if !f.allows(v) {
			return "", "option"
		}
		return v, ""
	case TypeConsent:
		if v != "yes" {
			return "", "invalid"
		}
		return v, ""
	case TypeFiscalCode:
		code, err := cf.Parse(v)
		if err != nil {
			return "", fiscalCodeError(err)
		}
		return string(code), ""
	case TypeIBAN:
		n, err := ParseIBAN(v)
		switch {
		case errors.Is(err, ErrIBANCountry):
			return "", "iban_country"
		case errors.Is(err, ErrIBANLength):
			return "", "iban_length"
		case errors.Is(err, ErrIBANCheck):
			return "", "iban_check"
		case err != nil:
			return "", "iban_format"
		}
		return n, ""
	case TypeFile:
		if !ValidID(v) {
			return "", "invalid"
		}
		return v, ""
	}
	return "", "invalid"
}

func fiscalCodeError(err error) string {
	switch {
	case errors.Is(err, cf.ErrLength):
		return "cf_length"
	case errors.Is(err, cf.ErrDate):
		return "cf_date"
	case errors.Is(err, cf.ErrCheck):
		return "cf_check"
	}
	return "cf_format"
}

var postalCodeRE = regexp.MustCompile(`^[0-9]{5}$`)

// AddressParts name the four values of an address, in order.
var AddressParts = []string{"street", "number", "postal_code", "town"}

func (f *Field) checkAddress(in []string) ([]string, string) {
	parts := make([]string, 4)
	for i := range min(len(in), 4) {
		parts[i] = strings.TrimSpace(in[i])
	}
	if len(in) > 4 {
		return nil, "invalid"
	}
	filled := 0
	for _, p := range parts {
		if p != "" {
			filled++
		}
		if strings.ContainsFunc(p, unicode.IsControl) || utf8.RuneCountInString(p) > maxTextChars {
			return nil, "invalid"
		}
	}
	switch {
	case filled == 0 && f.Required:
		return nil, "required"
	case filled == 0:
		return nil, ""
	case filled < 4:
		return nil, "address"
	case !postalCodeRE.MatchString(parts[2]):
		return nil, "postal_code"
	}
	return parts, ""
}

// parseNumber reads a number as people type it: "1234,5", "1.234,50",
// "1234.5", "-3". A point followed by exactly three digits, with a comma
// or another such group, groups thousands; otherwise a point is the
// decimal separator.
func parseNumber(s string) (float64, bool) {
	s = strings.ReplaceAll(s, " ", "")
	if s == "" || strings.ContainsAny(s, "eEinfINFxX_") {
		return 0, false
	}
	if strings.Contains(s, ",") {
		int, frac, _ := strings.Cut(s, ",")
		if strings.Contains(frac, ",") || strings.Contains(frac, ".") {
			return 0, false
		}
		if strings.Contains(int, ".") {
			if !thousands(int) {
				return 0, false
			}
			int = strings.ReplaceAll(int, ".", "")
		}
		s = int + "." + frac
	} else if strings.Count(s, ".") > 1 {
		if !thousands(s) {
			return 0, false
		}
		s = strings.ReplaceAll(s, ".", "")
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) || math.Abs(n) > 1e12 {
		return 0, false
	}
	return n, true
}

// thousands reports whether s groups its digits by three with points.
func thousands(s string) bool {
	s = strings.TrimPrefix(s, "-")
	groups := strings.Split(s, ".")
	if len(groups[0]) == 0 || len(groups[0]) > 3 {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return false
		}
	}
	return true
}

// parseDay reads a day as a date input sends it (2006-01-02) or as people
// write it (02/01/2006), and returns it as 2006-01-02.
func parseDay(s string) (string, bool) {
	for _, layout := range []string{time.DateOnly, "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1900 && t.Year() <= 2200 {
			return t.Format(time.DateOnly), true
		}
	}
	return "", false
}

// Migrate carries a draft's answers from the version it was filled with
// to a newer one: an answer whose field is still there, with the same
// type, and whose values the new field still takes, is carried; the names
// of the others are returned (sorted), for the resident to be told. A
// draft loses nothing when lost is empty: it was compatible.
func Migrate(from, to *Definition, a Answers) (carried Answers, lost []string) {
	carried = Answers{}
	for name, values := range a {
		old, okOld := from.Field(name)
		nu, okNew := to.Field(name)
		if !okOld || !okNew || old.Type != nu.Type || !nu.takes(values) {
			lost = append(lost, name)
			continue
		}
		carried[name] = values
	}
	slices.Sort(lost)
	return carried, lost
}

// takes reports whether the field accepts values as they are, apart from
// being required and the day's bounds of a date.
func (f *Field) takes(values []string) bool {
	g := *f
	g.Required, g.When = false, ""
	kept, code := g.check(values, time.Now())
	return code == "" && slices.Equal(kept, values)
}
