package sportello

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// it is a text in both languages, for the tables.
func it(s string) Text { return Text{IT: s, EN: s + " (en)"} }

func field(name string, typ FieldType, edit ...func(*Field)) Field {
	f := Field{Name: name, Type: typ, Label: it("Etichetta " + name)}
	if typ == TypeChoice || typ == TypeMulti {
		f.Options = []Option{{Value: "a", Label: it("A")}, {Value: "b", Label: it("B")}, {Value: "c", Label: it("C")}}
	}
	for _, e := range edit {
		e(&f)
	}
	return f
}

func required(f *Field) { f.Required = true }

func showIf(name string, values ...string) func(*Field) {
	return func(f *Field) { f.ShowIf = &Condition{Field: name, Values: values} }
}

func def(fields ...Field) *Definition {
	return &Definition{Purpose: it("Gestire la richiesta"), Fields: fields}
}

// Definitions an author may not publish: each is refused with the path of
// what is wrong and the reason, as the back office shows beside the field.
func TestDefinitionRefused(t *testing.T) {
	long := strings.Repeat("x", 41)
	for _, c := range []struct {
		name   string
		d      *Definition
		path   string
		reason string
	}{
		{"no fields", def(), "fields", "def.no_fields"},
		{"no purpose", &Definition{Fields: []Field{field("a", TypeText)}}, "purpose", "def.text_missing"},
		{"purpose in one language", &Definition{Purpose: Text{IT: "Scopo"}, Fields: []Field{field("a", TypeText)}}, "purpose", "def.text_missing"},
		{"bad name", def(field("Nome", TypeText)), "fields[0].name", "def.name"},
		{"name too long", def(field(long, TypeText)), "fields[0].name", "def.name"},
		{"name with a dot", def(field("a.b", TypeText)), "fields[0].name", "def.name"},
		{"same name twice", def(field("a", TypeText), field("a", TypeNumber)), "fields[1].name", "def.name_taken"},
		{"unknown type", def(field("a", "colour")), "fields[0].type", "def.type"},
		{"label missing", def(field("a", TypeText, func(f *Field) { f.Label = Text{} })), "fields[0].label", "def.text_missing"},
		{"label only in Italian", def(field("a", TypeText, func(f *Field) { f.Label.EN = "" })), "fields[0].label", "def.text_missing"},
		{"help only in English", def(field("a", TypeText, func(f *Field) { f.Help = Text{EN: "help"} })), "fields[0].help", "def.text_half"},
		{"message only in Italian", def(field("a", TypeText, func(f *Field) { f.Messages = FieldMessages{Required: Text{IT: "Serve"}} })), "fields[0].messages.required", "def.text_half"},
		{"choice with one option", def(field("a", TypeChoice, func(f *Field) { f.Options = f.Options[:1] })), "fields[0].options", "def.options_few"},
		{"option twice", def(field("a", TypeChoice, func(f *Field) { f.Options[2].Value = "a" })), "fields[0].options[2].value", "def.option_taken"},
		{"option value bad", def(field("a", TypeMulti, func(f *Field) { f.Options[0].Value = "A B" })), "fields[0].options[0].value", "def.name"},
		{"option label missing", def(field("a", TypeChoice, func(f *Field) { f.Options[1].Label = Text{IT: "B"} })), "fields[0].options[1].label", "def.text_missing"},
		{"options on text", def(field("a", TypeText, func(f *Field) { f.Options = []Option{{Value: "x", Label: it("X")}} })), "fields[0].options", "def.options_not_here"},
		{"condition on a missing field", def(field("a", TypeText, showIf("b", "x"))), "fields[0].show_if.field", "def.cond_missing"},
		{"condition on itself", def(field("a", TypeChoice, showIf("a", "a"))), "fields[0].show_if.field", "def.cond_missing"},
		{"condition on a later field", def(field("a", TypeText, showIf("b", "a")), field("b", TypeChoice)), "fields[0].show_if.field", "def.cond_later"},
		{"condition on free text", def(field("a", TypeText), field("b", TypeText, showIf("a", "x"))), "fields[1].show_if.field", "def.cond_type"},
		{"condition value no option", def(field("a", TypeChoice), field("b", TypeText, showIf("a", "z"))), "fields[1].show_if.values[0]", "def.cond_value"},
		{"condition without values", def(field("a", TypeChoice), field("b", TypeText, showIf("a"))), "fields[1].show_if.values", "def.cond_value"},
		{"consent condition not yes", def(field("a", TypeConsent), field("b", TypeText, showIf("a", "no"))), "fields[1].show_if.values[0]", "def.cond_value"},
		{"number min above max", def(field("a", TypeNumber, func(f *Field) { f.Min, f.Max = ptr(10), ptr(1) })), "fields[0].max", "def.range"},
		{"min on text", def(field("a", TypeText, func(f *Field) { f.Min = ptr(1) })), "fields[0].min", "def.not_here"},
		{"max length on number", def(field("a", TypeNumber, func(f *Field) { f.MaxLength = 10 })), "fields[0].max_length", "def.not_here"},
		{"max length too big", def(field("a", TypeLongText, func(f *Field) { f.MaxLength = 100000 })), "fields[0].max_length", "def.range"},
		{"date range unknown", def(field("a", TypeDate, func(f *Field) { f.When = "yesterday" })), "fields[0].when", "def.when"},
		{"when on a number", def(field("a", TypeNumber, func(f *Field) { f.When = WhenPast })), "fields[0].when", "def.not_here"},
		{"file kinds unknown", def(field("a", TypeFile, func(f *Field) { f.Accept = []string{"exe"} })), "fields[0].accept[0]", "def.accept"},
		{"accept on text", def(field("a", TypeText, func(f *Field) { f.Accept = []string{"pdf"} })), "fields[0].accept", "def.not_here"},
		{"too many fields", def(slices.Collect(func(yield func(Field) bool) {
			for i := range MaxFields + 1 {
				if !yield(field("f"+strconv.Itoa(i), TypeText)) {
					return
				}
			}
		})...), "fields", "def.too_many"},
		{"a label too long", def(field("a", TypeText, func(f *Field) { f.Label.IT = strings.Repeat("é", 301) })), "fields[0].label", "def.text_long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.d.Validate()
			de, ok := err.(*DefinitionError)
			if !ok {
				t.Fatalf("Validate() = %v, want a DefinitionError at %s", err, c.path)
			}
			if de.Path != c.path || de.Reason != c.reason {
				t.Errorf("Validate() = %s: %s; want %s: %s", de.Path, de.Reason, c.path, c.reason)
			}
		})
	}
}

