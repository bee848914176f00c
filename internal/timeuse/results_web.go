package timeuse

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/chart"
	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/identity"
	"github.com/civico-pa/civico/internal/timeuse/analysis"
	"github.com/civico-pa/civico/internal/web"
)

// Paths of the results.
const (
	// ResultsPath is the public page of the published results.
	ResultsPath = InvitePath + "/risultati"
	// OfficeResultsPath is the statistics office's page of the latest
	// results, where it publishes them.
	OfficeResultsPath = OfficePath + "/risultati"
	// PublishPath publishes the latest results.
	PublishPath = OfficeResultsPath + "/pubblica"
)

// ResultFiles are the downloads beside each results page, in the order
// the page lists them.
var ResultFiles = []string{"indicators.csv", "tempograms.csv", "reachability.csv", "proposals.csv", "results.json", "README.txt"}

// The query's values: the day type and the grouping key the page shows.
var (
	dayParams = []string{"feriale", "sabato", "domenica", "settimana"}
	keyParams = map[string]string{"sesso": "sex", "eta": "age_band", "occupazione": "employment", "pendolari": "commuter", "figli": "children"}
	keyOrder  = []string{"sesso", "eta", "occupazione", "pendolari", "figli"}
)

// Option is one choice of the page's form.
type Option struct {
	Value, Label string
	Selected     bool
}

// Cell is a figure of a table with its mark: "E" use with caution (CV
// above the flag threshold), "F" too unreliable (CV above the suppression
// threshold), "x" not published (too few respondents, or hidden so that
// such a cell cannot be recovered).
type Cell struct{ Text, Mark string }

// BudgetRow is a group's time budget: minutes per respondent (DPR), the
// share doing each activity (P) and minutes per participant (DPP), for
// the 1-digit activities.
type BudgetRow struct {
	Label, Respondents string
	Hidden             bool
	DPR, P, DPP        []Cell
}

// TempoRow is a ten-minute slot of the tempogram's table.
type TempoRow struct {
	Time   string
	Shares []string
}

// ReachRow is a group's reachability: any office, then each.
type ReachRow struct {
	Label, Respondents string
	Any                Cell
	Per                []Cell
}

// ProposalView is a proposal as the page says it.
type ProposalView struct {
	Office, Weekday, From, To, LeastServed   string
	MinBefore, MinAfter, AllBefore, AllAfter string
	Gains                                    []GainView
}

// GainView is a group a proposal reaches more of.
type GainView struct{ Label, Respondents, Before, After string }

// ActivityView is a 1-digit activity with its colour in the charts.
type ActivityView struct {
	Code, Label string
	Swatch      template.HTML
}

// ResultsData is a results page.
type ResultsData struct {
	Office bool
	// None: nothing computed (office) or published (public) yet.
	None        bool
	Synthetic   bool
	Computed    string
	Respondents int
	MinCell     int
	CVFlag      string
	CVSuppress  string
	Travel      int
	// Weighted: post-stratified to the town's population margins;
	// MarginsError, for the office, why the margins could not be applied.
	Weighted     bool
	MarginsError string
	Version      int64
	// Published is when the published results were computed ("" none);
	// Current: they are the latest.
	Published string
	Current   bool
	Notice    string

	Days, Keys, Groups []Option
	Errors             Fields
	DayLabel, KeyLabel string
	GroupLabel         string

	Activities []ActivityView
	Budget     template.HTML
	BudgetRows []BudgetRow
	Tempogram  template.HTML
	TempoRows  []TempoRow
	// TempoHidden: the chosen group's cell is not published.
	TempoHidden bool
	Reach       template.HTML
	Offices     []string
	ReachRows   []ReachRow
	Best        *ProposalView
	Proposals   []ProposalView
	Base        string
	Files       []string
}

// resultsQuery reads the page's choices; a wrong one gets its error and
// the default.
type resultsQuery struct {
	day        int
	key, param string
	group      string
}

