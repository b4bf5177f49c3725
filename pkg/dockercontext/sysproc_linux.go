package dockercontext

import "syscall"

// setSysProcAttr: own session (for ssh ProxyCommand, docker/cli#1707) and
// SIGKILL when the parent dies.
func setSysProcAttr(a *syscall.SysProcAttr) {
	a.Setsid = true
	a.Pdeathsig = syscall.SIGKILL
}