func ptr(f float64) *float64 { return &f }

// A definition that uses every field type is accepted, and survives its
// JSON form unchanged.
func TestDefinitionAccepted(t *testing.T) {
	d := everyType()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseDefinition(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Errorf("the JSON form changed:\n%s\n%s", b, b2)
	}
	if _, err := ParseDefinition([]byte(`{"purpose":{"it":"x","en":"y"},"fields":[{"name":"a","type":"text","label":{"it":"A","en":"A"},"colour":"red"}]}`)); err == nil {
		t.Error("an unknown key was accepted")
	}
}

func everyType() *Definition {
	return def(
		field("nome", TypeText, required, func(f *Field) { f.MaxLength = 20 }),
		field("note", TypeLongText),
		field("figli", TypeNumber, func(f *Field) { f.Min, f.Max, f.Integer = ptr(0), ptr(12), true }),
		field("importo", TypeNumber, func(f *Field) { f.Min = ptr(0.01) }),
		field("nascita", TypeDate, func(f *Field) { f.When = WhenPast }),
		field("inizio", TypeDate, func(f *Field) { f.When = WhenFuture }),
		field("tipo", TypeChoice, required),
		field("giorni", TypeMulti),
		field("dettaglio", TypeText, required, showIf("tipo", "b", "c")),
		field("privacy", TypeConsent, required, func(f *Field) {
			f.Messages = FieldMessages{Required: Text{IT: "Devi accettare", EN: "You must accept"}}
		}),
		field("dopo_consenso", TypeText, showIf("privacy", "yes")),
		field("cf_figlio", TypeFiscalCode),
		field("iban", TypeIBAN),
		field("indirizzo", TypeAddress),
		field("certificato", TypeFile, showIf("giorni", "a"), required, func(f *Field) { f.Accept = []string{"pdf", "image"} }),
	)
}

