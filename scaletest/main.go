// Command scaletest checks that several civico processes on one PostgreSQL
// database, behind a real load balancer, behave as one civico.
//
// It builds the real binary (or takes -binary), creates a fresh database on
// the PostgreSQL server at -postgres-url, prepares the demo town on it once
// (`civico demo`, stopped as soon as it is ready), then starts three
// `civico serve` processes on that database, each on ports of its own, with
// one data directory and one secret key (the demo's), their mail going to
// an SMTP server inside the harness (internal/mail/mailtest), and their
// public addresses (CIVICO_BASE_URL, CIVICO_PARTECIPA_BASE_URL) those of
// HAProxy's two frontends, so that the OpenID Connect issuer and redirect
// addresses are the same in all three. HAProxy runs in the foreground as
// the harness's child: round-robin, no sticky sessions, health checks on
// /readyz (haproxy.go).
//
// Then it checks, each failing with its own message:
//
//  1. a resident who logs in through HAProxy is known to every process;
//  2. single sign-on into Partecipa: the authorization code one process
//     issues is exchanged by another (around the ring 1→2, 2→3, 3→1: the
//     harness sends the authorization step to one process and the callback
//     to the next), and the id_token is signed with the key in force;
//  3. the mail outbox delivers exactly once: N signups through HAProxy give
//     N mails at the SMTP server, one each, each claimed once;
//  4. a back-channel logout is delivered exactly once: the logout at the
//     portal ends the resident's Partecipa session on every process, and
//     exactly one process received the logout token;
//  5. `civico oidc rotate-keys` is in every process's JWKS within the
//     documented time, and every process signs with the new key 30 s later
//     (README, "Keys");
//  6. one process killed with SIGKILL under concurrent writes through
//     HAProxy loses no acknowledged write, and the other two keep serving;
//     it starts again on the same database and HAProxy sends it requests
//     again.
//
// Unless -check-only, it then measures throughput through HAProxy with 1, 2
// and 3 processes (wrk -t2 -c32, a logged-in page and an anonymous one),
// with the CPU time per request of civico and of HAProxy, and prints a
// markdown table.
//
// Usage, from the repository root (bench/scale.sh does all this, and starts
// a throwaway PostgreSQL):
//
//	go run ./scaletest -postgres-url postgres://... -haproxy /usr/sbin/haproxy [-check-only]
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civico-pa/civico/internal/db"
	"github.com/civico-pa/civico/internal/mail/mailtest"
)

