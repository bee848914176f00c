package sportello

import (
	"slices"
	"strconv"
	"strings"
)

// FieldView is a field as a page draws it, in the page's language, with
// what the resident answered and what is wrong with it.
type FieldView struct {
	Name, Type  string
	ID          string // the input's id
	Label, Help string
	Required    bool
	// Condition says when the field applies ("Only if you chose ... in
	// ..."), for a page without scripts; ShowField and ShowValues drive
	// the script that hides it otherwise.
	Condition  string
	ShowField  string
	ShowValues string
	Options    []OptionView
	Value      string
	// Address holds an address field's street, number, postal code, town.
	Address [4]string
	// File is the document a file field holds.
	File *FileInfo
	// Accept is the file chooser's hint.
	Accept   string
	Error    string
	Multi    bool
	Min, Max string
	Step     string
	Maxlen   int
}

// OptionView is one option of a choice or multi field.
type OptionView struct {
	Value, Label string
	Checked      bool
}

// Shown reports whether the summary shows the field (it has an answer).
func (f FieldView) Shown() bool {
	return f.Value != "" || f.File != nil || slices.ContainsFunc(f.Options, func(o OptionView) bool { return o.Checked }) || f.Address[0] != ""
}

// Answer is the answer as the summary and the receipt print it.
func (f FieldView) Answer() string {
	switch f.Type {
	case string(TypeChoice), string(TypeMulti):
		var out []string
		for _, o := range f.Options {
			if o.Checked {
				out = append(out, o.Label)
			}
		}
		return strings.Join(out, ", ")
	case string(TypeAddress):
		if f.Address[0] == "" {
			return ""
		}
		return f.Address[0] + " " + f.Address[1] + ", " + f.Address[2] + " " + f.Address[3]
	case string(TypeFile):
		if f.File != nil {
			return f.File.Filename
		}
		return ""
	case string(TypeIBAN):
		return FormatIBAN(f.Value)
	case string(TypeConsent):
		if f.Value == "yes" {
			return "✓"
		}
	}
	return f.Value
}

// FieldViews draws the definition's fields in lang, with answers and
// errors; files gives the documents file fields hold; t translates the
// standard messages.
func FieldViews(d *Definition, a Answers, errs map[string]FieldError, files map[string]*FileInfo, lang string, t func(string, ...any) string) []FieldView {
	out := make([]FieldView, 0, len(d.Fields))
	for _, f := range d.Fields {
		v := FieldView{Name: f.Name, Type: string(f.Type), ID: "f-" + f.Name, Label: f.Label.In(lang), Help: f.Help.In(lang),
			Required: f.Required, Multi: f.Type == TypeMulti, Maxlen: f.MaxLength}
		if c := f.ShowIf; c != nil {
			on, _ := d.Field(c.Field)
			var labels []string
			for _, val := range c.Values {
				labels = append(labels, optionLabel(on, val, lang, t))
			}
			v.Condition = t("sportello.form.condition", "Values", strings.Join(labels, t("sportello.form.or")), "Field", on.Label.In(lang))
			v.ShowField, v.ShowValues = c.Field, strings.Join(c.Values, " ")
		}
		values := a[f.Name]
		switch f.Type {
		case TypeChoice, TypeMulti:
			for _, o := range f.Options {
				v.Options = append(v.Options, OptionView{Value: o.Value, Label: o.Label.In(lang), Checked: slices.Contains(values, o.Value)})
			}
		case TypeAddress:
			copy(v.Address[:], values)
		case TypeFile:
			v.File = files[f.Name]
			v.Accept = acceptOf(f.Accept)
		default:
			if len(values) > 0 {
				v.Value = values[0]
			}
		}
		switch f.Type {
		case TypeText:
			if v.Maxlen == 0 {
				v.Maxlen = DefaultTextMax
			}
		case TypeLongText:
			if v.Maxlen == 0 {
				v.Maxlen = DefaultLongTextMax
			}
		case TypeNumber:
			if f.Min != nil {
				v.Min = formatNumber(*f.Min, lang)
			}
			if f.Max != nil {
				v.Max = formatNumber(*f.Max, lang)
			}
		}
		if e, ok := errs[f.Name]; ok {
			v.Error = e.Message(lang, func(id string) string { return t(id, "Min", v.Min, "Max", v.Max, "Maxlen", v.Maxlen) })
		}
		out = append(out, v)
	}
	return out
}

func optionLabel(f *Field, value, lang string, t func(string, ...any) string) string {
	if f.Type == TypeConsent {
		return t("sportello.form.consent_given")
	}
	for _, o := range f.Options {
		if o.Value == value {
			return "«" + o.Label.In(lang) + "»"
		}
	}
	return value
}

// acceptOf is the file chooser's hint for the kinds a field takes; the
// server checks the content anyway.
func acceptOf(kinds []string) string {
	var out []string
	for _, k := range kinds {
		switch k {
		case "pdf":
			out = append(out, ".pdf", "application/pdf")
		case "image":
			out = append(out, ".jpg", ".jpeg", ".png", "image/jpeg", "image/png")
		}
	}
	return strings.Join(out, ",")
}

// formatNumber writes a number as people read it in lang: 1234,5 in
// Italian, 1234.5 in English.
func formatNumber(f float64, lang string) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if lang == "it" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
