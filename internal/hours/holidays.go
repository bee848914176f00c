package hours

import "time"

// Holidays are the days offices are closed on unless an exception opens
// them: the Italian national public holidays and the town's patron day.
type Holidays struct {
	// Patron is the patron saint's day (month and day; zero for none).
	PatronMonth time.Month
	PatronDay   int
}

// Name returns the holiday on date d, or "" when d is a working day as far
// as holidays go.
func (h Holidays) Name(d Date) string {
	switch {
	case d.Month == time.January && d.Day == 1:
		return "Capodanno"
	case d.Month == time.January && d.Day == 6:
		return "Epifania"
	case d.Month == time.April && d.Day == 25:
		return "Festa della Liberazione"
	case d.Month == time.May && d.Day == 1:
		return "Festa del Lavoro"
	case d.Month == time.June && d.Day == 2:
		return "Festa della Repubblica"
	case d.Month == time.August && d.Day == 15:
		return "Ferragosto"
	case d.Month == time.November && d.Day == 1:
		return "Ognissanti"
	case d.Month == time.December && d.Day == 8:
		return "Immacolata Concezione"
	case d.Month == time.December && d.Day == 25:
		return "Natale"
	case d.Month == time.December && d.Day == 26:
		return "Santo Stefano"
	case h.PatronMonth != 0 && d.Month == h.PatronMonth && d.Day == h.PatronDay:
		return "Santo patrono"
	}
	easter := Easter(d.Year)
	if d == easter {
		return "Pasqua"
	}
	if d == easter.AddDays(1) {
		return "Lunedì dell'Angelo"
	}
	return ""
}

// Easter is Easter Sunday of the Gregorian calendar (the anonymous
// Gregorian algorithm, Meeus/Jones/Butcher).
func Easter(year int) Date {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}
