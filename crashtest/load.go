package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// What a write is.
type opKind int

const (
	signup     opKind = iota // POST /registrati: a registration link to a new address
	completion               // POST /registrati/completa: the link followed, the account created
	rating                   // POST /valutazione
	nKinds
)

func (k opKind) String() string {
	return [...]string{"signup", "completion", "rating"}[k]
}

// What became of a write.
type outcome int

const (
	pending      outcome = iota // sent, no answer yet
	acknowledged                // the success answer arrived in full
	lost                        // no complete answer: the server died during the request
	refused                     // the connection was refused: the request never reached civico
	unexpected                  // a complete answer other than success
	rejected                    // a completion answered 400 "link not valid or already used"
	nOutcomes
)

// op is one write. Key is what finds it in the database: the e-mail address
// of a signup and of a completion (the address whose link it follows), the
// comment token of a rating.
type op struct {
	Kind    opKind
	N       int
	Key     string
	Token   string // completion: the link's token, read from the outbox
	Race    bool   // completion: one of two sent at once with the same token
	Final   bool   // sent in the final run, which no kill ends
	State   outcome
	Detail  string // for unexpected: the status and why
	Started time.Time
	Took    time.Duration // from sending to the answer (or its failure)
}

// Of the acknowledged signups, one in leaveOpen is never completed, so that
// the check also finds live links; one completion in raceEvery is sent twice
// at once, and the two must give one account. A link whose completion got
// no answer (the kill) is followed again in the final run: the new answer
// must agree with what the lost one did.
const (
	leaveOpen = 4
	raceEvery = 3
)

// ledger remembers every write sent, and what became of it.
type ledger struct {
	runID string
	mu    sync.Mutex
	ops   []*op
	next  atomic.Int64
	final atomic.Bool // the final run has begun
	odd   []string    // unexpected answers
	// ready are acknowledged signups waiting for their completion; retry
	// those whose completion got no answer, for the final run.
	ready, retry []*op
	// seen are durability failures noticed while civico ran: an
	// acknowledged signup whose mail a reader did not find.
	seen        []string
	completions int // completions started (links followed), for raceEvery
}

func newLedger(runID string) *ledger { return &ledger{runID: runID} }

const (
	emailDomain = "crash.civico.invalid"
	// A password the policy accepts, unrelated to the names and addresses.
	password = "Quarzo-Tram-Sesto-91" // #nosec G101 -- a throwaway password for test accounts in a throwaway database
)

func (l *ledger) email(n int) string { return fmt.Sprintf("c%s-%d@%s", l.runID, n, emailDomain) }

// emailPattern is a LIKE pattern for every address of this run (runID is
// hex: no wildcard in it).
func (l *ledger) emailPattern() string { return "c" + l.runID + "-%" }

// tokenPrefix starts every rating comment of this run.
func (l *ledger) tokenPrefix() string { return "crash-" + l.runID + "-" }

// newOp records a new signup or rating.
func (l *ledger) newOp(kind opKind) *op {
	return l.add(&op{Kind: kind})
}

// newCompletion records a new completion of signup sig's link.
func (l *ledger) newCompletion(sig *op, token string, race bool) *op {
	return l.add(&op{Kind: completion, Key: sig.Key, Token: token, Race: race})
}

func (l *ledger) add(o *op) *op {
	o.N = int(l.next.Add(1))
	o.State, o.Started, o.Final = pending, time.Now(), l.final.Load()
	switch o.Kind {
	case signup:
		o.Key = l.email(o.N)
	case rating:
		o.Key = l.tokenPrefix() + strconv.Itoa(o.N)
	}
	l.mu.Lock()
	l.ops = append(l.ops, o)
	l.mu.Unlock()
	return o
}

func (l *ledger) finish(o *op, state outcome, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o.State, o.Detail, o.Took = state, detail, time.Since(o.Started)
	switch {
	case state == unexpected:
		l.odd = append(l.odd, fmt.Sprintf("%s %s: %s", o.Kind, o.Key, detail))
	case state == acknowledged && o.Kind == signup && o.N%leaveOpen != 0:
		l.ready = append(l.ready, o)
	}
}

