package timeuse

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/civico-pa/civico/internal/web"
)

// dayOf is the diary day of a request's path, "" when unknown.
func dayOf(r *http.Request) string {
	day := r.PathValue("day")
	if !slices.Contains(Days, day) {
		return ""
	}
	return day
}

func otherDay(day string) string {
	if day == Weekday {
		return Weekend
	}
	return Weekday
}

func stepOf(day string) int {
	if day == Weekday {
		return 2
	}
	return 3
}

// diaryOf returns the answers' diary of day, made when missing.
func diaryOf(a *Answers, day string) *Diary {
	d := a.Diaries[day]
	if d == nil {
		d = &Diary{}
		if day == Weekday {
			d.DayType = "weekday"
		}
		a.Diaries[day] = d
	}
	return d
}

// episodeValues are an episode as the form's values.
func episodeValues(e Episode) map[string]string {
	return map[string]string{"start": Clock(e.Start), "end": Clock(e.End), "activity": e.Activity, "secondary": e.Secondary,
		"location": e.Location, "with_whom": e.WithWhom}
}

// diaryPage shows a diary day: its episodes, what to fix, and the episode
// form (new, or the one edited).
func (h *Web) diaryPage(w http.ResponseWriter, r *http.Request, status int, a *Answers, day string, d *Data) {
	lang := h.App.I18n.Lang(r)
	diary := diaryOf(a, day)
	d.Step, d.Answers, d.Day, d.Other, d.Diary = stepOf(day), a, day, otherDay(day), diary
	d.DayTypes = []string{"saturday", "sunday"}
	if d.Form == nil {
		d.Form = map[string]string{"start": Clock(0)}
		if n := len(diary.Episodes); n > 0 {
			d.Form["start"] = Clock(diary.Episodes[n-1].End)
		}
	}
	if d.Options == nil {
		d.Options = h.Store.Acts.Search(d.Query, d.Form["activity"])
	}
	// The two lists of activities (about 120 options each) are written
	// by Go, not the template: ten times cheaper (web.Markup).
	d.ActivityOptions = options(d.Options, d.Form["activity"], lang)
	d.SecondaryOptions = options(h.Store.Acts.Search("", ""), d.Form["secondary"], lang)
	if len(diary.Episodes) > 0 {
		d.Issues = diary.Check(h.Store.Acts)
	}
	if !validDayType(day, diary.DayType) {
		d.Issues = append([]Issue{{Message: "timeuse.diary.issue.day_type", Episode: -1}}, d.Issues...)
	}
	if other := a.Diaries[otherDay(day)]; other != nil {
		d.OtherMorning = slices.ContainsFunc(other.Episodes, func(e Episode) bool { return e.Start < Morning })
	}
	d.Rows = h.Rows(diary, lang)
	h.page(w, r, status, "timeuse_diary", "timeuse.step."+map[string]string{Weekday: "weekday", Weekend: "weekend"}[day], d)
}

// options writes the <option>s of a list of activities, chosen selected.
func options(list []Activity, chosen, lang string) template.HTML {
	var m web.Markup
	m.Grow(64 * len(list))
	for _, a := range list {
		m.Raw(`<option value="`)
		m.Text(a.Code)
		if a.Code == chosen {
			m.Raw(`" selected>`)
		} else {
			m.Raw(`">`)
		}
		m.Text(a.Label(lang))
		m.Raw(`</option>`)
	}
	return m.HTML()
}

