package cache_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/civico-pa/civico/internal/cache"
)

func TestZeroTTLOrBoundKeepsNothing(t *testing.T) {
	for _, c := range []*cache.Cache[string, int]{cache.New[string, int](0, 10), cache.New[string, int](time.Minute, 0), nil} {
		if c != nil {
			t.Fatal("New with a zero TTL or bound is not nil")
		}
		c.Put(c.Stamp(), "a", 1)
		if _, ok := c.Get("a"); ok || c.Len() != 0 {
			t.Error("a nil cache kept a value")
		}
		loads := 0
		for range 2 {
			if v, err := c.Load("a", func() (int, error) { loads++; return 7, nil }); v != 7 || err != nil {
				t.Errorf("Load = %d, %v", v, err)
			}
		}
		if loads != 2 {
			t.Errorf("a nil cache loaded %d times for two Loads, want 2", loads)
		}
		c.Purge()
	}
}

func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cache.New[string, int](10*time.Second, 10)
		c.Put(c.Stamp(), "a", 1)
		time.Sleep(9 * time.Second)
		if v, ok := c.Get("a"); !ok || v != 1 {
			t.Fatalf("within the TTL: %d, %v", v, ok)
		}
		time.Sleep(time.Second)
		if _, ok := c.Get("a"); ok {
			t.Fatal("an entry outlived its TTL")
		}
		loads := 0
		load := func() (int, error) { loads++; return loads, nil }
		if v, _ := c.Load("a", load); v != 1 {
			t.Fatalf("Load of an expired entry = %d", v)
		}
		if v, _ := c.Load("a", load); v != 1 || loads != 1 {
			t.Fatalf("Load within the TTL loaded again: %d, %d loads", v, loads)
		}
		// Put renews an entry's TTL.
		time.Sleep(5 * time.Second)
		c.Put(c.Stamp(), "a", 2)
		time.Sleep(9 * time.Second)
		if v, ok := c.Get("a"); !ok || v != 2 {
			t.Fatalf("a renewed entry: %d, %v", v, ok)
		}
	})
}

func TestBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const max = 8
		c := cache.New[int, int](time.Minute, max)
		for i := range max {
			c.Put(c.Stamp(), i, i)
		}
		if c.Len() != max {
			t.Fatalf("%d entries, want %d", c.Len(), max)
		}
		// Replacing a key does not count as a new one.
		c.Put(c.Stamp(), 0, 100)
		if v, _ := c.Get(0); c.Len() != max || v != 100 {
			t.Fatalf("after a replacement: %d entries, 0 -> %d", c.Len(), v)
		}
		// Full of live entries: a new key starts afresh.
		c.Put(c.Stamp(), max, max)
		if c.Len() != 1 {
			t.Fatalf("full of live entries, a new one left %d, want 1", c.Len())
		}
		if v, ok := c.Get(max); !ok || v != max {
			t.Fatal("the new entry was not kept")
		}
		// Full with enough expired entries: only those go.
		for i := range max / 2 {
			c.Put(c.Stamp(), 100+i, i)
		}
		time.Sleep(30 * time.Second)
		for i := range max - c.Len() {
			c.Put(c.Stamp(), 200+i, i)
		}
		time.Sleep(31 * time.Second) // the first half expires, the second lives
		c.Put(c.Stamp(), 300, 300)
		if c.Len() > max*3/4+1 || c.Len() < 2 {
			t.Fatalf("after sweeping expired entries: %d", c.Len())
		}
		for i := range max - max/2 - 1 {
			if _, ok := c.Get(200 + i); !ok {
				t.Errorf("live entry %d was dropped while expired ones could go", 200+i)
			}
		}
		// However many keys come, the cache never holds more than max.
		for i := range 10 * max {
			c.Put(c.Stamp(), 1000+i, i)
			if c.Len() > max {
				t.Fatalf("%d entries, bound %d", c.Len(), max)
			}
		}
	})
}

