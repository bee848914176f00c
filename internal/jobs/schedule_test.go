package jobs

import (
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// A daily job keeps its wall-clock time in Rome across the changes of
// daylight-saving time, and the slot a job is inserted for is the latest
// one due.
func TestDailySchedule(t *testing.T) {
	rome := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, hours.Rome)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	at7 := daily{hour: 7}
	tests := []struct {
		now, next, last string
	}{
		{"2025-06-10 06:59:59", "2025-06-10 07:00:00", "2025-06-09 07:00:00"},
		{"2025-06-10 07:00:00", "2025-06-11 07:00:00", "2025-06-10 07:00:00"},
		{"2025-06-10 23:30:00", "2025-06-11 07:00:00", "2025-06-10 07:00:00"},
		// Clocks go forward on 30 March 2025 and back on 26 October.
		{"2025-03-29 08:00:00", "2025-03-30 07:00:00", "2025-03-29 07:00:00"},
		{"2025-10-25 08:00:00", "2025-10-26 07:00:00", "2025-10-25 07:00:00"},
		{"2025-12-31 12:00:00", "2026-01-01 07:00:00", "2025-12-31 07:00:00"},
	}
	for _, tt := range tests {
		now := rome(tt.now)
		if got := at7.Next(now); !got.Equal(rome(tt.next)) {
			t.Errorf("Next(%s) = %s, want %s", tt.now, got.In(hours.Rome), tt.next)
		}
		if got := at7.last(now); !got.Equal(rome(tt.last)) {
			t.Errorf("last(%s) = %s, want %s", tt.now, got.In(hours.Rome), tt.last)
		}
	}
	// 23 and 25 hours apart across the changes.
	if d := at7.Next(rome("2025-03-29 08:00:00")).Sub(rome("2025-03-29 07:00:00")); d != 23*time.Hour {
		t.Errorf("the day clocks go forward lasts %s", d)
	}
	if d := at7.Next(rome("2025-10-25 08:00:00")).Sub(rome("2025-10-25 07:00:00")); d != 25*time.Hour {
		t.Errorf("the day clocks go back lasts %s", d)
	}
	// 02:30 does not exist on 30 March: the job runs at 03:30 that day.
	if got := (daily{hour: 2, minute: 30}).Next(rome("2025-03-30 00:00:00")); !got.Equal(rome("2025-03-30 03:30:00")) {
		t.Errorf("02:30 on the day clocks go forward: %s", got.In(hours.Rome))
	}
}

func TestKindOf(t *testing.T) {
	for in, want := range map[string]string{
		"collect unreferenced files":  "forms.collect-unreferenced-files",
		"expired requests and tokens": "forms.expired-requests-and-tokens",
		"  Old  mail ":                "forms.old-mail",
	} {
		if got := KindOf("forms", in); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", in, got, want)
		}
	}
}
