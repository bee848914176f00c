package partecipa

import (
	"html/template"
	"net/http"
	"strconv"

	"github.com/civico-pa/civico/internal/chart"
	"github.com/civico-pa/civico/internal/web"
)

// ResultsData is a consultation's results page.
type ResultsData struct {
	C      *Consultation
	R      *Results
	Status string
	Office bool
	// Pending: the results are not public yet. Export: they are, and
	// the open-data files may be downloaded.
	Pending, Export bool
	Columns         []ChannelView
	// MinCell is the fewest answers a column shown apart stands for.
	MinCell int
	// Breakdowns by sex, age band and district, once the consultation
	// closed (Store.Breakdowns), suppressed.
	Breakdowns []BreakdownTable
	Charts     []QuestionChart
}

// ChannelView is a channel as a column of the results: its name and its
// number of ballots.
type ChannelView struct {
	Channel int
	Name    string
	Ballots int64
}

// QuestionChart is a question's results: a chart per channel (bars
// drawn as SVG with their numbers as text) and the table beside it.
type QuestionChart struct {
	QuestionResult
	Number int
	// Bars are the charts, one per channel (package chart).
	Bars []template.HTML
	// Places are a ranking's positions, 1 to its number of options.
	Places []int
}

func (p *Partecipa) results(w http.ResponseWriter, r *http.Request) {
	c, err := p.Store.Get(r.Context(), r.PathValue("id"), false)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	if !c.ResultsPublic(p.Store.now()) {
		page := p.App.NewPage(r, "partecipa.results.title")
		page.Breadcrumb = []web.Crumb{{Label: c.Title, Href: "/consultazioni/" + c.ID}, {Label: page.Title}}
		page.Data = &ResultsData{C: c, Status: c.Status(p.Store.now()), Pending: true}
		p.App.HTML(w, r, http.StatusOK, "results", page)
		return
	}
	p.renderResults(w, r, c, false)
}

func (p *Partecipa) renderResults(w http.ResponseWriter, r *http.Request, c *Consultation, office bool) {
	res, err := p.Store.Results(r.Context(), c)
	if err != nil {
		p.App.Fail(w, r, err)
		return
	}
	page := p.App.NewPage(r, "partecipa.results.title")
	page.Title = page.T("partecipa.results.title_of", "Title", c.Title)
	if office {
		page.Breadcrumb = []web.Crumb{{Label: page.T("partecipa.office.title"), Href: "/ufficio"}, {Label: c.Title, Href: "/ufficio/" + c.ID}, {Label: page.T("partecipa.results.title")}}
		page.Staff = true
	} else {
		page.Breadcrumb = []web.Crumb{{Label: c.Title, Href: "/consultazioni/" + c.ID}, {Label: page.T("partecipa.results.title")}}
	}
	d := &ResultsData{C: c, R: res, Status: c.Status(p.Store.now()), Office: office, Export: c.ResultsPublic(p.Store.now()), MinCell: p.Store.minCell()}
	if d.Breakdowns, err = p.Store.Breakdowns(r.Context(), c); err != nil {
		p.App.Fail(w, r, err)
		return
	}
	for _, ch := range res.Channels {
		d.Columns = append(d.Columns, ChannelView{Channel: ch, Name: page.T(res.channelName(ch)), Ballots: res.Ballots[ch]})
	}
	for i, q := range res.Questions {
		qc := QuestionChart{QuestionResult: q, Number: i + 1}
		if q.Question.Kind == Ranking {
			for n := range q.Question.Options {
				qc.Places = append(qc.Places, n+1)
			}
		}
		if q.Question.Choosing() {
			for _, ch := range res.Channels {
				qc.Bars = append(qc.Bars, barChart(page, res, q, ch, i+1))
			}
		}
		d.Charts = append(d.Charts, qc)
	}
	page.Data = d
	if office {
		w.Header().Set("Cache-Control", "private, no-store")
	}
	p.App.HTML(w, r, http.StatusOK, "results", page)
}

func (r *Results) channelName(ch int) string {
	switch {
	case ch == Counter:
		return "partecipa.results.counter"
	case ch == Verified && r.Split:
		return "partecipa.results.online"
	case ch == Verified:
		return "partecipa.results.verified"
	}
	return "partecipa.results.survey"
}

// barChart draws a choice question's counts in one channel: a bar per
// choice, its length the share of those who answered the question.
func barChart(page *web.Page, res *Results, q QuestionResult, ch, n int) template.HTML {
	c := chart.Bars{ID: "chart-" + strconv.Itoa(n) + "-" + strconv.Itoa(ch), Max: float64(q.Answered[ch]),
		Title: page.T("partecipa.results.chart_title", "N", n, "Channel", page.T(res.channelName(ch)), "Answered", q.Answered[ch])}
	for _, row := range q.Rows {
		c.Bars = append(c.Bars, chart.Bar{Label: row.Label, Value: float64(row.N[ch]), Text: strconv.FormatInt(row.N[ch], 10) + " (" + Pct(row.N[ch], q.Answered[ch]) + "%)"})
	}
	return c.SVG()
}
