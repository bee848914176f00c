package booking

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/civico-pa/civico/internal/hours"
	"github.com/civico-pa/civico/internal/problem"
)

// FiguresData is the back office's page of figures.
type FiguresData struct {
	Figures *Figures
	Names   map[string]string // offices' and services' names
	Values  map[string]string
	Errors  problem.Fields
	CSV     string
	// ByHour and ByDay are the live appointments of all offices by the
	// hour and the weekday they start (hours without any left out).
	ByHour, ByDay []Count
	// BySex are the appointments by the booker's proven sex.
	BySex []SexRow
	// MinCell is the fewest appointments a count by sex shows.
	MinCell int
}

// Count is one row of a distribution.
type Count struct {
	Label string
	N     int
}

// period reads ?dal=&al= (the last 30 days by default).
func (h *Web) period(r *http.Request) (hours.Date, hours.Date, map[string]string, problem.Fields) {
	today := hours.DateOf(h.now())
	from, to := today.AddDays(-29), today
	q := r.URL.Query()
	values := map[string]string{"dal": q.Get("dal"), "al": q.Get("al")}
	errs := problem.Fields{}
	if v := values["dal"]; v != "" {
		if d, err := hours.ParseDate(v); err == nil {
			from = d
		} else {
			errs["dal"] = "booking.figures.error.date"
		}
	}
	if v := values["al"]; v != "" {
		if d, err := hours.ParseDate(v); err == nil {
			to = d
		} else {
			errs["al"] = "booking.figures.error.date"
		}
	}
	if len(errs) == 0 && (to.Before(from) || from.AddDays(MaxFiguresDays).Before(to)) {
		errs["al"] = "booking.figures.error.range"
	}
	if values["dal"] == "" {
		values["dal"] = from.String()
	}
	if values["al"] == "" {
		values["al"] = to.String()
	}
	return from, to, values, errs
}

func (h *Web) boFigures(w http.ResponseWriter, r *http.Request) {
	from, to, values, errs := h.period(r)
	d := &FiguresData{Values: values, Names: map[string]string{}}
	status := http.StatusOK
	if len(errs) > 0 {
		d.Errors, status = errs, http.StatusUnprocessableEntity
	} else {
		f, err := h.Store.Figures(r.Context(), from, to)
		if err != nil {
			h.App.Fail(w, r, err)
			return
		}
		d.Figures = f
		d.CSV = boPath + "/cifre.csv?dal=" + from.String() + "&al=" + to.String()
	}
	dir, err := h.Catalogue(r.Context())
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	for _, o := range dir.Offices {
		d.Names[o.ID] = o.Name
	}
	for _, s := range dir.Services {
		d.Names[s.ID] = s.Title
	}
	lang := h.App.I18n.Lang(r)
	if f := d.Figures; f != nil {
		for hour, n := range f.All.ByHour {
			if n > 0 {
				d.ByHour = append(d.ByHour, Count{fmt.Sprintf("%02d:00–%02d:00", hour, hour+1), n})
			}
		}
		names, ok := weekdays[lang]
		if !ok {
			names = weekdays["it"]
		}
		for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
			d.ByDay = append(d.ByDay, Count{names[wd], f.All.ByWeekday[wd]})
		}
		d.MinCell = MinCell
		for _, t := range f.BySex {
			row := SexRow{SexTally: t, Label: h.App.I18n.T(lang, "booking.figures.sex."+map[string]string{"F": "f", "M": "m", "": "unknown"}[t.Sex])}
			if v, ok := t.NoShowRate(); ok && t.BookedServed.N+t.NoShow.N > 0 {
				row.NoShow = percent(v)
			}
			if v, ok := t.OutsideShare(); ok && t.Bookings.N > t.Cancelled.N {
				row.Outside = percent(v)
			}
			d.BySex = append(d.BySex, row)
		}
	}
	h.boPage(w, r, status, "booking_bo_figures", h.App.I18n.T(lang, "booking.figures.title"), d)
}

// boFiguresCSV gives the figures by office and by service as CSV, one row
// per group, durations in minutes.
func (h *Web) boFiguresCSV(w http.ResponseWriter, r *http.Request) {
	from, to, _, errs := h.period(r)
	if len(errs) > 0 {
		h.App.Fail(w, r, errs)
		return
	}
	f, err := h.Store.Figures(r.Context(), from, to)
	if err != nil {
		h.App.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="appuntamenti-`+from.String()+`-`+to.String()+`.csv"`)
	w.Header().Set("Cache-Control", "private, no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group", "key", "tickets", "served", "skipped", "withdrawn", "wait_median_min", "wait_p90_min", "service_median_min",
		"bookings", "cancelled", "booked_served", "no_show", "no_show_rate", "outside_working_day", "outside_share"})
	row := func(group string, t *Tally) {
		_ = cw.Write([]string{group, t.Key, strconv.Itoa(t.Tickets), strconv.Itoa(t.Served), strconv.Itoa(t.Skipped), strconv.Itoa(t.Withdrawn),
			minutes(t.WaitMedian), minutes(t.WaitP90), minutes(t.ServiceMedian), strconv.Itoa(t.Bookings), strconv.Itoa(t.Cancelled),
			strconv.Itoa(t.BookedServed), strconv.Itoa(t.NoShow), fmt.Sprintf("%.3f", t.NoShowRate()), strconv.Itoa(t.Outside), fmt.Sprintf("%.3f", t.OutsideShare())})
	}
	row("all", &f.All)
	for i := range f.Offices {
		row("office", &f.Offices[i])
	}
	for i := range f.Services {
		row("service", &f.Services[i])
	}
	// By sex: appointments only (tickets by sex: the dashboard); a hidden count is
	// "c" (confidential, as Eurostat marks it), and so is a share from it.
	for _, t := range f.BySex {
		key := t.Sex
		if key == "" {
			key = "unknown"
		}
		noShow, ok1 := t.NoShowRate()
		outside, ok2 := t.OutsideShare()
		_ = cw.Write([]string{"sex", key, "", "", "", "", "", "", "", cell(t.Bookings), cell(t.Cancelled), cell(t.BookedServed), cell(t.NoShow),
			share(noShow, ok1), cell(t.Outside), share(outside, ok2)})
	}
	cw.Flush()
}

func cell(c Cell) string {
	if c.Hidden {
		return "c"
	}
	return strconv.Itoa(c.N)
}

func share(v float64, ok bool) string {
	if !ok {
		return "c"
	}
	return fmt.Sprintf("%.3f", v)
}

// SexRow is a row of the page's figures by sex.
type SexRow struct {
	SexTally
	// Label names the group; NoShow and Outside are the shares as
	// percentages, "" when hidden.
	Label, NoShow, Outside string
}

func minutes(d time.Duration) string { return strconv.FormatFloat(d.Minutes(), 'f', 1, 64) }

// Minutes writes a duration in whole minutes, for the page.
func (t Tally) Minutes(d time.Duration) int { return int(d.Round(time.Minute).Minutes()) }

// NoShowPercent and OutsidePercent write the shares as percentages, for
// the page.
func (t Tally) NoShowPercent() string { return percent(t.NoShowRate()) }

// OutsidePercent: see NoShowPercent.
func (t Tally) OutsidePercent() string { return percent(t.OutsideShare()) }

func percent(share float64) string { return strconv.FormatFloat(100*share, 'f', 1, 64) + "%" }
