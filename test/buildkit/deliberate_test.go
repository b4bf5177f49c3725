//go:build linux

package buildkit

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/testbed"
)

// policyProbe is a deliberate difference on Engine 20.10: buildx v0.38
// looks for a Dockerfile.rego policy file in a remote (git or http)
// context by loading that context once more, which an old BuildKit shows
// as its steps again, and a context it cannot load fails as "failed to
// stat policy file Dockerfile.rego: …". mybuild has no policy files
// (--policy is refused) and loads the context once: the same steps, once,
// the same outputs, and the same failure under the frontend's words.
func policyProbe(t *testing.T, ref, cand run) {
	if ref.Code != cand.Code {
		t.Errorf("exit code: docker %d, mybuild %d", ref.Code, cand.Code)
	}
	if diff := cmp.Diff(ref.outputs, cand.outputs); diff != "" {
		t.Errorf("outputs (-docker +mybuild):\n%s", diff)
	}
	names := func(p testbed.Progress) []string {
		var n []string
		for _, v := range p.Vertices {
			n = append(n, v.Name)
		}
		return n
	}
	if diff := cmp.Diff(names(ref.progress), names(cand.progress)); diff != "" {
		t.Errorf("steps (-docker +mybuild):\n%s", diff)
	}
	for _, v := range cand.progress.Vertices {
		if v.Count != 1 {
			t.Errorf("mybuild shows %q %d times, want once", v.Name, v.Count)
		}
	}
	if ref.Code == 0 {
		return
	}
	refErr, candErr := errorLine(ref.progress), errorLine(cand.progress)
	const probe = "ERROR: failed to build: failed to stat policy file Dockerfile.rego: "
	cause := func(s string) string { return s[strings.LastIndex(s, ": failed to load cache key: ")+1:] }
	if !strings.HasPrefix(refErr, probe) || !strings.HasPrefix(candErr, "ERROR: failed to build: failed to solve: ") || cause(refErr) != cause(candErr) {
		t.Errorf("errors:\ndocker:  %s\nmybuild: %s", refErr, candErr)
	}
}

func errorLine(p testbed.Progress) string {
	i := slices.IndexFunc(p.After, func(l string) bool { return strings.HasPrefix(l, "ERROR: ") })
	if i < 0 {
		return ""
	}
	return p.After[i]
}

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
