package timeuse_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/civico-pa/civico/internal/dbtest"
	"github.com/civico-pa/civico/internal/sealed"
	"github.com/civico-pa/civico/internal/timeuse"
)

// Checking a diary day of 30 episodes (done on every diary page).
func BenchmarkDiaryCheck(b *testing.B) {
	acts := timeuse.ACL()
	d := &timeuse.Diary{DayType: "weekday"}
	for i := range 30 {
		d.Episodes = append(d.Episodes, timeuse.Episode{Start: i * 48, End: (i + 1) * 48, Activity: "821", Location: "11", WithWhom: "alone"})
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(d.Check(acts)) != 0 {
			b.Fatal("issues")
		}
	}
}

// Saving the draft and sending it: the participation mark, the
// respondent, two diaries of five episodes, the draft deleted (SQLite).
func BenchmarkSubmit(b *testing.B) {
	d := dbtest.SQLite(b)
	box, _ := sealed.New(make([]byte, 32))
	s, ctx := &timeuse.Store{DB: d, Box: box, Acts: timeuse.ACL()}, context.Background()
	a := complete()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		id := "bench" + strconv.Itoa(i)
		if _, err := d.ExecContext(ctx, `INSERT INTO accounts (id, kind, created_at, updated_at) VALUES ($1, 'resident', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, id); err != nil {
			b.Fatal(err)
		}
		if err := s.SaveDraft(ctx, timeuse.Subject{Account: id}, a); err != nil {
			b.Fatal(err)
		}
		if err := s.Submit(ctx, timeuse.Subject{Account: id}); err != nil {
			b.Fatal(err)
		}
	}
}

// Synthetic respondents, 100 per op (SQLite).
func BenchmarkSynth100(b *testing.B) {
	d := dbtest.SQLite(b)
	s, ctx := &timeuse.Store{DB: d, Acts: timeuse.ACL()}, context.Background()
	seed := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		seed++
		if err := s.Synth(ctx, 100, seed, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// Exporting 2,000 respondents (4,000 diaries, about 70,000 episodes) to
// CSV (SQLite).
func BenchmarkExport2000(b *testing.B) {
	d := dbtest.SQLite(b)
	s, ctx := &timeuse.Store{DB: d, Acts: timeuse.ACL()}, context.Background()
	if err := s.Synth(ctx, 2000, 1, nil); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if n, err := s.ExportDir(ctx, dir, timeuse.SyntheticOnly, nil); err != nil || n.Respondents != 2000 {
			b.Fatal(n, err)
		}
	}
}
