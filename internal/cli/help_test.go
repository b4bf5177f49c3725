package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mybuild/mybuild/internal/iostreams"
	"github.com/mybuild/mybuild/pkg/engine/enginetest"
)

// TestHelpListsEveryFlag: --help shows each visible flag exactly once,
// whatever annotations (completion hints, sections) it carries.
func TestHelpListsEveryFlag(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	cmd := NewRootCmd(&Factory{IO: io, Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false }},
		func(*BuildOptions) error { return nil })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" || f.Name == "version" {
			return
		}
		re := regexp.MustCompile(`(?m)^\s+(-[a-zA-Z], )?--` + regexp.QuoteMeta(f.Name) + `[ =\[]`)
		if n := len(re.FindAllString(help, -1)); n != 1 {
			t.Errorf("--%s is listed %d times in --help, want once", f.Name, n)
		}
	})
	if t.Failed() {
		t.Logf("help:\n%s", help)
	}
}

// TestHelpFollowsTheBuilder: as docker build with buildx, --help lists
// BuildKit's options unless DOCKER_BUILDKIT turns BuildKit off, and never
// asks the daemon; mybuild's own options are listed with either.
func TestHelpFollowsTheBuilder(t *testing.T) {
	d := enginetest.New()
	host := "unix://" + d.ListenUnix(t)
	for _, tc := range []struct {
		buildkit  string
		want, not []string
	}{
		{buildkit: "", want: []string{"--secret", "--output", "--list-context", "DOCKER_BUILDKIT=0 mybuild --help"}, not: []string{"--squash", "--isolation"}},
		{buildkit: "1", want: []string{"--secret", "--ssh", "--completion"}, not: []string{"--squash"}},
		{buildkit: "0", want: []string{"--squash", "--isolation", "--list-context"}, not: []string{"--secret", "--output", "DOCKER_BUILDKIT=0 mybuild --help"}},
	} {
		io, out, _, _ := iostreams.Test()
		env := map[string]string{"DOCKER_BUILDKIT": tc.buildkit}
		f := &Factory{IO: io, Getenv: func(k string) string { return env[k] }, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
		args := []string{"-H", host, "--help"}
		cmd := newCommand(context.Background(), f, args)
		cmd.SetOut(out)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("DOCKER_BUILDKIT=%q: %v", tc.buildkit, err)
		}
		help := out.String()
		for _, w := range tc.want {
			if !strings.Contains(help, w) {
				t.Errorf("DOCKER_BUILDKIT=%q: help lacks %q", tc.buildkit, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(help, n) {
				t.Errorf("DOCKER_BUILDKIT=%q: help has %q", tc.buildkit, n)
			}
		}
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" || f.Name == "version" {
				return
			}
			re := regexp.MustCompile(`(?m)^\s+(-[a-zA-Z], )?--` + regexp.QuoteMeta(f.Name) + `[ =\[]`)
			if n := len(re.FindAllString(help, -1)); n != 1 {
				t.Errorf("DOCKER_BUILDKIT=%q: --%s is listed %d times, want once", tc.buildkit, f.Name, n)
			}
		})
	}
	if calls := d.Calls(); len(calls) != 0 {
		t.Errorf("the daemon was asked %d times, want never", len(calls))
	}
}

// TestHelpRefusesABadBuildKitValue: docker build --help with a DOCKER_BUILDKIT
// that is not a boolean fails as a build would, exit 1.
func TestHelpRefusesABadBuildKitValue(t *testing.T) {
	io, out, _, _ := iostreams.Test()
	f := &Factory{IO: io, Getenv: func(k string) string {
		if k == "DOCKER_BUILDKIT" {
			return "bogus"
		}
		return ""
	}, LookupEnv: func(string) (string, bool) { return "", false }}
	cmd := newCommand(context.Background(), f, []string{"--help"})
	cmd.SetArgs([]string{"--help"})
	cmd.SetOut(out)
	var stderr bytes.Buffer
	code := exitCode(cmd.Execute(), &stderr)
	want := "DOCKER_BUILDKIT environment variable expects boolean value: strconv.ParseBool: parsing \"bogus\": invalid syntax\n"
	if code != 1 || stderr.String() != want || out.Len() != 0 {
		t.Errorf("exit %d, stderr %q, stdout %d bytes; want exit 1, %q and no help", code, stderr.String(), out.Len(), want)
	}
}
