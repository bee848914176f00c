package dashboard

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civico-pa/civico/internal/assurance"
	"github.com/civico-pa/civico/internal/chart"
	"github.com/civico-pa/civico/internal/web"
)

// The dashboard's pages.
const (
	BOPath     = "/backoffice/cruscotto"
	BOCSVPath  = "/backoffice/cruscotto.csv"
	PublicPath = "/dati/cruscotto"
	CSVPath    = "/dati/cruscotto.csv"
	JSONPath   = "/dati/cruscotto.json"
)

// Roles see the back office's dashboard.
var Roles = []string{"statistics", "admin"}

// Licence is the open data's.
const Licence = "CC-BY-4.0"

// Web serves the dashboard.
type Web struct {
	App   *web.App
	Store *Store
	// Names are the services' titles by id (the catalogue's); nil shows
	// the ids.
	Names func(ctx context.Context) (map[string]string, error)

	// pages are the pages' data made from view, by language and
	// audience: the tables and charts are built once a collection.
	mu    sync.Mutex
	view  *View
	pages map[string]*PageData
	files map[string][]byte
}

// Routes is the dashboard's map.
func (h *Web) Routes() {
	m := h.App.For("dashboard")
	m.Guarded(assurance.Low, Roles...).HandleFunc("GET "+BOPath, h.page(true))
	m.Guarded(assurance.Low, Roles...).HandleFunc("GET "+BOCSVPath, h.exactCSV)
	m.HandleFunc("GET "+PublicPath, h.page(false))
	m.HandleFunc("GET "+CSVPath, h.csv)
	m.HandleFunc("GET "+JSONPath, h.json)
}

// Table is a data table beside a chart: its caption, its header and
// rows of cells (the first the row's header).
type Table struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// HTML is the table, escaped, built once with the page's data.
func (t Table) HTML() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	b.WriteString(`<div class="table-responsive"><table class="table"><caption>` + esc(t.Caption) + `</caption><thead><tr>`)
	for _, h := range t.Head {
		b.WriteString(`<th scope="col">` + esc(h) + `</th>`)
	}
	b.WriteString("</tr></thead><tbody>")
	for _, row := range t.Rows {
		b.WriteString("\n<tr>")
		for i, c := range row {
			if i == 0 {
				b.WriteString(`<th scope="row">` + esc(c) + `</th>`)
			} else {
				b.WriteString(`<td>` + esc(c) + `</td>`)
			}
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table></div>")
	return template.HTML(b.String()) // #nosec G203 -- every cell is escaped above
}

// Figure is a chart and its table.
type Figure struct {
	ID, Title, Lead string
	Chart           template.HTML
	Legend          []Swatch
	Table           Table
	// TableHTML is Table, rendered.
	TableHTML template.HTML
}

// Swatch is one series of a chart's legend.
type Swatch struct {
	Colour template.HTML
	Label  string
}

// PageData is the dashboard's page.
type PageData struct {
	Staff   bool
	View    *View
	Key     [][2]string // the key figures: label, value
	Figures []Figure
	Missing []string
	CSV     string
	// Exact is the statistics office's exact CSV.
	Exact string
	JSON  string
	Costs [][2]string // the method's figures: label, value
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func pct(part, total int64) string {
	if total == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(part)*100/float64(total), 'f', 1, 64) + "%"
}

func euro(cents int64) string {
	return "€ " + strconv.FormatInt(cents/100, 10) + "," + strconv.FormatInt(cents%100/10, 10) + strconv.FormatInt(cents%10, 10)
}

// minutes are a week's minutes as hours and minutes ("12 h 30").
func minutes(m int64) string {
	if m%60 == 0 {
		return num(m/60) + " h"
	}
	return num(m/60) + " h " + strconv.FormatInt(100+m%60, 10)[1:]
}

// signed is a change of minutes with its sign ("+1 h 30", "0 h").
func signed(m int64) string {
	switch {
	case m > 0:
		return "+" + minutes(m)
	case m < 0:
		return "−" + minutes(-m)
	}
	return minutes(0)
}

func hrs(h float64) string { return strconv.FormatFloat(h, 'f', 0, 64) }

func (h *Web) page(staff bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := h.Store.View(r.Context())
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		p := h.App.NewPage(r, "dashboard.title")
		if staff {
			p.Breadcrumb = []web.Crumb{{Label: p.T("dashboard.bo.home"), Href: "/backoffice"}, {Label: p.Title}}
			w.Header().Set("Cache-Control", "private, no-store")
		} else {
			p.Breadcrumb = []web.Crumb{{Label: p.T("dashboard.home"), Href: "/"}, {Label: p.Title}}
		}
		// The content is every visitor's of the audience, until the
		// counters change: only the header is rendered at each request.
		h.App.SharedContent(p, "dashboard", strconv.FormatBool(staff)+"|"+v.version)
		p.Data = h.cached(r.Context(), p, v, staff)
		h.App.HTML(w, r, http.StatusOK, "dashboard", p)
	}
}

