package schools

import (
	"html/template"
	"io/fs"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/web/webtest"
)

// TestPagerKeepsTheFilter: a list's pages keep its filter (the unit of a
// ranking, the state of an office's list) as a parameter of its own, its
// value escaped; the template once escaped "unita=x&" whole into one
// meaningless parameter, and page 2 lost the unit.
func TestPagerKeepsTheFilter(t *testing.T) {
	app, _ := webtest.NewApp(t, Messages)
	text, err := fs.ReadFile(Templates, "templates/partials/schools.html")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New("").Funcs(webtest.Funcs).Funcs(template.FuncMap{"sub": func(a, b int) int { return a - b }}).Parse(string(text))
	if err != nil {
		t.Fatal(err)
	}
	p := webtest.Page(app, "it", "/servizi-scolastici/x/graduatoria", "")
	for _, tt := range []struct {
		args       map[string]any
		prev, next string
	}{
		{map[string]any{"Param": "unita", "Value": "infanzia a&b"}, `href="?unita=infanzia%20a%26b&amp;pagina=1"`, `href="?unita=infanzia%20a%26b&amp;pagina=3"`},
		{map[string]any{"Param": "stato", "Value": "accepted"}, `href="?stato=accepted&amp;pagina=1"`, `href="?stato=accepted&amp;pagina=3"`},
		{map[string]any{}, `href="?pagina=1"`, `href="?pagina=3"`},
	} {
		args := map[string]any{"P": p, "Page": 2, "Pages": 3}
		for k, v := range tt.args {
			args[k] = v
		}
		got := webtest.Execute(t, tmpl, "sc-pager", args)
		if !strings.Contains(got, tt.prev) || !strings.Contains(got, tt.next) {
			t.Errorf("%v: %s", tt.args, got)
		}
	}
}
