package buildxstore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A store as buildx v0.38.2 wrote it (docker buildx create --name rb
// --driver remote tcp://127.0.0.1:1240; docker buildx use rb).
const rb = `{"Name":"rb","Driver":"remote","Nodes":[{"Name":"rb0","Endpoint":"tcp://127.0.0.1:1240","Platforms":[{"architecture":"arm64","os":"linux"}],"DriverOpts":{"cacert":"/ca.pem"},"Flags":null,"Files":null}],"Dynamic":false}`

func TestNodeGroup(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "instances/rb", rb)
	s := Open(dir)
	ng, err := s.NodeGroup("RB")
	if err != nil {
		t.Fatal(err)
	}
	want := &NodeGroup{Name: "rb", Driver: "remote", Nodes: []Node{{Name: "rb0", Endpoint: "tcp://127.0.0.1:1240", DriverOpts: map[string]string{"cacert": "/ca.pem"}}}}
	want.Nodes[0].Platforms = ng.Nodes[0].Platforms
	if diff := cmp.Diff(want, ng); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if p := ng.Nodes[0].Platforms; len(p) != 1 || p[0].Architecture != "arm64" || p[0].OS != "linux" {
		t.Errorf("platforms = %+v", p)
	}
	if _, err := s.NodeGroup("nosuch"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing builder: %v, want os.ErrNotExist", err)
	}
	var ie *InvalidNameError
	if _, err := s.NodeGroup("-x"); !errors.As(err, &ie) {
		t.Errorf("invalid name: %v", err)
	}
}

func TestCurrent(t *testing.T) {
	const key = "unix:///var/run/docker.sock"
	tests := []struct {
		name     string
		current  string
		defaults map[string]string // key → builder
		want     string            // "" is none
	}{
		{name: "nothing set"},
		{name: "used for this endpoint", current: `{"Key":"` + key + `","Name":"rb","Global":false}`, want: "rb"},
		{name: "used for another endpoint", current: `{"Key":"other","Name":"rb","Global":false}`},
		{name: "used globally", current: `{"Key":"other","Name":"rb","Global":true}`, want: "rb"},
		{name: "used but removed", current: `{"Key":"` + key + `","Name":"gone","Global":false}`},
		{name: "default for this endpoint", current: `{"Key":"other","Name":"","Global":false}`, defaults: map[string]string{key: "rb"}, want: "rb"},
		{name: "default for another endpoint", defaults: map[string]string{"other": "rb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "instances/rb", rb)
			if tt.current != "" {
				write(t, dir, "current", tt.current)
			}
			for k, v := range tt.defaults {
				write(t, dir, "defaults/"+digest.FromString(k).Encoded()[:20], v)
			}
			ng, err := Open(dir).Current(key)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if ng != nil {
				got = ng.Name
			}
			if got != tt.want {
				t.Errorf("current = %q, want %q", got, tt.want)
			}
		})
	}
}
