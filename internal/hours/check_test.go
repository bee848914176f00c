package hours

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Check finds every error of a timetable at once, naming each place and
// kind; and it agrees with Hours, which stops at the first.
func TestCheckFindsEveryError(t *testing.T) {
	type want struct {
		field string
		err   error
	}
	tests := []struct {
		name, json string
		want       []want
	}{
		{"valid", `{"week": {"monday": ["09:00-12:30", "14:00-16:00"], "friday": ["22:00-26:00"], "saturday": ["03:00-05:00"]},
			"periods": [{"from": "2027-07-01", "to": "2027-08-31", "week": {"monday": ["08:30-12:00"]}}, {"from": "2027-12-20", "to": "2028-01-06", "week": {}}],
			"exceptions": [{"date": "2027-12-24", "closed": true, "note": "Vigilia"}, {"date": "2027-12-31", "hours": ["09:00-11:00"]}]}`, nil},
		{"everything wrong at once", `{"week": {"monday": ["9-12"], "tuesday": ["12:00-09:00"], "wednesday": ["09:00-12:00", "11:00-13:00"], "munday": []},
			"periods": [{"from": "2027-07-01", "to": "2027-06-01", "week": {"friday": ["25:00-26:00"]}}, {"from": "2027-13-01", "to": "2027-08-31", "week": {}}],
			"exceptions": [{"date": "2027-12-25", "closed": true, "hours": ["09:00-10:00"]}, {"date": "2027-12-25"}, {"date": "2027-02-30", "hours": ["08:00-07:00"]}]}`,
			[]want{
				{"week.monday[0]", ErrClock}, {"week.tuesday", ErrInverted}, {"week.wednesday", ErrOverlap}, {"week.munday", ErrWeekday},
				{"periods[0].to", ErrPeriod}, {"periods[0].week.friday", ErrTooLong}, {"periods[1].from", ErrDate},
				{"exceptions[0].hours", ErrClosedHours}, {"exceptions[1].date", ErrDuplicate}, {"exceptions[1].hours", ErrNoHours},
				{"exceptions[2].date", ErrDate}, {"exceptions[2].hours", ErrInverted},
			}},
		{"a night past midnight into the next morning", `{"week": {"friday": ["22:00-27:00"], "saturday": ["02:00-05:00"]}}`,
			[]want{{"week.friday", ErrOverlap}}},
		{"overlapping periods", `{"week": {}, "periods": [{"from": "2027-07-01", "to": "2027-08-31", "week": {}}, {"from": "2027-08-15", "to": "2027-09-15", "week": {}}]}`,
			[]want{{"periods[1].from", ErrPeriodsOverlap}}},
		{"a clock out of range", `{"week": {"monday": ["09:00-12:60"]}}`, []want{{"week.monday[0]", ErrClock}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Spec
			if err := json.Unmarshal([]byte(tt.json), &s); err != nil {
				t.Fatal(err)
			}
			got := s.Check()
			if len(got) != len(tt.want) {
				t.Fatalf("%d errors, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if got[i].Field != w.field || !errors.Is(got[i], w.err) {
					t.Errorf("error %d: %s: %v, want %s: %v", i, got[i].Field, got[i].Err, w.field, w.err)
				}
			}
			_, err := s.Hours(Holidays{})
			onlyOverlap := len(got) > 0
			for _, e := range got {
				onlyOverlap = onlyOverlap && errors.Is(e, ErrPeriodsOverlap)
			}
			if (err == nil) != (len(got) == 0 || onlyOverlap) {
				t.Errorf("Hours: %v, but Check found %v", err, got)
			}
		})
	}
}

func TestParseErrorsAreNamed(t *testing.T) {
	for _, s := range []string{"9", "9:0", "25", "ab:cd", "49:00"} {
		if _, err := ParseClock(s); !errors.Is(err, ErrClock) || !strings.Contains(err.Error(), s) {
			t.Errorf("ParseClock(%q): %v", s, err)
		}
	}
	if _, err := ParseInterval("09:00"); !errors.Is(err, ErrInterval) {
		t.Errorf("ParseInterval without a dash: %v", err)
	}
	if _, err := ParseDate("24/12/2027"); !errors.Is(err, ErrDate) {
		t.Errorf("ParseDate(24/12/2027): %v", err)
	}
}
