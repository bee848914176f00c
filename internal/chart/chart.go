// Package chart draws the portal's charts as SVG on the server: no canvas,
// no JavaScript. Each chart is an <svg role="img"> named by its <title>
// and described by its <desc>; the page shows the chart's numbers in a
// data table beside it (the chart is a picture of the table, not its only
// form), and a legend in HTML for the series' colours. Text is escaped
// here: labels may be anyone's words (a consultation's options).
package chart

import (
	"html/template"
	"strconv"
	"strings"
)

// Palette are the series' colours, each at least 3:1 against white (WCAG
// 1.4.11) and apart from its neighbours; series past its length reuse it.
var Palette = []string{"#0066cc", "#a61d4e", "#5c6f82", "#008055", "#7a4fa3", "#b35900", "#00758f", "#8a6d00", "#d1345b", "#3d3d3d"}

// Colour is series i's colour.
func Colour(i int) string { return Palette[i%len(Palette)] }

// Text colour of labels (on white).
const ink = "#1a1a1a"

// Width is the charts' viewBox width; they scale to their container.
const Width = 640

// BarWidth is the longest bar of Bars.
const BarWidth = 360

// builder writes an SVG; a strings.Builder never fails to write.
type builder struct{ strings.Builder }

func (b *builder) s(parts ...string) {
	for _, p := range parts {
		_, _ = b.WriteString(p)
	}
}

func (b *builder) n(x int) { _, _ = b.WriteString(strconv.Itoa(x)) }

func (b *builder) f(x float64) { _, _ = b.WriteString(strconv.FormatFloat(x, 'f', 1, 64)) }

func esc(s string) string { return template.HTMLEscapeString(s) }

// open starts an svg with its title and description.
func (b *builder) open(id, title, desc string, height int) {
	b.s(`<svg role="img" aria-labelledby="`, esc(id), `-t`)
	if desc != "" {
		b.s(` `, esc(id), `-d`)
	}
	b.s(`" viewBox="0 0 `)
	b.n(Width)
	b.s(" ")
	b.n(height)
	b.s(`" width="100%" class="chart mb-2"><title id="`, esc(id), `-t">`, esc(title), `</title>`)
	if desc != "" {
		b.s(`<desc id="`, esc(id), `-d">`, esc(desc), `</desc>`)
	}
}

// Bar is one bar: its label, its value and the value as shown.
type Bar struct {
	Label, Text string
	Value       float64
}

// Bars is a horizontal bar chart: a bar per row, its label above it and
// its text after it, its length Value/Max of BarWidth.
type Bars struct {
	ID, Title, Desc string
	Max             float64
	Bars            []Bar
}

// SVG draws the chart.
func (c Bars) SVG() template.HTML {
	var b builder
	b.open(c.ID, c.Title, c.Desc, 16+len(c.Bars)*44)
	for i, bar := range c.Bars {
		width := 0
		if c.Max > 0 && bar.Value > 0 {
			width = int(bar.Value * BarWidth / c.Max)
		}
		y := 8 + i*44
		b.s(`<text x="0" y="`)
		b.n(y + 14)
		b.s(`" font-size="14" fill="`, ink, `">`, esc(bar.Label), `</text><rect x="0" y="`)
		b.n(y + 20)
		b.s(`" width="`)
		b.n(width)
		b.s(`" height="16" fill="`, Palette[0], `"></rect><text x="`)
		b.n(width + 6)
		b.s(`" y="`)
		b.n(y + 33)
		b.s(`" font-size="14" fill="`, ink, `">`, esc(bar.Text), `</text>`)
	}
	b.s(`</svg>`)
	return template.HTML(b.String()) // #nosec G203 -- every text above is escaped
}

// Row is one stacked bar: its label and its series' values.
type Row struct {
	Label  string
	Values []float64
}

// Stacked is a chart of horizontal stacked bars: a bar per row, its label
// above it, each series a segment of Colour(series) as long as its share
// of Total.
type Stacked struct {
	ID, Title, Desc string
	Total           float64
	Rows            []Row
}

// stackedWidth is the length of a full stacked bar.
const stackedWidth = Width - 20

// SVG draws the chart.
func (c Stacked) SVG() template.HTML {
	var b builder
	b.open(c.ID, c.Title, c.Desc, 16+len(c.Rows)*50)
	for i, row := range c.Rows {
		y := 8 + i*50
		b.s(`<text x="0" y="`)
		b.n(y + 14)
		b.s(`" font-size="14" fill="`, ink, `">`, esc(row.Label), `</text>`)
		x := 0.0
		for k, v := range row.Values {
			if c.Total <= 0 || !(v > 0) {
				continue
			}
			w := v / c.Total * stackedWidth
			b.s(`<rect x="`)
			b.f(x)
			b.s(`" y="`)
			b.n(y + 20)
			b.s(`" width="`)
			b.f(w)
			b.s(`" height="22" fill="`, Colour(k), `" stroke="#fff" stroke-width="1"></rect>`)
			x += w
		}
	}
	b.s(`</svg>`)
	return template.HTML(b.String()) // #nosec G203 -- every text above is escaped
}

