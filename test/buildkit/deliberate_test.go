//go:build linux

package buildkit

import (
	"testing"
)

// classicWhenUnanswered is a deliberate difference (README: the daemon's
// Builder-Version decides): with DOCKER_BUILDKIT unset, a daemon that does
// not answer advertises no BuildKit, so mybuild takes the classic builder
// and says so as the classic docker build does; docker with buildx
// installed goes to buildx whatever the daemon.
func classicWhenUnanswered(t *testing.T, ref, cand run) {
	const (
		buildx  = "ERROR: failed to connect to the docker API at unix://ROOT/nosuch.sock; check if the path is correct and if the daemon is running: dial unix ROOT/nosuch.sock: connect: no such file or directory\n"
		classic = "Cannot connect to the Docker daemon at unix://ROOT/nosuch.sock. Is the docker daemon running?\n"
	)
	if ref.Code != 1 || ref.Stderr != buildx {
		t.Errorf("docker: exit %d, stderr %q, want 1 and %q", ref.Code, ref.Stderr, buildx)
	}
	if cand.Code != 1 || cand.Stderr != classic {
		t.Errorf("mybuild: exit %d, stderr %q, want 1 and %q", cand.Code, cand.Stderr, classic)
	}
}
