//go:build linux

package buildkit

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeLayout makes an OCI layout holding one image (one layer: b.txt),
// tagged latest in its index, and returns the image manifest's digest.
func writeLayout(t *testing.T, dir string) string {
	t.Helper()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(b []byte) string {
		sum := fmt.Sprintf("%x", sha256.Sum256(b))
		if err := os.WriteFile(filepath.Join(blobs, sum), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return "sha256:" + sum
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	content := []byte("from the layout\n")
	_ = tw.WriteHeader(&tar.Header{Name: "b.txt", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(content)
	_ = tw.Close()
	layerDigest := put(layer.Bytes())
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }
	config := js(map[string]any{"architecture": "amd64", "os": "linux", "config": map[string]any{"Env": []string{"FROM_LAYOUT=1"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDigest}}})
	manifest := js(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": layer.Len()}}})
	md := put(manifest)
	index := js(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(manifest),
			"annotations": map[string]string{"org.opencontainers.image.ref.name": "latest"}}}})
	for name, b := range map[string][]byte{"index.json": index, "oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return md
}

// --build-context name=oci-layout://…, sent through the session's content
// store, and the layouts it cannot be built from. On Engine 20.10, whose
// BuildKit has no named contexts, both clients fail alike.
func TestOCILayoutContext(t *testing.T) {
	layout := filepath.Join(bed.dir, "layout")
	md := writeLayout(t, layout)
	noIndex := filepath.Join(bed.dir, "noindex")
	writeLayout(t, noIndex)
	if err := os.Remove(filepath.Join(noIndex, "index.json")); err != nil {
		t.Fatal(err)
	}
	other := "@sha256:" + fmt.Sprintf("%064x", 1)
	df := files("Dockerfile", "FROM base\nCOPY a.txt /\n", "a.txt", "a\n")
	ctx := func(ref string) []string {
		return []string{"--build-context", "base=oci-layout://" + ref, "-o", "type=local,dest={out}/d", "."}
	}
	cases := []bkCase{
		{name: "with the digest", args: ctx(layout + "@" + md)},
		{name: "without a digest: latest", args: ctx(layout)},
		{name: "by tag", args: ctx(layout + ":latest")},
		{name: "a tag not in the index: its only image", args: ctx(layout + ":v1")},
		{name: "a digest not in the layout", args: ctx(layout + other)},
		{name: "no layout at the path", args: ctx(filepath.Join(bed.dir, "nosuch"))},
		{name: "no layout at the path, with a digest", args: ctx("{root}/nosuch" + other)},
		{name: "no index.json", args: ctx(noIndex)},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			need(t, e)
			for _, tc := range cases {
				tc.files = df
				t.Run(tc.name, func(t *testing.T) { compare(t, e, tc) })
			}
		})
	}
}
