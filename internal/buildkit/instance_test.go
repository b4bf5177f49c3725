package buildkit

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/mybuild/mybuild/pkg/engine"
)

// A daemon that does not answer is worded as buildx's docker client words
// it, before the build.
func TestUnreachable(t *testing.T) {
	dial := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: "/x.sock", Net: "unix"}, Err: os.NewSyscallError("connect", errno)}
	}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"answered", nil, ""},
		{"not a connection error", errors.New("other"), ""},
		{"no socket", &engine.ConnectionError{Host: "unix:///x.sock", Cause: dial(syscall.ENOENT)},
			"failed to connect to the docker API at unix:///x.sock; check if the path is correct and if the daemon is running: dial unix /x.sock: connect: no such file or directory"},
		{"refused", &engine.ConnectionError{Host: "tcp://127.0.0.1:1", Cause: dial(syscall.ECONNREFUSED)},
			"Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon running?"},
		{"permission", &engine.ConnectionError{Host: "unix:///x.sock", Err: errors.New("detail"), Cause: dial(syscall.EACCES)},
			"permission denied while trying to connect to the docker API at unix:///x.sock"},
	} {
		got := ""
		if err := unreachable(tt.err); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