// cached is the page's data for view in the page's language, made once.
func (h *Web) cached(ctx context.Context, p *web.Page, v *View, staff bool) *PageData {
	key := p.Lang + "|" + strconv.FormatBool(staff)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.view != v {
		h.view, h.pages, h.files = v, map[string]*PageData{}, map[string][]byte{}
	}
	if d := h.pages[key]; d != nil {
		return d
	}
	names := map[string]string{}
	if h.Names != nil {
		if n, err := h.Names(ctx); err == nil {
			names = n
		}
	}
	d := h.data(p, v, names, staff)
	for i := range d.Figures {
		d.Figures[i].TableHTML = d.Figures[i].Table.HTML()
	}
	h.pages[key] = d
	return d
}

func (h *Web) data(p *web.Page, v *View, names map[string]string, staff bool) *PageData {
	d := &PageData{Staff: staff, View: v, CSV: CSVPath, JSON: JSONPath, Exact: BOCSVPath}
	sexHead := []string{p.T("dashboard.sex.F"), p.T("dashboard.sex.M"), p.T("dashboard.sex.U"), p.T("dashboard.total")}
	// The public sees the figures under disclosure control (Protect): a
	// withheld one is said so; the statistics office sees them all.
	withheld := p.T("dashboard.withheld")
	hidden := func(name string, n int64) bool { return !staff && v.Public != nil && v.Public.Withheld(name, n) }
	c := func(name string, n int64) string {
		if hidden(name, n) {
			return withheld
		}
		return num(n)
	}
	val := func(name string, n int64) float64 {
		if hidden(name, n) {
			return 0
		}
		return float64(n)
	}
	// bySex is a row of a table by sex: the names' cells, prefix|F ...,
	// and prefix the total.
	bySex := func(prefix string, b BySex) []string {
		return []string{c(prefix+"|F", b.F), c(prefix+"|M", b.M), c(prefix+"|", b.U), c(prefix, b.Total())}
	}
	// fm is "total (women / men)".
	fm := func(prefix string, b BySex) string {
		return c(prefix, b.Total()) + " (" + c(prefix+"|F", b.F) + " / " + c(prefix+"|M", b.M) + ")"
	}
	// key is a key figure: the figure's total, name, and by sex
	// (name||F ...).
	key := func(name string, b BySex) string {
		return c(name, b.Total()) + " (" + p.T("dashboard.key.fm", "F", c(name+"||F", b.F), "M", c(name+"||M", b.M)) + ")"
	}
	share := func(a, b string, part, total, other int64) string {
		if hidden(a, part) || hidden(b, other) {
			return withheld
		}
		return pct(part, total)
	}
	online := !hidden(Applications+"||online", v.Online.Total())
	legend := []Swatch{{chart.Swatch(0), p.T("dashboard.sex.F")}, {chart.Swatch(1), p.T("dashboard.sex.M")}, {chart.Swatch(2), p.T("dashboard.sex.U")}}
	d.Key = [][2]string{
		{p.T("dashboard.key.registrations"), key(Registrations, v.RegistrationsTotal)},
		{p.T("dashboard.key.active30"), key(Active30, v.Active30)},
		{p.T("dashboard.key.active90"), key(Active90, v.Active90)},
		{p.T("dashboard.key.pins"), key(PINs, v.PINsTotal)},
		{p.T("dashboard.key.online"), share(Applications+"||online", Applications+"||desk", v.Online.Total(), v.Online.Total()+v.Desk.Total(), v.Desk.Total())},
		{p.T("dashboard.key.saved"), withheld},
		{p.T("dashboard.key.paid_online"), share(Payments+"||online", Payments+"||all", v.PaidOnline.Total(), v.PaidAll.Total(), v.PaidAll.Total())},
		{p.T("dashboard.key.hours"), withheld},
	}
	if online {
		d.Key[5][1] = euro(v.SavedCents)
		hf, hm := withheld, withheld
		if !hidden(Applications+"||online|F", v.Online.F) {
			hf = hrs(v.HoursBySex[0])
		}
		if !hidden(Applications+"||online|M", v.Online.M) {
			hm = hrs(v.HoursBySex[1])
		}
		d.Key[7][1] = hrs(v.Hours) + " (" + p.T("dashboard.key.fm", "F", hf, "M", hm) + ")"
	}
	years := func(figure, id, title, lead string, list []Year) Figure {
		f := Figure{ID: id, Title: p.T(title), Lead: p.T(lead), Legend: legend,
			Table: Table{Caption: p.T(title), Head: append([]string{p.T("dashboard.year")}, sexHead...)}}
		var peak float64
		rows := make([]chart.Row, 0, len(list))
		for _, y := range list {
			at := figure + "|" + y.Year
			peak = max(peak, val(at, y.Total()))
			rows = append(rows, chart.Row{Label: y.Year + ": " + c(at, y.Total()), Values: []float64{val(at+"|F", y.F), val(at+"|M", y.M), val(at+"|", y.U)}})
			f.Table.Rows = append(f.Table.Rows, append([]string{y.Year}, bySex(at, y.BySex)...))
		}
		f.Chart = chart.Stacked{ID: "chart-" + id, Title: f.Title, Desc: p.T("dashboard.chart.desc"), Total: peak, Rows: rows}.SVG()
		return f
	}
	d.Figures = append(d.Figures, years(Registrations, "registrazioni", "dashboard.registrations.title", "dashboard.registrations.lead", v.Registrations))
	methods := Figure{ID: "metodi", Title: p.T("dashboard.methods.title"), Lead: p.T("dashboard.methods.lead"),
		Table: Table{Caption: p.T("dashboard.methods.title"), Head: []string{p.T("dashboard.year")}}}
	for _, m := range v.Methods {
		methods.Table.Head = append(methods.Table.Head, p.T("dashboard.method."+m))
	}
	for _, y := range v.ByMethod {
		row := []string{y.Year}
		for _, m := range v.Methods {
			k := m
			if k == "unknown" {
				k = ""
			}
			row = append(row, c(Registrations+"|m|"+y.Year+"|"+k, y.N[m]))
		}
		methods.Table.Rows = append(methods.Table.Rows, row)
	}
	d.Figures = append(d.Figures, methods)
	d.Figures = append(d.Figures, years(PINs, "pin", "dashboard.pins.title", "dashboard.pins.lead", v.PINs))
	channel := Figure{ID: "canali", Title: p.T("dashboard.channel.title"), Lead: p.T("dashboard.channel.lead"),
		Legend: []Swatch{{chart.Swatch(0), p.T("dashboard.channel.online")}, {chart.Swatch(1), p.T("dashboard.channel.desk")}},
		Table: Table{Caption: p.T("dashboard.channel.title"), Head: []string{p.T("dashboard.service"), p.T("dashboard.channel.online_fm"),
			p.T("dashboard.channel.desk_fm"), p.T("dashboard.channel.share"), p.T("dashboard.channel.saved"), p.T("dashboard.channel.hours")}}}
	var rows []chart.Row
	for _, s := range v.Services {
		name := names[s.Service]
		if name == "" {
			name = s.Service
		}
		at := Applications + "|" + s.Service
		total := float64(s.Online.Total() + s.Desk.Total())
		sh, saved, hours := withheld, withheld, withheld
		values := []float64{0, 0}
		if !hidden(at+"|online", s.Online.Total()) {
			saved, hours = euro(s.SavedCents), hrs(s.Hours)
			if !hidden(at+"|desk", s.Desk.Total()) {
				sh = strconv.FormatFloat(s.Share(), 'f', 1, 64) + "%"
				values = []float64{float64(s.Online.Total()) / total, float64(s.Desk.Total()) / total}
			}
		}
		rows = append(rows, chart.Row{Label: name + ": " + sh, Values: values})
		channel.Table.Rows = append(channel.Table.Rows, []string{name, fm(at+"|online", s.Online), fm(at+"|desk", s.Desk), sh, saved, hours})
	}
	channel.Chart = chart.Stacked{ID: "chart-canali", Title: channel.Title, Desc: p.T("dashboard.chart.desc"), Total: 1, Rows: rows}.SVG()
	d.Figures = append(d.Figures, channel)
	states := Figure{ID: "pratiche", Title: p.T("dashboard.states.title"), Lead: p.T("dashboard.states.lead"),
		Table: Table{Caption: p.T("dashboard.states.title"), Head: []string{p.T("dashboard.state"), p.T("dashboard.states.open_fm"), p.T("dashboard.states.late_fm")}}}
	for _, s := range v.States {
		states.Table.Rows = append(states.Table.Rows, []string{s.State, fm(Open+"|"+s.State, s.N), fm(Open+"_late|"+s.State, s.Late)})
	}
	d.Figures = append(d.Figures, states)
	pay := Figure{ID: "pagamenti", Title: p.T("dashboard.payments.title"), Lead: p.T("dashboard.payments.lead"),
		Legend: []Swatch{{chart.Swatch(0), p.T("dashboard.payments.online")}, {chart.Swatch(1), p.T("dashboard.payments.elsewhere")}},
		Table: Table{Caption: p.T("dashboard.payments.title"), Head: []string{p.T("dashboard.payments.category"), p.T("dashboard.payments.online_fm"),
			p.T("dashboard.payments.all_fm"), p.T("dashboard.payments.share")}}}
	var payRows []chart.Row
	for _, r := range v.Paid {
		at := Payments + "|" + r.Category
		all := float64(r.All.Total())
		sh := share(at+"|online", at+"|all", r.Online.Total(), r.All.Total(), r.All.Total())
		values := []float64{0, 0}
		if sh != withheld {
			values = []float64{float64(r.Online.Total()) / all, (all - float64(r.Online.Total())) / all}
		}
		payRows = append(payRows, chart.Row{Label: r.Category + ": " + sh, Values: values})
		pay.Table.Rows = append(pay.Table.Rows, []string{r.Category, fm(at+"|online", r.Online), fm(at+"|all", r.All), sh})
	}
	pay.Chart = chart.Stacked{ID: "chart-pagamenti", Title: pay.Title, Desc: p.T("dashboard.chart.desc"), Total: 1, Rows: payRows}.SVG()
	d.Figures = append(d.Figures, pay)
	byYear := func(figure, id, title, lead string, buckets []string, unit string, list []WaitYear) Figure {
		f := Figure{ID: id, Title: p.T(title), Lead: p.T(lead),
			Table: Table{Caption: p.T(title), Head: []string{p.T("dashboard.year")}}}
		for _, b := range buckets {
			f.Table.Head = append(f.Table.Head, b+" "+unit)
		}
		f.Table.Head = append(f.Table.Head, p.T("dashboard.total"))
		for _, y := range list {
			row, total := []string{y.Year}, int64(0)
			for _, b := range buckets {
				row = append(row, c(figure+"|"+y.Year+"|"+b, y.N[b]))
				total += y.N[b]
			}
			f.Table.Rows = append(f.Table.Rows, append(row, c(figure+"|"+y.Year, total)))
		}
		return f
	}
	d.Figures = append(d.Figures, byYear(QueueWaits, "attese", "dashboard.waits.title", "dashboard.waits.lead", WaitBuckets, "min", v.Waits))
	days := p.T("dashboard.days")
	d.Figures = append(d.Figures, byYear(AppointmentWaits, "appuntamenti", "dashboard.appointments.title", "dashboard.appointments.lead", DaysBuckets, days, v.Appointments))
	// A wait's figure by sex, all years together: each bucket's count
	// stacked by sex.
	waitSex := func(figure, id, msg string, buckets []string, unit string, n map[string]BySex) Figure {
		f := Figure{ID: id, Title: p.T(msg + ".title"), Lead: p.T(msg + ".lead"), Legend: legend,
			Table: Table{Caption: p.T(msg + ".title"), Head: append([]string{p.T(msg + ".wait")}, sexHead...)}}
		var rows []chart.Row
		var peak float64
		for _, b := range buckets {
			x, ok := n[b]
			if !ok {
				continue
			}
			at := figure + "||" + b
			peak = max(peak, val(at, x.Total()))
			rows = append(rows, chart.Row{Label: b + " " + unit + ": " + c(at, x.Total()), Values: []float64{val(at+"|F", x.F), val(at+"|M", x.M), val(at+"|", x.U)}})
			f.Table.Rows = append(f.Table.Rows, append([]string{b + " " + unit}, bySex(at, x)...))
		}
		f.Chart = chart.Stacked{ID: "chart-" + id, Title: f.Title, Desc: p.T("dashboard.chart.desc"), Total: peak, Rows: rows}.SVG()
		return f
	}
	d.Figures = append(d.Figures, waitSex(QueueWaits, "attese-sesso", "dashboard.waits_sex", WaitBuckets, "min", v.WaitsBySex))
	d.Figures = append(d.Figures, waitSex(AppointmentWaits, "appuntamenti-sesso", "dashboard.appointments_sex", DaysBuckets, days, v.AppointmentsBySex))
	reach := Figure{ID: "orari", Title: p.T("dashboard.reach.title"), Lead: p.T("dashboard.reach.lead"),
		Table: Table{Caption: p.T("dashboard.reach.title"), Head: []string{p.T("dashboard.service"), p.T("dashboard.reach.since"),
			p.T("dashboard.reach.before"), p.T("dashboard.reach.after"), p.T("dashboard.reach.change"), p.T("dashboard.reach.open")}}}
	var bars []chart.Bar
	var peak float64
	for _, r := range v.Reach {
		name := names[r.Service]
		if name == "" {
			name = r.Service
		}
		if r.Changes > 0 {
			// The chart: the services whose week changed (the table has
			// them all, some seventy in the demo).
			peak = max(peak, float64(r.Now.Outside), float64(r.First.Outside))
			bars = append(bars, chart.Bar{Label: name, Value: float64(r.Now.Outside),
				Text: p.T("dashboard.reach.bar", "Now", minutes(r.Now.Outside), "Before", minutes(r.First.Outside))})
		}
		reach.Table.Rows = append(reach.Table.Rows, []string{name, r.First.Since.In(time.UTC).Format(time.DateOnly), minutes(r.First.Outside),
			minutes(r.Now.Outside), signed(r.Now.Outside - r.First.Outside), minutes(r.Now.Total)})
	}
	if len(bars) > 0 {
		reach.Chart = chart.Bars{ID: "chart-orari", Title: p.T("dashboard.reach.chart"), Desc: p.T("dashboard.reach.chart_desc"), Max: peak, Bars: bars}.SVG()
	}
	d.Figures = append(d.Figures, reach)
	d.Costs = [][2]string{
		{p.T("dashboard.est.cost_desk"), euro(CostDesk)},
		{p.T("dashboard.est.cost_online"), euro(CostOnline)},
		{p.T("dashboard.est.trip"), strconv.Itoa(TripMinutes) + " min"},
		{p.T("dashboard.est.wait"), waitText(p, v)},
	}
	d.Missing = []string{"dashboard.missing.reach_history"}
	return d
}

