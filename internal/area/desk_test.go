package area

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// Panels that hang, ignoring their deadline, on every panel worker and
// more do not hold up another visit's desk: its panel finds no idle
// worker and runs on a goroutine of its own.
func TestHungPanelsHoldUpNoOtherDesk(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hung := PanelFunc(func(context.Context, Resident) (Summary, error) {
		<-release
		return Summary{Title: "area.tab.desk"}, nil
	})
	var panels []Named
	for range workersPerCore*runtime.GOMAXPROCS(0) + 1 {
		panels = append(panels, Named{Feature: "appeso", Panel: hung})
	}
	d := &Desk{Panels: func() []Named { return panels }, Timeout: 50 * time.Millisecond}
	for _, sh := range d.Show(context.Background(), Resident{AccountID: "a"}, Activities) {
		if !sh.Failed {
			t.Fatalf("a hung panel shown as %+v", sh)
		}
	}
	fine := &Desk{Panels: func() []Named {
		return []Named{{Feature: "pronto", Panel: PanelFunc(func(context.Context, Resident) (Summary, error) {
			return Summary{Title: "area.tab.activities", Awaiting: 1}, nil
		})}}
	}, Timeout: time.Minute}
	shown := fine.Show(context.Background(), Resident{AccountID: "b"}, Activities)
	if len(shown) != 1 || shown[0].Failed || shown[0].Awaiting != 1 {
		t.Errorf("with every worker hung, the desk shows %+v", shown)
	}
}
