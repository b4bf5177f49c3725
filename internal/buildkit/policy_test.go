package buildkit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/buildx/policy"
	"github.com/docker/buildx/util/buildflags"
	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/client/llb"
	"github.com/sirupsen/logrus"
)

func TestPolicySets(t *testing.T) {
	def := policySet{files: []policyFile{{name: "Dockerfile.rego", optional: true}}, contextDir: "ctx"}
	yes, no := true, false
	warn := logrus.WarnLevel
	file := func(n string) policy.File { return policy.File{Filename: n} }
	tests := []struct {
		name    string
		def     policySet
		configs []buildflags.PolicyConfig
		want    []policySet
		wantErr string
	}{
		{name: "the Dockerfile's alone", def: def, want: []policySet{def}},
		{name: "none at all", def: policySet{contextDir: "ctx"}},
		{name: "a file after the Dockerfile's", def: def, configs: []buildflags.PolicyConfig{{Files: []policy.File{file("a.rego")}}},
			want: []policySet{def, {files: []policyFile{{name: "a.rego"}}, contextDir: "ctx"}}},
		{name: "reset drops the Dockerfile's", def: def, configs: []buildflags.PolicyConfig{{Reset: true, Files: []policy.File{file("a.rego"), file("b.rego")}}},
			want: []policySet{{files: []policyFile{{name: "a.rego"}, {name: "b.rego"}}, contextDir: "ctx"}}},
		{name: "options alone set the policy before", def: def, configs: []buildflags.PolicyConfig{{Strict: &yes, LogLevel: &warn}},
			want: []policySet{{files: def.files, contextDir: "ctx", strict: true, logLevel: &warn}}},
		{name: "options before any policy go to the next", def: policySet{contextDir: "ctx"},
			configs: []buildflags.PolicyConfig{{Strict: &yes}, {Files: []policy.File{file("a.rego")}}},
			want:    []policySet{{files: []policyFile{{name: "a.rego"}}, contextDir: "ctx", strict: true}}},
		{name: "a policy's own options win", def: policySet{contextDir: "ctx"},
			configs: []buildflags.PolicyConfig{{Strict: &yes}, {Strict: &no, Files: []policy.File{file("a.rego")}}},
			want:    []policySet{{files: []policyFile{{name: "a.rego"}}, contextDir: "ctx"}}},
		{name: "disabled", def: def, configs: []buildflags.PolicyConfig{{Disabled: true}}},
		{name: "disabled with strict", def: def, configs: []buildflags.PolicyConfig{{Disabled: true, Strict: &yes}},
			wantErr: "disabled policy cannot be combined with other policy flags"},
		{name: "disabled beside another flag", def: def, configs: []buildflags.PolicyConfig{{Disabled: true}, {Files: []policy.File{file("a.rego")}}},
			wantErr: "disabled policy cannot be combined with other policy flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policySets(tt.def, tt.configs)
			if tt.wantErr != "" || err != nil {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(policySet{}, policyFile{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile.rego"), []byte("package docker\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git := llb.Git("https://example.invalid/r.git", "main")
	tests := []struct {
		name                string
		contextState        *llb.State
		dfDir, dfName, want string
		data                string
	}{
		{name: "beside the Dockerfile, read now", dfDir: dir, dfName: "Dockerfile", want: filepath.Join(dir, "Dockerfile.rego"), data: "package docker\n"},
		{name: "not there: no policy", dfDir: dir, dfName: "build.Dockerfile"},
		{name: "a remote context: looked for there", contextState: &git, dfName: "Dockerfile", want: "Dockerfile.rego"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := defaultPolicy(dir, tt.contextState, tt.dfDir, tt.dfName)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(set.files) != 0 {
					t.Fatalf("files %+v, want none", set.files)
				}
				return
			}
			if len(set.files) != 1 || set.files[0].name != tt.want || string(set.files[0].data) != tt.data || !set.files[0].optional {
				t.Fatalf("files %+v, want optional %s holding %q", set.files, tt.want, tt.data)
			}
		})
	}
}

// TestLoadPolicies reads policy files from a local context and the current
// directory; a name cannot climb out of either.
func TestLoadPolicies(t *testing.T) {
	root := t.TempDir()
	ctxDir := filepath.Join(root, "ctx")
	for name, body := range map[string]string{"ctx/p.rego": "in the context", "ctx/sub/q.rego": "in sub", "outside.rego": "outside"} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(root)
	tests := []struct {
		name     string
		file     policyFile
		want     string
		wantErr  string
		contextD string
	}{
		{name: "relative to the context", file: policyFile{name: "p.rego"}, want: "in the context"},
		{name: "in a subdirectory", file: policyFile{name: "sub/q.rego"}, want: "in sub"},
		{name: "absolute, inside the context", file: policyFile{name: filepath.Join(ctxDir, "p.rego")}, want: "in the context"},
		{name: "cwd://", file: policyFile{name: "cwd://outside.rego"}, want: "outside"},
		{name: "missing", file: policyFile{name: "nosuch.rego"}, wantErr: "policy file nosuch.rego not found"},
		{name: "missing and optional", file: policyFile{name: "nosuch.rego", optional: true}},
		{name: "climbing out of the context", file: policyFile{name: "../outside.rego"}, wantErr: "failed to stat policy file ../outside.rego: "},
		{name: "no context to look in", file: policyFile{name: "p.rego"}, contextD: "-", wantErr: "policy file p.rego not found"},
		{name: "empty cwd:// name", file: policyFile{name: "cwd://"}, wantErr: `failed to stat policy file cwd://: invalid policy filename "cwd://"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := policySet{files: []policyFile{tt.file}, contextDir: ctxDir}
			if tt.contextD == "-" {
				set.contextDir = ""
			}
			got, err := loadPolicies(context.Background(), []policySet{set}, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("loaded %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 || len(got[0].files) != 1 || string(got[0].files[0].Data) != tt.want {
				t.Fatalf("loaded %+v, want %q", got, tt.want)
			}
		})
	}
}