// waitText says the counter's wait the hours count, and whether the queue
// measured it.
func waitText(p *web.Page, v *View) string {
	min := strconv.FormatFloat(v.WaitMinutes, 'f', 0, 64)
	if v.WaitMeasured {
		return p.T("dashboard.est.wait_measured", "Min", min, "Tickets", num(v.WaitTickets))
	}
	return p.T("dashboard.est.wait_assumed", "Min", min, "Least", strconv.Itoa(MinWaitTickets))
}

// Row is one line of the open data: a counter of a month, or a level
// measured on a day.
type Row struct {
	Figure string `json:"figure"`
	Period string `json:"period"`
	Key    string `json:"key"`
	Sex    string `json:"sex"`
	// Value is nil in the public data when withheld (Threshold).
	Value *int64 `json:"value"`
}

// OpenData are the dashboard's figures as the open data gives them.
func (s *Store) OpenData(ctx context.Context) ([]Row, error) {
	counts, err := s.Counts(ctx)
	if err != nil {
		return nil, err
	}
	levels, err := s.Levels(ctx)
	if err != nil {
		return nil, err
	}
	snaps, err := s.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(counts)+2*len(levels)+2*len(snaps))
	for _, c := range counts {
		out = append(out, Row{Figure: c.Figure, Period: c.Month, Key: c.Key, Sex: c.Sex, Value: &c.N})
	}
	for _, l := range levels {
		day := l.MeasuredAt.In(time.UTC).Format(time.DateOnly)
		out = append(out, Row{Figure: l.Figure, Period: day, Key: l.Key, Sex: l.Sex, Value: &l.N})
		if l.Figure == Open {
			out = append(out, Row{Figure: Open + "_late", Period: day, Key: l.Key, Sex: l.Sex, Value: &l.Late})
		}
	}
	for _, r := range snaps {
		out = append(out, reachRows(r)...)
	}
	return out, nil
}