func readResultsQuery(r *http.Request, sum *Summary, errs Fields) resultsQuery {
	q := r.URL.Query()
	rq := resultsQuery{day: 0, key: "sex", param: "sesso", group: "all"}
	if v := q.Get("giorno"); v != "" {
		if i := slices.Index(dayParams, v); i >= 0 {
			rq.day = i
		} else {
			errs["giorno"] = "timeuse.results.error_choice"
		}
	}
	if v := q.Get("per"); v != "" {
		if k, ok := keyParams[v]; ok {
			rq.key, rq.param = k, v
		} else {
			errs["per"] = "timeuse.results.error_choice"
		}
	}
	if v := q.Get("gruppo"); v != "" {
		if sum != nil && slices.ContainsFunc(sum.Groups, func(g Group) bool { return g.Name == v }) {
			rq.group = v
		} else {
			errs["gruppo"] = "timeuse.results.error_choice"
		}
	}
	return rq
}

// GroupLabel names a group in the page's language: "Tutti", "Donne",
// "Donne, età 25-34".
func GroupLabel(p *web.Page, name string) string { return groupLabel(p.T, name) }

// groupLabel names a group with the translations of t.
func groupLabel(t func(id string, args ...any) string, name string) string {
	if name == "all" || name == "" {
		return t("timeuse.g.all")
	}
	var parts []string
	for part := range strings.SplitSeq(name, "&") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "age_band", "children":
			parts = append(parts, t("timeuse.g."+k, "V", v))
		case "employment":
			parts = append(parts, t("timeuse.employment."+v))
		default:
			parts = append(parts, t("timeuse.g."+k+"."+v))
		}
	}
	return strings.Join(parts, ", ")
}

