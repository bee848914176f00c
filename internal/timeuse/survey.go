// Package timeuse is the time-use survey's instrument: the individual
// questionnaire and two diary days (a weekday and a weekend day) of
// episodes from 04:00 to 04:00, filled in the personal area, saved and
// resumed, and sent once per account into an anonymous dataset that holds
// no identity (docs/TIMEUSE.md); `civico timeuse synth` adds synthetic
// respondents and `civico timeuse export` writes the dataset as CSV. The
// analysis of the dataset is package timeuse/analysis.
package timeuse

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DayMinutes is a diary day: 24 hours from 04:00, as minutes from 04:00.
const DayMinutes = 1440

// MinEpisodes is the fewest episodes a diary day holds (the ATUS rule).
const MinEpisodes = 5

// MaxEpisodes bounds a diary day (one every ten minutes).
const MaxEpisodes = 144

// Morning is where "copy the morning" stops: 12:00, as minutes from 04:00.
const Morning = 8 * 60

// Codes of the questionnaire's answers, as the dataset writes them.
var (
	Sexes       = []string{"F", "M"}
	Employments = []string{"employed", "self_employed", "unemployed", "student", "retired", "homemaker", "other"}
	// Destinations: where a commuter goes.
	Destinations = []string{"town", "nearby", "milan", "other"}
	Educations   = []string{"none", "primary", "lower_secondary", "upper_secondary", "tertiary"}
	// PreferredTimes: when the respondent would like to reach the town's
	// offices.
	PreferredTimes = []string{"weekday_early", "weekday_morning", "weekday_lunch", "weekday_afternoon", "weekday_evening", "saturday_morning", "online_only"}
	// Places are where an episode happens, and Transport how one travels
	// (HETUS codes).
	Places    = []string{"11", "12", "13", "14", "15", "16", "17", "19"}
	Transport = []string{"21", "22", "23", "24", "29", "31"}
	// WithWhom: who the respondent was with.
	WithWhom = []string{"alone", "partner", "parent", "children", "other_household", "others"}
	// DayTypes of a diary; the weekday diary is a weekday, the weekend one
	// a Saturday or a Sunday.
	DayTypes = []string{"weekday", "saturday", "sunday"}
)

// Limits of the questionnaire.
const (
	MinAge, MaxAge   = 15, 110
	MaxWorkHours     = 100
	MaxCommute       = 300
	MaxHousehold     = 20
	MaxChildAge      = 17
	MaxChildrenAsked = 10
)

// Diaries are the two days a respondent describes.
const (
	Weekday = "feriale"
	Weekend = "festivo"
)

// Days are the diary days in the order of the steps.
var Days = []string{Weekday, Weekend}

// Answers are a respondent's answers: the questionnaire and the diaries.
// A draft holds them incomplete.
type Answers struct {
	Q       Questionnaire     `json:"q"`
	Diaries map[string]*Diary `json:"diaries,omitempty"`
}

// Questionnaire is the individual questionnaire.
type Questionnaire struct {
	Sex        string `json:"sex"`
	Age        int    `json:"age"`
	Employment string `json:"employment"`
	WorkHours  int    `json:"work_hours"`
	// Commuter: the respondent travels out of home to work or study.
	Commuter       bool   `json:"commuter"`
	Destination    string `json:"destination"`
	CommuteMinutes int    `json:"commute_minutes"`
	CommuteMode    string `json:"commute_mode"`
	HouseholdSize  int    `json:"household_size"`
	// ChildrenAges are the ages of the children (under 18) living with
	// the respondent.
	ChildrenAges []int    `json:"children_ages"`
	Education    string   `json:"education"`
	Preferred    []string `json:"preferred"`
	// Done: the questionnaire was completed once.
	Done bool `json:"done"`
}

// Diary is one diary day.
type Diary struct {
	DayType  string    `json:"day_type"`
	Episodes []Episode `json:"episodes"`
}

// Episode is a stretch of the day doing one main activity.
type Episode struct {
	// Start and End are minutes from 04:00 (0-1440).
	Start     int    `json:"start"`
	End       int    `json:"end"`
	Activity  string `json:"activity"`
	Secondary string `json:"secondary,omitempty"`
	Location  string `json:"location"`
	WithWhom  string `json:"with_whom"`
}

