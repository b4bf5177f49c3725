package testbed

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFiles(dir, map[string]string{"a/b.txt": "b\n", "empty/": ""}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "a", "b.txt"))
	if err != nil || string(b) != "b\n" {
		t.Errorf("a/b.txt = %q, %v; want \"b\\n\"", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty/ is not a directory: %v", err)
	}
}

func TestTarOf(t *testing.T) {
	mtime := time.Unix(1600000000, 0)
	files := map[string]string{"b": "2", "a": "1"}
	for _, tc := range []struct {
		name  string
		order []string
		want  []string
	}{
		{name: "by name", want: []string{"a 1", "b 2"}},
		{name: "in the order given", order: []string{"b", "a"}, want: []string{"b 2", "a 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := TarOf(files, mtime, tc.order...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			tr := tar.NewReader(bytes.NewReader(b))
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(tr)
				if h.Mode != 0o644 || h.Uid != 0 || !h.ModTime.Equal(mtime) {
					t.Errorf("%s: mode %o uid %d mtime %v", h.Name, h.Mode, h.Uid, h.ModTime)
				}
				got = append(got, h.Name+" "+string(body))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}
