//go:build !unix

package buildcontext

import "io/fs"

const (
	openNoFollow  = 0
	openNonBlock  = 0
	openDirectory = 0
)

func inode(fs.FileInfo) (uint64, uint64) { return 0, 0 }

func isSymlinkLoop(error) bool { return false }
