//go:build linux

package buildkit

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mybuild/mybuild/internal/testbed"
)

// regGet reads a manifest or a blob of the bed's registry.
func regGet(repo, kind, ref string) ([]byte, error) {
	b, _, err := testbed.RegClient{Addr: bed.reg.Addr}.Get(repo, kind, ref)
	return b, err
}

// pushedView is what a push left in the registry: the manifest (an index
// with each of its manifests), the configs and the layers by content.
func pushedView(ref string) string {
	repo, tag, _ := strings.Cut(strings.TrimPrefix(ref, bed.reg.Addr+"/"), ":")
	var b strings.Builder
	var walk func(digest string, depth int)
	walk = func(digest string, depth int) {
		m, err := regGet(repo, "manifests", digest)
		if err != nil {
			fmt.Fprintf(&b, "%s%v\n", strings.Repeat("  ", depth), err)
			return
		}
		var doc struct {
			Manifests []struct{ Digest string }
			Config    struct{ Digest string }
			Layers    []struct{ Digest string }
		}
		_ = json.Unmarshal(m, &doc)
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), testbed.ContentView(m))
		for _, sub := range doc.Manifests {
			walk(sub.Digest, depth+1)
		}
		blobs := doc.Layers
		if doc.Config.Digest != "" {
			blobs = append([]struct{ Digest string }{doc.Config}, blobs...)
		}
		for _, l := range blobs {
			data, err := regGet(repo, "blobs", l.Digest)
			if err != nil {
				fmt.Fprintf(&b, "%s  %v\n", strings.Repeat("  ", depth), err)
				continue
			}
			fmt.Fprintf(&b, "%s  %s\n", strings.Repeat("  ", depth), testbed.ContentView(data))
		}
	}
	walk(tag, 0)
	return b.String()
}
