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
		// After the period, the version is read again.
		const period = 20 * time.Millisecond
		short := &Store{DB: d, Recheck: period}
		if sum, err := short.Results(ctx, LatestResults); err != nil || sum.Computed.Unix() != 2 {
			t.Fatalf("a store with a short period: %+v, %v; want the results of second 2", sum, err)
		}
		put(3_000_000_000)
		time.Sleep(period)
		if sum, err := short.Results(ctx, LatestResults); err != nil || sum.Computed.Unix() != 3 {
			t.Fatalf("after the period: %+v, %v; want the results of second 3", sum, err)
		}
	})
}

// A version read again unchanged is not decoded again, and results read
// before a write through this store are not kept after it.
func TestResultsKeptByVersion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		put := func(kind string, version int64) {
			t.Helper()
			if err := d.Tx(ctx, func(tx *sql.Tx) error {
				return putResults(ctx, tx, kind, version, "fp", time.Unix(0, version).UTC(), `{"computed":"`+time.Unix(0, version).UTC().Format(time.RFC3339)+`"}`)
			}); err != nil {
				t.Fatal(err)
			}
		}
		put(LatestResults, 1_000_000_000)
		// Without Recheck the version is read at every call, the body
		// decoded only when it changed.
		s := &Store{DB: d}
		first, err := s.Results(ctx, LatestResults)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.Results(ctx, LatestResults); err != nil || again != first {
			t.Fatalf("the same version: %p, %v; want the results decoded before (%p)", again, err, first)
		}
		put(LatestResults, 2_000_000_000)
		if sum, err := s.Results(ctx, LatestResults); err != nil || sum.Computed.Unix() != 2 {
			t.Fatalf("a new version: %+v, %v; want the results of second 2", sum, err)
		}

		// A reading whose stamps were taken before a write through this
		// store (its forgetResults) keeps nothing: neither results nor
		// their absence.
		s = &Store{DB: d, Recheck: time.Hour}
		for _, c := range []struct {
			kind    string
			read    int64 // the second read, 0 for none
			version int64 // then written by another process
		}{{LatestResults, 2, 3_000_000_000}, {PublishedResults, 0, 4_000_000_000}} {
			kept, decoded := s.resultsCaches()
			keptStamp, decodedStamp := kept.Stamp(), decoded.Stamp()
			s.forgetResults()
			sum, err := s.readResults(ctx, c.kind, keptStamp, decodedStamp)
			if c.read == 0 && !errors.Is(err, ErrNoResults) || c.read != 0 && (err != nil || sum.Computed.Unix() != c.read) {
				t.Fatalf("%s, reading begun before the write: %+v, %v", c.kind, sum, err)
			}
			put(c.kind, c.version)
			if sum, err := s.Results(ctx, c.kind); err != nil || sum.Computed.Unix() != c.version/1_000_000_000 {
				t.Fatalf("%s after a reading begun before a write: %+v, %v; want the results of second %d, not what was read", c.kind, sum, err, c.version/1_000_000_000)
			}
		}
	})
}
