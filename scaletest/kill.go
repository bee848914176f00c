package main

import (
	"context"
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
	"time"
)

// The kill check's load: writers posting through HAProxy for loadFor, one
// process killed killAfter into it. A request the dead process held gets
// an error; once HAProxy's health checks have marked it down (checkFall
// checks checkInterval apart, plus a margin for a busy machine) and the
// connections it held are gone, no request may fail.
const (
	ratingWriters = 4
	signupWriters = 2
	loadFor       = 6 * time.Second
	killAfter     = 2 * time.Second
	killWindow    = checkFall*checkInterval + 1500*time.Millisecond
)

// write is one POST of the kill check.
type write struct {
	signup     bool
	key        string // the rating's comment, the signup's address
	start, end time.Time
	acked      bool
	backend    string
	detail     string // why it was not acknowledged
}

var ratingTokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// ratingToken reads the token of the home page's rating form (an HMAC of
// the path under a key derived from the secret: every process makes the
// same).
func (r *runner) ratingToken() (string, error) {
	s := newSession("")
	resp, body, err := s.do(http.MethodGet, "http://"+r.portalFront+"/", nil)
	if err != nil {
		return "", err
	}
	m := ratingTokenRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("the home page (%s) has no rating form with a token", resp.Status)
	}
	return m[1], nil
}