// number formats x with prec decimals, with the language's decimal mark.
func decimal(lang string, x float64, prec int) string {
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

func pct(lang string, x Num) string {
	if !x.Valid() {
		return "x"
	}
	return decimal(lang, 100*float64(x), 1) + "%"
}

// mark is an indicator's mark and whether its figures are shown.
func mark(status string) (string, bool) {
	switch status {
	case "no":
		return "", true
	case "flag":
		return "E", true
	case "cv":
		return "F", false
	}
	return "x", false
}

func indicatorCells(lang string, ind Indicator) (dpr, p, dpp Cell) {
	m, shown := mark(ind.Status)
	if !shown {
		return Cell{Mark: m}, Cell{Mark: m}, Cell{Mark: m}
	}
	dpr = Cell{Text: decimal(lang, float64(ind.DPR), 0), Mark: m}
	p = Cell{Text: pct(lang, ind.P), Mark: m}
	dpp = Cell{Text: "–"}
	if ind.DPP.Valid() {
		dpp = Cell{Text: decimal(lang, float64(ind.DPP), 0), Mark: m}
	}
	return dpr, p, dpp
}

// buildResults fills the page's content from the results.
func (h *Web) buildResults(p *web.Page, sum *Summary, rq resultsQuery, d *ResultsData) {
	lang := p.Lang
	d.Synthetic, d.Respondents, d.MinCell, d.Travel = sum.Synthetic, sum.Respondents, sum.MinCell, sum.Travel
	d.Weighted = sum.Weighted
	if d.Office {
		d.MarginsError = sum.MarginsError
	}
	d.Computed = sum.Computed.In(hours.Rome).Format("02/01/2006 15:04")
	d.CVFlag, d.CVSuppress = decimal(lang, 100*sum.CVFlag, 1)+"%", decimal(lang, 100*sum.CVSuppress, 1)+"%"
	d.Version = sum.Computed.UnixNano()
	for i, v := range dayParams {
		d.Days = append(d.Days, Option{Value: v, Label: p.T("timeuse.results.day." + analysis.ResultDays[i]), Selected: i == rq.day})
	}
	for _, v := range keyOrder {
		d.Keys = append(d.Keys, Option{Value: v, Label: p.T("timeuse.key." + keyParams[v]), Selected: v == rq.param})
	}
	for _, g := range sum.Groups {
		d.Groups = append(d.Groups, Option{Value: g.Name, Label: GroupLabel(p, g.Name), Selected: g.Name == rq.group})
	}
	d.DayLabel, d.KeyLabel, d.GroupLabel = p.T("timeuse.results.day."+analysis.ResultDays[rq.day]), p.T("timeuse.key."+rq.key), GroupLabel(p, rq.group)

	// The 1-digit activities: the charts' series.
	var ones []int
	for a, code := range sum.Activities {
		if len(code) == 1 {
			ones = append(ones, a)
			d.Activities = append(d.Activities, ActivityView{Code: code, Label: h.Store.Acts.Label(code, lang), Swatch: chart.Swatch(len(d.Activities))})
		}
	}

	// The time budget of "all" and the key's groups.
	shown := []Group{sum.Groups[0]}
	for _, g := range sum.Groups[1:] {
		if g.Key == rq.key {
			shown = append(shown, g)
		}
	}
	budget := chart.Stacked{ID: "budget", Total: analysis.DayLength,
		Title: p.T("timeuse.results.budget_chart", "Day", d.DayLabel, "Key", d.KeyLabel),
		Desc:  p.T("timeuse.results.budget_desc")}
	for _, g := range shown {
		row := BudgetRow{Label: GroupLabel(p, g.Name)}
		day := g.Days[rq.day]
		cr := chart.Row{Label: row.Label}
		switch {
		case day == nil:
			row.Hidden, row.Respondents = true, "0"
			cr.Label += " – " + p.T("timeuse.results.no_data")
		case day.Status == "size":
			row.Hidden, row.Respondents = true, p.T("timeuse.results.fewer", "N", sum.MinCell)
		default:
			row.Respondents = strconv.Itoa(day.Respondents)
			row.Hidden = day.Status != "no"
		}
		if row.Hidden && day != nil {
			cr.Label += " – " + p.T("timeuse.results.hidden")
		}
		for _, a := range ones {
			if row.Hidden {
				row.DPR, row.P, row.DPP = append(row.DPR, Cell{Mark: "x"}), append(row.P, Cell{Mark: "x"}), append(row.DPP, Cell{Mark: "x"})
				continue
			}
			ind := day.Indicators[a]
			dpr, pp, dpp := indicatorCells(lang, ind)
			row.DPR, row.P, row.DPP = append(row.DPR, dpr), append(row.P, pp), append(row.DPP, dpp)
			v := math.NaN()
			if m, ok := mark(ind.Status); ok && m != "F" {
				v = float64(ind.DPR)
			}
			cr.Values = append(cr.Values, v)
		}
		d.BudgetRows = append(d.BudgetRows, row)
		budget.Rows = append(budget.Rows, cr)
	}
	d.Budget = budget.SVG()

	// The chosen group's tempogram.
	gi := slices.IndexFunc(sum.Groups, func(g Group) bool { return g.Name == rq.group })
	if day := sum.Groups[gi].Days[rq.day]; day == nil || day.Tempogram == nil {
		d.TempoHidden = true
	} else {
		area := chart.Area{ID: "tempogram", TickEvery: 18, TickLabel: func(s int) string { return analysis.Clock((240 + s*10) % (24 * 60)) },
			Title: p.T("timeuse.results.tempo_chart", "Group", d.GroupLabel, "Day", d.DayLabel),
			Desc:  p.T("timeuse.results.tempo_desc")}
		area.Shares = make([][]float64, analysis.Slots)
		for s := range analysis.Slots {
			shares := make([]float64, len(ones))
			row := TempoRow{Time: analysis.Clock((240+s*10)%(24*60)) + "–" + analysis.Clock((250+s*10)%(24*60)), Shares: make([]string, len(ones))}
			for k := range ones {
				v := float64(day.Tempogram[s*10+k]) / 10000
				shares[k] = v
				row.Shares[k] = decimal(lang, 100*v, 1)
			}
			area.Shares[s] = shares
			d.TempoRows = append(d.TempoRows, row)
		}
		d.Tempogram = area.SVG()
	}

	// Reachability of the offices by the same groups, and the proposals.
	if len(sum.Offices) > 0 {
		for _, o := range sum.Offices {
			d.Offices = append(d.Offices, o.Name)
		}
		bars := chart.Bars{ID: "reach", Max: 1, Title: p.T("timeuse.results.reach_chart", "Key", d.KeyLabel),
			Desc: p.T("timeuse.results.reach_desc", "Minutes", sum.Travel)}
		for _, g := range shown {
			if g.Reach == nil {
				continue
			}
			row := ReachRow{Label: GroupLabel(p, g.Name), Respondents: strconv.Itoa(g.Reach.Respondents)}
			bar := chart.Bar{Label: row.Label}
			if !g.Reach.Eligible {
				row.Respondents = p.T("timeuse.results.fewer", "N", sum.MinCell)
				row.Any = Cell{Mark: "x"}
				for range sum.Offices {
					row.Per = append(row.Per, Cell{Mark: "x"})
				}
				bar.Text = p.T("timeuse.results.hidden")
			} else {
				row.Any = Cell{Text: pct(lang, g.Reach.Share)}
				for _, s := range g.Reach.PerOffice {
					row.Per = append(row.Per, Cell{Text: pct(lang, s)})
				}
				bar.Value, bar.Text = float64(g.Reach.Share), pct(lang, g.Reach.Share)
			}
			d.ReachRows = append(d.ReachRows, row)
			bars.Bars = append(bars.Bars, bar)
		}
		d.Reach = bars.SVG()
		view := func(pr *Proposal) ProposalView {
			v := ProposalView{Office: pr.Name, Weekday: p.T("timeuse.weekday." + strconv.Itoa(int(pr.Weekday))), From: pr.FromText, To: pr.ToText,
				LeastServed: GroupLabel(p, pr.LeastServed), MinBefore: pct(lang, pr.MinBefore), MinAfter: pct(lang, pr.MinAfter),
				AllBefore: pct(lang, pr.AllBefore), AllAfter: pct(lang, pr.AllAfter)}
			for _, g := range pr.Gains {
				v.Gains = append(v.Gains, GainView{Label: GroupLabel(p, g.Group), Respondents: strconv.Itoa(g.Respondents), Before: pct(lang, g.Before), After: pct(lang, g.After)})
			}
			return v
		}
		if sum.Best != nil {
			b := view(sum.Best)
			d.Best = &b
		}
		for _, o := range sum.Offices {
			if o.Proposal != nil {
				d.Proposals = append(d.Proposals, view(o.Proposal))
			}
		}
	}
	d.Files = ResultFiles
}

// publicResults is the page of the published results, for everyone.
func (h *Web) publicResults(w http.ResponseWriter, r *http.Request) {
	h.resultsPage(w, r, false)
}

// officeResults is the statistics office's page of the latest results.
func (h *Web) officeResults(w http.ResponseWriter, r *http.Request) {
	h.resultsPage(w, r, true)
}

func (h *Web) resultsPage(w http.ResponseWriter, r *http.Request, office bool) {
	kind := PublishedResults
	if office {
		kind = LatestResults
	}
	sum, err := h.Store.Results(r.Context(), kind)
	if err != nil && !errors.Is(err, ErrNoResults) {
		h.App.Fail(w, r, err)
		return
	}
	p := h.App.NewPage(r, "timeuse.results.title")
	d := &ResultsData{Office: office, Errors: Fields{}, None: sum == nil}
	if office {
		p.Breadcrumb = []web.Crumb{{Label: p.T("backoffice.title"), Href: "/backoffice"}, {Label: p.T("timeuse.office.title"), Href: OfficePath}, {Label: p.Title}}
		p.Staff = true
		d.Base = OfficeResultsPath
		pub, err := h.Store.Results(r.Context(), PublishedResults)
		if err != nil && !errors.Is(err, ErrNoResults) {
			h.App.Fail(w, r, err)
			return
		}
		if pub != nil {
			d.Published = pub.Computed.In(hours.Rome).Format("02/01/2006 15:04")
			d.Current = sum != nil && pub.Computed.Equal(sum.Computed)
		}
		switch r.URL.Query().Get("esito") {
		case "pubblicati":
			d.Notice = "timeuse.results.published_now"
		case "cambiati":
			d.Notice = "timeuse.results.changed"
		}
		w.Header().Set("Cache-Control", "private, no-store")
	} else {
		p.Breadcrumb = []web.Crumb{{Label: p.Title}}
		d.Base = ResultsPath
	}
	rq := readResultsQuery(r, sum, d.Errors)
	status := http.StatusOK
	if len(d.Errors) > 0 {
		status = http.StatusBadRequest
	}
	p.Data = d
	if sum == nil {
		h.App.HTML(w, r, status, "timeuse_results", p)
		return
	}
	// The public page's content is everyone's: kept per version and
	// choice (the office's carries its publishing state).
	if !office && status == http.StatusOK &&
		h.App.SharedContent(p, "timeuse_results", fmt.Sprintf("%d|%d|%s|%s", sum.Computed.UnixNano(), rq.day, rq.key, rq.group)) {
		h.App.HTML(w, r, status, "timeuse_results", p)
		return
	}
	h.buildResults(p, sum, rq, d)
	h.App.HTML(w, r, status, "timeuse_results", p)
}

// publish makes the latest results public.
func (h *Web) publish(w http.ResponseWriter, r *http.Request) {
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	version, err := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	if err != nil || version == 0 {
		web.Redirect(w, r, OfficeResultsPath, url.Values{"esito": {"cambiati"}})
		return
	}
	a, _ := identity.Current(r.Context())
	err = h.Store.Publish(r.Context(), h.Audit, version, "operator:"+a.ID, web.RemoteAddr(r))
	switch {
	case errors.Is(err, ErrResultsChanged), errors.Is(err, ErrNoResults):
		web.Redirect(w, r, OfficeResultsPath, url.Values{"esito": {"cambiati"}})
	case err != nil:
		h.App.Fail(w, r, err)
	default:
		h.App.PurgeCaches()
		web.Redirect(w, r, OfficeResultsPath, url.Values{"esito": {"pubblicati"}})
	}
}

// publicFile and officeFile are the downloads of the published and the
// latest results.
func (h *Web) publicFile(w http.ResponseWriter, r *http.Request) {
	h.resultsFile(w, r, PublishedResults)
}
func (h *Web) officeFile(w http.ResponseWriter, r *http.Request) { h.resultsFile(w, r, LatestResults) }

func (h *Web) resultsFile(w http.ResponseWriter, r *http.Request, kind string) {
	name := r.PathValue("file")
	if !slices.Contains(ResultFiles, name) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	sum, err := h.Store.Results(r.Context(), kind)
	if errors.Is(err, ErrNoResults) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	build := func() (string, []byte, error) {
		var b bytes.Buffer
		ctype := "text/csv; charset=utf-8"
		switch name {
		case "indicators.csv":
			writeIndicatorsCSV(&b, sum)
		case "tempograms.csv":
			writeTempogramsCSV(&b, sum)
		case "reachability.csv":
			writeReachCSV(&b, sum)
		case "proposals.csv":
			writeProposalsCSV(&b, sum)
		case "results.json":
			ctype = "application/json"
			if err := writeJSON(&b, sum); err != nil {
				return "", nil, err
			}
		case "README.txt":
			ctype = "text/plain; charset=utf-8"
			writeReadme(&b, sum)
		}
		return ctype, b.Bytes(), nil
	}
	w.Header().Set("Content-Disposition", `attachment; filename="timeuse-`+sum.Computed.In(hours.Rome).Format("2006-01-02")+"-"+name+`"`)
	w.Header().Set("Last-Modified", sum.Computed.UTC().Format(http.TimeFormat))
	if kind == LatestResults {
		w.Header().Set("Cache-Control", "private, no-store")
		ctype, body, err := build()
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", ctype)
		_, _ = w.Write(body)
		return
	}
	// The published files are everyone's: built once per version (they
	// are anonymous work, and results.json is most of a megabyte).
	w.Header().Set("Cache-Control", "public, max-age=300")
	if err := h.App.SharedAnswer(w, r, "timeuse-results|"+strconv.FormatInt(sum.Computed.UnixNano(), 10)+"|"+name, build); err != nil {
		h.App.Fail(w, r, err)
	}
}
