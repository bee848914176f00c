package hours

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestSpec(t *testing.T) {
	var s Spec
	err := json.Unmarshal([]byte(`{
		"week": {"monday": ["09:00-12:30"], "wednesday": ["09:00-12:30", "17:00-19:30"], "saturday": ["09:00-12:00"]},
		"periods": [{"from": "2026-07-13", "to": "2026-08-21", "week": {"monday": ["08:30-12:00"]}}],
		"exceptions": [{"date": "2026-12-24", "closed": true, "note": "Vigilia"}, {"date": "2026-12-31", "hours": ["09:00-11:00"]}]
	}`), &s)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Hours(Holidays{})
	if err != nil {
		t.Fatal(err)
	}
	if !h.OpenAt(rome("2026-11-25 18:00")) || h.OpenAt(rome("2026-12-24 10:00")) || !h.OpenAt(rome("2026-07-13 08:45")) {
		t.Error("the spec's hours do not apply")
	}
	bad := []struct {
		json, field string
	}{
		{`{"week": {"munday": ["09:00-12:00"]}}`, "week.munday"},
		{`{"week": {"monday": ["09:00-12:00", "11:00-13:00"]}}`, "week.monday"},
		{`{"week": {"monday": ["12:00-09:00"]}}`, "week.monday"},
		{`{"week": {"monday": ["9-12"]}}`, "week.monday[0]"},
		{`{"week": {}, "periods": [{"from": "2026-09-01", "to": "2026-06-01", "week": {}}]}`, "hours"},
		{`{"week": {}, "exceptions": [{"date": "2026-02-30", "closed": true}]}`, "exceptions[0].date"},
		{`{"week": {}, "exceptions": [{"date": "2026-03-02"}]}`, "hours"},
	}
	for _, b := range bad {
		var s Spec
		if err := json.Unmarshal([]byte(b.json), &s); err != nil {
			t.Fatal(err)
		}
		_, err := s.Hours(Holidays{})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != b.field {
			t.Errorf("%s: error %v, want one naming %s", b.json, err, b.field)
		}
	}
}
