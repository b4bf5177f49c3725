//go:build unix && !linux

package dockercontext

import "syscall"

// setSysProcAttr: own session (for ssh ProxyCommand, docker/cli#1707).
func setSysProcAttr(a *syscall.SysProcAttr) {
	a.Setsid = true
}
