package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages civico speaks, the first being the default: Italian first,
// English second.
var Languages = []string{"it", "en"}

// LangCookie holds a visitor's explicit choice of language. It is a technical
// cookie: host-only, no identifier.
const LangCookie = "lang"

// I18n holds every translated message of the applications.
type I18n struct {
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
	matcher    language.Matcher
	ids        map[string]map[string]bool          // lang -> message ids
	simple     map[string]map[string]simpleMessage // lang -> id -> message with at most {{.Name}} placeholders
	missing    sync.Map                            // "lang id" -> true, asked for but undefined
}

// NewI18n loads the message files "<lang>.json" found in each fsys's locales
// directory. Each file is a flat JSON object from message id to text; text
// may use {{.Name}} placeholders.
func NewI18n(sources ...fs.FS) (*I18n, error) {
	b := i18n.NewBundle(language.Italian)
	x := &I18n{bundle: b, localizers: map[string]*i18n.Localizer{}, ids: map[string]map[string]bool{}, simple: map[string]map[string]simpleMessage{}}
	var tags []language.Tag
	for _, lang := range Languages {
		tags = append(tags, language.MustParse(lang))
		x.ids[lang] = map[string]bool{}
		x.simple[lang] = map[string]simpleMessage{}
	}
	for _, src := range sources {
		for _, lang := range Languages {
			name := path.Join("locales", lang+".json")
			data, err := fs.ReadFile(src, name)
			if err != nil {
				return nil, fmt.Errorf("messages %s: %w", name, err)
			}
			mf, err := i18n.ParseMessageFileBytes(data, name, unmarshalJSON)
			if err != nil {
				return nil, fmt.Errorf("messages %s: %w", name, err)
			}
			var rich []*i18n.Message
			for _, m := range mf.Messages {
				if x.ids[lang][m.ID] {
					return nil, fmt.Errorf("messages %s: %q defined twice", name, m.ID)
				}
				x.ids[lang][m.ID] = true
				// Most messages are text with at most a few {{.Name}}
				// placeholders: served without go-i18n's template machinery,
				// and not kept by it either (its parsed templates of every
				// message were a third of the idle heap).
				if sm, ok := compileSimple(m.Other); ok {
					x.simple[lang][m.ID] = sm
				} else {
					rich = append(rich, m)
				}
			}
			if err := b.AddMessages(mf.Tag, rich...); err != nil {
				return nil, fmt.Errorf("messages %s: %w", name, err)
			}
		}
	}
	for _, lang := range Languages {
		x.localizers[lang] = i18n.NewLocalizer(b, lang)
	}
	x.matcher = language.NewMatcher(tags)
	return x, nil
}

// unmarshalJSON reads the message files.
var unmarshalJSON = map[string]i18n.UnmarshalFunc{"json": json.Unmarshal}

// Untranslated lists, per language, the ids some other language defines and
// this one lacks.
func (x *I18n) Untranslated() map[string][]string {
	all := map[string]bool{}
	for _, ids := range x.ids {
		for id := range ids {
			all[id] = true
		}
	}
	out := map[string][]string{}
	for lang, ids := range x.ids {
		for id := range all {
			if !ids[id] {
				out[lang] = append(out[lang], id)
			}
		}
		sort.Strings(out[lang])
	}
	return out
}

// Missing lists the "lang id" pairs that were asked for and are undefined.
func (x *I18n) Missing() []string {
	var out []string
	x.missing.Range(func(k, _ any) bool { out = append(out, k.(string)); return true })
	sort.Strings(out)
	return out
}

// Has reports whether the message id is defined in the language.
func (x *I18n) Has(lang, id string) bool { return x.ids[lang][id] }

// T translates id into lang; args are name/value pairs for the placeholders.
// An unknown id comes back as itself, so a missing translation shows, but
// tests check there are none.
func (x *I18n) T(lang, id string, args ...any) string {
	if _, ok := x.simple[lang]; !ok {
		lang = Languages[0] // a language civico does not speak
	}
	if sm, ok := x.simple[lang][id]; ok {
		return sm.format(args)
	}
	loc, ok := x.localizers[lang]
	if !ok {
		loc = x.localizers[Languages[0]]
	}
	var data map[string]any
	if len(args) > 0 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			data[fmt.Sprint(args[i])] = args[i+1]
		}
	}
	s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		x.missing.Store(lang+" "+id, true)
		return id
	}
	return s
}

// Lang chooses the language of a request: the visitor's explicit choice if
// any, otherwise the best match of Accept-Language, otherwise Italian.
func (x *I18n) Lang(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil && Supported(c.Value) {
		return c.Value
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := x.matcher.Match(tags...)
			if conf != language.No {
				return Languages[i]
			}
		}
	}
	return Languages[0]
}

// Supported reports whether civico speaks lang.
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// SafeNext returns next if it is a path on this site, and "/" otherwise, so a
// redirect parameter cannot send a visitor elsewhere. Control characters are
// refused too: browsers drop tabs and newlines from a Location, so "/\t/evil"
// would become "//evil", another site.
func SafeNext(next string) string {
	// No backslash anywhere: browsers read it as a slash, and http.Redirect
	// cleans dot segments, so "/./\\host" would become "/\\host", another
	// host (found by FuzzSafeNext).
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	return next
}

// simpleMessage is a message split at its placeholders: parts[0] name[0]
// parts[1] name[1] ... parts[n].
type simpleMessage struct {
	parts []string
	names []string
}

var placeholderRE = regexp.MustCompile(`\{\{\s*\.([A-Za-z][A-Za-z0-9_]*)\s*\}\}`)

// compileSimple splits a message whose only template actions are {{.Name}};
// anything richer is left to go-i18n.
func compileSimple(text string) (simpleMessage, bool) {
	var sm simpleMessage
	last := 0
	for _, m := range placeholderRE.FindAllStringSubmatchIndex(text, -1) {
		sm.parts = append(sm.parts, text[last:m[0]])
		sm.names = append(sm.names, text[m[2]:m[3]])
		last = m[1]
	}
	sm.parts = append(sm.parts, text[last:])
	for _, p := range sm.parts {
		if strings.Contains(p, "{{") {
			return simpleMessage{}, false
		}
	}
	return sm, true
}

// format fills the placeholders from name/value pairs; a missing value
// renders as go-i18n would render it, "<no value>".
func (sm simpleMessage) format(args []any) string {
	if len(sm.names) == 0 {
		return sm.parts[0]
	}
	var b strings.Builder
	for i, part := range sm.parts {
		b.WriteString(part)
		if i < len(sm.names) {
			v := "<no value>"
			for j := 0; j+1 < len(args); j += 2 {
				if k, ok := args[j].(string); ok && k == sm.names[i] {
					v = fmt.Sprint(args[j+1])
					break
				}
			}
			b.WriteString(v)
		}
	}
	return b.String()
}
