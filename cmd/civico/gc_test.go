package main

import (
	"runtime/debug"
	"testing"
)

// TestTuneGC: a server collects at GOGC=400 under a 1 GiB soft limit,
// unless the operator set Go's own variables, which then stand.
func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })

	got := tuneGC(func(string) string { return "" })
	if got.Percent != 400 || got.Limit != 1<<30 || got.limitText() != "1024 MiB" {
		t.Fatalf("defaults: %+v %s", got, got.limitText())
	}

	debug.SetGCPercent(150)
	debug.SetMemoryLimit(300 << 20)
	set := map[string]string{"GOGC": "150", "GOMEMLIMIT": "300MiB"}
	got = tuneGC(func(k string) string { return set[k] })
	if got.Percent != 150 || got.Limit != 300<<20 {
		t.Fatalf("the operator's settings were replaced: %+v", got)
	}
}
