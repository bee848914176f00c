package analysis

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// The values of the respondents' grouping keys, in the order the groups
// are written. They are the values of the CSV columns of the same name.
var (
	Sexes       = []string{"F", "M"}
	AgeBands    = []string{"15-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"}
	Employments = []string{"employed", "self_employed", "unemployed", "student", "retired", "homemaker", "other"}
	YesNo       = []string{"yes", "no"}
	ChildCounts = []string{"0", "1", "2", "3+"}
	DayTypes    = []string{"weekday", "saturday", "sunday"}
)

// Keys are the grouping keys in the order a group's name lists them.
var Keys = []string{"sex", "age_band", "employment", "commuter", "children"}

// keyValues are the values of Keys, by position.
var keyValues = [][]string{Sexes, AgeBands, Employments, YesNo, ChildCounts}

// DayWeek is the day type of the average week, written beside the three
// day types of the diaries.
const DayWeek = "week"

// DayLength is the diary day in minutes: 04:00 to 04:00.
const DayLength = 1440

// Respondent is one row of respondents.csv: a person, with no identity
// but a random id.
type Respondent struct {
	ID         string
	Sex        string // F|M
	Age        int
	AgeBand    string // one of AgeBands, consistent with Age
	Employment string // one of Employments
	Commuter   string // yes|no
	Children   string // children under 14 in the household: 0|1|2|3+
	Weight     float64
}

// Diary is one row of diaries.csv: one diary day of a respondent.
type Diary struct {
	ID           string
	RespondentID string
	DayType      string  // weekday|saturday|sunday
	Weight       float64 // the final diary weight the indicators use
}

// Episode is one row of episodes.csv: from Start to End (minutes from
// 04:00, 0-1440) the diary's person did Activity (a HETUS code of 1 to 3
// digits), perhaps with a Secondary activity, at Location or by a mode of
// transport (HETUS where codes), WithWhom.
type Episode struct {
	DiaryID   string
	Start     int
	End       int
	Activity  string
	Secondary string
	Location  string
	WithWhom  string
}

// Dataset is the anonymous dataset: the three files of a directory.
type Dataset struct {
	Respondents []Respondent
	Diaries     []Diary
	Episodes    []Episode

	// lines are the file lines of the rows when the dataset was read, so
	// that the cross-file checks name the right line; nil otherwise (row i
	// is then taken to be on line i+2, after the header).
	respLines, diaryLines, epLines []int
}

// FormatError is a refused row: the file, its line (1 is the header) and
// the reason.
type FormatError struct {
	File   string
	Line   int
	Column string // "" when the reason is about the whole row
	Reason string
}

func (e *FormatError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("%s line %d, column %s: %s", e.File, e.Line, e.Column, e.Reason)
	}
	return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Reason)
}

// AgeBand is the band of an age in years ("" under 15).
func AgeBand(age int) string {
	switch {
	case age < 15:
		return ""
	case age < 18:
		return "15-17"
	case age < 25:
		return "18-24"
	case age >= 75:
		return "75+"
	}
	lo := (age-25)/10*10 + 25
	return strconv.Itoa(lo) + "-" + strconv.Itoa(lo+9)
}

func line(lines []int, i int) int {
	if lines != nil {
		return lines[i]
	}
	return i + 2
}

func checkWeight(w float64) string {
	if math.IsNaN(w) || math.IsInf(w, 0) || w <= 0 {
		return "the weight must be a positive number"
	}
	return ""
}

func (r *Respondent) check() (column, reason string) {
	switch {
	case r.ID == "":
		return "respondent_id", "empty id"
	case !slices.Contains(Sexes, r.Sex):
		return "sex", fmt.Sprintf("%q is not F or M", r.Sex)
	case r.Age < 15 || r.Age > 120:
		return "age", fmt.Sprintf("%d is not an age between 15 and 120", r.Age)
	case !slices.Contains(AgeBands, r.AgeBand):
		return "age_band", fmt.Sprintf("%q is not one of %v", r.AgeBand, AgeBands)
	case AgeBand(r.Age) != r.AgeBand:
		return "age_band", fmt.Sprintf("%q does not hold age %d (%s does)", r.AgeBand, r.Age, AgeBand(r.Age))
	case !slices.Contains(Employments, r.Employment):
		return "employment", fmt.Sprintf("%q is not one of %v", r.Employment, Employments)
	case !slices.Contains(YesNo, r.Commuter):
		return "commuter", fmt.Sprintf("%q is not yes or no", r.Commuter)
	case !slices.Contains(ChildCounts, r.Children):
		return "children", fmt.Sprintf("%q is not one of %v", r.Children, ChildCounts)
	}
	if s := checkWeight(r.Weight); s != "" {
		return "weight", s
	}
	return "", ""
}

