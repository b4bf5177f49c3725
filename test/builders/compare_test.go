//go:build linux

package builders

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mybuild/mybuild/internal/testbed"
)

// registry reads what a push left in a registry of the bed.
type registry struct{ testbed.RegClient }

func (r registry) get(repo, ref string) ([]byte, string, error) {
	return r.Get(repo, "manifests", ref)
}

func (r registry) blob(repo, dgst string) ([]byte, error) {
	b, _, err := r.Get(repo, "blobs", dgst)
	return b, err
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
	r, err := bed.docker("-H", daemon, "image", "inspect", "-f",
		"{{.Architecture}} {{.Os}} {{json .Config.Cmd}} {{json .Config.Env}} {{json .Config.Labels}} {{.Config.WorkingDir}} {{len .RootFS.Layers}}", ref)
	if err != nil {
		return "not there: " + strings.TrimSpace(r.Stdout+r.Stderr)
	}
	return strings.TrimSpace(r.Stdout)
}
