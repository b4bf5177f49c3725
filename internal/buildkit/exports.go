package buildkit

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client"
	"github.com/pkg/errors"
)

// createExports turns -o values into exporter entries as buildx does: the
// destination decides a directory, a file or stdout.
func (o *options) createExports() ([]client.ExportEntry, error) {
	var outs []client.ExportEntry
	stdoutUsed := false
	for _, e := range o.exports {
		out := client.ExportEntry{Type: e.Type, Attrs: maps.Clone(e.Attrs)}
		if out.Attrs == nil {
			out.Attrs = map[string]string{}
		}
		dest := e.Destination
		supportFile, supportDir := false, false
		switch out.Type {
		case client.ExporterLocal:
			supportDir = true
		case client.ExporterTar:
			supportFile = true
		case client.ExporterOCI, client.ExporterDocker:
			tar, err := strconv.ParseBool(out.Attrs["tar"])
			if err != nil {
				tar = true
			}
			supportFile, supportDir = tar, !tar
		case "registry":
			out.Type = client.ExporterImage
			out.Attrs["push"] = "true"
			if _, ok := out.Attrs["unpack"]; !ok {
				out.Attrs["unpack"] = "false"
			}
		}
		if supportDir {
			if dest == "" {
				return nil, errors.Errorf("dest is required for %s exporter", out.Type)
			}
			if dest == "-" {
				return nil, errors.Errorf("dest cannot be stdout for %s exporter", out.Type)
			}
			fi, err := os.Stat(dest)
			if err != nil && !os.IsNotExist(err) {
				return nil, errors.Wrapf(err, "invalid destination directory: %s", dest)
			}
			if err == nil && !fi.IsDir() {
				return nil, errors.Errorf("destination directory %s is a file", dest)
			}
			out.OutputDir = dest
		}
		if supportFile {
			if dest == "" && out.Type != client.ExporterDocker {
				dest = "-"
			}
			if dest == "-" {
				if stdoutUsed {
					return nil, errors.Errorf("multiple outputs configured to write to stdout")
				}
				if o.StdoutIsTerminal {
					return nil, errors.Errorf("dest file is required for %s exporter. refusing to write to console", out.Type)
				}
				w := nopWriteCloser{o.Stdout}
				out.Output = func(map[string]string) (io.WriteCloser, error) { return w, nil }
				stdoutUsed = true
			} else if dest != "" {
				fi, err := os.Stat(dest)
				if err != nil && !os.IsNotExist(err) {
					return nil, errors.Wrapf(err, "invalid destination file: %s", dest)
				}
				if err == nil && fi.IsDir() {
					return nil, errors.Errorf("destination file %s is a directory", dest)
				}
				path := dest
				out.Output = func(map[string]string) (io.WriteCloser, error) { return &lazyFile{path: path}, nil }
			}
		}
		outs = append(outs, out)
	}
	if o.Push {
		used := false
		for i := range outs {
			if outs[i].Type == client.ExporterImage {
				outs[i].Attrs["push"] = "true"
				if _, ok := outs[i].Attrs["unpack"]; !ok {
					outs[i].Attrs["unpack"] = "false"
				}
				used = true
			}
		}
		if !used {
			outs = append(outs, client.ExportEntry{Type: client.ExporterImage, Attrs: map[string]string{"push": "true", "unpack": "false"}})
		}
	}
	if o.Load {
		used := false
		for _, e := range outs {
			if _, hasDest := e.Attrs["dest"]; e.Type == client.ExporterDocker && !hasDest {
				used = true
				break
			}
		}
		if !used {
			outs = append(outs, client.ExportEntry{Type: client.ExporterDocker, Attrs: map[string]string{}})
		}
	}
	return outs, nil
}

// checkLocalDelete refuses mode=delete outside the working directory
// unless --allow=buildx.local.delete.
func (o *options) checkLocalDelete(outs []client.ExportEntry) error {
	for _, e := range outs {
		if e.Type != client.ExporterLocal {
			continue
		}
		mode, err := client.ParseLocalExporterMode(e.Attrs["mode"])
		if err != nil {
			return err
		}
		if mode != client.LocalExporterModeDelete || o.localDelete {
			continue
		}
		if !insideWorkdir(e.OutputDir) {
			return errors.Errorf("local output mode=delete for destination %q requires --allow=%s", e.OutputDir, entitlementLocalDelete)
		}
	}
	return nil
}

func insideWorkdir(dest string) bool {
	wd, err := os.Getwd()
	if err != nil {
		return false
	}
	wd, err = filepath.EvalSymlinks(wd)
	if err != nil {
		return false
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return false
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil {
		return false
	}
	return rel != "." && rel != ".." && !filepath.IsAbs(rel) && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// lazyFile creates its file on the first write, so a build that fails
// before exporting leaves nothing behind; a write that fails (a full disk)
// removes the file, so no half-written tar is left at dest.
type lazyFile struct {
	path string
	f    *os.File
	err  error
}

func (w *lazyFile) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.f == nil {
		if err := os.MkdirAll(filepath.Dir(w.path), 0o755); err != nil {
			return 0, err
		}
		f, err := os.Create(w.path)
		if err != nil {
			return 0, err
		}
		w.f = f
	}
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
		w.f.Close()
		os.Remove(w.path)
		w.f = nil
	}
	return n, err
}

func (w *lazyFile) Close() error {
	if w.f != nil {
		return w.f.Close()
	}
	return nil
}

// localOutputFull: when a local output's receiver fails to write, the
// daemon answers with the receiver's error or with a bare EOF, whichever
// it sees first. A bare EOF while a local destination's disk is full is
// told as what it was.
func localOutputFull(err error, exports []client.ExportEntry) error {
	if err == nil || !strings.HasSuffix(err.Error(), io.EOF.Error()) {
		return err
	}
	for _, e := range exports {
		if e.OutputDir != "" && diskFull(e.OutputDir) {
			return &explained{err, fmt.Sprintf("%v (writing the local output to %s: no space left on device)", err, e.OutputDir)}
		}
	}
	return err
}
