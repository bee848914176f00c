package hours

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func clk(s string) Clock {
	c, err := ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

func iv(s string) Interval {
	var a, b string
	fmt.Sscanf(s, "%5s-%5s", &a, &b)
	return Interval{clk(a), clk(b)}
}

func day(ivs ...string) []Interval {
	out := make([]Interval, len(ivs))
	for k, s := range ivs {
		out[k] = iv(s)
	}
	return out
}

func date(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func rome(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, Rome)
	if err != nil {
		panic(err)
	}
	return t
}

// weekdays 09:00-12:30, Tuesday and Thursday also 14:30-17:30, Wednesday
// evening 17:00-19:30, Saturday 09:00-12:00.
func anagrafe() *Hours {
	var w Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = day("09:00-12:30")
	}
	w[time.Tuesday] = day("09:00-12:30", "14:30-17:30")
	w[time.Thursday] = day("09:00-12:30", "14:30-17:30")
	w[time.Wednesday] = day("09:00-12:30", "17:00-19:30")
	w[time.Saturday] = day("09:00-12:00")
	return &Hours{Schedules: []Schedule{{Week: w}}, Holidays: Holidays{PatronMonth: time.December, PatronDay: 7}}
}

func TestEaster(t *testing.T) {
	for year, want := range map[int]string{2000: "2000-04-23", 2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25"} {
		if got := Easter(year); got != date(want) {
			t.Errorf("Easter(%d) = %s, want %s", year, got, want)
		}
	}
}

func TestHolidays(t *testing.T) {
	h := Holidays{PatronMonth: time.December, PatronDay: 7}
	for _, d := range []string{"2026-01-01", "2026-01-06", "2026-04-06", "2026-04-25", "2026-05-01", "2026-06-02", "2026-08-15", "2026-11-01", "2026-12-07", "2026-12-08", "2026-12-25", "2026-12-26"} {
		if h.Name(date(d)) == "" {
			t.Errorf("%s is not a holiday", d)
		}
	}
	for _, d := range []string{"2026-04-07", "2026-12-24", "2026-06-03", "2027-04-06"} {
		if n := h.Name(date(d)); n != "" {
			t.Errorf("%s is a holiday (%s)", d, n)
		}
	}
	if (Holidays{}).Name(date("2026-12-07")) != "" {
		t.Error("a patron day without a patron")
	}
}

func TestOpenAt(t *testing.T) {
	h := anagrafe()
	tests := []struct {
		at   string
		open bool
	}{
		{"2026-11-24 09:00", true},  // Tuesday, opening instant
		{"2026-11-24 12:29", true},  // before closing
		{"2026-11-24 12:30", false}, // closing instant is closed
		{"2026-11-24 15:00", true},  // Tuesday afternoon
		{"2026-11-23 15:00", false}, // Monday afternoon
		{"2026-11-25 18:45", true},  // Wednesday evening
		{"2026-11-28 10:00", true},  // Saturday
		{"2026-11-29 10:00", false}, // Sunday
		{"2026-12-25 10:00", false}, // Christmas, a Friday
		{"2026-12-07 10:00", false}, // patron day, a Monday
		{"2026-04-06 10:00", false}, // Easter Monday
	}
	for _, tt := range tests {
		if got := h.OpenAt(rome(tt.at)); got != tt.open {
			t.Errorf("OpenAt(%s) = %v, want %v", tt.at, got, tt.open)
		}
	}
}

func TestExceptionsAndPeriods(t *testing.T) {
	h := anagrafe()
	var summer Week
	for d := time.Monday; d <= time.Friday; d++ {
		summer[d] = day("08:30-12:00")
	}
	h.Schedules = append([]Schedule{{From: date("2026-07-01"), To: date("2026-08-31"), Week: summer}}, h.Schedules...)
	h.Exceptions = []Exception{
		{Date: date("2026-11-27"), Closed: true, Note: "inventario"},
		{Date: date("2026-11-26"), Intervals: day("09:00-11:00")},
		{Date: date("2026-11-29"), Intervals: day("10:00-13:00"), Note: "apertura straordinaria elezioni"},
		{Date: date("2026-12-08"), Intervals: day("09:00-12:00"), Note: "aperto per il referendum"},
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   string
		open bool
	}{
		{"2026-07-15 08:45", true},  // summer hours start earlier
		{"2026-07-15 12:15", false}, // and end earlier
		{"2026-07-18 10:00", false}, // no summer Saturdays
		{"2026-09-01 08:45", false}, // back to normal
		{"2026-11-27 10:00", false}, // closure
		{"2026-11-26 10:30", true},  // changed hours
		{"2026-11-26 11:30", false}, // changed hours end early
		{"2026-11-26 15:00", false}, // and replace the afternoon
		{"2026-11-29 11:00", true},  // extra opening on a Sunday
		{"2026-12-08 10:00", true},  // an exception beats a holiday
	}
	for _, tt := range tests {
		if got := h.OpenAt(rome(tt.at)); got != tt.open {
			t.Errorf("OpenAt(%s) = %v, want %v", tt.at, got, tt.open)
		}
	}
	if d := h.On(date("2026-11-27")); d.Exception == nil || d.Exception.Note != "inventario" || len(d.Intervals) != 0 {
		t.Errorf("On(closure) = %+v", d)
	}
	if d := h.On(date("2026-12-25")); d.Holiday != "Natale" || len(d.Intervals) != 0 {
		t.Errorf("On(Christmas) = %+v", d)
	}
}