type options struct {
	postgresURL  string
	binary       string
	haproxy      string
	wrk          string
	procs        int
	signups      int
	checkOnly    bool
	benchFor     time.Duration
	keep         bool
	timeout      time.Duration
	startTimeout time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.postgresURL, "postgres-url", os.Getenv("SCALE_POSTGRES_URL"),
		"PostgreSQL server URL whose user may CREATE DATABASE; a fresh database is made there and dropped afterwards (default $SCALE_POSTGRES_URL)")
	flag.StringVar(&o.binary, "binary", "", "civico binary to test (default: go build ./cmd/civico into a temporary directory)")
	flag.StringVar(&o.haproxy, "haproxy", "haproxy", "the HAProxy program")
	flag.StringVar(&o.wrk, "wrk", "wrk", "the wrk program (throughput only)")
	flag.IntVar(&o.procs, "processes", 3, "civico processes behind HAProxy (at least 3: the checks go around them)")
	flag.IntVar(&o.signups, "signups", 24, "signups (and so mails) of the outbox check")
	flag.BoolVar(&o.checkOnly, "check-only", false, "run the checks, skip the throughput measurements")
	flag.DurationVar(&o.benchFor, "bench-duration", 5*time.Second, "how long each wrk run lasts")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory, the logs and the database afterwards")
	flag.DurationVar(&o.timeout, "timeout", 6*time.Minute, "give up after this long")
	flag.DurationVar(&o.startTimeout, "start-timeout", 60*time.Second, "how long a civico process may take to start")
	flag.Parse()
	switch {
	case flag.NArg() > 0:
		fmt.Fprintf(os.Stderr, "scaletest: unexpected arguments %q\n", flag.Args())
		return 2
	case o.postgresURL == "":
		fmt.Fprintln(os.Stderr, "scaletest: -postgres-url (or SCALE_POSTGRES_URL) is required: a PostgreSQL server whose user may CREATE DATABASE (bench/scale.sh starts one)")
		return 2
	case o.procs < 3 || o.procs > 9:
		fmt.Fprintln(os.Stderr, "scaletest: -processes must be from 3 to 9")
		return 2
	case o.signups < 1 || o.benchFor < time.Second:
		fmt.Fprintln(os.Stderr, "scaletest: need -signups >= 1 and -bench-duration >= 1s")
		return 2
	}
	if _, err := exec.LookPath(o.haproxy); err != nil {
		fmt.Fprintf(os.Stderr, "scaletest: HAProxy (%s) not found: apt-get install -y haproxy, or -haproxy PATH\n", o.haproxy)
		return 2
	}
	if _, err := exec.LookPath(o.wrk); err != nil && !o.checkOnly {
		fmt.Fprintf(os.Stderr, "scaletest: wrk (%s) not found: apt-get install -y wrk, -wrk PATH, or -check-only\n", o.wrk)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	work, err := os.MkdirTemp("", "civico-scale-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "scaletest: %v\n", err)
		return 1
	}
	r := &runner{opts: o, dir: work}
	defer r.close()
	if err := r.setup(ctx); err != nil {
		r.failed = true
		fmt.Fprintf(os.Stderr, "\nscaletest: FAIL: setting up: %v\n", err)
		return 1
	}
	r.checks(ctx)
	if !r.failed && !o.checkOnly {
		if err := r.throughput(ctx); err != nil {
			r.failed = true
			fmt.Fprintf(os.Stderr, "\nscaletest: FAIL: throughput: %v\n", err)
		}
	}
	if r.failed {
		fmt.Fprintf(os.Stderr, "\nscaletest: FAIL (logs kept in %s)\n", work)
		return 1
	}
	fmt.Println("\nscaletest: PASS")
	return 0
}

// runner is one run: the database, the processes, HAProxy, the mail server.
type runner struct {
	opts options
	dir  string // data directory, logs, haproxy.cfg
	bin  string

	dbURL, dbName string
	dropDB        func(keep bool) error
	db            *db.DB // the harness's own connections, to look at what civico wrote

	runID                       string
	portalFront, partecipaFront string // HAProxy's frontends, host:port
	procs                       []*proc
	lb                          *haproxy
	smtp                        *mailtest.Server
	smtpTB                      *harnessTB

	// What the checks share.
	mario        *session  // a resident logged in by check 1
	newKID       string    // the key rotate-keys made (check 5)
	rotatedAt    time.Time // when
	oldKIDs      []string
	failed       bool
	resultsMu    sync.Mutex
	results      []result
	closeOnce    sync.Once
	preparedDemo time.Duration
}

type result struct {
	name   string
	err    error
	detail string
}

// The demo's resident with a password account, and another for the logout
// check (cmd/civico/demo.go).
const (
	marioEmail     = "mario.rossi@demo.civico.invalid"
	annaEmail      = "anna.colombo@demo.civico.invalid"
	residentPasswd = "Tram-Sesto-alle-7" // #nosec G101 -- the demo's published password
)

// env is what every civico process runs with: the harness's environment
// without any CIVICO_ setting, plus the run's.
func (r *runner) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CIVICO_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"CIVICO_DATA_DIR="+filepath.Join(r.dir, "data"),
		"CIVICO_DATABASE_URL="+r.dbURL,
		"CIVICO_LOG_FORMAT=json",
		"CIVICO_ACCESS_LOG=false",
		// HAProxy, and the harness speaking for many clients (each write
		// from an X-Forwarded-For of its own, so that no per-client budget
		// refuses the writes the checks count on).
		"CIVICO_TRUSTED_PROXIES=127.0.0.1",
	)
	return append(env, extra...)
}

