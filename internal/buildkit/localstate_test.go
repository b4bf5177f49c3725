package buildkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLocalStateOf(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, contextPath, dockerfile string
		want                          localState
		ok                            bool
	}{
		{"dir", "c", "", localState{Target: "default", LocalPath: filepath.Join(wd, "c")}, true},
		{"dir and -f", ".", "x/Dockerfile", localState{Target: "default", LocalPath: wd, DockerfilePath: filepath.Join(wd, "x/Dockerfile")}, true},
		{"Dockerfile from stdin", ".", "-", localState{Target: "default", LocalPath: wd, DockerfilePath: "-"}, true},
		{"context from stdin", "-", "sub/Dockerfile", localState{Target: "default", LocalPath: "-", DockerfilePath: "sub/Dockerfile"}, true},
		{"git context", "https://github.com/a/b.git#main", "Dockerfile.x", localState{Target: "default", LocalPath: "https://github.com/a/b.git#main", DockerfilePath: "Dockerfile.x"}, true},
		{"nothing", "", "", localState{Target: "default"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := localStateOf(tc.contextPath, tc.dockerfile)
			if diff := cmp.Diff(tc.want, got); diff != "" || ok != tc.ok {
				t.Errorf("localStateOf(%q, %q) = %v (-want +got):\n%s", tc.contextPath, tc.dockerfile, ok, diff)
			}
		})
	}
}
