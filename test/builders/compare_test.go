//go:build linux

package builders

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

func unixDialer(sock string) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}
}

var (
	reDigest  = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	reHex     = regexp.MustCompile(`\b[0-9a-f]{12,64}\b`)
	reTime    = regexp.MustCompile(`\b\d+(\.\d+)?s\b`)
	reSize    = regexp.MustCompile(`\b\d+(\.\d+)? ?([kMG]i?)?B\b`)
	reRef     = regexp.MustCompile(`\b[a-z0-9]{25}\b`)
	reVertex  = regexp.MustCompile(`^#(\d+) (.*)$`)
	reLog     = regexp.MustCompile(`^\d+\.\d+ (.*)$`)
	reLogTime = regexp.MustCompile(`^\d+\.\d+ `)
)

// mask replaces what differs from run to run: digests, IDs, times, sizes,
// build refs, temporary paths.
func mask(s string) string {
	s = reDigest.ReplaceAllString(s, "sha256:D")
	s = reRef.ReplaceAllString(s, "REF")
	s = reHex.ReplaceAllString(s, "HEX")
	s = reSize.ReplaceAllString(s, "SIZE")
	s = reTime.ReplaceAllString(s, "T")
	return s
}

// vertex is one step of the plain progress: its name, how it ended, what
// it logged and the statuses it showed (each once, as last shown).
type vertex struct {
	Name     string
	End      string
	Logs     []string
	Statuses []string
}

// progressView is plain progress read as vertices, in name order (nodes
// and concurrent steps interleave differently each run), and the text
// around them.
type progressView struct {
	Before   []string
	Vertices []vertex
	After    []string
}

func parseProgress(stderr string) progressView {
	var pv progressView
	byIndex := map[string]*vertex{}
	var order []string
	inVertices := false
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		m := reVertex.FindStringSubmatch(line)
		if m == nil || m[1] == "0" {
			if strings.TrimSpace(line) == "" {
				continue
			}
			line = reLogTime.ReplaceAllString(mask(line), "T ")
			if !inVertices {
				pv.Before = append(pv.Before, line)
			} else {
				pv.After = append(pv.After, line)
			}
			continue
		}
		inVertices = true
		pv.After = nil // text between vertices is the error summary of one
		idx, rest := m[1], m[2]
		v, ok := byIndex[idx]
		if !ok {
			v = &vertex{Name: mask(rest)}
			byIndex[idx] = v
			order = append(order, idx)
			continue
		}
		switch {
		case rest == "..." || mask(rest) == v.Name: // a vertex resumed: its name again
		case rest == "CACHED" || rest == "CANCELED" || strings.HasPrefix(rest, "DONE"):
			v.End = strings.Fields(rest)[0]
		case strings.HasPrefix(rest, "ERROR"):
			v.End = mask(rest)
		case reLog.MatchString(rest):
			v.Logs = append(v.Logs, mask(reLog.FindStringSubmatch(rest)[1]))
		default:
			st := strings.TrimSuffix(mask(rest), " done")
			st = strings.TrimSuffix(st, " T")
			if !slices.Contains(v.Statuses, st) {
				v.Statuses = append(v.Statuses, st)
			}
		}
	}
	for _, idx := range order {
		v := *byIndex[idx]
		// A status shown before its size was known ("transferring
		// context:") is a timing: only the last form counts.
		v.Statuses = slices.DeleteFunc(v.Statuses, func(s string) bool {
			return slices.ContainsFunc(v.Statuses, func(o string) bool { return o != s && strings.HasPrefix(o, s) })
		})
		slices.Sort(v.Statuses)
		pv.Vertices = append(pv.Vertices, v)
	}
	slices.SortStableFunc(pv.Vertices, func(a, b vertex) int { return strings.Compare(a.Name, b.Name) })
	return pv
}

// fileTree is a directory as names and contents (a tar's entries alike),
// with what differs from run to run masked.
func fileTree(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[mask(rel)+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		addEntry(out, mask(rel), contentView(b))
		return nil
	})
	return out, err
}

func tarTree(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(io.LimitReader(tr, 1<<20))
		addEntry(out, mask(h.Name), contentView(b))
	}
}

