//go:build linux

// Package testfs makes special files for tests.
package testfs

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// CheckSparseTar reads a tar stream to its end, storing nothing, and
// checks that it holds exactly the entries names, among them sparse: size
// bytes, given in a PAX size record, of zeros ending with last (what
// SparseFile makes).
func CheckSparseTar(r io.Reader, names []string, sparse string, size int64, last byte) error {
	tr := tar.NewReader(r)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the tar after %q: %w", got, err)
		}
		got = append(got, h.Name)
		if h.Name != sparse {
			continue
		}
		if h.Size != size || h.PAXRecords["size"] != strconv.FormatInt(size, 10) || h.Format != tar.FormatPAX {
			return fmt.Errorf("%s: size %d, PAX records %q, format %v; want %d in a PAX size record", h.Name, h.Size, h.PAXRecords, h.Format, size)
		}
		if err := checkZerosThen(tr, size, last); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	if !slices.Equal(got, names) {
		return fmt.Errorf("entries %q, want %q", got, names)
	}
	return nil
}

func checkZerosThen(r io.Reader, size int64, last byte) error {
	zero := make([]byte, 1<<20)
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, err := io.ReadFull(r, buf)
		chunk := buf[:m]
		if n+int64(m) == size {
			if m == 0 || chunk[m-1] != last {
				return errors.New("the last byte is not the one written")
			}
			chunk = chunk[:m-1]
		}
		if !bytes.Equal(chunk, zero[:len(chunk)]) {
			return fmt.Errorf("a non-zero byte in the hole after offset %d", n)
		}
		n += int64(m)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading after %d bytes: %w", n, err)
		}
	}
	if n != size {
		return fmt.Errorf("%d bytes, want %d", n, size)
	}
	return nil
}
