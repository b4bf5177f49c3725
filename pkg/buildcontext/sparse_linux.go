//go:build linux

package buildcontext

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// Whence values of lseek(2) that find a sparse file's data and holes.
const (
	seekData = 3
	seekHole = 4
)

// hasHoles reports whether a regular file takes less room on disk than
// its size: its holes can then be sent without reading them.
func hasHoles(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Blocks*512 < st.Size
}

// nextData looks at f from off on (up to size): zeros is the length of
// the hole at off (0 when data starts there), next the end of the data
// that follows. ok is false when the file system cannot tell; the file
// offset is left anywhere.
func nextData(f *os.File, off, size int64) (zeros, next int64, ok bool) {
	data, err := f.Seek(off, seekData)
	if errors.Is(err, syscall.ENXIO) {
		// No data from off to the end of the file: a hole up to its
		// current size (a file that shrank is found by the read after).
		fi, err := f.Stat()
		if err != nil {
			return 0, 0, false
		}
		end := min(fi.Size(), size)
		return max(end-off, 0), size, true
	}
	if err != nil || data < off {
		return 0, 0, false
	}
	zeros = min(data, size) - off
	hole, err := f.Seek(data, seekHole)
	if err != nil || hole <= data {
		return zeros, size, true
	}
	return zeros, min(hole, size), true
}
