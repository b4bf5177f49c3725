package enginetest

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Start serves the daemon on a new listener (network "unix" or "tcp", as
// for net.Listen) until stop is called. stop closes the listener, waits for
// running requests to end and, for a unix socket, removes the socket file.
// It is meant for helper binaries and testscript setups; tests use
// ListenUnix or ListenTCP.
func (d *Daemon) Start(network, addr string) (stop func(), err error) {
	_, stop, err = d.start(network, addr)
	return stop, err
}

func (d *Daemon) start(network, addr string) (net.Addr, func(), error) {
	if err := d.Err(); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, nil, err
	}
	return ln.Addr(), d.Serve(ln), nil
}

// Serve serves the daemon on ln until stop is called. stop ends the
// daemon's scripted hangs (for good), closes ln, waits up to 5 s for
// running requests to end (then closes their connections) and returns when
// the server has stopped; a unix listener removes its socket file on close.
func (d *Daemon) Serve(ln net.Listener) (stop func()) {
	srv := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns ErrServerClosed after stop; any other error
		// means a broken listener, which clients see as a failed dial.
		_ = srv.Serve(ln)
	}()
	return func() {
		d.stopHangs()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
	}
}

// ListenUnix serves the daemon on a unix socket in a new temporary
// directory until the test ends, and returns the socket's path (use it as
// "unix://"+path).
func (d *Daemon) ListenUnix(t testing.TB) (sockPath string) {
	t.Helper()
	// t.TempDir() paths can exceed the 108-byte limit of a socket address
	// for long test names: fall back to a short directory under os.TempDir.
	dir := t.TempDir()
	sock := filepath.Join(dir, "docker.sock")
	if len(sock) >= 100 {
		short, err := os.MkdirTemp("", "et")
		if err != nil {
			t.Fatalf("enginetest: %v", err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(short) })
		sock = filepath.Join(short, "docker.sock")
	}
	_, stop, err := d.start("unix", sock)
	if err != nil {
		t.Fatalf("enginetest: listen on unix socket: %v", err)
	}
	t.Cleanup(stop)
	return sock
}

// ListenTCP serves the daemon on a loopback TCP port until the test ends,
// and returns its address, "127.0.0.1:<port>".
func (d *Daemon) ListenTCP(t testing.TB) (addr string) {
	t.Helper()
	a, stop, err := d.start("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("enginetest: listen on tcp: %v", err)
	}
	t.Cleanup(stop)
	return a.String()
}
