package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Cmd is one invocation of a client.
type Cmd struct {
	Bin  string
	Args []string
	Env  []string // the whole environment (nil: this process's)
	Dir  string
	// Stdin is what the command reads (nothing when nil).
	Stdin []byte
	// Timeout bounds the run (DefaultTimeout when zero).
	Timeout time.Duration
}

// DefaultTimeout bounds a Cmd without a Timeout.
const DefaultTimeout = 3 * time.Minute

// Result is a finished Cmd.
type Result struct {
	Code           int
	Stdout, Stderr string
	Took           time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout ---\n%s\n--- stderr ---\n%s", r.Code, r.Stdout, r.Stderr)
}

// Run runs c to its end. An exit status is a Result; a command that could
// not start or ran out of time is an error (with what it printed).
func Run(c Cmd) (Result, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bin, c.Args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s %q did not finish within %v\n%s", c.Bin, c.Args, timeout, r)
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("%s %q: %w", c.Bin, c.Args, err)
	}
	return r, nil
}

// Client is one side of a differential comparison.
type Client struct {
	Name string // in messages: "docker", "mybuild"
	Bin  string
	// Build selects the build command after the global flags ("build"
	// for docker, none for mybuild).
	Build []string
}

// Docker is the reference client (docker CLI 28.2.2; with buildx as its
// plugin in DOCKER_CONFIG, docker build is buildx's).
var Docker = Client{Name: "docker", Bin: "/usr/local/bin/docker", Build: []string{"build"}}

// Mybuild is the client under test at bin.
func Mybuild(bin string) Client { return Client{Name: "mybuild", Bin: bin} }

// Args is global flags, the build command, then args.
func (c Client) Args(global, args []string) []string {
	return append(append(append([]string{}, global...), c.Build...), args...)
}

// Steps runs each of pre, which must succeed (a cache to import: not
// compared), then last, and returns last's result; run runs one step.
func Steps(t testing.TB, who string, run func(args []string) Result, pre [][]string, last []string) Result {
	t.Helper()
	for _, p := range pre {
		if r := run(p); r.Code != 0 {
			t.Fatalf("%s: a first step failed: exit %d\n%s", who, r.Code, r.Stderr)
		}
	}
	return run(last)
}

// Unavailable fails t under MYBUILD_E2E=1 (CI: a missing tool or daemon is
// a failure) and skips it elsewhere.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("MYBUILD_E2E") == "1" {
		t.Fatalf("MYBUILD_E2E=1: "+format, args...)
	}
	t.Skipf(format+" (set MYBUILD_E2E=1 to make this a failure)", args...)
}

// BuildxConfig makes dir a DOCKER_CONFIG in which docker build is buildx
// (the plugin scripts/install-refs.sh builds), with config.json holding
// configJSON when it is not empty.
func BuildxConfig(dir, configJSON string) error {
	if err := Installed(Buildx()); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "cli-plugins"), 0o700); err != nil {
		return err
	}
	if err := os.Symlink(Buildx(), filepath.Join(dir, "cli-plugins", "docker-buildx")); err != nil {
		return err
	}
	if configJSON == "" {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), []byte(configJSON), 0o600)
}

// Installed says which of paths (the reference programs a bed runs) is
// missing.
func Installed(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing (run scripts/install-refs.sh): %w", p, err)
		}
	}
	return nil
}