// What a resident types, checked against the definition: each wrong
// answer gets its code beside its field; answers to hidden fields are
// dropped and never required; what is kept is normalised.
func TestAnswers(t *testing.T) {
	today := time.Date(2027, 3, 15, 10, 0, 0, 0, time.UTC)
	ok := func(kv ...string) Answers {
		a := Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(a, kv[i])
				continue
			}
			a[kv[i]] = strings.Split(kv[i+1], "|")
		}
		return a
	}
	for _, c := range []struct {
		name   string
		in     Answers
		errors map[string]string // field -> code ("" = custom message)
		kept   Answers           // nil: not checked
	}{
		{"all fine", ok(), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}}},
		{"required missing", ok("nome", "", "tipo", ""), map[string]string{"nome": "required", "tipo": "required"}, nil},
		{"blank is missing", ok("nome", "   "), map[string]string{"nome": "required"}, nil},
		{"custom message for consent", ok("privacy", ""), map[string]string{"privacy": ""}, nil},
		{"consent not yes", ok("privacy", "si"), map[string]string{"privacy": "invalid"}, nil},
		{"text too long", ok("nome", strings.Repeat("a", 21)), map[string]string{"nome": "too_long"}, nil},
		{"text counts characters, not bytes", ok("nome", strings.Repeat("è", 20)), nil, nil},
		{"text on one line", ok("nome", "Mario\nRossi"), map[string]string{"nome": "one_line"}, nil},
		{"control characters", ok("note", "ciao\x00"), map[string]string{"note": "invalid"}, nil},
		{"long text keeps lines", ok("note", "riga 1\r\nriga 2"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "note": {"riga 1\nriga 2"}}},
		{"long text default limit", ok("note", strings.Repeat("a", DefaultLongTextMax+1)), map[string]string{"note": "too_long"}, nil},
		{"integer", ok("figli", "2,5"), map[string]string{"figli": "integer"}, nil},
		{"number not a number", ok("importo", "dieci"), map[string]string{"importo": "number"}, nil},
		{"number below min", ok("figli", "-1"), map[string]string{"figli": "min"}, nil},
		{"number above max", ok("figli", "13"), map[string]string{"figli": "max"}, nil},
		{"number Italian style", ok("importo", "1.234,50", "figli", "3"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "importo": {"1234.5"}, "figli": {"3"}}},
		{"number with a point", ok("importo", "12.5"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "importo": {"12.5"}}},
		{"number ambiguous thousands", ok("importo", "1.234.5"), map[string]string{"importo": "number"}, nil},
		{"number infinite", ok("importo", "1e400"), map[string]string{"importo": "number"}, nil},
		{"date not a date", ok("nascita", "31/02/2000"), map[string]string{"nascita": "date"}, nil},
		{"date Italian style", ok("nascita", "01/02/2000"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "nascita": {"2000-02-01"}}},
		{"date in the future", ok("nascita", "2027-03-16"), map[string]string{"nascita": "past"}, nil},
		{"date today is past enough", ok("nascita", "2027-03-15"), nil, nil},
		{"start in the past", ok("inizio", "2027-03-14"), map[string]string{"inizio": "future"}, nil},
		{"choice not an option", ok("tipo", "z"), map[string]string{"tipo": "option"}, nil},
		{"choice two values", ok("tipo", "a|b"), map[string]string{"tipo": "option"}, nil},
		{"multi twice the same", ok("giorni", "b|b"), map[string]string{"giorni": "option"}, nil},
		{"multi unknown", ok("giorni", "b|x"), map[string]string{"giorni": "option"}, nil},
		{"shown and required", ok("tipo", "b"), map[string]string{"dettaglio": "required"}, nil},
		{"hidden: not required, dropped", ok("dettaglio", "resto"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}}},
		{"hidden by a hidden field", ok("privacy", "", "dopo_consenso", "x"), map[string]string{"privacy": ""}, Answers{"nome": {"Mario"}, "tipo": {"a"}}},
		{"file required when shown", ok("giorni", "a"), map[string]string{"certificato": "required"}, nil},
		{"file id shape", ok("giorni", "a", "certificato", "../etc/passwd"), map[string]string{"certificato": "invalid"}, nil},
		{"file given", ok("giorni", "a|c", "certificato", strings.Repeat("ab", 16)), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "giorni": {"a", "c"}, "certificato": {strings.Repeat("ab", 16)}}},
		{"fiscal code length", ok("cf_figlio", "RSSMRA85T10A562"), map[string]string{"cf_figlio": "cf_length"}, nil},
		{"fiscal code check", ok("cf_figlio", "RSSMRA85T10A562A"), map[string]string{"cf_figlio": "cf_check"}, nil},
		{"fiscal code date", ok("cf_figlio", "RSSMRA85Z10A562S"), map[string]string{"cf_figlio": "cf_date"}, nil},
		{"fiscal code format", ok("cf_figlio", "RSSMRA8XT10A562S"), map[string]string{"cf_figlio": "cf_format"}, nil},
		{"fiscal code normalised", ok("cf_figlio", "rssmra85t10a562s"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "cf_figlio": {"RSSMRA85T10A562S"}}},
		{"iban check", ok("iban", "IT60X0542811101000000123457"), map[string]string{"iban": "iban_check"}, nil},
		{"iban length", ok("iban", "IT60X054281110100000012345"), map[string]string{"iban": "iban_length"}, nil},
		{"iban country", ok("iban", "XX60X0542811101000000123456"), map[string]string{"iban": "iban_country"}, nil},
		{"iban normalised", ok("iban", "it60 x054 2811 1010 0000 0123 456"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "iban": {"IT60X0542811101000000123456"}}},
		{"address incomplete", ok("indirizzo", "Via Roma|||Cinisello Balsamo"), map[string]string{"indirizzo": "address"}, nil},
		{"address postal code", ok("indirizzo", "Via Roma|1|2009|Cinisello Balsamo"), map[string]string{"indirizzo": "postal_code"}, nil},
		{"address given", ok("indirizzo", " Via Roma |1/A|20092|Cinisello Balsamo"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}, "indirizzo": {"Via Roma", "1/A", "20092", "Cinisello Balsamo"}}},
		{"address empty is no answer", ok("indirizzo", "|||"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}}},
		{"answer to no field is dropped", ok("colore", "rosso"), nil, Answers{"nome": {"Mario"}, "tipo": {"a"}, "privacy": {"yes"}}},
		{"several values for one", ok("nome", "Mario|Luigi"), map[string]string{"nome": "invalid"}, nil},
		{"not UTF-8", ok("nome", "Mar\xffio"), map[string]string{"nome": "invalid"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := everyType()
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			kept, errs := d.CheckAt(c.in, today)
			got := map[string]string{}
			for name, e := range errs {
				got[name] = e.Code
				if e.Code == "" && e.Custom.IT == "" {
					t.Errorf("%s: an error without code or message", name)
				}
			}
			want := c.errors
			if want == nil {
				want = map[string]string{}
			}
			if !maps.Equal(got, want) {
				t.Errorf("errors %v, want %v", got, want)
			}
			if c.kept != nil && !maps.EqualFunc(kept, c.kept, slices.Equal) {
				t.Errorf("kept %v, want %v", kept, c.kept)
			}
		})
	}
}