// checkKill: concurrent ratings and signups through HAProxy; one process
// killed with SIGKILL in the middle. Every acknowledged write must be in
// the database exactly once (and an unacknowledged one at most once), no
// request may fail before the kill nor once HAProxy has routed around the
// dead process, and the others must go on acknowledging writes. Then the
// process starts again on the same database and HAProxy sends it requests.
func (r *runner) checkKill(ctx context.Context) (string, error) {
	victim := r.procs[1]
	token, err := r.ratingToken()
	if err != nil {
		return "", err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: ratingWriters + signupWriters}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var mu sync.Mutex
	var writes []*write
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ratingWriters + signupWriters {
		isSignup := i < signupWriters
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := int(n.Add(1))
				w := &write{signup: isSignup, start: time.Now()}
				if isSignup {
					w.key = fmt.Sprintf("k%s-%d@scale.civico.invalid", r.runID, k)
					w.backend, w.acked, w.detail = r.signup(client, w.key, 100000+k)
				} else {
					w.key = fmt.Sprintf("scale-%s-%d", r.runID, k)
					w.backend, w.acked, w.detail = r.rate(client, token, w.key, 100000+k)
				}
				w.end = time.Now()
				mu.Lock()
				writes = append(writes, w)
				mu.Unlock()
			}
		})
	}
	t0 := time.Now()
	time.Sleep(killAfter)
	killedAt := time.Now()
	if err := victim.kill(); err != nil {
		close(stop)
		wg.Wait()
		return "", err
	}
	select {
	case <-time.After(loadFor - killAfter):
	case <-ctx.Done():
	}
	close(stop)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return "", err
	}

	// What the database holds of them.
	ratings, err := countBy(ctx, r, `SELECT comment, COUNT(*) FROM page_feedback WHERE comment LIKE $1 GROUP BY comment`, "scale-"+r.runID+"-%")
	if err != nil {
		return "", err
	}
	signups, err := countBy(ctx, r, `SELECT email, COUNT(*) FROM signups WHERE email LIKE $1 GROUP BY email`, "k"+r.runID+"-%")
	if err != nil {
		return "", err
	}
	mails, err := countBy(ctx, r, `SELECT to_addr, COUNT(*) FROM mail_outbox WHERE to_addr LIKE $1 GROUP BY to_addr`, "k"+r.runID+"-%")
	if err != nil {
		return "", err
	}
	var problems []string
	var acked, ackedAfter, errBefore, errWindow, errAfter, total int
	var windowErrs []string
	for _, w := range writes {
		total++
		var inDB int
		if w.signup {
			inDB = signups[w.key]
			if mails[w.key] != inDB {
				problems = append(problems, fmt.Sprintf("signup %s: %d links but %d mails (one transaction writes both)", w.key, inDB, mails[w.key]))
			}
		} else {
			inDB = ratings[w.key]
		}
		switch {
		case w.acked && inDB != 1:
			problems = append(problems, fmt.Sprintf("%s acknowledged by %s at %s but %d times in the database, want 1", w.key, w.backend, w.end.Format("15:04:05.000"), inDB))
		case !w.acked && inDB > 1:
			problems = append(problems, fmt.Sprintf("%s (not acknowledged) %d times in the database, want at most 1", w.key, inDB))
		}
		if w.acked {
			acked++
			if w.start.After(killedAt) {
				ackedAfter++
			}
			continue
		}
		switch {
		case w.end.Before(killedAt):
			errBefore++
			problems = append(problems, fmt.Sprintf("before the kill, %s was refused (%s): %s", w.key, w.backend, w.detail))
		case w.start.Before(killedAt.Add(killWindow)):
			errWindow++
			windowErrs = append(windowErrs, fmt.Sprintf("%s +%dms %s", orNoAnswer(w.backend), w.end.Sub(killedAt).Milliseconds(), shorten(w.detail)))
		default:
			errAfter++
			problems = append(problems, fmt.Sprintf("%v after the kill (HAProxy should have routed around %s), %s was refused (%s): %s",
				w.start.Sub(killedAt).Round(time.Millisecond), victim.name, w.key, w.backend, w.detail))
		}
	}
	if ackedAfter == 0 {
		problems = append(problems, "no write sent after the kill was acknowledged: the other processes did not keep serving")
	}
	elapsed := time.Since(t0)
	detail := fmt.Sprintf("%d writes in %.1fs (%d ratings and %d signups writers through haproxy), %s killed with SIGKILL %.1fs in: %d acknowledged (%d sent after the kill), all in the database once; "+
		"errors: %d before the kill, %d within %v of it, %d after",
		total, elapsed.Seconds(), ratingWriters, signupWriters, victim.name, killAfter.Seconds(), acked, ackedAfter, errBefore, errWindow, killWindow, errAfter)
	if len(windowErrs) > 0 {
		detail += "\nthe kill window's errors (the requests the dead process held): " + strings.Join(windowErrs, "; ")
	}
	if len(problems) > 0 {
		return detail, fmt.Errorf("%d problems; the first: %s", len(problems), strings.Join(problems[:min(len(problems), 5)], "; "))
	}

	// It starts again on the same database, and HAProxy uses it again.
	t1 := time.Now()
	if err := victim.start(ctx, r.bin, r.dir, r.opts.startTimeout); err != nil {
		return detail, fmt.Errorf("restarting %s after the kill: %w", victim.name, err)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get("http://" + r.portalFront + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.Header.Get(backendHeader) == victim.name {
				break
			}
		}
		if time.Since(t1) > 30*time.Second {
			return detail, fmt.Errorf("%s restarted, but haproxy sent it no request within 30 s", victim.name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	detail += fmt.Sprintf("\n%s started again on the same database and served through haproxy %.1fs later", victim.name, time.Since(t1).Seconds())
	return detail, nil
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// rate posts a clarity rating of the home page through HAProxy.
func (r *runner) rate(c *http.Client, token, comment string, n int) (backend string, acked bool, detail string) {
	form := url.Values{"path": {"/"}, "rating": {strconv.Itoa(1 + n%5)}, "reason": {""}, "comment": {comment}, "token": {token}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.portalFront+"/valutazione", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", clientOf(n))
	resp, err := c.Do(req)
	if err != nil {
		return "", false, err.Error()
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	backend = resp.Header.Get(backendHeader)
	if err != nil {
		return backend, false, "body: " + err.Error()
	}
	if resp.StatusCode == http.StatusSeeOther && strings.Contains(resp.Header.Get("Location"), "valutazione=grazie") {
		return backend, true, ""
	}
	return backend, false, fmt.Sprintf("%s (Location %q), want 303 to ...valutazione=grazie", resp.Status, resp.Header.Get("Location"))
}

// countBy runs a "SELECT key, COUNT(*) ... GROUP BY key" query.
func countBy(ctx context.Context, r *runner, query string, args ...any) (map[string]int, error) {
	if r.db == nil {
		return nil, errors.New("no database")
	}
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// orNoAnswer names the process that answered, or says none did.
func orNoAnswer(backend string) string {
	if backend == "" {
		return "(no answer)"
	}
	return backend
}
