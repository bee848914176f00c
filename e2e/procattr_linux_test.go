package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the kernel kill the demo when the test process dies
// without stopping it (a panic, go test's -timeout).
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
