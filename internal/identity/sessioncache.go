package identity

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// SessionCache keeps, in this process's memory, the sessions it has read
// with their accounts and roles, so that a logged-in person's request reads
// nothing from the database to know who they are (the statement it saves
// was a quarter of the CPU of a logged-in home page on SQLite, and a round
// trip on PostgreSQL).
//
// What it keeps is never older than what the database says by more than
// this:
//
//   - A change made by this process (Store, Sessions and Service call
//     Invalidate as they write, before they commit) drops the account's
//     sessions at once, and keeps the account out of the cache for HotFor,
//     so that a request racing the write cannot put back what it read
//     before the commit.
//   - Every change, whoever makes it (another civico process on the same
//     database, a command, someone at the SQL prompt), is recorded by the
//     database's own triggers in identity_changes (migration 0267): a
//     watcher reads that table every Poll and drops the sessions of every
//     account listed since its last reading.
//   - Entries are served only while the watcher's last reading is recent
//     (three Polls, and at least a second): a watcher that stopped or
//     cannot read turns the cache off instead of leaving it stale.
//   - A read that began before a change it did not see is never kept: an
//     entry is kept only if no change reached the cache while it was read.
//   - No entry is served more than TTL after it was read.
//
// Whether a session is live (its absolute and idle expiry) is still
// decided at every request, from the times kept; one that may have ended
// is read again from the database, which ends it.
type SessionCache struct {
	DB *db.DB
	// TTL bounds how long an entry is served; Size how many are kept.
	TTL  time.Duration
	Size int
	// Poll is how often the watcher reads identity_changes; Window how far
	// back each reading looks beside the rows after the last it saw (on
	// PostgreSQL a row whose sequence number is lower than one already
	// seen may commit later: a transaction that commits within Window of
	// its change is still seen).
	Poll, Window time.Duration
	// HotFor keeps an account this process is changing out of the cache.
	HotFor time.Duration

	start sync.Once

	mu        sync.Mutex
	entries   map[string]*cachedSession
	byAccount map[string]map[string]struct{}
	hot       map[string]time.Time
	// epoch counts the changes that reached the cache: an entry read
	// while it moved is not kept.
	epoch uint64
	// freshUntil: entries are served until then (the watcher's last
	// reading plus three Polls).
	freshUntil time.Time

	// The watcher's own state, under watching.
	watching sync.Mutex
	cursor   int64
	seen     map[int64]struct{}

	hits, misses atomic.Int64
}

type cachedSession struct {
	se Session
	a  Account
	at time.Time
}

// NewSessionCache is a cache of the sessions of d holding up to size
// entries, each served for at most ttl; size or ttl 0 is no cache (nil).
func NewSessionCache(d *db.DB, size int, ttl time.Duration) *SessionCache {
	if size <= 0 || ttl <= 0 {
		return nil
	}
	return &SessionCache{DB: d, TTL: ttl, Size: size, Poll: 200 * time.Millisecond, Window: 10 * time.Second, HotFor: 5 * time.Second}
}

// Stats reports the lookups the cache answered and those it sent to the
// database since the process started.
func (c *SessionCache) Stats() (hits, misses int64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// get returns copies of the session kept under hash and of its account.
func (c *SessionCache) get(hash string) (*Session, *Account, bool) {
	c.start.Do(c.startWatcher)
	now := time.Now()
	c.mu.Lock()
	e := c.entries[hash]
	if e == nil || !now.Before(c.freshUntil) || now.Sub(e.at) > c.TTL || c.isHot(e.se.AccountID, now) {
		c.mu.Unlock()
		c.misses.Add(1)
		return nil, nil, false
	}
	se, a := e.se, e.a
	c.mu.Unlock()
	c.hits.Add(1)
	return &se, copyAccount(a), true
}

// copyAccount is a copy of a that shares nothing with it: handlers may
// change the account they are given.
func copyAccount(a Account) *Account {
	a.Roles = slices.Clone(a.Roles)
	if a.EmailVerifiedAt != nil {
		t := *a.EmailVerifiedAt
		a.EmailVerifiedAt = &t
	}
	if a.ClosedAt != nil {
		t := *a.ClosedAt
		a.ClosedAt = &t
	}
	return &a
}

// begin is called before a session is read from the database: put keeps
// what was read only if nothing changed since.
func (c *SessionCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put keeps a session read from the database since begin returned epoch.
func (c *SessionCache) put(epoch uint64, se *Session, a *Account) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch || !now.Before(c.freshUntil) || c.isHot(se.AccountID, now) {
		return
	}
	if c.entries == nil {
		c.entries, c.byAccount = map[string]*cachedSession{}, map[string]map[string]struct{}{}
	}
	if _, ok := c.entries[se.Hash]; !ok && len(c.entries) >= c.Size {
		for h, e := range c.entries { // any one: map order is random
			c.drop(h, e.se.AccountID)
			break
		}
	}
	c.entries[se.Hash] = &cachedSession{se: *se, a: *copyAccount(*a), at: now}
	hs := c.byAccount[se.AccountID]
	if hs == nil {
		hs = map[string]struct{}{}
		c.byAccount[se.AccountID] = hs
	}
	hs[se.Hash] = struct{}{}
}

// seen notes that the session was marked seen at t in the database.
func (c *SessionCache) seenAt(hash string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[hash]; e != nil {
		e.se.LastSeenAt = t
	}
}

func (c *SessionCache) drop(hash, account string) {
	delete(c.entries, hash)
	if hs := c.byAccount[account]; hs != nil {
		delete(hs, hash)
		if len(hs) == 0 {
			delete(c.byAccount, account)
		}
	}
}

// forget drops the sessions of the accounts, under c.mu.
func (c *SessionCache) forget(accounts ...string) {
	c.epoch++
	for _, id := range accounts {
		for h := range c.byAccount[id] {
			delete(c.entries, h)
		}
		delete(c.byAccount, id)
	}
}

// isHot says whether the account is being changed by this process, under c.mu.
func (c *SessionCache) isHot(account string, now time.Time) bool {
	until, ok := c.hot[account]
	if !ok {
		return false
	}
	if now.After(until) {
		delete(c.hot, account)
		return false
	}
	return true
}

// Invalidate drops the sessions of the accounts and keeps them out of the
// cache for HotFor: called by this process's writes to an account, its
// roles or its sessions, before they commit. Safe on a nil cache.
func (c *SessionCache) Invalidate(accounts ...string) {
	if c == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hot == nil {
		c.hot = map[string]time.Time{}
	}
	if len(c.hot) > 4*c.Size {
		for id, until := range c.hot {
			if now.After(until) {
				delete(c.hot, id)
			}
		}
	}
	for _, id := range accounts {
		c.hot[id] = now.Add(c.HotFor)
	}
	c.forget(accounts...)
}

// startWatcher starts the goroutine that reads identity_changes until the
// database handle is closed.
func (c *SessionCache) startWatcher() {
	go func() {
		t := time.NewTicker(c.Poll)
		defer t.Stop()
		for {
			c.watch()
			select {
			case <-c.DB.Done():
				c.mu.Lock()
				c.freshUntil = time.Time{}
				c.entries, c.byAccount = nil, nil
				c.mu.Unlock()
				return
			case <-t.C:
			}
		}
	}()
}

// watch reads the changes recorded since the last reading and drops the
// sessions of their accounts; on failure it turns the cache off until a
// reading succeeds.
func (c *SessionCache) watch() {
	ctx, cancel := context.WithTimeout(context.Background(), max(time.Second, 3*c.Poll))
	defer cancel()
	c.watching.Lock()
	defer c.watching.Unlock()
	start := time.Now()
	accounts, err := c.changes(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.freshUntil = time.Time{}
		c.epoch++
		c.entries, c.byAccount = nil, nil
		return
	}
	if slices.Contains(accounts, "*") { // a TRUNCATE: every account
		c.epoch++
		c.entries, c.byAccount = nil, nil
	} else if len(accounts) > 0 {
		c.forget(accounts...)
	}
	c.freshUntil = start.Add(max(time.Second, 3*c.Poll))
}

// Sync reads the changes now instead of at the watcher's next reading:
// for a writer who, having changed the tables behind every process's back
// (at the SQL prompt, as a test does), wants its next lookup to see it.
// Safe on a nil cache.
func (c *SessionCache) Sync() {
	if c != nil {
		c.start.Do(c.startWatcher)
		c.watch()
	}
}

// changes returns the accounts of the rows of identity_changes not seen
// before: after the last one seen, or within Window of the database's
// clock.
func (c *SessionCache) changes(ctx context.Context) ([]string, error) {
	if c.seen == nil {
		if err := c.DB.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM identity_changes`).Scan(&c.cursor); err != nil {
			return nil, err
		}
		c.seen = map[int64]struct{}{}
	}
	rows, err := c.DB.QueryContext(ctx, `SELECT seq, account_id FROM identity_changes WHERE seq > $1 OR at_ms > `+c.DB.NowMillis()+` - $2`, // #nosec G202 -- NowMillis is a constant expression of the dialect
		c.cursor, c.Window.Milliseconds())
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var accounts []string
	seen := make(map[int64]struct{}, len(c.seen))
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, err
		}
		seen[seq] = struct{}{}
		c.cursor = max(c.cursor, seq)
		if _, ok := c.seen[seq]; !ok {
			accounts = append(accounts, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// A row not read now will never be read again (it is behind the
	// cursor and out of the window): only this reading's are kept.
	c.seen = seen
	return accounts, nil
}

// trimChanges removes the rows of identity_changes older than an hour.
func trimChanges(ctx context.Context, d *db.DB) error {
	_, err := d.ExecContext(ctx, `DELETE FROM identity_changes WHERE at_ms < `+d.NowMillis()+` - 3600000`) // #nosec G202 -- NowMillis is a constant expression of the dialect
	return err
}
