package buildreport

import (
	"path"
	"sort"
	"strings"
)

// ChangeKind says how a context file changed since the last build.
type ChangeKind string

const (
	Added    ChangeKind = "added"
	Removed  ChangeKind = "removed"
	Content  ChangeKind = "changed"  // its contents (or type, or link target)
	Metadata ChangeKind = "metadata" // mtime, mode or owner only
)

// Change is one file that changed.
type Change struct {
	Path string     `json:"path"`
	Kind ChangeKind `json:"change"`
	Size int64      `json:"size"`
	// Unverified: size and mtime moved but the last build kept no hash
	// to compare the contents with, so it is counted as changed.
	Unverified bool `json:"unverified,omitempty"`
}

// FileDiff is what changed in the context between two builds.
type FileDiff struct {
	Added, Removed, Content, Metadata int
	Changes                           []Change // walk order
}

func (d *FileDiff) add(c Change) {
	switch c.Kind {
	case Added:
		d.Added++
	case Removed:
		d.Removed++
	case Content:
		d.Content++
	case Metadata:
		d.Metadata++
	}
	d.Changes = append(d.Changes, c)
}

// Total is the number of files that changed in any way.
func (d *FileDiff) Total() int { return d.Added + d.Removed + d.Content + d.Metadata }

// Largest are the n largest changes (added, removed and content first,
// then metadata), biggest first, and how many are left out.
func Largest(cs []Change, n int) ([]Change, int) {
	s := append(make([]Change, 0, len(cs)), cs...)
	sort.SliceStable(s, func(i, j int) bool {
		mi, mj := s[i].Kind == Metadata, s[j].Kind == Metadata
		if mi != mj {
			return mj
		}
		if s[i].Size != s[j].Size {
			return s[i].Size > s[j].Size
		}
		return s[i].Path < s[j].Path
	})
	if len(s) <= n {
		return s, 0
	}
	return s[:n], len(s) - n
}

// readBy are the changes under one of the COPY/ADD sources (clean paths
// relative to the context, "." for all of it, wildcards allowed).
func readBy(cs []Change, sources []string) []Change {
	var out []Change
	for _, c := range cs {
		for _, src := range sources {
			if underSource(src, c.Path) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// underSource says whether p is src or inside what src matches.
func underSource(src, p string) bool {
	if src == "." || src == "" {
		return true
	}
	for q := p; ; {
		if q == src {
			return true
		}
		if ok, _ := path.Match(src, q); ok {
			return true
		}
		i := strings.LastIndexByte(q, '/')
		if i < 0 {
			return false
		}
		q = q[:i]
	}
}
