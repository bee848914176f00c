package web

import (
	"html/template"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/civico-pa/civico/internal/town"
)

// viewerLinksTemplate is what Page.ViewerLinks writes, as the header's
// template wrote it before.
const viewerLinksTemplate = `{{define "viewer"}}
              {{- if .Viewer.Operator}}
              <a class="btn btn-outline-light btn-icon me-2" href="{{.Chrome.PortalURL}}/backoffice" data-element="backoffice-link">{{.Icon "it-settings" "icon-white"}}<span class="d-none d-lg-block">{{.T "layout.backoffice"}}</span><span class="visually-hidden d-lg-none">{{.T "layout.backoffice"}}</span></a>
              {{- end}}
              <a class="btn btn-primary btn-icon btn-full" href="{{if .Chrome.Profile}}{{.Chrome.Profile}}{{else}}{{.Chrome.PortalURL}}/profilo{{end}}" data-element="personal-area-login">{{.Icon "it-user" "icon-white"}}<span class="d-none d-lg-block">{{.T "layout.personal_area"}} · {{.Viewer.Name}}</span><span class="visually-hidden d-lg-none">{{.T "layout.personal_area"}} · {{.Viewer.Name}}</span></a>
{{- end}}`

// The header's links of the logged-in person, written by Go code, are the
// bytes the template wrote, for residents and operators, in every
// language, on the portal and on an application that links to it, with
// names full of what must be escaped.
func TestViewerLinksAreTheTemplate(t *testing.T) {
	i18n, err := NewI18n(Messages)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.New("").Parse(viewerLinksTemplate))
	names := []string{"Luca Ferrari", `<script>alert("x")</script> & 'Jerry'`, "D'Annunzio"}
	chromes := []*Chrome{{}, {PortalURL: "https://portale.example.org"}, {PortalURL: "https://portale.example.org", Profile: "/profilo?x=1&y=<2>"}}
	n := 0
	for _, lang := range Languages {
		for _, name := range names {
			for _, operator := range []bool{false, true} {
				for _, c := range chromes {
					p := &Page{Lang: lang, Static: "/static", Chrome: c, i18n: i18n, Viewer: &Viewer{Name: name, Operator: operator}}
					var want strings.Builder
					if err := tmpl.ExecuteTemplate(&want, "viewer", p); err != nil {
						t.Fatal(err)
					}
					if got := string(p.ViewerLinks()); got != want.String() {
						t.Errorf("%s %q operator %v chrome %+v:\n got: %s\nwant: %s", lang, name, operator, c, got, want.String())
					}
					n++
				}
			}
		}
	}
	if got := (&Page{Chrome: &Chrome{}, i18n: i18n}).ViewerLinks(); got != "" {
		t.Errorf("an anonymous visitor's links: %q", got)
	}
	if !strings.Contains(string((&Page{Lang: "it", Chrome: &Chrome{}, i18n: i18n, Viewer: &Viewer{Name: names[1]}}).ViewerLinks()), "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;Jerry&#39;") {
		t.Error("the name is not escaped")
	}
}

// A page whose shell's parts come from the fragment cache is the page
// rendered without it, whoever looks at it (anonymous, a resident, an
// operator, another resident after them), in every language, on every
// path and in every state of the clarity rating: what a fragment reads is
// all in its key.
func TestShellFragmentsAreThePage(t *testing.T) {
	page := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	pages := fstest.MapFS{"templates/pages/alpha.html": page(`{{define "content"}}<p>{{.Title}}</p>{{end}}`)}
	i18n, err := NewI18n(Messages)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewLocalizedRenderer(i18n, pages)
	if err != nil {
		t.Fatal(err)
	}
	chrome := &Chrome{App: "portal", Login: "/accedi", Feedback: true, Menu: []MenuItem{{Label: "menu.services", Href: "/servizi"}}}
	profile := town.Profile{Name: "Cinisello Balsamo", Region: "Lombardia", Province: "MI"}
	cache := NewFragmentCache(time.Hour, 1000)
	viewers := []*Viewer{nil, {Name: "Luca Ferrari"}, {Name: "Rosa <Bianchi>", Operator: true}, nil}
	for _, lang := range Languages {
		for _, path := range []string{"/", "/servizi", "/servizi/x?y"} {
			for _, state := range []string{"", "thanks", "invalid", "again", "busy"} {
				for _, v := range viewers {
					render := func(fragments *FragmentCache) string {
						w := httptest.NewRecorder()
						p := &Page{Lang: lang, Path: path, Title: "Titolo", Static: "/static", Town: profile, Chrome: chrome, i18n: i18n,
							Viewer: v, Feedback: state, fragments: fragments, ratingToken: func(path string) string { return "token-of-" + path }}
						if err := r.Render(w, 200, "alpha", p); err != nil {
							t.Fatal(err)
						}
						return w.Body.String()
					}
					want, got := render(nil), render(cache)
					if got != want {
						t.Errorf("%s %s %q %+v: the page with the fragment cache differs\n got: %s\nwant: %s", lang, path, state, v, got, want)
					}
					if v != nil && !strings.Contains(got, template.HTMLEscapeString(v.Name)) || v == nil && !strings.Contains(got, `href="/accedi`) {
						t.Errorf("%s %s %+v: the header does not show who is looking:\n%s", lang, path, v, got)
					}
				}
			}
		}
	}
}
