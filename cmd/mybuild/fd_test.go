package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// fd://N: the daemon connection is a connected socket the caller passes as descriptor N.
// These tests run the binary (testscript.Main put it on PATH as "mybuild") with one end of a
// socketpair as descriptor 3 and serve the other end with the fake daemon.

// oneConnListener hands out one connection, then blocks until closed.
type oneConnListener struct {
	conns     chan net.Conn
	addr      net.Addr
	done      chan struct{}
	closeOnce sync.Once
}

func newOneConnListener(c net.Conn) *oneConnListener {
	l := &oneConnListener{conns: make(chan net.Conn, 1), addr: c.LocalAddr(), done: make(chan struct{})}
	l.conns <- c
	return l
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *oneConnListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.addr }

// fdRun runs the mybuild binary in dir with args, extra as descriptors 3, 4, …, and an
// environment without DOCKER_* (plus an empty DOCKER_CONFIG).
func fdRun(t *testing.T, dir string, extra []*os.File, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin, err := exec.LookPath("mybuild")
	if err != nil {
		t.Fatalf("the mybuild command testscript.Main installs: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.ExtraFiles = extra
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+t.TempDir(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("mybuild %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}

func fdContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nLABEL via=fd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("sent over a socketpair\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFDHostBuild(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	daemonEnd, clientEnd := os.NewFile(uintptr(fds[0]), "daemon end"), os.NewFile(uintptr(fds[1]), "client end")
	conn, err := net.FileConn(daemonEnd)
	daemonEnd.Close()
	if err != nil {
		clientEnd.Close()
		t.Fatal(err)
	}
	d := enginetest.New()
	stop := d.Serve(newOneConnListener(conn))
	defer stop()

	// The child gets its own copy of the client end; closing ours lets the daemon's side see
	// the end of the connection when the child exits.
	stdout, stderr, code := func() (string, string, int) {
		defer clientEnd.Close()
		return fdRun(t, fdContext(t), []*os.File{clientEnd}, "-H", "fd://3", "-t", "fd-test:latest", ".")
	}()
	if code != 0 || !strings.Contains(stdout, "Successfully built ") || stderr != "" {
		t.Fatalf("mybuild -H fd://3: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	stop()
	d.Wait()

	reqs := d.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the daemon got %d build requests, want 1", len(reqs))
	}
	r := reqs[0]
	if got := r.Query.Get("t"); got != "fd-test:latest" {
		t.Errorf("t = %q, want fd-test:latest", got)
	}
	var names []string
	for _, e := range r.Entries {
		names = append(names, e.Name)
	}
	if strings.Join(names, " ") != "Dockerfile data.txt" {
		t.Errorf("tar entries %q, want Dockerfile and data.txt", names)
	}
	// Everything went over the one inherited connection: the ping, then the build.
	var calls []string
	for _, c := range d.Calls() {
		calls = append(calls, c.Method+" "+c.Path)
	}
	if len(calls) != 2 || calls[0] != "HEAD /_ping" || !strings.HasSuffix(calls[1], "/build") {
		t.Errorf("requests on the connection: %q, want HEAD /_ping then POST /v…/build", calls)
	}
}

func TestFDHostErrors(t *testing.T) {
	notSocket, err := os.Open(filepath.Join(t.TempDir(), "..")) // a directory: open, not a socket
	if err != nil {
		t.Fatal(err)
	}
	defer notSocket.Close()
	for _, tc := range []struct {
		name, host string
		extra      []*os.File
		want       string
	}{
		{"not a number", "fd://1x", nil,
			`Failed to initialize: invalid fd:// host "fd://1x": want fd://N, N an inherited socket descriptor of 3 or more`},
		{"no number", "fd://", nil,
			`Failed to initialize: invalid fd:// host "fd://": want fd://N, N an inherited socket descriptor of 3 or more`},
		{"standard stream", "fd://1", nil,
			`Failed to initialize: invalid fd:// host "fd://1": want fd://N, N an inherited socket descriptor of 3 or more`},
		{"not a socket", "fd://3", []*os.File{notSocket},
			`Failed to initialize: fd://3 is not a connected socket: file file+net fd://3: getsockopt: socket operation on non-socket`},
		// (a descriptor number no parent of the test is likely to leak into the child)
		{"not open", "fd://4000", nil,
			`Failed to initialize: fd://4000: not an open file descriptor`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := fdRun(t, fdContext(t), tc.extra, "-H", tc.host, ".")
			if code != 1 || stderr != tc.want+"\n" || stdout != "" {
				t.Errorf("mybuild -H %s: exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", tc.host, code, stdout, stderr, tc.want+"\n")
			}
		})
	}
}
