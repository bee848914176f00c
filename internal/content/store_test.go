package content_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/content"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/hours"
)

func place(title string) content.Input {
	return content.Input{Action: content.ActionPublish, Values: map[string]string{"category": "parco", "title": title,
		"summary": "Un parco della città.", "address": "Via Roma 1", "postal_code": "20092", "lat": "45.55", "lon": "9.21"}}
}

// Every wrong field is named at once, with its own message; nothing is
// stored.
func TestValidationNamesEveryField(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &content.Store{DB: d}
		ctx := context.Background()
		for name, tc := range map[string]struct {
			kind   string
			values map[string]string
			want   map[string]string
		}{
			"empty place": {content.KindPlace, map[string]string{}, map[string]string{"category": "content.error.category", "title": "content.error.required",
				"summary": "content.error.required", "address": "content.error.required", "postal_code": "content.error.required",
				"lat": "content.error.required", "lon": "content.error.required"}},
			"bad values": {content.KindPlace, map[string]string{"category": "parco", "title": "Parco\u0007", "summary": strings.Repeat("è", 401),
				"address": "Via Roma 1", "postal_code": "2009", "lat": "NaN", "lon": "200", "email": "a@b", "phone": "<b>", "website": "http://x.example",
				"opening_en": "x"},
				map[string]string{"title": "content.error.text", "summary": "content.error.too_long", "postal_code": "content.error.postal_code",
					"lat": "content.error.number", "lon": "content.error.lon", "email": "content.error.email", "phone": "content.error.phone",
					"website": "content.error.url", "opening_en": "content.error.short"}},
			"event times": {content.KindEvent, map[string]string{"title": "Festa", "summary": "Festa di quartiere.", "starts_at": "2030-02-30T10:00",
				"ends_at": "2030-03-01T10:00", "place": "x"}, map[string]string{"starts_at": "content.error.datetime"}},
			"event backwards": {content.KindEvent, map[string]string{"title": "Festa", "summary": "Festa di quartiere.", "starts_at": "2030-03-01 10:00",
				"ends_at": "01/03/2030 09:00", "place": "x"}, map[string]string{"ends_at": "content.error.ends_before"}},
			"person": {content.KindPerson, map[string]string{"category": "sindaco", "title": "Anna Rossi", "summary": "Consigliera comunale."},
				map[string]string{"category": "content.error.category", "role": "content.error.required"}},
			"document": {content.KindDocument, map[string]string{"category": "dataset", "title": "Dati", "summary": "Dati aperti.", "website": "//evil.example/x",
				"doc_date": "31/02/2026"}, map[string]string{"website": "content.error.url", "doc_date": "content.error.date"}},
		} {
			_, err := s.Create(ctx, tc.kind, content.Input{Values: tc.values, Action: content.ActionPublish}, content.Actor{})
			var fe content.FieldErrors
			if !errors.As(err, &fe) {
				t.Errorf("%s: %v, want field errors", name, err)
				continue
			}
			for f, msg := range tc.want {
				if fe[f] != msg {
					t.Errorf("%s: %s = %q, want %q", name, f, fe[f], msg)
				}
			}
			if len(fe) != len(tc.want) {
				t.Errorf("%s: %d errors %v, want %d", name, len(fe), fe, len(tc.want))
			}
		}
		if _, total, _ := s.All(ctx, content.KindPlace, 1, 10); total != 0 {
			t.Errorf("refused entries stored: %d", total)
		}
	})
}

// Slugs come from the Italian title, are unique within a kind, and never
// change; entries saved at once from two processes get two.
func TestSlugs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &content.Store{DB: d, Audit: &audit.Log{DB: d}}
		ctx := context.Background()
		a, err := s.Create(ctx, content.KindPlace, place("Parco della Pace"), content.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if a.Slug != "parco-della-pace" || a.Path() != "/vivere-il-comune/luoghi/parco-della-pace" {
			t.Errorf("slug %q, path %q", a.Slug, a.Path())
		}
		var wg sync.WaitGroup
		slugs := make([]string, 6)
		for i := range slugs {
			wg.Go(func() {
				e, err := s.Create(ctx, content.KindPlace, place("Parco della Pace"), content.Actor{})
				if err != nil {
					t.Error(err)
					return
				}
				slugs[i] = e.Slug
			})
		}
		wg.Wait()
		seen := map[string]bool{a.Slug: true}
		for _, sl := range slugs {
			if sl == "" || seen[sl] {
				t.Errorf("slug %q given twice or not at all: %v", sl, slugs)
			}
			seen[sl] = true
		}
		in := place("Parco della Pace rinnovato")
		if e, err := s.Update(ctx, a.ID, in, content.Actor{}); err != nil || e.Slug != "parco-della-pace" {
			t.Errorf("update: %v, slug %q", err, e.Slug)
		}
		if n, err := (&audit.Log{DB: d}).Verify(ctx); err != nil || n != 15 {
			t.Errorf("audit: %d entries (want 7 created, 7 published, 1 updated), %v", n, err)
		}
	})
}

