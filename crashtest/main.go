// Command crashtest checks that civico never tells a visitor that a write
// succeeded before it is committed, and that a crash loses nothing it
// acknowledged.
//
// It builds the real binary, starts `civico demo` on a fresh data directory
// (SQLite) or a fresh PostgreSQL database, and drives concurrent writes
// through the public HTTP interface, each from a client address of its own
// (X-Forwarded-For; civico trusts 127.0.0.1 as a proxy here):
//
//   - signup requests (POST /registrati), each for a new e-mail address,
//     acknowledged by the 200 "riceverai a breve un messaggio" notice; one
//     transaction writes the link (signups), its mail (mail_outbox) and the
//     audit entry signup.requested;
//   - registration completions (POST /registrati/completa): the harness
//     reads the link of an acknowledged signup from the outbox in the
//     database while civico runs, and follows it with names and a password;
//     acknowledged by the 303 to /profilo?benvenuto=1. One transaction
//     consumes the link and writes the account, the audit entry
//     account.registered, a session and a trusted browser. Every third link
//     is followed twice at the same moment: one account, one 303 at most;
//     every fourth acknowledged signup is left open;
//   - clarity ratings (POST /valutazione), each carrying its own token in the
//     comment, acknowledged by the 303 to ...?valutazione=grazie.
//
// At a random moment 100-800 ms into each burst (every third burst: 0-50 ms
// after its first acknowledged completion) it kills the server with
// SIGKILL, and starts it again on the same data. A last run, ended by
// SIGTERM, follows the links still queued and, again, those whose
// completion was lost in a kill. At the end the harness runs `civico audit
// verify`, opens the database itself and checks that every acknowledged
// write (a 2xx/3xx answer received in full) is there exactly once, that no
// write is there twice, that what one transaction writes is there together
// or not at all, that a link answered "already used" made an account, that
// no account exists without a completion of its own address's link, and
// that the database is intact.
//
// Then the payments scenario (payments.go): the demo's card holder pays
// notices through the sandbox gateway and civico is killed between the
// gateway's success and its own commit; after each restart reconciliation
// must settle the payment exactly once, with a receipt per notice, and the
// day's `civico payments report` must balance.
//
// Usage, from the repository root:
//
//	go run ./crashtest -db sqlite
//	CIVICO_CRASH_POSTGRES_URL=postgres://... go run ./crashtest -db postgres
//
// scripts/ci/crash.sh runs both, with a throwaway PostgreSQL cluster.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	dbs          []string
	postgresURL  string
	binary       string
	kills        int
	paymentKills int
	writers      int
	regWriters   int
	minBurst     time.Duration
	maxBurst     time.Duration
	seed         uint64
	keep         bool
	verbose      bool
	timeout      time.Duration
	startTimeout time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	var dbs string
	flag.StringVar(&dbs, "db", "sqlite", "databases to test, comma-separated: sqlite, postgres")
	flag.StringVar(&o.postgresURL, "postgres-url", os.Getenv("CIVICO_CRASH_POSTGRES_URL"),
		"PostgreSQL server URL (a superuser may create databases there); a fresh database is created on it (default $CIVICO_CRASH_POSTGRES_URL)")
	flag.StringVar(&o.binary, "binary", "", "civico binary to test (default: go build ./cmd/civico into a temporary directory)")
	flag.IntVar(&o.kills, "kills", 20, "SIGKILLs per database")
	flag.IntVar(&o.paymentKills, "payment-kills", 4, "SIGKILLs per database between the payment gateway's success and civico's commit (the payments scenario; 0: none)")
	flag.IntVar(&o.writers, "writers", 6, "concurrent writers during a burst")
	flag.IntVar(&o.regWriters, "registration-writers", 2, "how many of the writers register residents: they request signups and complete them (argon2 costs ~100 ms a completion); the others post ratings")
	flag.DurationVar(&o.minBurst, "min-burst", 100*time.Millisecond, "shortest time from the start of a burst to the kill")
	flag.DurationVar(&o.maxBurst, "max-burst", 800*time.Millisecond, "longest time from the start of a burst to the kill")
	flag.Uint64Var(&o.seed, "seed", 0, "random seed (0: from the clock; printed, to repeat a run)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory and the PostgreSQL database afterwards")
	flag.BoolVar(&o.verbose, "v", false, "print every cycle")
	flag.DurationVar(&o.timeout, "timeout", 8*time.Minute, "give up on one database after this long")
	flag.DurationVar(&o.startTimeout, "start-timeout", 30*time.Second, "how long civico may take to start")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "crashtest: unexpected arguments %q\n", flag.Args())
		return 2
	}
	for _, d := range strings.Split(dbs, ",") {
		switch d = strings.TrimSpace(d); d {
		case "sqlite", "postgres":
			o.dbs = append(o.dbs, d)
		case "":
		default:
			fmt.Fprintf(os.Stderr, "crashtest: -db: unknown database %q (want sqlite or postgres)\n", d)
			return 2
		}
	}
	switch {
	case len(o.dbs) == 0:
		fmt.Fprintln(os.Stderr, "crashtest: -db names no database")
		return 2
	case o.kills < 1, o.paymentKills < 0, o.writers < 1, o.regWriters < 0, o.regWriters > o.writers:
		fmt.Fprintln(os.Stderr, "crashtest: need -kills >= 1, -payment-kills >= 0, -writers >= 1 and 0 <= -registration-writers <= -writers")
		return 2
	case o.minBurst <= 0 || o.maxBurst < o.minBurst:
		fmt.Fprintln(os.Stderr, "crashtest: need 0 < -min-burst <= -max-burst")
		return 2
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	for _, d := range o.dbs {
		if d == "postgres" && o.postgresURL == "" {
			fmt.Fprintln(os.Stderr, "crashtest: -db postgres needs -postgres-url or CIVICO_CRASH_POSTGRES_URL (e.g. from scripts/pg-test-cluster.sh start DIR)")
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	work, err := os.MkdirTemp("", "civico-crash-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "crashtest: %v\n", err)
		return 1
	}
	keepWork := o.keep
	defer func() {
		if keepWork {
			fmt.Printf("crashtest: kept %s\n", work)
		} else {
			_ = os.RemoveAll(work)
		}
	}()

	bin := o.binary
	if bin == "" {
		t0 := time.Now()
		bin = filepath.Join(work, "civico")
		if err := buildBinary(ctx, bin); err != nil {
			fmt.Fprintf(os.Stderr, "crashtest: FAIL: building civico: %v\n", err)
			return 1
		}
		fmt.Printf("crashtest: built %s in %.1fs\n", bin, time.Since(t0).Seconds())
	}

	failed := false
	for i, d := range o.dbs {
		// Each database gets its own seed, derived from the run's, so either
		// can be repeated alone.
		r := &runner{opts: o, kind: d, bin: bin, seed: o.seed + uint64(i), dir: filepath.Join(work, d)}
		fmt.Printf("crashtest %s: seed %d, %d kills, %d writers (%d registering), kill %v-%v into each burst; %d payment kills\n",
			d, r.seed, o.kills, o.writers, o.regWriters, o.minBurst, o.maxBurst, o.paymentKills)
		sum, err := r.run(ctx)
		if sum != nil {
			sum.print(os.Stdout)
		}
		if err != nil {
			failed = true
			keepWork = true
			fmt.Fprintf(os.Stderr, "\ncrashtest %s: FAIL: %v\n", d, err)
			fmt.Fprintf(os.Stderr, "crashtest %s: server logs kept in %s; repeat with: go run ./crashtest -db %s -seed %d -kills %d -payment-kills %d\n",
				d, r.dir, d, r.seed, o.kills, o.paymentKills)
		} else {
			fmt.Printf("crashtest %s: PASS\n", d)
		}
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "crashtest: interrupted")
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// runner tests one database.
type runner struct {
	opts options
	kind string // "sqlite" or "postgres"
	bin  string
	seed uint64
	dir  string // data directory and logs
	rnd  *rand.Rand

	dbURL  string // CIVICO_DATABASE_URL for civico; empty for SQLite
	dbName string // the fresh PostgreSQL database
	runID  string
	ledger *ledger
	// portalAddr and tlsAddr are the portal's listeners, the same at
	// every start (the payments' return and notification addresses are
	// made from them).
	portalAddr, tlsAddr string
	payments            *paymentsRun
}

func (r *runner) run(parent context.Context) (_ *summary, err error) {
	ctx, cancel := context.WithTimeout(parent, r.opts.timeout)
	defer cancel()
	start := time.Now()
	r.rnd = rand.New(rand.NewPCG(r.seed, r.seed^0x9e3779b97f4a7c15)) // #nosec G404 -- a seedable PRNG on purpose: it picks kill times, and a seed must repeat a run
	r.runID = fmt.Sprintf("%08x", r.rnd.Uint32())
	r.ledger = newLedger(r.runID)
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return nil, err
	}
	if r.portalAddr, err = freePort(); err != nil {
		return nil, err
	}
	if r.tlsAddr, err = freePort(); err != nil {
		return nil, err
	}
	if r.kind == "postgres" {
		drop, cerr := r.createDatabase(ctx)
		if cerr != nil {
			return nil, cerr
		}
		fmt.Printf("crashtest postgres: fresh database %s\n", r.dbName)
		defer func() {
			// Keep it to look into when the run failed.
			if derr := drop(r.opts.keep || err != nil); derr != nil {
				fmt.Fprintf(os.Stderr, "crashtest postgres: %v\n", derr)
			}
		}()
	}

	sum := &summary{kind: r.kind}
	defer func() { sum.elapsed = time.Since(start) }()
	for cycle := 1; cycle <= r.opts.kills; cycle++ {
		if err := r.cycle(ctx, cycle, sum); err != nil {
			r.ledger.summarise(sum)
			return sum, fmt.Errorf("cycle %d: %w", cycle, err)
		}
	}
	// Payments killed between the gateway's success and civico's commit
	// (payments.go).
	if r.opts.paymentKills > 0 {
		if err := r.paymentsPhase(ctx, sum); err != nil {
			r.ledger.summarise(sum)
			return sum, fmt.Errorf("payments: %w", err)
		}
	}
	// A last start on the crashed data: it must recover, take writes, and
	// stop cleanly on SIGTERM.
	if err := r.finalRun(ctx, sum); err != nil {
		r.ledger.summarise(sum)
		return sum, fmt.Errorf("after the last kill: %w", err)
	}
	r.ledger.summarise(sum)
	if err := r.auditVerify(ctx, sum); err != nil {
		return sum, err
	}
	err = r.check(ctx, sum)
	sum.elapsed = time.Since(start)
	return sum, err
}

// cycle starts civico, writes for a random 100-800 ms, and kills it.
func (r *runner) cycle(ctx context.Context, n int, sum *summary) error {
	srv, err := r.start(ctx, fmt.Sprintf("cycle %d", n))
	if err != nil {
		return err
	}
	burst := r.opts.minBurst + time.Duration(r.rnd.Int64N(int64(r.opts.maxBurst-r.opts.minBurst)+1))
	mail, err := r.openMailReader(ctx)
	if err != nil {
		_ = srv.kill()
		return err
	}
	b := r.startBurst(srv, mail, 0)
	timer, afterCompletion := time.After(burst), (<-chan struct{})(nil)
	if n%targetEvery == 0 && r.opts.regWriters > 0 {
		// A completion takes argon2's time, longer than most bursts on a
		// busy machine: this burst lasts until one is acknowledged, and the
		// kill follows it closely.
		timer, afterCompletion = time.After(targetWait), b.completed
	}
	targeted := false
	select {
	case <-timer:
		if afterCompletion != nil {
			burst = targetWait // no completion came
		}
	case <-afterCompletion:
		targeted = true
		burst = time.Duration(r.rnd.Int64N(int64(targetDelay) + 1))
		select {
		case <-time.After(burst):
		case <-ctx.Done():
		case <-srv.exited:
		}
	case <-ctx.Done():
	case <-srv.exited:
	}
	// The reader goes first: civico alone has the database open when it
	// dies, and alone recovers it (SQLite's WAL) when it starts again.
	mail.close()
	died := srv.hasExited()
	killErr := srv.kill()
	stats := b.stop()
	if r.opts.verbose {
		when := fmt.Sprintf("after %v", burst.Round(time.Millisecond))
		if targeted {
			when += " after the first acknowledged completion"
		}
		fmt.Printf("  cycle %2d: killed %s: %s\n", n, when, stats)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("out of time (-timeout %v): %w", r.opts.timeout, ctx.Err())
	}
	if died {
		return fmt.Errorf("civico exited by itself during the burst (%v); see %s", srv.exitErr(), srv.logPath)
	}
	if killErr != nil {
		return killErr
	}
	sum.kills++
	if targeted {
		sum.targeted++
	}
	if bad := r.ledger.unexpected(); len(bad) > 0 {
		return fmt.Errorf("civico gave unexpected answers while running, e.g. %s; see %s", bad[0], srv.logPath)
	}
	return nil
}

// One cycle in targetEvery kills civico at most targetDelay after the
// burst's first acknowledged completion (or targetWait into the burst, if
// none comes): the completions' durability is tested however slow argon2
// is on the machine.
const (
	targetEvery = 3
	targetDelay = 50 * time.Millisecond
	targetWait  = 5 * time.Second
)

// drainFor bounds how long the final run follows the links still queued.
const drainFor = time.Minute

// finalRun starts civico once more on the crashed data, writes for a
// moment, follows every registration link still queued (those whose
// completion was lost in a kill again: the answer must agree with what the
// lost one did), and stops civico with SIGTERM: it must exit 0.
func (r *runner) finalRun(ctx context.Context, sum *summary) error {
	srv, err := r.start(ctx, "final")
	if err != nil {
		return err
	}
	mail, err := r.openMailReader(ctx)
	if err != nil {
		_ = srv.kill()
		return err
	}
	r.ledger.final.Store(true)
	b := r.startBurst(srv, mail, drainFor)
	select {
	case <-time.After(500 * time.Millisecond):
	case <-ctx.Done():
	}
	stats := b.stop() // waits for the links still queued to be followed
	if r.opts.verbose {
		fmt.Printf("  final run: %s\n", stats)
	}

	mail.close()
	if err := srv.terminate(25 * time.Second); err != nil {
		return err
	}
	if bad := r.ledger.unexpected(); len(bad) > 0 {
		return fmt.Errorf("civico gave unexpected answers, e.g. %s; see %s", bad[0], srv.logPath)
	}
	sum.cleanStop = true
	return nil
}

// errCheck marks a failed durability or integrity check.
var errCheck = errors.New("check failed")
