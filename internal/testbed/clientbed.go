package testbed

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// BuildxConfig makes dir a DOCKER_CONFIG whose `docker build` is buildx's
// (the plugin linked in cli-plugins), with configJSON as its config.json.
func BuildxConfig(dir, configJSON string) error {
	if err := os.MkdirAll(filepath.Join(dir, "cli-plugins"), 0o700); err != nil {
		return err
	}
	if err := os.Symlink(Buildx(), filepath.Join(dir, "cli-plugins", "docker-buildx")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), []byte(configJSON), 0o600)
}

// Need fails (under MYBUILD_E2E=1) or skips a test whose bed could not be
// set up (setupErr) or whose docker daemons do not answer.
func Need(t testing.TB, setupErr error, daemons ...string) {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("MYBUILD_E2E") == "1" {
		fail = t.Fatalf
	}
	if setupErr != nil {
		fail("the test bed could not be set up: %v", setupErr)
	}
	for _, d := range daemons {
		if err := Ping(d); err != nil {
			fail("no daemon at %s (scripts/test-daemon.sh, scripts/test-engine29.sh): %v", d, err)
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