func reachRows(r ReachSnapshot) []Row {
	day := r.Since.In(time.UTC).Format(time.DateOnly)
	return []Row{{Figure: ReachTotal, Period: day, Key: r.Service, Value: &r.Total}, {Figure: ReachOutside, Period: day, Key: r.Service, Value: &r.Outside}}
}

// PublicData are the open data: the counters by year and the levels,
// each withheld (nil) as the release says, and the weeks of reach (hours,
// not people: never withheld).
func (s *Store) PublicData(ctx context.Context, v *View) ([]Row, error) {
	snaps, err := s.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(v.Public.cells)+2*len(snaps))
	for _, c := range v.Public.cells {
		r := Row{Figure: c.Figure, Period: c.Period, Key: c.Key, Sex: c.Sex}
		if !v.Public.Withheld(cellName(c.Figure, c.Period, c.Key, c.Sex), c.N) {
			r.Value = &c.N
		}
		out = append(out, r)
	}
	for _, r := range snaps {
		out = append(out, reachRows(r)...)
	}
	return out, nil
}

// Columns are the open data's columns (README, "Cruscotto").
var Columns = []string{"figure", "period", "key", "sex", "value"}

// file is an open-data file for the current view, made once a
// collection by build.
func (h *Web) file(ctx context.Context, name string, build func(rows []Row) ([]byte, error)) ([]byte, error) {
	v, err := h.Store.View(ctx)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.view == v && h.files[name] != nil {
		out := h.files[name]
		h.mu.Unlock()
		return out, nil
	}
	h.mu.Unlock()
	var rows []Row
	if name == "exact.csv" {
		rows, err = h.Store.OpenData(ctx)
	} else {
		rows, err = h.Store.PublicData(ctx, v)
	}
	if err != nil {
		return nil, err
	}
	out, err := build(rows)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.view != v {
		h.view, h.pages, h.files = v, map[string]*PageData{}, map[string][]byte{}
	}
	h.files[name] = out
	h.mu.Unlock()
	return out, nil
}

