//go:build linux

package differential

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mybuild/mybuild/internal/testbed"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// nobody is the unprivileged user the permission cases run as under root.
const nobody = 65534

// chmodDirs gives the directories among nodes their modes once the tree
// is complete, and makes them removable again when the test ends (a
// directory without owner permissions stops os.RemoveAll of a non-root
// user).
func chmodDirs(t *testing.T, root string, nodes []node) {
	t.Helper()
	for _, n := range nodes {
		if n.kind != directory || !n.chmod {
			continue
		}
		p := filepath.Join(root, n.path)
		if err := os.Chmod(p, n.mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(p, 0o755) })
	}
}

// runAsNobody makes cmd run as nobody (uid and gid 65534, no
// supplementary groups, through setpriv) when tc is an unprivileged case
// and the tests run as root, for whom nothing is unreadable. Everything
// the clients use is handed to nobody: the case's tree with the modes it
// was given, the daemon's socket, the config and home directories, and
// the mybuild binary's directory.
func runAsNobody(t *testing.T, tc testCase, e env, cmd *testbed.Cmd) {
	t.Helper()
	if !tc.unprivileged || os.Geteuid() != 0 {
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatalf("running as root, the case needs setpriv (util-linux) to run the clients as uid %d: %v", nobody, err)
	}
	err = filepath.WalkDir(e.root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{e.root, filepath.Dir(mybuildPath)} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd.Args = append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--", cmd.Bin}, cmd.Args...)
	cmd.Bin = setpriv
}

// abortedUpload: docker finds a context problem in a pre-pass and never
// sends /build; mybuild finds it in its single walk, while streaming, and
// aborts the upload (README, deliberate differences). The aborted /build
// is dropped from the comparison once it is checked that the daemon did
// not get a complete tar.
var abortedUpload = normalizer{"upload aborted by a context error", func(t *testing.T, r *result, _ env) {
	if !strings.HasPrefix(r.Stderr, "error checking context: ") {
		return
	}
	var calls []enginetest.Call
	for _, c := range r.Calls {
		if c.Method != "POST" {
			calls = append(calls, c)
		}
	}
	for _, b := range r.Builds {
		if b.TarError == "" {
			t.Errorf("a context error, but the daemon received a complete tar of %d entries", len(b.Entries))
			return
		}
	}
	r.Calls, r.Builds = calls, nil
}}
