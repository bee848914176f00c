package timeuse

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/audit"
	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/dbtest"
)

// With Recheck, Results reads the version at most once in its period:
// results written by another process (another store) show after it, those
// this store publishes at once.
func TestResultsRecheck(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := &Store{DB: d, Recheck: time.Hour}
		other := &Store{DB: d}
		if _, err := s.Results(ctx, LatestResults); !errors.Is(err, ErrNoResults) {
			t.Fatalf("no results yet: %v", err)
		}
		put := func(version int64) {
			t.Helper()
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				return putResults(ctx, tx, LatestResults, version, "fp", time.Unix(0, version).UTC(), `{"computed":"`+time.Unix(0, version).UTC().Format(time.RFC3339)+`"}`)
			}); err != nil {
				t.Fatal(err)
			}
		}
		put(1_000_000_000)
		if _, err := s.Results(ctx, LatestResults); !errors.Is(err, ErrNoResults) {
			t.Fatalf("another process's results within the period: %v, want the none kept", err)
		}
		if sum, err := other.Results(ctx, LatestResults); err != nil || sum == nil {
			t.Fatalf("a store without Recheck: %v", err)
		}
		// This store publishes: its own results show at once.
		if err := s.Publish(ctx, &audit.Log{DB: d}, 0, "operator:o1", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{LatestResults, PublishedResults} {
			if sum, err := s.Results(ctx, kind); err != nil || sum == nil {
				t.Fatalf("%s after this store published: %v", kind, err)
			}
		}
		put(2_000_000_000)
		if sum, err := s.Results(ctx, LatestResults); err != nil || sum.Computed.Unix() != 1 {
			t.Fatalf("kept: %+v, %v; want the results of second 1", sum, err)
		}
		s.Recheck = time.Nanosecond
		if sum, err := s.Results(ctx, LatestResults); err != nil || sum.Computed.Unix() != 2 {
			t.Fatalf("after the period: %+v, %v; want the results of second 2", sum, err)
		}
	})
}
