package forms

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/forms/formstest"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/town"
	"github.com/civico-pa/civico/internal/web"
)

// messageIDs finds the forms.* message ids a text names literally.
var messageIDs = regexp.MustCompile(`"(forms\.[a-z0-9_.]+)"`)

// Every message the templates, the service-page snippet and the code name
// exists in every language, and both languages define the same ids.
func TestMessagesAreDefined(t *testing.T) {
	x, err := web.NewI18n(web.Messages, identity.Messages, Messages)
	if err != nil {
		t.Fatal(err)
	}
	for lang, missing := range x.Untranslated() {
		if len(missing) > 0 {
			t.Errorf("%s lacks translations of %v", lang, missing)
		}
	}
	texts := map[string]string{}
	fs.WalkDir(Templates, ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := fs.ReadFile(Templates, p)
			texts[p] = string(b)
		}
		return err
	})
	for _, p := range []string{"testdata/service_snippet.html", "forms.go", "http.go"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts[p] = string(b)
	}
	for p, text := range texts {
		for _, m := range messageIDs.FindAllStringSubmatch(text, -1) {
			for _, lang := range web.Languages {
				if !x.Has(lang, m[1]) {
					t.Errorf("%s uses %q, undefined in %s", p, m[1], lang)
				}
			}
		}
	}
	for _, err := range []error{ErrTooLarge, ErrEmpty, ErrType, ErrMacro, ErrExpands} {
		if id := FileMessage(err); !x.Has("it", id) || !x.Has("en", id) {
			t.Errorf("FileMessage(%v) = %q, undefined", err, id)
		}
	}
}

// The snippet given for the service page renders the forms ForService
// returns: a link per form to its latest version, with type, size and date,
// in both languages.
func TestServicePageSnippet(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	towns := town.NewStore(d, time.Minute)
	if err := towns.Put(ctx, town.Demo()); err != nil {
		t.Fatal(err)
	}
	snippet, err := os.ReadFile("testdata/service_snippet.html")
	if err != nil {
		t.Fatal(err)
	}
	page := fstest.MapFS{"templates/pages/snippet_page.html": {Data: []byte(`{{define "content"}}` + string(snippet) + `{{end}}`)}}
	r, err := web.NewRenderer(Templates, page)
	if err != nil {
		t.Fatal(err)
	}
	i18n, err := web.NewI18n(web.Messages, identity.Messages, Messages)
	if err != nil {
		t.Fatal(err)
	}
	static, err := web.NewStatic()
	if err != nil {
		t.Fatal(err)
	}
	app := &web.App{Chrome: web.Chrome{App: "test"}, Mux: http.NewServeMux(), Render: r, I18n: i18n, Static: static, Town: towns, DB: d,
		Metrics: web.NewMetrics(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	s := newStore(t, d)
	if _, err := s.Create(ctx, NewForm{ServiceID: "accesso-atti", Title: "Richiesta di accesso", Description: "Per vedere gli atti"},
		stage(t, s, formstest.PDF("accesso"), "richiesta accesso.pdf"), operator); err != nil {
		t.Fatal(err)
	}
	f, err := s.Create(ctx, NewForm{ServiceID: "accesso-atti", Title: "Delega"}, stage(t, s, formstest.ODT("delega"), "delega.odt"), operator)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.AddVersion(ctx, f.ID, stage(t, s, formstest.DOCX("delega 2"), "delega.docx"), "", operator)
	if err != nil {
		t.Fatal(err)
	}
	render := func(lang, service string) string {
		listed, err := s.ForService(ctx, service)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/servizi/x/"+service, nil)
		req.Header.Set("Accept-Language", lang)
		p := app.NewPage(req, "")
		p.Title = "Servizio"
		p.Data = struct{ Forms any }{listed} // as catalog.ServiceData.Forms will hold it
		w := httptest.NewRecorder()
		app.HTML(w, req, http.StatusOK, "snippet_page", p)
		if w.Code != http.StatusOK {
			t.Fatalf("render: %d %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	it := render("it", "accesso-atti")
	for _, want := range []string{
		`<h3 class="h5 mt-4" id="moduli">Moduli da scaricare</h3>`,
		`href="/moduli/` + f.ID + `/2/delega.docx" type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"><span lang="it">Delega</span>`,
		`<span class="text-nowrap">(DOCX, ` + HumanSize(v2.Size, "it"), `, versione 2 del ` + v2.Date() + `)</span></a>`,
		`/1/richiesta-accesso.pdf" type="application/pdf"><span lang="it">Richiesta di accesso</span> <span class="text-nowrap">(PDF, `,
		`<small lang="it">Per vedere gli atti</small>`,
		`#it-file-docx"`, `#it-file-pdf"`,
	} {
		if !strings.Contains(it, want) {
			t.Errorf("Italian snippet lacks %q", want)
		}
	}
	if en := render("en", "accesso-atti"); !strings.Contains(en, "Forms to download") || !strings.Contains(en, ", version 2 of ") {
		t.Error("English snippet not translated")
	}
	if none := render("it", "iscrizione-asilo-nido"); strings.Contains(none, "Moduli da scaricare") {
		t.Error("a service without forms shows the heading")
	}
	if m := i18n.Missing(); len(m) > 0 {
		t.Errorf("undefined messages asked for: %v", m)
	}
}
