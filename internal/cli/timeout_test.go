package cli

import (
	"fmt"
	"testing"
	"time"

	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestPingTimeoutIsTheWholeWait: against a daemon that never answers its
// pings, MYBUILD_TIMEOUT bounds the whole wait (the start-up ping and the
// one before the request share it), so that the time waited is the time
// the message names. Below the start-up ping's own 2 s, above it, and at it.
func TestPingTimeoutIsTheWholeWait(t *testing.T) {
	for _, timeout := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		t.Run(timeout.String(), func(t *testing.T) {
			host := serve(t, enginetest.New(enginetest.WithHang()), "unix")
			r := runInProcess(t, map[string]string{"DOCKER_HOST": host, "MYBUILD_TIMEOUT": timeout.String()}, buildContext(t, 0))
			want := fmt.Sprintf("the Docker daemon at %s did not answer /_ping within %s (set MYBUILD_TIMEOUT to wait longer, 0 to wait forever)\n", host, timeout)
			if r.code != 1 || r.stderr != want {
				t.Errorf("got %s\nwant exit 1 and stderr %q", r, want)
			}
			// A second full wait would take at least timeout + 1 s.
			if limit := timeout + 750*time.Millisecond; r.elapsed < timeout || r.elapsed > limit {
				t.Errorf("gave up after %s, want between %s and %s", r.elapsed, timeout, limit)
			}
		})
	}
}