// serveEnv is the environment of the served processes: the demo's secret
// key, the public addresses of HAProxy's frontends, the harness's SMTP
// server.
func (r *runner) serveEnv(p *proc) []string {
	return r.env(
		"CIVICO_SECRET_KEY_FILE="+filepath.Join(r.dir, "data", "demo-secret.key"),
		"CIVICO_ADDR="+p.portal,
		"CIVICO_PARTECIPA_ADDR="+p.partecipa,
		"CIVICO_BASE_URL=http://"+r.portalFront,
		"CIVICO_PARTECIPA_BASE_URL=http://"+r.partecipaFront,
		"CIVICO_SMTP_URL="+r.smtp.URL()+"?tls=none",
		"CIVICO_MAIL_FROM=comune@scale.civico.invalid",
	)
}

func (r *runner) setup(ctx context.Context) error {
	raw := make([]byte, 4)
	_, _ = rand.Read(raw)
	r.runID = hex.EncodeToString(raw)
	r.bin = r.opts.binary
	if r.bin == "" {
		t0 := time.Now()
		r.bin = filepath.Join(r.dir, "civico")
		if err := buildBinary(ctx, r.bin); err != nil {
			return fmt.Errorf("building civico: %w", err)
		}
		fmt.Printf("scaletest: built %s in %.1fs\n", r.bin, time.Since(t0).Seconds())
	}
	if err := r.createDatabase(ctx); err != nil {
		return err
	}
	fmt.Printf("scaletest: fresh database %s; data and logs in %s\n", r.dbName, r.dir)
	r.smtpTB = &harnessTB{}
	if err := r.smtpTB.do(func() { r.smtp = mailtest.Start(r.smtpTB) }); err != nil {
		return fmt.Errorf("the SMTP server: %w", err)
	}
	var err error
	if r.portalFront, err = freeAddr(); err != nil {
		return err
	}
	if r.partecipaFront, err = freeAddr(); err != nil {
		return err
	}

	// The demo town, once: `civico demo` fills the database and stops.
	t0 := time.Now()
	demo := &proc{name: "demo", args: []string{"demo"}, logPath: filepath.Join(r.dir, "demo.log")}
	var demoAddrs [4]string // the portal, Partecipa, the portal over TLS, the metrics
	for i := range demoAddrs {
		if demoAddrs[i], err = freeAddr(); err != nil {
			return err
		}
	}
	demo.portal, demo.partecipa = demoAddrs[0], demoAddrs[1]
	demo.env = r.env("CIVICO_ADDR="+demoAddrs[0], "CIVICO_PARTECIPA_ADDR="+demoAddrs[1], "CIVICO_TLS_ADDR="+demoAddrs[2], "CIVICO_METRICS_ADDR="+demoAddrs[3])
	if err := demo.start(ctx, r.bin, r.dir, r.opts.startTimeout); err != nil {
		return fmt.Errorf("preparing the demo town: %w", err)
	}
	if err := demo.terminate(20 * time.Second); err != nil {
		return fmt.Errorf("preparing the demo town: %w", err)
	}
	r.preparedDemo = time.Since(t0)
	fmt.Printf("scaletest: the demo town prepared by `civico demo` in %.1fs\n", r.preparedDemo.Seconds())

	// The processes: the first alone (it finds the database ready; nothing
	// is left to migrate or seed), then the others at once.
	for i := range r.opts.procs {
		p := &proc{name: fmt.Sprintf("civico%d", i+1), args: []string{"serve"}, logPath: filepath.Join(r.dir, fmt.Sprintf("civico%d.log", i+1))}
		if p.portal, err = freeAddr(); err != nil {
			return err
		}
		if p.partecipa, err = freeAddr(); err != nil {
			return err
		}
		p.env = r.serveEnv(p)
		r.procs = append(r.procs, p)
	}
	t0 = time.Now()
	if err := r.procs[0].start(ctx, r.bin, r.dir, r.opts.startTimeout); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.procs))
	for i, p := range r.procs[1:] {
		wg.Go(func() { errs[i+1] = p.start(ctx, r.bin, r.dir, r.opts.startTimeout) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Printf("scaletest: %d civico processes serving in %.1fs:", len(r.procs), time.Since(t0).Seconds())
	for _, p := range r.procs {
		fmt.Printf(" %s (portal %s, Partecipa %s)", p.name, p.portal, p.partecipa)
	}
	fmt.Println()
	if r.lb, err = startHAProxy(ctx, r.opts.haproxy, r.dir, r.portalFront, r.partecipaFront, r.procs); err != nil {
		return err
	}
	fmt.Printf("scaletest: haproxy: portal http://%s, Partecipa http://%s (%s)\n", r.portalFront, r.partecipaFront, filepath.Join(r.dir, "haproxy.cfg"))
	return nil
}

// createDatabase makes a fresh database on the server and opens the
// harness's own connections to it.
func (r *runner) createDatabase(ctx context.Context) error {
	u, err := url.Parse(r.opts.postgresURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("-postgres-url: want a postgres:// URL")
	}
	admin, err := db.Open(ctx, db.Target{Dialect: db.Postgres, URL: r.opts.postgresURL})
	if err != nil {
		return fmt.Errorf("PostgreSQL at -postgres-url: %w", err)
	}
	r.dbName = "civico_scale_" + r.runID // hex: a safe identifier
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+r.dbName); err != nil {
		_ = admin.Close()
		return fmt.Errorf("create database %s (the URL's user must be allowed to): %w", r.dbName, err)
	}
	u.Path = "/" + r.dbName
	r.dbURL = u.String()
	r.dropDB = func(keep bool) error {
		defer admin.Close()
		if keep {
			fmt.Printf("scaletest: kept database %s\n", r.dbName)
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+r.dbName+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", r.dbName, err)
		}
		return nil
	}
	// Opened before civico migrates it: only plain queries go through it.
	if r.db, err = db.Open(ctx, db.Target{Dialect: db.Postgres, URL: r.dbURL}); err != nil {
		return fmt.Errorf("open %s: %w", r.dbName, err)
	}
	return nil
}

// close stops everything the run started, and removes what it made unless
// it failed or -keep.
func (r *runner) close() {
	r.closeOnce.Do(func() {
		r.lb.stop()
		for _, p := range r.procs {
			if p.running() {
				if err := p.terminate(20 * time.Second); err != nil {
					fmt.Fprintf(os.Stderr, "scaletest: stopping %s: %v\n", p.name, err)
				}
			}
		}
		if r.smtpTB != nil {
			r.smtpTB.cleanup()
		}
		if r.db != nil {
			_ = r.db.Close()
		}
		keep := r.opts.keep || r.failed
		if r.dropDB != nil {
			if err := r.dropDB(keep); err != nil {
				fmt.Fprintf(os.Stderr, "scaletest: %v\n", err)
			}
		}
		if !keep {
			_ = os.RemoveAll(r.dir)
		}
	})
}

// harnessTB lets the harness run mailtest's SMTP server, which the tests
// start with their testing.TB: Cleanup is kept for the end of the run, and
// Fatalf ends the start with an error instead of a test.
type harnessTB struct {
	testing.TB // nil: only the methods below are called
	mu         sync.Mutex
	cleanups   []func()
}

type tbFatal struct{ msg string }

func (t *harnessTB) Helper() {}
func (t *harnessTB) Fatalf(format string, args ...any) {
	panic(tbFatal{fmt.Sprintf(format, args...)})
}
func (t *harnessTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// do runs f, turning a Fatalf into an error.
func (t *harnessTB) do(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			fatal, ok := v.(tbFatal)
			if !ok {
				panic(v)
			}
			err = errors.New(fatal.msg)
		}
	}()
	f()
	return nil
}

func (t *harnessTB) cleanup() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}
