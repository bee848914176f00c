package town_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/civico-pa/civico/internal/town"
)

// profileFields are the JSON names of the profile's fields, the only ones a
// FieldError may name.
var profileFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[town.Profile]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

// FuzzParseJSON: whatever `civico town import` is given, ParseJSON does not
// panic; it refuses with a FieldError naming a real field or a decoding
// error, both saying "town profile"; and what it accepts is valid, and
// comes back identical through the way the store keeps it (json.Marshal,
// then json.Unmarshal on read) and through ParseJSON again. The seeds in
// testdata/fuzz/FuzzParseJSON start from the demo town's file.
func FuzzParseJSON(f *testing.F) {
	demo, err := json.Marshal(town.Demo())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := town.ParseJSON(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "town profile") {
				t.Fatalf("error %q does not say it is about the town profile", err)
			}
			var fe *town.FieldError
			if errors.As(err, &fe) && !profileFields[fe.Field] {
				t.Fatalf("FieldError names %q, not a profile field", fe.Field)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParseJSON accepted a profile that Validate refuses: %v", err)
		}
		if got, want := p.FullName(), "Comune di "+p.Name; got != want {
			t.Fatalf("FullName() = %q, want %q", got, want)
		}
		stored, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal an accepted profile: %v", err)
		}
		var read town.Profile
		if err := json.Unmarshal(stored, &read); err != nil || read != p {
			t.Fatalf("stored as %s, read back as %+v, %v; want %+v", stored, read, err, p)
		}
		again, err := town.ParseJSON(stored)
		if err != nil || again != p {
			t.Fatalf("ParseJSON(%s) = %+v, %v; want %+v", stored, again, err, p)
		}
	})
}
