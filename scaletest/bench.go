package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	requests int
	perSec   float64
	latency  string // the mean, as wrk prints it
	non2xx   int    // answers other than 2xx and 3xx
	errors   int    // connect, read, write and timeout errors
}

var (
	wrkRequestsRE = regexp.MustCompile(`(\d+) requests in`)
	wrkRateRE     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkLatencyRE  = regexp.MustCompile(`Latency\s+(\S+)`)
	wrkNon2xxRE   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkErrorsRE   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk's report.
func parseWrk(out string) (wrkResult, error) {
	var w wrkResult
	m := wrkRequestsRE.FindStringSubmatch(out)
	r := wrkRateRE.FindStringSubmatch(out)
	l := wrkLatencyRE.FindStringSubmatch(out)
	if m == nil || r == nil || l == nil {
		return w, fmt.Errorf("wrk's report has no request count, rate or latency:\n%s", out)
	}
	w.requests, _ = strconv.Atoi(m[1])
	w.perSec, _ = strconv.ParseFloat(r[1], 64)
	w.latency = l[1]
	if m := wrkNon2xxRE.FindStringSubmatch(out); m != nil {
		w.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkErrorsRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			w.errors += n
		}
	}
	return w, nil
}

// row is one line of the throughput table.
type row struct {
	setup, page string
	res         wrkResult
	civicoCPU   time.Duration // per request, all processes together
	proxyCPU    time.Duration // per request, HAProxy
	cpuErr      error
}

// throughput measures, through HAProxy with 1, 2 and 3 processes (and
// straight at one process, for HAProxy's own share), a logged-in page
// (rendered at every request) and an anonymous one (the page cache), with
// wrk -t2 -c32, and the CPU time civico and HAProxy spend per request.
func (r *runner) throughput(ctx context.Context) error {
	if r.mario == nil {
		return errors.New("needs check 1's session")
	}
	cookie := "Cookie: civico_session=" + r.mario.cookie("civico_session")
	pages := []struct {
		name, header string
	}{{"logged in: home /", cookie}, {"anonymous: home / (page cache)", ""}}
	load := loadAverage()
	var rows []row
	measure := func(setup, target string, procs []*proc, proxyPID int) error {
		for _, pg := range pages {
			res, civ, prx, cerr, err := r.wrk(ctx, target, pg.header, procs, proxyPID)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", setup, pg.name, err)
			}
			if res.non2xx > 0 || res.errors > 0 {
				return fmt.Errorf("%s, %s: %d answers other than 2xx/3xx and %d socket errors of %d requests", setup, pg.name, res.non2xx, res.errors, res.requests)
			}
			rows = append(rows, row{setup: setup, page: pg.name, res: res, civicoCPU: civ, proxyCPU: prx, cpuErr: cerr})
		}
		return nil
	}
	// A warm-up: the first requests fill the pools and caches.
	if _, _, _, _, err := r.wrk(ctx, "http://"+r.portalFront+"/", cookie, r.procs, r.lb.pid()); err != nil {
		return err
	}
	if err := measure("1 process, no HAProxy", "http://"+r.procs[0].portal+"/", r.procs[:1], 0); err != nil {
		return err
	}
	for n := 1; n <= len(r.procs); n++ {
		r.lb.stop()
		lb, err := startHAProxy(ctx, r.opts.haproxy, r.dir, r.portalFront, r.partecipaFront, r.procs[:n])
		if err != nil {
			return err
		}
		r.lb = lb
		if err := measure(fmt.Sprintf("%d process%s behind HAProxy", n, map[bool]string{true: "es"}[n > 1]), "http://"+r.portalFront+"/", r.procs[:n], lb.pid()); err != nil {
			return err
		}
	}
	fmt.Printf("\nThroughput (wrk -t2 -c%d -d%v, %s, %d CPUs, load average %s at the start; civico CPU is all processes' together):\n\n",
		wrkConns, r.opts.benchFor, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), load)
	fmt.Println("| setup | page | requests/s | mean latency | civico CPU per request | HAProxy CPU per request |")
	fmt.Println("|---|---|---:|---:|---:|---:|")
	for _, rw := range rows {
		civ, prx := "n/a", "–"
		if rw.cpuErr == nil {
			civ = fmt.Sprintf("%d µs", rw.civicoCPU.Microseconds())
			if strings.Contains(rw.setup, "behind") {
				prx = fmt.Sprintf("%d µs", rw.proxyCPU.Microseconds())
			}
		}
		fmt.Printf("| %s | %s | %.0f | %s | %s | %s |\n", rw.setup, rw.page, rw.res.perSec, rw.res.latency, civ, prx)
	}
	fmt.Println("\nOn a 2-core machine shared with wrk and PostgreSQL, more processes cannot add cores: the figures show that requests are spread and what each costs, not linear scaling.")
	return nil
}

// wrkConns is wrk's connections (-c); two threads.
const wrkConns = 32

// wrk runs wrk against target and measures the CPU time the processes and
// HAProxy (proxyPID, 0: none) used meanwhile, per request.
func (r *runner) wrk(ctx context.Context, target, header string, procs []*proc, proxyPID int) (res wrkResult, civico, proxy time.Duration, cpuErr, err error) {
	pids := []int{}
	for _, p := range procs {
		pids = append(pids, p.pid())
	}
	if proxyPID != 0 {
		pids = append(pids, proxyPID)
	}
	before := make([]time.Duration, len(pids))
	for i, pid := range pids {
		if before[i], cpuErr = cpuTime(pid); cpuErr != nil {
			break
		}
	}
	args := []string{"-t2", "-c" + strconv.Itoa(wrkConns), "-d" + strconv.Itoa(int(r.opts.benchFor.Seconds())) + "s"}
	if header != "" {
		args = append(args, "-H", header)
	}
	out, err := exec.CommandContext(ctx, r.opts.wrk, append(args, target)...).CombinedOutput() // #nosec G204 -- the wrk program named by -wrk, with the harness's own arguments
	if err != nil {
		return res, 0, 0, nil, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if res, err = parseWrk(string(out)); err != nil {
		return res, 0, 0, nil, err
	}
	if cpuErr == nil && res.requests > 0 {
		for i, pid := range pids {
			after, err := cpuTime(pid)
			if err != nil {
				cpuErr = err
				break
			}
			used := (after - before[i]) / time.Duration(res.requests)
			if proxyPID != 0 && i == len(pids)-1 {
				proxy = used
			} else {
				civico += used
			}
		}
	}
	return res, civico, proxy, cpuErr, nil
}

// loadAverage is the machine's 1-minute load average, "?" when unknown.
func loadAverage() string {
	out, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(out)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
