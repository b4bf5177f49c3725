package engine

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func strp(s string) *string { return &s }

func TestBuildOptionsQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   BuildOptions
		want string
	}{
		{"defaults send only dockerfile and version", BuildOptions{Remove: true, NetworkMode: "default", Dockerfile: "Dockerfile"},
			"dockerfile=Dockerfile&version=1"},
		{"rm false", BuildOptions{Remove: false}, "rm=0&version=1"},
		{"tags in order and escaped", BuildOptions{Remove: true, Tags: []string{"local/b:1", "a"}},
			"t=local%2Fb%3A1&t=a&version=1"},
		{"json values as encoding/json writes them", BuildOptions{Remove: true,
			BuildArgs: map[string]*string{"B": nil, "A": strp("x y&z")},
			Labels:    map[string]string{"k": ""},
			Ulimits:   []Ulimit{{Name: "nofile", Hard: 2048, Soft: 1024}},
			CacheFrom: []string{"a", "b"}},
			"buildargs=%7B%22A%22%3A%22x+y%5Cu0026z%22%2C%22B%22%3Anull%7D&cachefrom=%5B%22a%22%2C%22b%22%5D&labels=%7B%22k%22%3A%22%22%7D&ulimits=%5B%7B%22Name%22%3A%22nofile%22%2C%22Hard%22%3A2048%2C%22Soft%22%3A1024%7D%5D&version=1"},
		{"isolation default omitted", BuildOptions{Remove: true, Isolation: "Default"}, "version=1"},
		{"isolation kept", BuildOptions{Remove: true, Isolation: "hyperv"}, "isolation=hyperv&version=1"},
		{"platform lower-cased", BuildOptions{Remove: true, Platform: "Linux/AMD64"}, "platform=linux%2Famd64&version=1"},
		{"numbers and flags", BuildOptions{Remove: true, Memory: 536870912, MemorySwap: -1, CPUShares: 2, SuppressOutput: true, NoCache: true, ForceRemove: true, PullParent: true, Squash: true, NetworkMode: "none", ExtraHosts: []string{"h:1.2.3.4"}, SecurityOpt: []string{"x"}},
			"cpushares=2&extrahosts=h%3A1.2.3.4&forcerm=1&memory=536870912&memswap=-1&networkmode=none&nocache=1&pull=1&q=1&securityopt=x&squash=1&version=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := tc.in.Query()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, q.Encode()); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegistryConfigHeader(t *testing.T) {
	t.Parallel()
	got, err := RegistryConfigHeader(nil)
	if err != nil || got != "e30=" {
		t.Errorf("empty = %q, %v; want e30=", got, err)
	}
	got, _ = RegistryConfigHeader(map[string]AuthConfig{"r.test": {Username: "u", Password: "~~~~~~~~", ServerAddress: "r.test"}})
	raw, err := base64.URLEncoding.DecodeString(got)
	if err != nil {
		t.Fatalf("not URL-safe base64: %v", err)
	}
	if want := `{"r.test":{"username":"u","password":"~~~~~~~~","serveraddress":"r.test"}}`; string(raw) != want {
		t.Errorf("decoded = %s, want %s", raw, want)
	}
	if !strings.ContainsAny(got, "-_") || strings.ContainsAny(got, "+/") {
		t.Errorf("header %q does not use the URL-safe alphabet", got)
	}
}

func TestVersionLess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"1.41", "1.50", true}, {"1.50", "1.41", false}, {"1.9", "1.10", true}, {"1.41", "1.41", false}, {"2.0", "1.99", false},
		{"1.24", "1.25", true}, {"1.38", "1.38", false}, {"1", "1.0", false}, {"1", "1.1", true}, {"1.x", "1.0", false},
	} {
		if got := VersionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("VersionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
