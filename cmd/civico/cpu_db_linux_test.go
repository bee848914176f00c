//go:build linux

package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/civico-pa/civico/internal/db"
)

// databaseCPU is the CPU time, user and system, that PostgreSQL's server
// processes serving d's database have used so far, when the server runs on
// this machine (read from /proc: the benchmarks' throwaway cluster); ok is
// false on SQLite, or when a process cannot be read. Its resolution is the
// kernel's clock tick (10 ms): measure loops of a second or more.
func databaseCPU(d *db.DB) (cpu time.Duration, ok bool) {
	if d.Dialect != db.Postgres {
		return 0, false
	}
	rows, err := d.QueryContext(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return 0, false
	}
	defer func() { _ = rows.Close() }()
	var ticks int64
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return 0, false
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat") // #nosec G304 -- a process id the server gave
		if err != nil {
			return 0, false
		}
		// The fields after the command's closing parenthesis: utime is
		// the 12th, stime the 13th.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			return 0, false
		}
		u, err1 := strconv.ParseInt(f[11], 10, 64)
		s, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		ticks += u + s
	}
	if rows.Err() != nil {
		return 0, false
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond, true
}