// Clock writes minutes from 04:00 as a clock time (1440 is 04:00).
func Clock(m int) string {
	t := (m + 4*60) % DayMinutes
	return fmt.Sprintf("%02d:%02d", t/60, t%60)
}

// ParseClock reads a clock time "HH:MM" as minutes from 04:00; end says
// the time ends an episode, so that 04:00 is the day's end (1440).
func ParseClock(s string, end bool) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		h, m, ok = strings.Cut(strings.TrimSpace(s), ".")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, false
	}
	v := (hh*60 + mm - 4*60 + DayMinutes) % DayMinutes
	if end && v == 0 {
		v = DayMinutes
	}
	return v, true
}

// AgeBand is the provider's band of an age.
func AgeBand(age int) string {
	switch {
	case age < 18:
		return "15-17"
	case age < 25:
		return "18-24"
	case age < 35:
		return "25-34"
	case age < 45:
		return "35-44"
	case age < 55:
		return "45-54"
	case age < 65:
		return "55-64"
	case age < 75:
		return "65-74"
	}
	return "75+"
}

// Children is the dataset's `children`: the children under 14 in the
// household, 0, 1, 2 or 3+.
func Children(ages []int) string {
	n := 0
	for _, a := range ages {
		if a < 14 {
			n++
		}
	}
	if n >= 3 {
		return "3+"
	}
	return strconv.Itoa(n)
}

// Works says whether an employment status has working hours.
func Works(employment string) bool { return employment == "employed" || employment == "self_employed" }

// Fields are errors beside the questionnaire's fields (message ids).
type Fields map[string]string

// Check validates the questionnaire: errors by field, message ids.
func (q *Questionnaire) Check() Fields {
	f := Fields{}
	if !slices.Contains(Sexes, q.Sex) {
		f["sex"] = "timeuse.error.choose"
	}
	if q.Age < MinAge || q.Age > MaxAge {
		f["age"] = "timeuse.error.age"
	}
	if !slices.Contains(Employments, q.Employment) {
		f["employment"] = "timeuse.error.choose"
	}
	if Works(q.Employment) && (q.WorkHours < 1 || q.WorkHours > MaxWorkHours) {
		f["work_hours"] = "timeuse.error.work_hours"
	}
	if !Works(q.Employment) && q.WorkHours != 0 && (q.WorkHours < 0 || q.WorkHours > MaxWorkHours) {
		f["work_hours"] = "timeuse.error.work_hours"
	}
	if q.Commuter {
		if !slices.Contains(Destinations, q.Destination) {
			f["destination"] = "timeuse.error.choose"
		}
		if q.CommuteMinutes < 1 || q.CommuteMinutes > MaxCommute {
			f["commute_minutes"] = "timeuse.error.commute_minutes"
		}
		if !slices.Contains(Transport, q.CommuteMode) {
			f["commute_mode"] = "timeuse.error.choose"
		}
	}
	if q.HouseholdSize < 1 || q.HouseholdSize > MaxHousehold {
		f["household_size"] = "timeuse.error.household"
	}
	for _, a := range q.ChildrenAges {
		if a < 0 || a > MaxChildAge {
			f["children_ages"] = "timeuse.error.children_ages"
		}
	}
	if len(q.ChildrenAges) > MaxChildrenAsked || (q.HouseholdSize >= 1 && len(q.ChildrenAges) >= q.HouseholdSize) {
		f["children_ages"] = "timeuse.error.children_count"
	}
	if !slices.Contains(Educations, q.Education) {
		f["education"] = "timeuse.error.choose"
	}
	if len(q.Preferred) == 0 {
		f["preferred"] = "timeuse.error.preferred"
	}
	for _, p := range q.Preferred {
		if !slices.Contains(PreferredTimes, p) {
			f["preferred"] = "timeuse.error.choose"
		}
	}
	return f
}

// normalise clears what the answers make irrelevant.
func (q *Questionnaire) normalise() {
	if !q.Commuter {
		q.Destination, q.CommuteMinutes, q.CommuteMode = "", 0, ""
	}
	if !Works(q.Employment) && q.WorkHours < 0 {
		q.WorkHours = 0
	}
	sort.Ints(q.ChildrenAges)
}

