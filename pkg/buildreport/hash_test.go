//go:build unix

package buildreport

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A file listed as regular may be a FIFO by the time it is hashed: opening
// it must not wait for a writer.
func TestHashFileReplacedByFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "f"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "g"), []byte("g"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, g := File{Path: "f", Mode: 0o644}, File{Path: "g", Mode: 0o644}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h := hasher{dir: dir}
		h.hash(&f)
		h.hash(&g)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("hashing a FIFO listed as a file did not return")
	}
	if f.hashed || !g.hashed {
		t.Errorf("hashed: FIFO %v, file %v; want false, true", f.hashed, g.hashed)
	}
}
