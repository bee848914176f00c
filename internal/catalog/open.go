package catalog

import (
	"time"

	"github.com/civico-pa/civico/internal/hours"
)

// EveningFrom is when "this evening" begins, on the town's clock: the
// hour after which most offices are shut and a working resident can
// still get there.
const EveningFrom = 18 * 60

// OfficeOpening is an office open at some time: the opening that counts
// (now's, this evening's first, or the next one), in Rome.
type OfficeOpening struct {
	*Office
	Start, End time.Time
}

// Openings is which offices a resident can reach now and this evening:
// the town's promise on the home page.
type Openings struct {
	// Now are the offices open at the instant asked, each with when it
	// closes; Evening those open after EveningFrom today (or after now,
	// when it is later), each with its first opening then.
	Now, Evening []OfficeOpening
	// Next is the first office to open when none is open now.
	Next *OfficeOpening
	// EveningStart is when the evening window begins.
	EveningStart time.Time
}

// Openings computes, with the offices' hours, which are open at now and
// which this evening.
func (c *Catalog) Openings(now time.Time) Openings {
	today := hours.DateOf(now)
	from, to := today.At(EveningFrom), today.At(hours.DayLength)
	if now.After(from) {
		from = now
	}
	out := Openings{EveningStart: from.In(hours.Rome)}
	for _, o := range c.Offices {
		if span, ok := o.Hours.NextOpening(now, 14); ok {
			open := OfficeOpening{Office: o, Start: span.Start.In(hours.Rome), End: span.End.In(hours.Rome)}
			switch {
			case !span.Start.After(now):
				out.Now = append(out.Now, open)
			case out.Next == nil || span.Start.Before(out.Next.Start):
				next := open
				out.Next = &next
			}
		}
		if from.Before(to) {
			if spans := o.Hours.Spans(from, to); len(spans) > 0 {
				out.Evening = append(out.Evening, OfficeOpening{Office: o, Start: spans[0].Start.In(hours.Rome), End: spans[len(spans)-1].End.In(hours.Rome)})
			}
		}
	}
	if len(out.Now) > 0 {
		out.Next = nil
	}
	return out
}
