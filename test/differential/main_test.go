//go:build linux

// Package differential runs the reference docker CLI and mybuild on the same
// invocations against fresh fake daemons (pkg/engine/enginetest) and checks
// that both send the same requests and print the same output. It holds tests
// only.
package differential

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// dockerPath is the reference client, docker CLI 28.2.2.
const dockerPath = "/usr/local/bin/docker"

var (
	// mybuildPath is the binary built by TestMain.
	mybuildPath string
	// mybuildErr is why it could not be built; every case then fails.
	mybuildErr error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "differential-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	mybuildPath = filepath.Join(dir, "mybuild")
	cmd := exec.Command(goTool(), "build", "-o", mybuildPath, "github.com/mybuild/mybuild/cmd/mybuild")
	if out, err := cmd.CombinedOutput(); err != nil {
		mybuildErr = fmt.Errorf("go build github.com/mybuild/mybuild/cmd/mybuild: %v\n%s", err, out)
	}
	return m.Run()
}

// goTool finds the go command that runs these tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// requireClients fails the test when mybuild did not build, and when the
// reference client is missing under MYBUILD_E2E=1 (CI, which installs it);
// elsewhere it then skips.
func requireClients(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(dockerPath); err != nil {
		msg := "docker CLI not found at " + dockerPath + ": differential suite skipped"
		if os.Getenv("MYBUILD_E2E") == "1" {
			t.Fatal("MYBUILD_E2E=1: " + msg)
		}
		t.Skip(msg + " (set MYBUILD_E2E=1 to make this a failure)")
	}
	if mybuildErr != nil {
		t.Fatal(mybuildErr)
	}
}
