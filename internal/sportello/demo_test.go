package sportello

import (
	"slices"
	"testing"
	"time"
)

// The demo's forms are valid, and each can be filled: an answer that
// shows every conditional field is refused with every required field
// named, and a complete answer passes.
func TestDemoForms(t *testing.T) {
	forms, err := Demo()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"accesso-atti-edilizi", "cambio-residenza", "contrassegno-disabili", "iscrizione-mensa-scolastica", "occupazione-suolo-pubblico", "permesso-sosta-residenti"}
	var got []string
	for _, f := range forms {
		got = append(got, f.ServiceID)
		if len(f.Def.Fields) < 6 || !f.Def.Withdrawable {
			t.Errorf("%s: %d fields, withdrawable %v: not a realistic form", f.ServiceID, len(f.Def.Fields), f.Def.Withdrawable)
		}
		_, errs := f.Def.CheckAt(Answers{}, time.Now())
		for _, fd := range f.Def.Fields {
			if fd.Required && fd.ShowIf == nil {
				if _, ok := errs[fd.Name]; !ok {
					t.Errorf("%s: empty answers, yet no error for the required %s", f.ServiceID, fd.Name)
				}
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("demo forms %v, want %v", got, want)
	}
}
