package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/civico-pa/civico/internal/cf"
)

// What a write is.
type opKind int

const (
	registration opKind = iota
	rating
)

func (k opKind) String() string {
	if k == registration {
		return "registration"
	}
	return "rating"
}

// What became of a write.
type outcome int

const (
	pending      outcome = iota // sent, no answer yet
	acknowledged                // the success answer arrived in full
	lost                        // no complete answer: the server died during the request
	refused                     // the connection was refused: the request never reached civico
	unexpected                  // a complete answer other than success
)

// op is one write: Key is what finds it in the database (the e-mail address
// of a registration, the comment token of a rating).
type op struct {
	Kind    opKind
	N       int
	Key     string
	State   outcome
	Detail  string // for unexpected: the status and why
	Started time.Time
}

// ledger remembers every write sent, and what became of it.
type ledger struct {
	runID string
	mu    sync.Mutex
	ops   []*op
	next  atomic.Int64
	odd   []string // unexpected answers
}

func newLedger(runID string) *ledger { return &ledger{runID: runID} }

// Each registration needs a valid codice fiscale of its own: the first six
// letters count in base 26 from "ZZ" (no demo person starts so), the rest is
// fixed (born 1 January 1980 in Milan), and cf.Complete adds the check
// letter.
func fiscalCode(n int) (string, error) {
	if n < 0 || n >= 26*26*26*26 {
		return "", fmt.Errorf("fiscal code number %d out of range", n)
	}
	letters := []byte("ZZAAAA")
	for i := 5; i >= 2; i-- {
		letters[i] = byte('A' + n%26)
		n /= 26
	}
	code, err := cf.Complete(string(letters) + "80A01F205")
	return string(code), err
}

const (
	emailDomain = "crash.civico.invalid"
	// A password the policy accepts, unrelated to the names and addresses.
	password = "Quarzo-Tram-Sesto-91" // #nosec G101 -- a throwaway password for test accounts in a throwaway database
)

func (l *ledger) email(n int) string { return fmt.Sprintf("c%s-%d@%s", l.runID, n, emailDomain) }

// tokenPrefix starts every rating comment of this run.
func (l *ledger) tokenPrefix() string { return "crash-" + l.runID + "-" }

func (l *ledger) newOp(kind opKind) *op {
	n := int(l.next.Add(1))
	o := &op{Kind: kind, N: n, State: pending, Started: time.Now()}
	if kind == registration {
		o.Key = l.email(n)
	} else {
		o.Key = l.tokenPrefix() + strconv.Itoa(n)
	}
	l.mu.Lock()
	l.ops = append(l.ops, o)
	l.mu.Unlock()
	return o
}

func (l *ledger) finish(o *op, state outcome, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o.State, o.Detail = state, detail
	if state == unexpected {
		l.odd = append(l.odd, fmt.Sprintf("%s %s: %s", o.Kind, o.Key, detail))
	}
}

func (l *ledger) unexpected() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.odd...)
}

// burst is a set of writers working against one server.
type burst struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
	l      *ledger
	mu     sync.Mutex
	counts [2][5]int // by kind and outcome
}

func (r *runner) startBurst(s *server) *burst {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{MaxIdleConnsPerHost: r.opts.writers, DisableCompression: true}
	b := &burst{
		cancel: cancel,
		l:      r.ledger,
		client: &http.Client{
			Transport: tr,
			Timeout:   15 * time.Second,
			// The answer to a rating is a 303: it is the acknowledgement
			// itself, not something to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	for i := range r.opts.writers {
		kind := rating
		if i < r.opts.regWriters {
			kind = registration
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			// A write in flight is not cancelled when the burst stops: after
			// a kill it fails by itself, and in the final run it completes.
			for ctx.Err() == nil {
				b.write(s, kind)
			}
		}()
	}
	return b
}

// stop ends the writers (after the kill: requests in flight then fail on
// their own) and reports what happened.
func (b *burst) stop() string {
	b.cancel()
	b.wg.Wait()
	b.client.CloseIdleConnections()
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("registrations %d acknowledged, %d without answer; ratings %d acknowledged, %d without answer",
		b.counts[registration][acknowledged], b.counts[registration][lost], b.counts[rating][acknowledged], b.counts[rating][lost])
}

// write sends one write and records its fate. Go's HTTP client never
// retries a POST by itself, so each write reaches the server at most once.
func (b *burst) write(s *server, kind opKind) {
	o := b.l.newOp(kind)
	var form url.Values
	var path string
	if kind == registration {
		code, err := fiscalCode(o.N)
		if err != nil {
			b.l.finish(o, unexpected, err.Error())
			return
		}
		path = "/registrati"
		form = url.Values{"email": {o.Key}, "password": {password}, "password2": {password}, "fiscal_code": {code},
			"given_name": {"Ada"}, "family_name": {"Collaudo"}, "privacy": {"1"}}
	} else {
		path = "/valutazione"
		form = url.Values{"path": {"/"}, "rating": {strconv.Itoa(1 + o.N%5)}, "reason": {""}, "comment": {o.Key}, "token": {s.ratingToken}}
	}
	req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.l.finish(o, unexpected, err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if kind == rating {
		// Each rating from a client of its own (an IPv6 /64 of the
		// documentation prefix): one client rates a page once a day.
		req.Header.Set("X-Forwarded-For", clientOf(o.N))
	}
	req.Header.Set("Accept-Language", "it")
	resp, err := b.client.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		// Between the kill and the end of the burst: nothing listens, so
		// the write cannot be in the database at all.
		b.record(o, refused, err.Error())
		time.Sleep(5 * time.Millisecond)
		return
	}
	if err != nil {
		// Reset or cut short: the write may or may not have been
		// committed, and must be there at most once.
		b.record(o, lost, err.Error())
		return
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		b.record(o, lost, "body: "+err.Error())
		return
	}
	state, detail := judge(kind, resp, body)
	b.record(o, state, detail)
}

// clientOf is the address write n comes from: a /64 of its own.
func clientOf(n int) string { return fmt.Sprintf("2001:db8:%x:%x::1", n>>16&0xffff, n&0xffff) }

// judge tells whether a complete answer is the success acknowledgement.
func judge(kind opKind, resp *http.Response, body []byte) (outcome, string) {
	if kind == registration {
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "Ti abbiamo scritto") {
			return acknowledged, ""
		}
		return unexpected, fmt.Sprintf("status %d, want 200 with \"Ti abbiamo scritto\"", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode == http.StatusSeeOther && strings.Contains(loc, "valutazione=grazie") {
		return acknowledged, ""
	}
	return unexpected, fmt.Sprintf("status %d, Location %q, want 303 to ...valutazione=grazie", resp.StatusCode, loc)
}

func (b *burst) record(o *op, state outcome, detail string) {
	b.l.finish(o, state, detail)
	b.mu.Lock()
	b.counts[o.Kind][state]++
	b.mu.Unlock()
}
