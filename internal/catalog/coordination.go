package catalog

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/taxonomy"
	"github.com/civico-pa/civico/internal/throttle"
	"github.com/civico-pa/civico/internal/web"
)

// The coordination view: for a category of services, the combined opening
// of every office that provides them over a week, the gaps when none is
// open, and the hours reachable outside the standard working day; and the
// same figures with one office's hours changed, to weigh a proposal. This is
// the tool the town coordinates openings with.

// The bounds of the coordination view's question. The page is public and
// its cost grows with every opening proposed (about 190 ms for the 5,040
// openings that fitted in a request before these bounds): a proposal holds
// what a real office's week needs and no more. Beyond a bound the field
// says so and the proposal is not computed; a query longer than the form
// can produce is not read at all.
const (
	// MaxProposalIntervals is the most openings one day of a proposal may
	// have (offices here have one to three).
	MaxProposalIntervals = 8
	// MaxProposalField is the longest one day's field may be, in bytes:
	// room for MaxProposalIntervals openings written "09:00-12:30, ".
	MaxProposalField = 120
	// MaxCoordinationQuery is the longest query the page reads, in bytes:
	// the seven longest days escaped as a browser sends them, and the
	// category, week and office.
	MaxCoordinationQuery = 4096
)

// The budget of an anonymous client (throttle.ClientKey of its address): how
// many weeks it may have computed in a window. A view costs 5-10 ms of CPU
// (more than ten service pages), and one with a new week or proposal
// misses the page cache: without a budget a single client could keep the
// cores busy. Sixty in ten minutes is a comparison every ten seconds, more
// than a person makes; operators, the planners the view is for, have no
// budget.
const (
	CoordinationViews  = 60
	CoordinationWindow = 10 * time.Minute
)

// Slot is one half hour of the grid.
const slot = 30 * time.Minute

// grid hours: 07:00 to 21:00.
const gridFrom, gridTo = 7 * 60, 21 * 60

// Cell is one half hour of one day: how many offices are open.
type Cell struct {
	Open    int
	Offices []string
}

// CoverageLevels are the shades of the grid: none open, one, two, three,
// and four or more (the last level).
const CoverageLevels = 5

// Level is the cell's shade: how many offices are open, up to the last
// level.
func (c Cell) Level() int { return min(c.Open, CoverageLevels-1) }

// Legend lists the grid's shades, for its legend.
func (*CoordinationData) Legend() []int {
	out := make([]int, CoverageLevels)
	for i := range out {
		out[i] = i
	}
	return out
}

// WeekLabel is the week's Monday as the site writes dates (02/01/2006).
func (d *CoordinationData) WeekLabel() string { return d.Week.At(12 * 60).Format("02/01/2006") }

// Figures sum up a week's coverage.
type Figures struct {
	Total   Length // time at least one office is open
	Outside Length // of which outside weekdays 08:00-18:00
	Gaps    Length // weekday working hours with no office open
}

// Coverage is the week grid and its figures.
type Coverage struct {
	Days    []time.Time // midday of each day, Monday first
	Times   []string    // row labels
	Rows    [][]Cell    // [time][day]
	Figures Figures
}

func coverage(offices []*Office, override map[string]*hours.Hours, monday hours.Date) Coverage {
	from, to := monday.At(0), monday.AddDays(7).At(0)
	var all []hours.Span
	spansOf := map[string][]hours.Span{}
	for _, o := range offices {
		h := o.Hours
		if alt, ok := override[o.ID]; ok {
			h = alt
		}
		s := h.Spans(from, to)
		spansOf[o.Name] = s
		all = append(all, s...)
	}
	cv := Coverage{}
	for d := range 7 {
		cv.Days = append(cv.Days, monday.AddDays(d).At(12*60))
	}
	names := make([]string, 0, len(spansOf))
	for n := range spansOf {
		names = append(names, n)
	}
	sort.Strings(names)
	for m := gridFrom; m < gridTo; m += int(slot.Minutes()) {
		cv.Times = append(cv.Times, hours.Clock(m).String())
		row := make([]Cell, 7)
		for d := range 7 {
			start := monday.AddDays(d).At(hours.Clock(m))
			end := start.Add(slot)
			for _, n := range names {
				if overlaps(spansOf[n], start, end) {
					row[d].Open++
					row[d].Offices = append(row[d].Offices, n)
				}
			}
		}
		cv.Rows = append(cv.Rows, row)
	}
	union := hours.Union(all)
	work := hours.WorkingTime(from, to)
	cv.Figures = Figures{
		Total:   Length(hours.Total(union)),
		Outside: Length(hours.Total(hours.Subtract(union, work))),
		Gaps:    Length(hours.Total(hours.Subtract(work, union))),
	}
	return cv
}

