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
	JSON    string
	Costs   [][2]string // the method's figures: label, value
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
	d := &PageData{Staff: staff, View: v, CSV: CSVPath, JSON: JSONPath}
	sexHead := []string{p.T("dashboard.sex.F"), p.T("dashboard.sex.M"), p.T("dashboard.sex.U"), p.T("dashboard.total")}
	bySex := func(b BySex) []string { return []string{num(b.F), num(b.M), num(b.U), num(b.Total())} }
	legend := []Swatch{{chart.Swatch(0), p.T("dashboard.sex.F")}, {chart.Swatch(1), p.T("dashboard.sex.M")}, {chart.Swatch(2), p.T("dashboard.sex.U")}}
	d.Key = [][2]string{
		{p.T("dashboard.key.registrations"), num(v.RegistrationsTotal.Total()) + " (" + p.T("dashboard.key.fm", "F", num(v.RegistrationsTotal.F), "M", num(v.RegistrationsTotal.M)) + ")"},
		{p.T("dashboard.key.active30"), num(v.Active30.Total()) + " (" + p.T("dashboard.key.fm", "F", num(v.Active30.F), "M", num(v.Active30.M)) + ")"},
		{p.T("dashboard.key.active90"), num(v.Active90.Total()) + " (" + p.T("dashboard.key.fm", "F", num(v.Active90.F), "M", num(v.Active90.M)) + ")"},
		{p.T("dashboard.key.pins"), num(v.PINsTotal.Total()) + " (" + p.T("dashboard.key.fm", "F", num(v.PINsTotal.F), "M", num(v.PINsTotal.M)) + ")"},
		{p.T("dashboard.key.online"), pct(v.Online.Total(), v.Online.Total()+v.Desk.Total())},
		{p.T("dashboard.key.saved"), euro(v.SavedCents)},
		{p.T("dashboard.key.paid_online"), pct(v.PaidOnline.Total(), v.PaidAll.Total())},
		{p.T("dashboard.key.hours"), hrs(v.Hours) + " (" + p.T("dashboard.key.fm", "F", hrs(v.HoursBySex[0]), "M", hrs(v.HoursBySex[1])) + ")"},
	}
	years := func(id, title, lead string, list []Year) Figure {
		f := Figure{ID: id, Title: p.T(title), Lead: p.T(lead), Legend: legend,
			Table: Table{Caption: p.T(title), Head: append([]string{p.T("dashboard.year")}, sexHead...)}}
		var peak float64
		rows := make([]chart.Row, 0, len(list))
		for _, y := range list {
			peak = max(peak, float64(y.Total()))
			rows = append(rows, chart.Row{Label: y.Year + ": " + num(y.Total()), Values: []float64{float64(y.F), float64(y.M), float64(y.U)}})
			f.Table.Rows = append(f.Table.Rows, append([]string{y.Year}, bySex(y.BySex)...))
		}
		f.Chart = chart.Stacked{ID: "chart-" + id, Title: f.Title, Desc: p.T("dashboard.chart.desc"), Total: peak, Rows: rows}.SVG()
		return f
	}
	d.Figures = append(d.Figures, years("registrazioni", "dashboard.registrations.title", "dashboard.registrations.lead", v.Registrations))
	methods := Figure{ID: "metodi", Title: p.T("dashboard.methods.title"), Lead: p.T("dashboard.methods.lead"),
		Table: Table{Caption: p.T("dashboard.methods.title"), Head: []string{p.T("dashboard.year")}}}
	for _, m := range v.Methods {
		methods.Table.Head = append(methods.Table.Head, p.T("dashboard.method."+m))
	}
	for _, y := range v.ByMethod {
		row := []string{y.Year}
		for _, m := range v.Methods {
			row = append(row, num(y.N[m]))
		}
		methods.Table.Rows = append(methods.Table.Rows, row)
	}
	d.Figures = append(d.Figures, methods)
	d.Figures = append(d.Figures, years("pin", "dashboard.pins.title", "dashboard.pins.lead", v.PINs))
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
		total := float64(s.Online.Total() + s.Desk.Total())
		rows = append(rows, chart.Row{Label: name + ": " + strconv.FormatFloat(s.Share(), 'f', 1, 64) + "%", Values: []float64{float64(s.Online.Total()) / total, float64(s.Desk.Total()) / total}})
		channel.Table.Rows = append(channel.Table.Rows, []string{name, num(s.Online.Total()) + " (" + num(s.Online.F) + " / " + num(s.Online.M) + ")",
			num(s.Desk.Total()) + " (" + num(s.Desk.F) + " / " + num(s.Desk.M) + ")", strconv.FormatFloat(s.Share(), 'f', 1, 64) + "%", euro(s.SavedCents), hrs(s.Hours)})
	}
	channel.Chart = chart.Stacked{ID: "chart-canali", Title: channel.Title, Desc: p.T("dashboard.chart.desc"), Total: 1, Rows: rows}.SVG()
	d.Figures = append(d.Figures, channel)
	states := Figure{ID: "pratiche", Title: p.T("dashboard.states.title"), Lead: p.T("dashboard.states.lead"),
		Table: Table{Caption: p.T("dashboard.states.title"), Head: []string{p.T("dashboard.state"), p.T("dashboard.states.open_fm"), p.T("dashboard.states.late_fm")}}}
	for _, s := range v.States {
		states.Table.Rows = append(states.Table.Rows, []string{s.State, num(s.N.Total()) + " (" + num(s.N.F) + " / " + num(s.N.M) + ")",
			num(s.Late.Total()) + " (" + num(s.Late.F) + " / " + num(s.Late.M) + ")"})
	}
	d.Figures = append(d.Figures, states)
	pay := Figure{ID: "pagamenti", Title: p.T("dashboard.payments.title"), Lead: p.T("dashboard.payments.lead"),
		Legend: []Swatch{{chart.Swatch(0), p.T("dashboard.payments.online")}, {chart.Swatch(1), p.T("dashboard.payments.elsewhere")}},
		Table: Table{Caption: p.T("dashboard.payments.title"), Head: []string{p.T("dashboard.payments.category"), p.T("dashboard.payments.online_fm"),
			p.T("dashboard.payments.all_fm"), p.T("dashboard.payments.share")}}}
	var payRows []chart.Row
	for _, r := range v.Paid {
		all := float64(r.All.Total())
		payRows = append(payRows, chart.Row{Label: r.Category + ": " + pct(r.Online.Total(), r.All.Total()), Values: []float64{float64(r.Online.Total()) / all, (all - float64(r.Online.Total())) / all}})
		pay.Table.Rows = append(pay.Table.Rows, []string{r.Category, num(r.Online.Total()) + " (" + num(r.Online.F) + " / " + num(r.Online.M) + ")",
			num(r.All.Total()) + " (" + num(r.All.F) + " / " + num(r.All.M) + ")", pct(r.Online.Total(), r.All.Total())})
	}
	pay.Chart = chart.Stacked{ID: "chart-pagamenti", Title: pay.Title, Desc: p.T("dashboard.chart.desc"), Total: 1, Rows: payRows}.SVG()
	d.Figures = append(d.Figures, pay)
	byYear := func(id, title, lead string, buckets []string, unit string, list []WaitYear) Figure {
		f := Figure{ID: id, Title: p.T(title), Lead: p.T(lead),
			Table: Table{Caption: p.T(title), Head: []string{p.T("dashboard.year")}}}
		for _, b := range buckets {
			f.Table.Head = append(f.Table.Head, b+" "+unit)
		}
		f.Table.Head = append(f.Table.Head, p.T("dashboard.total"))
		for _, y := range list {
			row, total := []string{y.Year}, int64(0)
			for _, b := range buckets {
				row = append(row, num(y.N[b]))
				total += y.N[b]
			}
			f.Table.Rows = append(f.Table.Rows, append(row, num(total)))
		}
		return f
	}
	d.Figures = append(d.Figures, byYear("attese", "dashboard.waits.title", "dashboard.waits.lead", WaitBuckets, "min", v.Waits))
	days := p.T("dashboard.days")
	d.Figures = append(d.Figures, byYear("appuntamenti", "dashboard.appointments.title", "dashboard.appointments.lead", DaysBuckets, days, v.Appointments))
	apptSex := Figure{ID: "appuntamenti-sesso", Title: p.T("dashboard.appointments_sex.title"), Lead: p.T("dashboard.appointments_sex.lead"), Legend: legend,
		Table: Table{Caption: p.T("dashboard.appointments_sex.title"), Head: append([]string{p.T("dashboard.appointments_sex.wait")}, sexHead...)}}
	var apptRows []chart.Row
	var apptPeak float64
	for _, b := range DaysBuckets {
		n, ok := v.AppointmentsBySex[b]
		if !ok {
			continue
		}
		apptPeak = max(apptPeak, float64(n.Total()))
		apptRows = append(apptRows, chart.Row{Label: b + " " + days + ": " + num(n.Total()), Values: []float64{float64(n.F), float64(n.M), float64(n.U)}})
		apptSex.Table.Rows = append(apptSex.Table.Rows, append([]string{b + " " + days}, bySex(n)...))
	}
	apptSex.Chart = chart.Stacked{ID: "chart-appuntamenti-sesso", Title: apptSex.Title, Desc: p.T("dashboard.chart.desc"), Total: apptPeak, Rows: apptRows}.SVG()
	d.Figures = append(d.Figures, apptSex)
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
		{p.T("dashboard.est.wait"), strconv.Itoa(WaitMinutes) + " min"},
	}
	d.Missing = []string{"dashboard.missing.queue_sex", "dashboard.missing.reach_history"}
	return d
}

