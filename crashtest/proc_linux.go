package main

import "syscall"

// sysProcAttr makes the kernel kill civico if the harness dies first, so no
// server outlives an interrupted run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
