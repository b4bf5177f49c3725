//go:build !linux

package buildcontext

import (
	"io/fs"
	"os"
)

func hasHoles(fs.FileInfo) bool { return false }

func nextData(*os.File, int64, int64) (int64, int64, bool) { return 0, 0, false }
