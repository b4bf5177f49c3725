//go:build unix

package buildcontext

import (
	"errors"
	"io/fs"
	"syscall"
)

// Flags for opening a listed file or directory: no symlink following, no
// waiting on a FIFO that took its place, no opening a non-directory as one.
const (
	openNoFollow  = syscall.O_NOFOLLOW
	openNonBlock  = syscall.O_NONBLOCK
	openDirectory = syscall.O_DIRECTORY
)

func inode(fi fs.FileInfo) (ino uint64, nlink uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino), uint64(st.Nlink)
	}
	return 0, 0
}

// isSymlinkLoop is open's answer for a symlink with O_NOFOLLOW.
func isSymlinkLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }
