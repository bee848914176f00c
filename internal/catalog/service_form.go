package catalog

import (
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/taxonomy"
)

// The service form: the national model's fields in its order, each
// Italian text with its English version beside it, closed lists as
// choices.

// serviceValues are a service's fields as the form writes them: what an
// audit entry's "changed" and a stale edit's message compare.
func serviceValues(s *Service) map[string]string {
	v := map[string]string{"category": s.Category, "title": s.Title, "status": s.Status, "status_reason": s.StatusReason,
		"summary": s.Summary, "description": s.Description, "audience": s.Audience, "how_to": s.HowTo, "needed": s.Needed, "outcome": s.Outcome,
		"deadlines": s.Deadlines, "max_days": strconv.Itoa(s.MaxDays), "online_url": s.OnlineURL, "assurance": s.Assurance, "channel": s.Channel,
		"fees": s.Fees, "conditions": s.Conditions, "topics": strings.Join(s.Topics, ","), "audiences": strings.Join(s.Audiences, ","),
		"offices": strings.Join(s.Offices, ","), "life_events": strings.Join(s.LifeEvents, ","), "business_events": strings.Join(s.BusinessEvents, ",")}
	for lang, t := range s.Translations {
		if t == nil {
			continue
		}
		for _, f := range t.fields() {
			if *f.value != "" {
				v[lang+"."+f.name] = *f.value
			}
		}
	}
	return v
}

// parseService reads the service form: the service as typed, and what
// cannot even be read (a number that is not one), with its raw text kept
// for the form.
func parseService(f form, id string) (*Service, Invalid, map[string]string) {
	var errs Invalid
	raw := map[string]string{}
	v := &Service{ID: id, Category: f.text("category"), Title: f.text("title"), Status: f.text("status"), StatusReason: f.text("status_reason"),
		Summary: f.text("summary"), Description: f.text("description"), Audience: f.text("audience"), HowTo: f.text("how_to"), Needed: f.text("needed"),
		Outcome: f.text("outcome"), Deadlines: f.text("deadlines"), OnlineURL: f.text("online_url"), Assurance: f.text("assurance"),
		Channel: f.text("channel"), Fees: f.text("fees"), Conditions: f.text("conditions"), Topics: f.list("topics"), Audiences: f.list("audiences"),
		Offices: f.list("offices"), LifeEvents: f.list("life_events"), BusinessEvents: f.list("business_events")}
	if d := f.text("max_days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			raw["max_days"] = d
			errs = append(errs, &FieldError{Field: "max_days", Message: "catalog.error.max_days", Args: []any{"Max", MaxMaxDays}})
		}
		v.MaxDays = n
	} else {
		raw["max_days"] = ""
		errs = append(errs, &FieldError{Field: "max_days", Message: "catalog.error.max_days", Args: []any{"Max", MaxMaxDays}})
	}
	v.Version, _ = strconv.Atoi(f.get("version"))
	en := &ServiceText{}
	for _, tf := range en.fields() {
		*tf.value = f.text("en." + tf.name)
	}
	if !en.empty() {
		v.Translations = map[string]*ServiceText{"en": en}
	}
	return v, errs, raw
}

// ServiceEdit is the content of the service page of the back office.
type ServiceEdit struct {
	// Action is where the form posts; Creating when it adds a service.
	Action   string
	Creating bool
	// Stored is the service as saved (nil when creating): its state and
	// public page.
	Stored *Service
	// Version is the hidden version the edit is based on.
	Version  string
	Sections []FormSection
	// Errors is the summary above the form; Others are errors that belong
	// to no field of it.
	Errors []ErrorLink
	Others []string
	// Message and Alert are notices above the form, translated.
	Message, Alert string
	// Uses are what keeps the service from being deleted.
	Uses []Use
	// Confirm is the deletion's confirmation box.
	Confirm *Field
	// Public is the service's page on the portal.
	Public string
}