// A draft filled with an older version moves to the new one: answers to
// fields with the same name and type are carried; what the new version
// has no place for, or no longer accepts, is listed for the resident.
func TestMigrateAnswers(t *testing.T) {
	old := def(field("nome", TypeText), field("tipo", TypeChoice), field("eta", TypeNumber), field("via", TypeText))
	nu := def(field("nome", TypeText), field("tipo", TypeChoice, func(f *Field) { f.Options = f.Options[:2] }), field("eta", TypeText),
		field("nuovo", TypeText, required))
	for _, d := range []*Definition{old, nu} {
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	carried, lost := Migrate(old, nu, Answers{"nome": {"Mario"}, "tipo": {"b"}, "eta": {"40"}, "via": {"Roma"}})
	if !maps.EqualFunc(carried, Answers{"nome": {"Mario"}, "tipo": {"b"}}, slices.Equal) || !slices.Equal(lost, []string{"eta", "via"}) {
		t.Errorf("carried %v, lost %v", carried, lost)
	}
	carried, lost = Migrate(old, nu, Answers{"nome": {"Mario"}, "tipo": {"c"}})
	if !maps.EqualFunc(carried, Answers{"nome": {"Mario"}}, slices.Equal) || !slices.Equal(lost, []string{"tipo"}) {
		t.Errorf("an option the new version lacks: carried %v, lost %v", carried, lost)
	}
	carried, lost = Migrate(old, nu, Answers{"nome": {"Mario"}})
	if len(lost) != 0 || !maps.EqualFunc(carried, Answers{"nome": {"Mario"}}, slices.Equal) {
		t.Errorf("a compatible draft: carried %v, lost %v", carried, lost)
	}
}
