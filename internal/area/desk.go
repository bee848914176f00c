package area

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// DefaultPanelTimeout is how long the desk waits for a panel.
const DefaultPanelTimeout = 2 * time.Second

// Shown is a panel as the desk shows it: its summary, or why not.
type Shown struct {
	Feature string
	Summary
	// StepUp: the panel needs more assurance than the session has; only
	// its title and the reason are shown, with a step-up link.
	StepUp bool
	// Failed: the panel answered with an error or not in time; an error
	// box stands in its place.
	Failed bool
}

// Desk calls the panels for a resident.
type Desk struct {
	// Panels lists the registered panels, in the features' order.
	Panels func() []Named
	// Timeout bounds every panel (DefaultPanelTimeout if 0).
	Timeout time.Duration
	// Failed is told of every panel that failed (the log).
	Failed func(feature string, err error)
}

// errLate is the failure of a panel that did not answer in time.
var errLate = errors.New("area: the panel did not answer in time")

// Show calls every panel of kind at once, each with the deadline, and
// returns them in order. A panel that fails, panics or is late is marked
// Failed and does not hold up the others.
func (d *Desk) Show(ctx context.Context, r Resident, kind Kind) []Shown {
	var panels []Named
	if d.Panels != nil {
		// Only the panels of this page's kind, or of no declared kind.
		for _, p := range d.Panels() {
			if k, ok := declaredKind(p.Panel); !ok || k == kind {
				panels = append(panels, p)
			}
		}
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultPanelTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		s   Summary
		err error
	}
	answers := make([]chan result, len(panels))
	for i, p := range panels {
		answers[i] = make(chan result, 1)
		run(func() {
			defer func() {
				if v := recover(); v != nil {
					answers[i] <- result{err: fmt.Errorf("area: panel panicked: %v", v)}
				}
			}()
			s, err := p.Panel.Panel(ctx, r)
			answers[i] <- result{s, err}
		})
	}
	out := make([]Shown, 0, len(panels))
	for i, p := range panels {
		var res result
		select {
		case res = <-answers[i]:
		case <-ctx.Done():
			select {
			case res = <-answers[i]:
			default:
				res.err = errLate
			}
		}
		if res.err == nil && ctx.Err() != nil && res.s.Title == "" {
			res.err = errLate
		}
		sh := Shown{Feature: p.Feature, Summary: res.s}
		if k, ok := declaredKind(p.Panel); ok {
			sh.Kind = k
		}
		if res.err != nil {
			if d.Failed != nil {
				d.Failed(p.Feature, res.err)
			}
			sh.Failed = true
			if sh.Title == "" {
				sh.Title = "area.panel.untitled"
			}
		}
		if sh.Kind != kind && !sh.Failed {
			continue
		}
		if len(sh.Items) > MaxItems {
			sh.Items = sh.Items[:MaxItems]
		}
		if sh.Needs != "" && !r.Level.Satisfies(sh.Needs) {
			// What needs more assurance is not shown, not even counted.
			sh.StepUp, sh.Items, sh.Awaiting = true, nil, 0
		}
		out = append(out, sh)
	}
	return out
}

// panelWorkers are goroutines that live as long as the process and run
// the desks' panels. A new goroutine per panel at every visit started with
// a small stack that SQLite's deep calls grew, copying it, at every visit
// (runtime.newstack and copystack: 8% of the desk's CPU under load); a
// worker's stack has grown already. A panel that finds no idle worker gets
// a goroutine of its own, so a panel that hangs holds up no other panel
// and no other visit.
var panelWorkers struct {
	once sync.Once
	jobs chan func()
}

// workersPerCore is how many panel workers wait per core: a desk has a
// dozen panels, most waiting on the database.
const workersPerCore = 8

// run runs f on an idle panel worker, or on a new goroutine if none is
// idle.
func run(f func()) {
	panelWorkers.once.Do(func() {
		panelWorkers.jobs = make(chan func())
		for range workersPerCore * runtime.GOMAXPROCS(0) {
			go func() {
				for job := range panelWorkers.jobs {
					job()
				}
			}()
		}
	})
	select {
	case panelWorkers.jobs <- f:
	default:
		go f()
	}
}

// Awaiting adds up what waits for the resident on the panels shown.
func Awaiting(panels []Shown) int {
	n := 0
	for _, p := range panels {
		if !p.Failed && !p.StepUp {
			n += p.Awaiting
		}
	}
	return n
}

// Recent are the most recent items of every panel shown, newest first, at
// most n, each with its panel's title.
func Recent(panels []Shown, n int) []RecentItem {
	var out []RecentItem
	for _, p := range panels {
		if p.Failed || p.StepUp {
			continue
		}
		for _, it := range p.Items {
			out = append(out, RecentItem{Panel: p.Title, Item: it})
		}
	}
	slices.SortStableFunc(out, func(a, b RecentItem) int { return b.When.Compare(a.When) })
	return out[:min(n, len(out))]
}

// RecentItem is an item with its panel's title.
type RecentItem struct {
	Panel string
	Item
}