// overlaps reports whether spans, sorted and disjoint as Hours.Spans gives
// them, cover some of [start, end). A binary search: the grid asks it for
// every half hour of the week and every office, and intersecting the lists
// (which copies and sorts both) each time was most of the view's cost.
func overlaps(spans []hours.Span, start, end time.Time) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].End.After(start) })
	return i < len(spans) && spans[i].Start.Before(end)
}

// CoordinationData is the content of the coordination page.
type CoordinationData struct {
	Categories []taxonomy.Term
	Category   string
	Offices    []*Office
	Week       hours.Date
	Current    Coverage
	// A proposal: one office's week changed.
	Office   string
	Proposal map[string]string // weekday -> "09:00-12:30, 14:30-17:30"
	Errors   map[string]string
	Proposed *Coverage
	Fields   []WeekdayField
	// Computed says the week was computed: false when the query was too
	// long or the client's budget spent.
	Computed bool
	// RetryMinutes is how long a client whose budget is spent must wait.
	RetryMinutes int
	// Proposals are the time-use survey's proposed extra openings for the
	// offices shown.
	Proposals []ProposalRow
}

// The bounds, for the form and its messages.
func (*CoordinationData) MaxIntervals() int { return MaxProposalIntervals }
func (*CoordinationData) MaxField() int     { return MaxProposalField }
func (*CoordinationData) MaxQuery() int     { return MaxCoordinationQuery }

// WeekdayField is one day of the proposal form: the field name and the day.
type WeekdayField struct {
	Name string
	Day  time.Weekday
}

// Weekdays are the proposal's fields, Monday first.
var Weekdays = []WeekdayField{{"monday", time.Monday}, {"tuesday", time.Tuesday}, {"wednesday", time.Wednesday},
	{"thursday", time.Thursday}, {"friday", time.Friday}, {"saturday", time.Saturday}, {"sunday", time.Sunday}}

