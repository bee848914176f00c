package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// ReadOffices reads offices as JSON, the form `civico timeuse analyze
// --offices` takes:
//
//	[{"name": "Anagrafe", "travel_min": 15,
//	  "openings": [{"weekday": "monday", "from": "09:00", "to": "12:30"}]}]
//
// Weekdays are English or Italian day names; times are HH:MM.
func ReadOffices(in io.Reader) ([]Office, error) {
	var raw []struct {
		Name     string `json:"name"`
		Travel   int    `json:"travel_min"`
		Openings []struct {
			Weekday  string `json:"weekday"`
			From, To string
		} `json:"openings"`
	}
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("offices: %w", err)
	}
	var out []Office
	for i, r := range raw {
		if strings.TrimSpace(r.Name) == "" {
			return nil, fmt.Errorf("offices: office %d has no name", i+1)
		}
		if r.Travel < 0 || r.Travel > 240 {
			return nil, fmt.Errorf("offices: %s: travel_min %d is not 0 to 240 minutes", r.Name, r.Travel)
		}
		o := Office{Name: r.Name, Travel: r.Travel}
		for _, op := range r.Openings {
			d, ok := weekdays[strings.ToLower(op.Weekday)]
			if !ok {
				return nil, fmt.Errorf("offices: %s: %q is not a day of the week", r.Name, op.Weekday)
			}
			from, err1 := clock(op.From)
			to, err2 := clock(op.To)
			if err1 != nil || err2 != nil || to <= from {
				return nil, fmt.Errorf("offices: %s: %s %s-%s is not an opening (HH:MM, from before to)", r.Name, op.Weekday, op.From, op.To)
			}
			o.Openings = append(o.Openings, Opening{d, from, to})
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("offices: no office")
	}
	return out, nil
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	"domenica": time.Sunday, "lunedì": time.Monday, "martedì": time.Tuesday, "mercoledì": time.Wednesday,
	"giovedì": time.Thursday, "venerdì": time.Friday, "sabato": time.Saturday,
	"lunedi": time.Monday, "martedi": time.Tuesday, "mercoledi": time.Wednesday, "giovedi": time.Thursday, "venerdi": time.Friday,
}

func clock(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || h < 0 || h > 24 || m < 0 || m > 59 || h*60+m > DayLength || len(s) != 5 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return h*60 + m, nil
}

// Clock formats minutes since midnight as HH:MM.
func Clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }
