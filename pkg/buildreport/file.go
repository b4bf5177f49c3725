package buildreport

import (
	"archive/tar"
	"io/fs"
	"path"
	"strings"
)

// File is one entry of the context as a builder's walk meets it.
type File struct {
	Path    string // slash-separated, relative to the context root
	Size    int64
	Mode    fs.FileMode
	ModTime int64 // Unix nanoseconds
	UID     uint32
	GID     uint32

	hash   uint64 // content hash, when hashed
	hashed bool
}

// FromTarHeader is the File of a header of the classic builder's tar.
func FromTarHeader(h *tar.Header) File {
	return File{
		Path:    strings.TrimSuffix(path.Clean(h.Name), "/"),
		Size:    h.Size,
		Mode:    h.FileInfo().Mode(),
		ModTime: h.ModTime.UnixNano(),
		UID:     uint32(h.Uid),
		GID:     uint32(h.Gid),
	}
}

// regular says whether the entry has contents worth hashing.
func (f *File) regular() bool { return f.Mode.IsRegular() }

// sameMeta compares what is not content.
func (f *File) sameMeta(o *File) bool {
	return f.Mode == o.Mode && f.ModTime == o.ModTime && f.UID == o.UID && f.GID == o.GID
}

// walkLess orders paths as a depth-first walk of sorted directories
// meets them: "a", "a/b", "a-b" ('/' before any other byte).
func walkLess(a, b string) bool { return walkCompare(a, b) < 0 }

func walkCompare(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}
