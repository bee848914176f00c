package identity

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy means too many password checks are already running or waiting:
// the page answers 503 with Retry-After instead of making every login
// slower.
var ErrBusy = errors.New("too many password checks at once")

// Hasher runs argon2id for requests under a bound: each hash takes 64 MiB
// and about a tenth of a second of a core, so at most one per core runs, at
// most Queue wait, and a request that would wait longer than Wait is turned
// away. Only requests that passed every cheap check (the form, the link,
// the login budgets) reach it.
type Hasher struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
	wait    time.Duration
}

// DefaultPasswordQueue is how many password checks may wait for a core.
const DefaultPasswordQueue = 16

// NewHasher bounds the hashes to one per core and queue waiting ones.
func NewHasher(queue int) *Hasher {
	return &Hasher{slots: make(chan struct{}, max(1, runtime.NumCPU())), queue: int64(max(0, queue)), wait: 3 * time.Second}
}

func (h *Hasher) run(ctx context.Context, fn func()) error {
	select {
	case h.slots <- struct{}{}:
	default:
		if h.waiting.Add(1) > h.queue {
			h.waiting.Add(-1)
			return ErrBusy
		}
		t := time.NewTimer(h.wait)
		select {
		case h.slots <- struct{}{}:
			h.waiting.Add(-1)
			t.Stop()
		case <-t.C:
			h.waiting.Add(-1)
			return ErrBusy
		case <-ctx.Done():
			h.waiting.Add(-1)
			t.Stop()
			return ctx.Err()
		}
	}
	defer func() { <-h.slots }()
	fn()
	return nil
}

// Hash is HashPassword under the bound.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	var out string
	var err error
	if e := h.run(ctx, func() { out, err = HashPassword(password) }); e != nil {
		return "", e
	}
	return out, err
}

// Verify is VerifyPassword under the bound.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	var ok bool
	if err := h.run(ctx, func() { ok = VerifyPassword(hash, password) }); err != nil {
		return false, err
	}
	return ok, nil
}
