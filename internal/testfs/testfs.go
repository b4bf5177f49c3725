//go:build linux

// Package testfs makes special files for tests.
package testfs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// SparseFile makes name of the given size with only its last byte
// written, or skips the test when the file system cannot hold it sparse
// (it would then take the whole size on disk). A 64 MiB probe is made
// first: on a file system without holes, that is all the test writes.
func SparseFile(t testing.TB, name string, size int64, last byte) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(name), &st); err != nil {
		t.Fatal(err)
	}
	if free := int64(st.Bavail) * st.Bsize; free < 64<<20 {
		t.Skipf("only %d bytes free on the file system of %s: a sparse file test needs 64 MiB", free, name)
	}
	probe := name + ".probe"
	sparse := holey(t, probe, 64<<20, last)
	os.Remove(probe)
	if !sparse {
		t.Skipf("the file system of %s does not support sparse files: a 64 MiB file with one byte written takes its whole size", name)
	}
	if !holey(t, name, size, last) {
		t.Fatalf("%s: the probe was sparse but the %d-byte file is not", name, size)
	}
}

// holey writes size bytes (a hole, then last) and reports whether the
// file takes less than 1 MiB on disk; a file that does not is removed.
func holey(t testing.TB, name string, size int64, last byte) bool {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size - 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{last}, size-1); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size {
		t.Fatalf("%s: size %d, want %d", name, st.Size, size)
	}
	if st.Blocks*512 >= 1<<20 {
		os.Remove(name)
		return false
	}
	return true
}
