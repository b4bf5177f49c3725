//go:build !unix

package dockercontext

import "syscall"

func setSysProcAttr(*syscall.SysProcAttr) {}
