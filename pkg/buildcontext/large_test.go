//go:build linux

package buildcontext

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testfs"
)

// TestTarSparseFileOver8GiB sends a file one byte over 8 GiB, too large for
// the USTAR size field (11 octal digits, 8 GiB - 1): its header must carry a
// PAX size record and its content must arrive whole. The stream is read
// back as it comes, never stored.
func TestTarSparseFileOver8GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: streams 8 GiB")
	}
	t.Parallel()
	const size = 8<<30 + 1
	dir := makeTree(t, []string{"Dockerfile=FROM scratch\n", "z=after"})
	testfs.SparseFile(t, filepath.Join(dir, "huge"), size, '!')

	start := time.Now()
	tt, err := NewTar(dir, TarOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := tt.Stream(context.Background())
	defer rc.Close()
	if err := testfs.CheckSparseTar(rc, []string{"Dockerfile", "huge", "z"}, "huge", size, '!'); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.Copy(io.Discard, rc); err != nil || rest != 0 {
		t.Errorf("after the end-of-archive marker: %d bytes, %v", rest, err)
	}
	el := time.Since(start)
	t.Logf("streamed the 8 GiB file in %v (%.0f MB/s)", el.Round(time.Millisecond), size/el.Seconds()/1e6)
}

// TestTarSparseFileDataAndHoles sends a sparse file with data at its start,
// in its middle (across a read buffer's boundary) and at its end: the
// holes are skipped, not read, and the content must come out the same.
func TestTarSparseFileDataAndHoles(t *testing.T) {
	t.Parallel()
	dir := makeTree(t, []string{"Dockerfile=FROM scratch\n"})
	name := filepath.Join(dir, "sparse")
	const size = 16 << 20
	testfs.SparseFile(t, name, size, 'e')
	want := make([]byte, size)
	want[size-1] = 'e'
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 5<<20 - 3, 9 << 20} {
		chunk := bytes.Repeat([]byte("data"), 40000) // 160 kB, more than a read
		copy(want[off:], chunk)
		if _, err := f.WriteAt(chunk, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if !hasHoles(fi) {
		t.Fatal("the test file has no holes")
	}
	// The walk finds the hole after the first chunk (it ends at the file
	// system's next block boundary) and the data after it.
	if f, err = os.Open(name); err != nil {
		t.Fatal(err)
	}
	zeros, next, ok := nextData(f, 1<<20, size)
	f.Close()
	if !ok || zeros != 5<<20-3-(1<<20)-(5<<20-3)%4096 || next <= 5<<20 {
		t.Errorf("nextData(1 MiB) = %d zeros, data up to %d, %v; want the hole up to the block of 5 MiB - 3", zeros, next, ok)
	}
	got := streamChanging(t, dir, nil)
	if got.err != nil {
		t.Fatal(got.err)
	}
	if !bytes.Equal(got.files["sparse"], want) {
		t.Errorf("sparse: %d bytes sent, differing from the file's %d", len(got.files["sparse"]), len(want))
	}
}

// TestTarSparseFileShrinksWhileSent: a sparse file truncated once its
// header is written ends the stream with the shrink error (its holes are
// not read, so the end of the file must be checked another way).
func TestTarSparseFileShrinksWhileSent(t *testing.T) {
	t.Parallel()
	dir := makeTree(t, []string{"Dockerfile=FROM scratch\n"})
	testfs.SparseFile(t, filepath.Join(dir, "sparse"), 8<<20, 'e')
	got := streamChanging(t, dir, at(eventHeader, dir, "sparse", func(abs string) { must(t, os.Truncate(abs, 1<<20)) }))
	want := fmt.Sprintf("error checking context: file ('%s') shrank while it was being sent: it ended after %d of the %d bytes it had when listed", filepath.Join(dir, "sparse"), 1<<20, 8<<20)
	if got.err == nil || got.err.Error() != want {
		t.Errorf("stream ended with %v, want %q", got.err, want)
	}
}