func (h *Web) coordination(w http.ResponseWriter, r *http.Request) {
	d := &CoordinationData{Categories: taxonomy.ServiceCategories, Errors: map[string]string{}, Proposal: map[string]string{}, Fields: Weekdays}
	if len(r.URL.RawQuery) > MaxCoordinationQuery {
		// Not even parsed: the form alone, and why.
		d.Week = hours.DateOf(h.now())
		d.Errors["query"] = "catalog.coord.error_query"
		h.coordinationPage(w, r, http.StatusRequestURITooLong, d)
		return
	}
	c, ok := h.catalog(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	d.Category = q.Get("categoria")
	status := http.StatusOK
	week := hours.DateOf(h.now())
	if v := q.Get("settimana"); v != "" {
		if wd, err := hours.ParseDate(v); err == nil {
			week = wd
		} else {
			d.Errors["settimana"] = "catalog.finder.error_day"
			status = http.StatusBadRequest
		}
	}
	for week.Weekday() != time.Monday {
		week = week.AddDays(-1)
	}
	d.Week = week
	if d.Category != "" {
		if _, found := taxonomy.Find(taxonomy.ServiceCategories, d.Category); !found {
			h.App.Error(w, r, http.StatusNotFound)
			return
		}
		seen := map[string]bool{}
		for _, s := range c.In(d.Category) {
			for _, o := range c.OfficesOf(s) {
				if !seen[o.ID] {
					seen[o.ID] = true
					d.Offices = append(d.Offices, o)
				}
			}
		}
		sort.Slice(d.Offices, func(a, b int) bool { return d.Offices[a].Name < d.Offices[b].Name })
		d.Office = q.Get("ufficio")
		page := h.coordinationShell(r, d)
		// The time-use survey's proposals: from its published results,
		// read from their store (never computed here).
		pversion, proposals := "", map[string]HoursProposal(nil)
		if h.Proposals != nil {
			var err error
			if pversion, proposals, err = h.Proposals(r.Context(), page.Lang); err != nil {
				h.App.Fail(w, r, err)
				return
			}
		}
		// The week of a category without a proposal is everyone's: its
		// grid, computed once per category, week and catalogue, costs the
		// next visitors nothing, and draws on no budget. Only what must be
		// computed does: a week not at hand, or a proposal.
		if d.Office == "" && len(d.Errors) == 0 &&
			h.App.SharedContent(page, "coordination", fmt.Sprintf("%s|%s|%d|%s", d.Category, week, c.Version, pversion)) {
			h.App.HTML(w, r, status, "coordination", page)
			return
		}
		if ok, err := h.coordinationBudget(w, r, d); err != nil {
			h.App.Log.Error("coordination budget", "err", err, "request_id", web.RequestID(r.Context()))
			h.App.Error(w, r, http.StatusInternalServerError)
			return
		} else if !ok {
			h.coordinationPage(w, r, http.StatusTooManyRequests, d)
			return
		}
		d.Computed = true
		d.Current = coverage(d.Offices, nil, week)
		d.Proposals = proposalRows(page.Lang, d.Offices, proposals, d.Category, week)
		if d.Office != "" {
			o, found := c.Office(d.Office)
			if !found || !seen[o.ID] {
				d.Errors["ufficio"] = "catalog.coord.error_office"
				status = http.StatusBadRequest
			} else if spec, ok := proposal(q, o, d); !ok {
				status = http.StatusBadRequest
			} else if alt, err := spec.Hours(o.Hours.Holidays); err != nil {
				field := "proposal"
				if fe, ok := err.(*hours.FieldError); ok && strings.HasPrefix(fe.Field, "week.") {
					field = strings.SplitN(strings.TrimPrefix(fe.Field, "week."), "[", 2)[0]
				}
				d.Errors[field] = "catalog.coord.error_hours"
				status = http.StatusBadRequest
			} else {
				p := coverage(d.Offices, map[string]*hours.Hours{o.ID: alt}, week)
				d.Proposed = &p
			}
		}
		if status != http.StatusOK {
			page.KeepContentPrivate()
		}
		h.App.HTML(w, r, status, "coordination", page)
		return
	}
	h.coordinationPage(w, r, status, d)
}

// proposal reads the proposed week of office o into d.Proposal and a spec,
// within the bounds: a day given twice, or with more than
// MaxProposalIntervals openings, gets an error beside its field (in
// d.Errors) and ok is false.
func proposal(q url.Values, o *Office, d *CoordinationData) (spec hours.Spec, ok bool) {
	// Summer periods would hide the proposal in their weeks: a proposal is
	// about the ordinary week.
	spec = hours.Spec{Week: map[string][]string{}, Exceptions: o.Spec.Exceptions}
	ok = true
	for _, f := range Weekdays {
		v := strings.TrimSpace(q.Get(f.Name))
		d.Proposal[f.Name] = v
		switch {
		case len(q[f.Name]) > 1:
			d.Errors[f.Name] = "catalog.coord.error_twice"
		case len(v) > MaxProposalField || strings.Count(v, ",") >= MaxProposalIntervals:
			d.Errors[f.Name] = "catalog.coord.error_long"
		case v != "":
			for part := range strings.SplitSeq(v, ",") {
				spec.Week[f.Name] = append(spec.Week[f.Name], strings.TrimSpace(part))
			}
			continue
		default:
			continue
		}
		ok = false
	}
	return spec, ok
}

// coordinationBudget draws one view from the client's budget; when it is
// spent it sets Retry-After and the message, and answers false.
func (h *Web) coordinationBudget(w http.ResponseWriter, r *http.Request, d *CoordinationData) (bool, error) {
	if h.Limiter == nil {
		return true, nil
	}
	if h.App.Viewer != nil {
		if v := h.App.Viewer(r); v != nil && v.Operator {
			return true, nil
		}
	}
	err := h.Limiter.Take(r.Context(), nil, throttle.ClientKey("coordination:", web.RemoteAddr(r), "",
		throttle.Rule{Free: CoordinationViews, Window: CoordinationWindow}))
	refused, ok := errors.AsType[*throttle.Refused](err)
	if !ok {
		return err == nil, err
	}
	d.RetryMinutes = int(math.Ceil(refused.Wait.Minutes()))
	d.Errors["busy"] = "catalog.coord.error_busy"
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(refused.Wait.Seconds()))))
	return false, nil
}

func (h *Web) coordinationPage(w http.ResponseWriter, r *http.Request, status int, d *CoordinationData) {
	h.App.HTML(w, r, status, "coordination", h.coordinationShell(r, d))
}

func (h *Web) coordinationShell(r *http.Request, d *CoordinationData) *web.Page {
	page := h.App.NewPage(r, "catalog.coord.title")
	page.Breadcrumb = []web.Crumb{{Label: page.Title}}
	page.Data = d
	return page
}

// Length is a duration shown as hours and minutes ("12 h 30 min").
type Length time.Duration

func (l Length) String() string {
	d := time.Duration(l)
	sign := ""
	if d < 0 {
		sign, d = "−", -d
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if m == 0 {
		return sign + strconv.Itoa(h) + " h"
	}
	return sign + strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
}

// Delta is the proposal's figures minus the current ones, signed.
func (d *CoordinationData) Delta() Figures {
	if d.Proposed == nil {
		return Figures{}
	}
	p, c := d.Proposed.Figures, d.Current.Figures
	return Figures{Total: p.Total - c.Total, Outside: p.Outside - c.Outside, Gaps: p.Gaps - c.Gaps}
}

// Signed shows a change with its sign.
func (l Length) Signed() string {
	if l > 0 {
		return "+" + l.String()
	}
	return l.String()
}
