package content

import (
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
)

// FieldErrors maps a form field to the message id saying what is wrong
// with it: every wrong field at once, each shown beside its field.
type FieldErrors = problem.Fields

// Actions of the entry form.
const (
	ActionDraft   = "draft"   // save, not public
	ActionPublish = "publish" // save and show
	ActionRetire  = "retire"  // save and withdraw from the public
)

// Input is what the entry form sends: each field by its name, the
// English twins as "<name>_en".
type Input struct {
	Values map[string]string
	Action string
}

func (in Input) get(name string) string {
	return strings.TrimSpace(strings.ReplaceAll(in.Values[name], "\r\n", "\n"))
}

var (
	postalCodeRE = regexp.MustCompile(`^[0-9]{5}$`)
	phoneRE      = regexp.MustCompile(`^\+?[0-9][0-9 ]{4,18}[0-9]$`)
)

// DateTimeLocal is the layout of an <input type="datetime-local">.
const DateTimeLocal = "2006-01-02T15:04"

// localLayouts are what a datetime-local input sends, and what people type
// where a browser shows a plain text box instead.
var localLayouts = []string{DateTimeLocal, "2006-01-02T15:04:05", "2006-01-02 15:04", "02/01/2006 15:04", "2/1/2006 15:04"}

// ParseLocal reads a date and time in Rome.
func ParseLocal(v string) (time.Time, bool) {
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, v, hours.Rome); err == nil && t.Year() >= 2000 && t.Year() <= 2100 {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseDate(v string) (string, bool) {
	for _, l := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(l, v); err == nil && t.Year() >= 1900 && t.Year() <= 2100 {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// cleanText reports whether s is text a page can show: valid UTF-8 without
// control characters (but line breaks where lines allows them).
func cleanText(s string, lines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\n' && lines || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// validate checks the form of an entry of kind k and fills e with it. The
// references to other entries (an event's place, a person's body) are
// checked by the store, inside its transaction.
func (k *Kind) validate(in Input, e *Entry) FieldErrors {
	fe := FieldErrors{}
	for _, f := range k.Fields {
		v := in.get(f.Name)
		if msg := checkField(f, v); msg != "" {
			fe[f.Name] = msg
		}
		if f.Bilingual {
			en := in.get(f.Name + "_en")
			if en != "" {
				g := f
				g.Required = false
				if msg := checkField(g, en); msg != "" {
					fe[f.Name+"_en"] = msg
				}
			}
		}
	}
	e.Kind = k.Name
	if k.Categories != nil {
		e.Category = in.get("category")
		if _, ok := k.category(e.Category); !ok {
			fe["category"] = "content.error.category"
		}
	}
	text := func(name string) Text { return Text{IT: in.get(name), EN: in.get(name + "_en")} }
	e.Title, e.Summary, e.Body = text("title"), text("summary"), text("body")
	e.Role, e.Opening, e.Cost = text("role"), text("opening"), text("cost")
	e.Address, e.PostalCode = in.get("address"), in.get("postal_code")
	e.Phone, e.Email, e.Website = in.get("phone"), in.get("email"), in.get("website")
	e.PlaceID, e.UnitID = in.get("place"), in.get("unit")
	if k.has("lat") {
		var ok1, ok2 bool
		e.Lat, ok1 = parseCoord(in.get("lat"))
		e.Lon, ok2 = parseCoord(in.get("lon"))
		e.HasCoords = ok1 && ok2
		if ok1 && (e.Lat < -90 || e.Lat > 90) {
			fe["lat"] = "content.error.lat"
		}
		if ok2 && (e.Lon < -180 || e.Lon > 180) {
			fe["lon"] = "content.error.lon"
		}
	}
	if k.has("starts_at") {
		start, ok1 := ParseLocal(in.get("starts_at"))
		end, ok2 := ParseLocal(in.get("ends_at"))
		if ok1 && ok2 && end.Before(start) {
			fe["ends_at"] = "content.error.ends_before"
		}
		if ok1 && ok2 && end.Sub(start) > 366*24*time.Hour {
			fe["ends_at"] = "content.error.event_too_long"
		}
		e.StartsAt, e.EndsAt = start.UTC(), end.UTC()
	}
	if k.has("doc_date") {
		e.DocDate, _ = parseDate(in.get("doc_date"))
	}
	switch in.Action {
	case ActionDraft, ActionPublish, ActionRetire:
	default:
		fe["action"] = "content.error.action"
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// checkField returns the message id of what is wrong with the value of
// one field, or "".
func checkField(f Field, v string) string {
	if v == "" {
		if f.Required {
			return "content.error.required"
		}
		return ""
	}
	n := utf8.RuneCountInString(v)
	if f.Max > 0 && n > f.Max {
		return "content.error.too_long"
	}
	switch f.Type {
	case "line":
		if !cleanText(v, false) {
			return "content.error.text"
		}
		if f.Name == "postal_code" {
			if !postalCodeRE.MatchString(v) {
				return "content.error.postal_code"
			}
		} else if n < MinText {
			return "content.error.short"
		}
	case "text":
		if !cleanText(v, true) {
			return "content.error.text"
		}
		if n < MinText {
			return "content.error.short"
		}
	case "tel":
		if !phoneRE.MatchString(v) {
			return "content.error.phone"
		}
	case "email":
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
			return "content.error.email"
		}
	case "url":
		if !validURL(v) {
			return "content.error.url"
		}
	case "number":
		if _, ok := parseCoord(v); !ok {
			return "content.error.number"
		}
	case "datetime":
		if _, ok := ParseLocal(v); !ok {
			return "content.error.datetime"
		}
	case "date":
		if _, ok := parseDate(v); !ok {
			return "content.error.date"
		}
	}
	return ""
}

// validURL admits an https address with a host, or a path of this site.
func validURL(v string) bool {
	if !cleanText(v, false) || strings.ContainsAny(v, " \\") {
		return false
	}
	if strings.HasPrefix(v, "/") {
		return !strings.HasPrefix(v, "//")
	}
	u, err := url.Parse(v)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// parseCoord reads a decimal degree, with a point or a comma.
func parseCoord(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}
