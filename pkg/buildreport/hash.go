package buildreport

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cespare/xxhash/v2"

	"github.com/mybuild/mybuild/pkg/buildcontext"
)

// eagerHashLimit: with no earlier record every regular file up to this
// size is hashed, so that the next build can tell a touch from an edit;
// bigger ones are hashed only once their size or mtime moves.
const eagerHashLimit = 1 << 20

// hasher hashes context files, reusing one buffer.
type hasher struct {
	dir string
	buf []byte
}

// hash sets f's hash from its contents (a symlink: its target). A file
// that cannot be read is left unhashed.
func (h *hasher) hash(f *File) {
	if h.dir == "" {
		return
	}
	name := filepath.Join(h.dir, filepath.FromSlash(f.Path))
	d := xxhash.New()
	switch {
	case f.Mode&fs.ModeSymlink != 0:
		t, err := os.Readlink(name)
		if err != nil {
			return
		}
		d.WriteString(t)
	case f.Mode.IsRegular():
		r, _, err := buildcontext.OpenListed(name)
		if err != nil {
			return
		}
		if h.buf == nil {
			h.buf = make([]byte, 64<<10)
		}
		_, err = io.CopyBuffer(d, r, h.buf)
		r.Close()
		if err != nil {
			return
		}
	default:
		return
	}
	f.hash, f.hashed = d.Sum64(), true
}
