package testbed

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TarOf is a tar of regular files (mode 0644, uid/gid 0, all with mtime
// rounded to the second), in the order given, else by name.
func TarOf(files map[string]string, mtime time.Time, order ...string) ([]byte, error) {
	if len(order) == 0 {
		for n := range files {
			order = append(order, n)
		}
		slices.Sort(order)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range order {
		body := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	err := tw.Close()
	return buf.Bytes(), err
}

// PathView is what a build left at p as compared: a directory as its
// tree's listing, a file by its ContentView, "missing" when nothing.
func PathView(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return "missing"
	}
	if !fi.IsDir() {
		b, _ := os.ReadFile(p)
		return ContentView(b)
	}
	tree, err := DirTree(p)
	if err != nil {
		return err.Error()
	}
	return tree.Listing()
}

// TarFileView is the tar file at p as its tree's listing.
func TarFileView(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	tree, err := TarTree(f)
	if err != nil {
		return err.Error()
	}
	return tree.Listing()
}

// WriteFiles writes name→content files under dir, making their
// directories; a name ending in "/" is an empty directory.
func WriteFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