// FormSection is a fieldset of a form.
type FormSection struct {
	Legend string
	Items  []FormItem
}

// FormItem is one entry of a section: a text in Italian with its English
// version beside it, a single field, or a closed list.
type FormItem struct {
	Pair    *Pair
	Field   *Field
	Choices *Choices
}

// Pair is an Italian text and its English version.
type Pair struct {
	It, En *Field
}

// builder lays out a form's fields with their errors and labels.
type builder struct {
	t      translator
	values func(name string) string
	errs   *formErrors
	labels string // message id prefix of the labels: catalog.bo.s. or catalog.bo.o.
	links  []ErrorLink
}

func (b *builder) field(name, typ string, max int, required bool) *Field {
	label := b.t(b.labels + name)
	f := &Field{Name: name, ID: fieldID(name), Label: label, Type: typ, Value: b.values(name), Max: max, Required: required}
	if typ == "textarea" {
		f.Rows = 5
	}
	if max > 0 && max <= MaxShortText {
		f.Help = b.t("catalog.bo.help.max", "Max", max)
	}
	if h := b.t(b.labels + "help." + name); h != b.labels+"help."+name {
		f.Help = strings.TrimSpace(h + " " + f.Help)
	}
	b.attach(f.ID, label, &f.Errors, name)
	return f
}

// attach gives a field its errors and lists them in the summary.
func (b *builder) attach(id, label string, to *[]string, names ...string) {
	for _, n := range names {
		*to = append(*to, b.errs.take(n)...)
	}
	for _, m := range *to {
		b.links = append(b.links, ErrorLink{ID: id, Label: label, Message: m})
	}
}

// pair is an Italian text with its English version beside it.
func (b *builder) pair(name, typ string, max int, required bool) FormItem {
	it := b.field(name, typ, max, required)
	it.Lang = "it"
	en := b.field("en."+name, typ, max, false)
	en.Label = b.t("catalog.bo.en", "Label", it.Label)
	en.Lang, en.Help = "en", b.t("catalog.bo.help.en")
	if max > 0 && max <= MaxShortText {
		en.Help += " " + b.t("catalog.bo.help.max", "Max", max)
	}
	return FormItem{Pair: &Pair{It: it, En: en}}
}

func (b *builder) choices(name, typ string, opts []Option, columns bool) FormItem {
	c := &Choices{Name: name, ID: fieldID(name), Legend: b.t(b.labels + name), Type: typ, Options: opts, Columns: columns}
	if h := b.t(b.labels + "help." + name); h != b.labels+"help."+name {
		c.Help = h
	}
	b.attach(c.ID, c.Legend, &c.Errors, name)
	return FormItem{Choices: c}
}

func one(f *Field) FormItem { return FormItem{Field: f} }

// others are the errors no field took, as text.
func (b *builder) others() []string {
	var out []string
	for _, name := range b.errs.order {
		for _, m := range b.errs.byField[name] {
			out = append(out, name+": "+m)
		}
	}
	return out
}