func (d *Diary) check() (column, reason string) {
	switch {
	case d.ID == "":
		return "diary_id", "empty id"
	case d.RespondentID == "":
		return "respondent_id", "empty id"
	case !slices.Contains(DayTypes, d.DayType):
		return "day_type", fmt.Sprintf("%q is not weekday, saturday or sunday", d.DayType)
	}
	if s := checkWeight(d.Weight); s != "" {
		return "weight", s
	}
	return "", ""
}

func (e *Episode) check() (column, reason string) {
	switch {
	case e.DiaryID == "":
		return "diary_id", "empty id"
	case e.Start < 0 || e.Start >= DayLength:
		return "start_min", fmt.Sprintf("%d is not a minute from 0 to 1439", e.Start)
	case e.End <= e.Start || e.End > DayLength:
		return "end_min", fmt.Sprintf("%d is not after start_min %d and at most 1440", e.End, e.Start)
	}
	if err := CheckCode(e.Activity); err != nil {
		return "activity", err.Error()
	}
	if e.Secondary != "" {
		if err := CheckCode(e.Secondary); err != nil {
			return "secondary", err.Error()
		}
	}
	return "", ""
}

// Validate checks every row and the links between the files: ids unique,
// every diary's respondent known, every episode's diary known, and each
// diary's episodes covering 04:00 to 04:00 with no gap and no overlap.
// The first problem is returned as a *FormatError.
func (ds *Dataset) Validate() error {
	resp := make(map[string]int, len(ds.Respondents))
	for i := range ds.Respondents {
		r := &ds.Respondents[i]
		if col, why := r.check(); why != "" {
			return &FormatError{"respondents.csv", line(ds.respLines, i), col, why}
		}
		if j, dup := resp[r.ID]; dup {
			return &FormatError{"respondents.csv", line(ds.respLines, i), "respondent_id", fmt.Sprintf("%q already on line %d", r.ID, line(ds.respLines, j))}
		}
		resp[r.ID] = i
	}
	diaries := make(map[string]int, len(ds.Diaries))
	for i := range ds.Diaries {
		d := &ds.Diaries[i]
		if col, why := d.check(); why != "" {
			return &FormatError{"diaries.csv", line(ds.diaryLines, i), col, why}
		}
		if j, dup := diaries[d.ID]; dup {
			return &FormatError{"diaries.csv", line(ds.diaryLines, i), "diary_id", fmt.Sprintf("%q already on line %d", d.ID, line(ds.diaryLines, j))}
		}
		if _, ok := resp[d.RespondentID]; !ok {
			return &FormatError{"diaries.csv", line(ds.diaryLines, i), "respondent_id", fmt.Sprintf("%q is not in respondents.csv", d.RespondentID)}
		}
		diaries[d.ID] = i
	}
	byDiary := make([][]int, len(ds.Diaries))
	for i := range ds.Episodes {
		e := &ds.Episodes[i]
		if col, why := e.check(); why != "" {
			return &FormatError{"episodes.csv", line(ds.epLines, i), col, why}
		}
		d, ok := diaries[e.DiaryID]
		if !ok {
			return &FormatError{"episodes.csv", line(ds.epLines, i), "diary_id", fmt.Sprintf("%q is not in diaries.csv", e.DiaryID)}
		}
		byDiary[d] = append(byDiary[d], i)
	}
	for d, eps := range byDiary {
		if len(eps) == 0 {
			return &FormatError{"diaries.csv", line(ds.diaryLines, d), "", fmt.Sprintf("diary %q has no episodes in episodes.csv", ds.Diaries[d].ID)}
		}
		slices.SortStableFunc(eps, func(a, b int) int { return ds.Episodes[a].Start - ds.Episodes[b].Start })
		at := 0
		for _, i := range eps {
			e := &ds.Episodes[i]
			switch {
			case e.Start > at:
				return &FormatError{"episodes.csv", line(ds.epLines, i), "start_min", fmt.Sprintf("diary %q has no episode from minute %d to %d (a gap)", e.DiaryID, at, e.Start)}
			case e.Start < at:
				return &FormatError{"episodes.csv", line(ds.epLines, i), "start_min", fmt.Sprintf("diary %q: this episode starts at minute %d, before the previous one ends at %d (an overlap)", e.DiaryID, e.Start, at)}
			}
			at = e.End
		}
		if at != DayLength {
			last := eps[len(eps)-1]
			return &FormatError{"episodes.csv", line(ds.epLines, last), "end_min", fmt.Sprintf("diary %q ends at minute %d, not 1440 (04:00 the next day)", ds.Diaries[d].ID, at)}
		}
	}
	return nil
}
