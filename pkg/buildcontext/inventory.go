package buildcontext

import (
	"archive/tar"
	"context"
	"path"
	"sort"
	"strings"
)

// Item is one entry of the context as it would be sent.
type Item struct {
	Path string `json:"path"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	Link string `json:"link,omitempty"`
}

// DirUsage is the file data below one directory.
type DirUsage struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Files int    `json:"files"`
}

// Inventory is what a build would send, without sending it.
type Inventory struct {
	Items []Item `json:"entries"`
	// Dirs holds every directory, largest first.
	Dirs  []DirUsage `json:"directories"`
	Files int        `json:"files"`
	Size  int64      `json:"size"`
}

// TakeInventory walks t like Stream, reading no file contents.
func TakeInventory(ctx context.Context, t *Tar) (*Inventory, error) {
	inv := &Inventory{Items: []Item{}, Dirs: []DirUsage{}}
	dirs := map[string]*DirUsage{}
	err := t.List(ctx, func(h *tar.Header) {
		name := strings.TrimSuffix(h.Name, "/")
		it := Item{Path: name, Type: TypeName(h.Typeflag), Size: h.Size, Link: h.Linkname}
		inv.Items = append(inv.Items, it)
		if h.Typeflag == tar.TypeDir {
			if dirs[name] == nil {
				dirs[name] = &DirUsage{Path: name}
			}
			return
		}
		inv.Files++
		inv.Size += h.Size
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			u := dirs[d]
			if u == nil {
				// An excluded directory with re-included children has no
				// entry of its own; count it all the same.
				u = &DirUsage{Path: d}
				dirs[d] = u
			}
			u.Size += h.Size
			u.Files++
		}
	})
	if err != nil {
		return nil, err
	}
	for _, u := range dirs {
		inv.Dirs = append(inv.Dirs, *u)
	}
	sort.Slice(inv.Dirs, func(i, j int) bool {
		if inv.Dirs[i].Size != inv.Dirs[j].Size {
			return inv.Dirs[i].Size > inv.Dirs[j].Size
		}
		return inv.Dirs[i].Path < inv.Dirs[j].Path
	})
	return inv, nil
}

// ReadNames lists a directory in the order docker walks it (byte-wise).
func ReadNames(dir string) ([]string, error) { return readNames(dir) }

// TypeName is how an Item names a tar entry type ("file", "dir", …).
func TypeName(t byte) string {
	switch t {
	case tar.TypeReg:
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeFifo:
		return "fifo"
	case tar.TypeChar:
		return "char-device"
	case tar.TypeBlock:
		return "block-device"
	}
	return "other"
}