// addEntry adds a file; files whose masked names are alike (blobs named by
// digest) are kept together, their contents in order.
func addEntry(tree map[string]string, name, content string) {
	if old, ok := tree[name]; ok {
		parts := append(strings.Split(old, "\n\x00"), content)
		slices.Sort(parts)
		content = strings.Join(parts, "\n\x00")
	}
	tree[name] = content
}

// contentView is a file's content as compared: JSON with its digests and
// times masked, small text as is, anything else by size.
func contentView(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) == nil {
		return maskJSON(v)
	}
	if len(b) < 256 && bytes.IndexByte(b, 0) < 0 {
		return mask(string(b))
	}
	return fmt.Sprintf("<%d bytes>", len(b))
}

var timeKey = regexp.MustCompile(`(?i)created|time|date|finished|started`)

func maskJSON(v any) string {
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, vv := range x {
				if timeKey.MatchString(k) {
					out[k] = "TIME"
					continue
				}
				out[k] = walk(vv)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i := range x {
				out[i] = walk(x[i])
			}
			return out
		case string:
			return mask(x)
		case float64:
			return "N" // sizes
		}
		return v
	}
	w := walk(v)
	// A cache config lists its layers and records in digest order: with
	// the digests masked, only the set counts.
	if m, ok := w.(map[string]any); ok && m["records"] != nil {
		for _, k := range []string{"layers", "records"} {
			if list, ok := m[k].([]any); ok {
				slices.SortFunc(list, func(a, b any) int {
					x, _ := json.Marshal(a)
					y, _ := json.Marshal(b)
					return strings.Compare(string(x), string(y))
				})
			}
		}
	}
	b, _ := json.Marshal(w)
	return string(b)
}

// registry reads what a push left in a registry of the bed.
type registry struct {
	addr       string
	user, pass string
}

func (r registry) get(repo, ref string) ([]byte, string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.addr+"/v2/"+repo+"/manifests/"+ref, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s/manifests/%s: %s", repo, ref, resp.Status)
	}
	return b, resp.Header.Get("Content-Type"), nil
}

func (r registry) blob(repo, dgst string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.addr+"/v2/"+repo+"/blobs/"+dgst, nil)
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// image is a pushed image as compared: its index's entries (platform, media
// type, what an attestation is attached to) and each image's config.
func (r registry) image(repo, tag string) (string, error) {
	b, mt, err := r.get(repo, tag)
	if err != nil {
		return "", err
	}
	var doc struct {
		Manifests []struct {
			MediaType   string
			Digest      string
			Platform    *struct{ Architecture, OS string }
			Annotations map[string]string
		}
		Config struct{ Digest string }
		Layers []struct{ MediaType string }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", err
	}
	var lines []string
	if len(doc.Manifests) == 0 {
		cfg, err := r.blob(repo, doc.Config.Digest)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s layers=%d config=%s", mt, len(doc.Layers), configView(cfg)), nil
	}
	for _, m := range doc.Manifests {
		line := m.MediaType
		if m.Platform != nil {
			line += " " + m.Platform.OS + "/" + m.Platform.Architecture
		}
		if t := m.Annotations["vnd.docker.reference.type"]; t != "" {
			line += " " + t
		} else if sub, _, err := r.get(repo, m.Digest); err == nil {
			var man struct {
				Config struct{ Digest string }
				Layers []struct{}
			}
			if json.Unmarshal(sub, &man) == nil {
				cfg, _ := r.blob(repo, man.Config.Digest)
				line += fmt.Sprintf(" layers=%d config=%s", len(man.Layers), configView(cfg))
			}
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return mt + "\n" + strings.Join(lines, "\n"), nil
}

// configView is an image config without its history and times.
func configView(b []byte) string {
	var c struct {
		Architecture, OS, Variant string
		Config                    map[string]any `json:"config"`
	}
	_ = json.Unmarshal(b, &c)
	cb, _ := json.Marshal(c)
	return mask(string(cb))
}

// loaded is an image in a docker daemon as compared.
func loaded(daemon, ref string) string {
	cmd := exec.Command(dockerPath, "-H", daemon, "image", "inspect", "-f",
		"{{.Architecture}} {{.Os}} {{json .Config.Cmd}} {{json .Config.Env}} {{json .Config.Labels}} {{.Config.WorkingDir}} {{len .RootFS.Layers}}", ref)
	cmd.Env = bed.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "not there: " + strings.TrimSpace(string(out))
	}
	return strings.TrimSpace(string(out))
}
