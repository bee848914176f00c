// Package cache is civico's one in-process cache: a map of at most Max
// entries, each kept at most TTL, that an edit purges. Every cache civico
// keeps is one of these, declared where it is used with its key, its bound
// and its purge rule (docs/ARCHITECTURE.md, "Caches").
//
// Each process has its own caches: a change made through another process
// shows here within the TTL, one made through this process as soon as its
// edit purges.
package cache

import (
	"sync"
	"time"
)

// Cache maps keys to values for a while. A nil *Cache keeps nothing: Get
// misses, Put and Purge do nothing, Load always loads. New returns nil for
// a zero TTL or bound, so a cache is turned off through its configuration.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[K]entry[V]
	// gen counts the purges: a value computed before one is not stored
	// after it (Put's Stamp).
	gen     uint64
	flights map[K]chan struct{}
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns a cache of at most max entries kept ttl each; a ttl or max of
// zero or less returns nil, which keeps nothing.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	if ttl <= 0 || max <= 0 {
		return nil
	}
	return &Cache[K, V]{ttl: ttl, max: max, entries: map[K]entry[V]{}, flights: map[K]chan struct{}{}}
}

// Stamp is the moment, in purges, at which a value began to be computed.
type Stamp uint64

// Stamp is taken before reading what a value is computed from, and given
// to Put with the value: if a purge ran in between, the value may have
// been computed from what the purge was for, and Put drops it.
func (c *Cache[K, V]) Stamp() Stamp {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stamp(c.gen)
}

// Get returns the value of k unless it is missing or older than the TTL.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.expires) {
		return zero, false
	}
	return e.value, true
}

// Put keeps v for k for the TTL, unless the cache was purged since s.
// When the cache is full, entries past their TTL go first; if that leaves
// it more than three quarters full, everything goes (the cost is then a
// recomputation of each entry, as without the cache), so that a full cache
// is swept at most once every quarter of its bound.
func (c *Cache[K, V]) Put(s Stamp, k K, v V) { c.PutFor(s, k, v, 0) }

// PutFor is Put for a value that must not be kept longer than ttl: it is
// kept for the shorter of ttl and the cache's TTL (0: the cache's).
func (c *Cache[K, V]) PutFor(s Stamp, k K, v V, ttl time.Duration) {
	if c == nil {
		return
	}
	if ttl <= 0 || ttl > c.ttl {
		ttl = c.ttl
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if Stamp(c.gen) != s {
		return
	}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for old, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, old)
			}
		}
		if len(c.entries) > c.max*3/4 {
			clear(c.entries)
		}
	}
	c.entries[k] = entry[V]{value: v, expires: now.Add(ttl)}
}

// Load returns the value of k, computing it with load when it is missing.
// Callers asking for the same missing key at once wait for one load; if it
// fails, each of them loads in turn, so that one request's failure (its
// context cancelled) is not every waiting request's. An error is returned,
// never kept.
func (c *Cache[K, V]) Load(k K, load func() (V, error)) (V, error) {
	if c == nil {
		return load()
	}
	for {
		if v, ok := c.Get(k); ok {
			return v, nil
		}
		c.mu.Lock()
		wait, busy := c.flights[k]
		if !busy {
			done := make(chan struct{})
			c.flights[k] = done
			s := Stamp(c.gen)
			c.mu.Unlock()
			return c.fly(k, s, done, load)
		}
		c.mu.Unlock()
		<-wait
	}
}

func (c *Cache[K, V]) fly(k K, s Stamp, done chan struct{}, load func() (V, error)) (V, error) {
	defer func() {
		c.mu.Lock()
		delete(c.flights, k)
		c.mu.Unlock()
		close(done)
	}()
	v, err := load()
	if err == nil {
		c.Put(s, k, v)
	}
	return v, err
}

// Purge forgets every entry, and every value being computed (see Stamp).
func (c *Cache[K, V]) Purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// Len is the number of entries kept, some possibly past their TTL.
func (c *Cache[K, V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
