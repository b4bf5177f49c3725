package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// The builder is chosen by docker's rules, from DOCKER_BUILDKIT and what
// the daemon's ping says.
func TestChooseBuilder(t *testing.T) {
	daemons := map[string][]enginetest.Option{
		"builder 2":   {enginetest.WithBuilderVersion("2")},
		"builder 1":   {enginetest.WithBuilderVersion("1")},
		"no builder":  {enginetest.WithBuilderVersion("")},
		"podman":      {enginetest.WithPodman()},
		"windows":     {enginetest.WithBuilderVersion("2"), enginetest.WithOSType("windows")},
		"API 1.38":    {enginetest.WithBuilderVersion("2"), enginetest.WithAPIVersion("1.38")},
		"ping 500":    {enginetest.WithBuilderVersion("2"), enginetest.WithPingStatus(500)},
		"not running": nil,
	}
	// want: "classic", "buildkit", "refused" (BuildKit asked for where the
	// daemon has none), or "command" (the classic command decides: it
	// reports the bad value in docker's order).
	tests := []struct {
		env    string
		daemon string
		want   string
	}{
		{"", "builder 2", "buildkit"},
		{"", "builder 1", "classic"},
		{"", "no builder", "classic"},
		{"", "podman", "classic"},
		{"", "windows", "classic"},
		{"", "API 1.38", "classic"},
		{"", "ping 500", "classic"},
		{"", "not running", "classic"},
		{"1", "builder 2", "buildkit"},
		{"1", "builder 1", "buildkit"},
		{"true", "no builder", "buildkit"},
		{"1", "podman", "refused"},
		{"1", "windows", "refused"},
		{"1", "API 1.38", "refused"},
		{"1", "not running", "buildkit"},
		{"0", "builder 2", "command"},
		{"false", "builder 2", "command"},
		{"bogus", "builder 2", "command"},
	}
	for _, tt := range tests {
		t.Run("DOCKER_BUILDKIT="+tt.env+"/"+tt.daemon, func(t *testing.T) {
			host := "unix:///nonexistent/docker.sock"
			if opts := daemons[tt.daemon]; opts != nil {
				host = "unix://" + enginetest.New(opts...).ListenUnix(t)
			}
			io, _, _, stderr := iostreams.Test()
			env := map[string]string{"DOCKER_BUILDKIT": tt.env, "DOCKER_CONFIG": t.TempDir()}
			f := &Factory{IO: io, Getenv: func(k string) string { return env[k] }, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, configs: &configLoader{}}
			sel := chooseBuilder(context.Background(), f, []string{"-H", host, "-t", "x", "."})
			got := "command"
			switch {
			case sel == nil:
			case sel.refusal != nil:
				got = "refused"
				if !strings.Contains(sel.refusal.Error(), "DOCKER_BUILDKIT=0") {
					t.Errorf("refusal %q does not say how to build without BuildKit", sel.refusal)
				}
			case sel.buildkit:
				got = "buildkit"
			default:
				got = "classic"
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("builder (-want +got):\n%s\nstderr: %s", diff, stderr)
			}
		})
	}
}

// Modes that need no daemon never ping it, and keep the classic command.
func TestChooseBuilderLocalModes(t *testing.T) {
	d := enginetest.New(enginetest.WithBuilderVersion("2"))
	host := "unix://" + d.ListenUnix(t)
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"--version"}, {"--completion", "bash"},
		{"--list-context", "."}, {"--explain-path", "a", "."}, {"--tlsverify=maybe", "."},
	} {
		io, _, _, _ := iostreams.Test()
		f := &Factory{IO: io, Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false }, configs: &configLoader{}}
		if sel := chooseBuilder(context.Background(), f, append([]string{"-H", host}, args...)); sel != nil {
			t.Errorf("%v: a builder was chosen (%+v), want the classic command as is", args, sel)
		}
	}
	if calls := d.Calls(); len(calls) != 0 {
		t.Errorf("the daemon was asked %d times, want never", len(calls))
	}
}
