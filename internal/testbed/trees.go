package testbed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// A Tree is files by name, each "mode size content" as compared: what
// differs from run to run (digests in names and contents, times) masked.
type Tree map[string]string

// Listing is a tree as sorted lines (cmp.Diff of a map prints in an order
// of its own).
func (t Tree) Listing() string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, t[n])
	}
	return b.String()
}

// add adds an entry; entries whose masked names meet (blobs named by their
// digest) are kept together, their views sorted.
func (t Tree) add(name, view string) {
	name = Mask(name)
	if old, ok := t[name]; ok {
		parts := append(strings.Split(old, " | "), view)
		slices.Sort(parts)
		view = strings.Join(parts, " | ")
	}
	t[name] = view
}

// DirTree reads a directory written by -o type=local.
func DirTree(root string) (Tree, error) {
	t := Tree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			t.add(rel+"/", fi.Mode().String())
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			t.add(rel, "-> "+target)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			t.add(rel, fileView(fi.Mode(), b))
		}
		return nil
	})
	return t, err
}

// TarTree reads a tar (a type=tar output, an OCI or docker archive, an
// exported container).
func TarTree(r io.Reader) (Tree, error) {
	t := Tree{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return t, err
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch h.Typeflag {
		case tar.TypeDir:
			t.add(strings.TrimSuffix(name, "/")+"/", fs.FileMode(h.Mode).String())
		case tar.TypeSymlink, tar.TypeLink:
			t.add(name, "-> "+h.Linkname)
		default:
			b, err := io.ReadAll(tr)
			if err != nil {
				return t, err
			}
			t.add(name, fileView(fs.FileMode(h.Mode), b))
		}
	}
}

// fileView is a file as compared: its mode, its size (not for JSON, whose
// masked times and digests count in it) and its content.
func fileView(mode fs.FileMode, b []byte) string {
	v := ContentView(b)
	if strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
		return mode.String() + " " + v
	}
	return fmt.Sprintf("%s %d %s", mode, len(b), v)
}

// ContentView is a file's content as compared: JSON with digests and
// times masked, a compressed layer as the listing of its tar, small text as
// is, anything else by its hash.
func ContentView(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) == nil {
		if m, ok := v.(map[string]any); ok && m["records"] != nil && m["layers"] != nil {
			return cacheConfigView(m)
		}
		return MaskJSON(v)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if t, err := TarTree(zr); err == nil {
				return "{layer: " + strings.ReplaceAll(strings.TrimSpace(t.Listing()), "\n", "; ") + "}"
			}
		}
	}
	if len(b) < 512 && bytes.IndexByte(b, 0) < 0 {
		return fmt.Sprintf("%q", Mask(string(b)))
	}
	if t, err := TarTree(bytes.NewReader(b)); err == nil && len(t) > 0 {
		return "{tar: " + strings.ReplaceAll(strings.TrimSpace(t.Listing()), "\n", "; ") + "}"
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b))[:19]
}

// cacheConfigView is a BuildKit cache config by its numbers of layers and
// records: they are listed, and linked by index, in digest order.
func cacheConfigView(m map[string]any) string {
	layers, _ := m["layers"].([]any)
	records, _ := m["records"].([]any)
	return fmt.Sprintf("{cache config: %d layers, %d records}", len(layers), len(records))
}

// timeKey names the JSON fields that hold a time.
var timeKey = regexp.MustCompile(`(?i)created|time|date|finished|started|lastTagTime`)

// sizeKey names the JSON fields whose value follows a compression or a
// time stamp in what they measure.
var sizeKey = regexp.MustCompile(`^(size|Size|VirtualSize)$`)

// MaskJSON is a JSON value as compared: digests, times and sizes masked,
// in keys too (values whose keys meet are kept as a sorted list), and
// base64 blobs (an LLB definition naming its session) by their presence.
func MaskJSON(v any) string {
	b, _ := json.Marshal(MaskValue(v))
	return string(b)
}

var reBase64 = regexp.MustCompile(`^[A-Za-z0-9+/]{60,}={0,2}$`)

// MaskValue is v as MaskJSON compares it.
func MaskValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		met := map[string][]any{}
		for k, vv := range x {
			switch {
			case timeKey.MatchString(k):
				vv = "TIME"
			case sizeKey.MatchString(k):
				vv = "SIZE"
			case k == "sysUsage": // the machine's load while it built
				vv = "USAGE"
			default:
				vv = MaskValue(vv)
			}
			met[Mask(k)] = append(met[Mask(k)], vv)
		}
		out := map[string]any{}
		for k, vs := range met {
			if len(vs) == 1 {
				out[k] = vs[0]
				continue
			}
			slices.SortFunc(vs, func(a, b any) int {
				x, _ := json.Marshal(a)
				y, _ := json.Marshal(b)
				return strings.Compare(string(x), string(y))
			})
			out[k] = vs
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = MaskValue(x[i])
		}
		return out
	case string:
		// A JSON document in a string (the metadata file's descriptor).
		var inner any
		if strings.HasPrefix(x, "{") && json.Unmarshal([]byte(x), &inner) == nil {
			return MaskValue(inner)
		}
		if reBase64.MatchString(x) {
			return "BASE64"
		}
		return Mask(x)
	}
	return v
}
