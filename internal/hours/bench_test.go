package hours

import (
	"testing"
	"time"
)

// offices builds n offices with the Anagrafe's week and, each, an exception
// on every tenth day of a year (closures and changed hours): what the town's
// planners would enter in a year, many times over.
func offices(n int) []*Hours {
	out := make([]*Hours, n)
	start := date("2026-01-01")
	for k := range out {
		h := anagrafe()
		for d := k % 10; d < 365; d += 10 {
			e := Exception{Date: start.AddDays(d)}
			if d%20 == 0 {
				e.Closed = true
			} else {
				e.Intervals = day("08:00-13:00")
			}
			h.Exceptions = append(h.Exceptions, e)
		}
		if err := h.Validate(); err != nil {
			panic(err)
		}
		out[k] = h
	}
	return out
}

func BenchmarkOpenAt1000Offices(b *testing.B) {
	all := offices(1000)
	at := rome("2026-11-25 18:00")
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, h := range all {
			if h.OpenAt(at) {
				n++
			}
		}
		if n == 0 {
			b.Fatal("no office open on Wednesday evening")
		}
	}
}

func BenchmarkNextOpening1000Offices(b *testing.B) {
	all := offices(1000)
	at := rome("2026-12-24 18:00")
	b.ResetTimer()
	for b.Loop() {
		for _, h := range all {
			if _, ok := h.NextOpening(at, 60); !ok {
				b.Fatal("never opens")
			}
		}
	}
}

func BenchmarkWeekSpans(b *testing.B) {
	h := anagrafe()
	from := rome("2026-11-23 00:00")
	to := from.Add(7 * 24 * time.Hour)
	for b.Loop() {
		h.Spans(from, to)
	}
}
