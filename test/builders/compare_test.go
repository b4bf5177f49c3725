//go:build linux

package builders

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

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
	return testbed.Mask(string(cb))
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
