package content

import (
	"github.com/civico-pa/civico/internal/taxonomy"
)

// The kinds of entry.
const (
	KindPlace    = "place"
	KindEvent    = "event"
	KindUnit     = "unit"
	KindPerson   = "person"
	KindDocument = "document"
)

// The public sections the entries live in.
const (
	LivePath       = "/vivere-il-comune"
	PlacesPath     = LivePath + "/luoghi"
	EventsPath     = LivePath + "/eventi"
	ManagementPath = "/amministrazione"
)

// Category is one value of a kind's vocabulary. A national one (the
// Amministrazione categories, the document types) is written in the
// national model's Italian words, which English pages keep (lang="it");
// another has its title in the messages ("content.place_type.<slug>").
type Category struct {
	Slug     string
	National string // the national title; "" for one with a message id
}

// Label is the category's title as a message id or national words.
func (c Category) Label() string {
	if c.National != "" {
		return c.National
	}
	return "content.category." + c.Slug
}

// Field is one field of an entry's form, in the order the form shows them.
type Field struct {
	// Name is the form field and the message ids' suffix
	// ("content.field.<name>", "content.help.<kind>.<name>").
	Name string
	// Type is how it is written: line, text (several lines), choice,
	// number, datetime, date, email, tel, url.
	Type string
	// Required fields may not stay empty; the others may.
	Required bool
	// Bilingual fields have an English twin beside them ("<name>_en").
	Bilingual bool
	// Max is the most characters it holds.
	Max int
}

// Kind is what the back office and the public pages know of one kind of
// entry.
type Kind struct {
	Name string
	// AdminPath is its list in the back office.
	AdminPath string
	// Categories are its vocabulary; none for events.
	Categories []Category
	Fields     []Field
}

// Field limits, in characters.
const (
	MinText    = 3
	maxTitle   = 200
	maxSummary = 400
	maxBody    = 20000
	maxLine    = 200
	maxURL     = 500
)

var (
	fCategory   = Field{Name: "category", Type: "choice", Required: true}
	fTitle      = Field{Name: "title", Type: "line", Required: true, Bilingual: true, Max: maxTitle}
	fSummary    = Field{Name: "summary", Type: "text", Required: true, Bilingual: true, Max: maxSummary}
	fBody       = Field{Name: "body", Type: "text", Bilingual: true, Max: maxBody}
	fAddress    = Field{Name: "address", Type: "line", Max: maxLine}
	fPostalCode = Field{Name: "postal_code", Type: "line", Max: 5}
	fPhone      = Field{Name: "phone", Type: "tel", Max: 20}
	fEmail      = Field{Name: "email", Type: "email", Max: 254}
	fWebsite    = Field{Name: "website", Type: "url", Max: maxURL}
)

func required(f Field) Field { f.Required = true; return f }

// PlaceTypes are the kinds of places of Vivere il Comune.
var PlaceTypes = []Category{{Slug: "biblioteca"}, {Slug: "centro-civico"}, {Slug: "parco"}, {Slug: "impianto-sportivo"},
	{Slug: "cultura"}, {Slug: "scuola"}, {Slug: "mercato"}, {Slug: "altro"}}

// UnitCategories are the Amministrazione categories whose entries are
// bodies.
var UnitCategories = national(taxonomy.ManagementCategories, "organi-di-governo", "aree-amministrative", "enti-e-fondazioni")

// PersonCategories are the Amministrazione categories whose entries are
// people.
var PersonCategories = national(taxonomy.ManagementCategories, "politici", "personale-amministrativo")

// DocumentCategories is the Amministrazione category of documents.
var DocumentCategories = national(taxonomy.ManagementCategories, "documenti-e-dati")

// DocumentTypes are the national model's types of document.
var DocumentTypes = []Category{
	{Slug: "documenti-albo-pretorio", National: "Documenti albo pretorio"},
	{Slug: "modulistica", National: "Modulistica"},
	{Slug: "documenti-funzionamento-interno", National: "Documenti funzionamento interno"},
	{Slug: "atti-normativi", National: "Atti normativi"},
	{Slug: "accordi-tra-enti", National: "Accordi tra enti"},
	{Slug: "documenti-attivita-politica", National: "Documenti attività politica"},
	{Slug: "documenti-tecnici-di-supporto", National: "Documenti (tecnici) di supporto"},
	{Slug: "istanze", National: "Istanze"},
	{Slug: "dataset", National: "Dataset"},
}

func national(terms []taxonomy.Term, slugs ...string) []Category {
	var out []Category
	for _, s := range slugs {
		t, ok := taxonomy.Find(terms, s)
		if !ok {
			panic("content: no national term " + s)
		}
		out = append(out, Category{Slug: t.Slug, National: t.Title})
	}
	return out
}

// Kinds are every kind of entry, in the back office's order.
var Kinds = []*Kind{
	{Name: KindPlace, AdminPath: "/backoffice/luoghi", Categories: PlaceTypes, Fields: []Field{
		fCategory, fTitle, fSummary, fBody, required(fAddress), required(fPostalCode),
		{Name: "lat", Type: "number", Required: true, Max: 20}, {Name: "lon", Type: "number", Required: true, Max: 20},
		{Name: "opening", Type: "text", Bilingual: true, Max: 2000}, fPhone, fEmail, fWebsite}},
	{Name: KindEvent, AdminPath: "/backoffice/eventi", Fields: []Field{
		fTitle, fSummary, fBody,
		{Name: "starts_at", Type: "datetime", Required: true, Max: 20}, {Name: "ends_at", Type: "datetime", Required: true, Max: 20},
		{Name: "place", Type: "choice", Required: true},
		{Name: "cost", Type: "line", Bilingual: true, Max: maxLine}, fWebsite, fEmail, fPhone}},
	{Name: KindUnit, AdminPath: "/backoffice/organi", Categories: UnitCategories, Fields: []Field{
		fCategory, fTitle, fSummary, fBody, fAddress, fPhone, fEmail, fWebsite}},
	{Name: KindPerson, AdminPath: "/backoffice/persone", Categories: PersonCategories, Fields: []Field{
		fCategory, fTitle, {Name: "role", Type: "line", Required: true, Bilingual: true, Max: maxLine},
		{Name: "unit", Type: "choice"}, fSummary, fBody, fEmail, fPhone}},
	{Name: KindDocument, AdminPath: "/backoffice/documenti", Categories: DocumentTypes, Fields: []Field{
		fCategory, fTitle, fSummary, fBody, required(fWebsite),
		{Name: "doc_date", Type: "date", Required: true, Max: 10}, {Name: "unit", Type: "choice"}}},
}

func kindOf(name string) *Kind {
	for _, k := range Kinds {
		if k.Name == name {
			return k
		}
	}
	panic("content: unknown kind " + name)
}

// category finds a slug in the kind's vocabulary.
func (k *Kind) category(slug string) (Category, bool) {
	for _, c := range k.Categories {
		if c.Slug == slug {
			return c, true
		}
	}
	return Category{}, false
}

// has reports whether the kind's form has the field.
func (k *Kind) has(name string) bool {
	for _, f := range k.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// managementKind is the kind of the entries of an Amministrazione category
// ("" for Uffici, the catalogue's, or an unknown slug).
func managementKind(category string) string {
	for _, c := range UnitCategories {
		if c.Slug == category {
			return KindUnit
		}
	}
	for _, c := range PersonCategories {
		if c.Slug == category {
			return KindPerson
		}
	}
	if category == "documenti-e-dati" {
		return KindDocument
	}
	return ""
}