// takeReady returns an acknowledged signup to complete (with retries: or
// one whose completion got no answer), or nil, and whether its completion
// is to be raced.
func (l *ledger) takeReady(retries bool) (*op, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s *op
	switch {
	case len(l.ready) > 0:
		s, l.ready = l.ready[0], l.ready[1:]
	case retries && len(l.retry) > 0:
		s, l.retry = l.retry[0], l.retry[1:]
	default:
		return nil, false
	}
	l.completions++
	return s, l.completions%raceEvery == 0
}

// putBack returns a signup whose token could not be read (the reader was
// closed for the kill) to the front of the queue.
func (l *ledger) putBack(s *op) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ready = append([]*op{s}, l.ready...)
	l.completions--
}

// again keeps a signup whose completion got no answer, to follow its link
// once more in the final run.
func (l *ledger) again(s *op) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retry = append(l.retry, s)
}

func (l *ledger) notice(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, fmt.Sprintf(format, args...))
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
	mail   *mailReader
	mu     sync.Mutex
	counts [nKinds][nOutcomes]int
	// completed is closed when the burst's first completion is
	// acknowledged.
	completed     chan struct{}
	completedOnce sync.Once
}

// startBurst starts the writers: the first -registration-writers request
// signups and complete them (reading each link from the outbox through
// mail), the others post ratings. With drain > 0 (the final run, which ends
// without a kill), once the burst is stopped the registering writers go on
// following the links still queued and those whose completion was lost in
// a kill, for up to drain: every such link is then answered.
func (r *runner) startBurst(s *server, mail *mailReader, drain time.Duration) *burst {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{MaxIdleConnsPerHost: r.opts.writers + r.opts.regWriters, DisableCompression: true}
	b := &burst{
		cancel:    cancel,
		l:         r.ledger,
		mail:      mail,
		completed: make(chan struct{}),
		client: &http.Client{
			Transport: tr,
			Timeout:   15 * time.Second,
			// The answers to a rating and to a completion are 303s: they
			// are the acknowledgement itself, not something to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	for i := range r.opts.writers {
		registers := i < r.opts.regWriters
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			// A write in flight is not cancelled when the burst stops: after
			// a kill it fails by itself, and in the final run it completes.
			for ctx.Err() == nil {
				if !registers {
					b.write(s, b.l.newOp(rating))
				} else if sig, race := b.l.takeReady(false); sig != nil {
					b.complete(s, sig, race)
				} else {
					b.write(s, b.l.newOp(signup))
				}
			}
			if !registers || drain <= 0 {
				return
			}
			for end := time.Now().Add(drain); time.Now().Before(end); {
				sig, race := b.l.takeReady(true)
				if sig == nil {
					return
				}
				b.complete(s, sig, race)
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
	c := b.counts
	return fmt.Sprintf("signups %d acknowledged, %d without answer; completions %d acknowledged, %d link used, %d without answer; ratings %d acknowledged, %d without answer",
		c[signup][acknowledged], c[signup][lost], c[completion][acknowledged], c[completion][rejected], c[completion][lost],
		c[rating][acknowledged], c[rating][lost])
}

// complete reads the link of an acknowledged signup from the outbox and
// follows it: once, or (race) twice at the same moment. If no answer came
// back, the link is kept for the final run.
func (b *burst) complete(s *server, sig *op, race bool) {
	token, err := b.mail.token(sig.Key)
	switch {
	case errors.Is(err, errNoRead):
		b.l.putBack(sig)
		time.Sleep(5 * time.Millisecond)
		return
	case err != nil:
		// The signup was acknowledged: its one mail must be there for any
		// reader from then on. The final check judges the rest.
		b.l.notice("signup %s was acknowledged (at %s), but afterwards: %v", sig.Key, sig.Started.Format("15:04:05.000"), err)
		return
	}
	ops := []*op{b.l.newCompletion(sig, token, race)}
	if race {
		ops = append(ops, b.l.newCompletion(sig, token, race))
	}
	var wg sync.WaitGroup
	for _, o := range ops[1:] {
		wg.Go(func() { b.write(s, o) })
	}
	b.write(s, ops[0])
	wg.Wait()
	for _, o := range ops {
		if o.State != lost && o.State != refused {
			return // answered: the link is used
		}
	}
	b.l.again(sig)
}

// write sends one write and records its fate. Go's HTTP client never
// retries a POST by itself, so each write reaches the server at most once.
func (b *burst) write(s *server, o *op) {
	var form url.Values
	var path string
	switch o.Kind {
	case signup:
		path = "/registrati"
		form = url.Values{"email": {o.Key}, "privacy": {"1"}}
	case completion:
		path = "/registrati/completa"
		form = url.Values{"token": {o.Token}, "given_name": {"Ada"}, "family_name": {"Collaudo"},
			"password": {password}, "password2": {password}}
	default:
		path = "/valutazione"
		form = url.Values{"path": {"/"}, "rating": {strconv.Itoa(1 + o.N%5)}, "reason": {""}, "comment": {o.Key}, "token": {s.ratingToken}}
	}
	req, err := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.record(o, unexpected, err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Each write from a client of its own (an IPv6 /64 of the
	// documentation prefix): one client rates a page once a day, and asks
	// for 10 mails an hour.
	req.Header.Set("X-Forwarded-For", clientOf(o.N))
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
	state, detail := judge(o.Kind, resp, body)
	b.record(o, state, detail)
}

// clientOf is the address write n comes from: a /48 of its own, so that
// no budget (a client's /64, or the /48 it also draws on) refuses it.
func clientOf(n int) string {
	return fmt.Sprintf("2001:db8:%x:%x::1", n&0xffff, n>>16&0xffff)
}

// The pages' words (Italian, as the writes ask with Accept-Language: it),
// without the apostrophes that HTML escapes.
const (
	signupNotice = "riceverai a breve un messaggio"
	deadLink     = "non è valido, è scaduto o è già stato usato"
)

// judge tells whether a complete answer is the success acknowledgement.
func judge(kind opKind, resp *http.Response, body []byte) (outcome, string) {
	loc := resp.Header.Get("Location")
	switch kind {
	case signup:
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), signupNotice) {
			return acknowledged, ""
		}
		return unexpected, fmt.Sprintf("status %d, want 200 with %q", resp.StatusCode, signupNotice)
	case completion:
		switch {
		case resp.StatusCode == http.StatusSeeOther && loc == "/profilo?benvenuto=1":
			return acknowledged, ""
		case resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), deadLink):
			// Right only if another completion of the link committed (the
			// other of a racing pair, or an earlier one whose answer was
			// lost): the check decides.
			return rejected, "400: link not valid or already used"
		}
		return unexpected, fmt.Sprintf("status %d, Location %q, want 303 to /profilo?benvenuto=1 (or 400 %q)", resp.StatusCode, loc, deadLink)
	}
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
	if o.Kind == completion && state == acknowledged {
		b.completedOnce.Do(func() { close(b.completed) })
	}
}

// mailReader reads registration links from the outbox while civico runs:
// SQLite in WAL mode lets another process read (the reader is read-only,
// and is closed before each kill, so that civico alone recovers the WAL
// when it starts again); PostgreSQL takes any connection.
type mailReader struct {
	mu sync.RWMutex
	db queryer // nil once closed
}

// queryer is *sql.DB or *db.DB.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	Close() error
}

