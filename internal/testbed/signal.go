package testbed

import "syscall"

// Signal sends sig to the process alone (a fault test kills, freezes or
// thaws a node it started).
func (p *Process) Signal(sig syscall.Signal) error {
	if p == nil || p.cmd.Process == nil {
		return nil
	}
	return p.cmd.Process.Signal(sig)
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.exited() }
