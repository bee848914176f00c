//go:build !linux

package main

import (
	"errors"
	"syscall"
	"time"
)

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// cpuTime is not known outside Linux: the throughput table says so.
func cpuTime(int) (time.Duration, error) {
	return 0, errors.New("CPU time per process is read from /proc (Linux only)")
}