// errNoRead: the outbox could not be read now (the reader is closed for a
// kill, or the query failed); the signup waits for another go.
var errNoRead = errors.New("the outbox cannot be read now")

// linkRE finds the token in the text of a registration mail.
var linkRE = regexp.MustCompile(`/registrati/completa\?token=([A-Za-z0-9_-]+)`)

// token returns the token of the one registration mail to an address.
func (m *mailReader) token(addr string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return "", errNoRead
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := m.db.QueryContext(ctx, `SELECT body_text FROM mail_outbox WHERE to_addr = $1`, addr)
	if err != nil {
		return "", errors.Join(errNoRead, err) // not civico's fault: try again later
	}
	var texts []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			_ = rows.Close()
			return "", errors.Join(errNoRead, err)
		}
		texts = append(texts, t)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return "", errors.Join(errNoRead, err)
	}
	return linkToken(texts)
}

// linkToken is the token of the registration link in the one mail texts
// holds.
func linkToken(texts []string) (string, error) {
	if len(texts) != 1 {
		return "", fmt.Errorf("%d mails to it in the outbox, want 1", len(texts))
	}
	m := linkRE.FindStringSubmatch(texts[0])
	if m == nil {
		return "", fmt.Errorf("its mail has no link .../registrati/completa?token=...: %q", texts[0])
	}
	return m[1], nil
}

// close waits for the reads in flight and closes the connections.
func (m *mailReader) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db != nil {
		_ = m.db.Close()
		m.db = nil
	}
}
