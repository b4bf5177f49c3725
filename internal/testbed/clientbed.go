package testbed

import (
	"bytes"
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
