package dockercontext

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mybuild/mybuild/internal/testbed"
)

const dockerBin = "/usr/local/bin/docker"

// needDocker skips the test when the reference docker CLI is absent.
func needDocker(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(dockerBin); err != nil {
		t.Skipf("reference docker CLI not available at %s: %v", dockerBin, err)
	}
}

// dockerEnv is a clean environment for the docker CLI: a private config
// dir and HOME, the legacy builder, and extra (KEY=VALUE) entries.
func dockerEnv(cfgDir string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(filepath.Dir(cfgDir), "home"),
		"DOCKER_CONFIG=" + cfgDir,
		"DOCKER_BUILDKIT=0",
	}
	return append(env, extra...)
}

// runDocker runs the docker CLI and returns stdout, stderr and its error.
func runDocker(t *testing.T, env []string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerBin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// mustDocker runs the docker CLI and fails the test on error.
func mustDocker(t *testing.T, env []string, args ...string) {
	t.Helper()
	if stdout, stderr, err := runDocker(t, env, args...); err != nil {
		t.Fatalf("docker %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout, stderr)
	}
}

// dockerBuildStderr runs `docker <global...> build <empty context>` and
// returns its stderr; the build is expected to fail before reaching any
// daemon.
func dockerBuildStderr(t *testing.T, env []string, global ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, global...), "build", dir)
	_, stderr, err := runDocker(t, env, args...)
	if err == nil {
		t.Fatalf("docker %s: succeeded, want a failure; stderr:\n%s", strings.Join(args, " "), stderr)
	}
	return stderr
}

// hasLine reports whether s has a line equal to line.
func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// newTestPKI is a CA with a client and a server certificate (127.0.0.1).
func newTestPKI(t *testing.T) *testbed.PKI {
	t.Helper()
	p, err := testbed.NewPKI("dockercontext test CA")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeFile writes data to dir/name (creating dir) and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mapEnv returns an Env function over m.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
