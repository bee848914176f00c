package catalog

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// The office form: the office's details, its English texts beside the
// Italian, and every timetable: the ordinary week, periods with their own
// week (summer hours), and exceptions (closures, special days), with a
// preview of what residents will read.

// officeValues are an office's fields as the form writes them (the audit
// entry's "changed").
func officeValues(o *Office) map[string]string {
	spec, _ := json.Marshal(o.Spec)
	v := map[string]string{"name": o.Name, "description": o.Description, "address": o.Address, "postal_code": o.PostalCode,
		"phone": o.Phone, "email": o.Email, "accessibility": o.Accessibility, "lat": coordText(o.Lat, o), "lon": coordText(o.Lon, o),
		"hours": string(spec)}
	for lang, t := range o.Translations {
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

func coordText(x float64, o *Office) string {
	if o.Lat == 0 && o.Lon == 0 {
		return ""
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// Most rows of each kind a form may send: more is not a timetable.
const (
	maxPeriodRows    = 50
	maxExceptionRows = 400
)

var rowRE = regexp.MustCompile(`^hours\.(periods|exceptions)\[(\d{1,4})\]\.`)

// rows is how many rows of each kind the form sent (the highest index + 1).
func rows(f form) (periods, exceptions int) {
	for k := range f {
		m := rowRE.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if m[1] == "periods" {
			periods = max(periods, min(n+1, maxPeriodRows))
		} else {
			exceptions = max(exceptions, min(n+1, maxExceptionRows))
		}
	}
	return periods, exceptions
}

// intervals reads "09:00-12:30, 14:30-17:30" as written.
func intervals(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func week(f form, prefix string) map[string][]string {
	w := map[string][]string{}
	for _, d := range hours.WeekdayNames {
		if ivs := intervals(f.get(prefix + d)); len(ivs) > 0 {
			w[d] = ivs
		}
	}
	return w
}

// parseTimetable reads the timetables: rows left blank, or marked to be
// removed, are dropped, so the spec's rows are numbered anew.
func parseTimetable(f form) hours.Spec {
	spec := hours.Spec{Week: week(f, "hours.week.")}
	np, ne := rows(f)
	for i := range np {
		p := fmt.Sprintf("hours.periods[%d].", i)
		if f.get(p+"remove") != "" {
			continue
		}
		ps := hours.PeriodSpec{From: f.text(p + "from"), To: f.text(p + "to"), Week: week(f, p+"week.")}
		if ps.From == "" && ps.To == "" && len(ps.Week) == 0 {
			continue
		}
		spec.Periods = append(spec.Periods, ps)
	}
	for i := range ne {
		p := fmt.Sprintf("hours.exceptions[%d].", i)
		if f.get(p+"remove") != "" {
			continue
		}
		e := hours.ExceptionSpec{Date: f.text(p + "date"), Closed: f.get(p+"kind") == "closed", Note: f.text(p + "note")}
		e.Hours = intervals(f.get(p + "hours"))
		if e.Date == "" && len(e.Hours) == 0 && e.Note == "" && f.get(p+"kind") == "" {
			continue
		}
		spec.Exceptions = append(spec.Exceptions, e)
	}
	return spec
}

// parseCoordinate reads a coordinate in decimal degrees, with a point or
// a comma.
func parseCoordinate(s string) (float64, bool) {
	x, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", "."), 64)
	return x, err == nil
}

// parseOffice reads the office form (see parseService).
func parseOffice(f form, id string) (*Office, Invalid, map[string]string) {
	var errs Invalid
	raw := map[string]string{}
	o := &Office{ID: id, Name: f.text("name"), Description: f.text("description"), Address: f.text("address"), PostalCode: f.text("postal_code"),
		Phone: f.text("phone"), Email: f.text("email"), Accessibility: f.text("accessibility"), Spec: parseTimetable(f)}
	lat, lon := f.text("lat"), f.text("lon")
	if lat != "" || lon != "" {
		var okLat, okLon bool
		o.Lat, okLat = parseCoordinate(lat)
		o.Lon, okLon = parseCoordinate(lon)
		if !okLat || !okLon || lat == "" || lon == "" {
			raw["lat"], raw["lon"] = lat, lon
			o.Lat, o.Lon = 0, 0
			errs = append(errs, &FieldError{Field: "lat", Message: "catalog.error.coordinates"})
		}
	}
	o.Version, _ = strconv.Atoi(f.get("version"))
	en := &OfficeText{Name: f.text("en.name"), Description: f.text("en.description"), Accessibility: f.text("en.accessibility")}
	if !en.empty() {
		o.Translations = map[string]*OfficeText{"en": en}
	}
	return o, errs, raw
}

// OfficeEdit is the content of the office page of the back office.
type OfficeEdit struct {
	Action   string
	Creating bool
	Stored   *Office
	Version  string
	Sections []FormSection
	// Coordinates are latitude and longitude, side by side.
	Lat, Lon  *Field
	Timetable Timetable
	Errors    []ErrorLink
	Others    []string
	Message   string
	Alert     string
	Uses      []Use
	Confirm   *Field
	// Services are the services the office handles.
	Services []*Service
	// Preview is the timetable as residents will read it, from
	// PreviewFrom.
	Preview     *Preview
	PreviewFrom *Field
	Public      string
}

// Timetable is the form's timetables.
type Timetable struct {
	Week       []*Field
	Periods    []PeriodRow
	Exceptions []ExceptionRow
	// Errors are about the timetable as a whole.
	Errors []string
}

// PeriodRow is a period with its own week (summer hours).
type PeriodRow struct {
	Legend   string
	From, To *Field
	Days     []*Field
	Remove   *Field
	// New is the blank row that adds a period.
	New bool
}

// ExceptionRow is one date's closure or special hours.
type ExceptionRow struct {
	Legend      string
	Date        *Field
	Kind        *Choices
	Hours, Note *Field
	Remove      *Field
	New         bool
}

// newExceptionRows is how many blank exception rows the form offers.
const newExceptionRows = 2

func (b *builder) day(prefix, label string, ivs []string) *Field {
	name := prefix + strings.ToLower(label)
	f := &Field{Name: name, ID: fieldID(name), Label: b.t("catalog.weekday." + label), Type: "text", Value: strings.Join(ivs, ", ")}
	b.attach(f.ID, f.Label, &f.Errors, name)
	return f
}

func (b *builder) weekFields(prefix string, w map[string][]string) []*Field {
	out := make([]*Field, 0, 7)
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		out = append(out, b.day(prefix, d.String(), w[strings.ToLower(d.String())]))
	}
	return out
}

// timetable lays out the timetables of spec, numbered as the spec is (its
// errors name those numbers), then one blank period and a few blank
// exceptions to add.
func (b *builder) timetable(spec hours.Spec) Timetable {
	var tt Timetable
	tt.Week = b.weekFields("hours.week.", spec.Week)
	text := func(name, label, typ, value string) *Field {
		f := &Field{Name: name, ID: fieldID(name), Label: label, Type: typ, Value: value}
		b.attach(f.ID, label, &f.Errors, name)
		return f
	}
	periods := append(spec.Periods, hours.PeriodSpec{})
	for i, p := range periods {
		prefix := fmt.Sprintf("hours.periods[%d].", i)
		row := PeriodRow{Legend: b.t("catalog.bo.period", "N", i+1), New: i == len(spec.Periods)}
		if row.New {
			row.Legend = b.t("catalog.bo.period_new")
		}
		row.From = text(prefix+"from", b.t("catalog.bo.from"), "date", p.From)
		row.To = text(prefix+"to", b.t("catalog.bo.to"), "date", p.To)
		row.Days = b.weekFields(prefix+"week.", p.Week)
		if !row.New {
			row.Remove = &Field{Name: prefix + "remove", ID: fieldID(prefix + "remove"), Label: b.t("catalog.bo.remove_period", "N", i+1), Type: "checkbox"}
		}
		// A period's own errors ("periods overlap") and its week's.
		b.attach(row.From.ID, row.Legend, &row.From.Errors, prefix[:len(prefix)-1])
		tt.Periods = append(tt.Periods, row)
	}
	exceptions := spec.Exceptions
	for range newExceptionRows {
		exceptions = append(exceptions, hours.ExceptionSpec{})
	}
	for i, e := range exceptions {
		prefix := fmt.Sprintf("hours.exceptions[%d].", i)
		row := ExceptionRow{Legend: b.t("catalog.bo.exception", "N", i+1), New: i >= len(spec.Exceptions)}
		if row.New {
			row.Legend = b.t("catalog.bo.exception_new", "N", i-len(spec.Exceptions)+1)
		}
		row.Date = text(prefix+"date", b.t("catalog.bo.date"), "date", e.Date)
		kind := ""
		switch {
		case e.Closed:
			kind = "closed"
		case e.Date != "" || len(e.Hours) > 0:
			kind = "open"
		}
		row.Kind = &Choices{Name: prefix + "kind", ID: fieldID(prefix + "kind"), Legend: b.t("catalog.bo.exception_kind"), Type: "radio",
			Options: options(prefix+"kind", []string{"closed", "open"}, []string{b.t("catalog.bo.closed_all_day"), b.t("catalog.bo.special_hours")}, []string{kind}, "")}
		row.Hours = text(prefix+"hours", b.t("catalog.bo.exception_hours"), "text", strings.Join(e.Hours, ", "))
		row.Note = text(prefix+"note", b.t("catalog.bo.note"), "text", e.Note)
		if !row.New {
			row.Remove = &Field{Name: prefix + "remove", ID: fieldID(prefix + "remove"), Label: b.t("catalog.bo.remove_exception", "N", i+1), Type: "checkbox"}
		}
		b.attach(row.Date.ID, row.Legend, &row.Date.Errors, prefix[:len(prefix)-1])
		tt.Exceptions = append(tt.Exceptions, row)
	}
	b.attach("f-hours", b.t("catalog.bo.timetables"), &tt.Errors, "hours")
	return tt
}

// officeForm lays out the office form for o as typed (or stored).
func officeForm(t translator, o *Office, raw map[string]string, errs Invalid, creating bool) *OfficeEdit {
	values := officeValues(o)
	for k, x := range raw {
		values[k] = x
	}
	if creating {
		values["id"] = o.ID
	}
	b := &builder{t: t, values: func(n string) string { return values[n] }, errs: newFormErrors(t, errs), labels: "catalog.bo.o."}
	d := &OfficeEdit{Creating: creating, Version: strconv.Itoa(o.Version)}
	general := FormSection{Legend: t("catalog.bo.o.section.office")}
	if creating {
		general.Items = append(general.Items, one(b.field("id", "text", MaxID, false)))
	}
	phone := b.field("phone", "tel", 0, true)
	phone.Autocomplete = "off"
	email := b.field("email", "email", 0, false)
	email.Autocomplete = "off"
	general.Items = append(general.Items,
		b.pair("name", "text", MaxTitle, true),
		b.pair("description", "textarea", MaxSummary, true),
		one(b.field("address", "text", MaxAddress, true)),
		one(b.field("postal_code", "text", 0, true)),
		one(phone), one(email),
		b.pair("accessibility", "textarea", MaxShortText, false))
	d.Sections = []FormSection{general}
	d.Lat, d.Lon = b.field("lat", "text", 0, false), b.field("lon", "text", 0, false)
	d.Timetable = b.timetable(o.Spec)
	d.Errors, d.Others = b.links, b.others()
	d.Confirm = &Field{Name: "confirm", ID: "f-confirm", Label: t("catalog.bo.delete_confirm"), Type: "checkbox"}
	return d
}

// Preview is a timetable as the office's page will show it.
type Preview struct {
	From time.Time
	Days []DayHours
	// Periods are the timetables of the periods, and Special the dates
	// that differ from the week (exceptions and public holidays) in the
	// year from From.
	Periods []PreviewPeriod
	Special []DayHours
}

// PreviewPeriod is a period's timetable.
type PreviewPeriod struct {
	From, To time.Time
	Days     []PreviewDay
}

// PreviewDay is a weekday's intervals.
type PreviewDay struct {
	Weekday   time.Weekday
	Intervals []hours.Interval
}

// previewDays is how many days the preview shows one by one.
const previewDays = 21

// preview is what residents will read of o's hours, from the day from.
func preview(o *Office, from hours.Date) *Preview {
	p := &Preview{From: from.At(12 * 60)}
	for i := range previewDays {
		p.Days = append(p.Days, dayHours(o, from.AddDays(i), false))
	}
	for _, s := range o.Hours.Schedules {
		if s.From.IsZero() {
			continue
		}
		pp := PreviewPeriod{From: s.From.At(12 * 60), To: s.To.At(12 * 60)}
		for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
			pp.Days = append(pp.Days, PreviewDay{Weekday: wd, Intervals: s.Week[wd]})
		}
		p.Periods = append(p.Periods, pp)
	}
	sort.Slice(p.Periods, func(a, b int) bool { return p.Periods[a].From.Before(p.Periods[b].From) })
	for i := range 366 {
		d := from.AddDays(i)
		day := o.Hours.On(d)
		if day.Exception != nil || day.Holiday != "" {
			p.Special = append(p.Special, dayHours(o, d, false))
		}
	}
	return p
}

func dayHours(o *Office, d hours.Date, today bool) DayHours {
	day := o.Hours.On(d)
	dh := DayHours{Date: day.Date.At(12 * 60), Intervals: day.Intervals, Holiday: day.Holiday, Today: today}
	if day.Exception != nil {
		dh.Note = day.Exception.Note
	}
	return dh
}
