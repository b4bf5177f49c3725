//go:build linux

package buildkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mybuild/mybuild/internal/testbed"
)

// docker runs the reference client on e (not compared: to look).
func docker(e engine, args ...string) (string, error) {
	r, err := testbed.Run(testbed.Cmd{Bin: testbed.Docker.Bin, Args: args, Env: bed.env(e)})
	if err == nil && r.Code != 0 {
		err = fmt.Errorf("docker %s: exit status %d: %s", strings.Join(args, " "), r.Code, strings.TrimSpace(r.Stderr))
	}
	return r.Stdout, err
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
		return testbed.MaskJSON(img) + "\n" + err.Error(), id
	}
	cid = strings.TrimSpace(cid)
	defer func() { _, _ = docker(e, "rm", "-f", cid) }()
	cmd := exec.Command(testbed.Docker.Bin, "export", cid)
	cmd.Env = bed.env(e)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err.Error(), id
	}
	if err := cmd.Start(); err != nil {
		return err.Error(), id
	}
	files, terr := testbed.TarTree(stdout)
	_, _ = io.Copy(io.Discard, stdout)
	if err := errors.Join(terr, cmd.Wait()); err != nil {
		return err.Error(), id
	}
	// A container's own files (hosts, resolv.conf) are docker's.
	for _, n := range []string{".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab", "dev/", "proc/", "sys/", "dev/console", "dev/pts/", "dev/shm/"} {
		delete(files, n)
	}
	return testbed.MaskJSON(img) + "\n" + files.Listing(), id
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
			t, err := testbed.DirTree(p)
			if err != nil {
				fmt.Fprintf(&b, "%v\n", err)
			}
			b.WriteString(t.Listing())
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(&b, "%v\n", err)
			continue
		}
		if t, err := testbed.TarTree(bytes.NewReader(data)); err == nil && len(t) > 0 {
			b.WriteString(t.Listing())
			continue
		}
		b.WriteString(testbed.ContentView(data) + "\n")
	}
	return b.String()
}

// stdoutView is stdout as compared: a tar (-o -) by its entries, text
// masked.
func stdoutView(s string) string {
	if len(s) >= 512 {
		if t, err := testbed.TarTree(strings.NewReader(s)); err == nil && len(t) > 0 {
			return "tar:\n" + t.Listing()
		}
	}
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.MarshalIndent(testbed.MaskValue(v), "", "  ")
		return "json:\n" + string(b)
	}
	return testbed.Mask(s)
}
