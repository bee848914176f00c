package main

import (
	"math"
	"runtime/debug"
	"strconv"
)

// The garbage collector's settings for a server (README "Performance",
// "Memory and the garbage collector"). A page allocates 75-330 KB that
// die with the request while the live heap stays small (tens of MB): at
// Go's default GOGC=100 the collector runs every few hundred requests and
// took about a quarter of a logged-in request's CPU. Letting the heap grow
// to five times the live data before collecting (GOGC=400) cuts that,
// and a soft memory limit makes the collector work harder, instead of the
// heap growing, as the process nears it.
const (
	serverGCPercent   = 400
	serverMemoryLimit = 1 << 30 // 1 GiB
)

// gcSettings are the percent and limit in force after tuneGC, for the
// start's log line.
type gcSettings struct {
	Percent int
	Limit   int64
}

// tuneGC applies the server's settings unless the operator chose their own
// with Go's GOGC or GOMEMLIMIT, which the runtime has already read and
// which then stand.
func tuneGC(env func(string) string) gcSettings {
	if env("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if env("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serverMemoryLimit)
	}
	// SetGCPercent returns the setting it replaces: put it straight back.
	// (SetMemoryLimit with a negative input only reads.)
	percent := debug.SetGCPercent(serverGCPercent)
	debug.SetGCPercent(percent)
	return gcSettings{Percent: percent, Limit: debug.SetMemoryLimit(-1)}
}

// limitText is the memory limit for the log line: "none" for Go's default.
func (g gcSettings) limitText() string {
	if g.Limit == math.MaxInt64 {
		return "none"
	}
	return strconv.FormatInt(g.Limit>>20, 10) + " MiB"
}
