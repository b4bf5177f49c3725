//go:build linux

package differential

import (
	"strings"
	"testing"
)

// excludedDirNotRead: an unreadable directory that .dockerignore excludes
// (and no exception reaches into) fails docker's pre-check, which lists it
// before deciding to skip it (docker/for-linux#380); mybuild does not read
// it and sends the rest, as docker would with the directory readable.
func excludedDirNotRead(t *testing.T, docker, mybuild result) {
	t.Helper()
	if docker.Code != 1 || !strings.Contains(docker.Stderr, "error checking context: can't stat '") {
		t.Errorf("harness: docker did not fail on the unreadable excluded directory: exit %d\n%s", docker.Code, docker.Stderr)
	}
	if mybuild.Code != 0 || mybuild.Stderr != "" {
		t.Errorf("mybuild: exit %d, stderr %q; want success and nothing on stderr", mybuild.Code, mybuild.Stderr)
	}
	if len(mybuild.Builds) != 1 {
		t.Fatalf("mybuild sent %d build requests, want 1", len(mybuild.Builds))
	}
	b := mybuild.Builds[0]
	var names []string
	for _, e := range b.Entries {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, " "); got != ".dockerignore Dockerfile" || b.TarError != "" {
		t.Errorf("mybuild sent %q (tar error %q), want .dockerignore and Dockerfile, a complete tar", got, b.TarError)
	}
}
