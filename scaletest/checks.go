package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	tokens "github.com/civico-pa/civico/internal/token"
)

// rotateSeen is the documented time for a key rotation to reach every
// process (README, "Keys": processes switch to the new key within 30
// seconds; the JWKS is read from the database at every request).
const rotateSeen = 30 * time.Second

// checks runs the six checks in an order that lets them share their work:
// the rotation first, so that its 30 s pass while the others run, and the
// single sign-on logins, after it, prove which key each process signs with.
func (r *runner) checks(ctx context.Context) {
	r.check("5. `civico oidc rotate-keys` is in every process's JWKS", func() (string, error) { return r.checkRotation(ctx) })
	r.check("1. a resident logged in through HAProxy is known to every process", func() (string, error) { return r.checkLogin(ctx) })
	r.check("3. the mail outbox delivers exactly once", func() (string, error) { return r.checkOutbox(ctx) })
	r.check("2. single sign-on: a code issued by one process is exchanged at another", func() (string, error) { return r.checkSSO(ctx) })
	r.check("4. a back-channel logout is delivered exactly once", func() (string, error) { return r.checkBackchannel(ctx) })
	r.check("6. a process killed under load loses no acknowledged write; the others keep serving", func() (string, error) { return r.checkKill(ctx) })
	fmt.Println("\n| check | result |\n|---|---|")
	for _, res := range r.results {
		verdict := "PASS"
		if res.err != nil {
			verdict = "**FAIL**"
		}
		fmt.Printf("| %s | %s |\n", res.name, verdict)
	}
}

// check runs one check and prints its outcome at once.
func (r *runner) check(name string, f func() (string, error)) {
	fmt.Printf("\n== %s\n", name)
	t0 := time.Now()
	detail, err := f()
	if err == nil {
		if lerr := r.lb.alive(); lerr != nil {
			err = lerr
		}
	}
	r.resultsMu.Lock()
	r.results = append(r.results, result{name: name, err: err, detail: detail})
	r.resultsMu.Unlock()
	if detail != "" {
		fmt.Println("   " + strings.ReplaceAll(detail, "\n", "\n   "))
	}
	if err != nil {
		r.failed = true
		fmt.Printf("   FAIL (%.1fs): %v\n", time.Since(t0).Seconds(), err)
		return
	}
	fmt.Printf("   PASS (%.1fs)\n", time.Since(t0).Seconds())
}

// session is one browser: its cookies (for 127.0.0.1, whatever the port:
// a cookie is not bound to a port, so HAProxy's frontends and every
// process's own listeners see the same ones), never following redirects by
// itself, speaking for one client address (X-Forwarded-For).
type session struct {
	client *http.Client
	jar    *cookiejar.Jar
	xff    string
}