// On the last Sundays of March and October the day lasts 23 and 25 hours:
// an opening across the change lasts one hour less or more.
func TestDaylightSaving(t *testing.T) {
	var w Week
	w[time.Sunday] = day("01:00-04:00", "09:00-12:00")
	h := &Hours{Schedules: []Schedule{{Week: w}}}
	tests := []struct {
		date  string
		night time.Duration
	}{
		{"2026-03-29", 2 * time.Hour}, // 02:00 -> 03:00
		{"2026-10-25", 4 * time.Hour}, // 03:00 -> 02:00
		{"2026-11-01", 3 * time.Hour}, // an ordinary Sunday (a holiday: use OpenOnHolidays)
	}
	h.OpenOnHolidays = true
	for _, tt := range tests {
		d := date(tt.date)
		spans := h.Spans(d.At(0), d.AddDays(1).At(0))
		if len(spans) != 2 {
			t.Fatalf("%s: spans %v", tt.date, spans)
		}
		if got := spans[0].Duration(); got != tt.night {
			t.Errorf("%s: the night opening lasts %v, want %v", tt.date, got, tt.night)
		}
		if got := spans[1].Duration(); got != 3*time.Hour {
			t.Errorf("%s: the morning opening lasts %v, want 3h", tt.date, got)
		}
		if got := spans[1].Start.UTC().Hour(); (tt.date == "2026-03-29" && got != 7) || (tt.date != "2026-03-29" && got != 8) {
			t.Errorf("%s: 09:00 in Rome is %02d:00 UTC", tt.date, got)
		}
	}
	if !h.OpenAt(time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)) { // 02:30 CEST, the first time round
		t.Error("closed during the repeated hour")
	}
	if !h.OpenAt(time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)) { // 02:30 CET, the second time round
		t.Error("closed during the repeated hour, second time")
	}
}

func TestAcrossMidnight(t *testing.T) {
	var w Week
	w[time.Friday] = day("20:00-26:00") // a library's night opening, until 02:00 on Saturday
	w[time.Saturday] = day("10:00-12:00")
	h := &Hours{Schedules: []Schedule{{Week: w}}}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	for at, want := range map[string]bool{
		"2026-11-27 23:30": true, "2026-11-28 01:59": true, "2026-11-28 02:00": false, "2026-11-28 11:00": true, "2026-11-27 19:59": false,
	} {
		if got := h.OpenAt(rome(at)); got != want {
			t.Errorf("OpenAt(%s) = %v, want %v", at, got, want)
		}
	}
	spans := h.Spans(rome("2026-11-28 00:00"), rome("2026-11-29 00:00"))
	if len(spans) != 2 || spans[0].Start != rome("2026-11-28 00:00") || spans[0].End != rome("2026-11-28 02:00") {
		t.Errorf("Saturday's spans %v", spans)
	}
	w[time.Saturday] = day("01:00-03:00")
	bad := &Hours{Schedules: []Schedule{{Week: w}}}
	if err := bad.Validate(); !errors.Is(err, ErrOverlap) {
		t.Errorf("a night opening running into the next day's: %v", err)
	}
}

func TestValidate(t *testing.T) {
	base := func() *Hours { return anagrafe() }
	tests := []struct {
		name string
		edit func(*Hours)
		want error
	}{
		{"inverted", func(h *Hours) { h.Schedules[0].Week[time.Monday] = day("12:00-09:00") }, ErrInverted},
		{"empty", func(h *Hours) { h.Schedules[0].Week[time.Monday] = day("09:00-09:00") }, ErrInverted},
		{"overlapping", func(h *Hours) { h.Schedules[0].Week[time.Monday] = day("09:00-12:00", "11:00-13:00") }, ErrOverlap},
		{"too long", func(h *Hours) { h.Schedules[0].Week[time.Monday] = day("09:00-33:30") }, ErrTooLong},
		{"inverted period", func(h *Hours) { h.Schedules[0].From, h.Schedules[0].To = date("2026-09-01"), date("2026-06-01") }, ErrPeriod},
		{"exception outside", func(h *Hours) {
			h.Schedules[0].From, h.Schedules[0].To = date("2026-01-01"), date("2026-12-31")
			h.Exceptions = []Exception{{Date: date("2027-01-04"), Closed: true}}
		}, ErrOutside},
		{"overlapping exception", func(h *Hours) {
			h.Exceptions = []Exception{{Date: date("2026-11-26"), Intervals: day("09:00-12:00", "10:00-11:00")}}
		}, ErrOverlap},
	}
	for _, tt := range tests {
		h := base()
		tt.edit(h)
		if err := h.Validate(); !errors.Is(err, tt.want) {
			t.Errorf("%s: Validate() = %v, want %v", tt.name, err, tt.want)
		}
	}
	h := base()
	h.Exceptions = []Exception{{Date: date("2026-11-26"), Closed: true}, {Date: date("2026-11-26"), Closed: true}}
	if h.Validate() == nil {
		t.Error("two exceptions on one date were accepted")
	}
	for _, s := range []string{"24:61", "9.00", "-1:00", "49:00", "", "7"} {
		if _, err := ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) accepted", s)
		}
	}
}

