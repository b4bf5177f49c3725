//go:build unix

package contextadvice

import (
	"io/fs"
	"syscall"
)

// inode is the file's inode and link count (hard links are sent once).
func inode(fi fs.FileInfo) (ino uint64, nlink uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino), uint64(st.Nlink)
	}
	return 0, 0
}
