package chart

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// wellFormed parses s as XML and returns its element names in order.
func wellFormed(t *testing.T, s string) []string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(s))
	var names []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("not well formed: %v\n%s", err, s)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names = append(names, se.Name.Local)
		}
	}
}

func TestBarsNamedEscapedAndScaled(t *testing.T) {
	svg := string(Bars{ID: "c1", Title: `Votes <"all">`, Desc: "Two options", Max: 4, Bars: []Bar{
		{Label: "<script>alert(1)</script>", Value: 1, Text: "1 (25%)"}, {Label: "B & C", Value: 4, Text: "4 (100%)"}, {Label: "none", Value: 0, Text: "0"}}}.SVG())
	names := wellFormed(t, svg)
	if names[0] != "svg" || names[1] != "title" || names[2] != "desc" {
		t.Errorf("elements %v", names)
	}
	for _, want := range []string{`role="img"`, `aria-labelledby="c1-t c1-d"`, `<title id="c1-t">Votes &lt;&#34;all&#34;&gt;</title>`,
		`&lt;script&gt;`, `B &amp; C`, `width="90"`, `width="360"`, `width="0"`, `viewBox="0 0 640 148"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("missing %s in\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script>") {
		t.Error("a label was not escaped")
	}
}

func TestStackedSegmentsShareTheWidth(t *testing.T) {
	svg := string(Stacked{ID: "s", Title: "Day", Total: 1440, Rows: []Row{{Label: "all", Values: []float64{720, 0, 360, 360}}}}.SVG())
	wellFormed(t, svg)
	// Half, nothing for the empty series, a quarter, a quarter of 620.
	for _, want := range []string{`x="0.0" y="28" width="310.0"`, `x="310.0" y="28" width="155.0" height="22" fill="` + Palette[2], `x="465.0"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("missing %s in\n%s", want, svg)
		}
	}
	if strings.Contains(svg, Palette[1]) {
		t.Error("an empty series was drawn")
	}
}

func TestAreaStacksToTheTop(t *testing.T) {
	svg := string(Area{ID: "a", Title: "Tempogram", Shares: [][]float64{{1, 0}, {0.5, 0.5}}, TickEvery: 1, TickLabel: func(i int) string { return []string{"04:00", "04:10", "04:20"}[i] }}.SVG())
	names := wellFormed(t, svg)
	polygons := 0
	for _, n := range names {
		if n == "polygon" {
			polygons++
		}
	}
	if polygons != 2 || !strings.Contains(svg, ">04:20</text>") {
		t.Errorf("%d polygons in\n%s", polygons, svg)
	}
	// Series 1 is nothing on top of series 0's 100% in step 1 (y 8), and
	// from 50% (y 128) to 100% in step 2.
	if !strings.Contains(svg, `fill="`+Palette[1]+`" points="44.0,8.0 340.0,8.0 340.0,8.0 636.0,8.0 636.0,128.0 340.0,128.0 340.0,8.0 44.0,8.0"`) {
		t.Errorf("series 1:\n%s", svg)
	}
}