// writeCSV is the rows as CSV, a withheld value empty.
func writeCSV(rows []Row) ([]byte, error) {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write(Columns)
	for _, x := range rows {
		value := ""
		if x.Value != nil {
			value = num(*x.Value)
		}
		_ = cw.Write([]string{x.Figure, x.Period, x.Key, x.Sex, value})
	}
	cw.Flush()
	return b.Bytes(), cw.Error()
}

// exactCSV is the statistics office's open data: every counter month by
// month, exact.
func (h *Web) exactCSV(w http.ResponseWriter, r *http.Request) {
	out, err := h.file(r.Context(), "exact.csv", writeCSV)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cruscotto-esatto.csv"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(out)
}

func (h *Web) csv(w http.ResponseWriter, r *http.Request) {
	out, err := h.file(r.Context(), "csv", writeCSV)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cruscotto.csv"`)
	w.Header().Set("Cache-Control", "public, max-age=900")
	_, _ = w.Write(out)
}

// Dataset is the open data in JSON.
type Dataset struct {
	Title   string   `json:"title"`
	Licence string   `json:"license"`
	Columns []string `json:"columns"`
	Method  string   `json:"method"`
	Rows    []Row    `json:"rows"`
}

func (h *Web) json(w http.ResponseWriter, r *http.Request) {
	out, err := h.file(r.Context(), "json", func(rows []Row) ([]byte, error) {
		if rows == nil {
			rows = []Row{}
		}
		return json.Marshal(Dataset{Title: "Cruscotto dei servizi online", Licence: Licence, Columns: Columns,
			Method: PublicPath + "#metodo", Rows: rows})
	})
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=900")
	_, _ = w.Write(out)
}
