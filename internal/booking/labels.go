package booking

import (
	"fmt"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

var weekdays = map[string][7]string{
	"it": {"domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"},
	"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
}

var months = map[string][12]string{
	"it": {"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
}

// DayLabel writes a day as a person reads it: "lunedì 7 dicembre 2026".
func DayLabel(lang string, d hours.Date) string {
	w, ok := weekdays[lang]
	if !ok {
		lang, w = "it", weekdays["it"]
	}
	return fmt.Sprintf("%s %d %s %d", w[d.Weekday()], d.Day, months[lang][d.Month-1], d.Year)
}

// Clock is an instant's Rome wall-clock time, "09:40".
func Clock(t time.Time) string { return t.In(hours.Rome).Format("15:04") }

// When writes a slot: "lunedì 7 dicembre 2026, 09:40–10:00".
func When(lang string, start, end time.Time) string {
	return DayLabel(lang, hours.DateOf(start)) + ", " + Clock(start) + "–" + Clock(end)
}
