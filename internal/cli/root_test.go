package cli

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/build"

	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/pkg/jsonstream"
)

func parse(t *testing.T, env map[string]string, args ...string) (*BuildOptions, error) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	getenv := func(k string) string { return env[k] }
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var got *BuildOptions
	cmd := NewRootCmd(&Factory{IO: io, Getenv: getenv, LookupEnv: lookup}, func(o *BuildOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.ExecuteContext(context.Background())
	return got, err
}

func TestFlagsReachOptions(t *testing.T) {
	t.Parallel()
	o, err := parse(t, map[string]string{"DOCKER_DEFAULT_PLATFORM": "linux/arm64"},
		"-H", "tcp://127.0.0.1:2375", "-t", "a:1", "--tag", "b", "-f", "Dockerfile.x", "--build-arg", "K=v",
		"-m", "512m", "--memory-swap", "-1", "-c", "7", "--rm=false", "--cache-from", "x,y", "--cache-from", "z",
		"--network", "none", "-q", "ctx")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"hosts": o.Global.Hosts, "tags": o.Tags.GetAll(), "file": o.Dockerfile, "args": o.BuildArgs.GetAll(),
		"memory": o.Memory.Value(), "swap": o.MemorySwap.Value(), "shares": o.CPUShares, "rm": o.Rm,
		"cacheFrom": o.CacheFrom, "network": o.NetworkMode, "requires": o.requires, "quiet": o.Quiet,
		"platform": o.Platform, "context": o.Context, "trusted": !o.Untrusted,
	}
	want := map[string]any{
		"hosts": []string{"tcp://127.0.0.1:2375"}, "tags": []string{"a:1", "b"}, "file": "Dockerfile.x", "args": []string{"K=v"},
		"memory": int64(536870912), "swap": int64(-1), "shares": int64(7), "rm": false,
		"cacheFrom": []string{"x", "y", "z"}, "network": "none", "requires": []build.Requirement{{Flag: "network", APIVersion: "1.25"}}, "quiet": true,
		"platform": "linux/arm64", "context": "ctx", "trusted": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestFlagErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		args     []string
		wantMsg  string
		wantCode int
	}{
		{"bad tag", []string{"-t", "UPPER", "."}, "invalid argument \"UPPER\" for \"-t, --tag\" flag: invalid reference format: repository name (library/UPPER) must be lowercase\n\nUsage:  mybuild [OPTIONS] PATH | URL | -\n\nRun 'mybuild --help' for more information\n", 125},
		{"unknown flag (BuildKit only)", []string{"--secret", "id=x", "."}, "unknown flag: --secret\n\nUsage:  mybuild [OPTIONS] PATH | URL | -\n\nRun 'mybuild --help' for more information\nhint: --secret is BuildKit's, and the classic builder is building: run with DOCKER_BUILDKIT=1\n", 125},
		{"no argument", nil, "mybuild: 'mybuild' requires 1 argument\n\nUsage:  mybuild [OPTIONS] PATH | URL | -\n\nRun 'mybuild --help' for more information\n", 1},
		{"two arguments", []string{"a", "b"}, "mybuild: 'mybuild' requires 1 argument\n\nUsage:  mybuild [OPTIONS] PATH | URL | -\n\nRun 'mybuild --help' for more information\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, nil, tc.args...)
			var stderr bytes.Buffer
			code := exitCode(err, &stderr)
			if code != tc.wantCode || stderr.String() != tc.wantMsg {
				t.Errorf("got %d %q, want %d %q", code, stderr.String(), tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		err      error
		wantCode int
		wantOut  string
	}{
		{"nil", nil, 0, ""},
		{"plain", errors.New("boom"), 1, "boom\n"},
		{"status", &StatusError{Message: "step failed", Code: 3}, 3, "step failed\n"},
		{"status 300 exits 44, as the OS keeps of docker's", &StatusError{Message: "x", Code: 300}, 44, "x\n"},
		{"status 256 fails with 1, where docker exits 0", &StatusError{Message: "x", Code: 256}, 1, "x\n"},
		{"status without code", &StatusError{Message: "x"}, 1, "x\n"},
		{"stream error", &jsonstream.StreamError{Code: 2, Message: "bad"}, 2, "bad\n"},
		{"SIGINT", &SignalError{Signal: syscall.SIGINT}, 130, ""},
		{"SIGTERM", &SignalError{Signal: syscall.SIGTERM}, 143, ""},
		{"canceled", context.Canceled, 130, ""},
	} {
		var b bytes.Buffer
		if got := exitCode(tc.err, &b); got != tc.wantCode || b.String() != tc.wantOut {
			t.Errorf("%s: exitCode = %d %q, want %d %q", tc.name, got, b.String(), tc.wantCode, tc.wantOut)
		}
	}
}