// serviceForm lays out the service form for v as typed (or stored), with
// its errors.
func serviceForm(t translator, c *Catalog, v *Service, raw map[string]string, errs Invalid, creating bool) *ServiceEdit {
	values := serviceValues(v)
	for k, x := range raw {
		values[k] = x
	}
	if creating {
		values["id"] = v.ID
	}
	b := &builder{t: t, values: func(n string) string { return values[n] }, errs: newFormErrors(t, errs), labels: "catalog.bo.s."}
	d := &ServiceEdit{Creating: creating, Version: strconv.Itoa(v.Version)}

	var cats []Option
	for _, term := range taxonomy.ServiceCategories {
		cats = append(cats, Option{Value: term.Slug, Label: term.Title, Lang: "it", Checked: term.Slug == v.Category})
	}
	status := options("status", Statuses, []string{t("catalog.status.active"), t("catalog.status.suspended")}, []string{v.Status}, "")
	channels := options("channel", Channels, []string{t("catalog.channel.online"), t("catalog.channel.desk"), t("catalog.channel.both")}, []string{v.Channel}, "")
	levels := []string{"", "low", "substantial", "high"}
	assurances := options("assurance", levels, []string{t("catalog.bo.assurance.none"), t("catalog.bo.assurance.low"),
		t("catalog.bo.assurance.substantial"), t("catalog.bo.assurance.high")}, []string{v.Assurance}, "")
	assurances[0].ID = "f-assurance-none"
	var offices []Option
	for _, list := range [][]*Office{c.Offices, c.RetiredOffices} {
		for _, o := range list {
			checked := strings.Contains(","+strings.Join(v.Offices, ",")+",", ","+o.ID+",")
			if o.Retired && !checked {
				continue // a retired office is offered only to a service that names it still
			}
			label := o.Name
			if o.Retired {
				label += " (" + t("catalog.bo.retired") + ")"
			}
			offices = append(offices, Option{Value: o.ID, Label: label, ID: fieldID("offices-" + o.ID), Lang: "it", Checked: checked})
		}
	}
	vocab := func(name string, terms []taxonomy.Term, chosen []string) []Option {
		var values, labels []string
		for _, term := range terms {
			values, labels = append(values, term.Slug), append(labels, term.Title)
		}
		return options(name, values, labels, chosen, "it")
	}
	var audLabels []string
	for _, a := range Audiences {
		audLabels = append(audLabels, t("catalog.audience."+a))
	}

	general := FormSection{Legend: t("catalog.bo.s.section.service")}
	if creating {
		id := b.field("id", "text", MaxID, false)
		general.Items = append(general.Items, one(id))
	}
	general.Items = append(general.Items,
		b.pair("title", "text", MaxTitle, true),
		b.choices("category", "select", cats, false),
		b.pair("summary", "textarea", MaxSummary, true),
		b.pair("description", "textarea", MaxLongText, false),
		b.choices("status", "radio", status, false),
		b.pair("status_reason", "text", MaxReason, false))
	use := FormSection{Legend: t("catalog.bo.s.section.use"), Items: []FormItem{
		b.pair("audience", "textarea", MaxLongText, true),
		b.pair("how_to", "textarea", MaxLongText, true),
		b.pair("needed", "textarea", MaxLongText, true),
		b.pair("outcome", "textarea", MaxLongText, true),
		b.pair("deadlines", "textarea", MaxLongText, true),
		one(b.field("max_days", "number", 0, true)),
		b.pair("fees", "textarea", MaxShortText, false),
		b.pair("conditions", "textarea", MaxLongText, true),
	}}
	access := FormSection{Legend: t("catalog.bo.s.section.access"), Items: []FormItem{
		b.choices("channel", "radio", channels, false),
		one(b.field("online_url", "text", 0, false)),
		b.choices("assurance", "radio", assurances, false),
		b.choices("offices", "checkbox", offices, true),
	}}
	class := FormSection{Legend: t("catalog.bo.s.section.classification"), Items: []FormItem{
		b.choices("topics", "checkbox", vocab("topics", taxonomy.Topics, v.Topics), true),
		b.choices("audiences", "checkbox", options("audiences", Audiences, audLabels, v.Audiences, ""), true),
		b.choices("life_events", "checkbox", vocab("life_events", taxonomy.LifeEvents, v.LifeEvents), false),
		b.choices("business_events", "checkbox", vocab("business_events", taxonomy.BusinessEvents, v.BusinessEvents), false),
	}}
	d.Sections = []FormSection{general, use, access, class}
	d.Errors, d.Others = b.links, b.others()
	d.Confirm = &Field{Name: "confirm", ID: "f-confirm", Label: t("catalog.bo.delete_confirm"), Type: "checkbox"}
	return d
}
