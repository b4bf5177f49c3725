//go:build unix

package buildkit

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// diskFull says the filesystem that holds path (or its nearest existing
// parent) has no block left for an unprivileged writer.
func diskFull(path string) bool {
	for p := path; ; p = filepath.Dir(p) {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err == nil {
			return st.Bavail == 0
		} else if !os.IsNotExist(err) || filepath.Dir(p) == p {
			return false
		}
	}
}
