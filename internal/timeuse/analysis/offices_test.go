package analysis

import (
	"strings"
	"testing"
	"time"
)

func TestReadOffices(t *testing.T) {
	o, err := ReadOffices(strings.NewReader(`[{"name":"Anagrafe","travel_min":15,"openings":[{"weekday":"lunedì","from":"09:00","to":"12:30"},{"weekday":"Thursday","from":"14:00","to":"17:00"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(o) != 1 || o[0].Travel != 15 || len(o[0].Openings) != 2 || o[0].Openings[0] != (Opening{time.Monday, 540, 750}) || o[0].Openings[1].Weekday != time.Thursday {
		t.Errorf("%+v", o)
	}
	for _, bad := range []string{
		`[]`, `[{"name":""}]`, `[{"name":"A","travel_min":-1}]`,
		`[{"name":"A","openings":[{"weekday":"someday","from":"09:00","to":"10:00"}]}]`,
		`[{"name":"A","openings":[{"weekday":"monday","from":"10:00","to":"09:00"}]}]`,
		`[{"name":"A","openings":[{"weekday":"monday","from":"9","to":"10:00"}]}]`,
		`[{"name":"A","extra":1}]`,
	} {
		if _, err := ReadOffices(strings.NewReader(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if Clock(1050) != "17:30" {
		t.Error(Clock(1050))
	}
}
