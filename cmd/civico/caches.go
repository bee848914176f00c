package main

import "time"

// caches bounds the caches each process keeps, all of one type
// (internal/cache) but the sessions' (identity.SessionCache, which other
// processes' changes reach through the database), each described in
// docs/ARCHITECTURE.md, "Caches":
// how many entries, and for how long. Each cache's purge rule is stated
// where it is declared. Only the TTL of pages and shared contents is read
// from the environment (CIVICO_PAGE_CACHE_TTL, config.PageCacheTTL); a zero
// bound or TTL turns a cache off, which is how BenchmarkCaches measures
// what each saves.
type caches struct {
	// Pages bounds the page cache of each application (web.PageCache:
	// whole pages for anonymous visitors), Contents its shared contents
	// (web.ContentCache: the main content of a page for logged-in
	// visitors); both keep an entry for PageCacheTTL.
	Pages, Contents int
	// Answers bounds the shared answers of each application
	// (web.AnswerCache: the public API's documents, for every client),
	// each kept PageCacheTTL.
	Answers int
	// Fragments bounds the layout fragments of each application
	// (web.FragmentCache), each kept FragmentTTL.
	Fragments   int
	FragmentTTL time.Duration
	// Town and Catalog are how long the town profile (town.Store) and the
	// catalogue (catalog.Store) are kept: an edit made through another
	// process shows here within them.
	Town, Catalog time.Duration
	// Sessions bounds the sessions each process keeps with their accounts
	// (identity.SessionCache), each served for at most SessionTTL: a
	// change made through this process is seen at once (within a reading
	// of the watcher if its transaction outlasts HotFor, 5 s), one made
	// anywhere else at the watcher's next reading (every 200 ms; served
	// at most a second past the last reading that succeeded); SessionTTL
	// bounds what nothing else would.
	Sessions   int
	SessionTTL time.Duration
	// Taken is how long the booking's time step keeps the places taken of
	// an office's service (booking.Store.TakenTTL): a place taken through
	// another process shows within it, through this one at once.
	Taken time.Duration
	// QueueCounts is how long the Sportello's back office keeps its
	// queues' counts (sportello.Store.CountsTTL): a change through another
	// process shows within it, through this one at once.
	QueueCounts time.Duration
	// Unread is how long the personal area keeps an account's count of
	// unread messages (area.Inbox.UnreadTTL): a message posted or read
	// through another process shows within it, through this one at once.
	Unread time.Duration
}

func defaultCaches() caches {
	return caches{Pages: 4096, Contents: 4096, Answers: 1024, Fragments: 4096, FragmentTTL: time.Hour, Town: 30 * time.Second, Catalog: 30 * time.Second,
		Sessions: 10000, SessionTTL: 30 * time.Second, Taken: time.Second, QueueCounts: 2 * time.Second, Unread: 2 * time.Second}
}
