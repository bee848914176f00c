package web

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"testing"
)

// benchCard is one card of a list page (the personal area's services).
type benchCard struct {
	Category, Title, Href, Summary string
	StepUp                         bool
}

const benchCardsTemplate = `{{define "cards"}}<div class="row">
{{- range .}}
<div class="col-12 col-md-6 col-lg-4">
  <div class="card card-bg shadow-sm mb-4">
    <div class="card-body">
      {{- with .Category}}<p class="mb-1"><small lang="it">{{.}}</small></p>{{end}}
      <h3 class="card-title h5" lang="it"><a href="{{.Href}}">{{.Title}}</a></h3>
      {{- with .Summary}}<p class="card-text" lang="it">{{.}}</p>{{end}}
      {{- if .StepUp}}<p class="mb-0 small">Serve un accesso più sicuro</p>{{end}}
    </div>
  </div>
</div>
{{- end}}
</div>{{end}}`

// writeCards is the same markup written by Go code, as a compiled-template
// library (templ) generates it: every value escaped by hand.
func writeCards(b *bytes.Buffer, cards []benchCard) {
	esc := template.HTMLEscapeString
	b.WriteString(`<div class="row">`)
	for _, c := range cards {
		b.WriteString("\n<div class=\"col-12 col-md-6 col-lg-4\">\n  <div class=\"card card-bg shadow-sm mb-4\">\n    <div class=\"card-body\">")
		if c.Category != "" {
			b.WriteString(`<p class="mb-1"><small lang="it">` + esc(c.Category) + `</small></p>`)
		}
		b.WriteString("\n      <h3 class=\"card-title h5\" lang=\"it\"><a href=\"" + esc(c.Href) + `">` + esc(c.Title) + `</a></h3>`)
		if c.Summary != "" {
			b.WriteString(`<p class="card-text" lang="it">` + esc(c.Summary) + `</p>`)
		}
		if c.StepUp {
			b.WriteString(`<p class="mb-0 small">Serve un accesso più sicuro</p>`)
		}
		b.WriteString("\n    </div>\n  </div>\n</div>")
	}
	b.WriteString("\n</div>")
}

func benchCards() []benchCard {
	var cards []benchCard
	for i := range 24 {
		cards = append(cards, benchCard{Category: "Anagrafe e stato civile", Title: fmt.Sprintf("Servizio %d: carta d'identità & altro", i),
			Href: fmt.Sprintf("/servizi/anagrafe/servizio-%d", i), Summary: strings.Repeat("Richiedere il documento <subito>. ", 3), StepUp: i%3 == 0})
	}
	return cards
}

// The hand-written markup is the template's, byte for byte (the benchmark
// compares the same page).
func TestWriteCardsIsTheTemplate(t *testing.T) {
	tmpl := template.Must(template.New("").Parse(benchCardsTemplate))
	var a, b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&a, "cards", benchCards()); err != nil {
		t.Fatal(err)
	}
	writeCards(&b, benchCards())
	if a.String() != b.String() {
		t.Fatalf("template:\n%s\nGo:\n%s", a.String(), b.String())
	}
}

// BenchmarkCards renders a list of 24 cards (about 100 template actions)
// with html/template and with Go code that writes the same bytes
// (docs/RENDERING.md).
//
//	go test ./internal/web -run XXX -bench Cards -benchmem
func BenchmarkCards(b *testing.B) {
	cards := benchCards()
	b.Run("html-template", func(b *testing.B) {
		tmpl := template.Must(template.New("").Parse(benchCardsTemplate))
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := tmpl.ExecuteTemplate(&buf, "cards", cards); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-code", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			writeCards(&buf, cards)
		}
	})
}