func newSession(xff string) *session {
	jar, _ := cookiejar.New(nil)
	return &session{xff: xff, jar: jar, client: &http.Client{
		Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request (a POST when form is not nil) and reads the answer.
func (s *session) do(method, target string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "it")
	if s.xff != "" {
		req.Header.Set("X-Forwarded-For", s.xff)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	_ = resp.Body.Close()
	return resp, string(b), err
}

// cookie is the value of the session's cookie name, "" when it has none.
func (s *session) cookie(name string) string {
	for _, c := range s.jar.Cookies(&url.URL{Scheme: "http", Host: "127.0.0.1", Path: "/auth/"}) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// clientOf is the client address write n comes from: a /48 of its own, so
// that no per-client budget refuses it.
func clientOf(n int) string {
	return fmt.Sprintf("2001:db8:%x:%x::1", n&0xffff, n>>16&0xffff)
}

// login logs a demo resident in through HAProxy: the form from one
// process, the POST to the next one round-robin.
func (r *runner) login(email string, client int) (*session, error) {
	s := newSession(clientOf(client))
	resp, _, err := s.do(http.MethodGet, "http://"+r.portalFront+"/accedi", nil)
	if err != nil {
		return nil, fmt.Errorf("GET /accedi through haproxy: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /accedi through haproxy: %s, want 200", resp.Status)
	}
	resp, body, err := s.do(http.MethodPost, "http://"+r.portalFront+"/accedi", url.Values{"email": {email}, "password": {residentPasswd}})
	if err != nil {
		return nil, fmt.Errorf("POST /accedi through haproxy: %w", err)
	}
	if resp.StatusCode != http.StatusSeeOther || s.cookie("civico_session") == "" {
		return nil, fmt.Errorf("POST /accedi as %s through haproxy (answered by %s): %s without a session cookie, want 303 with civico_session; the page: %.300s",
			email, resp.Header.Get(backendHeader), resp.Status, body)
	}
	return s, nil
}

// checkLogin: a resident logs in through HAProxy; then every process,
// asked directly, knows the session.
func (r *runner) checkLogin(context.Context) (string, error) {
	s, err := r.login(marioEmail, 1)
	if err != nil {
		return "", err
	}
	r.mario = s
	var seen []string
	for _, p := range r.procs {
		resp, body, err := s.do(http.MethodGet, "http://"+p.portal+"/profilo", nil)
		if err != nil {
			return "", fmt.Errorf("GET /profilo at %s: %w", p.name, err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Rossi") {
			return "", fmt.Errorf("GET /profilo at %s with the session made through haproxy: %s (Location %q), want 200 with the resident's name: "+
				"this process does not know a session another one opened (sessions must live in the database, not in a process)",
				p.name, resp.Status, resp.Header.Get("Location"))
		}
		// Without the cookie the same page is refused: the 200 above is the session's.
		anon := newSession("")
		if resp, _, err := anon.do(http.MethodGet, "http://"+p.portal+"/profilo", nil); err != nil || resp.StatusCode == http.StatusOK {
			return "", fmt.Errorf("GET /profilo at %s without a session answered 200 (or failed: %v): the check above proves nothing", p.name, err)
		}
		seen = append(seen, p.name+" 200")
	}
	return "GET /profilo with the session: " + strings.Join(seen, ", ") + " (without it: redirected to the login)", nil
}

// signupNotice is the signup's acknowledgement (Italian, as asked).
const signupNotice = "riceverai a breve un messaggio"

// signup asks for a registration link through HAProxy, as client n; it
// reports the process that answered.
func (r *runner) signup(c *http.Client, email string, n int) (backend string, acked bool, detail string) {
	form := url.Values{"email": {email}, "privacy": {"1"}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.portalFront+"/registrati", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "it")
	req.Header.Set("X-Forwarded-For", clientOf(n))
	resp, err := c.Do(req)
	if err != nil {
		return "", false, err.Error()
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	backend = resp.Header.Get(backendHeader)
	if err != nil {
		return backend, false, "body: " + err.Error()
	}
	if resp.StatusCode == http.StatusOK && strings.Contains(string(b), signupNotice) {
		return backend, true, ""
	}
	return backend, false, fmt.Sprintf("%s, want 200 with %q", resp.Status, signupNotice)
}

// checkOutbox: N signups through HAProxy, each answered by some process,
// each queueing one mail; the three processes' mail workers share the
// outbox, and the SMTP server must get each mail exactly once.
func (r *runner) checkOutbox(ctx context.Context) (string, error) {
	n := r.opts.signups
	addr := func(i int) string { return fmt.Sprintf("m%s-%d@scale.civico.invalid", r.runID, i) }
	client := &http.Client{Timeout: 15 * time.Second}
	var mu sync.Mutex
	by := map[string]int{}
	var bad []string
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				backend, ok, detail := r.signup(client, addr(i), 1000+i)
				mu.Lock()
				by[backend]++
				if !ok {
					bad = append(bad, fmt.Sprintf("%s (answered by %q): %s", addr(i), backend, detail))
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(bad) > 0 {
		return "", fmt.Errorf("%d of %d signups through haproxy were not acknowledged, e.g. %s", len(bad), n, bad[0])
	}
	spread := spreadOf(by)
	for _, p := range r.procs {
		if by[p.name] == 0 {
			return "", fmt.Errorf("haproxy sent no signup to %s (%s): round-robin over every process was expected", p.name, spread)
		}
	}
	// The workers poll every second; each mail must arrive, once.
	want := map[string]bool{}
	for i := range n {
		want[addr(i)] = true
	}
	deadline := time.Now().Add(30 * time.Second)
	got := map[string]int{}
	ids := map[string]int{}
	for {
		clear(got)
		clear(ids)
		for _, m := range r.smtp.Messages() {
			for _, to := range m.To {
				if want[to] {
					got[to]++
					ids[m.Header.Get("Message-Id")]++
				}
			}
		}
		if len(got) == n || time.Now().After(deadline) {
			break
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) < n {
		return "", fmt.Errorf("after 30 s the SMTP server has mail for %d of the %d addresses: the outbox did not deliver (see the processes' logs for \"mail outbox\")", len(got), n)
	}
	// Two more poll rounds of every worker: a second copy would be here.
	time.Sleep(2500 * time.Millisecond)
	clear(got)
	for _, m := range r.smtp.Messages() {
		for _, to := range m.To {
			if want[to] {
				got[to]++
			}
		}
	}
	for a, c := range got {
		if c != 1 {
			return "", fmt.Errorf("the SMTP server received %d mails to %s, want 1: the outbox sent one message more than once (a claim that is not exclusive across the processes' workers)", c, a)
		}
	}
	for id, c := range ids {
		if c != 1 || id == "" {
			return "", fmt.Errorf("Message-Id %q arrived %d times, want once with an id", id, c)
		}
	}
	// Each message claimed once: one attempt, sent.
	rows, err := r.db.QueryContext(ctx, `SELECT to_addr, status, attempts FROM mail_outbox WHERE to_addr LIKE $1`, "m"+r.runID+"-%")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		var to, st string
		var attempts int
		if err := rows.Scan(&to, &st, &attempts); err != nil {
			return "", err
		}
		count++
		if st != "sent" || attempts != 1 {
			return "", fmt.Errorf("the outbox row of %s is %s after %d attempts, want sent after 1 (claimed once)", to, st, attempts)
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if count != n {
		return "", fmt.Errorf("the outbox holds %d messages to this check's addresses, want %d", count, n)
	}
	return fmt.Sprintf("%d signups acknowledged (answered by %s); %d mails at the SMTP server, one per address, each claimed once (attempts = 1, sent)", n, spread, n), nil
}

// spreadOf prints how many requests each process answered.
func spreadOf(by map[string]int) string {
	var names []string
	for k := range by {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		name := k
		if name == "" {
			name = "(no answer)"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, by[k]))
	}
	return strings.Join(parts, ", ")
}

// jwks reads a process's published key ids.
func jwks(c *http.Client, p *proc) ([]string, error) {
	resp, err := c.Get("http://" + p.portal + "/oidc/keys")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /oidc/keys at %s: %s", p.name, resp.Status)
	}
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("GET /oidc/keys at %s: %w", p.name, err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KID)
	}
	sort.Strings(out)
	return out, nil
}

var kidRE = regexp.MustCompile(`new signing key (\S+);`)

// checkRotation runs `civico oidc rotate-keys` against the database and
// waits until every process publishes the new key; the SSO check later
// verifies that each signs with it.
func (r *runner) checkRotation(ctx context.Context) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	var first []string
	for i, p := range r.procs {
		kids, err := jwks(c, p)
		if err != nil {
			return "", err
		}
		if i == 0 {
			first = kids
		} else if !slices.Equal(kids, first) {
			return "", fmt.Errorf("before the rotation %s publishes keys %v and %s %v: the processes must publish the same set", r.procs[0].name, first, p.name, kids)
		}
	}
	r.oldKIDs = first
	cmd := exec.CommandContext(ctx, r.bin, "oidc", "rotate-keys") // #nosec G204 -- the binary under test, fixed arguments
	cmd.Env = r.env("CIVICO_SECRET_KEY_FILE=" + r.procs[0].secretFile())
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("civico oidc rotate-keys failed (%v):\n%s", err, out)
	}
	m := kidRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("civico oidc rotate-keys did not name the new key:\n%s", out)
	}
	r.newKID, r.rotatedAt = string(m[1]), time.Now()
	seenAfter := make([]time.Duration, len(r.procs))
	for i, p := range r.procs {
		for {
			kids, err := jwks(c, p)
			if err != nil {
				return "", err
			}
			if slices.Contains(kids, r.newKID) {
				seenAfter[i] = time.Since(r.rotatedAt)
				for _, old := range first {
					if !slices.Contains(kids, old) {
						return "", fmt.Errorf("%s stopped publishing the retired key %s at once: tokens it signed can no longer be verified", p.name, old)
					}
				}
				break
			}
			if time.Since(r.rotatedAt) > rotateSeen {
				return "", fmt.Errorf("%s's JWKS does not have the new key %s %v after the rotation (it has %v): the documented time is %v",
					p.name, r.newKID, rotateSeen, kids, rotateSeen)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var parts []string
	for i, p := range r.procs {
		parts = append(parts, fmt.Sprintf("%s %d ms", p.name, seenAfter[i].Milliseconds()))
	}
	return fmt.Sprintf("new key %s in every JWKS (the retired one still there) after: %s (documented: within %v); signing with it is checked in 2.",
		r.newKID, strings.Join(parts, ", "), rotateSeen), nil
}

// secretFile is the demo's secret key, which every process and the CLI use.
func (p *proc) secretFile() string {
	for _, kv := range p.env {
		if v, ok := strings.CutPrefix(kv, "CIVICO_SECRET_KEY_FILE="); ok {
			return v
		}
	}
	return ""
}

// ssoLogin logs the session into Partecipa: the login starts at
// Partecipa's process start, the provider's steps (authorization, and
// whatever pages it goes through) are sent to process issuer, the callback
// to process start again, which exchanges the code with its own portal. It
// returns the hops.
func (r *runner) ssoLogin(s *session, start, issuer *proc) ([]string, error) {
	target := "http://" + start.partecipa + "/accedi"
	var hops []string
	for range 12 {
		resp, body, err := s.do(http.MethodGet, target, nil)
		if err != nil {
			return hops, fmt.Errorf("GET %s: %w", target, err)
		}
		u, _ := url.Parse(target)
		hops = append(hops, fmt.Sprintf("%s%s%s %d", nameOf(r.procs, u.Host), appOf(r.procs, u.Host), u.Path, resp.StatusCode))
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			if u.Path == "/auth/callback" && resp.StatusCode != http.StatusOK {
				return hops, fmt.Errorf("the callback at %s answered %s: the code issued by %s was not exchanged there (look for \"code exchange failed\" or \"id_token refused\" in %s); the page: %.300s",
					start.name, resp.Status, issuer.name, start.logPath, body)
			}
			if s.cookie("partecipa_session") != "" && u.Host == start.partecipa {
				return hops, nil
			}
			return hops, fmt.Errorf("GET %s answered %s, not a redirect, before Partecipa's session was opened; the page: %.300s", target, resp.Status, body)
		}
		next, err := u.Parse(resp.Header.Get("Location"))
		if err != nil {
			return hops, fmt.Errorf("redirect from %s: %w", target, err)
		}
		switch next.Host {
		case r.portalFront, issuer.portal:
			next.Host = issuer.portal
		case r.partecipaFront, start.partecipa:
			next.Host = start.partecipa
			if next.Path != "/auth/callback" && s.cookie("partecipa_session") != "" {
				return hops, nil // logged in: Partecipa sends the resident on
			}
		default:
			return hops, fmt.Errorf("%s redirects to %s, neither haproxy's frontends nor the processes", target, next)
		}
		target = next.String()
	}
	return hops, fmt.Errorf("more than 12 redirects: %s", strings.Join(hops, " → "))
}

func nameOf(procs []*proc, host string) string {
	for _, p := range procs {
		if p.portal == host || p.partecipa == host {
			return p.name
		}
	}
	return host
}

func appOf(procs []*proc, host string) string {
	for _, p := range procs {
		if p.partecipa == host {
			return " partecipa"
		}
	}
	return " portal"
}

// kidOf reads the key id in a JWT's header.
func kidOf(jwt string) (string, error) {
	head, _, ok := strings.Cut(jwt, ".")
	if !ok {
		return "", errors.New("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", err
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", err
	}
	return h.KID, nil
}

// checkSSO: around the ring of processes, the resident logged in by check
// 1 logs into Partecipa with the authorization at one process and the
// callback (the code exchange) at the next; each Partecipa session is then
// known to every process, and its id_token, signed by the exchanging
// process more than 30 s after the rotation, carries the new key.
func (r *runner) checkSSO(ctx context.Context) (string, error) {
	if r.mario == nil {
		return "", errors.New("needs check 1's login, which failed")
	}
	if r.newKID != "" {
		if wait := rotateSeen + time.Second - time.Since(r.rotatedAt); wait > 0 {
			fmt.Printf("   (waiting %.0fs: 30 s after the rotation every process must sign with the new key)\n", wait.Seconds())
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
	}
	var lines []string
	for i, issuer := range r.procs {
		exchanger := r.procs[(i+1)%len(r.procs)]
		hops, err := r.ssoLogin(r.mario, exchanger, issuer)
		if err != nil {
			return strings.Join(hops, " → "), fmt.Errorf("code from %s, exchanged at %s: %w", issuer.name, exchanger.name, err)
		}
		tok := r.mario.cookie("partecipa_session")
		for _, p := range r.procs {
			resp, _, err := r.mario.do(http.MethodGet, "http://"+p.partecipa+"/profilo", nil)
			if err != nil {
				return "", fmt.Errorf("GET Partecipa's /profilo at %s: %w", p.name, err)
			}
			if resp.StatusCode != http.StatusOK || r.mario.cookie("partecipa_session") != tok {
				return "", fmt.Errorf("the Partecipa /profilo at %s with the session opened at %s: %s, want 200 with the session kept", p.name, exchanger.name, resp.Status)
			}
		}
		var idToken string
		if err := r.db.QueryRowContext(ctx, `SELECT id_token FROM partecipa_sessions WHERE id_hash = $1`, tokens.Hash(tok)).Scan(&idToken); err != nil {
			return "", fmt.Errorf("the Partecipa session opened at %s is not in the database: %w", exchanger.name, err)
		}
		kid, err := kidOf(idToken)
		if err != nil {
			return "", fmt.Errorf("the id_token of the session opened at %s: %w", exchanger.name, err)
		}
		if r.newKID != "" && kid != r.newKID {
			return "", fmt.Errorf("%s signed an id_token with key %s %.0fs after `civico oidc rotate-keys` made %s: the documented switch is within %v",
				exchanger.name, kid, time.Since(r.rotatedAt).Seconds(), r.newKID, rotateSeen)
		}
		lines = append(lines, fmt.Sprintf("code issued by %s, exchanged at %s (id_token key %s): %s", issuer.name, exchanger.name, kid, strings.Join(hops, " → ")))
	}
	lines = append(lines, "each Partecipa session known to every process (GET /profilo 200)")
	return strings.Join(lines, "\n"), nil
}

// backchannelLines counts, for each process, Partecipa's log lines
// "back-channel logout" and the sessions they ended.
func (r *runner) backchannelLines() (lines map[string]int, sessions map[string]float64, err error) {
	lines, sessions = map[string]int{}, map[string]float64{}
	for _, p := range r.procs {
		ls, err := p.logLines("back-channel logout")
		if err != nil {
			return nil, nil, err
		}
		for _, l := range ls {
			lines[p.name]++
			if n, ok := l["sessions"].(float64); ok {
				sessions[p.name] += n
			}
		}
	}
	return lines, sessions, nil
}

func sum[V int | float64](m map[string]V) V {
	var t V
	for _, v := range m {
		t += v
	}
	return t
}

// follow sends a GET through HAProxy and follows its redirects, noting
// which process answered each step.
func (r *runner) follow(s *session, target string) ([]string, error) {
	var hops []string
	for range 12 {
		resp, body, err := s.do(http.MethodGet, target, nil)
		if err != nil {
			return hops, err
		}
		u, _ := url.Parse(target)
		app := " portal"
		if u.Host == r.partecipaFront {
			app = " partecipa"
		}
		hops = append(hops, fmt.Sprintf("%s%s%s %d", resp.Header.Get(backendHeader), app, u.Path, resp.StatusCode))
		if resp.StatusCode < 300 || resp.StatusCode > 399 {
			if resp.StatusCode != http.StatusOK {
				return hops, fmt.Errorf("GET %s: %s; the page: %.300s", target, resp.Status, body)
			}
			return hops, nil
		}
		next, err := u.Parse(resp.Header.Get("Location"))
		if err != nil {
			return hops, err
		}
		target = next.String()
	}
	return hops, errors.New("more than 12 redirects")
}

// checkBackchannel: another resident logs in and into Partecipa, all
// through HAProxy; the logout at the portal sends Partecipa one logout
// token, which exactly one process receives, and Partecipa's session is
// then unknown to every process.
func (r *runner) checkBackchannel(ctx context.Context) (string, error) {
	s, err := r.login(annaEmail, 2)
	if err != nil {
		return "", err
	}
	hops, err := r.follow(s, "http://"+r.partecipaFront+"/accedi")
	if err != nil {
		return "", fmt.Errorf("the Partecipa login through haproxy (%s): %w", strings.Join(hops, " → "), err)
	}
	tok := s.cookie("partecipa_session")
	if tok == "" {
		return "", fmt.Errorf("the Partecipa login through haproxy (%s) opened no session", strings.Join(hops, " → "))
	}
	before, sessionsBefore, err := r.backchannelLines()
	if err != nil {
		return "", err
	}
	resp, _, err := s.do(http.MethodPost, "http://"+r.portalFront+"/esci", url.Values{})
	if err != nil {
		return "", fmt.Errorf("POST /esci through haproxy: %w", err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("POST /esci through haproxy: %s, want 303", resp.Status)
	}
	logoutBy := resp.Header.Get(backendHeader)
	// The notice is delivered before the logout answers; the log line may
	// take a moment to reach the file. Then a while longer: a second
	// delivery would show.
	deadline := time.Now().Add(10 * time.Second)
	var after map[string]int
	var sessionsAfter map[string]float64
	for {
		if after, _, err = r.backchannelLines(); err != nil {
			return "", err
		}
		if sum(after) > sum(before) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	if after, sessionsAfter, err = r.backchannelLines(); err != nil {
		return "", err
	}
	var receivers []string
	for _, p := range r.procs {
		for range after[p.name] - before[p.name] {
			receivers = append(receivers, p.name)
		}
	}
	if len(receivers) != 1 {
		return "", fmt.Errorf("after the logout at %s, Partecipa received %d back-channel logouts across the processes (log lines \"back-channel logout\": %v), want exactly 1",
			logoutBy, len(receivers), receivers)
	}
	ended := sum(sessionsAfter) - sum(sessionsBefore)
	if ended != 1 {
		return "", fmt.Errorf("the back-channel logout ended %.0f Partecipa sessions, want 1 (the resident's)", ended)
	}
	var pending int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM oidc_logout_outbox`).Scan(&pending); err != nil {
		return "", err
	}
	if pending != 0 {
		return "", fmt.Errorf("%d back-channel logout notices are still in the outbox after the delivery: they would be sent again", pending)
	}
	// Partecipa's session is over on every process (the cookie is
	// refused and cleared), and so is the portal's.
	for _, p := range r.procs {
		fresh := newSession("")
		// #nosec G124 -- the harness's own client jar replaying the cookie civico set, over plain http on loopback
		fresh.jar.SetCookies(&url.URL{Scheme: "http", Host: "127.0.0.1"}, []*http.Cookie{{Name: "partecipa_session", Value: tok, Path: "/"}})
		resp, _, err := fresh.do(http.MethodGet, "http://"+p.partecipa+"/profilo", nil)
		if err != nil {
			return "", err
		}
		if resp.StatusCode == http.StatusOK && fresh.cookie("partecipa_session") == tok {
			return "", fmt.Errorf("after the back-channel logout %s still knows Partecipa's session", p.name)
		}
		resp, _, err = s.do(http.MethodGet, "http://"+p.portal+"/profilo", nil)
		if err != nil {
			return "", err
		}
		if resp.StatusCode == http.StatusOK {
			return "", fmt.Errorf("after the logout %s still knows the portal session", p.name)
		}
	}
	return fmt.Sprintf("Partecipa login through haproxy: %s\nlogout at %s; one logout token, received by %s, ending the one session; the outbox empty; both sessions unknown to every process",
		strings.Join(hops, " → "), logoutBy, receivers[0]), nil
}
