package booking

import (
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

func mustHours(t testing.TB, spec hours.Spec) *hours.Hours {
	t.Helper()
	h, err := spec.Hours(hours.Holidays{PatronMonth: time.June, PatronDay: 24})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func day(s string) hours.Date {
	d, err := hours.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// at is a wall-clock time in Rome, "2027-03-01 09:30".
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, hours.Rome)
	if err != nil {
		panic(err)
	}
	return t
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSlots(t *testing.T) {
	base := hours.Spec{
		Week: map[string][]string{
			"monday":    {"09:00-12:00"},
			"tuesday":   {"09:00-12:00", "14:30-17:30"},
			"wednesday": {"09:00-12:00"},
			"thursday":  {"16:00-19:30"},
			"friday":    {"22:00-26:00"},
			"saturday":  {"09:00-12:00"},
		},
		Exceptions: []hours.ExceptionSpec{
			{Date: "2027-03-08", Closed: true, Note: "Inventario"},
			{Date: "2027-03-10", Hours: []string{"10:00-11:00"}},
			// Open on the nights the clocks change.
			{Date: "2027-03-28", Hours: []string{"01:00-04:00"}},
			{Date: "2027-10-31", Hours: []string{"01:00-04:00"}},
			// The patron's day, opened on purpose.
			{Date: "2027-06-24", Hours: []string{"09:00-10:00"}},
		},
	}
	h := mustHours(t, base)
	long := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // "now" long before every case
	cases := []struct {
		name     string
		length   time.Duration
		counters int
		from, to time.Time
		now      time.Time
		want     []time.Time // starts
	}{
		{"a morning cut in half hours", 30 * time.Minute, 1, day("2027-03-01").At(0), day("2027-03-02").At(0), long,
			[]time.Time{at("2027-03-01 09:00"), at("2027-03-01 09:30"), at("2027-03-01 10:00"), at("2027-03-01 10:30"), at("2027-03-01 11:00"), at("2027-03-01 11:30")}},
		{"no slot runs past closing", 40 * time.Minute, 1, day("2027-03-01").At(0), day("2027-03-02").At(0), long,
			[]time.Time{at("2027-03-01 09:00"), at("2027-03-01 09:40"), at("2027-03-01 10:20"), at("2027-03-01 11:00")}},
		{"each opening of a day has its own grid", 45 * time.Minute, 1, day("2027-03-02").At(0), day("2027-03-03").At(0), long,
			[]time.Time{at("2027-03-02 09:00"), at("2027-03-02 09:45"), at("2027-03-02 10:30"), at("2027-03-02 11:15"),
				at("2027-03-02 14:30"), at("2027-03-02 15:15"), at("2027-03-02 16:00"), at("2027-03-02 16:45")}},
		{"a slot longer than the opening is never offered", 4 * time.Hour, 1, day("2027-03-01").At(0), day("2027-03-02").At(0), long, nil},
		{"a closure exception", 30 * time.Minute, 1, day("2027-03-08").At(0), day("2027-03-09").At(0), long, nil},
		{"changed hours", 30 * time.Minute, 1, day("2027-03-10").At(0), day("2027-03-11").At(0), long,
			[]time.Time{at("2027-03-10 10:00"), at("2027-03-10 10:30")}},
		{"a public holiday (Immacolata, a Wednesday)", 30 * time.Minute, 1, day("2027-12-08").At(0), day("2027-12-09").At(0), long, nil},
		{"Easter Monday", 30 * time.Minute, 1, day("2027-03-29").At(0), day("2027-03-30").At(0), long, nil},
		{"the patron's day opened by an exception", 30 * time.Minute, 1, day("2027-06-24").At(0), day("2027-06-25").At(0), long,
			[]time.Time{at("2027-06-24 09:00"), at("2027-06-24 09:30")}},
		// 01:00-04:00 on the night of 28 March 2027 lasts two hours:
		// 02:00 does not exist.
		{"clocks forward", time.Hour, 1, day("2027-03-28").At(0), day("2027-03-29").At(0), long,
			[]time.Time{utc("2027-03-28 00:00"), utc("2027-03-28 01:00")}},
		// 01:00-04:00 on 31 October 2027 lasts four hours: 02:00 comes twice.
		{"clocks back", time.Hour, 1, day("2027-10-31").At(0), day("2027-11-01").At(0), long,
			[]time.Time{utc("2027-10-30 23:00"), utc("2027-10-31 00:00"), utc("2027-10-31 01:00"), utc("2027-10-31 02:00")}},
		{"summer time after the change", time.Hour, 1, day("2027-03-30").At(0), day("2027-03-31").At(0), long,
			[]time.Time{utc("2027-03-30 07:00"), utc("2027-03-30 08:00"), utc("2027-03-30 09:00"), utc("2027-03-30 12:30"), utc("2027-03-30 13:30"), utc("2027-03-30 14:30")}},
		{"a slot starting before the end of the range runs past it", time.Hour, 1, day("2027-03-01").At(0), at("2027-03-01 09:30"), long,
			[]time.Time{at("2027-03-01 09:00")}},
		{"past slots are not offered", 30 * time.Minute, 1, day("2027-03-01").At(0), day("2027-03-02").At(0), at("2027-03-01 10:10"),
			[]time.Time{at("2027-03-01 10:30"), at("2027-03-01 11:00"), at("2027-03-01 11:30")}},
		{"a slot under way is not offered", 30 * time.Minute, 1, day("2027-03-01").At(0), day("2027-03-02").At(0), at("2027-03-01 11:30"),
			[]time.Time{at("2027-03-01 11:30")}},
		{"the grid is anchored at the opening, not at the range", 30 * time.Minute, 1, at("2027-03-01 10:10"), day("2027-03-02").At(0), long,
			[]time.Time{at("2027-03-01 10:30"), at("2027-03-01 11:00"), at("2027-03-01 11:30")}},
		{"an opening past midnight keeps the grid of its day", 45 * time.Minute, 1, day("2027-03-06").At(0), day("2027-03-06").At(3 * 60), long,
			[]time.Time{at("2027-03-06 00:15"), at("2027-03-06 01:00")}},
		{"the end of the range is exclusive", 30 * time.Minute, 1, day("2027-03-01").At(0), at("2027-03-01 10:00"), long,
			[]time.Time{at("2027-03-01 09:00"), at("2027-03-01 09:30")}},
		{"no counters, no slots", 30 * time.Minute, 0, day("2027-03-01").At(0), day("2027-03-02").At(0), long, nil},
		{"an inverted range", 30 * time.Minute, 1, day("2027-03-02").At(0), day("2027-03-01").At(0), long, nil},
		{"a range entirely past", 30 * time.Minute, 1, day("2027-03-01").At(0), day("2027-03-02").At(0), day("2027-03-03").At(0), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := Grid{Hours: h, Length: c.length, Counters: c.counters}
			got := g.Slots(c.from, c.to, c.now, nil)
			if len(got) != len(c.want) {
				t.Fatalf("got %d slots %v, want %d %v", len(got), got, len(c.want), c.want)
			}
			for i, s := range got {
				if !s.Start.Equal(c.want[i]) || !s.End.Equal(c.want[i].Add(c.length)) {
					t.Errorf("slot %d: %s-%s, want %s", i, s.Start.In(hours.Rome), s.End.In(hours.Rome), c.want[i].In(hours.Rome))
				}
				if s.Capacity != c.counters || s.Taken != 0 {
					t.Errorf("slot %d: capacity %d taken %d", i, s.Capacity, s.Taken)
				}
			}
		})
	}
}

func TestSlotsTakenAndFind(t *testing.T) {
	h := mustHours(t, hours.Spec{Week: map[string][]string{"monday": {"09:00-10:00"}}})
	g := Grid{Hours: h, Length: 20 * time.Minute, Counters: 3}
	taken := map[int64]int{Key(at("2027-03-01 09:20")): 3, Key(at("2027-03-01 09:40")): 1}
	got := g.Slots(day("2027-03-01").At(0), day("2027-03-02").At(0), time.Time{}, taken)
	if len(got) != 3 || got[0].Free() != 3 || got[1].Free() != 0 || got[2].Free() != 2 {
		t.Fatalf("slots %+v", got)
	}
	if s, ok := g.Find(at("2027-03-01 09:40"), time.Time{}, taken); !ok || s.Taken != 1 || !s.End.Equal(at("2027-03-01 10:00")) {
		t.Errorf("Find 09:40 = %+v, %v", s, ok)
	}
	for _, off := range []string{"2027-03-01 09:10", "2027-03-01 10:00", "2027-03-02 09:00"} {
		if _, ok := g.Find(at(off), time.Time{}, nil); ok {
			t.Errorf("Find %s: found a slot off the grid", off)
		}
	}
	if _, ok := g.Find(at("2027-03-01 09:00"), at("2027-03-01 09:05"), nil); ok {
		t.Error("Find: a past slot was found")
	}
}

func TestNearest(t *testing.T) {
	h := mustHours(t, hours.Spec{Week: map[string][]string{"monday": {"09:00-12:00"}}})
	g := Grid{Hours: h, Length: 30 * time.Minute, Counters: 1}
	taken := map[int64]int{Key(at("2027-03-01 10:00")): 1, Key(at("2027-03-01 10:30")): 1}
	slots := g.Slots(day("2027-03-01").At(0), day("2027-03-02").At(0), time.Time{}, taken)
	got := Nearest(slots, at("2027-03-01 10:00"), 3)
	want := []time.Time{at("2027-03-01 09:00"), at("2027-03-01 09:30"), at("2027-03-01 11:00")}
	if len(got) != 3 {
		t.Fatalf("Nearest: %v", got)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i]) {
			t.Errorf("Nearest[%d] = %s, want %s", i, got[i].Start.In(hours.Rome), want[i])
		}
	}
	if got := Nearest(slots, at("2027-03-01 12:00"), 1); len(got) != 1 || !got[0].Start.Equal(at("2027-03-01 11:30")) {
		t.Errorf("Nearest after closing: %v", got)
	}
}

func TestEvening(t *testing.T) {
	for _, c := range []struct {
		start string
		want  bool
	}{
		{"2027-03-01 09:00", false}, {"2027-03-01 17:30", false}, {"2027-03-01 17:45", true}, {"2027-03-01 18:00", true},
		{"2027-03-01 07:30", true}, {"2027-03-06 10:00", true}, {"2027-03-07 10:00", true},
	} {
		s := Slot{Start: at(c.start), End: at(c.start).Add(30 * time.Minute)}
		if s.Evening() != c.want {
			t.Errorf("%s: Evening() = %v", c.start, !c.want)
		}
	}
}