func (h *Web) diary(w http.ResponseWriter, r *http.Request) {
	day := dayOf(r)
	if day == "" {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	diary := diaryOf(a, day)
	d := &Data{Editing: -1, Saved: r.URL.Query().Get("salvato")}
	q := r.URL.Query()
	if n, err := strconv.Atoi(q.Get("modifica")); err == nil && n >= 0 && n < len(diary.Episodes) {
		d.Editing, d.Form = n, episodeValues(diary.Episodes[n])
	} else if n, err := strconv.Atoi(q.Get("copia")); err == nil && n >= 0 && n < len(diary.Episodes) {
		d.Form = episodeValues(diary.Episodes[n])
		d.Form["start"], d.Form["end"] = Clock(diary.Episodes[len(diary.Episodes)-1].End), ""
	}
	h.diaryPage(w, r, http.StatusOK, a, day, d)
}

// episode adds or changes an episode, or filters the activities offered
// (the search button, which works without JavaScript).
func (h *Web) episode(w http.ResponseWriter, r *http.Request) {
	day := dayOf(r)
	if day == "" {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if !h.App.ParseForm(w, r, 16<<10) {
		return
	}
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	diary := diaryOf(a, day)
	editing := -1
	if n, err := strconv.Atoi(f.Get("n")); err == nil && n >= 0 && n < len(diary.Episodes) {
		editing = n
	}
	form := map[string]string{}
	for _, k := range []string{"start", "end", "activity", "secondary", "location", "with_whom"} {
		form[k] = strings.TrimSpace(f.Get(k))
	}
	d := &Data{Editing: editing, Form: form, Query: strings.TrimSpace(f.Get("q"))}
	if f.Get("azione") == "cerca" {
		h.diaryPage(w, r, http.StatusOK, a, day, d)
		return
	}
	e := Episode{Activity: form["activity"], Secondary: form["secondary"], Location: form["location"], WithWhom: form["with_whom"]}
	start, okStart := ParseClock(form["start"], false)
	end, okEnd := ParseClock(form["end"], true)
	e.Start, e.End = start, end
	errs := CheckEpisode(e, h.Store.Acts)
	if !okStart {
		errs["start"] = "timeuse.error.time"
	}
	if !okEnd {
		errs["end"] = "timeuse.error.time"
	}
	if editing < 0 && len(diary.Episodes) >= MaxEpisodes {
		errs["start"] = "timeuse.error.too_many"
	}
	if len(errs) > 0 {
		d.FormErrors = errs
		h.diaryPage(w, r, http.StatusUnprocessableEntity, a, day, d)
		return
	}
	if editing >= 0 {
		diary.Episodes[editing] = e
	} else {
		diary.Episodes = append(diary.Episodes, e)
	}
	diary.Episodes = diary.Sorted()
	if !h.save(w, r, a) {
		return
	}
	redirectDiary(w, r, day, "episodio")
}

func redirectDiary(w http.ResponseWriter, r *http.Request, day, saved string) {
	// #nosec G710 -- a fixed local path and a day among Days
	http.Redirect(w, r, base(r)+"/diario/"+day+"?"+url.Values{"salvato": {saved}}.Encode()+"#episodi", http.StatusSeeOther)
}

// remove deletes an episode.
func (h *Web) remove(w http.ResponseWriter, r *http.Request) {
	day := dayOf(r)
	if day == "" {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	diary := diaryOf(a, day)
	n, err := strconv.Atoi(r.PostForm.Get("n"))
	if err != nil || n < 0 || n >= len(diary.Episodes) {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	diary.Episodes = slices.Delete(diary.Episodes, n, n+1)
	if !h.save(w, r, a) {
		return
	}
	redirectDiary(w, r, day, "eliminato")
}

// copyMorning copies the morning of the other diary day into this one.
func (h *Web) copyMorning(w http.ResponseWriter, r *http.Request) {
	day := dayOf(r)
	if day == "" {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	other := a.Diaries[otherDay(day)]
	if other == nil || !slices.ContainsFunc(other.Episodes, func(e Episode) bool { return e.Start < Morning }) {
		h.diaryPage(w, r, http.StatusUnprocessableEntity, a, day, &Data{Editing: -1, Alert: "timeuse.diary.copy_none"})
		return
	}
	diaryOf(a, day).CopyMorning(other)
	if !h.save(w, r, a) {
		return
	}
	redirectDiary(w, r, day, "mattina")
}

// dayType sets which weekend day the weekend diary describes.
func (h *Web) dayType(w http.ResponseWriter, r *http.Request) {
	if dayOf(r) != Weekend {
		h.App.Error(w, r, http.StatusNotFound)
		return
	}
	if !h.App.ParseForm(w, r, 4<<10) {
		return
	}
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	t := r.PostForm.Get("day_type")
	if !validDayType(Weekend, t) {
		h.diaryPage(w, r, http.StatusUnprocessableEntity, a, Weekend, &Data{Editing: -1, Errors: Fields{"day_type": "timeuse.error.choose"}})
		return
	}
	diaryOf(a, Weekend).DayType = t
	if !h.save(w, r, a) {
		return
	}
	redirectDiary(w, r, Weekend, "giorno")
}
