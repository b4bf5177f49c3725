package remotecontext

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/pkg/buildcontext"
)

// TestResolveGitDockerfile checks -f handling for a Git context as docker
// 28.2.2 does it (observed with the binary): relative to the context
// directory, which is the "#ref:subdir" subdirectory when one is given.
func TestResolveGitDockerfile(t *testing.T) {
	t.Parallel()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(root, "sub", "Dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(root, "sub", "Dockerfile.prod"), "FROM scratch\n")
	writeFile(t, filepath.Join(root, "lower", "dockerfile"), "FROM scratch\n")
	writeFile(t, filepath.Join(root, "empty", ".keep"), "")
	outside := filepath.Join(t.TempDir(), "Dockerfile")
	writeFile(t, outside, "FROM scratch\n")
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(root, "esc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("Dockerfile.prod", filepath.Join(root, "sub", "Dockerfile.link")); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "sub")
	tests := []struct {
		name, dir, f string
		want         *buildcontext.Local
		wantErr      string
	}{
		{name: "default", dir: root, want: &buildcontext.Local{Dir: root, Dockerfile: "Dockerfile"}},
		{name: "relative to the root", dir: root, f: "sub/Dockerfile.prod", want: &buildcontext.Local{Dir: root, Dockerfile: "sub/Dockerfile.prod"}},
		{name: "relative to the subdir", dir: sub, f: "Dockerfile.prod", want: &buildcontext.Local{Dir: sub, Dockerfile: "Dockerfile.prod"}},
		{name: "symlink sends the target", dir: sub, f: "Dockerfile.link", want: &buildcontext.Local{Dir: sub, Dockerfile: "Dockerfile.prod"}},
		{name: "lowercase dockerfile", dir: filepath.Join(root, "lower"), want: &buildcontext.Local{Dir: filepath.Join(root, "lower"), Dockerfile: "dockerfile"}},
		{name: "stdin", dir: sub, f: "-", want: &buildcontext.Local{Dir: sub, DockerfileFromStdin: true}},
		{name: "parent of the subdir", dir: sub, f: "../Dockerfile", wantErr: "the Dockerfile (../Dockerfile) must be within the build context"},
		{name: "absolute outside", dir: root, f: outside, wantErr: "the Dockerfile (" + outside + ") must be within the build context"},
		{name: "symlink outside", dir: root, f: "esc/Dockerfile", wantErr: "the Dockerfile (esc/Dockerfile) must be within the build context"},
		{name: "missing", dir: root, f: "nope", wantErr: "unable to evaluate symlinks in Dockerfile path: lstat " + root + "/nope: no such file or directory"},
		{name: "no default", dir: filepath.Join(root, "empty"), wantErr: "unable to evaluate symlinks in Dockerfile path: lstat " + root + "/empty/Dockerfile: no such file or directory"},
	}
	for _, tt := range tests {
		got, err := ResolveGitDockerfile(tt.dir, tt.f)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: error = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestFollowSymlinkInScope(t *testing.T) {
	t.Parallel()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "a", "b", "f"), "")
	links := map[string]string{
		"abs":      "/a",
		"up":       "../../..",
		"rel":      "a/b",
		"chain":    "rel",
		"loop1":    "loop2",
		"loop2":    "loop1",
		"a/parent": "..",
		"a/etc":    "/etc",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path    string // relative to root
		want    string // relative to root
		wantErr string
	}{
		{path: ".", want: "."},
		{path: "a/b", want: "a/b"},
		{path: "abs/b", want: "a/b"},
		{path: "up", want: "."},
		{path: "up/a", want: "a"},
		{path: "chain/f", want: "a/b/f"},
		{path: "a/parent/a", want: "a"},
		{path: "a/etc/passwd", want: "etc/passwd"},
		{path: "missing/x", want: "missing/x"},
		{path: "a/../a/b", want: "a/b"},
		{path: "../x", wantErr: "evalSymlinksInScope: " + filepath.Dir(root) + "/x is not in " + root},
		{path: "loop1", wantErr: "evalSymlinksInScope: too many links in " + root + "/loop1"},
	}
	for _, tt := range tests {
		got, err := followSymlinkInScope(filepath.Join(root, tt.path), root)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: error = %v, want %q", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if want := filepath.Join(root, tt.want); got != want {
			t.Errorf("%s: got %s, want %s", tt.path, got, want)
		}
	}
	// A sibling sharing the root's name as a prefix is not inside it.
	if _, err := followSymlinkInScope(root+"x/y", root); err == nil || err.Error() != "evalSymlinksInScope: x/y is not in "+root {
		t.Errorf("sibling: error = %v", err)
	}
}
