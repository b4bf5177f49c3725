package cli

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

func TestOneTypo(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"tga", "tag", true},  // swapped
		{"tg", "tag", true},   // dropped
		{"taag", "tag", true}, // added
		{"tog", "tag", true},  // changed
		{"Tag", "tag", true},  // case
		{"tag", "tag", false}, // the same
		{"gat", "tag", false}, // two changes
		{"secret", "target", false},
		{"", "t", true},
		{"pull", "pul", true},
		{"no-cahce", "no-cache", true},
	} {
		if got := oneTypo(tc.a, tc.b); got != tc.want {
			t.Errorf("oneTypo(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := oneTypo(tc.b, tc.a); got != tc.want {
			t.Errorf("oneTypo(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestFlagHint(t *testing.T) {
	fl := pflag.NewFlagSet("x", pflag.ContinueOnError)
	for _, n := range []string{"tag", "tls", "tlsverify", "pull", "hidden1"} {
		fl.Bool(n, false, "")
	}
	_ = fl.MarkHidden("hidden1")
	for _, tc := range []struct{ err, want string }{
		{"unknown flag: --tga", "did you mean --tag?"},
		{"unknown flag: --tl", "did you mean --tls?"},
		{"unknown flag: --tas", "did you mean --tag or --tls?"},
		{"unknown flag: --tls-verify", "did you mean --tlsverify?"},
		{"unknown flag: --hidden2", ""},
		{"unknown flag: --secret", "--secret is BuildKit's, and the classic builder is building: run with DOCKER_BUILDKIT=1"},
		{"unknown shorthand flag: 'o' in -o", "--output is BuildKit's, and the classic builder is building: run with DOCKER_BUILDKIT=1"},
		{"unknown shorthand flag: 'x' in -x", ""},
		{"unknown flag: --print", ""}, // BuildKit's, hidden
		{`invalid argument "x" for "--pull" flag`, ""},
	} {
		got := flagHint(fl, errors.New(tc.err))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("flagHint(%q) (-want +got):\n%s", tc.err, diff)
		}
	}
}

// TestBuildKitHint: the classic builder's refusals of what only BuildKit
// builds get one line naming DOCKER_BUILDKIT=1; other failures get none.
func TestBuildKitHint(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM busybox\nRUN <<EOF\necho hi\nEOF\n")
	write("plain.Dockerfile", "FROM busybox\nECHO hi\n")
	const hint = "this needs BuildKit, and the classic builder is building: run with DOCKER_BUILDKIT=1"
	for _, tc := range []struct {
		msg, dockerfile, want string
	}{
		{"the --mount option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled", "", hint},
		{"the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled", "", hint},
		{"Error response from daemon: dockerfile parse error line 2: Unknown flag: link", "", hint},
		{"Error response from daemon: dockerfile parse error on line 4: Unknown flag: network", "", hint},
		{"Error response from daemon: dockerfile parse error line 2: Unknown flag: chown-all", "", ""},
		{"Error response from daemon: dockerfile parse error line 3: unknown instruction: ECHO", "", "a here-document (<<EOF) needs BuildKit, and the classic builder is building: run with DOCKER_BUILDKIT=1"},
		{"Error response from daemon: dockerfile parse error line 2: unknown instruction: ECHO", "plain.Dockerfile", ""},
		{"The command '/bin/sh -c false' returned a non-zero code: 1", "", ""},
	} {
		o := &BuildOptions{Context: dir, Dockerfile: tc.dockerfile}
		if tc.dockerfile != "" {
			o.Dockerfile = filepath.Join(dir, tc.dockerfile)
		}
		if diff := cmp.Diff(tc.want, buildHint(errors.New(tc.msg), o)); diff != "" {
			t.Errorf("buildHint(%q) (-want +got):\n%s", tc.msg, diff)
		}
	}
}