func TestNextOpening(t *testing.T) {
	h := anagrafe()
	tests := []struct{ at, start, end string }{
		{"2026-11-24 10:00", "2026-11-24 10:00", "2026-11-24 12:30"}, // open now
		{"2026-11-24 13:00", "2026-11-24 14:30", "2026-11-24 17:30"}, // lunch break
		{"2026-11-28 12:30", "2026-11-30 09:00", "2026-11-30 12:30"}, // Saturday noon -> Monday
		{"2026-12-24 18:00", "2026-12-28 09:00", "2026-12-28 12:30"}, // Thursday evening, over Christmas and Santo Stefano
		{"2026-12-05 13:00", "2026-12-09 09:00", "2026-12-09 12:30"}, // patron day and Immacolata
	}
	for _, tt := range tests {
		s, ok := h.NextOpening(rome(tt.at), 60)
		if !ok || !s.Start.Equal(rome(tt.start)) || !s.End.Equal(rome(tt.end)) {
			t.Errorf("NextOpening(%s) = %v %v, want %s to %s", tt.at, s, ok, tt.start, tt.end)
		}
	}
	closed := &Hours{}
	if _, ok := closed.NextOpening(rome("2026-11-24 10:00"), 30); ok {
		t.Error("an office with no hours opens")
	}
	// An opening that continues past the search window is reported whole.
	var w Week
	w[time.Tuesday] = day("09:00-12:00")
	one := &Hours{Schedules: []Schedule{{Week: w}}}
	if s, ok := one.NextOpening(rome("2026-11-18 10:00"), 7); !ok || !s.End.Equal(rome("2026-11-24 12:00")) {
		t.Errorf("opening at the edge of the window: %v %v", s, ok)
	}
}

func TestUnionIntersectSubtract(t *testing.T) {
	s := func(a, b string) Span { return Span{rome(a), rome(b)} }
	a := []Span{s("2026-11-24 09:00", "2026-11-24 12:00"), s("2026-11-24 14:00", "2026-11-24 16:00")}
	b := []Span{s("2026-11-24 11:00", "2026-11-24 15:00"), s("2026-11-24 16:00", "2026-11-24 17:00")}
	u := Union(append(append([]Span{}, a...), b...))
	if len(u) != 1 || !u[0].Start.Equal(rome("2026-11-24 09:00")) || !u[0].End.Equal(rome("2026-11-24 17:00")) {
		t.Errorf("Union = %v", u)
	}
	in := Intersect(a, b)
	if len(in) != 2 || in[0] != s("2026-11-24 11:00", "2026-11-24 12:00") || in[1] != s("2026-11-24 14:00", "2026-11-24 15:00") {
		t.Errorf("Intersect = %v", in)
	}
	gaps := Subtract([]Span{s("2026-11-24 08:00", "2026-11-24 18:00")}, a)
	if len(gaps) != 3 || Total(gaps) != 5*time.Hour {
		t.Errorf("Subtract = %v (%v)", gaps, Total(gaps))
	}
	if Total(u) != 8*time.Hour {
		t.Errorf("Total(Union) = %v", Total(u))
	}
}

func TestWeekFigures(t *testing.T) {
	h := anagrafe()
	from, to := rome("2026-11-23 00:00"), rome("2026-11-30 00:00") // Monday to Monday, no holidays
	spans := h.Spans(from, to)
	// 5 mornings of 3.5 h, 2 afternoons of 3 h, one evening of 2.5 h, Saturday 3 h.
	if got, want := Total(spans), 17*time.Hour+30*time.Minute+6*time.Hour+2*time.Hour+30*time.Minute+3*time.Hour; got != want {
		t.Errorf("hours in the week %v, want %v", got, want)
	}
	if got := h.Schedules[0].Week.Minutes(); got != int((29 * time.Hour).Minutes()) {
		t.Errorf("Week.Minutes = %d", got)
	}
	// Outside 08:00-18:00 on weekdays: Wednesday 18:00-19:30, and all of Saturday.
	if got, want := Total(OutsideWorkingTime(spans, from, to)), 90*time.Minute+3*time.Hour; got != want {
		t.Errorf("hours outside the working day %v, want %v", got, want)
	}
}
