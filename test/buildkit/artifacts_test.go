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
			t.add(rel, fmt.Sprintf("%s %d %s", fi.Mode(), len(b), contentView(b)))
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
			t.add(name, fmt.Sprintf("%s %d %s", fs.FileMode(h.Mode), len(b), contentView(b)))
		}
	}
}

// contentView is a file's content as compared: JSON with digests and
// times masked, a compressed layer as the listing of its tar, small text as
// is, anything else by its hash.
func contentView(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) == nil {
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

// timeKey names the JSON fields that hold a time.
var timeKey = regexp.MustCompile(`(?i)created|time|date|finished|started|lastTagTime`)

// sizeKey names the JSON fields whose value follows a compression or a
// time stamp in what they measure.
var sizeKey = regexp.MustCompile(`^(size|Size|VirtualSize)$`)

// maskJSON is a JSON value as compared: digests, times and sizes masked.
func maskJSON(v any) string {
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, vv := range x {
				switch {
				case timeKey.MatchString(k):
					out[k] = "TIME"
				case sizeKey.MatchString(k):
					out[k] = "SIZE"
				default:
					out[k] = walk(vv)
				}
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i := range x {
				out[i] = walk(x[i])
			}
			return out
		case string:
			// A JSON document in a string (the metadata file's descriptor).
			var inner any
			if strings.HasPrefix(x, "{") && json.Unmarshal([]byte(x), &inner) == nil {
				return walk(inner)
			}
			return mask(x)
		}
		return v
	}
	b, _ := json.Marshal(walk(v))
	return string(b)
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
	return mask(s)
}
