package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/cf"
	"github.com/civico-pa/civico/internal/hours"
)

// The payments scenario: the demo's card holder, Luca Ferrari, pays two
// notices at a time through the sandbox gateway, and civico is killed with
// SIGKILL between the gateway's success and civico's own commit of the
// payment. After the restart, reconciliation (which asks the gateway about
// every attempt left in payment) must settle it: exactly once, one receipt
// per notice, one ledger entry each.
//
// Two kinds of payment cycle alternate:
//
//   - "delayed": the resident chooses the sandbox's delayed outcome. The
//     gateway records the payment as successful and sends the resident back
//     (303), but its notification waits CIVICO_PAYMENTS_SANDBOX_DELAY, which
//     the harness sets far beyond its run: civico is killed on that 303, so
//     every such cycle lands in the window, and only reconciliation can
//     settle it. The harness checks, with civico dead, that the gateway has
//     it paid and civico does not (the window was hit), and afterwards that
//     the ledger's settlement names the reconciliation.
//   - "immediate": the resident chooses success, which the gateway notifies
//     at once; the harness watches the database and kills civico the moment
//     the gateway's success is committed: mostly while the notification is
//     on its way (lost with the process), at times just after civico's
//     commit. Whatever it hit, the gateway's word and civico's must agree
//     after the restart, and the attempt be settled once.
//
// At the end every notice of the run has at most one receipt and one
// settlement, a paid notice exactly one, no notice was paid twice, and
// `civico payments report` for the day balances (exit 0).

// payAttempt is one checkout of the scenario.
type payAttempt struct {
	cycle   int
	mode    string // "delayed" or "immediate"
	id      string // the attempt
	ref     string // the sandbox's payment
	notices []string
	// What the database showed with civico dead, right after the kill.
	gatewayPaid, civicoPaid bool
	answered                bool // the sandbox's 303 arrived before the kill
	settledBy               string
}

// paymentsRun is the scenario's state for one database.
type paymentsRun struct {
	r        *runner
	code     string // Luca Ferrari's fiscal code
	ids      []string
	next     int
	attempts []*payAttempt
	// counts for the summary
	window, before, after int
}

// paymentsDelay is CIVICO_PAYMENTS_SANDBOX_DELAY for the harness: longer
// than any run, so that a delayed outcome is settled by reconciliation.
const paymentsDelay = "2h"

// settleWithin bounds the wait for reconciliation after a restart: the
// jobs' leader is elected anew after a kill (its lease runs out), then the
// reconciliation job runs at once and every 30 s.
const settleWithin = 150 * time.Second

// paymentsPhase runs the scenario: -payment-kills cycles, then a last start
// that settles the last one and stops with SIGTERM.
func (r *runner) paymentsPhase(ctx context.Context, sum *summary) error {
	p := &paymentsRun{r: r}
	code, err := cf.Complete("FRRLCU78H15C707")
	if err != nil {
		return err
	}
	p.code = string(code)
	if err := p.importNotices(ctx, 2*r.opts.paymentKills); err != nil {
		return err
	}
	var prev *payAttempt
	for i := 1; i <= r.opts.paymentKills; i++ {
		srv, err := r.start(ctx, fmt.Sprintf("payments %d", i))
		if err != nil {
			return err
		}
		if prev != nil {
			if err := p.awaitSettled(ctx, srv, prev); err != nil {
				_ = srv.kill()
				return err
			}
		}
		mode := "delayed"
		if i%2 == 0 {
			mode = "immediate"
		}
		a, err := p.pay(ctx, srv, i, mode)
		if err != nil {
			_ = srv.kill()
			return fmt.Errorf("payment %d (%s): %w", i, mode, err)
		}
		if err := p.inspect(ctx, a); err != nil {
			return err
		}
		if r.opts.verbose {
			fmt.Printf("  payment %2d (%s): killed; the gateway had it paid: %v, civico: %v\n", i, mode, a.gatewayPaid, a.civicoPaid)
		}
		prev = a
		sum.paymentKills++
	}
	srv, err := r.start(ctx, "payments: the last settlement")
	if err != nil {
		return err
	}
	if prev != nil {
		if err := p.awaitSettled(ctx, srv, prev); err != nil {
			_ = srv.kill()
			return err
		}
	}
	if err := srv.terminate(25 * time.Second); err != nil {
		return err
	}
	sum.payWindow, sum.payBefore, sum.payAfter = p.window, p.before, p.after
	for _, a := range p.attempts {
		if a.settledBy == "reconciliation" {
			sum.payByReconciliation++
		}
	}
	r.payments = p
	return nil
}

