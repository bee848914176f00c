package catalog

import (
	"net/url"
	"slices"
	"strings"
)

// The back office's forms as typed page structs: every field with its
// label, value as typed, help and errors already in the operator's
// language, so that the templates only lay them out.

// Field is one input of a form.
type Field struct {
	// Name is the form field ("title", "en.title", "hours.week.monday");
	// ID the element id ("f-title", "f-en-title", ...).
	Name, ID string
	Label    string
	// Type is text, textarea, number, email, tel, url, date or hidden.
	Type  string
	Value string
	Help  string
	// Errors are what is wrong with the value, translated.
	Errors []string
	Rows   int
	// Lang is the language the value is written in (lang attribute).
	Lang string
	// Max is the longest value accepted, in characters (0: none shown).
	Max          int
	Required     bool
	Autocomplete string
}

// Invalid reports whether the field has errors.
func (f *Field) Invalid() bool { return len(f.Errors) > 0 }

// DescribedBy is the field's aria-describedby: its errors, then its help.
func (f *Field) DescribedBy() string {
	var ids []string
	if len(f.Errors) > 0 {
		ids = append(ids, f.ID+"-error")
	}
	if f.Help != "" {
		ids = append(ids, f.ID+"-help")
	}
	return strings.Join(ids, " ")
}

// Choices is a closed list: radio buttons, checkboxes or a select.
type Choices struct {
	Name, ID string
	Legend   string
	Help     string
	// Type is radio, checkbox or select.
	Type    string
	Options []Option
	Errors  []string
	// Columns lays checkboxes out in up to 3 columns on wide screens.
	Columns bool
}

// Invalid reports whether the choice has errors.
func (c *Choices) Invalid() bool { return len(c.Errors) > 0 }

// DescribedBy is the group's aria-describedby.
func (c *Choices) DescribedBy() string {
	f := Field{ID: c.ID, Errors: c.Errors, Help: c.Help}
	return f.DescribedBy()
}

// Option is one entry of a closed list.
type Option struct {
	Value, Label, ID string
	// Lang marks a label in another language than the page's (the
	// national vocabularies stay Italian).
	Lang    string
	Checked bool
}

// ErrorLink is an entry of the summary above a form: the field's label
// and what is wrong, linking to the field.
type ErrorLink struct {
	ID, Label, Message string
}

// fieldID is the element id of a form field: letters, digits and hyphens.
func fieldID(name string) string {
	var b strings.Builder
	b.WriteString("f-")
	dash := false
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			if dash {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}

// translator is the operator's language.
type translator func(id string, args ...any) string

// formErrors are a form's errors by field, translated, in order.
type formErrors struct {
	byField map[string][]string
	order   []string
}

func newFormErrors(t translator, errs Invalid) *formErrors {
	fe := &formErrors{byField: map[string][]string{}}
	for _, e := range errs {
		msg := t(e.Message, e.Args...)
		if !slices.Contains(fe.byField[e.Field], msg) {
			if _, seen := fe.byField[e.Field]; !seen {
				fe.order = append(fe.order, e.Field)
			}
			fe.byField[e.Field] = append(fe.byField[e.Field], msg)
		}
	}
	return fe
}

// take returns the errors of a field and marks them shown.
func (fe *formErrors) take(field string) []string {
	msgs := fe.byField[field]
	delete(fe.byField, field)
	return msgs
}

// form is the values posted, as typed.
type form url.Values

func (f form) get(name string) string { return url.Values(f).Get(name) }

// text is a text value as typed, without surrounding spaces and with line
// breaks as \n.
func (f form) text(name string) string {
	return strings.TrimSpace(strings.ReplaceAll(f.get(name), "\r\n", "\n"))
}

// list is a checkbox group's values, each once, in the order sent.
func (f form) list(name string) []string {
	var out []string
	for _, v := range f[name] {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// options lists a vocabulary as choices, the values in chosen checked.
func options(prefix string, values, labels []string, chosen []string, lang string) []Option {
	out := make([]Option, len(values))
	for i, v := range values {
		out[i] = Option{Value: v, Label: labels[i], ID: fieldID(prefix + "-" + v), Lang: lang, Checked: slices.Contains(chosen, v)}
	}
	return out
}