// Row is one line of the open data: a counter of a month, or a level
// measured on a day.
type Row struct {
	Figure string `json:"figure"`
	Period string `json:"period"`
	Key    string `json:"key"`
	Sex    string `json:"sex"`
	Value  int64  `json:"value"`
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
		out = append(out, Row{Figure: c.Figure, Period: c.Month, Key: c.Key, Sex: c.Sex, Value: c.N})
	}
	for _, l := range levels {
		day := l.MeasuredAt.In(time.UTC).Format(time.DateOnly)
		out = append(out, Row{Figure: l.Figure, Period: day, Key: l.Key, Sex: l.Sex, Value: l.N})
		if l.Figure == Open {
			out = append(out, Row{Figure: Open + "_late", Period: day, Key: l.Key, Sex: l.Sex, Value: l.Late})
		}
	}
	for _, r := range snaps {
		day := r.Since.In(time.UTC).Format(time.DateOnly)
		out = append(out, Row{Figure: ReachTotal, Period: day, Key: r.Service, Value: r.Total},
			Row{Figure: ReachOutside, Period: day, Key: r.Service, Value: r.Outside})
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
	rows, err := h.Store.OpenData(ctx)
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

func (h *Web) csv(w http.ResponseWriter, r *http.Request) {
	out, err := h.file(r.Context(), "csv", func(rows []Row) ([]byte, error) {
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		_ = cw.Write(Columns)
		for _, x := range rows {
			_ = cw.Write([]string{x.Figure, x.Period, x.Key, x.Sex, num(x.Value)})
		}
		cw.Flush()
		return b.Bytes(), cw.Error()
	})
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
