package buildkit

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"

	"github.com/mybuild/mybuild/internal/build"
)

// The observer sees what a filtered walk (filesync's, around the mount)
// visits, less what the ignore file excludes, once.
func TestObserveContext(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		".dockerignore": "b.txt\nskip\n", "a.txt": "a", "b.txt": "b", "d/e.txt": "e", "skip/x": "x",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	o := &options{Request: &Request{contextSeen: &atomic.Bool{}, OnContextFile: func(f build.ContextFile) { got = append(got, f.Path) }}}
	so := &client.SolveOpt{LocalMounts: map[string]fsutil.FS{"context": base}}
	if err := o.observeContext(so, dir); err != nil {
		t.Fatal(err)
	}
	filtered, err := fsutil.NewFilterFS(so.LocalMounts["context"], &fsutil.FilterOpt{ExcludePatterns: []string{"b.txt", "skip"}})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	walk := func() {
		if err := filtered.Walk(context.Background(), "", func(p string, _ fs.DirEntry, err error) error {
			sent = append(sent, p)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	walk()
	walk() // a second walk is not observed
	want := []string{".dockerignore", "a.txt", "d", "d/e.txt"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(append(want, want...), sent); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}
