package testbed

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Need fails (under MYBUILD_E2E=1) or skips a test whose bed could not be
// set up (setupErr) or whose docker daemons do not answer.
func Need(t testing.TB, setupErr error, daemons ...string) {
	t.Helper()
	if setupErr != nil {
		Unavailable(t, "the test bed could not be set up: %v", setupErr)
	}
	for _, d := range daemons {
		if err := Ping(d); err != nil {
			Unavailable(t, "no daemon at %s (scripts/test-daemon.sh, scripts/test-engine29.sh): %v", d, err)
		}
	}
}

// SyncBuffer is a bytes.Buffer safe for a writer and a reader: a running
// client's output, read while it runs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ServeUnix serves h on a unix socket in a new short-named directory (a
// socket's path is limited to about 100 bytes) until the test ends, and
// returns its host, "unix://…".
func ServeUnix(t testing.TB, h http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "d.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}
