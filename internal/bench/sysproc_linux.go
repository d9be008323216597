package bench

import "syscall"

// sysProcAttr makes the kernel kill the server if the harness dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