// ParseAges reads a list of ages typed as "3, 7 12".
func ParseAges(s string) ([]int, bool) {
	var out []int
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// Issue is a problem of a diary day with what to do about it: a message
// id and the times it names.
type Issue struct {
	Message  string
	From, To string
	// Episode is the index of the episode concerned, -1 for the day.
	Episode int
}

// Sorted returns the episodes by start.
func (d *Diary) Sorted() []Episode {
	out := slices.Clone(d.Episodes)
	sort.SliceStable(out, func(a, b int) bool { return out[a].Start < out[b].Start })
	return out
}

// Check lists what keeps a diary day from being complete: the day covered
// from 04:00 to 04:00 with no gap and no overlap, at least MinEpisodes
// episodes, each with an activity, a place and company.
func (d *Diary) Check(acts *Activities) []Issue {
	var out []Issue
	if d == nil || len(d.Episodes) == 0 {
		return []Issue{{Message: "timeuse.diary.issue.empty", Episode: -1}}
	}
	eps := d.Sorted()
	if eps[0].Start > 0 {
		out = append(out, Issue{Message: "timeuse.diary.issue.start", From: Clock(0), To: Clock(eps[0].Start), Episode: 0})
	}
	for i := 1; i < len(eps); i++ {
		prev, cur := eps[i-1], eps[i]
		switch {
		case cur.Start > prev.End:
			out = append(out, Issue{Message: "timeuse.diary.issue.gap", From: Clock(prev.End), To: Clock(cur.Start), Episode: i})
		case cur.Start < prev.End:
			out = append(out, Issue{Message: "timeuse.diary.issue.overlap", From: Clock(cur.Start), To: Clock(min(prev.End, cur.End)), Episode: i})
		}
	}
	if last := eps[len(eps)-1]; last.End < DayMinutes {
		out = append(out, Issue{Message: "timeuse.diary.issue.end", From: Clock(last.End), To: Clock(DayMinutes), Episode: len(eps) - 1})
	}
	for i, e := range eps {
		if e.End <= e.Start || !acts.Valid(e.Activity) || (e.Secondary != "" && !acts.Valid(e.Secondary)) || !validWhere(e.Location) || !slices.Contains(WithWhom, e.WithWhom) {
			out = append(out, Issue{Message: "timeuse.diary.issue.episode", From: Clock(e.Start), To: Clock(e.End), Episode: i})
		}
	}
	if len(eps) < MinEpisodes {
		out = append(out, Issue{Message: "timeuse.diary.issue.few", Episode: -1})
	}
	return out
}

func validWhere(code string) bool {
	return slices.Contains(Places, code) || slices.Contains(Transport, code)
}

// CheckEpisode validates one episode as typed, against the other
// episodes of its day (except the one at index skip, the one edited):
// errors by field.
func CheckEpisode(e Episode, acts *Activities) Fields {
	f := Fields{}
	if e.Start < 0 || e.Start >= DayMinutes {
		f["start"] = "timeuse.error.time"
	}
	if e.End <= 0 || e.End > DayMinutes {
		f["end"] = "timeuse.error.time"
	} else if _, bad := f["start"]; !bad && e.End <= e.Start {
		f["end"] = "timeuse.error.end_before_start"
	}
	if !acts.Valid(e.Activity) {
		f["activity"] = "timeuse.error.activity"
	}
	if e.Secondary != "" && (!acts.Valid(e.Secondary) || e.Secondary == e.Activity) {
		f["secondary"] = "timeuse.error.secondary"
	}
	if !validWhere(e.Location) {
		f["location"] = "timeuse.error.choose"
	}
	if !slices.Contains(WithWhom, e.WithWhom) {
		f["with_whom"] = "timeuse.error.choose"
	}
	return f
}

// CopyMorning replaces the morning (04:00-12:00) of d with that of from:
// from's episodes that start before 12:00, the last cut at 12:00; d's
// episodes that start before 12:00 are removed and one that runs past
// 12:00 starts at 12:00 instead.
func (d *Diary) CopyMorning(from *Diary) {
	var out []Episode
	for _, e := range from.Sorted() {
		if e.Start < Morning {
			e.End = min(e.End, Morning)
			out = append(out, e)
		}
	}
	for _, e := range d.Sorted() {
		switch {
		case e.Start >= Morning:
			out = append(out, e)
		case e.End > Morning:
			e.Start = Morning
			out = append(out, e)
		}
	}
	d.Episodes = out
}