func TestPurge(t *testing.T) {
	c := cache.New[string, string](time.Minute, 10)
	c.Put(c.Stamp(), "a", "old")
	// A value computed from what an edit changes: its stamp is taken
	// before the edit's purge, its Put comes after.
	s := c.Stamp()
	c.Purge()
	if _, ok := c.Get("a"); ok || c.Len() != 0 {
		t.Fatal("Purge left an entry")
	}
	c.Put(s, "a", "computed before the purge")
	if v, ok := c.Get("a"); ok {
		t.Fatalf("a value stamped before a purge was kept: %q", v)
	}
	c.Put(c.Stamp(), "a", "new")
	if v, _ := c.Get("a"); v != "new" {
		t.Fatalf("after the purge: %q", v)
	}
	// A purge during a Load: its value is returned to its caller, not kept.
	v, err := c.Load("b", func() (string, error) { c.Purge(); return "loaded during a purge", nil })
	if v != "loaded during a purge" || err != nil {
		t.Fatalf("Load = %q, %v", v, err)
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("a value loaded across a purge was kept")
	}
}

func TestLoadOnceForCallersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cache.New[string, int](time.Minute, 10)
		var loads atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				v, err := c.Load("a", func() (int, error) {
					loads.Add(1)
					time.Sleep(time.Second) // a slow database
					return 42, nil
				})
				if v != 42 || err != nil {
					t.Errorf("Load = %d, %v", v, err)
				}
			})
		}
		wg.Wait()
		if n := loads.Load(); n != 1 {
			t.Errorf("%d loads for callers asking at once, want 1", n)
		}
	})
}

func TestLoadErrorIsNotShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cache.New[string, int](time.Minute, 10)
		var loads atomic.Int32
		var wg sync.WaitGroup
		errCancelled := errors.New("the first caller went away")
		for range 5 {
			wg.Go(func() {
				_, _ = c.Load("a", func() (int, error) {
					time.Sleep(time.Second)
					if loads.Add(1) == 1 {
						return 0, errCancelled
					}
					return 7, nil
				})
			})
		}
		wg.Wait()
		// The first load failed: one of the waiting callers loaded again,
		// and the others got its value.
		if n := loads.Load(); n != 2 {
			t.Errorf("%d loads, want 2 (the failed one, then one more)", n)
		}
		if v, ok := c.Get("a"); !ok || v != 7 {
			t.Errorf("after the retry: %d, %v", v, ok)
		}
		// An error is never kept.
		if _, err := c.Load("b", func() (int, error) { return 0, errCancelled }); !errors.Is(err, errCancelled) {
			t.Fatal(err)
		}
		if _, ok := c.Get("b"); ok || c.Len() != 1 {
			t.Error("an error was kept")
		}
	})
}

// Run with -race: readers, writers, loads and purges at once.
func TestConcurrentUse(t *testing.T) {
	c := cache.New[string, int](time.Minute, 64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := fmt.Sprint(i % 100)
				switch (g + i) % 5 {
				case 0:
					c.Put(c.Stamp(), k, i)
				case 1, 2:
					if v, ok := c.Get(k); ok && v < 0 {
						t.Errorf("impossible value %d", v)
					}
				case 3:
					if _, err := c.Load(k, func() (int, error) { return i, nil }); err != nil {
						t.Error(err)
					}
				case 4:
					if i%50 == 0 {
						c.Purge()
					}
				}
				if n := c.Len(); n > 64 {
					t.Errorf("%d entries, bound 64", n)
				}
			}
		})
	}
	wg.Wait()
}

// PutFor keeps a value for the shorter of its own TTL and the cache's.
func TestPutForKeepsAtMostItsTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := cache.New[string, int](time.Hour, 10)
		c.PutFor(c.Stamp(), "short", 1, 10*time.Second)
		c.PutFor(c.Stamp(), "long", 2, 2*time.Hour)
		c.PutFor(c.Stamp(), "default", 3, 0)
		time.Sleep(9 * time.Second)
		if _, ok := c.Get("short"); !ok {
			t.Fatal("a value within its own TTL is gone")
		}
		time.Sleep(time.Second)
		if _, ok := c.Get("short"); ok {
			t.Fatal("a value outlived its own TTL")
		}
		time.Sleep(time.Hour - 10*time.Second - time.Nanosecond)
		if _, ok := c.Get("long"); !ok {
			t.Fatal("a value is gone before the cache's TTL")
		}
		if _, ok := c.Get("default"); !ok {
			t.Fatal("a value with no TTL of its own is gone before the cache's")
		}
		time.Sleep(time.Nanosecond)
		if _, ok := c.Get("long"); ok {
			t.Fatal("a value outlived the cache's TTL")
		}
	})
}
