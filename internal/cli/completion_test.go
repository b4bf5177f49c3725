package cli

import (
	"bytes"
	"context"
	"flag"
	goio "io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

var updateCompletions = flag.Bool("update-completions", false, "rewrite completions/")

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	cmd := NewRootCmd(&Factory{IO: io, Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false }}, nil)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	code := exitCode(cmd.Execute(), errOut)
	return out.String(), errOut.String(), code
}

// TestCompletionsAreFresh fails when completions/ no longer matches what
// the command tree generates (go test ./internal/cli -update-completions).
func TestCompletionsAreFresh(t *testing.T) {
	for _, shell := range Shells {
		got, stderr, code := run(t, "--completion", shell)
		if code != 0 {
			t.Fatalf("--completion %s: exit %d: %s", shell, code, stderr)
		}
		path := filepath.Join("..", "..", "completions", "mybuild."+shell)
		if *updateCompletions {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/cli -update-completions)", err)
		}
		if !bytes.Equal(want, []byte(got)) {
			t.Errorf("%s is stale: run go test ./internal/cli -update-completions", path)
		}
	}
}

func TestFlagValueCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "--network", ""}, []string{"default", "none", "host", "bridge"}},
		{[]string{"__complete", "--platform", "linux/a"}, []string{"linux/amd64", "linux/arm64"}},
		{[]string{"__complete", "--list-context="}, []string{"plain", "json"}},
	} {
		out, _, _ := run(t, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("%v: completions %q lack %q", tc.args, out, w)
			}
		}
	}
	// -f completes file names: the directive leaves it to the shell.
	if out, _, _ := run(t, "__complete", "-f", ""); !strings.HasSuffix(strings.TrimSpace(out), ":0") {
		t.Errorf("-f completion directive = %q, want :0 (files)", out)
	}
}

func TestHelpShowsSections(t *testing.T) {
	out, _, code := run(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Usage:  mybuild [OPTIONS] PATH | URL | -\n", "\nOptions:\n", "  -t, --tag list ", "mybuild options (not in docker build):", "--list-context", "Global options", "  -H, --host list"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestStoreCompletion: --context completes from docker's context store,
// with each docker host as the description, and the --builder hook reads
// buildx's store.
func TestStoreCompletion(t *testing.T) {
	cfg := t.TempDir()
	for p, c := range map[string]string{
		"contexts/meta/a1/meta.json": `{"Name":"prod","Endpoints":{"docker":{"Host":"tcp://build-host:2376"}}}`,
		"contexts/meta/b2/meta.json": `{"Name":"bare"}`,
		"contexts/meta/c3/meta.json": `not json`,
		"buildx/instances/ci":        `{"Name":"ci"}`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(cfg, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cfg, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, _, _ := run(t, "__complete", "--config", cfg, "--context", "")
	want := "default\tthe daemon of -H, DOCKER_HOST or the default socket\nprod\ttcp://build-host:2376\nbare\n:4\n"
	if out != want {
		t.Errorf("--context completions = %q, want %q", out, want)
	}
	if got := builderNames(cfg); len(got) != 1 || got[0] != "ci" {
		t.Errorf("builderNames = %q, want [ci]", got)
	}
}

func TestTargetCompletion(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch AS one\nFROM one AS two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("FROM scratch AS three\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", dir, "--target", ""}, "one\ntwo\n:4\n"},
		{[]string{"__complete", "-f", filepath.Join(dir, "other"), "--target", ""}, "three\n:4\n"},
		{[]string{"__complete", "-f", "-", dir, "--target", ""}, ":4\n"},
	} {
		if out, _, _ := run(t, tc.args...); out != tc.want {
			t.Errorf("%q: completions %q, want %q", tc.args, out, tc.want)
		}
	}
}

// TestBuildKitCompletion: a Tab completes what the build would take —
// BuildKit's flags unless DOCKER_BUILDKIT turns it off — and never asks the
// daemon (docker build with buildx guesses the same way for its help).
func TestBuildKitCompletion(t *testing.T) {
	d := enginetest.New(enginetest.WithBuilderVersion("2"))
	host := "unix://" + d.ListenUnix(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch AS one\nFROM scratch AS two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(buildkit string, args ...string) string {
		io, _, out, _ := iostreams.Test()
		env := map[string]string{"DOCKER_BUILDKIT": buildkit}
		f := &Factory{IO: io, Getenv: func(k string) string { return env[k] }, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
		args = append([]string{"__complete", "-H", host}, args...)
		cmd := newCommand(context.Background(), f, args)
		cmd.SetArgs(args)
		cmd.SetOut(out)
		cmd.SetErr(goio.Discard) // cobra's directive line
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	for _, tc := range []struct {
		buildkit  string
		args      []string
		want, not []string
	}{
		{"", []string{"--s"}, []string{"--secret", "--ssh", "--sbom", "--shm-size"}, []string{"--squash", "--security-opt"}},
		{"", []string{"--progress", ""}, []string{"plain", "rawjson", "none"}, nil},
		{"", []string{"--call", ""}, []string{"check", "outline", "targets"}, nil},
		{"", []string{dir, "--target", ""}, []string{"one", "two"}, nil},
		{"", []string{"--li"}, []string{"--list-context"}, nil},
		{"1", []string{"--o"}, []string{"--output"}, nil},
		{"0", []string{"--s"}, []string{"--squash", "--security-opt"}, []string{"--secret", "--ssh"}},
		{"0", []string{"--progress", ""}, []string{"plain"}, []string{"rawjson"}},
	} {
		got := complete(tc.buildkit, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(got, w+"\n") && !strings.Contains(got, w+"\t") {
				t.Errorf("DOCKER_BUILDKIT=%q %v: completions %q lack %q", tc.buildkit, tc.args, got, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n+"\n") || strings.Contains(got, n+"\t") {
				t.Errorf("DOCKER_BUILDKIT=%q %v: completions %q offer %q", tc.buildkit, tc.args, got, n)
			}
		}
	}
	if calls := d.Calls(); len(calls) != 0 {
		t.Errorf("the daemon was asked %d times, want never", len(calls))
	}
}
