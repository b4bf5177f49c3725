//go:build linux

package buildkit

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
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// A tree is files by name, each "mode size content" as compared: what
// differs from run to run (digests in names and contents, times) masked.
type tree map[string]string

// listing is a tree as sorted lines (cmp.Diff of a map prints in an order
// of its own).
func (t tree) listing() string {
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
func (t tree) add(name, view string) {
	name = mask(name)
	if old, ok := t[name]; ok {
		parts := append(strings.Split(old, " | "), view)
		slices.Sort(parts)
		view = strings.Join(parts, " | ")
	}
	t[name] = view
}

// dirTree reads a directory written by -o type=local.
func dirTree(root string) (tree, error) {
	t := tree{}
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

// tarTree reads a tar (a type=tar output, an OCI or docker archive, an
// exported container).
func tarTree(r io.Reader) (tree, error) {
	t := tree{}
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
	v := contentView(b)
	if strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
		return mode.String() + " " + v
	}
	return fmt.Sprintf("%s %d %s", mode, len(b), v)
}

// contentView is a file's content as compared: JSON with digests and
// times masked, a compressed layer as the listing of its tar, small text as
// is, anything else by its hash.
func contentView(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) == nil {
		if m, ok := v.(map[string]any); ok && m["records"] != nil && m["layers"] != nil {
			return cacheConfigView(m)
		}
		return maskJSON(v)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if t, err := tarTree(zr); err == nil {
				return "{layer: " + strings.ReplaceAll(strings.TrimSpace(t.listing()), "\n", "; ") + "}"
			}
		}
	}
	if len(b) < 512 && bytes.IndexByte(b, 0) < 0 {
		return fmt.Sprintf("%q", mask(string(b)))
	}
	if t, err := tarTree(bytes.NewReader(b)); err == nil && len(t) > 0 {
		return "{tar: " + strings.ReplaceAll(strings.TrimSpace(t.listing()), "\n", "; ") + "}"
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

// maskJSON is a JSON value as compared: digests, times and sizes masked,
// in keys too (values whose keys meet are kept as a sorted list), and
// base64 blobs (an LLB definition naming its session) by their presence.
func maskJSON(v any) string {
	b, _ := json.Marshal(maskValue(v))
	return string(b)
}

var reBase64 = regexp.MustCompile(`^[A-Za-z0-9+/]{60,}={0,2}$`)

func maskValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		met := map[string][]any{}
		for k, vv := range x {
			switch {
			case timeKey.MatchString(k):
				vv = "TIME"
			case sizeKey.MatchString(k):
				vv = "SIZE"
			default:
				vv = maskValue(vv)
			}
			met[mask(k)] = append(met[mask(k)], vv)
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
			out[i] = maskValue(x[i])
		}
		return out
	case string:
		// A JSON document in a string (the metadata file's descriptor).
		var inner any
		if strings.HasPrefix(x, "{") && json.Unmarshal([]byte(x), &inner) == nil {
			return maskValue(inner)
		}
		if reBase64.MatchString(x) {
			return "BASE64"
		}
		return mask(x)
	}
	return v
}

// docker runs the reference client on e (not compared: to look).
func docker(e engine, args ...string) (string, error) {
	cmd := exec.Command(dockerPath, args...)
	cmd.Env = bed.env(e)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// imageView is an image in e's store as compared: its inspect (IDs,
// digests, times masked) and its file tree (docker create, then export:
// docker run does not work on Engine 29 here).
func imageView(e engine, ref string) (view, id string) {
	out, err := docker(e, "image", "inspect", ref)
	if err != nil {
		return "no image " + ref, ""
	}
	var imgs []map[string]any
	if err := json.Unmarshal([]byte(out), &imgs); err != nil || len(imgs) != 1 {
		return "bad inspect: " + out, ""
	}
	img := imgs[0]
	id, _ = img["Id"].(string)
	// What names the image or where the daemon keeps it; the config
	// and the layers are what was built.
	for _, k := range []string{"Id", "RepoTags", "RepoDigests", "Metadata", "GraphDriver", "Descriptor", "Manifests", "Parent"} {
		delete(img, k)
	}
	cid, err := docker(e, "create", ref, "true")
	if err != nil {
		return maskJSON(img) + "\n" + err.Error(), id
	}
	cid = strings.TrimSpace(cid)
	defer func() { _, _ = docker(e, "rm", "-f", cid) }()
	cmd := exec.Command(dockerPath, "export", cid)
	cmd.Env = bed.env(e)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err.Error(), id
	}
	if err := cmd.Start(); err != nil {
		return err.Error(), id
	}
	files, terr := tarTree(stdout)
	_, _ = io.Copy(io.Discard, stdout)
	if err := errors.Join(terr, cmd.Wait()); err != nil {
		return err.Error(), id
	}
	// A container's own files (hosts, resolv.conf) are docker's.
	for _, n := range []string{".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab", "dev/", "proc/", "sys/", "dev/console", "dev/pts/", "dev/shm/"} {
		delete(files, n)
	}
	return maskJSON(img) + "\n" + files.listing(), id
}

// outputsView is everything a run left in its output directory: local
// directories, tars (OCI and docker archives by content), iidfiles,
// metadata files.
func outputsView(dir string) string {
	entries, _ := os.ReadDir(dir)
	var b strings.Builder
	for _, en := range entries {
		p := filepath.Join(dir, en.Name())
		fmt.Fprintf(&b, "== %s\n", en.Name())
		if en.IsDir() {
			t, err := dirTree(p)
			if err != nil {
				fmt.Fprintf(&b, "%v\n", err)
			}
			b.WriteString(t.listing())
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(&b, "%v\n", err)
			continue
		}
		if t, err := tarTree(bytes.NewReader(data)); err == nil && len(t) > 0 {
			b.WriteString(t.listing())
			continue
		}
		b.WriteString(contentView(data) + "\n")
	}
	return b.String()
}

// stdoutView is stdout as compared: a tar (-o -) by its entries, text
// masked.
func stdoutView(s string) string {
	if len(s) >= 512 {
		if t, err := tarTree(strings.NewReader(s)); err == nil && len(t) > 0 {
			return "tar:\n" + t.listing()
		}
	}
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.MarshalIndent(maskValue(v), "", "  ")
		return "json:\n" + string(b)
	}
	return mask(s)
}
