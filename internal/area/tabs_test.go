package area

import (
	"html/template"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// tabsTemplate is what writeTabs writes, as the template it replaced wrote
// it.
const tabsTemplate = `{{define "tabs"}}{{$d := .Data}}    {{template "area-tab" (dict "P" . "Tab" "desk" "Href" "/area-personale" "Label" "area.tab.desk")}}
    {{template "area-tab" (dict "P" . "Tab" "messages" "Href" "/area-personale/messaggi" "Label" "area.tab.messages" "Count" $d.Unread "CountLabel" "area.unread_count")}}
    {{template "area-tab" (dict "P" . "Tab" "activities" "Href" "/area-personale/attivita" "Label" "area.tab.activities")}}
    {{template "area-tab" (dict "P" . "Tab" "services" "Href" "/area-personale/servizi" "Label" "area.tab.services")}}
    {{template "area-tab" (dict "P" . "Tab" "documents" "Href" "/area-personale/documenti" "Label" "area.tab.documents")}}{{end}}
{{define "area-tab"}}
{{- $current := or (eq .P.Data.Tab .Tab) (and (eq .Tab "messages") (eq .P.Data.Tab "message"))}}
<li class="nav-item"><a class="nav-link{{if $current}} active{{end}}" href="{{.Href}}"{{if $current}} aria-current="page"{{end}}>{{.P.T .Label}}{{with .Count}} <span class="badge bg-primary ms-1">{{.}}<span class="visually-hidden"> {{$.P.T $.CountLabel}}</span></span>{{end}}</a></li>
{{end}}`

// The tabs written by Go code are the bytes the template wrote, on every
// tab, in both languages, with and without unread messages.
func TestTabsAreTheTemplate(t *testing.T) {
	x, err := web.NewI18n(web.Messages, Messages)
	if err != nil {
		t.Fatal(err)
	}
	app := &web.App{I18n: x, Town: town.NewStore(dbtest.SQLite(t), 0), Static: &web.Static{Prefix: "/static"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tmpl := template.Must(template.New("").Funcs(template.FuncMap{"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}}).Parse(tabsTemplate))
	for _, lang := range []string{"it", "en"} {
		req := httptest.NewRequest("GET", "/area-personale", nil)
		req.Header.Set("Accept-Language", lang)
		p := app.NewPage(req, "")
		for _, tab := range []string{"desk", "messages", "message", "activities", "services", "documents"} {
			for _, unread := range []int{0, 1, 12} {
				d := &Data{Tab: tab, Unread: unread}
				p.Data = d
				var want strings.Builder
				if err := tmpl.ExecuteTemplate(&want, "tabs", p); err != nil {
					t.Fatal(err)
				}
				var m web.Markup
				writeTabs(&m, p, d)
				if got := string(m.HTML()); "    "+got != want.String() {
					t.Errorf("%s %s %d unread:\n got: %q\nwant: %q", lang, tab, unread, "    "+got, want.String())
				}
			}
		}
	}
}
