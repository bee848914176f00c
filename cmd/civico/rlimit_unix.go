//go:build unix

package main

import "syscall"

// raiseFDLimit raises the soft limit of open files to the hard limit (Go's
// runtime stops one short of it) and returns the limit now in force; known
// is false when the system does not say.
func raiseFDLimit() (limit uint64, known bool) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, false
	}
	if l.Cur < l.Max {
		raised := l
		raised.Cur = l.Max
		// Some systems refuse an unlimited hard limit as the soft one
		// (macOS): the current one then stands.
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			l = raised
		}
	}
	return uint64(l.Cur), true // #nosec G115 -- int64 on some systems, never negative but for RLIM_INFINITY (-1), which becomes the largest value as it should
}