// An event's times are read in Rome and kept in UTC, across the change of
// the clocks; the coming events are those not yet ended.
func TestEventTimes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		now := time.Date(2026, 10, 24, 12, 0, 0, 0, hours.Rome)
		s := &content.Store{DB: d, Now: func() time.Time { return now }}
		ctx := context.Background()
		p, err := s.Create(ctx, content.KindPlace, place("Parco Nord"), content.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		ev := func(title, from, to string) *content.Entry {
			e, err := s.Create(ctx, content.KindEvent, content.Input{Action: content.ActionPublish, Values: map[string]string{"title": title,
				"summary": "Un evento.", "starts_at": from, "ends_at": to, "place": p.ID}}, content.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		// Summer time ends on 25 October 2026: 10:00 is UTC+1 that day, UTC+2 the day before.
		a := ev("Sabato", "2026-10-24T10:00", "2026-10-24T18:00")
		b := ev("Domenica", "2026-10-25T10:00", "2026-10-25T11:30")
		if a.StartsAt.Format(time.RFC3339) != "2026-10-24T08:00:00Z" || b.StartsAt.Format(time.RFC3339) != "2026-10-25T09:00:00Z" {
			t.Errorf("UTC: %s, %s", a.StartsAt, b.StartsAt)
		}
		got, err := s.Get(ctx, b.ID)
		if err != nil || !got.StartsAt.Equal(b.StartsAt) || got.Start().Format("15:04") != "10:00" || !got.SameDay() {
			t.Errorf("read back: %v %v", got.StartsAt, err)
		}
		ev("Ieri", "2026-10-23T10:00", "2026-10-23T11:00")
		list, total, err := s.Events(ctx, now, false, "", 1, 10)
		if err != nil || total != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
			t.Errorf("coming at noon: %d %v", total, err)
		}
		if _, past, _ := s.Events(ctx, now, true, "", 1, 10); past != 1 {
			t.Errorf("%d past events, want 1", past)
		}
		if _, coming, _ := s.Events(ctx, now.Add(6*time.Hour), false, "", 1, 10); coming != 1 {
			t.Errorf("at 18:00 the Saturday event has ended: %d coming", coming)
		}
	})
}

// What points at what stays whole: an entry in use is not deleted, a
// published one not withdrawn while published entries use it.
func TestReferencesHold(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := &content.Store{DB: d}
		ctx := context.Background()
		unit, err := s.Create(ctx, content.KindUnit, content.Input{Action: content.ActionPublish, Values: map[string]string{"category": "organi-di-governo",
			"title": "Giunta comunale", "summary": "Il Sindaco e gli assessori."}}, content.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		person := content.Input{Action: content.ActionPublish, Values: map[string]string{"category": "politici", "title": "Anna Rossi",
			"role": "Assessora", "summary": "Assessora al bilancio.", "unit": unit.ID}}
		pe, err := s.Create(ctx, content.KindPerson, person, content.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete(ctx, unit.ID, content.Actor{}); !errors.Is(err, content.ErrInUse) {
			t.Errorf("delete a body with members: %v", err)
		}
		in := content.Input{Action: content.ActionRetire, Values: map[string]string{"category": "organi-di-governo", "title": "Giunta comunale",
			"summary": "Il Sindaco e gli assessori."}}
		var fe content.FieldErrors
		if _, err := s.Update(ctx, unit.ID, in, content.Actor{}); !errors.As(err, &fe) || fe["action"] != "content.error.in_use_published" {
			t.Errorf("withdraw a body with published members: %v", err)
		}
		// A person may not point at a place, nor at nothing.
		person.Values["unit"] = "nessuno"
		if _, err := s.Create(ctx, content.KindPerson, person, content.Actor{}); !errors.As(err, &fe) || fe["unit"] != "content.error.unit" {
			t.Errorf("a person of an unknown body: %v", err)
		}
		if _, err := s.Delete(ctx, pe.ID, content.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, unit.ID, in, content.Actor{}); err != nil {
			t.Errorf("withdraw a body without members: %v", err)
		}
		if _, err := s.Delete(ctx, unit.ID, content.Actor{}); err != nil {
			t.Errorf("delete a body without members: %v", err)
		}
		if _, err := s.Get(ctx, unit.ID); !errors.Is(err, content.ErrNotFound) {
			t.Errorf("a deleted entry: %v", err)
		}
	})
}

// The demo is filled once; started again with no coming event, it dates
// its events from the new day.
func TestDemoKeepsItsCalendarFull(t *testing.T) {
	d := dbtest.SQLite(t) // the demo's loading: the store's SQL runs on both in the tests above
	s := &content.Store{DB: d}
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, hours.Rome)
	if err := s.EnsureDemo(ctx, start); err != nil {
		t.Fatal(err)
	}
	_, coming, _ := s.Events(ctx, start, false, "", 1, 50)
	_, places, _ := s.All(ctx, content.KindPlace, 1, 50)
	if coming < 5 || places < 8 {
		t.Fatalf("demo: %d coming events, %d places", coming, places)
	}
	if err := s.EnsureDemo(ctx, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, again, _ := s.All(ctx, content.KindEvent, 1, 100); again != coming+1 {
		t.Errorf("a second start added events while some were coming: %d", again)
	}
	later := start.AddDate(0, 2, 0)
	if _, c, _ := s.Events(ctx, later, false, "", 1, 50); c != 0 {
		t.Fatalf("%d events still coming two months later", c)
	}
	if err := s.EnsureDemo(ctx, later); err != nil {
		t.Fatal(err)
	}
	if _, c, _ := s.Events(ctx, later, false, "", 1, 50); c != coming {
		t.Errorf("two months later the demo has %d coming events, want %d", c, coming)
	}
	if _, p, _ := s.All(ctx, content.KindPlace, 1, 50); p != places {
		t.Errorf("the places were added again: %d", p)
	}
}
