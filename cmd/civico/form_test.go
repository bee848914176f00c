package main

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// What a browser would send from a form of a page: the fields of the
// <form> posting to action, as the page fills them (inputs' values,
// checked boxes and radios, selected options, textareas' text). Enough for
// civico's own markup, which is regular.

var (
	formRE     = regexp.MustCompile(`(?s)<form\b[^>]*\baction="([^"]*)"[^>]*>(.*?)</form>`)
	inputRE    = regexp.MustCompile(`(?s)<input\b([^>]*)>`)
	textareaRE = regexp.MustCompile(`(?s)<textarea\b([^>]*)>(.*?)</textarea>`)
	selectRE   = regexp.MustCompile(`(?s)<select\b([^>]*)>(.*?)</select>`)
	optionRE   = regexp.MustCompile(`(?s)<option\b([^>]*)>`)
	attrRE     = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// formValues returns the values the form posting to action would send.
func formValues(t *testing.T, page, action string) url.Values {
	t.Helper()
	for _, f := range formRE.FindAllStringSubmatch(page, -1) {
		if html.UnescapeString(f[1]) != action {
			continue
		}
		v := url.Values{}
		body := f[2]
		for _, m := range inputRE.FindAllStringSubmatch(body, -1) {
			a := attrs(m[1])
			if a["name"] == "" {
				continue
			}
			if (a["type"] == "checkbox" || a["type"] == "radio") && !hasAttr(m[1], "checked") {
				continue
			}
			v.Add(a["name"], a["value"])
		}
		for _, m := range textareaRE.FindAllStringSubmatch(body, -1) {
			v.Add(attrs(m[1])["name"], html.UnescapeString(strings.TrimPrefix(m[2], "\n")))
		}
		for _, m := range selectRE.FindAllStringSubmatch(body, -1) {
			for _, o := range optionRE.FindAllStringSubmatch(m[2], -1) {
				if hasAttr(o[1], "selected") {
					v.Add(attrs(m[1])["name"], attrs(o[1])["value"])
				}
			}
		}
		return v
	}
	t.Fatalf("no form posting to %s on the page", action)
	return nil
}

func hasAttr(tag, name string) bool {
	return regexp.MustCompile(`(^|\s)` + name + `(\s|=|$)`).MatchString(tag)
}

// fieldError is the text of the error shown beside a field (its element id
// without "f-"), "" when none.
func fieldError(page, id string) string {
	m := regexp.MustCompile(`(?s)<div class="invalid-feedback[^"]*"[^>]*id="` + regexp.QuoteMeta("f-"+id+"-error") + `">(.*?)</div>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(strings.TrimSpace(m[1]))
}

// fieldValue is the value a text input or a textarea shows.
func fieldValue(page, name string) string {
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		if a := attrs(m[1]); a["name"] == name {
			return a["value"]
		}
	}
	for _, m := range textareaRE.FindAllStringSubmatch(page, -1) {
		if attrs(m[1])["name"] == name {
			return html.UnescapeString(strings.TrimPrefix(m[2], "\n"))
		}
	}
	return ""
}

func clone(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}