// importNotices loads n notices for Luca Ferrari through `civico payments
// import`, the finance office's command, with civico stopped.
func (p *paymentsRun) importNotices(ctx context.Context, n int) error {
	var b strings.Builder
	b.WriteString("id;codice_fiscale;nominativo;categoria;causale;anno;importo;scadenza;rate\n")
	for i := range n {
		id := fmt.Sprintf("crash-%s-%d", p.r.runID, i)
		p.ids = append(p.ids, id)
		fmt.Fprintf(&b, "%s;%s;Luca Ferrari;mensa;Mensa scolastica, prova %d;2026;%d,%02d;2027-06-30;\n", id, p.code, i, 10+i, i%100)
	}
	file := filepath.Join(p.r.dir, "crash-notices.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, p.r.bin, "payments", "import", file) // #nosec G204 -- the binary under test, fixed arguments
	cmd.Env = p.r.env()
	cmd.Dir = p.r.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("civico payments import: %v\n%s", err, out)
	}
	return nil
}

var chiaveRE = regexp.MustCompile(`name="chiave" value="([^"]+)"`)

// client logs in with Luca Ferrari's demo card on the TLS listener.
func (p *paymentsRun) client(ctx context.Context, srv *server) (*http.Client, error) {
	caDir := filepath.Join(p.r.dir, "data", "ca")
	cert, err := tls.LoadX509KeyPair(filepath.Join(caDir, "cards", "luca-ferrari.pem"), filepath.Join(caDir, "cards", "luca-ferrari.key"))
	if err != nil {
		return nil, fmt.Errorf("the demo card: %w", err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(caDir, "ca.pem")) // #nosec G304 -- the demo authority in the harness's own data directory
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("the demo authority's certificate in %s: %v", caDir, err)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := c.Get(srv.tlsBase() + "/login/crs")
	if err != nil {
		return nil, fmt.Errorf("card login: %w", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("card login: %d, want a redirect", res.StatusCode)
	}
	return c, nil
}

func (s *server) tlsBase() string { return "https://" + s.tlsAddr }

// pay makes one checkout of two notices and kills civico as its mode says.
func (p *paymentsRun) pay(ctx context.Context, srv *server, cycle int, mode string) (*payAttempt, error) {
	if p.next+2 > len(p.ids) {
		return nil, errors.New("no notices left")
	}
	c, err := p.client(ctx, srv)
	if err != nil {
		return nil, err
	}
	d, err := p.r.openMailReader(ctx)
	if err != nil {
		return nil, err
	}
	defer d.close()
	a := &payAttempt{cycle: cycle, mode: mode}
	for _, ext := range p.ids[p.next : p.next+2] {
		var id string
		if err := queryRow(ctx, d.db, `SELECT n.id FROM payments_notices n JOIN payments_positions p ON p.id = n.position_id WHERE p.external_id = $1 AND n.seq = 0`,
			[]any{ext}, &id); err != nil {
			return nil, fmt.Errorf("the notice of %s: %w", ext, err)
		}
		a.notices = append(a.notices, id)
	}
	p.next += 2
	res, err := c.Get(srv.tlsBase() + "/area-personale/pagamenti")
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	m := chiaveRE.FindSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("the page of payments (I miei pagamenti): %d, checkout form found: %v", res.StatusCode, m != nil)
	}
	form := url.Values{"chiave": {string(m[1])}, "avviso": a.notices}
	res, err = c.PostForm(srv.tlsBase()+"/area-personale/pagamenti/paga", form)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	loc, err := res.Location()
	if res.StatusCode != http.StatusSeeOther || err != nil || !strings.Contains(loc.Path, "/sandbox-pagamenti/paga/") {
		return nil, fmt.Errorf("checkout: %d to %v, want 303 to the sandbox's page", res.StatusCode, loc)
	}
	a.ref = loc.Path[strings.LastIndex(loc.Path, "/")+1:]
	if err := queryRow(ctx, d.db, `SELECT attempt_id FROM payments_sandbox WHERE ref = $1`, []any{a.ref}, &a.id); err != nil {
		return nil, fmt.Errorf("the sandbox's payment %s: %w", a.ref, err)
	}
	p.attempts = append(p.attempts, a)

	choice := "delayed"
	if mode == "immediate" {
		choice = "paid"
	}
	// The sandbox's page is on the portal's plain listener, as the
	// resident's browser finds it.
	answered := make(chan bool, 1)
	send := func() {
		res, err := c.PostForm(loc.String(), url.Values{"esito": {choice}})
		if err != nil {
			answered <- false
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		answered <- res.StatusCode == http.StatusSeeOther
	}
	if mode == "delayed" {
		// The gateway's success, acknowledged: civico dies before its own
		// commit, which waits for a notification that will not come.
		d.close() // civico alone has the database open when it dies
		go send()
		a.answered = <-answered
		if !a.answered {
			_ = srv.kill()
			return nil, errors.New("the sandbox did not answer the delayed outcome with a 303")
		}
		return a, srv.kill()
	}
	// Immediate: killed the moment the gateway's success is committed, while
	// its notification is on its way to civico (or, at times, just after
	// civico's commit).
	go send()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var outcome string
		if err := queryRow(ctx, d.db, `SELECT outcome FROM payments_sandbox WHERE attempt_id = $1`, []any{a.id}, &outcome); err == nil && outcome != "pending" {
			break
		}
		if time.Now().After(deadline) {
			break // killed all the same: the gateway never took it
		}
		time.Sleep(500 * time.Microsecond)
	}
	err = srv.kill()
	d.close()
	select {
	case ok := <-answered:
		a.answered = ok
	case <-time.After(10 * time.Second):
	}
	return a, err
}

// inspect reads, with civico dead, what the gateway and civico hold of the
// attempt just killed.
func (p *paymentsRun) inspect(ctx context.Context, a *payAttempt) error {
	d, err := p.r.openMailReader(ctx)
	if err != nil {
		return err
	}
	defer d.close()
	var outcome, status string
	if err := queryRow(ctx, d.db, `SELECT outcome FROM payments_sandbox WHERE attempt_id = $1`, []any{a.id}, &outcome); err != nil {
		return err
	}
	if err := queryRow(ctx, d.db, `SELECT status FROM payments_attempts WHERE id = $1`, []any{a.id}, &status); err != nil {
		return err
	}
	a.gatewayPaid, a.civicoPaid = outcome == "paid", status == "paid"
	switch {
	case a.gatewayPaid && !a.civicoPaid:
		p.window++
	case a.civicoPaid:
		p.after++
	default:
		p.before++
	}
	if a.civicoPaid && !a.gatewayPaid {
		return fmt.Errorf("%w: payment %d: civico has attempt %s paid, the gateway %q", errCheck, a.cycle, a.id, outcome)
	}
	if a.mode == "delayed" && !(a.gatewayPaid && !a.civicoPaid) {
		return fmt.Errorf("%w: payment %d (delayed): after the sandbox's 303 the gateway has %q and civico %q; want paid and in payment", errCheck, a.cycle, outcome, status)
	}
	return nil
}

// awaitSettled waits, civico running again, until the attempt is settled
// (when the gateway has it paid), and checks how.
func (p *paymentsRun) awaitSettled(ctx context.Context, srv *server, a *payAttempt) error {
	if !a.gatewayPaid {
		return nil // the gateway never had it: nothing to settle
	}
	d, err := p.r.openMailReader(ctx)
	if err != nil {
		return err
	}
	defer d.close()
	deadline := time.Now().Add(settleWithin)
	for {
		var status string
		if err := queryRow(ctx, d.db, `SELECT status FROM payments_attempts WHERE id = $1`, []any{a.id}, &status); err != nil {
			return err
		}
		if status == "paid" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: payment %d (%s): the gateway had attempt %s paid before the kill, and %v after the restart civico still has it %q: reconciliation did not settle it; see %s",
				errCheck, a.cycle, a.mode, a.id, settleWithin, status, srv.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-srv.exited:
			return fmt.Errorf("civico exited while the payment settled; see %s", srv.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
	var actor string
	if err := queryRow(ctx, d.db, `SELECT MIN(actor) FROM payments_ledger WHERE attempt_id = $1 AND event = 'payment.settled'`, []any{a.id}, &actor); err != nil {
		return err
	}
	a.settledBy = actor
	if a.mode == "delayed" && actor != "reconciliation" {
		return fmt.Errorf("%w: payment %d (delayed) was settled by %q, want the reconciliation", errCheck, a.cycle, actor)
	}
	return nil
}

func queryRow(ctx context.Context, q queryer, query string, args []any, dest ...any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// checkPayments is the scenario's part of the final check, civico stopped:
// every notice of the run paid at most once, each paid notice with one
// receipt and one settlement, each attempt the gateway had paid settled,
// nothing paid that the gateway did not take, and the day's report
// balanced.
func (r *runner) checkPayments(ctx context.Context, d queryer) []string {
	p := r.payments
	if p == nil {
		return nil
	}
	var problems []string
	for _, ext := range p.ids {
		var notice, status string
		if err := queryRow(ctx, d, `SELECT n.id, n.status FROM payments_notices n JOIN payments_positions p ON p.id = n.position_id WHERE p.external_id = $1 AND n.seq = 0`,
			[]any{ext}, &notice, &status); err != nil {
			problems = append(problems, fmt.Sprintf("payments: the notice of %s: %v", ext, err))
			continue
		}
		var receipts, settled, dups int
		if err := queryRow(ctx, d, `SELECT COUNT(*) FROM payments_receipts WHERE notice_id = $1`, []any{notice}, &receipts); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := queryRow(ctx, d, `SELECT COUNT(*) FROM payments_ledger WHERE notice_id = $1 AND event = 'payment.settled'`, []any{notice}, &settled); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := queryRow(ctx, d, `SELECT COUNT(*) FROM payments_ledger WHERE notice_id = $1 AND event = 'payment.duplicate'`, []any{notice}, &dups); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		want := 0
		if status == "paid" {
			want = 1
		}
		if receipts != want || settled != want || dups != 0 {
			problems = append(problems, fmt.Sprintf("payments: notice %s (%s) is %s with %d receipts, %d settlements, %d duplicate payments; want %d, %d, 0",
				notice, ext, status, receipts, settled, dups, want, want))
		}
	}
	for _, a := range p.attempts {
		var gw, status string
		if err := queryRow(ctx, d, `SELECT outcome FROM payments_sandbox WHERE attempt_id = $1`, []any{a.id}, &gw); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := queryRow(ctx, d, `SELECT status FROM payments_attempts WHERE id = $1`, []any{a.id}, &status); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if (gw == "paid") != (status == "paid") {
			problems = append(problems, fmt.Sprintf("payments: attempt %s (payment %d, %s): the gateway has it %q, civico %q", a.id, a.cycle, a.mode, gw, status))
		}
		for _, n := range a.notices {
			var ns string
			if err := queryRow(ctx, d, `SELECT status FROM payments_notices WHERE id = $1`, []any{n}, &ns); err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if (status == "paid") != (ns == "paid") {
				problems = append(problems, fmt.Sprintf("payments: attempt %s is %q and its notice %s %q", a.id, status, n, ns))
			}
		}
	}
	// The day's balancing, as the finance office runs it.
	day := time.Now().In(hours.Rome).Format("2006-01-02")
	cmd := exec.CommandContext(ctx, r.bin, "payments", "report", "--day", day) // #nosec G204 -- the binary under test, fixed arguments
	cmd.Env = r.env()
	cmd.Dir = r.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		problems = append(problems, fmt.Sprintf("payments: civico payments report --day %s does not balance (%v):\n%s", day, err, out))
	}
	return problems
}

// freePort asks the kernel for a free TCP port on loopback. civico's
// payments need real addresses for the portal and its TLS listener (the
// gateway's return and notification addresses are made from them), the
// same across restarts.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