// Area is a stacked area chart of shares over time: at each of len(Shares)
// steps the series' shares (summing to 1) are stacked from the bottom,
// series 0 first, drawn as steps. Ticks label the x axis every TickEvery
// steps from Start (TickLabel(i) names step i).
type Area struct {
	ID, Title, Desc string
	// Shares[step][series].
	Shares    [][]float64
	TickEvery int
	TickLabel func(step int) string
}

// The plot area of Area: left margin for the y axis, bottom for the x.
const (
	areaLeft   = 44
	areaTop    = 8
	areaHeight = 240
	areaBottom = 40
)

// SVG draws the chart.
func (c Area) SVG() template.HTML {
	var b builder
	n := len(c.Shares)
	b.open(c.ID, c.Title, c.Desc, areaTop+areaHeight+areaBottom)
	if n == 0 {
		b.s(`</svg>`)
		return template.HTML(b.String()) // #nosec G203 -- every text above is escaped
	}
	series := 0
	for _, s := range c.Shares {
		series = max(series, len(s))
	}
	step := float64(Width-areaLeft-4) / float64(n)
	yOf := func(share float64) float64 { return areaTop + areaHeight*(1-min(1, max(0, share))) }
	xOf := func(i int) float64 { return areaLeft + float64(i)*step }
	below := make([]float64, n)
	for k := range series {
		top := make([]float64, n)
		any := false
		for i, s := range c.Shares {
			top[i] = below[i]
			if k < len(s) && s[k] > 0 {
				top[i] += s[k]
				any = true
			}
		}
		if any {
			b.s(`<polygon fill="`, Colour(k), `" points="`)
			for i := range n {
				b.f(xOf(i))
				b.s(",")
				b.f(yOf(top[i]))
				b.s(" ")
				b.f(xOf(i + 1))
				b.s(",")
				b.f(yOf(top[i]))
				b.s(" ")
			}
			for i := n - 1; i >= 0; i-- {
				b.f(xOf(i + 1))
				b.s(",")
				b.f(yOf(below[i]))
				b.s(" ")
				b.f(xOf(i))
				b.s(",")
				b.f(yOf(below[i]))
				if i > 0 {
					b.s(" ")
				}
			}
			b.s(`"></polygon>`)
		}
		below = top
	}
	// The axes: 0, 50 and 100% up the side, ticks along the bottom.
	for _, p := range []int{0, 50, 100} {
		y := yOf(float64(p) / 100)
		b.s(`<line x1="`)
		b.n(areaLeft - 4)
		b.s(`" x2="`)
		b.n(Width - 4)
		b.s(`" y1="`)
		b.f(y)
		b.s(`" y2="`)
		b.f(y)
		b.s(`" stroke="`, ink, `" stroke-width="0.5"></line><text x="0" y="`)
		b.f(y + 5)
		b.s(`" font-size="13" fill="`, ink, `">`)
		b.n(p)
		b.s(`%</text>`)
	}
	if c.TickEvery > 0 && c.TickLabel != nil {
		for i := 0; i <= n; i += c.TickEvery {
			x := xOf(i)
			b.s(`<line x1="`)
			b.f(x)
			b.s(`" x2="`)
			b.f(x)
			b.s(`" y1="`)
			b.n(areaTop + areaHeight)
			b.s(`" y2="`)
			b.n(areaTop + areaHeight + 6)
			b.s(`" stroke="`, ink, `"></line><text x="`)
			b.f(x)
			b.s(`" y="`)
			b.n(areaTop + areaHeight + 22)
			b.s(`" font-size="13" text-anchor="middle" fill="`, ink, `">`, esc(c.TickLabel(i)), `</text>`)
		}
	}
	b.s(`</svg>`)
	return template.HTML(b.String()) // #nosec G203 -- every text above is escaped
}

// Swatch is a series' colour as a small square for an HTML legend, hidden
// from assistive technology (the legend's text names the series).
func Swatch(i int) template.HTML {
	return template.HTML(`<svg aria-hidden="true" focusable="false" width="14" height="14" viewBox="0 0 14 14" class="me-1"><rect width="14" height="14" fill="` + Colour(i) + `"></rect></svg>`) // #nosec G203 -- a constant colour
}
